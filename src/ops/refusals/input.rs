//! Input the leaf modules refuse as invalid (ids, times and durations,
//! globs), as the user's error: the code, and a hint that shows the form
//! that is accepted.

use crate::clock::{BadDuration, BadNow, BadTime};
use crate::error::{code, with_cause, Error};
use crate::glob::{example, BadPattern};
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

impl From<BadTime> for Error {
    fn from(bad: BadTime) -> Error {
        Error::invalid(code::INVALID_TIME, with_cause(&bad))
            .with_hint("write times like 2026-01-31T12:00:00Z")
            .with_source(bad)
    }
}

impl From<BadNow> for Error {
    fn from(bad: BadNow) -> Error {
        Error::from(bad.0.clone())
            .context("BATON_NOW")
            .with_hint("set BATON_NOW to an RFC 3339 time such as 2026-01-31T12:00:00Z, or unset it")
            .with_source(bad)
    }
}

impl From<BadDuration> for Error {
    fn from(bad: BadDuration) -> Error {
        Error::invalid(code::INVALID_DURATION, with_cause(&bad))
            .with_hint(bad.form())
            .with_source(bad)
    }
}

impl From<BadPattern> for Error {
    fn from(bad: BadPattern) -> Error {
        let hint = format!(
            "nothing ran; fix the list: baton config set {} \"{}\"",
            bad.key,
            example(&bad.key)
        );
        Error::invalid(code::INVALID_CONFIG, with_cause(&bad))
            .with_hint(hint)
            .with_source(bad)
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

    #[test]
    fn a_bad_time_or_duration_keeps_its_code_words_and_cause() {
        use crate::clock::{parse_timestamp, Bounds, Span};
        let chrono = chrono::DateTime::parse_from_rfc3339("noon").unwrap_err();
        let e = Error::from(parse_timestamp("noon").unwrap_err());
        assert!(e.is::<chrono::ParseError>(), "the parser's account is kept");
        assert_eq!(
            said(e),
            (
                code::INVALID_TIME,
                Kind::Invalid,
                format!("\"noon\" is not an RFC 3339 time ({chrono})"),
                "write times like 2026-01-31T12:00:00Z".into()
            )
        );
        let now = Error::from(crate::clock::BadNow(parse_timestamp("noon").unwrap_err()));
        assert!(now.is::<BadTime>());
        assert_eq!(
            (now.message().as_ref(), now.hint.as_str()),
            (
                format!("BATON_NOW: \"noon\" is not an RFC 3339 time ({chrono})").as_str(),
                "set BATON_NOW to an RFC 3339 time such as 2026-01-31T12:00:00Z, or unset it"
            )
        );

        let humantime = humantime::parse_duration("soon").unwrap_err();
        assert_eq!(
            said(Span::parse_stored(" soon").unwrap_err().into()),
            (
                code::INVALID_DURATION,
                Kind::Invalid,
                format!("\" soon\" is not a duration ({humantime})"),
                "write durations like 90s, 30m, 48h or 7d".into()
            )
        );
        assert_eq!(
            said(Span::parse("soon").unwrap_err().into()).3,
            "write a duration from 1s to 10y, such as 90s, 30m, 48h or 7d"
        );
        assert_eq!(
            said(Span::parse_within(" 11y ", Bounds::WAIT).unwrap_err().into()),
            (
                code::INVALID_DURATION,
                Kind::Invalid,
                "\"11y\" is out of range: durations here are from 0s to 10y".into(),
                "write a duration from 0s to 10y, such as 90s, 30m, 48h or 7d".into()
            )
        );
    }

    #[test]
    fn a_pattern_that_is_not_a_glob_keeps_its_code_words_and_cause() {
        let globset = crate::glob::glob("cargo [", false).unwrap_err();
        let e = Error::from(crate::glob::glob_for("workflow.allow", "cargo [", false).unwrap_err());
        assert!(e.is::<globset::Error>());
        assert_eq!(
            said(e),
            (
                code::INVALID_CONFIG,
                Kind::Invalid,
                format!(
                    "workflow.allow in the shared config has a pattern that is not a glob: \"cargo [\" ({globset})"
                ),
                "nothing ran; fix the list: baton config set workflow.allow \"cargo *,make *\"".into()
            )
        );
        let e = Error::from(crate::redact::SecretNames::new(&["[".into()]).err().unwrap());
        assert!(
            e.hint.ends_with("workflow.secret_env \"*TOKEN*,*SECRET*,*KEY*\""),
            "{}",
            e.hint
        );
    }
}
