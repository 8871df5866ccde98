//! The refusals of claim operations, typed: what the state refuses and the
//! facts a user needs to act on it. The message is the refusal's
//! `Display`; the code, the exit code and the hint (who holds the claim and
//! what the asker may do about it — never "act as the owner": actor ids are
//! not authenticated, docs/decisions.md) are given where it becomes the
//! user's error, `ops::refusals`.

use super::reservations::Conflict;
use super::{Claim, Holding};
use crate::clock::format_timestamp;
use crate::ids::{Actor, ClaimId};

/// Why a claim operation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// There is no such claim (`no_claim`).
    #[error("there is no claim {0}")]
    NoClaim(ClaimId),
    /// A claim to show is in neither the local state nor the fetched one (`no_claim`).
    #[error("there is no claim {0}")]
    NotFound(ClaimId),
    /// The claim is only in the state fetched from `remote`, not merged
    /// here yet (`claim_not_merged`); `theirs` is the fetched claim.
    #[error(
        "there is no claim {} in the local state, but the state fetched from {remote} has it: {} by {} (state {}, generation {})",
        .theirs.id,
        if .theirs.state.is_held() { "held" } else { "last held" },
        .theirs.owner, .theirs.state, .theirs.generation
    )]
    NotMerged { remote: String, theirs: Box<Claim> },
    /// Someone else holds it, and nothing forced a takeover (`claim_held`).
    #[error(
        "{} is held by {} since {} (state {}, generation {})",
        .0.id, .0.owner, format_timestamp(&.0.created_at), .0.state, .0.generation
    )]
    Held(Box<Claim>),
    /// Only the owner may do `what` (`not_owner`).
    #[error("{} is held by {}, not by {actor}; only the owner can {what} it", .claim.id, .claim.owner)]
    NotOwner {
        claim: Box<Claim>,
        actor: Actor,
        /// The operation, as a verb ("release", "hand off").
        what: &'static str,
    },
    /// The claim's state does not allow it (`wrong_state`).
    #[error("{} is {}; only {allowed} claims can be {what}", .claim.id, .claim.state)]
    WrongState {
        claim: Box<Claim>,
        /// The operation, as a participle ("released", "handed off").
        what: String,
        /// The states that allow it.
        allowed: &'static str,
    },
    /// A handoff to the one who holds it (`handoff_to_self`).
    #[error("{id} is already held by {to}")]
    HandoffToSelf { id: ClaimId, to: Actor },
    /// Only the handoff's target may accept or reject it (`not_handoff_target`).
    #[error("{id} is being handed to {}, not to {actor}", target(.to))]
    NotHandoffTarget {
        id: ClaimId,
        to: Option<Actor>,
        actor: Actor,
    },
    /// More patterns than a claim may reserve (`too_many_patterns`).
    #[error("a claim may reserve at most {max} patterns ({asked} asked)")]
    TooManyPatterns { max: usize, asked: usize },
    /// Other claims reserve paths that meet the ones asked for
    /// (`paths_reserved`); never empty.
    #[error("cannot reserve for {id}: {}{}", .conflicts.first().map(Conflict::message).unwrap_or_default(), more(.conflicts))]
    PathsReserved { id: ClaimId, conflicts: Vec<Conflict> },
}

/// Whom a handoff goes to, as a refusal names it.
pub fn target(to: &Option<Actor>) -> String {
    to.as_ref().map(ToString::to_string).unwrap_or_else(|| "nobody".into())
}

fn more(conflicts: &[Conflict]) -> String {
    match conflicts.len() {
        0 | 1 => String::new(),
        n => format!(" (and {} more overlap(s))", n - 1),
    }
}

pub(super) fn no_claim(id: &ClaimId) -> Refusal {
    Refusal::NoClaim(id.clone())
}

pub(super) fn held_by_other(claim: &Claim) -> Refusal {
    Refusal::Held(Box::new(claim.clone()))
}

pub(super) fn not_owner(claim: &Claim, actor: &Actor, what: &'static str) -> Refusal {
    Refusal::NotOwner {
        claim: Box::new(claim.clone()),
        actor: actor.clone(),
        what,
    }
}

pub(super) fn wrong_state(claim: &Claim, what: &str, allowed: &'static str) -> Refusal {
    Refusal::WrongState {
        claim: Box::new(claim.clone()),
        what: what.to_owned(),
        allowed,
    }
}

/// A claim is no longer held as the caller held it (`claim_moved`): gone,
/// or moved on to another holding (`now` says which).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Moved {
    pub id: ClaimId,
    /// The holding the caller acted on.
    pub held: Holding,
    /// The claim as it is now; `None`: there is no such claim.
    pub now: Option<String>,
}

impl std::fmt::Display for Moved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (id, held) = (&self.id, &self.held);
        match &self.now {
            None => write!(
                f,
                "there is no claim {id}; generation {} of {} is not current",
                held.generation, held.owner
            ),
            Some(now) => write!(
                f,
                "{id} moved on: it is {now}, not held by {} at generation {}",
                held.owner, held.generation
            ),
        }
    }
}

/// Input the claims subsystem does not accept (`invalid_state`,
/// `invalid_pattern`); the hint is given where it becomes the user's error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// Not the name of a claim state.
    #[error("unknown claim state {0:?}")]
    State(String),
    /// Not a reservation pattern; `given` is shown shortened, `why` says
    /// which rule of the dialect it breaks.
    #[error("invalid path pattern {given:?}: {why}")]
    Pattern { given: String, why: String },
    /// A path (as typed) outside the work tree at `root` (`path_outside_repository`).
    #[error("{} is not inside the repository at {}", .path.display(), .root.display())]
    OutsideRepository {
        path: std::path::PathBuf,
        root: std::path::PathBuf,
    },
    /// A rejection with an empty `--reason` (`reason_required`).
    #[error("--reason must say why")]
    NoReason,
    /// `claims reserve` with neither `--paths` nor `--release-paths` (`usage`).
    #[error("claims reserve needs --paths or --release-paths")]
    NothingToReserve(ClaimId),
}
