//! Serves the built demo shop (`dist/`, from `trunk build`) for local runs and browser tests.
//! The stats dashboard is not here: report_service serves it; `/dashboard` redirects there, to
//! the shop's site.
//!
//! The pages are written against the default local URLs (`http://localhost:3000` for ingestion,
//! `http://localhost:4000` for reports). This server rewrites those two origins in HTML and JS as
//! it serves them, so the same build can point at services on other ports (the browser tests run
//! everything on free ports). Paths under `/app/` fall back to `app.html`: the SPA section routes
//! on the client, and a reload of a deep link must still load it. Any other path without a file
//! gets `404.html` with status 404, as a site's own server would answer (its snippet has
//! `data-404`). The tracker's files (`.js`, `.wasm`) are served with
//! `Access-Control-Allow-Origin: *`, so a page on another origin can load the snippet from here.
//!
//! Environment: `DEMO_DIR` (default `dist`), `DEMO_PORT` (8080), `BIND_HOST` (127.0.0.1),
//! `INGEST_URL` (http://localhost:3000), `REPORT_URL` (http://localhost:4000), `SITE_ID`
//! (`demo-shop`: the tracked site, so each browser test can use its own), and
//! `TRACKER_ALLOW_BOTS=1` (adds `data-allow-bots` to the snippet, for automated browsers).

#![forbid(unsafe_code)]

use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

const DEFAULT_INGEST: &str = "http://localhost:3000";
const DEFAULT_REPORT: &str = "http://localhost:4000";
/// The site id in the snippet and the dashboard's default (Trunk's minifier unquotes attributes
/// in `index.html`, so the bare token is replaced).
const DEFAULT_SITE: &str = "demo-shop";
const ALLOW_LOCALHOST: &str = "data-allow-localhost";

