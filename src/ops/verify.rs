//! State files this baton cannot parse, found where they would do harm and
//! set aside: the pre-commit hook checks only the files changed since the
//! last state commit it verified (remembered in `.git/baton/hook-verified`),
//! `sync` refuses to publish them, and `doctor --fix` moves them to
//! `quarantine/<path>` in one commit. A file a newer baton wrote is never
//! among them: it is reported as "upgrade baton" and left alone.

use std::path::PathBuf;

use gix::ObjectId;

use crate::doctor;
use crate::error::code;
use crate::error::{Error, Result};
use crate::finding::Finding;
use crate::state::{self, FileVerdict};
use crate::store::{message, Change, Entry, EntryKind, Message, Snapshot, Store, Update};

/// Where files that do not parse are moved, under their own path.
pub const QUARANTINE: &str = "quarantine";

/// The files `new` adds or changes over `old` (`None`: all of them) that
/// this baton cannot use, with what is wrong with each; files that parse
/// and files of no known schema are left out.
pub fn problems(store: &Store, snap: &Snapshot<'_>, old: Option<ObjectId>) -> Result<Vec<(Entry, FileVerdict)>> {
    let changed = store.changed_files(old, snap.tree())?;
    let verdicts = state::verify_all(snap, &changed);
    Ok(changed
        .into_iter()
        .zip(verdicts)
        .filter(|(_, v)| matches!(v, FileVerdict::Broken(_) | FileVerdict::Newer(_)))
        .collect())
}

/// Refuse to publish `pushing` when it adds files over `theirs` (the
/// remote's tip) that this baton cannot parse: exit 1, naming them.
pub fn refuse_unparsable(store: &Store, remote: &str, theirs: Option<ObjectId>, pushing: ObjectId) -> Result<()> {
    let snap = store.snapshot_at(Some(pushing))?;
    let old = theirs.map(|t| store.tree_of(t)).transpose()?;
    let broken: Vec<String> = problems(store, &snap, old)?
        .into_iter()
        .filter_map(|(_, v)| match v {
            FileVerdict::Broken(e) => Some(message::one_line(&e.message())),
            _ => None,
        })
        .collect();
    if broken.is_empty() {
        return Ok(());
    }
    Err(Error::refused(
        code::UNPARSABLE_STATE,
        format!(
            "refusing to publish to {remote}: {} state file(s) do not parse: {}",
            broken.len(),
            broken.join("; ")
        ),
    )
    .with_hint("`baton doctor --fix` moves them to quarantine/ in one commit; then `baton sync` again"))
}

/// The pre-commit hook's check of the state files: parse only what changed
/// since the last state commit it verified, every file on its first run.
/// Problems reading the store are findings too: the hook never stops on them.
pub fn hook_findings(store: &Store, snap: &Snapshot<'_>) -> Vec<Finding> {
    let Some(tip) = snap.commit() else {
        return Vec::new();
    };
    let since = verified(store);
    if since == Some(tip) {
        return vec![Finding::ok("store.files", "state files verified")];
    }
    let old = since.and_then(|c| store.tree_of(c).ok());
    let found = match problems(store, snap, old) {
        Ok(found) => found,
        Err(e) => return vec![Finding::error("store.files", e.message()).hint(e.hint)],
    };
    let mut out: Vec<Finding> = found
        .iter()
        .filter_map(|(entry, verdict)| match verdict {
            FileVerdict::Broken(e) | FileVerdict::Newer(e) => Some(doctor::file_problem("store.files", &entry.path, e)),
            _ => None,
        })
        .collect();
    if !crate::finding::fails(&out, false) {
        // Best effort: without the marker, the next run checks more, not less.
        let _ = remember_verified(store, tip);
    }
    if out.is_empty() {
        out.push(Finding::ok("store.files", "state files parse"));
    }
    out
}

/// The marker file: the last verified commit and the baton that verified it.
fn marker(store: &Store) -> PathBuf {
    store.git_dir().join("baton").join("hook-verified")
}

