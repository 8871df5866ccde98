//! The refusals of pool operations, typed: the message is the refusal's
//! `Display`; the code, exit code and hint are given where it becomes the
//! user's error (`ops::refusals`).

use super::AgentStatus;
use crate::ids::{AgentId, Role};

/// Why the pool refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No agent of the role can take work (`no_capacity`); `of_role`: how
    /// many agents the role has at all.
    #[error("{}", no_capacity(role, *of_role))]
    NoCapacity { role: Role, of_role: usize },
    /// There is no such agent (`no_agent`); `to_assign`: it was named to
    /// take a claim (the hint then says how to add one).
    #[error("there is no agent {id} in the pool")]
    NoAgent { id: AgentId, to_assign: bool },
    /// The named agent is not healthy: draining, retired, or its heartbeat
    /// is stale (`agent_unavailable`).
    #[error("agent {id} is {}{}", status.as_str(), if *status == AgentStatus::Active { " but its heartbeat is stale" } else { "" })]
    Unavailable { id: AgentId, status: AgentStatus },
    /// The named agent holds as many claims as it may (`no_capacity`).
    #[error("agent {id} is at capacity ({load}/{capacity})")]
    AtCapacity { id: AgentId, load: u32, capacity: u32 },
    /// The agent is retired (`agent_retired`).
    #[error("agent {0} is retired")]
    Retired(AgentId),
    /// The agent holds claims and nothing forced its retirement (`agent_busy`).
    #[error("agent {id} still holds {load} claim(s)")]
    Busy { id: AgentId, load: u32 },
    /// A spawn count out of 1..=1000 (`invalid_count`).
    #[error("--count must be between 1 and 1000, not {0}")]
    Count(u32),
    /// A role too long to number agents after (`invalid_id`).
    #[error("the role is too long to number agents after it: {0}")]
    RoleTooLong(crate::ids::Invalid),
    /// A capacity of 0 (`invalid_capacity`).
    #[error("--capacity must be at least 1")]
    ZeroCapacity,
}

fn no_capacity(role: &Role, of_role: usize) -> String {
    if of_role == 0 {
        format!("the pool has no agent with role {role}")
    } else {
        format!("none of the {of_role} agents with role {role} is healthy with spare capacity")
    }
}
