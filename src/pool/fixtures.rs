//! Pool agents as their files would hold them, for the unit tests of the
//! pool and of the subsystems above it (test builds only).

use super::{Agent, AgentStatus};
use crate::codec::SCHEMA;
use crate::ids::{AgentId, Role};
use crate::testing::{at, t0};

/// A pool agent registered at [`T0`] that last beat at `heartbeat`.
pub fn agent(id: &str, role: &str, capacity: u32, status: AgentStatus, heartbeat: &str) -> Agent {
    Agent {
        schema: SCHEMA,
        id: AgentId::parse(id).unwrap(),
        role: Role::parse(role).unwrap(),
        capacity,
        status,
        created_at: t0(),
        last_heartbeat: Some(at(heartbeat)),
        extra: Default::default(),
    }
}
