//! The claims subsystem's refusals and its moved claim, as the user's error.

use crate::claims::{self, reservations::Conflict};
use crate::clock::format_timestamp;
use crate::error::{code, Error};

impl From<claims::Refusal> for Error {
    fn from(refusal: claims::Refusal) -> Error {
        use claims::Refusal::*;
        let message = refusal.to_string();
        let error = match &refusal {
            NoClaim(id) => Error::refused(code::NO_CLAIM, message)
                .with_hint(format!("claim it first: baton claims claim {id}")),
            NotFound(id) => Error::refused(code::NO_CLAIM, message)
                .with_hint(format!("claim it with: baton claims claim {id}")),
            NotMerged { theirs, .. } => Error::refused(code::CLAIM_NOT_MERGED, message).with_hint(format!(
                "run `baton sync` to merge the fetched state, then `baton claims status {}`",
                theirs.id
            )),
            Held(claim) => Error::refused(code::CLAIM_HELD, message).with_hint(format!(
                "ask {} to hand it off or release it, wait for it to expire, or take it over with --force --reason <why>",
                claim.owner
            )),
            NotOwner { claim, actor, what } => {
                let lease = match &claim.lease_until {
                    Some(t) => format!("wait for its lease to run out ({})", format_timestamp(t)),
                    None => "wait for it to go stale and expire".to_owned(),
                };
                // Only a release (and a claim, see `Held`) may be forced.
                let force = if *what == "release" {
                    format!(
                        ", or release it anyway with `baton claims release {} --force --reason <why>`",
                        claim.id
                    )
                } else {
                    String::new()
                };
                Error::refused(code::NOT_OWNER, message).with_hint(format!(
                    "ask {} to hand it off to you (`baton claims handoff {} --to {actor}`, run by them) or to release it; {lease}{force}",
                    claim.owner, claim.id
                ))
            }
            WrongState { claim, .. } => Error::refused(code::WRONG_STATE, message)
                .with_hint(format!("see its state with: baton claims status {}", claim.id)),
            HandoffToSelf { .. } => Error::invalid(code::HANDOFF_TO_SELF, message)
                .with_hint("hand it to someone else: --to human:<name> or --to agent:<name>"),
            NotHandoffTarget { to, .. } => Error::refused(code::NOT_HANDOFF_TARGET, message).with_hint(format!(
                "only {} can accept or reject this handoff",
                claims::handoff_target(to)
            )),
            TooManyPatterns { .. } => Error::invalid(code::TOO_MANY_PATTERNS, message)
                .with_hint("reserve a directory (src/store/) or a glob (src/**/*.rs) instead of many files"),
            PathsReserved { conflicts, .. } => Error::refused(code::PATHS_RESERVED, message).with_hint(paths_hint(conflicts)),
        };
        error.with_source(refusal)
    }
}

fn paths_hint(conflicts: &[Conflict]) -> String {
    let Some(first) = conflicts.first() else {
        return String::new();
    };
    format!(
        "ask {} to hand off or release {} (or reserve disjoint paths, or --shared where both are shared); \
         take the paths over with --force --reason <why>",
        first.holder, first.claim
    )
}

impl From<claims::Invalid> for Error {
    fn from(invalid: claims::Invalid) -> Error {
        let message = invalid.to_string();
        let error = match &invalid {
            claims::Invalid::State(_) => {
                let all: Vec<&str> = claims::ClaimState::ALL.iter().map(|s| s.as_str()).collect();
                Error::invalid(code::INVALID_STATE, message).with_hint(format!("states are {}", all.join(", ")))
            }
            claims::Invalid::Pattern { .. } => Error::invalid(code::INVALID_PATTERN, message)
                .with_hint("patterns are repository-relative paths or globs: src/store/, docs/*.md, src/**/mod.rs"),
            claims::Invalid::OutsideRepository { .. } => Error::invalid(code::PATH_OUTSIDE_REPOSITORY, message)
                .with_hint("name files of this repository's work tree"),
            claims::Invalid::NoReason => Error::invalid(code::REASON_REQUIRED, message)
                .with_hint("baton claims reject ID --reason \"not my area\""),
            claims::Invalid::NothingToReserve(id) => Error::invalid(code::USAGE, message)
                .with_hint(format!("baton claims reserve {id} --paths 'src/store/**'")),
        };
        error.with_source(invalid)
    }
}

impl From<claims::Moved> for Error {
    fn from(moved: claims::Moved) -> Error {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::reservations::Pattern;
    use crate::error::Kind;

    #[test]
    fn invalid_claims_input_keeps_its_code_and_words() {
        let e = Error::from(claims::ClaimState::parse("done").unwrap_err());
        assert_eq!((e.code, e.kind), (code::INVALID_STATE, Kind::Invalid));
        assert_eq!(
            (e.message().as_ref(), e.hint.as_str()),
            (
                "unknown claim state \"done\"",
                "states are active, paused, blocked, handoff_pending, completed, expired"
            )
        );
        let e = Error::from(Pattern::parse("/etc").unwrap_err());
        assert!(e.is::<claims::Invalid>());
        assert_eq!((e.code, e.kind), (code::INVALID_PATTERN, Kind::Invalid));
        assert_eq!(
            (e.message().as_ref(), e.hint.as_str()),
            (
                "invalid path pattern \"/etc\": it is absolute; patterns are relative to the repository root",
                "patterns are repository-relative paths or globs: src/store/, docs/*.md, src/**/mod.rs"
            )
        );
    }

    #[test]
    fn the_claims_refusals_ops_once_built_keep_their_words() {
        let id = crate::ids::ClaimId::parse("T-1").unwrap();
        let e = Error::from(claims::Refusal::NotFound(id.clone()));
        assert_eq!(
            (e.code, e.message().as_ref(), e.hint.as_str()),
            (
                code::NO_CLAIM,
                "there is no claim T-1",
                "claim it with: baton claims claim T-1"
            )
        );
        let theirs = crate::claims::fixtures::claim("T-1", claims::ClaimState::Active, None);
        let e = Error::from(claims::Refusal::NotMerged {
            remote: "origin".into(),
            theirs: Box::new(theirs.clone()),
        });
        assert_eq!(e.code, code::CLAIM_NOT_MERGED);
        assert_eq!(
            e.message(),
            format!(
                "there is no claim T-1 in the local state, but the state fetched from origin has it: held by agent:alice (state {}, generation {})",
                theirs.state, theirs.generation
            )
        );
        assert_eq!(
            e.hint,
            "run `baton sync` to merge the fetched state, then `baton claims status T-1`"
        );
        let e = Error::from(claims::Invalid::NoReason);
        assert_eq!(
            (e.code, e.kind, e.message().as_ref()),
            (code::REASON_REQUIRED, Kind::Invalid, "--reason must say why")
        );
        let e = Error::from(claims::Invalid::OutsideRepository {
            path: "../x".into(),
            root: "/r".into(),
        });
        assert_eq!(
            (e.code, e.message().as_ref(), e.hint.as_str()),
            (
                code::PATH_OUTSIDE_REPOSITORY,
                "../x is not inside the repository at /r",
                "name files of this repository's work tree"
            )
        );
        let e = Error::from(claims::Invalid::NothingToReserve(id));
        assert_eq!(
            (e.code, e.hint.as_str()),
            (code::USAGE, "baton claims reserve T-1 --paths 'src/store/**'")
        );
    }
}
