//! The refusals of delivery phases, typed: the message is the refusal's
//! `Display`; the code, exit code and hint are given where it becomes the
//! user's error (`ops::refusals`). A claim that moved on, or a claim
//! transition the claim refused, stays the claims subsystem's own failure.

use super::Phase;
use crate::claims;
use crate::ids::{Actor, ClaimId, RunId};
use crate::workflow::DEFINITIONS_DIR;

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
    /// No delivery has this id (`no_delivery`).
    #[error("there is no delivery {0}")]
    NoDelivery(RunId),
    /// A resume without `--run-id`, and the actor has no unfinished delivery (`nothing_to_resume`).
    #[error("{0} has no unfinished delivery")]
    NothingToResume(Actor),
    /// A workflow given by a path outside the definitions directory (`workflow_not_named`).
    #[error("{0} is not a workflow of this repository's {DEFINITIONS_DIR}/")]
    NotNamed(String),
    /// `--handoff-to` names the actor who delivers (`handoff_to_self`).
    #[error("--handoff-to names the actor who delivers")]
    HandoffToSelf,
    /// The delivery's claim does not carry it (`not_claims_delivery`).
    #[error("the claim {issue} does not name delivery {id} as its delivery")]
    NotClaimsDelivery { id: RunId, issue: ClaimId },
    /// A recorded workflow a resume may not read (`definition_path`).
    #[error(
        "delivery {id} names its workflow as {workflow:?}, which is not a workflow of this repository's {DEFINITIONS_DIR}/"
    )]
    WorkflowOutside { id: RunId, workflow: String },
    /// The delivery reached a final phase while its workflow ran (`delivery_finished`).
    #[error(
        "delivery {id} was {phase} while its workflow ran{}; its ledger is left as it is",
        reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
    )]
    EndedWhileRunning {
        id: RunId,
        phase: Phase,
        reason: Option<String>,
    },
    /// The claim is no longer the delivery's holding.
    #[error(transparent)]
    Moved(#[from] claims::Moved),
    /// The claim refused the transition the phase makes.
    #[error(transparent)]
    Claim(#[from] claims::Refusal),
}
