//! The refusals of claim operations: who holds the claim and what the
//! asker may do about it (never "act as the owner": actor ids are not
//! authenticated, docs/decisions.md).

use super::Claim;
use crate::clock::format_timestamp;
use crate::error::Error;
use crate::ids::{Actor, ClaimId};

pub(super) fn no_claim(id: &ClaimId) -> Error {
    Error::refused("no_claim", format!("there is no claim {id}"))
        .with_hint(format!("claim it first: baton claims claim {id}"))
}

pub(super) fn held_by_other(claim: &Claim) -> Error {
    Error::refused(
        "claim_held",
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
        "not_owner",
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
        "wrong_state",
        format!("{} is {}; only {allowed} claims can be {what}", claim.id, claim.state),
    )
    .with_hint(format!("see its state with: baton claims status {}", claim.id))
}
