//! Countries out of the box: the bundled free database (ip-location-db, which `scripts/test`
//! installs and exports as `GEOIP_DB`) resolves real client addresses over the wire, and the
//! `post_service` binary's start-up rules for `GEOIP_DB` (unset: starts with one warning; set
//! but unusable: refuses to start, saying why).

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use support::{today, TestSystem, CHROME};

/// The database `scripts/test` installed, or `None` (with a note) when run by hand without it.
/// In CI it must be there: a skipped check would hide a broken install step.
fn bundled_database() -> Option<String> {
    match std::env::var("GEOIP_DB") {
        Ok(path) if !path.trim().is_empty() => Some(path),
        _ if std::env::var_os("CI").is_some() => {
            panic!("GEOIP_DB is not set in CI: scripts/test installs the database and sets it")
        }
        _ => {
            eprintln!(
                "SKIPPED: GEOIP_DB is not set; ./scripts/test installs the bundled country \
                 database and sets it (or: GEOIP_DB=/path/to/country.mmdb cargo test)"
            );
            None
        }
    }
}

#[tokio::test]
async fn events_get_their_country_from_the_bundled_database() {
    let Some(db) = bundled_database() else { return };
    let system = TestSystem::start_with(&[("GEOIP_DB", &db)], true).await;
    let event = json!({"site_id":"countries","event_type":"page_view","path":"/"});
    // Each address is a visitor of its own (the anonymous id hashes the address); the proxy
    // in front (TRUST_X_FORWARDED_FOR, on in tests) passes it in X-Forwarded-For.
    for ip in [
        "8.8.8.8",              // Google Public DNS: US
        "2001:4860:4860::8888", // the same over IPv6: US
        "193.99.144.80",        // heise.de, Hannover: DE
        "133.242.0.1",          // 133.0.0.0/8, JPNIC's block: JP
        "10.0.0.1",             // private: never looked up
    ] {
        let (status, body) = system.post_as(&event, ip, CHROME).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{ip}: {body}");
    }
    system.wait_stored(5).await;
    let (status, body) = system
        .report(&format!(
            "/stats/breakdown?site_id=countries&date={}&property=country",
            today()
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let countries: Vec<(&str, i64)> = body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {body}"))
        .iter()
        .map(|r| {
            (
                r["value"].as_str().unwrap(),
                r["visitors"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        countries,
        [("US", 2), ("DE", 1), ("JP", 1), ("unknown", 1)],
        "{body}"
    );
    system.shutdown().await;
}

/// `post_service` with `vars` (and nothing else from this process's environment), run in an
/// empty directory so that no `.env` is read.
fn post_service(vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_post_service"));
    command
        .env_clear()
        .current_dir(std::env::temp_dir())
        .envs([
            ("BIND_HOST", "127.0.0.1"),
            // Nothing listens there: ingestion starts without its broker and store.
            ("KAFKA_BROKER", "127.0.0.1:9"),
            ("MONGO_URL", "mongodb://127.0.0.1:9/beacon_geoip_test"),
            ("LOG_FORMAT", "text"),
            ("RUST_LOG", "warn"),
        ])
        .envs(vars.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[test]
fn a_geoip_db_that_cannot_be_used_stops_ingestion_at_start() {
    let output = post_service(&[
        ("INGEST_PORT", "0"),
        ("GEOIP_DB", "/nonexistent/beacon/country.mmdb"),
    ])
    .output()
    .expect("post_service runs");
    assert!(!output.status.success(), "started with a missing GEOIP_DB");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines,
        [
            "Error: GEOIP_DB: cannot read GeoIP database /nonexistent/beacon/country.mmdb: \
          No such file or directory (os error 2); point it at a .mmdb country database, or \
          unset it to run without countries"
        ],
        "{stderr}"
    );
}

#[tokio::test]
async fn without_geoip_db_ingestion_starts_and_warns_once() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        probe.local_addr().expect("addr").port()
    };
    let mut child = post_service(&[("INGEST_PORT", &port.to_string())])
        .spawn()
        .expect("post_service runs");
    let url = format!("http://127.0.0.1:{port}/healthz");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let up = loop {
        if let Ok(response) = reqwest::get(&url).await {
            break response.status();
        }
        if tokio::time::Instant::now() > deadline || child.try_wait().expect("wait").is_some() {
            break StatusCode::SERVICE_UNAVAILABLE;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    child.kill().ok();
    let output = child.wait_with_output().expect("output");
    let logs = String::from_utf8_lossy(&output.stdout);
    assert_eq!(up, StatusCode::OK, "ingestion did not start: {logs}");
    let warnings: Vec<&str> = logs.lines().filter(|l| l.contains("GEOIP_DB")).collect();
    assert_eq!(warnings.len(), 1, "{logs}");
    assert!(warnings[0].contains("WARN"), "{logs}");
    assert!(
        warnings[0].contains("GEOIP_DB is not set: every country will be \"unknown\""),
        "{logs}"
    );
}
