//! The daemon's operations (docs/daemon.md): the reconcile tick as one
//! transaction, the foreground loop (`daemon run`), starting it detached,
//! stopping it, its status, the metrics summary from history, and what
//! doctor gathers about it.
//!
//! A tick reads the state into a [`View`] — all of it on a full pass, else
//! only the files that changed since the tree of the view it kept in
//! `.git/baton/daemon-index.json` ([`view`]) — decides with
//! [`crate::daemon`] ([`decide`](mod@decide)), reads the few files it must
//! rewrite, and commits expiries, interrupted runs, stopped deliveries, this
//! machine's learn journal folded into the statistics and a due metrics
//! snapshot as one commit; nothing when nothing changed. A pass that changed
//! nothing leaves a [`Head`] ([`quiet`]): the next tick on the same tree
//! before anything comes due reads no view at all. Machine-local files live
//! in `.git/baton/` ([`local`]): the pid file, the log, the kept view, its
//! head, the last tick and the report of the last pass that committed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gix::ObjectId;
use serde::Serialize;

use super::learn::{self as learn_ops, journal::Taken};
use super::{sync, Session};
use crate::claims::{self, Claim};
use crate::clock::{self, Span, Timestamp};
use crate::daemon::head::{self, Deadlines};
use crate::daemon::{
    self, check, ChangeKind, Changed, FullBecause, Head, Kind, LearnEntry, LearnStep, Mode, PidFile, Record, Report,
    TickEnd, TickRecord, View,
};
use crate::delivery::{self, Delivery};
use crate::error::{Error, Result};
use crate::finding::{Finding, Severity};
use crate::ids::{ClaimId, RunId};
use crate::learn::stats::{self as learn_stats, CommandStats};
use crate::metrics;
use crate::os::daemon::{self as proc, ExeIdentity, PidLock, Sleeper};
use crate::pool::Agent;
use crate::state;
use crate::store::{message, Change, Entry, Message, Snapshot, Store, Update};
use crate::workflow::ledger::{self, Run};
use decide::{decide, Decided};
use local::{read_json, read_view, write_json, REPORT_FILE, TICK_FILE, VIEW_FILE};
use snapshot::{due_snapshot, SnapshotStep};
pub use view::full_view;
use view::{bring_up_to_date, checked, claim_at, delivery_at, learn_entry, load_at, run_at, view_base};

/// What one tick did.
#[derive(Debug, Clone, Serialize)]
pub struct Ticked {
    pub outcome: TickEnd,
    pub report: Report,
    #[serde(serialize_with = "hex_opt")]
    pub commit: Option<ObjectId>,
    /// Steps around the pass that failed without failing it (sync, gc).
    pub warnings: Vec<String>,
    pub duration_ms: u64,
}

fn hex_opt<S: serde::Serializer>(id: &Option<ObjectId>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.collect_str(id),
        None => s.serialize_none(),
    }
}

/// `daemon tick [--full]`: one reconcile pass now, recorded for `daemon
/// status`; `stop` (the daemon's signal flag) skips the steps after the
/// commit once it is set.
pub fn tick(s: &Session, full: bool, stop: Option<&AtomicBool>) -> Result<Ticked> {
    let started = Instant::now();
    let stopped = || stop.is_some_and(|f| f.load(Ordering::SeqCst));
    let actor = s.actor()?.to_string();
    let mut warnings = Vec::new();
    let remote = sync::auto_remote(s)?;
    if let Some(remote) = &remote {
        if let Err(e) = sync::sync(&s.store, remote, &actor) {
            warnings.push(format!("sync with {remote} failed: {}", e.message()));
        }
    }
    if !full {
        if let Some(report) = quiet::quiet(s) {
            return Ok(finish(s, started, report, None, warnings));
        }
    }
    let taken = take_journal(s, &mut warnings);
    let kept = read_view(&s.store);
    let passed = match pass(s, &actor, kept, full, taken.as_ref()) {
        Ok(p) => p,
        Err(e) => {
            record_failure(s, &e, started, warnings);
            return Err(e);
        }
    };
    // The fold is in the commit: its journal files can go.
    if let (Some(taken), true) = (taken, passed.folded) {
        if let Err(e) = taken.committed() {
            warnings.push(format!("could not remove the folded learn journal: {}", e.message()));
        }
    }
    if passed.commit.is_some() && !stopped() {
        if let Some(remote) = &remote {
            if let Err(e) = sync::sync(&s.store, remote, &actor) {
                warnings.push(format!("publishing to {remote} failed: {}", e.message()));
            }
        }
    }
    if (passed.commit.is_some() || passed.report.mode == Mode::Full) && !stopped() {
        if let Err(e) = gc_auto(&s.store) {
            warnings.push(e);
        }
    }
    if passed.commit.is_some() {
        if let Err(e) = write_json(&local_path(&s.store, REPORT_FILE), &passed.report) {
            warnings.push(format!("could not keep the reconcile report: {}", e.message()));
        }
    }
    if passed.view_changed {
        if let Err(e) = write_json(&local_path(&s.store, VIEW_FILE), &passed.view) {
            warnings.push(format!("could not keep the reconcile view: {}", e.message()));
        }
    }
    if let Err(e) = quiet::keep(&s.store, passed.head.as_ref()) {
        warnings.push(format!("could not keep the reconcile head: {}", e.message()));
    }
    Ok(finish(s, started, passed.report, passed.commit, warnings))
}

