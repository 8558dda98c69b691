//! All configuration, loaded once from the environment (and `.env`) into one typed struct.
//!
//! Every service reads the same struct and takes what it needs, so a variable means the same thing
//! everywhere. A bad value stops the service at start with one line naming the variable, instead
//! of surfacing later as a confusing runtime failure.

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

/// A variable that is set but unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid {var}={value:?}: {rule}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub rule: &'static str,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `KAFKA_BROKER`: bootstrap servers, comma separated.
    pub kafka_broker: String,
    /// `KAFKA_TOPIC`: where accepted events go.
    pub kafka_topic: String,
    /// `KAFKA_DLQ_TOPIC`: where the worker parks records it cannot store (default `<topic>.dlq`).
    pub dlq_topic: String,
    /// `KAFKA_PARTITIONS`: partitions used when the topic has to be created.
    pub kafka_partitions: i32,
    /// `KAFKA_REPLICATION`: replication factor used when the topic has to be created.
    pub kafka_replication: i32,
    /// `KAFKA_GROUP`: the worker's consumer group; workers in one group share partitions.
    pub consumer_group: String,
    /// `WORKER_INSTANCE_ID`: a name this worker keeps across restarts (Kafka's static group
    /// membership, `group.instance.id`): a restarted worker takes its predecessor's place.
    pub worker_instance_id: Option<String>,
    /// `PRODUCE_TIMEOUT_MS`: how long ingestion waits for Kafka's ack before answering 503.
    pub produce_timeout: Duration,
    /// `MONGO_URL`: the database name comes from the URL path.
    pub mongo_url: String,
    /// `BIND_HOST`: the address the HTTP services listen on.
    pub bind_host: IpAddr,
    /// `INGEST_PORT`
    pub ingest_port: u16,
    /// `REPORT_PORT`
    pub report_port: u16,
    /// `WORKER_PORT`: where the worker serves `/metrics`, `/healthz` and `/readyz`.
    pub worker_port: u16,
    /// `VISITOR_SECRET`: key for anonymous visitor ids. Unset: a random key per process, which
    /// is only right for a single ingestion instance.
    pub visitor_secret: Option<String>,
    /// `TRUST_X_FORWARDED_FOR`: take the client IP from `X-Forwarded-For` (behind a proxy only).
    pub trust_forwarded_for: bool,
    /// `KAFKA_IDEMPOTENCE`: rdkafka's idempotent producer (no duplicates from its own retries).
    /// On by default; off only for brokers that mishandle it (Tansu 0.6.0's SQLite engine, see
    /// docs/reliability.md): storage drops duplicate `eid`s either way, so counts stay exact.
    pub kafka_idempotence: bool,
    /// `KAFKA_LINGER_MS`: how long the producer holds a record to batch it with others (may be
    /// fractional). Every `202` waits for it, so it is a floor under ingestion latency and, for
    /// a client that waits for each answer, a ceiling on its throughput; measured in
    /// docs/benchmarks.md ("Producer linger").
    pub kafka_linger_ms: f64,
    /// `MAX_CONNECTIONS`: open connections each HTTP service accepts at once; more wait in
    /// the listen backlog. Keep it under the process's file descriptor limit.
    pub max_connections: usize,
    /// `WORKER_BATCH_SIZE`: most records the worker writes to MongoDB in one bulk insert.
    pub worker_batch_size: usize,
    /// `WORKER_BATCH_WAIT_MS`: longest the worker waits to fill a batch.
    pub worker_batch_wait: Duration,
    /// `WORKER_CHECKPOINT_MS`: longest the worker holds changed visitor states in memory
    /// before saving them and committing offsets, while it works through a backlog; once caught
    /// up it checkpoints every second, and within 200 ms of the topic going quiet. `0`: after
    /// every batch. A crash replays at most this much.
    pub worker_checkpoint: Duration,
    /// `WORKER_STARVED_AFTER_MS`: how long partitions may wait with nobody consuming them
    /// (others' committed offsets standing still, plus a checkpoint interval; or this worker's
    /// own partitions giving it no record) before the worker reports it and joins its group
    /// again (default two session timeouts).
    pub worker_starved_after: Duration,
    /// `LOG_FORMAT`: `text` or `json`.
    pub log_format: LogFormat,
    /// `RETENTION_DAYS`: raw events expire this long after they happened (a TTL index);
    /// rollups are kept.
    pub retention: time::Duration,
    /// `REPORT_CACHE_EVENTS`: how many events of the event blocks it has read the report service
    /// keeps decoded for filtered reports (about 250 bytes each; 0 keeps none).
    pub report_cache_events: usize,
    /// `REPORT_CACHE_ROLLUPS`: how many daily rollup documents breakdowns have read the report
    /// service keeps, per day while the day's total stands (about 200 bytes each; 0 keeps none).
    pub report_cache_rollups: usize,
    /// `GEOIP_DB`: a MaxMind `.mmdb` country (or city) database; unset: country is unknown.
    pub geoip_db: Option<std::path::PathBuf>,
    /// `TRACKER_DIR`: the packaged tracker ingestion serves at `/beacon.js` (`scripts/build-site`
    /// writes it to `dist/tracker`, the default).
    pub tracker_dir: std::path::PathBuf,
    /// `FILTER_BOTS`: drop crawler, headless-browser and script traffic (default on).
    pub filter_bots: bool,
    /// `RATE_LIMIT_PER_IP`: sustained events per second one client IP may send (0: no limit).
    pub rate_per_ip: u32,
    /// `RATE_LIMIT_PER_SITE`: sustained events per second for one site (0: no limit).
    pub rate_per_site: u32,
    /// `RATE_LIMIT_BURST_SECONDS`: how many seconds' worth of events a client may burst.
    pub rate_burst_seconds: u32,
    /// `DASHBOARD_DIR`: the stats page's files (`index.html`, `assets/`), which report_service
    /// serves at `/`. Relative to the working directory; default `dashboard` (the repository's
    /// folder when run from a checkout).
    pub dashboard_dir: std::path::PathBuf,
    /// `DASHBOARD_URL`: where people reach the stats page (report_service's `/` as seen from
    /// outside, e.g. `https://stats.example.com`); `beacon-admin link add` prints shared links
    /// under it. Default `http://localhost:<REPORT_PORT>`.
    pub dashboard_url: String,
}

