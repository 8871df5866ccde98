//! The one error type of baton: a kind that decides the exit code, a message
//! that says what went wrong, and a hint that says what to do about it.
//!
//! Exit codes (docs/command-handbook.md, Conventions): 0 done; 1 refused or failed; 2 invalid usage or
//! input; 3 environment problem.

use std::fmt;

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

/// A baton error: kind, a stable machine code (for `--json`), message and hint.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: Kind,
    pub code: &'static str,
    pub message: String,
    pub hint: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, code: &'static str, message: impl Into<String>) -> Self {
        Error {
            kind,
            code,
            message: message.into(),
            hint: String::new(),
        }
    }

    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Refused, code, message)
    }

    pub fn failed(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Failed, code, message)
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Invalid, code, message)
    }

    pub fn environment(code: &'static str, message: impl Into<String>) -> Self {
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

    /// An unexpected failure of git or the file system, with what we were doing.
    pub fn git(what: impl fmt::Display, err: impl fmt::Display) -> Self {
        Error::environment("git", format!("{what}: {err}"))
            .with_hint("check the repository with `git fsck` and `baton doctor`")
    }

    pub fn io(what: impl fmt::Display, err: impl fmt::Display) -> Self {
        Error::environment("io", format!("{what}: {err}")).with_hint("check permissions and free space, then retry")
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "hint": self.hint,
            }
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Attach context to results that carry foreign errors.
pub trait ResultExt<T> {
    /// Map a git/gix failure to an environment error saying what we were doing.
    fn git_context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> ResultExt<T> for std::result::Result<T, E> {
    fn git_context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::git(what(), e))
    }
}
