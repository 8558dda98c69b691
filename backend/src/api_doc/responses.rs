//! Answers several operations share: a refused report query, a private site without a valid
//! token, an unavailable store, a rate limit, an unavailable queue; and the `Retry-After`
//! header.

use serde_json::json;
use std::collections::BTreeMap;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, RefOr};

use utoipa::openapi::Ref;
use utoipa::{IntoResponses, ToResponse};

use super::wire::schema_ref;

/// `Retry-After`, in seconds.
pub fn retry_after() -> Header {
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        )
        .description(Some("Seconds to wait before retrying."))
        .build()
}

fn error(description: &str, example: serde_json::Value) -> ResponseBuilder {
    let content = ContentBuilder::new()
        .schema(Some(schema_ref("Error")))
        .example(Some(example))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
}

/// A report query that breaks a rule.
pub struct BadRequest;

impl<'r> ToResponse<'r> for BadRequest {
    fn response() -> (&'r str, RefOr<Response>) {
        let response = error(
            "A query parameter is missing, malformed, unknown or repeated; `field` names it \
             when it is a known one.",
            json!({ "error": "`site_id` is required", "field": "site_id" }),
        );
        ("BadRequest", RefOr::T(response.build()))
    }
}

/// A registered private site without a valid token.
pub struct Unauthorized;

impl<'r> ToResponse<'r> for Unauthorized {
    fn response() -> (&'r str, RefOr<Response>) {
        let challenge = HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some("`Bearer realm=\"beacon\"`"))
            .build();
        let response = error(
            "The site is registered and private: send one of its API keys or shared-link tokens \
             as `Authorization: Bearer <token>`. The same answer for a missing, a wrong, a \
             revoked and another site's token.",
            json!({
                "error": "this report requires a valid API key: send `Authorization: Bearer <key>`"
            }),
        )
        .header("WWW-Authenticate", challenge);
        ("Unauthorized", RefOr::T(response.build()))
    }
}

/// MongoDB cannot be reached.
pub struct StoreUnavailable;

impl<'r> ToResponse<'r> for StoreUnavailable {
    fn response() -> (&'r str, RefOr<Response>) {
        let response = error(
            "The store (MongoDB) is unavailable; retry after `Retry-After` seconds.",
            json!({ "error": "the store is unavailable, retry later" }),
        )
        .header("Retry-After", retry_after());
        ("StoreUnavailable", RefOr::T(response.build()))
    }
}

/// Ingestion over a rate limit.
pub struct RateLimited;

impl<'r> ToResponse<'r> for RateLimited {
    fn response() -> (&'r str, RefOr<Response>) {
        let response = error(
            "The client IP (`RATE_LIMIT_PER_IP`) or, for events, the site              (`RATE_LIMIT_PER_SITE`) is over its rate limit. Nothing was accepted: retry after              `Retry-After` seconds with the same `eid`s.",
            json!({ "error": "too many events from this client; retry after the given seconds" }),
        )
        .header("Retry-After", retry_after());
        ("RateLimited", RefOr::T(response.build()))
    }
}

/// Kafka cannot take the events right now.
pub struct QueueUnavailable;

impl<'r> ToResponse<'r> for QueueUnavailable {
    fn response() -> (&'r str, RefOr<Response>) {
        let response = error(
            "The events could not be queued right now (broker unavailable, queue full or              timeout). Nothing was accepted: retry after `Retry-After` seconds with the same              `eid`s.",
            json!({ "error": "events could not be stored right now, retry later: timed out" }),
        )
        .header("Retry-After", retry_after());
        ("QueueUnavailable", RefOr::T(response.build()))
    }
}

/// What every report can answer besides its 200: [`BadRequest`], [`Unauthorized`] and
/// [`StoreUnavailable`].
pub struct ReportErrors;

impl IntoResponses for ReportErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        [
            ("400", "BadRequest"),
            ("401", "Unauthorized"),
            ("503", "StoreUnavailable"),
        ]
        .into_iter()
        .map(|(status, name)| {
            let reference = RefOr::Ref(Ref::from_response_name(name));
            (status.to_owned(), reference)
        })
        .collect()
    }
}
