//! The pool's refusals, as the user's error.

use crate::error::{code, Error};
use crate::pool;

impl From<pool::Refusal> for Error {
    fn from(refusal: pool::Refusal) -> Error {
        use pool::Refusal::*;
        let message = refusal.to_string();
        let error = match &refusal {
            NoCapacity { role, .. } => Error::refused(code::NO_CAPACITY, message).with_hint(format!(
                "add capacity with `baton pool spawn --role {role}`, or release claims; `baton pool health` shows load"
            )),
            NoAgent { to_assign: true, .. } => Error::refused(code::NO_AGENT, message)
                .with_hint("see the pool with `baton pool list`, or add one with `baton pool spawn --role <role>`"),
            NoAgent { to_assign: false, .. } => {
                Error::refused(code::NO_AGENT, message).with_hint("see the pool with `baton pool list`")
            }
            Unavailable { .. } => Error::refused(code::AGENT_UNAVAILABLE, message)
                .with_hint("pick another agent, or let baton pick one: --role <role>"),
            AtCapacity { .. } => Error::refused(code::NO_CAPACITY, message)
                .with_hint("release one of its claims, or pick another agent with --role <role>"),
            Retired(_) => Error::refused(code::AGENT_RETIRED, message)
                .with_hint("spawn a new agent: baton pool spawn --role <role>"),
            Busy { id, .. } => Error::refused(code::AGENT_BUSY, message).with_hint(format!(
                "drain it and wait (`baton pool drain {id}`), release its claims, or retire it anyway with --force"
            )),
            Count(_) => Error::invalid(code::INVALID_COUNT, message).with_hint("baton pool spawn --role R --count 3"),
            // The id's own refusal, said after what was being done.
            RoleTooLong(invalid) => {
                return Error::from(invalid.clone())
                    .context("the role is too long to number agents after it")
                    .with_source(refusal)
            }
            ZeroCapacity => {
                Error::invalid(code::INVALID_CAPACITY, message).with_hint("baton pool spawn --role R --capacity 2")
            }
        };
        error.with_source(refusal)
    }
}
