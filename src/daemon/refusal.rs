//! The refusals of `daemon start|run|install`, typed: the message is the
//! refusal's `Display`; the code and hint are given where it becomes the
//! user's error (`ops::refusals`).

use std::path::PathBuf;

/// Why a daemon operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Another daemon holds this repository's lock (`daemon_running`):
    /// `pid` when its pid file names it; else it writes the file again
    /// within `again_secs`.
    #[error("a baton daemon is already running for this repository{}", holder(*.pid, *.again_secs))]
    Running { pid: Option<u32>, again_secs: u64 },
    /// The service definition's path holds something else, and no `--force` (`exists`).
    #[error("{} exists and says something else", .0.display())]
    DefinitionExists(PathBuf),
}

fn holder(pid: Option<u32>, again_secs: u64) -> String {
    match pid {
        Some(p) => format!(" (pid {p})"),
        None => format!(" (its pid file was deleted; it writes it again within {again_secs}s)"),
    }
}
