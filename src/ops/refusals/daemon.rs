//! The daemon's and the metrics' refusals, as the user's error: a service
//! definition `daemon install` cannot write, a counter a subsystem named
//! wrongly.

use crate::daemon::{service, Refusal};
use crate::error::{code, Error};
use crate::metrics::BadCounter;

impl From<service::Invalid> for Error {
    fn from(invalid: service::Invalid) -> Error {
        let message = invalid.to_string();
        let error = match &invalid {
            service::Invalid::UnknownManager(_) => Error::invalid(code::UNKNOWN_SERVICE_MANAGER, message)
                .with_hint("baton daemon install systemd (Linux) or launchd (macOS)"),
            service::Invalid::UnusablePath(_) => Error::invalid(code::UNUSABLE_PATH, message)
                .with_hint("use a path without control characters and in UTF-8 (a symlink to it will do)"),
        };
        error.with_source(invalid)
    }
}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Error {
        let message = refusal.to_string();
        let error = match &refusal {
            Refusal::Running { .. } => Error::refused(code::DAEMON_RUNNING, message)
                .with_hint("`baton daemon status` shows it; `baton daemon stop` ends it"),
            Refusal::DefinitionExists(_) => Error::refused(code::EXISTS, message)
                .with_hint("pass --force to overwrite it, or --output <file> to write elsewhere"),
        };
        error.with_source(refusal)
    }
}

impl From<BadCounter> for Error {
    fn from(bad: BadCounter) -> Error {
        Error::invalid(code::INVALID_COUNTER, bad.to_string())
            .with_hint(
                "counter keys are 1-64 characters from a-z 0-9 _; this is a bug in the subsystem that supplied it",
            )
            .with_source(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    #[test]
    fn the_daemons_and_metrics_refusals_keep_their_codes_and_words() {
        let e = Error::from(service::Manager::parse("runit").unwrap_err());
        assert_eq!((e.code, e.kind), (code::UNKNOWN_SERVICE_MANAGER, Kind::Invalid));
        assert_eq!(e.message(), "unknown service manager \"runit\"");
        let e = Error::from(service::Invalid::UnusablePath("/a\nb".into()));
        assert_eq!((e.code, e.kind), (code::UNUSABLE_PATH, Kind::Invalid));
        assert_eq!(
            e.message(),
            format!(
                "{} cannot be written into a service definition",
                crate::term::field("/a\nb")
            )
        );
        let e = Error::from(BadCounter {
            prefix: "deliveries".into(),
            key: "Bad".into(),
        });
        assert_eq!((e.code, e.kind), (code::INVALID_COUNTER, Kind::Invalid));
        assert_eq!(e.message(), "\"Bad\" cannot name a deliveries counter");
        assert!(e.is::<BadCounter>());
        let e = Error::from(Refusal::Running {
            pid: None,
            again_secs: 2,
        });
        assert_eq!((e.code, e.kind), (code::DAEMON_RUNNING, Kind::Refused));
        assert_eq!(
            e.message(),
            "a baton daemon is already running for this repository (its pid file was deleted; it writes it again within 2s)"
        );
        let e = Error::from(Refusal::DefinitionExists("/x/baton.service".into()));
        assert_eq!(
            (e.code, e.message().as_ref()),
            (code::EXISTS, "/x/baton.service exists and says something else")
        );
    }
}
