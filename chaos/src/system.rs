//! One scenario's Beacon: its own topic, consumer group, database and ports, the real service
//! binaries as processes, the load against it, and the final accounting.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mongodb::bson::{doc, Document};
use uuid::Uuid;

use crate::kafka::Broker;
use crate::load::{Ledger, Load, LoadConfig, SentEvent};
use crate::procs::{wait_http, Proc, Tools};

pub const PARTITIONS: i32 = 3;
/// The workers' `WORKER_CHECKPOINT_MS`, in seconds: they commit offsets this often, so the
/// group's committed lag trails what they stored by up to this much traffic.
pub const CHECKPOINT_S: u32 = 2;

/// `scripts/lib/dev.env`: the settings `./scripts/dev` runs with on top of the defaults.
const DEV_ENV: &str = include_str!("../../scripts/lib/dev.env");

/// The `NAME=value` lines of `scripts/lib/dev.env`.
pub fn dev_env() -> Vec<(&'static str, &'static str)> {
    DEV_ENV
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .collect()
}

pub struct Suite {
    pub tools: Tools,
    pub work_dir: PathBuf,
    pub broker: Broker,
    pub mongo_port: u16,
    pub mongo: mongodb::Client,
    pub http: reqwest::Client,
    pub rate: u32,
    /// Each worker slot keeps one `WORKER_INSTANCE_ID` across restarts.
    pub static_membership: bool,
    pub base_port: u16,
    /// The shared SecantusDB, for scenario 4's SIGSTOP.
    pub store: Proc,
}

impl Suite {
    /// SIGSTOPs the store; it gets SIGCONT when the guard is dropped.
    pub fn freeze_store(&self) -> Result<Frozen<'_>> {
        self.store.signal("STOP")?;
        Ok(Frozen(&self.store))
    }
}

/// A stopped process, continued on drop (even if the scenario fails or times out).
pub struct Frozen<'a>(&'a Proc);

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        let _ = self.0.signal("CONT");
    }
}

pub struct System<'a> {
    pub suite: &'a Suite,
    pub n: u16,
    pub dir: PathBuf,
    pub broker: Broker,
    pub topic: String,
    pub group: String,
    pub db: String,
    pub sites: Vec<String>,
    pub date: String,
    /// Settings this scenario's services get on top of the common ones.
    pub extra_env: Vec<(&'static str, &'static str)>,
}

impl<'a> System<'a> {
    pub fn new(suite: &'a Suite, n: u16, broker: Broker) -> Result<Self> {
        let suffix = Uuid::new_v4().simple().to_string()[..8].to_owned();
        let dir = suite.work_dir.join(format!("scenario-{n}"));
        std::fs::create_dir_all(&dir)?;
        let date = time::OffsetDateTime::now_utc()
            .date()
            .previous_day()
            .unwrap();
        Ok(Self {
            suite,
            n,
            dir,
            broker,
            topic: format!("chaos-{n}-{suffix}"),
            group: format!("chaos-{n}-{suffix}"),
            db: format!("chaos_{n}_{suffix}"),
            sites: (0..6).map(|i| format!("chaos{n}-site{i}")).collect(),
            date: date.to_string(),
            extra_env: Vec::new(),
        })
    }

    /// A system on its own Tansu on a SQLite file, its services with `./scripts/dev`'s settings
    /// (scripts/lib/dev.env): the broker configuration the dev stack runs.
    pub async fn on_dev_broker(suite: &'a Suite, n: u16) -> Result<(Self, Proc)> {
        let mut system = Self::new(suite, n, suite.broker.clone())?;
        system.broker = Broker {
            addr: format!("127.0.0.1:{}", system.port(92)),
        };
        system.extra_env.extend(dev_env());
        let tansu = system.start_dev_broker().await?;
        Ok((system, tansu))
    }

    /// Starts (or restarts) this system's own Tansu on its SQLite file.
    pub async fn start_dev_broker(&self) -> Result<Proc> {
        let log = self.dir.join("tansu.log");
        (self.suite.tools)
            .tansu(self.port(92), "sqlite://tansu.db", &self.dir, &log)
            .await
    }

