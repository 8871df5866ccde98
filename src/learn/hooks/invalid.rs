//! What the hook protocols and `learn hooks install` do not accept: a
//! protocol or agent baton has no hooks for, a payload that is not what
//! the protocol says, a settings file that is not JSON. The message is the
//! `Display` (a parser's account is the source, shown after it in
//! parentheses); the code and hint are given where it becomes the user's
//! error (`ops::refusals`).

use super::install::Conflict;
use super::Dialect;

/// Input the hooks refuse.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    /// `--hook` names no protocol baton speaks.
    #[error("unknown hook protocol {0:?}")]
    UnknownHook(String),
    /// `learn hooks install` names no agent baton installs for.
    #[error("unknown agent {0:?}")]
    UnknownAgent(String),
    /// The payload is JSON, but not an object.
    #[error("the {} hook payload is not a JSON object", .0.as_str())]
    NotAnObject(Dialect),
    /// The payload is not JSON.
    #[error("the {} hook payload is not JSON", .agent.as_str())]
    NotJson {
        agent: Dialect,
        #[source]
        source: serde_json::Error,
    },
    /// The payload names no tool.
    #[error("the {} hook payload has no tool_name", .0.as_str())]
    NoToolName(Dialect),
    /// The payload of a shell tool has no command.
    #[error("the {} hook payload for {tool} has no tool_input.command", .agent.as_str())]
    NoCommand { agent: Dialect, tool: String },
    /// A client's settings file that is not JSON (never overwritten).
    #[error("{path} is not valid JSON")]
    Settings {
        path: String,
        #[source]
        source: serde_json::Error,
    },
}

/// Why an install did not happen: the file as it is conflicts with baton's
/// entries, or cannot be read as settings.
#[derive(Debug, thiserror::Error)]
pub enum NotInstalled {
    #[error(transparent)]
    Conflict(#[from] Conflict),
    #[error(transparent)]
    Invalid(#[from] Invalid),
}