/// This machine's learn journal, taken aside for the pass to fold (`None`:
/// nothing waits, or it cannot be folded now, which is a warning: it waits).
fn take_journal(s: &Session, warnings: &mut Vec<String>) -> Option<Taken> {
    if !learn_ops::journal_waiting(&s.store) {
        return None;
    }
    // A fold into statistics that do not parse would fail after taking the
    // journal aside, and every file left aside is looked up in the history
    // by every later fold: the journal stays until doctor's fix.
    if let Err(e) = s.store.snapshot().and_then(|snap| state::command_stats(&snap)) {
        warnings.push(format!("the learn journal waits: {}", e.message()));
        return None;
    }
    match learn_ops::take_journal(&s.store) {
        Ok(taken) => Some(taken).filter(|t| !t.is_empty()),
        Err(e) => {
            warnings.push(format!("could not take the learn journal: {}", e.message()));
            None
        }
    }
}

/// What the tick did, recorded on this machine for `daemon status`.
fn finish(s: &Session, started: Instant, report: Report, commit: Option<ObjectId>, warnings: Vec<String>) -> Ticked {
    let ticked = Ticked {
        outcome: if commit.is_some() {
            TickEnd::Changed
        } else {
            TickEnd::Unchanged
        },
        report,
        commit,
        warnings,
        duration_ms: started.elapsed().as_millis() as u64,
    };
    let record = TickRecord {
        at: s.now,
        wall: wall_now(),
        duration_ms: ticked.duration_ms,
        outcome: ticked.outcome,
        commit: ticked.commit.map(|c| c.to_string()),
        error: None,
        warnings: ticked.warnings.clone(),
        report: Some(ticked.report.clone()),
    };
    // The tick happened whether or not it can be recorded; status says "no tick" then.
    let _ = write_json(&local_path(&s.store, TICK_FILE), &record);
    ticked
}

fn record_failure(s: &Session, e: &Error, started: Instant, warnings: Vec<String>) {
    let record = TickRecord {
        at: s.now,
        wall: wall_now(),
        duration_ms: started.elapsed().as_millis() as u64,
        outcome: TickEnd::Failed,
        commit: None,
        error: Some(e.message().into_owned()),
        warnings,
        report: None,
    };
    let _ = write_json(&local_path(&s.store, TICK_FILE), &record);
}

/// `git gc --auto`: packs loose objects once there are enough (git decides).
fn gc_auto(store: &Store) -> std::result::Result<(), String> {
    match store.git().args(["gc", "--auto", "--quiet"]).output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "git gc --auto failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("git gc --auto could not run: {e}")),
    }
}

/// The machine's clock (not `BATON_NOW`): how old a tick or a daemon really is.
pub fn wall_now() -> Timestamp {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(0)
}

/// What the pass of one tick did, and the view of the state it left.
struct Passed {
    report: Report,
    commit: Option<ObjectId>,
    view: View,
    view_changed: bool,
    /// The learn journal it was given is in the commit.
    folded: bool,
    /// It changed nothing: what the next tick may be quiet on.
    head: Option<Head>,
}

/// The reconcile pass inside the compare-and-swap: bring the view up to the
/// tip, decide, commit. On a retry the view goes on from the tree it reached.
fn pass(s: &Session, actor: &str, kept: Option<View>, full: bool, taken: Option<&Taken>) -> Result<Passed> {
    let kept_tree = kept.as_ref().map(|v| (v.tree.clone(), v.full_at));
    let mut current = kept;
    let mut asked = full;
    let written = s.store.update(actor, |snap| {
        let (report, decided) = reconcile(s, snap, &mut current, &kept_tree, asked, taken)?;
        asked = false;
        let rest = (report, decided.post, decided.head);
        match decided.change {
            Some(change) => Ok(Update::Write(change, rest)),
            None => Ok(Update::Unchanged(rest)),
        }
    })?;
    let (report, post, head) = written.value;
    let mut view = post.or(current).expect("the pass made a view");
    if let Some(commit) = written.commit {
        view.tree = s.store.tree_of(commit)?.to_string();
    }
    let view_changed = kept_tree.as_ref() != Some(&(view.tree.clone(), view.full_at));
    let folded = written.commit.is_some() && report.learn.is_some_and(|l| l.files > 0);
    Ok(Passed {
        report,
        commit: written.commit,
        view,
        view_changed,
        folded,
        head: head.filter(|_| written.commit.is_none()),
    })
}

/// One pass over `snap`: `current` brought to its tree (in full when due or
/// `asked`), then what to change and report, with `taken` (this machine's
/// learn journal) folded in.
fn reconcile(
    s: &Session,
    snap: &Snapshot<'_>,
    current: &mut Option<View>,
    kept_tree: &Option<(String, Timestamp)>,
    asked: bool,
    taken: Option<&Taken>,
) -> Result<(Report, Decided)> {
    let (mode, because, read) = bring_up_to_date(&s.store, current, snap, asked, s.now)?;
    let view = current.as_ref().expect("brought up to date");
    let mut report = daemon::report(s.now, mode, because, view_base(snap, mode, kept_tree));
    report.checked = checked(view, read);
    let decided = decide(s, snap, view, taken, &mut report)?;
    Ok((report, decided))
}

pub use install::{install, InstallArgs, Installed};
pub use lifecycle::{run, start, status, stop, RunArgs, RunEnd, Started, Status, Stopped};
pub use local::{last_tick, local_path, LOG_FILE, PID_FILE};
pub use report::{doctor, summary, Summarized};

mod decide;
mod install;
mod lifecycle;
mod local;
mod quiet;
mod report;
mod snapshot;
#[cfg(test)]
mod tests;
mod view;
