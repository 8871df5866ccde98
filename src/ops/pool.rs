//! Pool operations (docs/command-handbook.md, Agent pool): spawn, heartbeat, drain, retire, health,
//! and the assignment of pool capacity to a claim (`--role`, `--agent`).
//! A spawn publishes like a claim (`--sync`, `sync.auto`): synced first, so
//! new ids are numbered after the remote's agents.

use super::{sync, Applied, Session};
use crate::claims::Assignment;
use crate::clock::{Span, Timestamp};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ids::{Actor, AgentId, Role};
use crate::pool::{self, Agent, Health};
use crate::state;
use crate::store::{message, Change, Message, Snapshot, Update};

/// What a claim asks of the pool: the least-loaded healthy agent of a
/// role, or one named agent.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    pub role: Option<Role>,
    pub agent: Option<AgentId>,
}

/// Pick the pool agent for `--role` or check the one named by `--agent`,
/// against the loads of `snap` (inside the claim's own transaction, so two
/// claimants racing for the last capacity cannot both get it). An actor
/// that is itself a pool agent of the role asked for is the agent assigned
/// (`--actor agent:rev-2 ... --role rev` gets rev-2, or a refusal saying
/// why rev-2 cannot take it): the agent acting is the agent assigned.
pub fn assignment(
    snap: &Snapshot<'_>,
    config: &Config,
    now: Timestamp,
    wanted: &Wanted,
    actor: &Actor,
) -> Result<Option<Assignment>> {
    if wanted.role.is_none() && wanted.agent.is_none() {
        return Ok(None);
    }
    let timeout = config.pool.heartbeat_timeout;
    let loads = pool::loads(&state::all_claims(snap)?);
    if let (Some(role), None, Some(own)) = (&wanted.role, &wanted.agent, actor.as_agent_id()) {
        if let Some(agent) = state::agent(snap, &own)?.filter(|a| &a.role == role) {
            return pool::check_assignable(Some(&agent), &own, &loads, now, timeout)
                .map(Some)
                .map_err(Error::from);
        }
    }
    match (&wanted.role, &wanted.agent) {
        (Some(role), _) => pool::pick(&state::all_agents(snap)?, &loads, role, now, timeout)
            .map(Some)
            .map_err(Error::from),
        (None, Some(id)) => pool::check_assignable(state::agent(snap, id)?.as_ref(), id, &loads, now, timeout)
            .map(Some)
            .map_err(Error::from),
        (None, None) => Ok(None),
    }
}

/// The agent an actor is, when it is a pool agent: its claims count against it.
pub fn actor_agent(snap: &Snapshot<'_>, actor: &crate::ids::Actor) -> Result<Option<Assignment>> {
    let Some(id) = actor.as_agent_id() else {
        return Ok(None);
    };
    Ok(state::agent(snap, &id)?.map(|a| Assignment {
        agent: a.id,
        role: a.role,
    }))
}

fn subject(id: &AgentId) -> String {
    format!("agent/{id}")
}

/// `pool spawn`: new agents `ROLE-<n>`, one commit for all of them,
/// published when `sync.auto` says so.
pub fn spawn(s: &Session, role: &Role, count: u32, capacity: u32) -> Result<Applied<Vec<Agent>>> {
    spawn_published(s, role, count, capacity, false)
}