struct Site {
    root: PathBuf,
    /// Where `/dashboard` redirects: the report service's stats page for this site.
    dashboard: String,
    /// (written in the pages, served instead) pairs applied to HTML and JS.
    rewrites: Vec<(&'static str, String)>,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let origin = |var, default| env_or(var, default).trim_end_matches('/').to_owned();
    let mut rewrites = vec![
        (DEFAULT_INGEST, origin("INGEST_URL", DEFAULT_INGEST)),
        (DEFAULT_REPORT, origin("REPORT_URL", DEFAULT_REPORT)),
        (DEFAULT_SITE, env_or("SITE_ID", DEFAULT_SITE)),
    ];
    if env_or("TRACKER_ALLOW_BOTS", "0") == "1" {
        rewrites.push((
            ALLOW_LOCALHOST,
            format!("{ALLOW_LOCALHOST} data-allow-bots"),
        ));
    }
    let dashboard = format!(
        "{}/?site={}",
        origin("REPORT_URL", DEFAULT_REPORT),
        env_or("SITE_ID", DEFAULT_SITE)
    );
    let site = Arc::new(Site {
        root: PathBuf::from(env_or("DEMO_DIR", "dist")),
        dashboard,
        rewrites,
    });
    anyhow::ensure!(
        site.root.join("index.html").is_file(),
        "{}/index.html not found: build the site first (scripts/build-site)",
        site.root.display()
    );
    let host: IpAddr = env_or("BIND_HOST", "127.0.0.1")
        .parse()
        .context("invalid BIND_HOST")?;
    let port: u16 = env_or("DEMO_PORT", "8080")
        .parse()
        .context("invalid DEMO_PORT")?;
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .with_context(|| format!("binding {host}:{port}"))?;
    tracing::info!(addr = %listener.local_addr()?, root = %site.root.display(), "demo site listening");
    let app = Router::new().fallback(serve).with_state(site);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// Maps a URL path to a file under the root; `None` for anything that tries to leave it.
fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let relative = url_path.trim_start_matches('/');
    let mut path = root.to_path_buf();
    for component in Path::new(relative).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if path.is_dir() {
        path.push("index.html");
    } else if path.extension().is_none() && path.with_extension("html").is_file() {
        path.set_extension("html");
    } else if !path.is_file() && url_path.starts_with("/app/") {
        path = root.join("app.html");
    }
    Some(path)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// The page served, with status 404, for every path that has no file.
const NOT_FOUND_PAGE: &str = "404.html";

async fn serve(State(site): State<Arc<Site>>, request: Request) -> Response {
    if request.uri().path() == "/dashboard" {
        return axum::response::Redirect::temporary(&site.dashboard).into_response();
    }
    let Some(path) = resolve(&site.root, request.uri().path()) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if let Ok(bytes) = tokio::fs::read(&path).await {
        return respond(&site, &path, bytes, StatusCode::OK);
    }
    let page = site.root.join(NOT_FOUND_PAGE);
    match tokio::fs::read(&page).await {
        Ok(bytes) => respond(&site, &page, bytes, StatusCode::NOT_FOUND),
        Err(_) => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// The file's bytes as a response: HTML and JS with the local URLs rewritten, the tracker's
/// files open to every origin (`import()` of the glue and `fetch` of the wasm are CORS requests
/// when the page is elsewhere; the loader itself is a classic script and needs no header).
fn respond(site: &Site, path: &Path, bytes: Vec<u8>, status: StatusCode) -> Response {
    let kind = content_type(path);
    let body = if kind.starts_with("text/html") || kind.starts_with("text/javascript") {
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        for (from, to) in &site.rewrites {
            text = text.replace(from, to);
        }
        text.into_bytes()
    } else {
        bytes
    };
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response();
    if kind.starts_with("text/javascript") || kind == "application/wasm" {
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::HeaderValue::from_static("*"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_stays_inside_the_root_and_falls_back_for_the_spa() {
        let root = std::env::temp_dir().join(format!("demo-site-test-{}", std::process::id()));
        std::fs::create_dir_all(root.join("sub")).unwrap();
        for f in ["index.html", "app.html", "about.html", "sub/index.html"] {
            std::fs::write(root.join(f), "x").unwrap();
        }
        assert_eq!(resolve(&root, "/"), Some(root.join("index.html")));
        assert_eq!(resolve(&root, "/about"), Some(root.join("about.html")));
        assert_eq!(resolve(&root, "/sub/"), Some(root.join("sub/index.html")));
        assert_eq!(
            resolve(&root, "/app/orders/42"),
            Some(root.join("app.html"))
        );
        assert_eq!(resolve(&root, "/../etc/passwd"), None);
        assert_eq!(resolve(&root, "/sub/../../x"), None);
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// A site in a fresh directory with the given files, rewriting `demo-shop` to `s1`.
    fn site(name: &str, files: &[(&str, &str)]) -> Arc<Site> {
        let root = std::env::temp_dir().join(format!("demo-site-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        for (file, text) in files {
            std::fs::write(root.join(file), text).unwrap();
        }
        Arc::new(Site {
            root,
            dashboard: "http://localhost:4000/?site=s1".to_owned(),
            rewrites: vec![(DEFAULT_SITE, "s1".to_owned())],
        })
    }

    async fn get(site: &Arc<Site>, path: &str) -> (StatusCode, header::HeaderMap, String) {
        let request = Request::builder()
            .uri(path)
            .body(Default::default())
            .unwrap();
        let response = serve(State(site.clone()), request).await;
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&bytes).into(),
        )
    }

    #[tokio::test]
    async fn unknown_paths_get_the_404_page_with_status_404_but_the_spa_keeps_its_fallback() {
        let site = site(
            "404",
            &[
                ("index.html", "home"),
                ("app.html", "spa"),
                (
                    "404.html",
                    "<script data-site=\"demo-shop\" data-404></script>",
                ),
            ],
        );
        let (status, _, body) = get(&site, "/no/such/page").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body, "<script data-site=\"s1\" data-404></script>",
            "rewritten"
        );
        assert_eq!(get(&site, "/app/orders/42").await.2, "spa");
        assert_eq!(get(&site, "/missing.js").await.0, StatusCode::NOT_FOUND);
        assert_eq!(get(&site, "/").await.0, StatusCode::OK);

        let bare = self::site("no-404", &[("index.html", "home")]);
        let (status, _, body) = get(&bare, "/nope").await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::NOT_FOUND, "not found")
        );
        std::fs::remove_dir_all(&site.root).unwrap();
        std::fs::remove_dir_all(&bare.root).unwrap();
    }

    #[tokio::test]
    async fn the_trackers_files_are_open_to_other_origins_and_pages_are_not() {
        let site = site(
            "cors",
            &[
                ("index.html", "home"),
                ("tracker-wasm.js", "glue"),
                ("tracker-wasm_bg.wasm", "wasm"),
            ],
        );
        let allowed = |headers: &header::HeaderMap| {
            headers
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let (_, headers, _) = get(&site, "/tracker-wasm.js").await;
        assert_eq!(allowed(&headers).as_deref(), Some("*"));
        let (_, headers, _) = get(&site, "/tracker-wasm_bg.wasm").await;
        assert_eq!(allowed(&headers).as_deref(), Some("*"));
        assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
        let (_, headers, _) = get(&site, "/").await;
        assert_eq!(allowed(&headers), None);
        std::fs::remove_dir_all(&site.root).unwrap();
    }
}
