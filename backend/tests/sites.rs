//! Registered sites over the wire: allowed domains at ingestion, API keys on reports, the admin
//! library and the `beacon-admin` binary — and that an unregistered site behaves as before.

mod support;

use beacon::sites::{SiteChanges, Sites, SitesError};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{json_of, stdout, TestSystem, CHROME};

fn event(site: &str, user: &str, path: &str) -> Value {
    json!({"site_id": site, "event_type": "page_view", "path": path, "user_id": user})
}

/// POSTs `body` to `/event` with extra headers (`Origin`, `Referer`).
async fn post_with(
    system: &TestSystem,
    body: &Value,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = system
        .http
        .post(format!("{}/event", system.ingest_url))
        .header("content-type", "application/json")
        .header("user-agent", CHROME)
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    json_of(request.send().await.expect("ingestion answers")).await
}

#[tokio::test]
async fn domains_restrict_where_a_registered_sites_events_come_from() {
    let system = TestSystem::start().await;
    let sites = Sites::new(&system.store);
    // Public, so this test reads its reports without a key.
    sites
        .add("shop", &["https://Example.com/".to_owned()], true)
        .await
        .unwrap();
    let inside = [("origin", "https://www.example.com")];
    let outside = [("origin", "https://evil.test")];

    // Inside: the domain's subdomain by Origin, the domain itself by Referer (no Origin).
    let (status, body) = post_with(&system, &event("shop", "a", "/in"), &inside).await;
    assert_eq!(
        (status, body),
        (StatusCode::ACCEPTED, json!({"accepted": 1}))
    );
    let by_referer = [("referer", "http://EXAMPLE.com:8080/page")];
    let (status, body) = post_with(&system, &event("shop", "b", "/in"), &by_referer).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    // Outside, a look-alike host, or no page named at all: 403 on `site_id`.
    for headers in [
        &outside[..],
        &[("origin", "https://notexample.com")][..],
        &[][..],
    ] {
        let (status, body) = post_with(&system, &event("shop", "c", "/out"), headers).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{headers:?}: {body}");
        assert_eq!(body["field"], "site_id");
        assert!(body["error"].is_string(), "{body}");
    }

    // A batch from outside: the shop's event is listed, the unregistered site's accepted.
    let batch = json!([event("shop", "c", "/out"), event("open", "x", "/batch")]);
    let (status, body) = post_with(&system, &batch, &outside).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["accepted"], 1);
    let rejected = body["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{body}");
    assert_eq!(
        (&rejected[0]["index"], &rejected[0]["field"]),
        (&json!(0), &json!("site_id"))
    );

    // A batch with nothing allowed is refused as a whole, each event listed.
    let batch = json!([event("shop", "c", "/out"), event("shop", "d", "/out")]);
    let (status, body) = post_with(&system, &batch, &outside).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["rejected"].as_array().unwrap().len(), 2, "{body}");

    // Unregistered: accepted from anywhere and without any header, as before sites existed.
    let (status, _) = post_with(&system, &event("open", "y", "/single"), &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED);

    system.wait_stored(4).await;
    let (status, shop) = system.stats("site_id=shop").await;
    assert_eq!(status, StatusCode::OK, "{shop}");
    assert_eq!(
        (&shop["total_views"], &shop["unique_users"]),
        (&json!(2), &json!(2))
    );
    assert_eq!(shop["top_paths"], json!([{"path": "/in", "views": 2}]));
    let (status, open) = system.stats("site_id=open").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(open["total_views"], 2, "{open}");
    system.shutdown().await;
}