/// `pool spawn [--sync]`: like [`spawn`]; with `sync` (or `sync.auto`) it
/// syncs first, so the new ids come after every agent the remote has, and
/// after, publishing them. A spawn that lost its id to another machine
/// publishing the same one first is refused (`agent_lost`): two machines
/// never silently share one agent.
pub fn spawn_published(s: &Session, role: &Role, count: u32, capacity: u32, sync: bool) -> Result<Applied<Vec<Agent>>> {
    let publish_to = sync::publish_target(s, sync)?;
    let actor = s.actor()?;
    if let Some(remote) = &publish_to {
        sync::sync(&s.store, remote, &actor.to_string())?;
    }
    let committed = s.commit(|snap| {
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
        Ok(Update::Write(change, new))
    })?;
    let committed = s.fold_journal(committed);
    let Some(remote) = &publish_to else {
        return Ok(committed.local());
    };
    // Landed here: a failure to publish is reported with what landed.
    let applied = s.publish(committed, remote);
    if let Some(report) = &applied.published {
        let spawned = |id: &str| applied.value.iter().any(|a| a.id.as_str() == id);
        if let Some(lost) = report.lost_agents.iter().find(|l| spawned(&l.id)) {
            return Err(crate::sync::Lost::Agent {
                lost: lost.clone(),
                role: role.clone(),
            }
            .into());
        }
    }
    Ok(applied)
}

/// The remote a spawn is not published to: `sync.remote` exists, yet
/// neither `--sync` nor `sync.auto` publishes the spawn. Ids are numbered
/// from this clone's state, so another machine may pick the same ones.
pub fn unpublished_spawn(s: &Session, sync: bool) -> Result<Option<String>> {
    if sync::publish_target(s, sync)?.is_some() {
        return Ok(None);
    }
    let remote = sync::remote_name(s, None)?;
    Ok(s.store.remote_names().contains(&remote).then_some(remote))
}

/// The pool operations on one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentOp {
    Heartbeat,
    Drain,
    /// Retire; `true`: even while it holds claims.
    Retire(bool),
}

impl AgentOp {
    pub fn name(self) -> &'static str {
        match self {
            AgentOp::Heartbeat => "pool.heartbeat",
            AgentOp::Drain => "pool.drain",
            AgentOp::Retire(_) => "pool.retire",
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            AgentOp::Heartbeat => "heartbeat",
            AgentOp::Drain => "drain",
            AgentOp::Retire(_) => "retire",
        }
    }
}

/// Apply `op` to one agent as one operation; no commit when nothing changes.
pub fn change_agent(s: &Session, id: &AgentId, op: AgentOp) -> Result<Applied<Agent>> {
    let actor = s.actor()?;
    s.apply(|snap| {
        let agent = state::agent(snap, id)?.ok_or_else(|| pool::no_agent(id))?;
        let next = match op {
            AgentOp::Heartbeat => Some(pool::heartbeat(&agent, s.now)?),
            AgentOp::Drain => pool::drain(&agent)?,
            AgentOp::Retire(force) => {
                let load = pool::loads(&state::all_claims(snap)?).get(id).copied().unwrap_or(0);
                pool::retire(&agent, load, force)?
            }
        };
        let Some(next) = next else {
            return Ok(Update::Unchanged(agent));
        };
        let msg = Message::new(format!("pool: {} {id}", op.verb()))
            .trailer(message::OP, op.name())
            .trailer(message::SUBJECT, subject(id))
            .trailer(message::ACTOR, actor.to_string());
        let mut change = Change::new(msg);
        change.put_toml(pool::path(id), &next)?;
        Ok(Update::Write(change, next))
    })
}

/// Every agent with its load, capacity and heartbeat age.
pub fn health(s: &Session, stale_after: Option<Span>) -> Result<Vec<Health>> {
    let snap = s.snapshot()?;
    let agents = state::all_agents(&snap)?;
    let rows = super::index::strict_rows::<super::index::Claims>(&s.store, &snap)?;
    let loads = pool::loads_of(rows.iter().map(|r| (r.state, r.agent.as_ref())));
    let timeout = stale_after.or(s.config()?.pool.heartbeat_timeout);
    Ok(pool::health(&agents, &loads, s.now, timeout))
}

/// Every agent as stored, without loads (shell completion reads ids and
/// roles; loads would read every claim).
pub fn agents(s: &Session) -> Result<Vec<crate::pool::Agent>> {
    state::all_agents(&s.snapshot()?)
}
