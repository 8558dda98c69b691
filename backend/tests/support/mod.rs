//! Test harness: a whole Beacon system per test, over the real wire.
//!
//! Each [`TestSystem`] runs ingestion, worker and report service in-process on random ports,
//! against the broker and store named by `KAFKA_BROKER` and `MONGO_URL` (the test script starts
//! Tansu and SecantusDB and sets them). Every system gets its own topic, consumer group and
//! database, so tests run in parallel without seeing each other's events.
#![allow(dead_code)]

use std::time::Duration;

use beacon::config::Config;
use beacon::shutdown::{self, Trigger};
use beacon::store::MongoStore;
use beacon::{ingest, report, worker, ServiceError};
use mongodb::bson::doc;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One running service and the means to stop it.
pub struct Service {
    trigger: Trigger,
    task: JoinHandle<Result<(), ServiceError>>,
}

impl Service {
    fn spawn<F>(run: impl FnOnce(shutdown::Shutdown) -> F) -> Self
    where
        F: std::future::Future<Output = Result<(), ServiceError>> + Send + 'static,
    {
        let (trigger, shutdown) = shutdown::channel();
        Self {
            trigger,
            task: tokio::spawn(run(shutdown)),
        }
    }

    /// Graceful stop, as on SIGTERM; waits until the service has finished.
    pub async fn stop(self) {
        self.trigger.fire();
        let result = tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("service stops within 30 s")
            .expect("service task did not panic");
        result.expect("service stopped cleanly");
    }
}

pub struct TestSystem {
    pub config: Config,
    pub ingest_url: String,
    pub report_url: String,
    pub http: reqwest::Client,
    pub store: MongoStore,
    ingest: Option<Service>,
    report: Option<Service>,
    worker: Option<Service>,
    /// Base URL of the (first) worker's health and metrics endpoints.
    pub worker_url: Option<String>,
    extra_workers: Vec<Service>,
}

/// Extra variables for a test's config on top of the per-test isolation.
pub type Overrides<'a> = &'a [(&'a str, &'a str)];

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// `MONGO_URL` from the environment with the database replaced by `db`.
fn mongo_url_with_db(db: &str) -> String {
    let url = std::env::var("MONGO_URL").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".into());
    let (scheme, rest) = url.split_once("://").expect("MONGO_URL has a scheme");
    let hosts = rest.split(['/', '?']).next().unwrap_or(rest);
    format!("{scheme}://{hosts}/{db}")
}

impl TestSystem {
    /// A full system: ingestion, worker and reports.
    pub async fn start() -> Self {
        Self::start_with(&[], true).await
    }

    /// A system with config overrides; the worker is started only if `with_worker`.
    pub async fn start_with(overrides: Overrides<'_>, with_worker: bool) -> Self {
        init_logs();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let topic = format!("test-events-{id}");
        let group = format!("test-group-{id}");
        let mongo_url = mongo_url_with_db(&format!("beacon_test_{}", &id[..12]));
        let broker = std::env::var("KAFKA_BROKER").unwrap_or_else(|_| "127.0.0.1:9092".into());
        let mut vars: Vec<(&str, String)> = vec![
            ("KAFKA_BROKER", broker),
            ("KAFKA_TOPIC", topic),
            ("KAFKA_GROUP", group),
            ("MONGO_URL", mongo_url),
            ("BIND_HOST", "127.0.0.1".into()),
            ("TRUST_X_FORWARDED_FOR", "true".into()),
            ("VISITOR_SECRET", "integration-tests".into()),
            ("WORKER_BATCH_WAIT_MS", "20".into()),
            // Tests send fast from one IP; the rate-limit test turns limits back on.
            ("RATE_LIMIT_PER_IP", "0".into()),
            ("RATE_LIMIT_PER_SITE", "0".into()),
            // The repository's stats page, wherever the test runs from.
            ("DASHBOARD_DIR", DASHBOARD_DIR.into()),
        ];
        vars.extend(overrides.iter().map(|(k, v)| (*k, v.to_string())));
        let config = Config::from_lookup(|k| {
            vars.iter()
                .rev()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.clone())
        })
        .expect("test config is valid");

