//! What every service binary does before its own work: load the configuration, set up
//! logging and bind its port.

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::telemetry;

/// The configuration and the bound listener of a service whose port `port` reads.
pub async fn start(port: fn(&Config) -> u16) -> anyhow::Result<(Config, TcpListener)> {
    let config = Config::load()?;
    telemetry::init(config.log_format);
    let addr = (config.bind_host, port(&config));
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {}:{}", addr.0, addr.1))?;
    Ok((config, listener))
}
