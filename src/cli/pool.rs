//! `baton pool ...`: arguments, and the rendering of what
//! [`crate::ops::pool`] did.

use clap::Subcommand;

use super::doctor;
use super::output::{published, short, table, Output};
use crate::clock::{age, format_timestamp, Span};
use crate::error::Result;
use crate::ids::{AgentId, Role};
use crate::messages::{self, commit_id};
use crate::ops::pool::{self as op, AgentOp};
use crate::ops::repo::LogFilter;
use crate::ops::Session;
use crate::pool::Health;

#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// Add agents `ROLE-<n>` (numbered after every id ever used).
    Spawn {
        #[arg(long, value_parser = super::typed(Role::parse))]
        role: Role,
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// Claims each agent may hold at once.
        #[arg(long, default_value_t = 1)]
        capacity: u32,
        /// Publish right away (sync before and after): ids are numbered after the remote's agents.
        #[arg(long)]
        sync: bool,
    },
    /// List agents with their load.
    List,
    /// Load, capacity and heartbeat age of every agent.
    Health {
        /// Heartbeats older than this are unhealthy (default: pool.heartbeat_timeout).
        #[arg(long, value_parser = super::typed(Span::parse))]
        stale_after: Option<Span>,
    },
    /// Record that an agent is alive.
    Heartbeat {
        #[arg(value_parser = super::typed(AgentId::parse))]
        id: AgentId,
    },
    /// Stop assigning new work to an agent.
    Drain {
        #[arg(value_parser = super::typed(AgentId::parse))]
        id: AgentId,
    },
    /// Retire an agent (refused while it holds claims, unless --force).
    Retire {
        #[arg(value_parser = super::typed(AgentId::parse))]
        id: AgentId,
        #[arg(long)]
        force: bool,
    },
    /// Pool history, from the state commits.
    Logs {
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Pool checks (same as `baton doctor pool`).
    Doctor(doctor::SubsystemDoctorArgs),
}

pub fn run(s: &Session, cmd: &PoolCommand) -> Result<Output> {
    match cmd {
        PoolCommand::Spawn {
            role,
            count,
            capacity,
            sync,
        } => {
            let unpublished = op::unpublished_spawn(s, *sync)?;
            let applied = op::spawn_published(s, role, *count, *capacity, *sync)?;
            let ids: Vec<String> = applied.value.iter().map(|a| a.id.to_string()).collect();
            let commit = applied.commit.as_ref().map(short).unwrap_or_default();
            let mut warnings = Vec::new();
            if let Some(remote) = unpublished {
                let warning = format!(
                    "{} numbered from this clone's state only: another machine spawning role {role} before \
                     the next `baton sync` may pick the same ids; with a shared remote ({remote}) spawn with \
                     --sync (or set sync.auto = true)",
                    ids.join(", ")
                );
                eprintln!("warning: {}", crate::term::lines(&warning));
                warnings.push(warning);
            }
            let out = Output::new(
                messages::value(&messages::Spawned {
                    agents: &applied.value,
                    commit: commit_id(&applied.commit),
                    warnings,
                }),
                format!("spawned {} [{commit}]", ids.join(", ")),
            );
            Ok(published(out, &applied))
        }
        PoolCommand::List => Ok(health(s, &op::health(s, None)?, false)),
        PoolCommand::Health { stale_after } => Ok(health(s, &op::health(s, *stale_after)?, true)),
        PoolCommand::Heartbeat { id } => change_agent(s, id, AgentOp::Heartbeat),
        PoolCommand::Drain { id } => change_agent(s, id, AgentOp::Drain),
        PoolCommand::Retire { id, force } => change_agent(s, id, AgentOp::Retire(*force)),
        PoolCommand::Logs { limit } => super::repo::log(s, &LogFilter::OpPrefix("pool.".into()), *limit),
        PoolCommand::Doctor(args) => doctor::run_for(s, &["pool"], args),
    }
}

fn change_agent(s: &Session, id: &AgentId, op: AgentOp) -> Result<Output> {
    let applied = op::change_agent(s, id, op)?;
    let status = applied.value.status.as_str();
    let text = match &applied.commit {
        Some(c) => format!("{} {id}: now {status} [{}]", op.verb(), short(c)),
        None => format!("{id} is already {status} (nothing to do)"),
    };
    let out = Output::new(
        messages::value(&messages::AgentChanged {
            op: op.name(),
            changed: applied.commit.is_some(),
            commit: commit_id(&applied.commit),
            agent: &applied.value,
        }),
        text,
    );
    Ok(published(out, &applied))
}

fn health(s: &Session, agents: &[Health], with_heartbeat: bool) -> Output {
    let mut rows = vec![["ID", "ROLE", "STATUS", "LOAD", "HEALTHY", "HEARTBEAT"]
        .map(String::from)
        .to_vec()];
    for h in agents {
        rows.push(vec![
            h.id.to_string(),
            h.role.to_string(),
            h.status.as_str().into(),
            format!("{}/{}", h.load, h.capacity),
            if h.healthy { "yes" } else { "no" }.into(),
            match &h.last_heartbeat {
                Some(t) if with_heartbeat => format!("{} ago", age(s.now, *t)),
                Some(t) => format_timestamp(t),
                None => "never".into(),
            },
        ]);
    }
    let text = if agents.is_empty() {
        "no agents; add some with `baton pool spawn --role <role>`\n".to_owned()
    } else {
        table(&rows)
    };
    Output::new(messages::value(&messages::Agents { agents }), text)
}
