//! The stable machine codes of errors (the `code` of `--json` errors) that
//! more than one module names, or that a caller or a test must recognise:
//! one list, so a code cannot drift between where it is made and where it
//! is told apart. (Control flow tells failures apart by their typed source,
//! [`super::Error::is`], not by these strings.)

/// An unexpected failure of git.
pub const GIT: &str = "git";
/// A failure of the file system.
pub const IO: &str = "io";
/// Not inside a git repository.
pub const NOT_A_REPOSITORY: &str = "not_a_repository";
/// A state file that does not parse.
pub const CORRUPT: &str = "corrupt_state";
/// A state file written by a newer baton (a higher `schema`).
pub const NEWER_SCHEMA: &str = "newer_schema";
/// A claim is no longer held as the caller held it.
pub const CLAIM_MOVED: &str = "claim_moved";
/// `.git/baton/learn.local.toml` does not parse or loosens a rule.
pub const INVALID_LEARN_LOCAL: &str = "invalid_learn_local";
/// A ref lock is in the way of a write.
pub const LOCK_HELD: &str = "lock_held";
/// The ref kept moving under a write.
pub const CONTENTION: &str = "contention";
/// A write landed here but did not reach the remote.
pub const NOT_PUBLISHED: &str = "not_published";
/// The remote cannot be reached.
pub const REMOTE_UNREACHABLE: &str = "remote_unreachable";
