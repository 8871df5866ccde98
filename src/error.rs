//! The one error type of baton, as the user sees it: a kind that decides
//! the exit code, a stable code (for `--json`, from [`code`]), a message
//! that says what went wrong, and a hint that says what to do about it.
//!
//! Inside, subsystems fail with typed errors of their own
//! (`claims::Moved`, `codec::NewerSchema`, `store::NotARepository`, gix's
//! and std's errors, ...); converting one into an [`Error`] (one `From` per
//! type, in `ops::refusals`) keeps it as the source, so callers branch on
//! the type ([`Error::is`]), never on the code, and the cause stays
//! available behind the message. A git or file-system
//! failure is kept as it came ([`Error::git`], [`Error::io`]): its text is
//! rendered only when the message is ([`Error::message`]).
//!
//! Exit codes (docs/command-handbook.md, Conventions): 0 done; 1 refused or failed; 2 invalid usage or
//! input; 3 environment problem.

pub mod code;

pub use code::Code;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// What went wrong, coarsely: enough to pick the exit code and the JSON code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The operation is valid but the state refuses it (claim held, not the owner, ...).
    Refused,
    /// Something ran and failed (doctor found errors, a push was rejected).
    Failed,
    /// The user gave us something we cannot accept (bad id, bad duration, bad flag combination).
    Invalid,
    /// The environment is not as needed (not a git repository, no state yet, corrupt state file, lock never released).
    Environment,
}

impl Kind {
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::Refused | Kind::Failed => 1,
            Kind::Invalid => 2,
            Kind::Environment => 3,
        }
    }
}

/// A typed failure kept behind an [`Error`].
pub type Source = Arc<dyn std::error::Error + Send + Sync>;

/// A baton error: kind, a stable machine code (for `--json`), message and
/// hint; and the typed failure it was made from, when there is one.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: Kind,
    pub code: Code,
    /// The message; for a failure of git or the file system, what we were
    /// doing, and the failure's own text follows it ([`Self::cause_follows`]).
    message: String,
    pub hint: String,
    source: Option<Source>,
    /// Whether the source's text is the end of the message ("writing x:
    /// denied"): set by [`Error::git`] and [`Error::io`], whose source is
    /// the cause itself, not a typed refusal the message already tells.
    cause_follows: bool,
}

/// A failure known only by what it said (git's stderr, a ref update's
/// account, a description): kept as the source of a git or file-system
/// error the way a typed failure is.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Said(pub String);

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, code: Code, message: impl Into<String>) -> Self {
        Error {
            kind,
            code,
            message: message.into(),
            hint: String::new(),
            source: None,
            cause_follows: false,
        }
    }

    /// What went wrong, as the user reads it: the message, and for a
    /// failure of git or the file system the failure's own text after it.
    pub fn message(&self) -> Cow<'_, str> {
        match (&self.source, self.cause_follows) {
            (Some(cause), true) => Cow::Owned(format!("{}: {cause}", self.message)),
            _ => Cow::Borrowed(&self.message),
        }
    }

    /// Keep `source`, the typed failure this error stands for.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// The typed failure of type `E` this error was made from, if any
    /// (searching the chain of sources).
    pub fn find<E: std::error::Error + 'static>(&self) -> Option<&E> {
        let mut next: Option<&(dyn std::error::Error + 'static)> = self.source.as_deref().map(|s| s as _);
        while let Some(e) = next {
            if let Some(found) = e.downcast_ref::<E>() {
                return Some(found);
            }
            next = e.source();
        }
        None
    }

    /// Whether this error was made from a failure of type `E`.
    pub fn is<E: std::error::Error + 'static>(&self) -> bool {
        self.find::<E>().is_some()
    }

    pub fn refused(code: Code, message: impl Into<String>) -> Self {
        Self::new(Kind::Refused, code, message)
    }

    pub fn failed(code: Code, message: impl Into<String>) -> Self {
        Self::new(Kind::Failed, code, message)
    }

    pub fn invalid(code: Code, message: impl Into<String>) -> Self {
        Self::new(Kind::Invalid, code, message)
    }

    pub fn environment(code: Code, message: impl Into<String>) -> Self {
        Self::new(Kind::Environment, code, message)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }

    /// Prefix the message with what we were doing when it happened.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }

    /// An unexpected failure of git, with what we were doing; the failure
    /// is kept as the source.
    pub fn git(what: impl fmt::Display, err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::environment(code::GIT, what.to_string())
            .with_hint("check the repository with `git fsck` and `baton doctor`")
            .caused_by(err)
    }

    /// An unexpected failure of git known only by what it said (git's
    /// stderr, a ref update's account), with what we were doing.
    pub fn git_says(what: impl fmt::Display, why: impl fmt::Display) -> Self {
        Error::git(what, Said(why.to_string()))
    }

    /// A failure of the file system, with what we were doing; the failure
    /// is kept as the source.
    pub fn io(what: impl fmt::Display, err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::environment(code::IO, what.to_string())
            .with_hint("check permissions and free space, then retry")
            .caused_by(err)
    }

    /// A failure of the file system known only by a description.
    pub fn io_says(what: impl fmt::Display, why: impl fmt::Display) -> Self {
        Error::io(what, Said(why.to_string()))
    }

    /// Keep `cause`, the failure that made this one, as the source; its
    /// text is rendered after the message ("cannot encode x: *cause*").
    pub fn caused_by(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(cause));
        self.cause_follows = true;
        self
    }

    /// The `error` object of a `--json` error document: code, message, hint.
    pub fn body(&self) -> Body<'_> {
        Body {
            code: self.code,
            message: self.message(),
            hint: &self.hint,
        }
    }

    /// The `--json` error document: `{"error": {code, message, hint}}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "error": self.body() })
    }
}

