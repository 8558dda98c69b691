//! `POST /api/event`: Plausible's Events API, so a site that used Plausible's script, its npm
//! trackers or a server-side integration switches by changing one URL.
//!
//! The body (JSON, also as `text/plain`) is Plausible's, under its long or short field names:
//! `name`/`n`, `url`/`u`, `domain`/`d` (comma-separated: one event per site), `referrer`/`r`,
//! `props`/`p` (also `m`, `meta`), `revenue`/`$`, `hashMode`/`h`, `screen_width`/`w`;
//! `interactive`/`i` and anything else are ignored, and so are Plausible's `engagement` pings
//! (scroll depth and time on page, which Beacon does not record): answered, not stored. Each is turned into a Beacon event (`domain` is the site id,
//! `pageview` is `page_view`, `url` gives the path with its query, so the campaign tags are
//! read, and with `hashMode` its fragment) and goes through `POST /event`'s steps: the same
//! validation, origin check, enrichment, limits and Kafka acknowledgement. Plausible events
//! carry no id: a client that retries after a timeout may count an event twice.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use beacon_event::fields::names;
use beacon_event::EventError;
use serde_json::{Map, Value};

use super::payload::{self, read_body, Payload};
use super::post_event::accept_values;
use super::{IngestError, IngestState};
use crate::pipeline::EventSink;

/// `POST /api/event`: `202 {}` as Plausible answers, once Kafka has the events; errors are
/// `POST /event`'s, naming Plausible's fields.
pub(super) async fn post_plausible<S: EventSink>(
    State(state): State<Arc<IngestState<S>>>,
    request: Request,
) -> Response {
    match accept(&state, request).await {
        Ok(()) => (StatusCode::ACCEPTED, Json(Value::Object(Map::new()))).into_response(),
        Err(e) => {
            e.count();
            in_plausible_names(e).into_response()
        }
    }
}

/// The error with the fields it names under Plausible's names (a body naming several sites is
/// a batch, whose refusals are listed).
fn in_plausible_names(e: IngestError) -> IngestError {
    let rename = |mut rejected: Vec<super::Rejected>| {
        for r in &mut rejected {
            r.field = r.field.map(field_name);
        }
        rejected
    };
    match e {
        IngestError::Invalid(mut e) => {
            e.field = e.field.map(field_name);
            IngestError::Invalid(e)
        }
        IngestError::NoValidEvents(r) => IngestError::NoValidEvents(rename(r)),
        IngestError::NoAllowedEvents(r) => IngestError::NoAllowedEvents(rename(r)),
        other => other,
    }
}

async fn accept<S: EventSink>(state: &IngestState<S>, request: Request) -> Result<(), IngestError> {
    let (parts, body) = request.into_parts();
    payload::check_content_type(&parts.headers)?;
    let Payload::Single(body) = Payload::parse(&read_body(body).await?)? else {
        return Err(EventError::whole(ONE_OBJECT).into());
    };
    let values = events(&body)?;
    if values.iter().all(|v| v[names::EVENT_TYPE] == ENGAGEMENT) {
        return Ok(());
    }
    accept_values(state, &parts, &values, values.len() == 1).await?;
    Ok(())
}

const ONE_OBJECT: &str = "the body must be one event object (Plausible's Events API)";

/// Plausible's periodic ping of the time a page was in view; not an event.
const ENGAGEMENT: &str = "engagement";

/// Each Plausible field: its names, the Beacon field it becomes.
const FIELDS: [(&[&str], &str); 5] = [
    (&["name", "n"], names::EVENT_TYPE),
    (&["referrer", "r"], names::REFERRER),
    (&["screen_width", "w"], names::SCREEN_WIDTH),
    (&["props", "p", "m", "meta"], names::PROPS),
    (&["revenue", "$"], names::REVENUE),
];

/// The Beacon events of one Plausible body, one per site it names.
pub fn events(body: &Value) -> Result<Vec<Value>, EventError> {
    let Value::Object(fields) = body else {
        return Err(EventError::whole(ONE_OBJECT));
    };
    let url = text(fields, &["url", "u"])
        .ok_or_else(|| EventError::field("url", "is required: the page's full URL"))?;
    let hash_mode = fields.get("hashMode").or_else(|| fields.get("h"));
    let path = path_of(url, hash_mode.is_some_and(truthy))?;
    let domains = text(fields, &["domain", "d"]).map_or_else(|| host_of(url), str::to_owned);
    let mut event = Map::new();
    event.insert(names::PATH.into(), Value::String(path));
    for (aliases, beacon) in FIELDS {
        if let Some(value) = aliases.iter().find_map(|a| fields.get(*a)) {
            event.insert(beacon.into(), decoded(value));
        }
    }
    if event.get(names::EVENT_TYPE) == Some(&Value::from("pageview")) {
        event.insert(names::EVENT_TYPE.into(), Value::from("page_view"));
    }
    let sites: Vec<&str> = domains
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    if sites.is_empty() {
        return Err(EventError::field(
            "domain",
            "is required: the site's domain",
        ));
    }
    Ok(sites
        .into_iter()
        .map(|site| {
            let mut one = event.clone();
            one.insert(names::SITE_ID.into(), Value::from(site));
            Value::Object(one)
        })
        .collect())
}

