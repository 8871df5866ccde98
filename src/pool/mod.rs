//! The agent pool (docs/command-handbook.md, Agent pool): agents with a role and a capacity, their
//! health, and which one gets new work. Load is never stored: it is derived
//! from the held claims that name an agent, so it cannot drift.

mod policy;
mod refusal;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::claims::{Assignment, Claim, ClaimState};
use crate::clock::{Span, Timestamp};
use crate::codec::SCHEMA;
use crate::error::Result;
use crate::finding::Finding;
use crate::ids::{AgentId, Role};

pub use policy::Policy;
pub use refusal::Refusal;

pub const DIR: &str = "agents";

pub fn path(id: &AgentId) -> String {
    format!("{DIR}/{id}.toml")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    Active,
    Draining,
    Retired,
}

impl AgentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Active => "active",
            AgentStatus::Draining => "draining",
            AgentStatus::Retired => "retired",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub schema: u32,
    pub id: AgentId,
    pub role: Role,
    pub capacity: u32,
    pub status: AgentStatus,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heartbeat: Option<Timestamp>,
    #[serde(flatten)]
    pub extra: toml::Table,
}

/// Held claims per agent.
pub type Loads = BTreeMap<AgentId, u32>;

pub fn loads<'c>(claims: impl IntoIterator<Item = &'c Claim>) -> Loads {
    loads_of(claims.into_iter().map(|c| (c.state, c.agent.as_ref())))
}

/// As [`loads`], from each claim's state and agent (a claim row has both).
pub fn loads_of<'a>(claims: impl IntoIterator<Item = (ClaimState, Option<&'a AgentId>)>) -> Loads {
    let mut out = Loads::new();
    for (state, agent) in claims {
        if let (true, Some(agent)) = (state.is_held(), agent) {
            *out.entry(agent.clone()).or_default() += 1;
        }
    }
    out
}

/// Active, and (when heartbeats are tracked) heard from within the timeout.
pub fn is_healthy(agent: &Agent, now: Timestamp, heartbeat_timeout: Option<Span>) -> bool {
    agent.status == AgentStatus::Active && heartbeat_fresh(agent, now, heartbeat_timeout)
}

fn heartbeat_fresh(agent: &Agent, now: Timestamp, timeout: Option<Span>) -> bool {
    match timeout {
        None => true,
        Some(t) => agent.last_heartbeat.unwrap_or(agent.created_at) > t.before(now),
    }
}

/// "Lowest id" as people read numbered agents: `rev-2` before `rev-10`
/// (plain string order would put `rev-10` first once a role has ten agents).
fn id_order(id: &AgentId) -> (&str, u64, &str) {
    let s = id.as_str();
    s.rsplit_once('-')
        .and_then(|(prefix, n)| Some((prefix, n.parse::<u64>().ok()?, s)))
        .unwrap_or((s, 0, s))
}

/// The least-loaded healthy agent of `role` with spare capacity (ties: lowest id).
pub fn pick(
    agents: &[Agent],
    loads: &Loads,
    role: &Role,
    now: Timestamp,
    heartbeat_timeout: Option<Span>,
) -> Result<Assignment, Refusal> {
    agents
        .iter()
        .filter(|a| &a.role == role && is_healthy(a, now, heartbeat_timeout))
        .map(|a| (loads.get(&a.id).copied().unwrap_or(0), a))
        .filter(|(load, a)| *load < a.capacity)
        .min_by_key(|&(load, a)| (load, id_order(&a.id)))
        .map(|(_, a)| Assignment {
            agent: a.id.clone(),
            role: a.role.clone(),
        })
        .ok_or_else(|| Refusal::NoCapacity {
            role: role.clone(),
            of_role: agents.iter().filter(|a| &a.role == role).count(),
        })
}

/// Check that a named agent can take one more claim.
pub fn check_assignable(
    agent: Option<&Agent>,
    id: &AgentId,
    loads: &Loads,
    now: Timestamp,
    heartbeat_timeout: Option<Span>,
) -> Result<Assignment, Refusal> {
    let agent = agent.ok_or_else(|| Refusal::NoAgent {
        id: id.clone(),
        to_assign: true,
    })?;
    if !is_healthy(agent, now, heartbeat_timeout) {
        return Err(Refusal::Unavailable {
            id: id.clone(),
            status: agent.status,
        });
    }
    let load = loads.get(id).copied().unwrap_or(0);
    if load >= agent.capacity {
        return Err(Refusal::AtCapacity {
            id: id.clone(),
            load,
            capacity: agent.capacity,
        });
    }
    Ok(Assignment {
        agent: agent.id.clone(),
        role: agent.role.clone(),
    })
}

