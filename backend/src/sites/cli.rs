//! `beacon-admin`: register sites and manage their API keys and shared links from a shell, and
//! see whether the pipeline keeps up (`status`).
//!
//! The commands and their output live here rather than in `src/bin/beacon_admin.rs`, so tests
//! drive exactly what the binary runs ([`Cli::run`] with any writer). The output is for people;
//! `key add` prints the secret and `link add` the shared URL alone on the last line, so
//! `| tail -n1` captures it.

use std::io::Write;

use clap::{Parser, Subcommand};
use mongodb::bson::DateTime;

use super::goal_cli::{self, FunnelCommand, GoalCommand};
use super::{Site, SiteChanges, Sites};
use crate::config::Config;
use crate::import::cli::{self as import_cli, ImportCommand};
use crate::store::MongoStore;
use crate::worker::rebuild_cli::{self, RollupsCommand};

#[derive(Debug, Parser)]
#[command(
    name = "beacon-admin",
    about = "Manage Beacon's registered sites, their API keys, shared links, goals and funnels, and see the pipeline's status (configuration from the environment or .env, as the services read it)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register, inspect, change or remove sites.
    #[command(subcommand)]
    Site(SiteCommand),
    /// Create, list or revoke a site's API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Create, list or revoke a site's shared links: read-only dashboard URLs.
    #[command(subcommand)]
    Link(LinkCommand),
    /// Add, list or remove a site's goals (conversions: page views on a pattern, custom events).
    #[command(subcommand)]
    Goal(GoalCommand),
    /// Add, list or remove a site's funnels (2-8 goals in order within one visit).
    #[command(subcommand)]
    Funnel(FunnelCommand),
    /// Recompute a site's rollups from its raw events.
    #[command(subcommand)]
    Rollups(RollupsCommand),
    /// Bring in another tool's history (Plausible's CSV export) as a site's daily counters.
    #[command(subcommand)]
    Import(ImportCommand),
    /// The pipeline: events waiting in Kafka for the worker (per partition) and when a worker
    /// last stored events (KAFKA_BROKER, KAFKA_TOPIC and KAFKA_GROUP as the services read them).
    Status,
}

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Register a site. Without --public its reports need an API key.
    Add {
        id: String,
        /// Accept events only from pages on this host or its subdomains (repeatable).
        #[arg(long = "domain", value_name = "HOST")]
        domains: Vec<String>,
        /// Reports are readable without a key.
        #[arg(long)]
        public: bool,
    },
    /// List registered sites.
    List,
    /// Show one site.
    Show { id: String },
    /// Change a site: --domain replaces the whole list.
    Set {
        id: String,
        #[arg(long, value_name = "true|false")]
        public: Option<bool>,
        #[arg(long = "domain", value_name = "HOST", conflicts_with = "any_domain")]
        domains: Vec<String>,
        /// Remove every domain: accept the site's events from anywhere.
        #[arg(long)]
        any_domain: bool,
        /// Query parameters kept in stored paths, comma-separated (`q,page`); every other one
        /// is dropped. Replaces the list; `--keep-query ""` keeps none.
        #[arg(long, value_name = "NAMES")]
        keep_query: Option<String>,
        /// The IANA time zone its days and hours are cut in (`Europe/Berlin`; `UTC` to go back).
        /// Then rebuild its rollups (`rollups rebuild`) for past days to follow.
        #[arg(long, value_name = "ZONE")]
        timezone: Option<String>,
    },
    /// Unregister a site: it becomes open and public again, like any unknown site.
    Remove { id: String },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a key; it is printed once and stored only hashed.
    Add {
        site: String,
        #[arg(long)]
        label: Option<String>,
    },
    /// List a site's keys (ids, labels, dates; never secrets).
    List { site: String },
    /// Revoke a key by its id.
    Revoke { site: String, key_id: String },
}

#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// Create a shared link: a URL that opens the site's dashboard read-only for anyone who has
    /// it. Printed once; only a hash of its token is stored.
    Add {
        site: String,
        #[arg(long)]
        label: Option<String>,
        /// Where the dashboard is reached (default: DASHBOARD_URL).
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
    },
    /// List a site's shared links (ids, the start of each token, dates, labels; never tokens).
    List { site: String },
    /// Revoke a shared link by its id or its token's start as `link list` shows it.
    Revoke {
        site: String,
        #[arg(value_name = "ID|TOKEN-PREFIX")]
        link: String,
    },
}

impl Cli {
    /// Runs the command against `sites`, writing its output to `out`. Shared links are printed
    /// under `dashboard_url` (the config's `DASHBOARD_URL`) unless the command gives another.
    pub async fn run(
        self,
        config: &Config,
        store: &MongoStore,
        out: &mut dyn Write,
    ) -> anyhow::Result<()> {
        let sites = &Sites::new(store);
        match self.command {
            Command::Site(command) => site(command, sites, out).await,
            Command::Key(command) => key(command, sites, out).await,
            Command::Link(command) => link(command, sites, &config.dashboard_url, out).await,
            Command::Goal(command) => goal_cli::goal(command, sites, out).await,
            Command::Funnel(command) => goal_cli::funnel(command, sites, out).await,
            Command::Rollups(command) => rebuild_cli::run(command, config, store, out).await,
            Command::Import(command) => import_cli::run(command, store, out).await,
            Command::Status => crate::worker::status::print(config, store, out).await,
        }
    }
}

