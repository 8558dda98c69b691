//! What `bench ingest` posts: the bench mix's one body, sent again and again, or the events of
//! a realistic site-day as browsers would send them, each request once.

use anyhow::{anyhow, ensure};
use beacon_event::{ClientEvent, Event, Referrer, UserId};
use serde_json::Value;
use time::OffsetDateTime;

use crate::mix::{Mix, MixArgs};
use crate::realistic::Realistic;

/// One request: its JSON body and the User-Agent header it is sent with (`None`: the client's
/// own).
pub struct Post {
    pub body: String,
    pub user_agent: Option<String>,
}

/// The requests to send, in order, for `requests` requests of `batch` events to `site`: one
/// body for the bench mix; for the realistic mix a day of `requests * batch` events, today.
pub fn posts(mix: &MixArgs, site: &str, batch: usize, requests: u64) -> anyhow::Result<Vec<Post>> {
    match mix.mix {
        Mix::Bench => Ok(vec![bench_post(site, batch)]),
        Mix::Realistic => realistic_posts(mix, site, batch, requests),
    }
}

/// The bench mix: 20 paths and 200 users.
fn bench_post(site: &str, batch: usize) -> Post {
    let events: Vec<Value> = (0..batch)
        .map(|i| {
            serde_json::json!({"site_id": site, "event_type": "page_view",
                "path": format!("/page/{}", i % 20), "user_id": format!("u{}", i % 200)})
        })
        .collect();
    Post {
        body: body(events),
        user_agent: None,
    }
}

/// The realistic mix's day in requests of `batch` events; a request carries the User-Agent of
/// its first event's visitor (one header per request, as a tracker's batch has).
fn realistic_posts(
    mix: &MixArgs,
    site: &str,
    batch: usize,
    requests: u64,
) -> anyhow::Result<Vec<Post>> {
    let now = OffsetDateTime::now_utc();
    let day_events = requests.saturating_mul(batch as u64);
    ensure!(
        day_events <= 2_000_000,
        "--mix realistic generates --max-requests x --batch events first: at most 2,000,000"
    );
    let mut day = Realistic::new(site, now.date(), day_events, 0, &mix.sizes(day_events))?;
    (0..requests)
        .map(|_| {
            let mut user_agent = None;
            let mut events = Vec::with_capacity(batch);
            for _ in 0..batch {
                let (event, _, agent) = day.next_sent(now)?;
                user_agent.get_or_insert_with(|| agent.to_owned());
                events.push(as_sent(&event, now)?);
            }
            Ok(Post {
                body: body(events),
                user_agent,
            })
        })
        .collect()
}

/// `event` as a browser's tracker sends it: the generated visitor as `user_id` (ingestion
/// would otherwise derive one visitor from loopback and the agent), its referrer as a URL.
fn as_sent(event: &Event, now: OffsetDateTime) -> anyhow::Result<Value> {
    let domain = &event.context.referrer_domain;
    let referrer = (!domain.is_empty())
        .then(|| Referrer::parse(&format!("https://{domain}/")))
        .transpose()
        .map_err(|e| anyhow!("referrer: {e}"))?;
    let sent = ClientEvent {
        site_id: event.site_id.clone(),
        event_type: event.event_type.clone(),
        path: event.path.clone(),
        user_id: Some(UserId::parse(event.visitor_id.as_str()).map_err(|e| anyhow!("{e}"))?),
        // Ingestion takes a client's clock only up to minutes ahead of its own: the day's
        // later hours go without one (received now).
        timestamp: (event.timestamp <= now).then_some(event.timestamp),
        eid: Some(event.eid),
        referrer,
        screen_width: event.screen_width,
        props: event.props.clone(),
        revenue: event.revenue,
    };
    Ok(serde_json::to_value(&sent)?)
}

/// One event as an object, more as an array.
fn body(mut events: Vec<Value>) -> String {
    if events.len() == 1 {
        events.remove(0).to_string()
    } else {
        Value::Array(events).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        mix: MixArgs,
    }

    fn mix(args: &[&str]) -> MixArgs {
        Cli::parse_from(std::iter::once("test").chain(args.iter().copied())).mix
    }

    #[test]
    fn a_realistic_day_is_posted_once_with_its_visitors_agents_and_referrers() {
        let posts = posts(&mix(&["--mix", "realistic"]), "shop", 50, 40).unwrap();
        assert_eq!(posts.len(), 40);
        let events: Vec<Value> = posts
            .iter()
            .flat_map(|p| serde_json::from_str::<Vec<Value>>(&p.body).unwrap())
            .collect();
        assert_eq!(events.len(), 2_000);
        let distinct = |field: &str| {
            let values: std::collections::BTreeSet<String> = events
                .iter()
                .filter_map(|e| e.get(field))
                .map(Value::to_string)
                .collect();
            values.len()
        };
        assert_eq!(distinct("eid"), 2_000, "each event once");
        assert!(distinct("user_id") > 100, "many visitors");
        assert!(distinct("path") > 100, "many paths");
        assert!(distinct("referrer") > 5, "referrers");
        let agents: std::collections::BTreeSet<_> =
            posts.iter().filter_map(|p| p.user_agent.clone()).collect();
        assert!(agents.len() > 3, "several user agents: {agents:?}");
        // What ingestion reads: every event parses as a client event.
        let window = beacon_event::TimeWindow::standard(OffsetDateTime::now_utc());
        for e in &events {
            ClientEvent::from_json(e, &window).unwrap();
        }
    }

    #[test]
    fn the_bench_mix_is_one_body() {
        let posts = posts(&mix(&[]), "bench", 1, 1_000).unwrap();
        assert_eq!(posts.len(), 1);
        assert!(posts[0].body.starts_with('{') && posts[0].user_agent.is_none());
    }
}
