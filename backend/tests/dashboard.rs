//! The stats page as report_service serves it: `/` and its files under `/assets/`, from
//! `DASHBOARD_DIR`, with the headers that keep a release fresh and the page's tokens safe; and
//! a report service without the files, which still serves the API.

mod support;

use std::collections::BTreeSet;

use reqwest::header::{self, HeaderMap};
use reqwest::StatusCode;
use support::TestSystem;

async fn get(system: &TestSystem, path: &str) -> (StatusCode, HeaderMap, String) {
    let response = system
        .http
        .get(format!("{}{path}", system.report_url))
        .send()
        .await
        .expect("report service answers");
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.text().await.unwrap())
}

fn value(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers.get(&name).map_or("", |v| v.to_str().unwrap())
}

/// The relative module paths `source` imports (`from './x.js'`).
fn imports(source: &str) -> Vec<String> {
    source
        .split("from './")
        .skip(1)
        .filter_map(|rest| rest.split_once('\'').map(|(path, _)| path.to_owned()))
        .collect()
}

#[tokio::test]
async fn the_page_and_every_module_it_imports_are_served_with_fresh_and_safe_headers() {
    let system = TestSystem::start_with(&[], false).await;
    for path in ["/", "/?site=shop&period=7d"] {
        let (status, headers, body) = get(&system, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(value(&headers, header::CONTENT_TYPE), "text/html");
        assert!(
            body.contains(r#"<script type="module" src="assets/main.js">"#),
            "{body}"
        );
        assert_eq!(value(&headers, header::CACHE_CONTROL), "no-cache");
        assert!(headers.contains_key(header::LAST_MODIFIED));
        let policy = value(&headers, header::CONTENT_SECURITY_POLICY);
        assert!(policy.starts_with("default-src 'self';"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert_eq!(value(&headers, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(value(&headers, header::REFERRER_POLICY), "no-referrer");
        // Relative URLs only: the page works under any host, port or proxy prefix.
        for absolute in ["src=\"/", "href=\"/", "localhost", "http://", "https://"] {
            assert!(!body.contains(absolute), "{absolute} in index.html");
        }
    }

    // Every ES module main.js reaches is served as JavaScript, and none names a host.
    let mut seen = BTreeSet::new();
    let mut queue = vec!["main.js".to_owned()];
    while let Some(module) = queue.pop() {
        if !seen.insert(module.clone()) {
            continue;
        }
        let (status, headers, body) = get(&system, &format!("/assets/{module}")).await;
        assert_eq!(status, StatusCode::OK, "{module}");
        assert_eq!(
            value(&headers, header::CONTENT_TYPE),
            "text/javascript",
            "{module}"
        );
        assert_eq!(
            value(&headers, header::CACHE_CONTROL),
            "no-cache",
            "{module}"
        );
        assert!(!body.contains("localhost"), "{module} names a host");
        queue.extend(imports(&body));
    }
    assert!(seen.len() >= 10, "the page is split into modules: {seen:?}");
    // index.html preloads exactly the modules main.js reaches (no waterfall, nothing stale).
    let (_, _, index) = get(&system, "/").await;
    let preloaded: BTreeSet<String> = index
        .split(r#"<link rel="modulepreload" href="assets/"#)
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(m, _)| m.to_owned()))
        .collect();
    let imported: BTreeSet<String> = seen.iter().filter(|m| *m != "main.js").cloned().collect();
    assert_eq!(preloaded, imported);
    let (status, headers, css) = get(&system, "/assets/style.css").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(value(&headers, header::CONTENT_TYPE), "text/css");
    assert!(css.contains(".kpi"));

    // A browser revalidating an unchanged file gets 304.
    let (_, headers, _) = get(&system, "/assets/main.js").await;
    let response = system
        .http
        .get(format!("{}/assets/main.js", system.report_url))
        .header(
            header::IF_MODIFIED_SINCE,
            value(&headers, header::LAST_MODIFIED),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);

    // Missing files and ways out of the folder are JSON 404s; the API is where it was.
    for path in [
        "/assets/nope.js",
        "/assets/%2e%2e/index.html",
        "/assets/..%2f..%2fCargo.toml",
        "/index.html",
        "/favicon.ico",
    ] {
        let (status, _, body) = get(&system, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        let error: serde_json::Value = serde_json::from_str(&body).expect("a JSON error");
        assert!(error["error"].is_string(), "{path}: {body}");
    }
    let (status, body) = system.stats("site_id=anything").await;
    assert_eq!((status, &body["total_views"]), (StatusCode::OK, &0.into()));
    system.shutdown().await;
}

#[tokio::test]
async fn without_the_pages_files_the_api_is_still_served() {
    let empty = std::env::temp_dir().join(format!("beacon-no-dashboard-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let dir = empty.to_str().unwrap();
    let system = TestSystem::start_with(&[("DASHBOARD_DIR", dir)], false).await;
    let (status, _, body) = get(&system, "/").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    let (status, _) = system.stats("site_id=anything").await;
    assert_eq!(status, StatusCode::OK);
    system.shutdown().await;
    std::fs::remove_dir_all(&empty).unwrap();
}
