//! Moving state between machines by running the `git` binary, so transport,
//! ssh and credential helpers are git's own (docs/sync.md). Fetch never
//! force-updates the local state ref: it only writes remote-tracking refs.

use std::process::Output;

use gix::ObjectId;

use super::{Store, STATE_REF};
use crate::error::code;
use crate::error::{Error, Result};

/// `+refs/baton/*:refs/remotes/<remote>/baton/*`
pub fn refspec(remote: &str) -> String {
    format!("+refs/baton/*:refs/remotes/{remote}/baton/*")
}

/// Where the remote's state lands after a fetch.
pub fn tracking_ref(remote: &str) -> String {
    format!("refs/remotes/{remote}/baton/state")
}

/// Why a push did not land.
#[derive(Debug)]
pub enum PushError {
    /// The remote refused (it moved: not a fast-forward; or a hook said no).
    Rejected(String),
    /// The remote could not be reached at all.
    Unreachable(String),
    /// The connection broke off during the transfer: the server went away.
    Interrupted(String),
}

/// How a transfer git ran failed, from what it said on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Never got through: a wrong URL, no access, no such host or repository.
    Unreachable,
    /// Got through, then the connection dropped mid-transfer.
    Interrupted,
}

/// What git (and curl, ssh) print when a conversation that had started
/// ends early; checked after the signs of never getting through, since a
/// refused ssh login also ends with "the remote end hung up".
const BROKE_OFF: &[&str] = &[
    "early eof",
    "unexpected disconnect",
    "the remote end hung up unexpectedly",
    "rpc failed",
    "transfer closed",
    "connection reset",
    "broken pipe",
    "unpack-objects failed",
    "index-pack failed",
    "invalid index-pack output",
    "protocol error: bad pack header",
];

/// What git prints when it never reached a repository it may read.
const NEVER_REACHED: &[&str] = &[
    "could not resolve",
    "connection refused",
    "permission denied",
    "authentication failed",
    "does not appear to be a git repository",
    "repository not found",
    "not found",
    "no route to host",
    "could not read from remote repository",
    "unable to access",
];

pub fn classify(stderr: &str) -> Failure {
    let text = stderr.to_lowercase();
    // "Could not read from remote repository" follows a dropped connection
    // too; it means never reached only without a sign of a started transfer.
    let started = BROKE_OFF.iter().any(|s| text.contains(s));
    let never = NEVER_REACHED
        .iter()
        .filter(|s| **s != "could not read from remote repository")
        .any(|s| text.contains(s));
    if started && !never {
        Failure::Interrupted
    } else {
        Failure::Unreachable
    }
}

/// The last meaningful lines of git's stderr, for messages.
pub(super) fn stderr_summary(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
        .collect();
    lines[lines.len().saturating_sub(3)..].join(" / ")
}

/// The lock file git names when it could not update a ref because the
/// lock exists (`Unable to create '<path>.lock': File exists.`).
fn lock_in_the_way(out: &Output) -> Option<String> {
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines().find_map(|l| {
        let rest = &l[l.find("Unable to create '")? + "Unable to create '".len()..];
        let path = &rest[..rest.find("': File exists")?];
        path.ends_with(".lock").then(|| path.to_owned())
    })
}

/// The remote went away while `doing` (`fetching from`, `pushing to`) it.
pub fn interrupted(remote: &str, doing: &str, said: &str) -> Error {
    Error::environment(
        code::REMOTE_INTERRUPTED,
        format!("the connection broke off while {doing} {remote}: {said}"),
    )
    .with_hint(format!(
        "the server went away mid-transfer (not a problem with the URL or your access); local state is unchanged: run the command again once {remote} is back"
    ))
}

impl Store {
    pub fn require_remote(&self, remote: &str) -> Result<()> {
        if self.remote_names().iter().any(|r| r == remote) {
            return Ok(());
        }
        Err(
            Error::environment(code::NO_REMOTE, format!("there is no git remote named {remote:?}")).with_hint(format!(
                "add it with `git remote add {remote} <url>`, or pass --remote <name>"
            )),
        )
    }