impl Config {
    /// Reads `.env` (if present) and then the process environment; the environment wins.
    pub fn load() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// Builds the config from any variable lookup, so tests need not touch the process env.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
        let text = |var: &str, default: &str| get(var).unwrap_or_else(|| default.to_owned());
        let kafka_topic = text("KAFKA_TOPIC", "events");
        let report_port = number(&get, "REPORT_PORT", 4000, 0..=65_535)?;
        let config = Self {
            kafka_broker: text("KAFKA_BROKER", "localhost:9092"),
            dlq_topic: get("KAFKA_DLQ_TOPIC").unwrap_or_else(|| format!("{kafka_topic}.dlq")),
            kafka_topic,
            kafka_partitions: number(&get, "KAFKA_PARTITIONS", 3, 1..=10_000)?,
            kafka_replication: number(&get, "KAFKA_REPLICATION", 1, 1..=100)?,
            consumer_group: text("KAFKA_GROUP", "beacon-worker"),
            worker_instance_id: get("WORKER_INSTANCE_ID"),
            produce_timeout: millis(&get, "PRODUCE_TIMEOUT_MS", 5_000)?,
            mongo_url: mongo_url(text("MONGO_URL", "mongodb://localhost:27017/analytics_db"))?,
            bind_host: parsed(
                &get,
                "BIND_HOST",
                IpAddr::from([0; 4]),
                "must be an IP address",
            )?,
            ingest_port: number(&get, "INGEST_PORT", 3000, 0..=65_535)?,
            report_port,
            worker_port: number(&get, "WORKER_PORT", 3001, 0..=65_535)?,
            visitor_secret: get("VISITOR_SECRET"),
            trust_forwarded_for: boolean(&get, "TRUST_X_FORWARDED_FOR", false)?,
            kafka_idempotence: boolean(&get, "KAFKA_IDEMPOTENCE", true)?,
            kafka_linger_ms: linger(&get)?,
            max_connections: number(&get, "MAX_CONNECTIONS", 10_000, 1..=1_000_000)?,
            worker_batch_size: number(&get, "WORKER_BATCH_SIZE", 10_000, 1..=100_000)?,
            worker_batch_wait: millis(&get, "WORKER_BATCH_WAIT_MS", 100)?,
            worker_checkpoint: number(&get, "WORKER_CHECKPOINT_MS", 120_000, 0..=600_000)
                .map(Duration::from_millis)?,
            worker_starved_after: millis(&get, "WORKER_STARVED_AFTER_MS", 20_000)?,
            log_format: log_format(&text("LOG_FORMAT", "text"))?,
            retention: time::Duration::days(number(&get, "RETENTION_DAYS", 180, 1..=36_500)?),
            report_cache_events: number(&get, "REPORT_CACHE_EVENTS", 1_000_000, 0..=100_000_000)?,
            report_cache_rollups: number(&get, "REPORT_CACHE_ROLLUPS", 250_000, 0..=100_000_000)?,
            geoip_db: get("GEOIP_DB").map(std::path::PathBuf::from),
            tracker_dir: text("TRACKER_DIR", "dist/tracker").into(),
            filter_bots: boolean(&get, "FILTER_BOTS", true)?,
            rate_per_ip: number(&get, "RATE_LIMIT_PER_IP", 100, 0..=10_000_000)?,
            rate_per_site: number(&get, "RATE_LIMIT_PER_SITE", 10_000, 0..=100_000_000)?,
            rate_burst_seconds: number(&get, "RATE_LIMIT_BURST_SECONDS", 10, 1..=3_600)?,
            dashboard_dir: text("DASHBOARD_DIR", "dashboard").into(),
            dashboard_url: web_url(
                "DASHBOARD_URL",
                get("DASHBOARD_URL").unwrap_or_else(|| format!("http://localhost:{report_port}")),
            )?,
        };
        Ok(config)
    }
}

