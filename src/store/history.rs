//! The state history: walking commits newest first (the audit log), and
//! how two tips relate (ancestry, merge base), for `log`, doctor and sync.

use gix::bstr::ByteSlice;
use gix::ObjectId;

use super::{Message, Store};
use crate::error::{Error, Result, ResultExt};

/// One commit of the state history, as `baton log` shows it.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub id: ObjectId,
    pub message: Message,
    pub author: String,
    /// Commit time, seconds since the epoch.
    pub time: i64,
}

impl Store {
    /// Visit the state history from `tip`, newest first, until `visit` returns false.
    pub fn walk_history(&self, tip: ObjectId, visit: impl FnMut(HistoryEntry) -> bool) -> Result<()> {
        self.walk(tip, false, visit)
    }

    /// Like [`Store::walk_history`], following only first parents: the
    /// published line of history, through merges taken from the remote.
    pub fn walk_first_parents(&self, tip: ObjectId, visit: impl FnMut(HistoryEntry) -> bool) -> Result<()> {
        self.walk(tip, true, visit)
    }

    fn walk(&self, tip: ObjectId, first_parent: bool, mut visit: impl FnMut(HistoryEntry) -> bool) -> Result<()> {
        let mut platform = self.repo.rev_walk([tip]);
        if first_parent {
            platform = platform.first_parent_only();
        }
        let walk = platform.all().git_context(|| "walking the state history".into())?;
        for info in walk {
            let info = info.git_context(|| "walking the state history".into())?;
            let commit = self
                .repo
                .find_commit(info.id)
                .git_context(|| format!("reading commit {}", info.id))?;
            let decoded = commit.decode().git_context(|| format!("decoding commit {}", info.id))?;
            let author = decoded
                .author()
                .map(|a| a.name.to_str_lossy().into_owned())
                .unwrap_or_default();
            let time = decoded
                .committer()
                .ok()
                .and_then(|c| c.time().ok())
                .map(|t| t.seconds)
                .unwrap_or(0);
            let entry = HistoryEntry {
                id: info.id,
                message: Message::parse(&decoded.message.to_str_lossy()),
                author,
                time,
            };
            if !visit(entry) {
                break;
            }
        }
        Ok(())
    }

    /// Whether `ancestor` is reachable from `descendant`.
    pub fn is_ancestor(&self, ancestor: ObjectId, descendant: ObjectId) -> Result<bool> {
        if ancestor == descendant {
            return Ok(true);
        }
        Ok(self.merge_base(ancestor, descendant)? == Some(ancestor))
    }

    pub fn merge_base(&self, one: ObjectId, two: ObjectId) -> Result<Option<ObjectId>> {
        Ok(self
            .repo
            .merge_base(one, two)
            .git_context(|| format!("finding the merge base of {one} and {two}"))?
            .map(|id| id.detach()))
    }

    /// Visit the commits from `tip` back that changed the file at `path`,
    /// newest first, as `git rev-list <tip> -- <path>` walks them (git's own
    /// path-limited walk: only trees on the path are compared, with the
    /// commit-graph's changed-path filters when the repository has them),
    /// until `visit` returns false. The walk streams: git is stopped there,
    /// so what is older than the caller needs is never walked.
    pub fn walk_touching(
        &self,
        tip: ObjectId,
        path: &str,
        mut visit: impl FnMut(ObjectId) -> Result<bool>,
    ) -> Result<()> {
        use std::io::BufRead;
        let mut child = self
            .git()
            .args(["rev-list", &tip.to_string(), "--", path])
            // One line per commit as git finds it, not a buffer at a time.
            .env("GIT_FLUSH", "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| Error::io("running git rev-list", e))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut visited = Ok(());
        let mut stopped = false;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let Ok(id) = ObjectId::from_hex(line.trim().as_bytes()) else {
                continue;
            };
            match visit(id) {
                Ok(true) => {}
                Ok(false) => {
                    stopped = true;
                    break;
                }
                Err(e) => {
                    visited = Err(e);
                    stopped = true;
                    break;
                }
            }
        }
        if stopped {
            // Nothing more is read: git need not walk the rest of the history.
            let _ = child.kill();
            let _ = child.wait();
            return visited;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| Error::io("running git rev-list", e))?;
        if !out.status.success() {
            return Err(Error::git_says(
                format!("listing the commits that changed {path}"),
                super::remote::stderr_summary(&out),
            ));
        }
        Ok(())
    }

    /// Commits reachable from `from` but not from `not`, newest first.
    pub fn commits_between(&self, from: ObjectId, not: ObjectId) -> Result<Vec<ObjectId>> {
        let out = self
            .git()
            .args(["rev-list", &from.to_string(), &format!("^{not}")])
            .output()
            .map_err(|e| Error::io("running git rev-list", e))?;
        if !out.status.success() {
            return Err(Error::git_says("listing commits", super::remote::stderr_summary(&out)));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| ObjectId::from_hex(l.trim().as_bytes()).ok())
            .collect())
    }
}