/// The last verified state commit, when this version of baton verified it
/// (another version may judge files differently) and it can still be read.
fn verified(store: &Store) -> Option<ObjectId> {
    let text = std::fs::read_to_string(marker(store)).ok()?;
    let (commit, version) = text.trim().split_once(' ')?;
    if version != env!("CARGO_PKG_VERSION") {
        return None;
    }
    ObjectId::from_hex(commit.as_bytes()).ok()
}

fn remember_verified(store: &Store, tip: ObjectId) -> std::io::Result<()> {
    let path = marker(store);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Written whole, then renamed: a concurrent hook reads the old or the new line.
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, format!("{tip} {}\n", env!("CARGO_PKG_VERSION")))?;
    std::fs::rename(&tmp, &path)
}

/// What `doctor --fix` did with one file that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetAside {
    /// Moved to `quarantine/<path>`.
    Moved(String),
    /// Removed: there was nothing to move (a gitlink, a symlink, a missing
    /// object), or no place to move it to (a name git refuses, `..`).
    Removed(String),
}

impl SetAside {
    pub fn path(&self) -> &str {
        match self {
            SetAside::Moved(p) | SetAside::Removed(p) => p,
        }
    }
}

/// Move the files at `paths` that still do not parse (a newer baton's files
/// never count) to `quarantine/<path>` in one commit whose message names
/// each; returns what was set aside, empty when nothing was.
pub fn quarantine(store: &Store, actor: &str, paths: &[String]) -> Result<Vec<SetAside>> {
    let written = store.update(actor, |snap| {
        let mut change = Change::default();
        let mut done = Vec::new();
        let mut body = Vec::new();
        for path in paths {
            let Some(entry) = snap.entry(path)? else { continue };
            let FileVerdict::Broken(why) = state::verify(snap, &entry) else {
                continue;
            };
            let why = message::one_line(&why.message());
            let target = format!("{QUARANTINE}/{path}");
            // A name git refuses (`..`) cannot be placed under quarantine/:
            // removed like an entry with nothing to move, its object id named.
            if entry.kind == EntryKind::File && store.can_place(&target) && store.find_blob(entry.id)?.is_some() {
                change.put_blob(target, entry.id);
                body.push(format!("moved {path} to {QUARANTINE}/{path} ({why})"));
                done.push(SetAside::Moved(path.clone()));
            } else {
                body.push(format!("removed {path}, object {} ({why})", entry.id));
                done.push(SetAside::Removed(path.clone()));
            }
            change.delete(path.clone());
        }
        if done.is_empty() {
            return Ok(Update::Unchanged(done));
        }
        let mut msg = Message::new(format!(
            "doctor: quarantine {} state file(s) that do not parse",
            done.len()
        ))
        .body(body.join("\n"))
        .trailer(message::OP, "doctor.quarantine")
        .trailer(message::ACTOR, actor);
        for set_aside in &done {
            msg = msg.trailer(message::SUBJECT, subject_of(set_aside.path()));
        }
        change.message = msg;
        Ok(Update::Write(change, done))
    })?;
    Ok(written.value)
}

/// `claim/<id>`, `agent/<id>`, `run/<id>` for a file of those directories,
/// else `file/<path>`: what `baton log --subject` finds it by.
fn subject_of(path: &str) -> String {
    let stem = path
        .rsplit('/')
        .next()
        .unwrap_or(path)
        .trim_end_matches(".toml")
        .trim_end_matches(".json");
    let kind = match path.split('/').next() {
        Some(crate::claims::DIR) => "claim",
        Some(crate::pool::DIR) => "agent",
        Some("runs") => "run",
        _ => return format!("file/{path}"),
    };
    format!("{kind}/{stem}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_what_was_set_aside() {
        assert_eq!(subject_of("claims/ab/T-1.toml"), "claim/T-1");
        assert_eq!(subject_of("agents/rev-1.toml"), "agent/rev-1");
        assert_eq!(subject_of("runs/workflow/2026/01/01/wf-x.json"), "run/wf-x");
        assert_eq!(subject_of("config.toml"), "file/config.toml");
    }
}