    /// Ports: 33n00 ingestion, 33n01/33n02 workers, 33n03 reports, 33n92 a private broker.
    pub fn port(&self, offset: u16) -> u16 {
        self.suite.base_port + self.n * 100 + offset
    }

    pub fn ingest_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port(0))
    }

    fn command(&self, bin: &str, worker_port: u16) -> Command {
        let mut cmd = Command::new(self.suite.tools.bin_dir.join(bin));
        cmd.current_dir(&self.dir)
            .env("KAFKA_BROKER", &self.broker.addr)
            .env("KAFKA_TOPIC", &self.topic)
            .env("KAFKA_DLQ_TOPIC", format!("{}.dlq", self.topic))
            // One load client on loopback sends 300 events/s: above the default per-IP limit.
            .env("RATE_LIMIT_PER_IP", "0")
            .env("KAFKA_GROUP", &self.group)
            .env("KAFKA_PARTITIONS", PARTITIONS.to_string())
            .env(
                "MONGO_URL",
                format!("mongodb://127.0.0.1:{}/{}", self.suite.mongo_port, self.db),
            )
            .env("BIND_HOST", "127.0.0.1")
            .env("INGEST_PORT", self.port(0).to_string())
            .env("WORKER_PORT", worker_port.to_string())
            .env("REPORT_PORT", self.port(3).to_string())
            .env("VISITOR_SECRET", "chaos")
            .env("PRODUCE_TIMEOUT_MS", "5000")
            .env("WORKER_BATCH_WAIT_MS", "50")
            .env("WORKER_CHECKPOINT_MS", (CHECKPOINT_S * 1000).to_string())
            .env("LOG_FORMAT", "text")
            .env("RUST_LOG", "info");
        cmd.envs(self.extra_env.iter().copied());
        cmd
    }

    async fn start(&self, bin: &str, name: &str, http_port: u16, worker_port: u16) -> Result<Proc> {
        self.spawn(self.command(bin, worker_port), name, http_port)
            .await
    }

    /// Starts `cmd` as `name`, logging to `name.log`, and waits for its `/readyz`.
    async fn spawn(&self, cmd: Command, name: &str, http_port: u16) -> Result<Proc> {
        let log = self.dir.join(format!("{name}.log"));
        let proc = Proc::spawn(name, cmd, &log)?;
        let url = format!("http://127.0.0.1:{http_port}/readyz");
        wait_http(&self.suite.http, &url, Duration::from_secs(60))
            .await
            .with_context(|| format!("{name} (log: {})", log.display()))?;
        Ok(proc)
    }

    pub async fn start_ingest(&self) -> Result<Proc> {
        self.start("post_service", "post_service", self.port(0), self.port(1))
            .await
    }

    /// Worker `i` (1 or 2), its health endpoint on 33n0i.
    pub async fn start_worker(&self, i: u16) -> Result<Proc> {
        let port = self.port(i);
        let name = format!("worker{i}");
        let mut cmd = self.command("worker", port);
        // Static membership (the dev settings, or --static-membership): one name per slot, kept
        // across restarts, as each of several real workers would have its own.
        let dev_name = self
            .extra_env
            .iter()
            .find(|(k, _)| *k == "WORKER_INSTANCE_ID");
        let base = match dev_name {
            Some((_, v)) => Some((*v).to_owned()),
            None => self.suite.static_membership.then(|| self.group.clone()),
        };
        if let Some(base) = base {
            cmd.env("WORKER_INSTANCE_ID", format!("{base}-{name}"));
        }
        self.spawn(cmd, &name, port).await
    }

    pub async fn start_report(&self) -> Result<Proc> {
        self.start(
            "report_service",
            "report_service",
            self.port(3),
            self.port(1),
        )
        .await
    }

    pub fn load(&self) -> Load {
        Load::start(LoadConfig {
            url: format!("{}/event", self.ingest_url()),
            rate: self.suite.rate,
            batch: 10,
            concurrency: 16,
            sites: self.sites.clone(),
            timestamp: format!("{}T12:00:00Z", self.date),
            give_up_after: Duration::from_secs(90),
        })
    }

    /// Samples the group's lag every 500 ms until stopped.
    pub fn lag_sampler(&self, started: Instant) -> LagSampler {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (broker, topic, group) = (self.broker.clone(), self.topic.clone(), self.group.clone());
        let (s, st) = (samples.clone(), stop.clone());
        let task = tokio::spawn(async move {
            while !st.load(std::sync::atomic::Ordering::SeqCst) {
                let t = started.elapsed().as_secs_f64();
                if let Ok(lag) = broker.lag(&topic, &group, PARTITIONS).await {
                    s.lock().unwrap().push((t, lag));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        LagSampler {
            samples,
            stop,
            task,
        }
    }

    /// Sums of `total_views` and of `unique_users` over the scenario's sites on its day.
    async fn stats_totals(&self) -> Result<(i64, i64)> {
        let (mut total, mut visitors) = (0, 0);
        for site in &self.sites {
            let url = format!(
                "http://127.0.0.1:{}/stats?site_id={site}&date={}",
                self.port(3),
                self.date
            );
            let v: serde_json::Value = self
                .suite
                .http
                .get(&url)
                .timeout(Duration::from_secs(10))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            total += v["total_views"].as_i64().context("total_views")?;
            visitors += v["unique_users"].as_i64().context("unique_users")?;
        }
        Ok((total, visitors))
    }

    async fn raw_ids(&self) -> Result<HashSet<String>> {
        let events = self
            .suite
            .mongo
            .database(&self.db)
            .collection::<Document>("events");
        let mut cursor = events.find(doc! {}).projection(doc! { "_id": 1 }).await?;
        let mut ids = HashSet::new();
        while cursor.advance().await? {
            let d = cursor.deserialize_current()?;
            ids.insert(d.get_str("_id").unwrap_or_default().to_owned());
        }
        Ok(ids)
    }

    /// Waits (up to `limit`) until the group's lag is 0, every acknowledged event is stored and
    /// `/stats` agrees with the stored page views; then checks once more after a pause (a late
    /// replay would show up as a double count) and returns the accounting.
    pub async fn verify(&self, ledger: &Arc<Mutex<Ledger>>, limit: Duration) -> Verdict {
        let start = Instant::now();
        let (acked, sent, gave_up, acked_views): (
            HashSet<String>,
            HashSet<String>,
            HashSet<String>,
            usize,
        ) = {
            let l = ledger.lock().unwrap();
            let s = |set: &HashSet<Uuid>| set.iter().map(Uuid::to_string).collect();
            (
                s(&l.acked),
                l.sent.keys().map(Uuid::to_string).collect(),
                s(&l.gave_up),
                l.acked_page_views(),
            )
        };
        // Page views and distinct visitors among the stored events: what `total_views` and
        // `unique_users` must add up to. Visitor states decide the second, so a replay that
        // applied an event to a state left behind the rollups shows up as a visitor counted twice.
        let stored_counts = |raw: &HashSet<String>| {
            let l = ledger.lock().unwrap();
            let stored: Vec<&SentEvent> = raw
                .iter()
                .filter_map(|id| l.sent.get(&Uuid::parse_str(id).ok()?))
                .collect();
            let views = stored.iter().filter(|e| e.page_view).count() as i64;
            let visitors: HashSet<&str> = stored.iter().map(|e| e.visitor.as_str()).collect();
            (views, visitors.len() as i64)
        };
        let mut settled_once = false;
        loop {
            let lag = self.broker.lag(&self.topic, &self.group, PARTITIONS).await;
            let raw = self.raw_ids().await;
            let totals = self.stats_totals().await;
            match (lag, raw, totals) {
                (Ok(lag), Ok(raw), Ok((views, visitors))) => {
                    let (raw_views, raw_visitors) = stored_counts(&raw);
                    let done = lag == 0
                        && acked.is_subset(&raw)
                        && views == raw_views
                        && visitors == raw_visitors;
                    if done && !settled_once {
                        settled_once = true;
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        continue;
                    }
                    if done || start.elapsed() > limit {
                        return Verdict {
                            settled: done,
                            settle_s: start.elapsed().as_secs_f64(),
                            lag,
                            raw: raw.len(),
                            lost: acked.difference(&raw).count(),
                            extras: raw.difference(&sent).count(),
                            stored_unacked: raw.intersection(&gave_up).count(),
                            stats_views: views,
                            raw_views,
                            stats_visitors: visitors,
                            raw_visitors,
                            acked_views: acked_views as i64,
                            error: None,
                        };
                    }
                }
                (lag, raw, totals) => {
                    if start.elapsed() > limit {
                        let error = lag.err().or(raw.err()).or(totals.err());
                        return Verdict {
                            error: error.map(|e| format!("{e:#}")),
                            ..Verdict::default()
                        };
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

pub struct LagSampler {
    samples: Arc<Mutex<Vec<(f64, i64)>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl LagSampler {
    pub async fn stop(self) -> Vec<(f64, i64)> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = self.task.await;
        let samples = self.samples.lock().unwrap().clone();
        samples
    }
}

/// The accounting after recovery.
#[derive(Debug, Default, Clone)]
pub struct Verdict {
    /// Lag 0, every acknowledged event stored, /stats equal to the stored page views and visitors.
    pub settled: bool,
    pub settle_s: f64,
    pub lag: i64,
    pub raw: usize,
    /// Acknowledged but not stored.
    pub lost: usize,
    /// Stored but never sent.
    pub extras: usize,
    /// Stored although the client gave up on them after a non-2xx.
    pub stored_unacked: usize,
    pub stats_views: i64,
    pub raw_views: i64,
    pub acked_views: i64,
    /// Sum of `/stats` `unique_users`, and distinct visitors among the stored events.
    pub stats_visitors: i64,
    pub raw_visitors: i64,
    pub error: Option<String>,
}

impl Verdict {
    /// Views counted more than once (negative: views missing from the rollups).
    pub fn duplicates(&self) -> i64 {
        self.stats_views - self.raw_views
    }

    pub fn failures(&self) -> Vec<String> {
        let mut f = Vec::new();
        if let Some(e) = &self.error {
            f.push(format!("could not verify: {e}"));
            return f;
        }
        if !self.settled {
            f.push(format!(
                "did not settle in {:.0} s (lag {}, /stats {} vs {} stored page views)",
                self.settle_s, self.lag, self.stats_views, self.raw_views
            ));
        }
        if self.lost > 0 {
            f.push(format!("{} acknowledged events lost", self.lost));
        }
        if self.extras > 0 {
            f.push(format!("{} stored events were never sent", self.extras));
        }
        if self.stored_unacked > 0 {
            f.push(format!(
                "{} events refused and not retried were stored",
                self.stored_unacked
            ));
        }
        if self.stats_visitors != self.raw_visitors {
            f.push(format!(
                "/stats counts {} unique visitors, the stored events have {}",
                self.stats_visitors, self.raw_visitors
            ));
        }
        if self.duplicates() != 0 {
            f.push(format!(
                "/stats counts {} views, the stored page views are {}",
                self.stats_views, self.raw_views
            ));
        }
        if self.stats_views != self.acked_views && self.stored_unacked == 0 {
            f.push(format!(
                "/stats counts {} views, {} page views were acknowledged",
                self.stats_views, self.acked_views
            ));
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_settings_are_read_and_checkpoint_as_every_scenario_does() {
        let env = dev_env();
        assert!(env.contains(&("KAFKA_IDEMPOTENCE", "false")), "{env:?}");
        assert!(
            env.iter()
                .any(|(k, v)| *k == "WORKER_INSTANCE_ID" && !v.is_empty()),
            "{env:?}"
        );
        let checkpoint = (CHECKPOINT_S * 1000).to_string();
        assert!(
            env.contains(&("WORKER_CHECKPOINT_MS", checkpoint.as_str())),
            "{env:?}"
        );
    }
}
