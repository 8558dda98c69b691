//! The real processes a scenario drives: spawned with their own log file, signalled by pid, and
//! killed when dropped, so a failing scenario never leaves anything running.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Where every started pid is appended (`PID NAME`), so the calling script can clean up even if
/// this binary is killed.
static PIDS_FILE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

pub fn set_pids_file(path: PathBuf) {
    let _ = PIDS_FILE.set(path);
}

pub struct Proc {
    pub name: String,
    child: Option<Child>,
}

impl Proc {
    /// Starts `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Self> {
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let err = out.try_clone()?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        if let Some(path) = PIDS_FILE.get() {
            if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
                let _ = writeln!(f, "{} {name}", child.id());
            }
        }
        Ok(Self {
            name: name.to_owned(),
            child: Some(child),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Sends a signal (`KILL`, `TERM`, `STOP`, `CONT`) with kill(1).
    pub fn signal(&self, sig: &str) -> Result<()> {
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()?;
        if !status.success() {
            bail!("kill -{sig} {} ({}) failed", self.pid(), self.name);
        }
        Ok(())
    }

    /// Whether it has exited (without reaping the status twice).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Waits for the process to exit, up to `limit`.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// kill -9 and reap.
    pub async fn kill9(&mut self) -> Result<()> {
        if self.exited().is_none() {
            self.signal("KILL")?;
        }
        self.wait_exit(Duration::from_secs(10))
            .await
            .with_context(|| format!("{} did not die after SIGKILL", self.name))?;
        Ok(())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if child.try_wait().ok().flatten().is_none() {
                // A stopped process must be continued to act on anything but SIGKILL; SIGKILL
                // works either way.
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub fn port_taken(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

/// Until 127.0.0.1:`port` accepts connections.
pub async fn wait_port(port: u16, what: &str, limit: Duration) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if port_taken(port) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{what} did not listen on 127.0.0.1:{port} within {limit:?}")
}

/// Until `url` answers 200.
pub async fn wait_http(http: &reqwest::Client, url: &str, limit: Duration) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(r) = http.get(url).timeout(Duration::from_secs(2)).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{url} was not ready within {limit:?}")
}

/// The external tools and binaries.
#[derive(Debug, Clone)]
pub struct Tools {
    pub bin_dir: PathBuf,
    pub tansu: PathBuf,
    pub secantus: PathBuf,
}

impl Tools {
    /// Tansu (Kafka protocol) on `port`, storage `storage` (e.g. `memory://tansu/` or
    /// `sqlite://tansu.db`, relative to `dir`).
    pub async fn tansu(&self, port: u16, storage: &str, dir: &Path, log: &Path) -> Result<Proc> {
        if port_taken(port) {
            bail!("port {port} is taken");
        }
        let mut cmd = Command::new(&self.tansu);
        // The group coordinator's decisions (members expired, leaders chosen) in its log: what
        // a failed takeover needs to be understood.
        cmd.env("RUST_LOG", "warn,tansu_broker::coordinator=info");
        cmd.current_dir(dir).args([
            "broker",
            "--listener-url",
            &format!("tcp://127.0.0.1:{port}"),
            "--advertised-listener-url",
            &format!("tcp://127.0.0.1:{port}"),
            "--storage-engine",
            storage,
        ]);
        let proc = Proc::spawn("tansu", cmd, log)?;
        wait_port(port, "Tansu", Duration::from_secs(30)).await?;
        Ok(proc)
    }

    /// SecantusDB (MongoDB protocol) on `port`, in memory.
    pub async fn secantus(&self, port: u16, log: &Path) -> Result<Proc> {
        if port_taken(port) {
            bail!("port {port} is taken");
        }
        let mut cmd = Command::new(&self.secantus);
        cmd.args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--storage-path",
            ":memory:",
            "--log-level",
            "WARNING",
        ]);
        let proc = Proc::spawn("secantusdb", cmd, log)?;
        wait_port(port, "SecantusDB", Duration::from_secs(60)).await?;
        Ok(proc)
    }
}
