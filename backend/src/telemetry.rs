//! Log setup, shared by the three services: `RUST_LOG` filters, `LOG_FORMAT` picks text or JSON.

use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

/// Installs the global subscriber. Defaults to `info` for Beacon and `warn` for dependencies.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(
            "warn,beacon=info,post_service=info,worker=info,report_service=info,tower_http=info",
        )
    });
    let builder = fmt().with_env_filter(filter).with_target(true);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
