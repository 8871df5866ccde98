//! Why a sync did not publish, as a type: the local ref stayed locked, it
//! cannot move at all, the remote refused every push, or it cannot be
//! reached. Each becomes the user's [`Error`] (code, exit code, hint) at
//! the edge, with the failure kept as its source.

use crate::error::{code, Error};
use crate::store::{RefError, STATE_REF};

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Another writer held the local ref's lock through every round.
    #[error("could not update {STATE_REF} to sync with {remote}: {lock}")]
    Lock { remote: String, lock: RefError },
    /// The local ref cannot move (I/O, permissions), not a writer in the way.
    #[error("moving {STATE_REF}: {0}")]
    Io(RefError),
    /// The remote refused the push every round (it kept moving, or a hook).
    #[error("could not publish to {remote} after {attempts} attempts: {last}")]
    Rejected {
        remote: String,
        attempts: u32,
        last: String,
    },
    /// The push could not reach the remote.
    #[error("cannot push to {remote}: {why}")]
    Unreachable { remote: String, why: String },
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Error {
        let message = failure.to_string();
        let error = match &failure {
            Failure::Lock { .. } => Error::environment(code::LOCK_HELD, message).with_hint(
                "another baton or git process holds the lock; if none runs, it was left behind: \
                 `baton doctor --fix` removes it once it is a minute old",
            ),
            Failure::Io(_) => Error::environment(code::GIT, message)
                .with_hint("check the repository with `git fsck` and `baton doctor`"),
            Failure::Rejected { .. } => Error::failed(code::NOT_PUBLISHED, message).with_hint(
                "the remote kept moving or refused the push (a server hook?); local state is intact, retry `baton sync`",
            ),
            Failure::Unreachable { remote, .. } => Error::environment(code::REMOTE_UNREACHABLE, message).with_hint(
                format!("check access to {remote}; local state is intact, run `baton sync` again later"),
            ),
        };
        error.with_source(failure)
    }
}
