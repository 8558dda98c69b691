//! The tracker's files, served by ingestion, so the snippet's default endpoint (the origin of
//! `beacon.js` + `/event`) works with no `data-endpoint` and a site owner needs one host.
//!
//! `scripts/build-site` packages them into `TRACKER_DIR` (`package_tracker`): `beacon.js`, whose
//! URL is in every site's snippet and so cannot change, is cached briefly and revalidated with
//! an ETag, so a new release reaches pages within minutes; the glue and the wasm it names have
//! content-hashed names under `files/` and are cached for a year. Every file has gzip and
//! brotli copies, which tower-http picks by `Accept-Encoding`.

use std::path::Path;

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

use crate::http;

/// `beacon.js`: pages revalidate it after five minutes (a 304 when unchanged).
const LOADER_CACHE: &str = "public, max-age=300, must-revalidate";
/// The content-hashed files never change under their name.
const FILES_CACHE: &str = "public, max-age=31536000, immutable";

/// The routes `GET /beacon.js` and `GET /files/…` for the tracker packaged in `dir`. Without a
/// packaged tracker ingestion still takes events: these answer 404, and a warning says why.
pub fn routes(dir: &Path) -> Router {
    let loader = dir.join("beacon.js");
    let etag = match std::fs::read(&loader) {
        Ok(bytes) => etag_of(&bytes),
        Err(e) => {
            tracing::warn!(path = %loader.display(), error = %e,
                "no packaged tracker: GET /beacon.js answers 404 (build it with scripts/build-site, or set TRACKER_DIR)");
            None
        }
    };
    let files = ServeDir::new(dir.join("files"))
        .precompressed_gzip()
        .precompressed_br();
    let loader_service = ServeFile::new(loader)
        .precompressed_gzip()
        .precompressed_br();
    let loader_routes = Router::new()
        .route_service("/beacon.js", loader_service)
        .layer(middleware::from_fn(move |request, next| {
            revalidate(etag.clone(), request, next)
        }))
        .layer(middleware::from_fn(|request, next| {
            cache_if_found(LOADER_CACHE, request, next)
        }));
    let file_routes = Router::new()
        .nest_service("/files", files)
        .layer(middleware::from_fn(|request, next| {
            cache_if_found(FILES_CACHE, request, next)
        }));
    loader_routes
        .merge(file_routes)
        .layer(http::open_cors(&[Method::GET, Method::HEAD]))
}

/// A strong ETag of the loader's bytes (the compressed copies are the same content).
fn etag_of(bytes: &[u8]) -> Option<HeaderValue> {
    let hash = blake3::hash(bytes).to_hex();
    HeaderValue::from_str(&format!("\"{}\"", &hash[..16])).ok()
}

/// Answers `304 Not Modified` when the page already has this loader, and tags the answer.
async fn revalidate(etag: Option<HeaderValue>, request: Request, next: Next) -> Response {
    let Some(etag) = etag else {
        return next.run(request).await;
    };
    let matches = request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        });
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        next.run(request).await
    };
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// `Cache-Control` only on files that exist (and on a 304 for one): a 404, e.g. for a name
/// from a newer build, must not be cached.
async fn cache_if_found(value: &'static str, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    /// A packaged tracker in a temporary directory, as `package_tracker` lays it out.
    fn packaged() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("beacon-tracker-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("files")).unwrap();
        std::fs::write(dir.join("beacon.js"), "/* loader */").unwrap();
        std::fs::write(dir.join("beacon.js.gz"), b"gz-loader").unwrap();
        std::fs::write(dir.join("files/tracker-abc_bg.wasm"), b"\0asm").unwrap();
        std::fs::write(dir.join("files/tracker-abc_bg.wasm.br"), b"br-wasm").unwrap();
        dir
    }

    async fn get(app: &Router, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        app.clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn header(response: &Response, name: header::HeaderName) -> &str {
        response
            .headers()
            .get(name)
            .map_or("", |v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn the_loader_is_revalidated_with_an_etag() {
        let dir = packaged();
        let app = routes(&dir);
        let first = get(&app, "/beacon.js", &[("origin", "https://shop.example")]).await;
        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(header(&first, header::CACHE_CONTROL), LOADER_CACHE);
        assert_eq!(header(&first, header::ACCESS_CONTROL_ALLOW_ORIGIN), "*");
        assert!(header(&first, header::CONTENT_TYPE).starts_with("text/javascript"));
        let etag = header(&first, header::ETAG).to_owned();
        assert!(etag.starts_with('"') && etag.len() == 18, "{etag}");
        let again = get(&app, "/beacon.js", &[("if-none-match", &etag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header(&again, header::ETAG), etag);
        let gzip = get(&app, "/beacon.js", &[("accept-encoding", "gzip")]).await;
        assert_eq!(header(&gzip, header::CONTENT_ENCODING), "gzip");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn hashed_files_are_immutable_wasm_and_precompressed() {
        let dir = packaged();
        let app = routes(&dir);
        let wasm = get(
            &app,
            "/files/tracker-abc_bg.wasm",
            &[("accept-encoding", "br, gzip")],
        )
        .await;
        assert_eq!(wasm.status(), StatusCode::OK);
        assert_eq!(header(&wasm, header::CONTENT_TYPE), "application/wasm");
        assert_eq!(header(&wasm, header::CONTENT_ENCODING), "br");
        assert_eq!(header(&wasm, header::CACHE_CONTROL), FILES_CACHE);
        let missing = get(&app, "/files/tracker-new_bg.wasm", &[]).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            header(&missing, header::CACHE_CONTROL),
            "",
            "a 404 is not cached"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn without_a_packaged_tracker_the_routes_answer_404() {
        let app = routes(Path::new("/nonexistent/beacon-tracker"));
        let missing = get(&app, "/beacon.js", &[]).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(header(&missing, header::CACHE_CONTROL), "");
    }
}
