//! `baton pool ...`: agents as files under `agents/`, load derived from claims.

use clap::Subcommand;
use serde_json::json;

use super::output::{short, short_opt, table};
use super::{doctor, Output, Session};
use crate::clock::{age, format_timestamp, Span};
use crate::error::Result;
use crate::ids::{AgentId, Role};
use crate::pool::{self, Agent};
use crate::state;
use crate::store::{message, Change, Message, Outcome};

#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// Add agents `ROLE-<n>` (numbered after every id ever used).
    Spawn {
        #[arg(long, value_parser = Role::parse)]
        role: Role,
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// Claims each agent may hold at once.
        #[arg(long, default_value_t = 1)]
        capacity: u32,
    },
    /// List agents with their load.
    List,
    /// Load, capacity and heartbeat age of every agent.
    Health {
        /// Heartbeats older than this are unhealthy (default: pool.heartbeat_timeout).
        #[arg(long, value_parser = Span::parse)]
        stale_after: Option<Span>,
    },
    /// Record that an agent is alive.
    Heartbeat {
        #[arg(value_parser = AgentId::parse)]
        id: AgentId,
    },
    /// Stop assigning new work to an agent.
    Drain {
        #[arg(value_parser = AgentId::parse)]
        id: AgentId,
    },
    /// Retire an agent (refused while it holds claims, unless --force).
    Retire {
        #[arg(value_parser = AgentId::parse)]
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
        PoolCommand::Spawn { role, count, capacity } => spawn(s, role, *count, *capacity),
        PoolCommand::List => health(s, None, false),
        PoolCommand::Health { stale_after } => health(s, *stale_after, true),
        PoolCommand::Heartbeat { id } => write_agent(s, id, "pool.heartbeat", "heartbeat", |a, _| {
            pool::heartbeat(a, s.now).map(Some)
        }),
        PoolCommand::Drain { id } => write_agent(s, id, "pool.drain", "drain", |a, _| pool::drain(a)),
        PoolCommand::Retire { id, force } => {
            write_agent(s, id, "pool.retire", "retire", |a, load| pool::retire(a, load, *force))
        }
        PoolCommand::Logs { limit } => super::repo::log_filtered(
            s,
            |m| m.get(message::OP).is_some_and(|op| op.starts_with("pool.")),
            *limit,
        ),
        PoolCommand::Doctor(args) => doctor::run_for(s, &["pool"], args),
    }
}

fn subject(id: &AgentId) -> String {
    format!("agent/{id}")
}

fn spawn(s: &Session, role: &Role, count: u32, capacity: u32) -> Result<Output> {
    let actor = s.actor()?;
    let written = s.store.update(&actor.to_string(), |snap| {
        let new = pool::spawn(&state::all_agents(snap)?, role, count, capacity, s.now)?;
        let ids: Vec<String> = new.iter().map(|a| a.id.to_string()).collect();
        let mut msg = Message::new(format!("pool: spawn {} ({role})", ids.join(", ")))
            .trailer(message::OP, "pool.spawn")
            .trailer(message::ACTOR, actor.to_string());
        for a in &new {
            msg = msg.trailer(message::SUBJECT, subject(&a.id));
        }
        let mut change = Change::new(msg);
        for a in &new {
            change.put_toml(pool::path(&a.id), a)?;
        }
        Ok(Outcome::Write(change, new))
    })?;
    let ids: Vec<String> = written.value.iter().map(|a| a.id.to_string()).collect();
    let commit = written.commit.as_ref().map(short).unwrap_or_default();
    Ok(Output::new(
        json!({"agents": written.value, "commit": short_opt(&written.commit)}),
        format!("spawned {} [{commit}]", ids.join(", ")),
    ))
}

/// Load one agent (and its load), apply `op`; `None` from `op` means no change.
fn write_agent(
    s: &Session,
    id: &AgentId,
    op_name: &str,
    verb: &str,
    op: impl Fn(&Agent, u32) -> Result<Option<Agent>>,
) -> Result<Output> {
    let actor = s.actor()?;
    let needs_load = op_name == "pool.retire";
    let written = s.store.update(&actor.to_string(), |snap| {
        let agent = state::agent(snap, id)?.ok_or_else(|| pool::no_agent(id))?;
        let load = if needs_load {
            pool::loads(&state::all_claims(snap)?).get(id).copied().unwrap_or(0)
        } else {
            0
        };
        let Some(new) = op(&agent, load)? else {
            return Ok(Outcome::Unchanged(agent));
        };
        let msg = Message::new(format!("pool: {verb} {id}"))
            .trailer(message::OP, op_name)
            .trailer(message::SUBJECT, subject(id))
            .trailer(message::ACTOR, actor.to_string());
        let mut change = Change::new(msg);
        change.put_toml(pool::path(id), &new)?;
        Ok(Outcome::Write(change, new))
    })?;
    let text = match &written.commit {
        Some(c) => format!("{verb} {id}: now {} [{}]", written.value.status.as_str(), short(c)),
        None => format!("{id} is already {} (nothing to do)", written.value.status.as_str()),
    };
    Ok(Output::new(
        json!({"op": op_name, "changed": written.commit.is_some(), "commit": short_opt(&written.commit), "agent": written.value}),
        text,
    ))
}

fn health(s: &Session, stale_after: Option<Span>, with_heartbeat: bool) -> Result<Output> {
    let snap = s.store.snapshot()?;
    let config = state::config(&snap)?;
    let agents = state::all_agents(&snap)?;
    let loads = pool::loads(&state::all_claims(&snap)?);
    let rows_data = pool::health(&agents, &loads, s.now, stale_after.or(config.pool.heartbeat_timeout));
    let mut rows = vec![["ID", "ROLE", "STATUS", "LOAD", "HEALTHY", "HEARTBEAT"]
        .map(String::from)
        .to_vec()];
    for h in &rows_data {
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
    let text = if rows_data.is_empty() {
        "no agents; add some with `baton pool spawn --role <role>`\n".to_owned()
    } else {
        table(&rows)
    };
    Ok(Output::new(json!({ "agents": rows_data }), text))
}