#[tokio::test]
async fn private_reports_need_a_valid_key() {
    let system = TestSystem::start().await;
    let sites = Sites::new(&system.store);

    // The admin library: registration and its refusals.
    let site = sites.add("private", &[], false).await.unwrap();
    assert!(!site.public && site.keys.is_empty() && site.domains.is_empty());
    assert!(matches!(
        sites.add("private", &[], true).await,
        Err(SitesError::AlreadyExists(_))
    ));
    assert!(matches!(
        sites.add("bad id!", &[], true).await,
        Err(SitesError::BadSiteId(_))
    ));
    assert!(matches!(
        sites.add("other", &["not a host".to_owned()], true).await,
        Err(SitesError::BadDomain(_))
    ));
    assert!(matches!(
        sites.add_key("nobody", None).await,
        Err(SitesError::NoSuchSite(_))
    ));
    let first = sites.add_key("private", Some("ci")).await.unwrap();
    assert!(first.secret.starts_with("bk_"));
    let stored = sites.get("private").await.unwrap().unwrap();
    assert_eq!(stored.keys.len(), 1);
    assert_eq!(stored.keys[0].label.as_deref(), Some("ci"));
    let raw = format!(
        "{:?}",
        system
            .store
            .database()
            .collection::<mongodb::bson::Document>("sites")
            .find_one(mongodb::bson::doc! {})
            .await
            .unwrap()
    );
    assert!(
        !raw.contains(&first.secret),
        "the secret is stored only hashed"
    );

    for user in ["u1", "u2"] {
        let (status, _) = system.post(&event("private", user, "/secret")).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    system.wait_stored(2).await;

    // No key, a wrong key, and a malformed header get the same 401 and nothing else.
    let refusals = [None, Some("bk_0000"), Some(" ")];
    let mut bodies = Vec::new();
    for key in refusals {
        let (status, body, challenge) = system.report_as("/stats?site_id=private", key).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{key:?}: {body}");
        assert!(challenge.is_some_and(|c| c.starts_with("Bearer")));
        assert_eq!(body.as_object().unwrap().len(), 1, "only `error`: {body}");
        bodies.push(body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    // Every report endpoint, before any parameter is checked, and whichever `site_id` is first.
    for path in [
        "/stats/timeseries?site_id=private",
        "/stats/breakdown?site_id=private&property=path",
        "/stats/realtime?site_id=private",
        "/stats?site_id=private&bogus=1",
        "/stats?site_id=open&site_id=private",
    ] {
        let (status, body, _) = system.report_as(path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
    }
    // Health and the API document stay open.
    for path in ["/healthz", "/openapi.json"] {
        let (status, _, _) = system.report_as(path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }

    // The right key reads the numbers.
    let (status, body, _) = system
        .report_as("/stats?site_id=private", Some(&first.secret))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["total_views"], &body["unique_users"]),
        (&json!(2), &json!(2))
    );
    let (status, body, _) = system
        .report_as(
            "/stats/breakdown?site_id=private&property=path",
            Some(&first.secret),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"][0]["value"], "/secret");

    // Revoked: refused at once; another key still works.
    let second = sites.add_key("private", None).await.unwrap();
    sites.revoke_key("private", &first.id).await.unwrap();
    assert!(matches!(
        sites.revoke_key("private", &first.id).await,
        Err(SitesError::NoSuchKey { .. })
    ));
    let (status, _, _) = system
        .report_as("/stats?site_id=private", Some(&first.secret))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = system
        .report_as("/stats?site_id=private", Some(&second.secret))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Made public, or unregistered: open again.
    sites
        .update(
            "private",
            SiteChanges {
                public: Some(true),
                ..SiteChanges::default()
            },
        )
        .await
        .unwrap();
    let (status, _, _) = system.report_as("/stats?site_id=private", None).await;
    assert_eq!(status, StatusCode::OK);
    sites
        .update(
            "private",
            SiteChanges {
                public: Some(false),
                ..SiteChanges::default()
            },
        )
        .await
        .unwrap();
    let (status, _, _) = system.report_as("/stats?site_id=private", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    sites.remove("private").await.unwrap();
    let (status, body, _) = system.report_as("/stats?site_id=private", None).await;
    assert_eq!((status, &body["total_views"]), (StatusCode::OK, &json!(2)));
    system.shutdown().await;
}

#[tokio::test]
async fn the_admin_binary_creates_sites_and_keys_and_revokes_them() {
    let system = TestSystem::start_with(&[], false).await;
    let added = stdout(&system.admin(&["site", "add", "cli", "--domain", "Example.com"]));
    assert!(added.contains("domains: example.com"), "{added}");
    let again = system.admin(&["site", "add", "cli"]);
    assert!(!again.status.success(), "a second registration fails");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already registered"));

    let created = stdout(&system.admin(&["key", "add", "cli", "--label", "dashboard"]));
    let secret = created.lines().last().unwrap().trim().to_owned();
    assert!(secret.starts_with("bk_"), "{created}");
    let listed = stdout(&system.admin(&["key", "list", "cli"]));
    assert!(
        listed.contains("dashboard") && !listed.contains(&secret),
        "{listed}"
    );
    let key_id = listed.split('\t').next().unwrap().to_owned();
    let shown = stdout(&system.admin(&["site", "list"]));
    assert!(
        shown.starts_with("cli\tprivate\t1 keys\texample.com"),
        "{shown}"
    );

    let (status, _, _) = system.report_as("/stats?site_id=cli", Some(&secret)).await;
    assert_eq!(status, StatusCode::OK);
    stdout(&system.admin(&["key", "revoke", "cli", &key_id]));
    let (status, _, _) = system.report_as("/stats?site_id=cli", Some(&secret)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let set = stdout(&system.admin(&["site", "set", "cli", "--public", "true", "--any-domain"]));
    assert!(
        set.contains("public:  true") && set.contains("domains: (any)"),
        "{set}"
    );
    let kept = stdout(&system.admin(&["site", "set", "cli", "--keep-query", "q, page,q"]));
    assert!(kept.contains("query:   q,page"), "{kept}");
    let refused = system.admin(&["site", "set", "cli", "--keep-query", "a=b"]);
    assert!(!refused.status.success(), "a name with `=` is refused");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("`a=b`"));
    let cleared = stdout(&system.admin(&["site", "set", "cli", "--keep-query", ""]));
    assert!(cleared.contains("query:   (none kept)"), "{cleared}");
    stdout(&system.admin(&["site", "remove", "cli"]));
    assert!(stdout(&system.admin(&["site", "list"])).is_empty());
    system.shutdown().await;
}