/// An error as `--json` documents carry it.
#[derive(Debug, serde::Serialize)]
pub struct Body<'a> {
    pub code: Code,
    pub message: Cow<'a, str>,
    pub hint: &'a str,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|s| s as _)
    }
}

/// A typed failure's text with its cause in parentheses after it ("\"x\"
/// is not a duration (expected number at 0)"), as validation messages show
/// the parser's account; without a cause, the text alone.
pub fn with_cause(e: &(dyn std::error::Error + 'static)) -> String {
    match e.source() {
        Some(cause) => format!("{e} ({cause})"),
        None => e.to_string(),
    }
}

/// Attach context to results that carry foreign errors.
pub trait ResultExt<T> {
    /// Map a git/gix failure to an environment error saying what we were doing.
    fn git_context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> ResultExt<T> for std::result::Result<T, E> {
    fn git_context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::git(what(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_failure_stays_behind_the_user_error() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = Error::io("writing x", io);
        assert_eq!((e.code, e.message().as_ref()), (code::IO, "writing x: denied"));
        let kept = e.find::<std::io::Error>().expect("the io error is kept");
        assert_eq!(kept.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(std::error::Error::source(&e).is_some());
        // The cause's text is rendered with the message, not copied into it:
        // context prefixes what we were doing, the cause stays last.
        assert_eq!(e.clone().context("init").message(), "init: writing x: denied");
        let said = Error::git_says("moving the ref", "locked");
        assert_eq!(said.message(), "moving the ref: locked");
        assert_eq!(said.find::<Said>().map(|s| s.0.as_str()), Some("locked"));

        // A subsystem's typed failure (as `codec::NewerSchema` is one), made
        // into the user's error the way subsystems do.
        #[derive(Debug, thiserror::Error)]
        #[error("written by a newer baton")]
        struct Newer;
        let newer = Error::environment(code::NEWER_SCHEMA, Newer.to_string()).with_source(Newer);
        assert!(newer.is::<Newer>());
        assert!(!newer.is::<std::io::Error>());
        // Context changes the message, not what it was made from.
        assert!(newer.context("reading").is::<Newer>());

        // The same code made by hand is not the typed failure: nothing
        // branches on the string.
        let by_hand = Error::environment(code::NEWER_SCHEMA, "newer");
        assert!(!by_hand.is::<Newer>());
        assert!(std::error::Error::source(&by_hand).is_none());
    }
}
