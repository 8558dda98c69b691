//! Shared links over the wire: a token that opens one private site's reports and nothing else,
//! until it is revoked; the `beacon-admin link` commands; and `/sites`, the dashboard's list of
//! the registered sites a caller may read.

mod support;

use beacon::sites::{Sites, SitesError};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{stdout, TestSystem};

fn event(site: &str, user: &str, path: &str) -> Value {
    json!({"site_id": site, "event_type": "page_view", "path": path, "user_id": user})
}

/// Every report endpoint of `site`.
fn report_paths(site: &str) -> [String; 4] {
    [
        format!("/stats?site_id={site}"),
        format!("/stats/timeseries?site_id={site}&compare=previous_period"),
        format!("/stats/breakdown?site_id={site}&property=path"),
        format!("/stats/realtime?site_id={site}"),
    ]
}

/// Asserts the `401` a missing or wrong key gets, for `token` on every report endpoint of `site`.
async fn assert_refused(system: &TestSystem, site: &str, token: &str) {
    for path in report_paths(site) {
        let (status, body, challenge) = system.report_as(&path, Some(token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert!(challenge.is_some_and(|c| c.starts_with("Bearer")));
        assert_eq!(body.as_object().unwrap().len(), 1, "only `error`: {body}");
    }
}

/// The ids `GET /sites` lists for `token`.
async fn listed(system: &TestSystem, token: Option<&str>) -> Vec<Value> {
    let (status, body, _) = system.report_as("/sites", token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["sites"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_shared_link_opens_one_sites_reports_until_it_is_revoked() {
    let system = TestSystem::start().await;
    let sites = Sites::new(&system.store);
    sites
        .add("shop", &["shop.example".into()], false)
        .await
        .unwrap();
    sites.add("other", &[], false).await.unwrap();
    sites
        .add("open", &["open.example".into()], true)
        .await
        .unwrap();
    for user in ["u1", "u2"] {
        let (status, _) = system.post(&event("other", user, "/x")).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let shop = [event("shop", "a", "/"), event("shop", "b", "/sale")];
    let origin = [("origin", "https://shop.example")];
    for e in &shop {
        let response = system
            .http
            .post(format!("{}/event", system.ingest_url))
            .header(origin[0].0, origin[0].1)
            .json(e)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    system.wait_stored(4).await;

    let link = sites.add_link("shop", Some("board")).await.unwrap();
    assert!(link.secret.starts_with("bs_") && link.secret.len() == 67);
    assert!(link.id.starts_with("l_"));
    let raw = format!("{:?}", sites.get("shop").await.unwrap().unwrap());
    assert!(!raw.contains(&link.secret), "stored only hashed: {raw}");
    assert!(
        raw.contains(&link.secret[3..11]),
        "its start is shown: {raw}"
    );

    // The link reads every report of its site, like a key.
    for path in report_paths("shop") {
        let (status, body, _) = system.report_as(&path, Some(&link.secret)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let (_, stats, _) = system
        .report_as("/stats?site_id=shop", Some(&link.secret))
        .await;
    assert_eq!(
        (&stats["total_views"], &stats["unique_users"]),
        (&json!(2), &json!(2))
    );

    // Another site's reports, a wrong token, a near miss and nothing at all: the same 401.
    let other_key = sites.add_key("other", None).await.unwrap();
    assert_refused(&system, "other", &link.secret).await;
    assert_refused(&system, "shop", &other_key.secret).await;
    assert_refused(&system, "shop", &format!("bs_{}", "0".repeat(64))).await;
    let mut near = link.secret.clone();
    near.replace_range(66.., if near.ends_with('0') { "1" } else { "0" });
    assert_refused(&system, "shop", &near).await;
    let (status, _, _) = system.report_as("/stats?site_id=shop", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // One request naming two sites needs to open both.
    let (status, _, _) = system
        .report_as("/stats?site_id=shop&site_id=other", Some(&link.secret))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // /sites: the public ones for everyone, plus the private one a token opens.
    let open = json!({"site_id": "open", "public": true, "domains": ["open.example"], "goals": 0, "funnels": []});
    let shop_listed = json!({"site_id": "shop", "public": false, "domains": ["shop.example"], "goals": 0, "funnels": []});
    let public_only = vec![open.clone()];
    assert_eq!(listed(&system, None).await, public_only);
    assert_eq!(listed(&system, Some("bs_wrong")).await, public_only);
    assert_eq!(
        listed(&system, Some(&link.secret)).await,
        [open.clone(), shop_listed]
    );
    let other_listed = listed(&system, Some(&other_key.secret)).await;
    assert_eq!(other_listed[1]["site_id"], "other", "{other_listed:?}");
    let (status, body, _) = system.report_as("/sites?site_id=shop", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Revoking a key leaves the link alone; revoking the link by the start of its token ends it.
    let second = sites.add_link("shop", None).await.unwrap();
    let key = sites.add_key("shop", None).await.unwrap();
    sites.revoke_key("shop", &key.id).await.unwrap();
    let (status, _, _) = system
        .report_as("/stats?site_id=shop", Some(&link.secret))
        .await;
    assert_eq!(status, StatusCode::OK);
    let revoked = sites.revoke_link("shop", &link.secret[..11]).await.unwrap();
    assert_eq!(revoked, link.id);
    assert_refused(&system, "shop", &link.secret).await;
    assert_eq!(listed(&system, Some(&link.secret)).await, public_only);
    assert!(matches!(
        sites.revoke_link("shop", &link.id).await,
        Err(SitesError::NoSuchLink { .. })
    ));
    assert!(matches!(
        sites.revoke_link("nobody", &link.id).await,
        Err(SitesError::NoSuchSite(_))
    ));
    // The other link still works, and is revoked by its id.
    let (status, _, _) = system
        .report_as("/stats?site_id=shop", Some(&second.secret))
        .await;
    assert_eq!(status, StatusCode::OK);
    sites.revoke_link("shop", &second.id).await.unwrap();
    assert_refused(&system, "shop", &second.secret).await;
    system.shutdown().await;
}

#[tokio::test]
async fn the_admin_binary_adds_lists_and_revokes_shared_links() {
    let system = TestSystem::start_with(&[], false).await;
    stdout(&system.admin(&["site", "add", "board"]));
    let dashboard = [("DASHBOARD_URL", "https://stats.example.com/")];

    // `link add` prints the URL alone on its last line, under DASHBOARD_URL or --base-url.
    let added =
        stdout(&system.admin_with(&["link", "add", "board", "--label", "wall"], &dashboard));
    let url = added.lines().last().unwrap().trim().to_owned();
    let prefix = "https://stats.example.com/?site=board#auth=";
    assert!(url.starts_with(prefix), "{added}");
    let first = url[prefix.len()..].to_owned();
    assert!(first.starts_with("bs_") && first.len() == 67, "{url}");
    let base = &system.report_url;
    let added = stdout(&system.admin(&["link", "add", "board", "--base-url", base]));
    let url = added.lines().last().unwrap().trim().to_owned();
    let second = url
        .strip_prefix(&format!("{base}/?site=board#auth="))
        .unwrap_or_else(|| panic!("{added}"))
        .to_owned();
    for token in [&first, &second] {
        let (status, body, _) = system.report_as("/stats?site_id=board", Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // `link list`: ids, the start of each token, labels; never a token.
    let listed = stdout(&system.admin(&["link", "list", "board"]));
    let lines: Vec<Vec<&str>> = listed.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert_eq!(lines[0][1], format!("{}…", &first[..11]), "{listed}");
    assert_eq!((lines[0][3], lines[1][3]), ("wall", "-"), "{listed}");
    assert!(
        !listed.contains(&first) && !listed.contains(&second),
        "{listed}"
    );
    assert!(stdout(&system.admin(&["site", "show", "board"])).contains("links:   2"));

    // `link revoke` by the token's start as listed, and by the whole shared URL.
    let revoked = stdout(&system.admin(&["link", "revoke", "board", lines[0][1]]));
    assert_eq!(
        revoked.trim(),
        format!("revoked shared link {} of site board", lines[0][0])
    );
    let (status, _, _) = system.report_as("/stats?site_id=board", Some(&first)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = system
        .report_as("/stats?site_id=board", Some(&second))
        .await;
    assert_eq!(status, StatusCode::OK);
    stdout(&system.admin(&["link", "revoke", "board", &url]));
    let (status, _, _) = system
        .report_as("/stats?site_id=board", Some(&second))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(stdout(&system.admin(&["link", "list", "board"])).is_empty());

    // Refusals: nothing to revoke, an unregistered site, a base URL that is not http(s).
    for (args, says) in [
        (
            &["link", "revoke", "board", lines[1][0]][..],
            "no shared link",
        ),
        (&["link", "revoke", "board", "bs_12"][..], "no shared link"),
        (&["link", "add", "nobody"][..], "not registered"),
        (&["link", "list", "nobody"][..], "not registered"),
        (
            &["link", "add", "board", "--base-url", "ftp://x"][..],
            "--base-url",
        ),
    ] {
        let output = system.admin(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    system.shutdown().await;
}
