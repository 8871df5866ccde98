//! The delivery mark a claim carries: which delivery acts on its holding
//! and in which phase (docs/delivery.md). The phases are the delivery's
//! (`crate::delivery` moves between them and re-exports them as
//! `delivery::Phase`); they are defined here, beside the claim file that
//! records them, because the claim must read and write them and the
//! delivery subsystem sits above claims.

use serde::{Deserialize, Serialize};

use crate::ids::RunId;

/// The delivery acting on a holding, as the claim records it: rewritten
/// with every phase, so each phase's commit changes the claim and the
/// delivery ledger together (docs/delivery.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryMark {
    pub id: RunId,
    pub phase: DeliveryPhase,
}

/// The phases of a delivery (`crate::delivery` moves between them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryPhase {
    /// The issue is claimed for this delivery.
    Claimed,
    /// Its workflow run is under way (`workflow_run` names it).
    Running,
    /// The workflow failed; the claim stays with its owner.
    Failed,
    /// Done: the claim was released.
    Closed,
    /// Done: the claim was offered to `handoff_to`.
    HandedOff,
    /// Given up: the claim was released, `reason` says why.
    Abandoned,
    /// The claim moved on (taken over, expired, lost in a sync): the
    /// delivery stopped without touching it.
    Stopped,
}

impl DeliveryPhase {
    pub const ALL: [DeliveryPhase; 7] = [
        DeliveryPhase::Claimed,
        DeliveryPhase::Running,
        DeliveryPhase::Failed,
        DeliveryPhase::Closed,
        DeliveryPhase::HandedOff,
        DeliveryPhase::Abandoned,
        DeliveryPhase::Stopped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryPhase::Claimed => "claimed",
            DeliveryPhase::Running => "running",
            DeliveryPhase::Failed => "failed",
            DeliveryPhase::Closed => "closed",
            DeliveryPhase::HandedOff => "handed_off",
            DeliveryPhase::Abandoned => "abandoned",
            DeliveryPhase::Stopped => "stopped",
        }
    }

    /// Nothing follows a final phase.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeliveryPhase::Closed | DeliveryPhase::HandedOff | DeliveryPhase::Abandoned | DeliveryPhase::Stopped
        )
    }
}

impl std::fmt::Display for DeliveryPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
