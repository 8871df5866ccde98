//! Learn's refusals, as the user's error.

use crate::error::{code, Error};
use crate::learn::route;

impl From<route::Refusal> for Error {
    fn from(refusal: route::Refusal) -> Error {
        let message = refusal.to_string();
        let error = match refusal {
            route::Refusal::EmptyTask => Error::invalid(code::EMPTY_TASK, message)
                .with_hint("describe the task, e.g. baton learn route \"fix the flaky login test\""),
            route::Refusal::NoRoles => Error::refused(code::NO_ROLES, message)
                .with_hint("add agents first: baton pool spawn --role <role>; or set learn.keywords (docs/learn.md)"),
        };
        error.with_source(refusal)
    }
}