fn invalid(var: &'static str, value: &str, rule: &'static str) -> ConfigError {
    ConfigError {
        var,
        value: value.to_owned(),
        rule,
    }
}

fn parsed<T: FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
    rule: &'static str,
) -> Result<T, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| invalid(var, &v, rule)),
    }
}

fn number<T>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd,
{
    ranged(get, var, default, range, "must be a whole number in range")
}

/// `var` parsed as a `T` within `range` (else `default` when unset); `rule` names the error.
fn ranged<T>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
    rule: &'static str,
) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd,
{
    let value = parsed(get, var, default, rule)?;
    if !range.contains(&value) {
        return Err(invalid(var, &get(var).unwrap_or_default(), rule));
    }
    Ok(value)
}

/// Measured best on the benchmark machine (docs/benchmarks.md, "Producer linger").
const DEFAULT_LINGER_MS: f64 = 0.5;

fn linger(get: &impl Fn(&str) -> Option<String>) -> Result<f64, ConfigError> {
    ranged(
        get,
        "KAFKA_LINGER_MS",
        DEFAULT_LINGER_MS,
        0.0..=1_000.0,
        "must be a number of milliseconds in range",
    )
}

fn log_format(value: &str) -> Result<LogFormat, ConfigError> {
    match value {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(invalid("LOG_FORMAT", other, "must be `text` or `json`")),
    }
}

fn millis(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    number(get, var, default, 1..=3_600_000).map(Duration::from_millis)
}

fn boolean(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(var).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(invalid(var, other, "must be true or false")),
    }
}

