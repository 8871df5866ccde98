//! Claims as their files would hold them, for the unit tests of claims and
//! of the subsystems above it (test builds only).

use super::{Claim, ClaimState};
use crate::codec::SCHEMA;
use crate::ids::AgentId;
use crate::testing::{actor, claim_id, t0};

/// A claim held by `agent:alice` since [`T0`] at generation 1 (offered to
/// `agent:bob` when `handoff_pending`), on pool agent `agent` if given;
/// tests set other fields with struct update syntax.
pub fn claim(id: &str, state: ClaimState, agent: Option<&str>) -> Claim {
    Claim {
        schema: SCHEMA,
        id: claim_id(id),
        state,
        owner: actor("agent:alice"),
        agent: agent.map(|a| AgentId::parse(a).unwrap()),
        role: None,
        generation: 1,
        created_at: t0(),
        updated_at: t0(),
        lease_until: None,
        handoff_to: (state == ClaimState::HandoffPending).then(|| actor("agent:bob")),
        handoff_note: None,
        reason: None,
        note: None,
        delivery: None,
        reservations: Vec::new(),
        extra: Default::default(),
    }
}