/// Plausible's name for a Beacon field, for error answers.
pub fn field_name(beacon: &'static str) -> &'static str {
    match beacon {
        names::SITE_ID => "domain",
        names::PATH => "url",
        other => FIELDS
            .iter()
            .find(|(_, b)| *b == other)
            .map_or(other, |(aliases, _)| aliases[0]),
    }
}

fn text<'a>(fields: &'a Map<String, Value>, aliases: &[&str]) -> Option<&'a str> {
    aliases
        .iter()
        .find_map(|a| fields.get(*a))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// Older Plausible scripts send `meta`/`props` as a JSON string of the object.
fn decoded(value: &Value) -> Value {
    match value {
        Value::String(s) if s.trim_start().starts_with('{') => {
            serde_json::from_str(s).unwrap_or_else(|_| value.clone())
        }
        other => other.clone(),
    }
}

fn truthy(value: &Value) -> bool {
    matches!(value, Value::Bool(true)) || value.as_i64().is_some_and(|n| n != 0)
}

/// The path, query and (in hash mode) fragment of a full URL.
fn path_of(url: &str, hash_mode: bool) -> Result<String, EventError> {
    let parsed = url::Url::parse(url).map_err(|_| {
        EventError::field("url", "must be an absolute URL, e.g. https://example.com/")
    })?;
    let mut path = parsed.path().to_owned();
    if !path.starts_with('/') {
        // `app://localhost/login` has a path; `mailto:x` has none that is a page.
        return Err(EventError::field(
            "url",
            "must name a page: a URL with a path",
        ));
    }
    if let Some(query) = parsed.query() {
        path = format!("{path}?{query}");
    }
    if let Some(fragment) = parsed.fragment().filter(|_| hash_mode) {
        path = format!("{path}#{fragment}");
    }
    Ok(path)
}

/// The host of `url`, without `www.`: the site when no `domain` is given.
fn host_of(url: &str) -> String {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    host.strip_prefix("www.")
        .map_or(host.clone(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn long_and_short_names_become_beacon_events() {
        let long = json!({"name": "pageview", "url": "https://shop.example/p?utm_source=x#top",
            "domain": "shop.example", "referrer": "https://www.google.com/", "interactive": true});
        assert_eq!(
            events(&long).unwrap(),
            [json!({"path": "/p?utm_source=x", "event_type": "page_view",
                "referrer": "https://www.google.com/", "site_id": "shop.example"})]
        );
        let short = json!({"n": "Signup", "u": "https://app.example/#/plans", "d": "a.example, b.example",
            "p": {"plan": "pro"}, "$": {"amount": "9.5", "currency": "EUR"}, "h": 1, "w": 390});
        let both = events(&short).unwrap();
        assert_eq!(both.len(), 2);
        assert_eq!(
            both[1],
            json!({"path": "/#/plans", "event_type": "Signup", "screen_width": 390,
                "props": {"plan": "pro"}, "revenue": {"amount": "9.5", "currency": "EUR"},
                "site_id": "b.example"})
        );
        let stringified = json!({"n": "x", "u": "https://s.example/", "m": "{\"a\":\"b\"}"});
        assert_eq!(events(&stringified).unwrap()[0]["props"], json!({"a": "b"}));
        // Without a domain, the URL's host (without www.) is the site.
        let bare = events(&json!({"n": "pageview", "u": "https://www.shop.example/"})).unwrap();
        assert_eq!(bare[0]["site_id"], "shop.example");
    }

    #[test]
    fn a_bad_body_names_plausible_s_field() {
        let err = |body: Value| events(&body).unwrap_err().field;
        assert_eq!(err(json!({"n": "pageview"})), Some("url"));
        assert_eq!(err(json!({"n": "pageview", "u": "not a url"})), Some("url"));
        assert_eq!(
            err(json!({"n": "x", "u": "mailto:a@b.example", "d": "s"})),
            Some("url")
        );
        assert_eq!(
            err(json!({"n": "x", "u": "app://localhost/login", "d": " , "})),
            Some("domain")
        );
        assert_eq!(events(&json!([])).unwrap_err().field, None);
        assert_eq!(field_name(names::SITE_ID), "domain");
        assert_eq!(field_name(names::EVENT_TYPE), "name");
        assert_eq!(field_name(names::PROPS), "props");
    }
}