/// New agents `R-<n>` numbered after every id ever used for the role (retired ones stay).
pub fn spawn(existing: &[Agent], role: &Role, count: u32, capacity: u32, now: Timestamp) -> Result<Vec<Agent>> {
    if count == 0 || count > 1000 {
        return Err(Refusal::Count(count).into());
    }
    if capacity == 0 {
        return Err(Refusal::ZeroCapacity.into());
    }
    let prefix = format!("{role}-");
    let highest = existing
        .iter()
        .filter_map(|a| a.id.as_str().strip_prefix(&prefix)?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    (1..=u64::from(count))
        .map(|n| {
            let id = AgentId::parse(&format!("{role}-{}", highest + n)).map_err(Refusal::RoleTooLong)?;
            Ok(Agent {
                schema: SCHEMA,
                id,
                role: role.clone(),
                capacity,
                status: AgentStatus::Active,
                created_at: now,
                last_heartbeat: Some(now),
                extra: Default::default(),
            })
        })
        .collect()
}

pub fn no_agent(id: &AgentId) -> Refusal {
    Refusal::NoAgent {
        id: id.clone(),
        to_assign: false,
    }
}

fn retired(agent: &Agent) -> Refusal {
    Refusal::Retired(agent.id.clone())
}

/// `pool heartbeat`: the agent is alive now.
pub fn heartbeat(agent: &Agent, now: Timestamp) -> Result<Agent, Refusal> {
    if agent.status == AgentStatus::Retired {
        return Err(retired(agent));
    }
    let mut a = agent.clone();
    a.last_heartbeat = Some(now);
    Ok(a)
}

/// `pool drain`: no new assignments; `None` when it already drains.
pub fn drain(agent: &Agent) -> Result<Option<Agent>, Refusal> {
    match agent.status {
        AgentStatus::Retired => Err(retired(agent)),
        AgentStatus::Draining => Ok(None),
        AgentStatus::Active => {
            let mut a = agent.clone();
            a.status = AgentStatus::Draining;
            Ok(Some(a))
        }
    }
}

/// `pool retire [--force]`: refused while the agent has load unless forced.
pub fn retire(agent: &Agent, load: u32, force: bool) -> Result<Option<Agent>, Refusal> {
    if agent.status == AgentStatus::Retired {
        return Ok(None);
    }
    if load > 0 && !force {
        return Err(Refusal::Busy {
            id: agent.id.clone(),
            load,
        });
    }
    let mut a = agent.clone();
    a.status = AgentStatus::Retired;
    Ok(Some(a))
}

/// One row of `pool health`.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub id: AgentId,
    pub role: Role,
    pub status: AgentStatus,
    pub load: u32,
    pub capacity: u32,
    pub last_heartbeat: Option<Timestamp>,
    pub heartbeat_age_secs: Option<i64>,
    pub healthy: bool,
}

pub fn health(agents: &[Agent], loads: &Loads, now: Timestamp, stale_after: Option<Span>) -> Vec<Health> {
    agents
        .iter()
        .map(|a| Health {
            id: a.id.clone(),
            role: a.role.clone(),
            status: a.status,
            load: loads.get(&a.id).copied().unwrap_or(0),
            capacity: a.capacity,
            last_heartbeat: a.last_heartbeat,
            heartbeat_age_secs: a.last_heartbeat.map(|t| (now - t).num_seconds().max(0)),
            healthy: is_healthy(a, now, stale_after),
        })
        .collect()
}

