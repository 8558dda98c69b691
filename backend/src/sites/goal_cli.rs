//! `beacon-admin goal` and `beacon-admin funnel`: a registered site's goals and funnels.

use std::io::Write;

use clap::{ArgGroup, Args, Subcommand};

use super::goals::{Funnel, Goal};
use super::Sites;

#[derive(Debug, Subcommand)]
pub enum GoalCommand {
    /// Add a goal: page views on a path pattern, or a custom event by name.
    Add(GoalArgs),
    /// List a site's goals.
    List { site: String },
    /// Remove a goal, named as it was added.
    Remove(GoalArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("goal").required(true).args(["page", "event"])))]
pub struct GoalArgs {
    pub site: String,
    /// Page views whose path matches (`/thanks`, `/blog/*`: `*` is any text but `/`, `**` any).
    #[arg(long, value_name = "PATTERN")]
    pub page: Option<String>,
    /// Custom events with this name (`signup`).
    #[arg(long, value_name = "NAME")]
    pub event: Option<String>,
}

impl GoalArgs {
    fn goal(&self) -> anyhow::Result<Goal> {
        Ok(match (&self.page, &self.event) {
            (Some(path), _) => Goal::page(path)?,
            (None, Some(name)) => Goal::event(name)?,
            (None, None) => anyhow::bail!("give --page or --event"),
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum FunnelCommand {
    /// Add a funnel: 2 to 8 steps, in order, within one visit.
    Add {
        site: String,
        name: String,
        /// A step: `page:<path pattern>` or `event:<name>` (repeat, in order).
        #[arg(long = "step", value_name = "STEP", required = true)]
        steps: Vec<String>,
    },
    /// List a site's funnels.
    List { site: String },
    /// Remove a funnel by name.
    Remove { site: String, name: String },
}

pub async fn goal(command: GoalCommand, sites: &Sites, out: &mut dyn Write) -> anyhow::Result<()> {
    match command {
        GoalCommand::Add(args) => {
            let goal = args.goal()?;
            sites.add_goal(&args.site, goal.clone()).await?;
            writeln!(
                out,
                "added goal {} to site {}",
                goal.display_name(),
                args.site
            )?;
        }
        GoalCommand::List { site } => {
            for goal in &sites.registered(&site).await?.goals {
                writeln!(out, "{}", goal.display_name())?;
            }
        }
        GoalCommand::Remove(args) => {
            let goal = args.goal()?;
            if !sites.remove_goal(&args.site, &goal).await? {
                anyhow::bail!("site `{}` has no goal {}", args.site, goal.display_name());
            }
            writeln!(
                out,
                "removed goal {} from site {}",
                goal.display_name(),
                args.site
            )?;
        }
    }
    Ok(())
}

pub async fn funnel(
    command: FunnelCommand,
    sites: &Sites,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        FunnelCommand::Add { site, name, steps } => {
            let steps = steps
                .iter()
                .map(|s| Goal::parse_step(s))
                .collect::<Result<Vec<_>, _>>()?;
            sites.add_funnel(&site, Funnel::new(&name, steps)?).await?;
            writeln!(out, "added funnel {name:?} to site {site}")?;
        }
        FunnelCommand::List { site } => {
            for funnel in &sites.registered(&site).await?.funnels {
                let steps: Vec<String> = funnel.steps.iter().map(Goal::display_name).collect();
                writeln!(out, "{}\t{}", funnel.name, steps.join(" → "))?;
            }
        }
        FunnelCommand::Remove { site, name } => {
            if !sites.remove_funnel(&site, &name).await? {
                anyhow::bail!("site `{site}` has no funnel {name:?}");
            }
            writeln!(out, "removed funnel {name:?} from site {site}")?;
        }
    }
    Ok(())
}
