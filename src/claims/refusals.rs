//! The refusals of claim operations: who holds the claim and what the
//! asker may do about it (never "act as the owner": actor ids are not
//! authenticated, docs/decisions.md).

use super::{Claim, Holding};
use crate::clock::format_timestamp;
use crate::error::{code, Error};
use crate::ids::{Actor, ClaimId};

pub(super) fn no_claim(id: &ClaimId) -> Error {
    Error::refused(code::NO_CLAIM, format!("there is no claim {id}"))
        .with_hint(format!("claim it first: baton claims claim {id}"))
}

pub(super) fn held_by_other(claim: &Claim) -> Error {
    Error::refused(
        code::CLAIM_HELD,
        format!(
            "{} is held by {} since {} (state {}, generation {})",
            claim.id,
            claim.owner,
            format_timestamp(&claim.created_at),
            claim.state,
            claim.generation
        ),
    )
    .with_hint(format!(
        "ask {} to hand it off or release it, wait for it to expire, or take it over with --force --reason <why>",
        claim.owner
    ))
}

/// Refused: someone else holds it. The hint says what the asker may do,
/// never to act as the owner (actor ids are not authenticated: see
/// docs/decisions.md).
pub(super) fn not_owner(claim: &Claim, actor: &Actor, what: &str) -> Error {
    let lease = match &claim.lease_until {
        Some(t) => format!("wait for its lease to run out ({})", format_timestamp(t)),
        None => "wait for it to go stale and expire".to_owned(),
    };
    // Only a release (and a claim, see `held_by_other`) may be forced.
    let force = if what == "release" {
        format!(
            ", or release it anyway with `baton claims release {} --force --reason <why>`",
            claim.id
        )
    } else {
        String::new()
    };
    Error::refused(
        code::NOT_OWNER,
        format!(
            "{} is held by {}, not by {actor}; only the owner can {what} it",
            claim.id, claim.owner
        ),
    )
    .with_hint(format!(
        "ask {} to hand it off to you (`baton claims handoff {} --to {actor}`, run by them) or to release it; {lease}{force}",
        claim.owner, claim.id
    ))
}

pub(super) fn wrong_state(claim: &Claim, what: &str, allowed: &str) -> Error {
    Error::refused(
        code::WRONG_STATE,
        format!("{} is {}; only {allowed} claims can be {what}", claim.id, claim.state),
    )
    .with_hint(format!("see its state with: baton claims status {}", claim.id))
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

impl From<Moved> for Error {
    fn from(moved: Moved) -> Error {
        let id = &moved.id;
        let hint = match moved.now {
            None => format!("claim it first: baton claims claim {id}"),
            Some(_) => format!("stop acting on {id}; `baton claims log {id}` shows what happened"),
        };
        Error::refused(code::CLAIM_MOVED, moved.to_string())
            .with_hint(hint)
            .with_source(moved)
    }
}