/// Pool invariants for doctor.
pub fn check(
    agents: &[(String, Agent)],
    loads: &Loads,
    now: Timestamp,
    heartbeat_timeout: Option<Span>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut known = BTreeSet::new();
    for (found_at, a) in agents {
        known.insert(a.id.clone());
        if found_at != &path(&a.id) {
            out.push(
                Finding::error(
                    "pool.layout",
                    format!("{found_at} holds agent {} which belongs at {}", a.id, path(&a.id)),
                )
                .at(found_at),
            );
        }
        let load = loads.get(&a.id).copied().unwrap_or(0);
        if a.status == AgentStatus::Retired && load > 0 {
            out.push(
                Finding::error(
                    "pool.retired_load",
                    format!("retired agent {} still holds {load} claim(s)", a.id),
                )
                .hint(format!(
                    "release or hand off its claims: baton claims list --agent {}",
                    a.id
                ))
                .at(found_at),
            );
        }
        if load > a.capacity {
            out.push(
                Finding::warn(
                    "pool.capacity",
                    format!("agent {} holds {load} claims, over its capacity {}", a.id, a.capacity),
                )
                .hint(format!("release some: baton claims list --agent {}", a.id))
                .at(found_at),
            );
        }
        if a.status == AgentStatus::Active && !heartbeat_fresh(a, now, heartbeat_timeout) {
            out.push(
                Finding::warn(
                    "pool.heartbeat",
                    format!("agent {} has not sent a heartbeat within pool.heartbeat_timeout", a.id),
                )
                .hint(format!(
                    "the agent should run `baton pool heartbeat {}`; drain it if it is gone",
                    a.id
                ))
                .at(found_at),
            );
        }
    }
    if agents.is_empty() {
        out.push(Finding::ok("pool.agents", "no agents in the pool"));
    } else if out.is_empty() {
        out.push(Finding::ok(
            "pool.agents",
            format!("{} agent(s), load within capacity", agents.len()),
        ));
    }
    out
}

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_timestamp;
    use crate::error::{code, Error};

    fn now() -> Timestamp {
        parse_timestamp("2026-01-01T00:00:00Z").unwrap()
    }

    fn role(s: &str) -> Role {
        Role::parse(s).unwrap()
    }

    #[test]
    fn spawn_numbers_after_retired_ids() {
        let first = spawn(&[], &role("rev"), 2, 1, now()).unwrap();
        assert_eq!(
            first.iter().map(|a| a.id.to_string()).collect::<Vec<_>>(),
            ["rev-1", "rev-2"]
        );
        let mut all = first.clone();
        all[1].status = AgentStatus::Retired;
        let next = spawn(&all, &role("rev"), 1, 1, now()).unwrap();
        assert_eq!(next[0].id.as_str(), "rev-3");
        assert_eq!(spawn(&all, &role("rev"), 0, 1, now()).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn pick_takes_least_loaded_then_lowest_id() {
        let agents = spawn(&[], &role("rev"), 3, 2, now()).unwrap();
        let mut loads = Loads::new();
        assert_eq!(
            pick(&agents, &loads, &role("rev"), now(), None).unwrap().agent.as_str(),
            "rev-1"
        );
        loads.insert(agents[0].id.clone(), 1);
        assert_eq!(
            pick(&agents, &loads, &role("rev"), now(), None).unwrap().agent.as_str(),
            "rev-2"
        );
        for a in &agents {
            loads.insert(a.id.clone(), 2);
        }
        assert_eq!(
            Error::from(pick(&agents, &loads, &role("rev"), now(), None).unwrap_err()).code,
            code::NO_CAPACITY
        );
        assert_eq!(
            Error::from(pick(&agents, &Loads::new(), &role("ops"), now(), None).unwrap_err()).code,
            code::NO_CAPACITY
        );
    }

    #[test]
    fn unhealthy_and_draining_agents_get_no_work() {
        let mut agents = spawn(&[], &role("rev"), 2, 1, now()).unwrap();
        agents[0].status = AgentStatus::Draining;
        let later = parse_timestamp("2026-01-01T01:00:00Z").unwrap();
        let timeout = Some(Span::parse("10m").unwrap());
        assert_eq!(
            pick(&agents, &Loads::new(), &role("rev"), now(), None)
                .unwrap()
                .agent
                .as_str(),
            "rev-2"
        );
        assert!(pick(&agents, &Loads::new(), &role("rev"), later, timeout).is_err());
        agents[1] = heartbeat(&agents[1], later).unwrap();
        assert!(pick(&agents, &Loads::new(), &role("rev"), later, timeout).is_ok());
    }

    #[test]
    fn retire_refuses_loaded_agents_unless_forced() {
        let a = &spawn(&[], &role("rev"), 1, 1, now()).unwrap()[0];
        assert_eq!(Error::from(retire(a, 1, false).unwrap_err()).code, code::AGENT_BUSY);
        assert_eq!(retire(a, 1, true).unwrap().unwrap().status, AgentStatus::Retired);
        assert!(heartbeat(&retire(a, 0, false).unwrap().unwrap(), now()).is_err());
    }
}
