//! `config get|set`'s refusals, as the user's error: an unknown key, a
//! value the key cannot take (with a value that would do as the hint).

use crate::config::{Invalid, KEYS};
use crate::error::{code, with_cause, Error};

impl From<Invalid> for Error {
    fn from(invalid: Invalid) -> Error {
        use Invalid::*;
        let value = |hint: String| Error::invalid(code::INVALID_VALUE, with_cause(&invalid)).with_hint(hint);
        let error = match &invalid {
            UnknownKey(_) => {
                let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
                Error::invalid(code::UNKNOWN_KEY, invalid.to_string())
                    .with_hint(format!("known keys: {}", known.join(", ")))
            }
            NotABool { key, .. } => value(format!("baton config set {key} true")),
            NotACount { key, .. } => value(format!("baton config set {key} 3")),
            NotARemote(_) => value("use the name of a git remote, such as origin".into()),
            // The duration's own refusal, said after the key.
            Duration { key, duration } => Error::from((**duration).clone()).context(key),
            NotInline { key, .. } => value(format!("baton config set {key} {}", Invalid::example(key))),
            Glob { key, .. } => value(format!(
                "write globs, comma-separated: baton config set {key} \"{}\"",
                Invalid::example(key)
            )),
            Value { .. } => Error::invalid(code::INVALID_VALUE, invalid.to_string()),
            Learn(learn) => return learn.clone().into(),
        };
        error.with_source(invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::error::Kind;

    fn refused(key: &str, raw: &str) -> (crate::error::Code, Kind, String, String) {
        let e = Error::from(Config::default().with(key, raw).unwrap_err());
        (e.code, e.kind, e.message().into_owned(), e.hint)
    }

    #[test]
    fn a_config_refusal_keeps_its_code_words_and_cause() {
        let (code, kind, message, hint) = refused("nope.key", "1");
        assert_eq!(
            (code, kind, message.as_str()),
            (code::UNKNOWN_KEY, Kind::Invalid, "unknown config key \"nope.key\"")
        );
        assert!(hint.starts_with("known keys: claims."), "{hint}");
        assert_eq!(
            refused("sync.auto", "yes"),
            (
                code::INVALID_VALUE,
                Kind::Invalid,
                "sync.auto must be true or false, not \"yes\"".into(),
                "baton config set sync.auto true".into()
            )
        );
        let humantime = humantime::parse_duration("soon").unwrap_err();
        assert_eq!(
            refused("claims.stale_after", "soon"),
            (
                code::INVALID_DURATION,
                Kind::Invalid,
                format!("claims.stale_after: \"soon\" is not a duration ({humantime})"),
                "write a duration from 1s to 10y, such as 90s, 30m, 48h or 7d".into()
            )
        );
        let globset = crate::glob::glob("[", false).unwrap_err();
        assert_eq!(
            refused("workflow.secret_env", "*KEY*,["),
            (
                code::INVALID_VALUE,
                Kind::Invalid,
                format!("workflow.secret_env: \"[\" is not a glob pattern ({globset})"),
                "write globs, comma-separated: baton config set workflow.secret_env \"*TOKEN*,*SECRET*,*KEY*\"".into()
            )
        );
        assert_eq!(
            refused("workflow.allow", "cargo [").3,
            "write globs, comma-separated: baton config set workflow.allow \"cargo *,{make,just} *\""
        );
        let (_, _, message, hint) = refused("learn.keywords", "[1]");
        assert_eq!(
            message,
            "learn.keywords must be a TOML table of role = [keywords]: got a array"
        );
        assert_eq!(
            hint,
            r#"baton config set learn.keywords '{ reviewer = ["review", "audit"] }'"#
        );
        assert_eq!(
            refused("learn.rules", "{}").3,
            r#"baton config set learn.rules '[{ id = "git.reset-hard", level = "medium" }]'"#
        );
        assert_eq!(refused("learn.escalate_after", "0").0, code::INVALID_LEARN_POLICY);
    }
}
