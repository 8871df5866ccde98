//! A claim as listings see it: the fields `claims list` and `claims status`
//! filter, sort and show, and the claim as `--json` prints it. Rows come
//! from the machine-local read index (`ops::index`) or straight from the
//! claim files; either way they are made by [`Row::of`], so what a listing
//! shows is decided by one function whatever supplied the rows.

use super::{Claim, ClaimState};
use crate::clock::Timestamp;
use crate::ids::{Actor, AgentId, ClaimId};

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: ClaimId,
    pub state: ClaimState,
    pub owner: Actor,
    pub agent: Option<AgentId>,
    pub handoff_to: Option<Actor>,
    pub generation: u64,
    pub updated_at: Timestamp,
    /// The whole claim as one pretty-printed JSON document, exactly as
    /// `serde_json` prints it (kept so listing thousands of claims never
    /// parses or serializes them again).
    pub json: String,
}

impl Row {
    pub fn of(claim: &Claim) -> Row {
        // Through a `Value`, as `json!` would put it into a document.
        let json = serde_json::to_value(claim)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_default();
        Row {
            id: claim.id.clone(),
            state: claim.state,
            owner: claim.owner.clone(),
            agent: claim.agent.clone(),
            handoff_to: claim.handoff_to.clone(),
            generation: claim.generation,
            updated_at: claim.updated_at,
            json,
        }
    }

    /// As [`Claim::is_held_by`].
    pub fn is_held_by(&self, actor: &Actor) -> bool {
        self.state.is_held() && &self.owner == actor
    }
}
