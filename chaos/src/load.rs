//! The client: a steady stream of events with fixed eids, in batches, each batch retried with
//! the same eids until it is acknowledged (2xx), honouring `Retry-After`. It records which eids
//! were acknowledged and what every attempt got.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::Semaphore;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub url: String,
    /// Events per second.
    pub rate: u32,
    pub batch: usize,
    /// Most batches in flight (including ones waiting to be retried).
    pub concurrency: usize,
    pub sites: Vec<String>,
    /// RFC 3339 timestamp every event carries, so all land on one known day.
    pub timestamp: String,
    /// A batch not acknowledged this long after its first attempt is given up.
    pub give_up_after: Duration,
}

/// What one attempt got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Status503,
    OtherStatus(u16),
    /// Refused before anything was sent (nothing listening).
    Refused,
    /// Connection reset, broken pipe, incomplete answer: the request may have been in flight.
    ConnError,
    Timeout,
}

#[derive(Debug, Clone)]
pub struct SentEvent {
    pub page_view: bool,
    /// `site|user_id`: with a `user_id`, one visitor of that site all day.
    pub visitor: String,
}

#[derive(Default)]
pub struct Ledger {
    pub sent: HashMap<Uuid, SentEvent>,
    pub acked: HashSet<Uuid>,
    pub gave_up: HashSet<Uuid>,
    /// Every attempt: seconds since the load started, and its outcome.
    pub attempts: Vec<(f64, Outcome)>,
}

impl Ledger {
    pub fn count(&self, pred: impl Fn(&Outcome) -> bool) -> usize {
        self.attempts.iter().filter(|(_, o)| pred(o)).count()
    }
    pub fn acked_page_views(&self) -> usize {
        self.acked.iter().filter(|e| self.sent[e].page_view).count()
    }
}

pub struct Load {
    pub started: Instant,
    pub ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    /// Set: batches still unacknowledged are given up at their next failure.
    abandon: Arc<AtomicBool>,
    generator: tokio::task::JoinHandle<()>,
    slots: Arc<Semaphore>,
    concurrency: usize,
}

impl Load {
    pub fn start(config: LoadConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .pool_max_idle_per_host(config.concurrency)
            .build()
            .expect("http client");
        let started = Instant::now();
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let slots = Arc::new(Semaphore::new(config.concurrency));
        let abandon = Arc::new(AtomicBool::new(false));
        let generator = tokio::spawn(generate(
            config.clone(),
            http,
            (started, ledger.clone()),
            (stop.clone(), abandon.clone()),
            slots.clone(),
        ));
        Self {
            started,
            ledger,
            stop,
            abandon,
            generator,
            slots,
            concurrency: config.concurrency,
        }
    }

    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Stops sending and gives up every batch not yet acknowledged (the system is known broken).
    pub async fn abandon(self) -> Arc<Mutex<Ledger>> {
        self.abandon.store(true, Ordering::SeqCst);
        self.stop().await
    }

    /// Stops sending new batches and waits for the ones in flight (acknowledged or given up).
    pub async fn stop(self) -> Arc<Mutex<Ledger>> {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.generator.await;
        let _all = self
            .slots
            .acquire_many(self.concurrency as u32)
            .await
            .expect("semaphore open");
        self.ledger
    }
}

async fn generate(
    config: LoadConfig,
    http: reqwest::Client,
    (started, ledger): (Instant, Arc<Mutex<Ledger>>),
    (stop, abandon): (Arc<AtomicBool>, Arc<AtomicBool>),
    slots: Arc<Semaphore>,
) {
    let period = Duration::from_secs_f64(config.batch as f64 / f64::from(config.rate));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n: u64 = 0;
    let config = Arc::new(config);
    loop {
        tick.tick().await;
        // Back-pressure: with every slot busy (an outage), the stream slows instead of piling up.
        let permit = slots.clone().acquire_owned().await.expect("semaphore open");
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let mut events = Vec::with_capacity(config.batch);
        let mut ids = Vec::with_capacity(config.batch);
        {
            let mut ledger = ledger.lock().unwrap();
            for _ in 0..config.batch {
                n += 1;
                let eid = Uuid::new_v4();
                // Nine page views, then one custom event.
                let page_view = n % 10 != 0;
                let site = &config.sites[(n as usize / 7) % config.sites.len()];
                let user = format!("u{}", n % 97);
                let visitor = format!("{site}|{user}");
                events.push(json!({
                    "site_id": site,
                    "event_type": if page_view { "page_view" } else { "signup" },
                    "path": format!("/p{}", n % 13),
                    "user_id": user,
                    "timestamp": config.timestamp,
                    "eid": eid,
                }));
                ids.push(eid);
                ledger.sent.insert(eid, SentEvent { page_view, visitor });
            }
        }
        let body = Value::Array(events).to_string();
        let (http, ledger, config) = (http.clone(), ledger.clone(), config.clone());
        let abandon = abandon.clone();
        tokio::spawn(async move {
            let batch = Batch { body, ids, started };
            send_until_acked(&http, &config, batch, &ledger, &abandon).await;
            drop(permit);
        });
    }
}

struct Batch {
    body: String,
    ids: Vec<Uuid>,
    started: Instant,
}

async fn send_until_acked(
    http: &reqwest::Client,
    config: &LoadConfig,
    Batch { body, ids, started }: Batch,
    ledger: &Mutex<Ledger>,
    abandon: &AtomicBool,
) {
    let first = Instant::now();
    let mut backoff = Duration::from_millis(100);
    loop {
        let (outcome, retry_after) = attempt(http, &config.url, &body, ids.len()).await;
        let now = started.elapsed().as_secs_f64();
        {
            let mut ledger = ledger.lock().unwrap();
            ledger.attempts.push((now, outcome));
            if outcome == Outcome::Ok {
                ledger.acked.extend(ids.iter().copied());
                return;
            }
            if first.elapsed() > config.give_up_after || abandon.load(Ordering::SeqCst) {
                ledger.gave_up.extend(ids.iter().copied());
                return;
            }
        }
        let wait = retry_after.unwrap_or(backoff);
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

/// One POST; `Ok` only for a 2xx that accepted every event of the batch.
async fn attempt(
    http: &reqwest::Client,
    url: &str,
    body: &str,
    n: usize,
) -> (Outcome, Option<Duration>) {
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return (Outcome::Timeout, None),
        Err(e) if e.is_connect() => return (Outcome::Refused, None),
        Err(_) => return (Outcome::ConnError, None),
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(10)));
    if status.is_success() {
        let accepted = match response.json::<Value>().await {
            Ok(v) => v["accepted"].as_u64(),
            Err(e) if e.is_timeout() => return (Outcome::Timeout, None),
            Err(_) => return (Outcome::ConnError, None),
        };
        if accepted == Some(n as u64) {
            return (Outcome::Ok, None);
        }
        return (Outcome::OtherStatus(status.as_u16()), None);
    }
    if status.as_u16() == 503 {
        (Outcome::Status503, retry_after)
    } else {
        (Outcome::OtherStatus(status.as_u16()), retry_after)
    }
}
