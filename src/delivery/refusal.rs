//! The refusals of delivery phases, typed: the message is the refusal's
//! `Display`; the code, exit code and hint are given where it becomes the
//! user's error (`ops::refusals`). A claim that moved on, or a claim
//! transition the claim refused, stays the claims subsystem's own failure.

use super::Phase;
use crate::claims;
use crate::ids::{Actor, ClaimId, RunId};

/// Why a delivery phase was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// The delivery is finished; `what` it would have been (`delivery_finished`).
    #[error("delivery {id} is {phase}; it cannot be {what}")]
    Finished {
        id: RunId,
        phase: Phase,
        what: &'static str,
    },
    /// The claim carries another unfinished delivery of its holding (`delivery_active`).
    #[error("{claim} carries delivery {delivery}, which is {phase} for {owner}")]
    Active {
        claim: ClaimId,
        delivery: RunId,
        phase: Phase,
        owner: Actor,
    },
    /// The delivery already runs this workflow run (`delivery_running`).
    #[error("delivery {id} is already running {run}")]
    AlreadyRunning { id: RunId, run: RunId },
    /// The delivery's workflow is running (`delivery_running`).
    #[error("delivery {0} is running its workflow")]
    Running(RunId),
    /// Only a failed delivery can be closed (`wrong_phase`).
    #[error("delivery {id} is {phase}; only a failed delivery can be closed")]
    NotFailed { id: RunId, phase: Phase },
    /// Only the delivery's owner acts on it (`not_owner`).
    #[error("delivery {id} acts for {owner}, not for {actor}")]
    NotOwner {
        id: RunId,
        owner: Actor,
        actor: Actor,
        issue: ClaimId,
    },
    /// The claim is no longer the delivery's holding.
    #[error(transparent)]
    Moved(#[from] claims::Moved),
    /// The claim refused the transition the phase makes.
    #[error(transparent)]
    Claim(#[from] claims::Refusal),
}
