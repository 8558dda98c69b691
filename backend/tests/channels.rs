//! Acquisition channels and referrer spam, over the wire: visits grouped from their referrer
//! and campaign tags (rollups and filtered scans agree), and a spam referrer counted with the
//! bots, never as a source.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{TestSystem, CHROME};

fn view(user: &str, path: &str, referrer: Option<&str>) -> Value {
    let mut e =
        json!({"site_id": "chan", "event_type": "page_view", "path": path, "user_id": user});
    if let Some(r) = referrer {
        e["referrer"] = json!(r);
    }
    e
}

/// (value, visitors) of a breakdown's rows.
fn rows(body: &Value) -> Vec<(String, i64)> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["value"].as_str().unwrap().to_owned(),
                r["visitors"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn owned(rows: &[(&str, i64)]) -> Vec<(String, i64)> {
    rows.iter().map(|(v, n)| (v.to_string(), *n)).collect()
}

#[tokio::test]
async fn channels_from_referrers_and_tags_and_spam_among_the_bots() {
    let system = TestSystem::start().await;
    let batch = json!([
        view("a", "/", Some("https://www.google.de/search?q=x")),
        view("a", "/pricing", None),
        view("b", "/", Some("https://www.bing.com/")),
        view("c", "/?utm_source=google&utm_medium=cpc", None),
        view("d", "/", Some("https://t.co/abc")),
        view("e", "/?utm_source=newsletter&utm_medium=email", None),
        view("f", "/", Some("https://chatgpt.com/")),
        view("g", "/", Some("https://blog.example.org/post")),
        view("h", "/", None),
        view("i", "/?utm_campaign=launch", None),
        // Fake hits come like a browser's, without a user id (a site's own server sends those).
        json!({"site_id": "chan", "event_type": "page_view", "path": "/",
            "referrer": "https://semalt.com/"}),
    ]);
    let (status, body) = system.post_as(&batch, "203.0.113.9", CHROME).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    system.wait_stored(10).await;

    let want = owned(&[
        ("Organic Search", 2),
        ("AI Assistants", 1),
        ("Direct", 1),
        ("Email", 1),
        ("Organic Social", 1),
        ("Paid Search", 1),
        ("Referral", 1),
        ("Unassigned", 1),
    ]);
    let (status, channels) = system
        .report("/stats/breakdown?site_id=chan&property=channel")
        .await;
    assert_eq!(status, StatusCode::OK, "{channels}");
    assert_eq!(rows(&channels), want, "{channels}");
    assert_eq!(channels["results"][0]["visits"], 2, "{channels}");

    // A filter scans raw events and derives the channel from the stored visit: same answer.
    let (_, scanned) = system
        .report("/stats/breakdown?site_id=chan&property=channel&filters=path%3D%3D%2F")
        .await;
    assert_eq!(rows(&scanned), want, "{scanned}");
    let (_, search) = system
        .report("/stats/breakdown?site_id=chan&property=source&filters=channel%3D%3DOrganic%20Search%7CPaid%20Search")
        .await;
    assert_eq!(
        rows(&search),
        owned(&[("Google", 1), ("Bing", 1), ("google", 1)]),
        "{search}"
    );

    // The spam referrer is no source; its view is a filtered bot.
    let (_, sources) = system
        .report("/stats/breakdown?site_id=chan&property=source&limit=100")
        .await;
    assert!(
        rows(&sources).iter().all(|(v, _)| !v.contains("semalt")),
        "{sources}"
    );
    let mut bots = Value::Null;
    for _ in 0..50 {
        let (_, stats) = system
            .report("/stats?site_id=chan&metrics=bots_filtered")
            .await;
        bots = stats;
        if bots["bots_filtered"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        (&bots["bots_filtered"], &bots["unique_users"]),
        (&json!(1), &json!(9)),
        "{bots}"
    );
    system.shutdown().await;
}
