//! Paths as reports show them, over the wire: query strings dropped at ingestion after the
//! campaign tags were read, a registered site's kept parameters, route fragments only; entry
//! and exit pages follow.

mod support;

use beacon::sites::{SiteChanges, Sites};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{TestSystem, CHROME};

fn view(site: &str, user: &str, path: &str) -> Value {
    json!({"site_id": site, "event_type": "page_view", "path": path, "user_id": user})
}

/// The stored paths of `site`, sorted.
async fn stored_paths(system: &TestSystem, site: &str) -> Vec<String> {
    let events = system.store.database().collection::<Document>("events");
    let found: Vec<Document> = events
        .find(doc! { "site_id": site })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut paths: Vec<String> = found
        .iter()
        .map(|d| d.get_str("path").unwrap().to_owned())
        .collect();
    paths.sort();
    paths
}

#[tokio::test]
async fn query_strings_are_dropped_after_the_campaign_tags_are_read() {
    let system = TestSystem::start().await;
    let sites = Sites::new(&system.store);
    sites.add("shop", &[], true).await.unwrap();
    let keep = SiteChanges {
        keep_query: Some(vec!["q".to_owned()]),
        ..SiteChanges::default()
    };
    let site = sites.update("shop", keep).await.unwrap();
    assert_eq!(site.keep_query, ["q"]);

    let batch = json!([
        view(
            "shop",
            "a",
            "/?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
        ),
        view("shop", "a", "/search?q=shoes&gclid=x1&email=a%40b.c"),
        view("shop", "b", "/?fbclid=IwAR0"),
        view("shop", "c", "/launch?ref=producthunt#pricing"),
        view("shop", "c", "/app#/cart?token=s3cret"),
        view("open", "d", "/search?q=shoes&page=2"),
    ]);
    let (status, body) = system.post_as(&batch, "203.0.113.9", CHROME).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    system.wait_stored(6).await;

    assert_eq!(
        stored_paths(&system, "shop").await,
        ["/", "/", "/app#/cart", "/launch", "/search?q=shoes"]
    );
    assert_eq!(stored_paths(&system, "open").await, ["/search"]);

    let (status, stats) = system.stats("site_id=shop").await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(
        stats["top_paths"],
        json!([
            {"path": "/", "views": 2},
            {"path": "/app#/cart", "views": 1},
            {"path": "/launch", "views": 1},
            {"path": "/search?q=shoes", "views": 1},
        ])
    );
    let sources = breakdown(&system, "source").await;
    assert_eq!(
        sources,
        pairs(&[("Direct", 1), ("newsletter", 1), ("producthunt", 1)])
    );
    assert_eq!(
        breakdown(&system, "utm_campaign").await,
        pairs(&[("", 2), ("spring", 1)])
    );
    assert_eq!(
        breakdown(&system, "entry_page").await,
        pairs(&[("/", 2), ("/launch", 1)])
    );
    assert_eq!(
        breakdown(&system, "exit_page").await,
        pairs(&[("/", 1), ("/app#/cart", 1), ("/search?q=shoes", 1)])
    );
    system.shutdown().await;
}

fn pairs(rows: &[(&str, i64)]) -> Vec<(String, i64)> {
    rows.iter().map(|(v, n)| ((*v).to_owned(), *n)).collect()
}

/// `(value, visitors)` of a breakdown of the shop's day.
async fn breakdown(system: &TestSystem, property: &str) -> Vec<(String, i64)> {
    let query = format!("/stats/breakdown?site_id=shop&property={property}");
    let (status, body) = system.report(&query).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut rows: Vec<(String, i64)> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let value = r["value"].as_str().unwrap().to_owned();
            (value, r["visitors"].as_i64().unwrap())
        })
        .collect();
    rows.sort();
    rows
}
