//! Input the leaf modules refuse as invalid (ids, times and durations,
//! globs), as the user's error: the code, and a hint that shows the form
//! that is accepted.

use crate::error::{code, Error};
use crate::ids;

impl From<ids::Invalid> for Error {
    fn from(invalid: ids::Invalid) -> Error {
        let (message, form) = (invalid.to_string(), invalid.form());
        let error = match &invalid {
            ids::Invalid::Id { .. } => Error::invalid(code::INVALID_ID, message).with_hint(form),
            ids::Invalid::RunId { .. } => Error::invalid(code::INVALID_RUN_ID, message)
                .with_hint(format!("{form}; `baton workflow list` shows them")),
            ids::Invalid::Actor { .. } => Error::invalid(code::INVALID_ACTOR, message).with_hint(form),
        };
        error.with_source(invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;
    use crate::ids::{Actor, ClaimId, RunId, ACTOR_FORM, ID_FORM, RUN_ID_FORM};

    /// Each refusal as the user reads it: code, exit code, message, hint.
    fn said(e: Error) -> (crate::error::Code, Kind, String, String) {
        (e.code, e.kind, e.message().into_owned(), e.hint)
    }

    #[test]
    fn an_invalid_id_keeps_its_code_and_words() {
        let long = "x/".repeat(40);
        assert_eq!(
            said(ClaimId::parse(&long).unwrap_err().into()),
            (
                code::INVALID_ID,
                Kind::Invalid,
                format!("invalid claim id {:?}", format!("{}…", &long[..60])),
                format!("claim ids are {ID_FORM}")
            )
        );
        assert_eq!(
            said(RunId::parse("wf-x").unwrap_err().into()),
            (
                code::INVALID_RUN_ID,
                Kind::Invalid,
                "invalid run id \"wf-x\"".into(),
                format!("run ids are {RUN_ID_FORM}; `baton workflow list` shows them")
            )
        );
        let e = Error::from(Actor::parse("robot:x").unwrap_err());
        assert!(e.is::<ids::Invalid>());
        assert_eq!(
            said(e),
            (
                code::INVALID_ACTOR,
                Kind::Invalid,
                "invalid actor \"robot:x\"".into(),
                format!("actors are {ACTOR_FORM}")
            )
        );
    }
}