    /// Whether `remote` fetches the baton refs.
    pub fn has_refspec(&self, remote: &str) -> Result<bool> {
        let out = self
            .git()
            .args(["config", "--get-all", &format!("remote.{remote}.fetch")])
            .output()
            .map_err(|e| Error::io("running git config", e))?;
        let spec = refspec(remote);
        Ok(String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == spec))
    }

    /// Add the baton fetch refspec to `remote` unless it is there; true when added.
    pub fn ensure_refspec(&self, remote: &str) -> Result<bool> {
        if self.has_refspec(remote)? {
            return Ok(false);
        }
        let key = format!("remote.{remote}.fetch");
        let status = self
            .git()
            .args(["config", "--add", &key, &refspec(remote)])
            .status()
            .map_err(|e| Error::io("running git config", e))?;
        if !status.success() {
            return Err(
                Error::environment(code::GIT_CONFIG, format!("git config --add {key} failed"))
                    .with_hint("check that .git/config is writable"),
            );
        }
        Ok(true)
    }

    /// Fetch the remote's baton refs into its remote-tracking refs and return
    /// the remote's state tip, if it has state. Exit 3 when unreachable.
    pub fn fetch_state(&self, remote: &str) -> Result<Option<ObjectId>> {
        let busy = crate::term::Activity::start(format!("fetching from {remote}"));
        let out = self
            .git()
            .args([
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--prune",
                remote,
                &refspec(remote),
            ])
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .map_err(|e| Error::io("running git fetch", e))?;
        drop(busy);
        if !out.status.success() {
            if let Some(lock) = lock_in_the_way(&out) {
                // A lock on a remote-tracking ref here, not the remote.
                return Err(Error::environment(
                    code::LOCK_HELD,
                    format!("cannot record what {remote} has: {lock} exists"),
                )
                .with_hint(format!(
                    "another git or baton process holds it; if none runs, it was left behind: remove {lock}"
                )));
            }
            let said = stderr_summary(&out);
            return Err(match classify(&String::from_utf8_lossy(&out.stderr)) {
                Failure::Interrupted => interrupted(remote, "fetching from", &said),
                Failure::Unreachable => {
                    Error::environment(code::REMOTE_UNREACHABLE, format!("cannot fetch from {remote}: {said}"))
                        .with_hint(format!(
                            "check the remote's URL and your access (`git fetch {remote}`); local state is unchanged"
                        ))
                }
            });
        }
        self.resolve(&tracking_ref(remote))
    }

    /// Push `commit` (the local state tip sync read or merged) to the
    /// remote's state ref, never forced. Pushing the commit rather than the
    /// local ref's name means the caller knows exactly what was published,
    /// even if a local writer moves the ref meanwhile.
    pub fn push_state(&self, remote: &str, commit: ObjectId) -> std::result::Result<(), PushError> {
        let busy = crate::term::Activity::start(format!("pushing to {remote}"));
        let out = self
            .git()
            .args([
                "push",
                "--quiet",
                "--porcelain",
                remote,
                &format!("{commit}:{STATE_REF}"),
            ])
            .env("GIT_TERMINAL_PROMPT", "0")
            // The pre-push hook `baton init --hooks` writes publishes the
            // state by running a sync; this push is that sync's own, so the
            // hook must not start another one (see `ops::hooks`).
            .env("BATON_PRE_PUSH", "1")
            .output()
            .map_err(|e| PushError::Unreachable(format!("running git push: {e}")))?;
        drop(busy);
        if out.status.success() {
            return Ok(());
        }
        // With --porcelain, a refusal is reported per ref on stdout ("!" flag);
        // no such line means we never got to talk to the remote.
        let stdout = String::from_utf8_lossy(&out.stdout);
        let refused = stdout.lines().find(|l| l.starts_with('!'));
        match refused {
            Some(line) => Err(PushError::Rejected(
                format!("{} {}", line.trim(), stderr_summary(&out)).trim().to_owned(),
            )),
            None => match classify(&String::from_utf8_lossy(&out.stderr)) {
                Failure::Interrupted => Err(PushError::Interrupted(stderr_summary(&out))),
                Failure::Unreachable => Err(PushError::Unreachable(stderr_summary(&out))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_connection_is_told_from_a_wrong_url() {
        let cases = [
            ("fetch-pack: unexpected disconnect while reading sideband packet\nfatal: early EOF", Failure::Interrupted),
            ("error: RPC failed; curl 18 transfer closed with outstanding read data remaining", Failure::Interrupted),
            ("send-pack: unexpected disconnect while reading sideband packet\nfatal: the remote end hung up unexpectedly", Failure::Interrupted),
            ("fatal: the remote end hung up unexpectedly\nfatal: Could not read from remote repository.", Failure::Interrupted),
            ("fatal: 'nope' does not appear to be a git repository\nfatal: Could not read from remote repository.", Failure::Unreachable),
            ("git@host: Permission denied (publickey).\nfatal: the remote end hung up unexpectedly", Failure::Unreachable),
            ("fatal: unable to access 'https://x/': Could not resolve host: x", Failure::Unreachable),
            ("fatal: something new", Failure::Unreachable),
        ];
        for (said, expected) in cases {
            assert_eq!(classify(said), expected, "{said}");
        }
    }
}
