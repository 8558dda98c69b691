//! The OpenAPI document of Beacon's HTTP APIs, generated from the code (utoipa): each handler
//! carries its operation, each response body is the struct the handler serializes, and the
//! parameters and wire schemas are built from the rules the parsers apply. `report_service`
//! serves it at `/openapi.json`; `docs/openapi.json` is a copy that a test keeps equal
//! (`BLESS_OPENAPI=1 cargo test -p beacon-backend --lib api_doc` rewrites it).

pub mod params;
pub mod responses;
pub mod wire;

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::server::{Server, ServerBuilder};
use utoipa::OpenApi;

use crate::http::{ErrorBody, Health, Readiness};
use crate::ingest::{Accepted, BatchRejected, Received, Rejected};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Beacon API",
        version = "1.0.0",
        description = "Privacy-friendly web analytics: event ingestion and public reports.\n\n\
            Two HTTP services. **Ingestion** (`post_service`, default port 3000) takes events \
            from the tracker or any client: `POST /event`. **Reports** (`report_service`, \
            default port 4000) answers the read-only `/stats` family, which the dashboard \
            uses.\n\nBoth services allow any origin (CORS `*`), expose `Retry-After`, and answer \
            every error with a JSON body `{\"error\": \"...\", \"field\": \"...\"}` where \
            `field` names the parameter or event field at fault when there is one. Report \
            parameters are read one by one: an unknown or repeated query parameter is a 400.\n\n\
            Report ranges are UTC days. Give either `date`, or `from` and `to` (inclusive); with \
            neither the range is today (UTC).",
        license(name = "MIT", identifier = "MIT"),
    ),
    servers((url = "http://localhost:4000", description = "report_service (REPORT_PORT)")),
    tags(
        (name = "ingestion", description = "Sending events (post_service)."),
        (name = "reports", description = "Reading statistics (report_service)."),
        (name = "operations", description = "Health, readiness and Prometheus metrics, on every service."),
    ),
    paths(openapi_json, crate::http::healthz, crate::report::readyz, crate::metrics::render),
    components(
        schemas(
            wire::SiteIdSchema, wire::DaySchema, wire::PropertySchema, ErrorBody, Rejected,
            BatchRejected, Accepted, wire::EventSchema, wire::EventOrBatchSchema,
            wire::ErrorOrBatch, wire::ReceiptsAsked, Received, Health, Readiness,
        ),
        responses(
            responses::BadRequest,
            responses::Unauthorized,
            responses::StoreUnavailable,
            responses::RateLimited,
            responses::QueueUnavailable
        ),
    ),
)]
struct ApiDoc;

/// The whole document: the operations of every service, each path with the servers that
/// answer it.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::ingest::IngestApi::openapi());
    doc.merge(crate::report::ReportApi::openapi());
    let ingest = server("http://localhost:3000", "post_service (INGEST_PORT)");
    let every = [
        server("http://localhost:4000", "report_service (REPORT_PORT)"),
        ingest.clone(),
        server(
            "http://localhost:3001",
            "worker (WORKER_PORT): /healthz, /readyz and /metrics only",
        ),
    ];
    for (path, servers) in [
        ("/event", vec![ingest.clone()]),
        ("/event/receipts", vec![ingest]),
        ("/healthz", every.to_vec()),
        ("/readyz", every.to_vec()),
        ("/metrics", every.to_vec()),
    ] {
        if let Some(item) = doc.paths.paths.get_mut(path) {
            item.servers = Some(servers);
        }
    }
    if let Some(components) = doc.components.as_mut() {
        components.add_security_scheme("siteKey", site_key());
    }
    doc
}

fn server(url: &str, description: &str) -> Server {
    ServerBuilder::new()
        .url(url)
        .description(Some(description))
        .build()
}

fn site_key() -> SecurityScheme {
    SecurityScheme::Http(
        HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "An API key (`bk_...`, `beacon-admin key add`) or a shared link's token \
                 (`bs_...`, `beacon-admin link add`) of a registered private site. A shared \
                 link's token opens that site's reports and nothing else. Unregistered and \
                 public sites need none.",
            ))
            .build(),
    )
}

/// The document as served and committed: pretty JSON with a final newline.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut text = document()
            .to_pretty_json()
            .expect("the document always serializes");
        text.push('\n');
        text
    })
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "reports",
    operation_id = "getOpenApi",
    summary = "This document",
    responses((status = 200, description = "The OpenAPI 3.1 document.", content_type = "application/json", body = Object)),
)]
pub async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], json()).into_response()
}

#[cfg(test)]
mod tests;
