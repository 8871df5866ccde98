//! Moving state between machines by running the `git` binary, so transport,
//! ssh and credential helpers are git's own (DESIGN §2.8). Fetch never
//! force-updates the local state ref: it only writes remote-tracking refs.

use std::process::Output;

use gix::ObjectId;

use super::{Store, STATE_REF};
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

impl Store {
    pub fn require_remote(&self, remote: &str) -> Result<()> {
        if self.remote_names().iter().any(|r| r == remote) {
            return Ok(());
        }
        Err(
            Error::environment("no_remote", format!("there is no git remote named {remote:?}")).with_hint(format!(
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
                Error::environment("git_config", format!("git config --add {key} failed"))
                    .with_hint("check that .git/config is writable"),
            );
        }
        Ok(true)
    }

    /// Fetch the remote's baton refs into its remote-tracking refs and return
    /// the remote's state tip, if it has state. Exit 3 when unreachable.
    pub fn fetch_state(&self, remote: &str) -> Result<Option<ObjectId>> {
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
        if !out.status.success() {
            if let Some(lock) = lock_in_the_way(&out) {
                // A lock on a remote-tracking ref here, not the remote.
                return Err(
                    Error::environment("lock_held", format!("cannot record what {remote} has: {lock} exists"))
                        .with_hint(format!(
                            "another git or baton process holds it; if none runs, it was left behind: remove {lock}"
                        )),
                );
            }
            return Err(Error::environment(
                "remote_unreachable",
                format!("cannot fetch from {remote}: {}", stderr_summary(&out)),
            )
            .with_hint(format!(
                "check the remote's URL and your access (`git fetch {remote}`); local state is unchanged"
            )));
        }
        self.resolve(&tracking_ref(remote))
    }

    /// Push `commit` (the local state tip sync read or merged) to the
    /// remote's state ref, never forced. Pushing the commit rather than the
    /// local ref's name means the caller knows exactly what was published,
    /// even if a local writer moves the ref meanwhile.
    pub fn push_state(&self, remote: &str, commit: ObjectId) -> std::result::Result<(), PushError> {
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
            .output()
            .map_err(|e| PushError::Unreachable(format!("running git push: {e}")))?;
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
            None => Err(PushError::Unreachable(stderr_summary(&out))),
        }
    }
}