async fn site(command: SiteCommand, sites: &Sites, out: &mut dyn Write) -> anyhow::Result<()> {
    match command {
        SiteCommand::Add {
            id,
            domains,
            public,
        } => {
            let site = sites.add(&id, &domains, public).await?;
            writeln!(out, "registered site {}", site.id)?;
            describe(&site, out)?;
        }
        SiteCommand::List => {
            for site in sites.list().await? {
                writeln!(
                    out,
                    "{}\t{}\t{} keys\t{}",
                    site.id,
                    if site.public { "public" } else { "private" },
                    site.keys.len(),
                    domains_text(&site),
                )?;
            }
        }
        SiteCommand::Show { id } => describe(&sites.registered(&id).await?, out)?,
        SiteCommand::Set {
            id,
            public,
            domains,
            any_domain,
            keep_query,
            timezone,
        } => {
            let changes = SiteChanges {
                public,
                domains: (any_domain || !domains.is_empty()).then_some(domains),
                keep_query: keep_query.map(|names| {
                    let names = names.split(',').map(str::trim).filter(|n| !n.is_empty());
                    names.map(str::to_owned).collect()
                }),
                timezone: timezone.clone(),
            };
            if changes.is_empty() {
                anyhow::bail!(
                    "nothing to change: give --public, --domain, --any-domain, --keep-query or --timezone"
                );
            }
            let site = sites.update(&id, changes).await?;
            describe(&site, out)?;
            if timezone.is_some() {
                writeln!(
                    out,
                    "new events are counted in the new zone; rebuild past days with: \
                     beacon-admin rollups rebuild {id}"
                )?;
            }
        }
        SiteCommand::Remove { id } => {
            sites.remove(&id).await?;
            writeln!(out, "removed site {id}")?;
        }
    }
    Ok(())
}

async fn key(command: KeyCommand, sites: &Sites, out: &mut dyn Write) -> anyhow::Result<()> {
    match command {
        KeyCommand::Add { site, label } => {
            let key = sites.add_key(&site, label.as_deref()).await?;
            writeln!(
                out,
                "created key {} for site {site}; it is shown only this once:",
                key.id
            )?;
            writeln!(out, "{}", key.secret)?;
        }
        KeyCommand::List { site } => {
            for key in &sites.registered(&site).await?.keys {
                writeln!(
                    out,
                    "{}\t{}\t{}",
                    key.id,
                    date_text(key.created_at),
                    key.label.as_deref().unwrap_or("-"),
                )?;
            }
        }
        KeyCommand::Revoke { site, key_id } => {
            sites.revoke_key(&site, &key_id).await?;
            writeln!(out, "revoked key {key_id} of site {site}")?;
        }
    }
    Ok(())
}

async fn link(
    command: LinkCommand,
    sites: &Sites,
    dashboard_url: &str,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        LinkCommand::Add {
            site,
            label,
            base_url,
        } => {
            let base = base_url.as_deref().unwrap_or(dashboard_url);
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                anyhow::bail!("--base-url must start with http:// or https://");
            }
            let link = sites.add_link(&site, label.as_deref()).await?;
            writeln!(
                out,
                "created shared link {} for site {site}: anyone with this URL can read its reports; it is shown only this once:",
                link.id
            )?;
            writeln!(out, "{}", super::share_url(base, &site, &link.secret))?;
        }
        LinkCommand::List { site } => {
            for link in &sites.registered(&site).await?.links {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}",
                    link.id,
                    link.token_prefix(),
                    date_text(link.created_at),
                    link.label.as_deref().unwrap_or("-"),
                )?;
            }
        }
        LinkCommand::Revoke { site, link } => {
            let id = sites.revoke_link(&site, &link).await?;
            writeln!(out, "revoked shared link {id} of site {site}")?;
        }
    }
    Ok(())
}

fn describe(site: &Site, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "site:    {}", site.id)?;
    writeln!(out, "public:  {}", site.public)?;
    writeln!(out, "domains: {}", domains_text(site))?;
    let kept = match site.keep_query.is_empty() {
        true => "(none kept)".to_owned(),
        false => site.keep_query.join(","),
    };
    writeln!(out, "query:   {kept}")?;
    writeln!(
        out,
        "zone:    {}",
        site.timezone.as_deref().unwrap_or("UTC")
    )?;
    writeln!(out, "keys:    {}", site.keys.len())?;
    writeln!(out, "links:   {}", site.links.len())?;
    writeln!(out, "created: {}", date_text(site.created_at))
}

fn domains_text(site: &Site) -> String {
    if site.domains.is_empty() {
        "(any)".to_owned()
    } else {
        site.domains.join(",")
    }
}

fn date_text(date: Option<DateTime>) -> String {
    date.and_then(|d| d.try_to_rfc3339_string().ok())
        .unwrap_or_else(|| "-".to_owned())
}
