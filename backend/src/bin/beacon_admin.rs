//! `beacon-admin`: manage registered sites, their API keys and shared links, and see the
//! pipeline's status (see `beacon::sites::cli`).
//!
//! Thin on purpose: parse, load the same [`Config`] as the services (so `MONGO_URL` means the
//! same database), run. Errors are printed by `anyhow` and exit with status 1.

#![forbid(unsafe_code)]

use beacon::config::Config;
use beacon::sites::cli::Cli;
use beacon::store::MongoStore;
use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load()?;
    let store = MongoStore::connect(&config.mongo_url).await?;
    let mut out = std::io::stdout().lock();
    cli.run(&config, &store, &mut out).await
}
