//! A state file this baton cannot use — one that does not parse, or that a
//! newer baton wrote — and the doctor finding that reports it. A leaf: the
//! loaders (`state`) set such files aside as [`Broken`], and every
//! subsystem's checks report them through [`file_problem`], without any of
//! them depending on doctor or on each other.

use crate::codec;
use crate::error::Error;
use crate::finding::Finding;

/// The shared policy's file in the state tree (`config::PATH`): never set
/// aside, since the defaults that would apply are a looser policy nobody chose.
pub const CONFIG_PATH: &str = "config.toml";

/// A file that is in the tree but does not parse, for doctor to report.
#[derive(Debug, Clone)]
pub struct Broken {
    pub path: String,
    pub error: Error,
}

/// A state file this baton cannot use: an error naming the file, or only a
/// warning when a newer baton wrote it (nothing is wrong with it, and it
/// must never block a commit).
pub fn file_problem(check: &str, path: &str, error: &Error) -> Finding {
    if error.is::<codec::NewerSchema>() {
        return Finding::warn(check, error.message().into_owned())
            .hint("upgrade baton to read it; baton leaves it as it is")
            .at(path);
    }
    let hint = if path == CONFIG_PATH {
        // Set aside, the defaults would apply: a looser policy nobody chose.
        "fix config.toml with a state commit (the previous version: `git show refs/baton/state~1:config.toml`)"
    } else {
        "`baton doctor --fix` moves it to quarantine/ in the state, in one commit"
    };
    Finding::error(check, error.message().into_owned()).hint(hint).at(path)
}