        let ingest_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let report_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ingest_url = format!("http://{}", ingest_listener.local_addr().unwrap());
        let report_url = format!("http://{}", report_listener.local_addr().unwrap());
        let ingest = {
            let config = config.clone();
            Service::spawn(move |s| async move { ingest::run(&config, ingest_listener, s).await })
        };
        let report = {
            let config = config.clone();
            Service::spawn(move |s| async move { report::run(&config, report_listener, s).await })
        };
        let store = MongoStore::connect(&config.mongo_url).await.unwrap();
        let mut system = Self {
            config,
            ingest_url,
            report_url,
            http: reqwest::Client::new(),
            store,
            ingest: Some(ingest),
            report: Some(report),
            worker: None,
            worker_url: None,
            extra_workers: Vec::new(),
        };
        if with_worker {
            system.start_worker();
        }
        system
    }

    pub fn start_worker(&mut self) {
        assert!(self.worker.is_none(), "worker already running");
        let (worker, url) = self.spawn_worker();
        self.worker = Some(worker);
        self.worker_url = Some(url);
    }

    /// The worker in another consumer group: it reads the topic again from the start.
    pub fn start_worker_in_group(&mut self, group: &str) {
        assert!(self.worker.is_none(), "worker already running");
        let mut config = self.config.clone();
        config.consumer_group = format!("{}-{group}", self.config.consumer_group);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        listener.set_nonblocking(true).unwrap();
        self.worker_url = Some(format!("http://{}", listener.local_addr().unwrap()));
        self.worker = Some(Service::spawn(move |s| async move {
            let listener = TcpListener::from_std(listener)?;
            worker::run(&config, listener, s).await
        }));
    }

    /// Another worker in the same consumer group (they share the topic's partitions).
    pub fn start_extra_worker(&mut self) {
        let (worker, _) = self.spawn_worker();
        self.extra_workers.push(worker);
    }

    /// A worker with its health/metrics endpoints on a free port; returns it and their URL.
    fn spawn_worker(&self) -> (Service, String) {
        let config = self.config.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let worker = Service::spawn(move |s| async move {
            let listener = TcpListener::from_std(listener)?;
            worker::run(&config, listener, s).await
        });
        (worker, url)
    }

    pub async fn stop_worker(&mut self) {
        self.worker.take().expect("worker running").stop().await;
    }

    pub async fn stop_ingest(&mut self) {
        self.ingest.take().expect("ingestion running").stop().await;
    }

    /// POSTs `body` to `/event` with a Content-Type, from client IP `ip` (via X-Forwarded-For).
    pub async fn post_raw(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: &str,
    ) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/event", self.ingest_url))
            .header("content-type", content_type)
            .header("user-agent", CHROME)
            .body(body)
            .send()
            .await
            .expect("ingestion answers");
        json_of(response).await
    }

    /// POSTs `body` as `text/plain` (as the tracker does) to ingestion's `path_and_query`.
    pub async fn post_to(&self, path_and_query: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}{path_and_query}", self.ingest_url))
            .header("content-type", "text/plain;charset=UTF-8")
            .header("user-agent", CHROME)
            .body(body.to_string())
            .send()
            .await
            .expect("ingestion answers");
        json_of(response).await
    }

    pub async fn post(&self, body: &Value) -> (StatusCode, Value) {
        self.post_raw(body.to_string(), "application/json").await
    }

    /// POSTs as a given client (IP and User-Agent), for anonymous visitor ids.
    pub async fn post_as(&self, body: &Value, ip: &str, user_agent: &str) -> (StatusCode, Value) {
        json_of(self.post_as_response(body, ip, user_agent).await).await
    }

    /// [`TestSystem::post_as`], the whole response (its headers too).
    pub async fn post_as_response(
        &self,
        body: &Value,
        ip: &str,
        user_agent: &str,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/event", self.ingest_url))
            .header("content-type", "application/json")
            .header("x-forwarded-for", ip)
            .header("user-agent", user_agent)
            .body(body.to_string())
            .send()
            .await
            .expect("ingestion answers")
    }

    /// `GET /stats?{query}`.
    pub async fn stats(&self, query: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}/stats?{query}", self.report_url))
            .send()
            .await
            .expect("report service answers");
        json_of(response).await
    }

    /// Polls `{base}/readyz` until it answers 200 (true) or 15 s pass (false).
    pub async fn wait_ready(&self, base: &str) -> bool {
        self.wait_readyz(base, StatusCode::OK, Duration::from_secs(15))
            .await
            .is_some()
    }

    /// Polls `{base}/readyz` until it answers `status` (its JSON body) or `limit` passes (None).
    pub async fn wait_readyz(
        &self,
        base: &str,
        status: StatusCode,
        limit: Duration,
    ) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            match self.http.get(format!("{base}/readyz")).send().await {
                Ok(response) if response.status() == status => {
                    return Some(response.json().await.unwrap_or(Value::Null));
                }
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    /// `{base}/metrics`: answered 200 with Prometheus text, which it returns.
    pub async fn metrics(&self, base: &str) -> String {
        let response = self.http.get(format!("{base}/metrics")).send().await;
        let response = response.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        response.text().await.unwrap()
    }

    /// Number of event documents in this system's database.
    pub async fn stored(&self) -> u64 {
        self.store
            .database()
            .collection::<mongodb::bson::Document>("events")
            .count_documents(doc! {})
            .await
            .unwrap_or(0)
    }

    /// Waits until exactly `expected` events are stored and stay so for a moment.
    pub async fn wait_stored(&self, expected: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let now = self.stored().await;
            assert!(
                now <= expected,
                "stored {now} events, expected only {expected}"
            );
            if now == expected {
                tokio::time::sleep(Duration::from_millis(300)).await;
                assert_eq!(
                    self.stored().await,
                    expected,
                    "more events arrived than expected"
                );
                self.wait_rolled_up(expected).await;
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {now} of {expected} events stored after 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Events counted in `collection`'s site totals (daily: the `total` documents; hourly: every
    /// document), across all sites and days.
    pub async fn rolled_up_in(&self, collection: &str) -> i64 {
        let filter = match collection {
            "rollups_daily" => doc! { "dim": "total" },
            _ => doc! {},
        };
        let pipeline = [
            doc! { "$match": filter },
            doc! { "$group": { "_id": null, "n": { "$sum": "$events" } } },
        ];
        let Ok(mut cursor) = self
            .store
            .database()
            .collection::<mongodb::bson::Document>(collection)
            .aggregate(pipeline)
            .await
        else {
            return 0;
        };
        use futures::TryStreamExt;
        match cursor.try_next().await {
            Ok(Some(d)) => d
                .get_i64("n")
                .or_else(|_| d.get_i32("n").map(i64::from))
                .unwrap_or(0),
            _ => 0,
        }
    }

    /// Events counted in the daily rollups (site totals), across all sites and days.
    pub async fn rolled_up(&self) -> i64 {
        self.rolled_up_in("rollups_daily").await
    }

    /// Waits until the daily and the hourly rollups both count `expected` events: the worker
    /// has finished the batch that stored them (rollups are written right after the raw
    /// events, daily then hourly, one command each, and a reader can come between them).
    pub async fn wait_rolled_up(&self, expected: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        for collection in ["rollups_daily", "rollups_hourly"] {
            while self.rolled_up_in(collection).await != expected as i64 {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{collection} count {} events, expected {expected}",
                    self.rolled_up_in(collection).await
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// `GET {report_url}{path_and_query}` as JSON.
    pub async fn report(&self, path_and_query: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}{path_and_query}", self.report_url))
            .send()
            .await
            .expect("report service answers");
        json_of(response).await
    }

    /// `GET {path_and_query}` on the report service, with a bearer token if given; also returns
    /// the `WWW-Authenticate` header.
    pub async fn report_as(
        &self,
        path_and_query: &str,
        token: Option<&str>,
    ) -> (StatusCode, Value, Option<String>) {
        let mut request = self
            .http
            .get(format!("{}{path_and_query}", self.report_url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("report service answers");
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let (status, body) = json_of(response).await;
        (status, body, challenge)
    }

    /// Runs the real `beacon-admin` binary against this system's database, with `env` set too.
    pub fn admin_with(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_beacon-admin"))
            .args(args)
            .env("MONGO_URL", &self.config.mongo_url)
            .envs(env.iter().copied())
            // Away from the repository's `.env`, which must not matter here.
            .current_dir(std::env::temp_dir())
            .output()
            .expect("beacon-admin runs")
    }

    /// [`TestSystem::admin_with`] with only `MONGO_URL` set.
    pub fn admin(&self, args: &[&str]) -> std::process::Output {
        self.admin_with(args, &[])
    }

    /// Stops every service and drops the test database.
    pub async fn shutdown(mut self) {
        let services = [self.ingest.take(), self.worker.take(), self.report.take()];
        let extra = std::mem::take(&mut self.extra_workers);
        for service in services.into_iter().flatten().chain(extra) {
            service.stop().await;
        }
        let _ = self.store.database().drop().await;
    }
}

/// What a successful `beacon-admin` run printed (fails the test, showing stderr, otherwise).
pub fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "beacon-admin failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("response body");
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{status}: body is not JSON: {text:?}"));
    (status, value)
}

/// The repository's `dashboard/` folder.
pub const DASHBOARD_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../dashboard");

/// Real browser User-Agents (scripts and bots are filtered out of reports).
pub const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
pub const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
pub const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
pub const IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1";

/// Today in UTC as `YYYY-MM-DD`.
pub fn today() -> String {
    beacon_event::Day::of(time::OffsetDateTime::now_utc()).to_string()
}

/// `days` days ago in UTC as `YYYY-MM-DD`, and an RFC 3339 instant at `hh:mm` on that day.
pub fn day_ago(days: i64, hh: u8, mm: u8) -> (String, String) {
    let date = (time::OffsetDateTime::now_utc() - time::Duration::days(days)).date();
    let day = beacon_event::Day::of(date.midnight().assume_utc()).to_string();
    (day.clone(), format!("{day}T{hh:02}:{mm:02}:00Z"))
}

/// Every rollup document (daily and hourly) that `filter` matches, by id, without its
/// watermarks (which depend on how records were batched, not on what they count).
pub async fn rollup_documents(
    store: &MongoStore,
    filter: mongodb::bson::Document,
) -> std::collections::BTreeMap<String, mongodb::bson::Document> {
    use futures::TryStreamExt;
    let mut out = std::collections::BTreeMap::new();
    for name in ["rollups_daily", "rollups_hourly"] {
        let docs: Vec<mongodb::bson::Document> = store
            .database()
            .collection::<mongodb::bson::Document>(name)
            .find(filter.clone())
            .projection(doc! { "wm": 0 })
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        // A document whose counters are all zero reads like no document (reports list neither),
        // and whether one exists depends on where checkpoints fell: left out.
        let count = |v: &mongodb::bson::Bson| v.as_i64().or(v.as_i32().map(i64::from));
        let counted = |d: &mongodb::bson::Document| {
            beacon::rollup::Counters::FIELDS
                .iter()
                .any(|f| d.get(*f).is_some_and(|v| count(v) != Some(0)))
        };
        for d in docs.into_iter().filter(counted) {
            out.insert(d.get_str("_id").unwrap().to_owned(), d);
        }
    }
    out
}