/// An `http(s)://` URL, without the trailing slash (paths are appended to it).
fn web_url(var: &'static str, url: String) -> Result<String, ConfigError> {
    let url = url.trim();
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match host {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => {
            Ok(url.trim_end_matches('/').to_owned())
        }
        _ => Err(invalid(var, url, "must be an http:// or https:// URL")),
    }
}

fn mongo_url(url: String) -> Result<String, ConfigError> {
    if url.starts_with("mongodb://") || url.starts_with("mongodb+srv://") {
        Ok(url)
    } else {
        Err(invalid(
            "MONGO_URL",
            &url,
            "must start with mongodb:// or mongodb+srv://",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_public_contract() {
        let c = load(&[]).unwrap();
        assert_eq!(c.kafka_broker, "localhost:9092");
        assert_eq!(c.mongo_url, "mongodb://localhost:27017/analytics_db");
        assert_eq!(
            (c.kafka_topic.as_str(), c.dlq_topic.as_str()),
            ("events", "events.dlq")
        );
        assert_eq!((c.ingest_port, c.report_port), (3000, 4000));
        assert_eq!(c.consumer_group, "beacon-worker");
        assert_eq!(c.kafka_partitions, 3);
        assert_eq!(c.kafka_linger_ms, DEFAULT_LINGER_MS);
        assert_eq!(c.worker_checkpoint, Duration::from_secs(120));
        assert_eq!(c.worker_starved_after, Duration::from_secs(20));
        assert_eq!(
            (c.report_cache_events, c.report_cache_rollups),
            (1_000_000, 250_000)
        );
        assert_eq!(c.dashboard_dir, std::path::PathBuf::from("dashboard"));
        assert_eq!(c.dashboard_url, "http://localhost:4000");
    }

    #[test]
    fn environment_overrides() {
        let c = load(&[
            ("KAFKA_TOPIC", "t"),
            ("INGEST_PORT", "8080"),
            ("LOG_FORMAT", "json"),
            ("KAFKA_LINGER_MS", "0.5"),
            ("WORKER_CHECKPOINT_MS", "0"),
            ("REPORT_PORT", "4100"),
            ("REPORT_CACHE_ROLLUPS", "0"),
            ("DASHBOARD_DIR", "/usr/share/beacon/dashboard"),
        ])
        .unwrap();
        assert_eq!(
            c.dashboard_url, "http://localhost:4100",
            "follows REPORT_PORT"
        );
        assert_eq!(
            c.dashboard_dir,
            std::path::PathBuf::from("/usr/share/beacon/dashboard")
        );
        let behind_a_proxy = load(&[("DASHBOARD_URL", "https://stats.example.com/")]).unwrap();
        assert_eq!(behind_a_proxy.dashboard_url, "https://stats.example.com");
        assert_eq!(c.kafka_linger_ms, 0.5);
        assert_eq!(c.worker_checkpoint, Duration::ZERO);
        assert_eq!(c.report_cache_rollups, 0);
        assert_eq!(
            (c.kafka_topic.as_str(), c.dlq_topic.as_str()),
            ("t", "t.dlq")
        );
        assert_eq!(c.ingest_port, 8080);
        assert_eq!(c.log_format, LogFormat::Json);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("INGEST_PORT", "70000"),
            ("REPORT_PORT", "abc"),
            ("MONGO_URL", "postgres://x"),
            ("LOG_FORMAT", "xml"),
            ("TRUST_X_FORWARDED_FOR", "maybe"),
            ("KAFKA_PARTITIONS", "0"),
            ("KAFKA_LINGER_MS", "-1"),
            ("KAFKA_LINGER_MS", "NaN"),
            ("WORKER_CHECKPOINT_MS", "600001"),
            ("BIND_HOST", "nowhere"),
            ("DASHBOARD_URL", "stats.example.com"),
            ("DASHBOARD_URL", "https://"),
        ] {
            let err = load(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var);
            assert!(
                err.to_string().starts_with(&format!("invalid {var}=")),
                "{err}"
            );
        }
    }
}
