//! The daemon's operations (DESIGN §2.5): the reconcile tick as one
//! transaction, the foreground loop (`daemon run`), starting it detached,
//! stopping it, its status, the metrics summary from history, and what
//! doctor gathers about it.
//!
//! A tick reads the state into a [`View`] — all of it on a full pass, else
//! only the files that changed since the tree of the view it kept in
//! `.git/baton/daemon-index.json` — decides with [`crate::daemon`], reads the
//! few files it must rewrite, and commits expiries, interrupted runs,
//! stopped deliveries, `reconcile/last.json` and a due metrics snapshot as
//! one commit; nothing when nothing changed. Machine-local files live in
//! `.git/baton/`: the pid file, the log, the kept view and the last tick.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gix::ObjectId;
use serde::Serialize;

use super::{sync, Session};
use crate::claims::{self, Claim};
use crate::clock::{self, Span, Timestamp};
use crate::daemon::{
    self, check, ChangeKind, Changed, FullBecause, Kind, Mode, Outcome, PidFile, Record, Report, TickRecord, View,
};
use crate::delivery::{self, Delivery};
use crate::error::{Error, Result};
use crate::finding::{Finding, Severity};
use crate::ids::{ClaimId, RunId};
use crate::metrics::{self, Due};
use crate::os::daemon::{self as proc, ExeIdentity, PidLock, Sleeper};
use crate::pool::Agent;
use crate::state;
use crate::store::{message, Change, Entry, Message, Outcome as StoreOutcome, Snapshot, Store};
use crate::workflow::ledger::{self, Run};

/// The daemon's files under `.git/baton/`.
pub const PID_FILE: &str = "daemon.pid";
pub const LOG_FILE: &str = "daemon.log";
const VIEW_FILE: &str = "daemon-index.json";
const TICK_FILE: &str = "daemon-tick.json";

/// `.git/baton/<name>`: machine-local, never in the state.
pub fn local_path(store: &Store, name: &str) -> PathBuf {
    store.git_dir().join("baton").join(name)
}

/// What one tick did.
#[derive(Debug, Clone, Serialize)]
pub struct Ticked {
    pub outcome: Outcome,
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
            warnings.push(format!("sync with {remote} failed: {}", e.message));
        }
    }
    let kept = read_view(&s.store);
    let passed = match pass(s, &actor, kept, full) {
        Ok(p) => p,
        Err(e) => {
            record_failure(s, &e, started, warnings);
            return Err(e);
        }
    };
    if passed.commit.is_some() && !stopped() {
        if let Some(remote) = &remote {
            if let Err(e) = sync::sync(&s.store, remote, &actor) {
                warnings.push(format!("publishing to {remote} failed: {}", e.message));
            }
        }
    }
    if (passed.commit.is_some() || passed.report.mode == Mode::Full) && !stopped() {
        if let Err(e) = gc_auto(&s.store) {
            warnings.push(e);
        }
    }
    if passed.view_changed {
        if let Err(e) = write_json(&local_path(&s.store, VIEW_FILE), &passed.view) {
            warnings.push(format!("could not keep the reconcile view: {}", e.message));
        }
    }
    let ticked = Ticked {
        outcome: if passed.commit.is_some() {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        },
        report: passed.report,
        commit: passed.commit,
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
    Ok(ticked)
}

fn record_failure(s: &Session, e: &Error, started: Instant, warnings: Vec<String>) {
    let record = TickRecord {
        at: s.now,
        wall: wall_now(),
        duration_ms: started.elapsed().as_millis() as u64,
        outcome: Outcome::Failed,
        commit: None,
        error: Some(e.message.clone()),
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
}

/// The reconcile pass inside the compare-and-swap: bring the view up to the
/// tip, decide, commit. On a retry the view goes on from the tree it reached.
fn pass(s: &Session, actor: &str, kept: Option<View>, full: bool) -> Result<Passed> {
    let kept_tree = kept.as_ref().map(|v| (v.tree.clone(), v.full_at));
    let mut current = kept;
    let mut asked = full;
    let written = s.store.update(actor, |snap| {
        let (report, decided) = reconcile(s, snap, &mut current, &kept_tree, asked)?;
        asked = false;
        match decided.change {
            Some(change) => Ok(StoreOutcome::Write(change, (report, decided.post))),
            None => Ok(StoreOutcome::Unchanged((report, decided.post))),
        }
    })?;
    let (report, post) = written.value;
    let mut view = post.or(current).expect("the pass made a view");
    if let Some(commit) = written.commit {
        view.tree = s.store.tree_of(commit)?.to_string();
    }
    let view_changed = kept_tree.as_ref() != Some(&(view.tree.clone(), view.full_at));
    Ok(Passed {
        report,
        commit: written.commit,
        view,
        view_changed,
    })
}

/// One pass over `snap`: `current` brought to its tree (in full when due or
/// `asked`), then what to change and report.
fn reconcile(
    s: &Session,
    snap: &Snapshot<'_>,
    current: &mut Option<View>,
    kept_tree: &Option<(String, Timestamp)>,
    asked: bool,
) -> Result<(Report, Decided)> {
    let (mode, because, read) = bring_up_to_date(&s.store, current, snap, asked, s.now)?;
    let view = current.as_ref().expect("brought up to date");
    let mut report = daemon::report(s.now, mode, because, view_base(snap, mode, kept_tree));
    report.checked = checked(view, read);
    let decided = decide(s, snap, view, &mut report)?;
    Ok((report, decided))
}

/// The commit an incremental pass started from, when it moved on from the kept one.
fn view_base(snap: &Snapshot<'_>, mode: Mode, kept: &Option<(String, Timestamp)>) -> Option<String> {
    match (mode, kept) {
        (Mode::Incremental, Some(_)) => snap.commit().map(|c| c.to_string()),
        _ => None,
    }
}

/// What a pass had in view, and how many files it parsed.
fn checked(view: &View, read: usize) -> daemon::Checked {
    let [claims, agents, runs, deliveries] = view.counts();
    daemon::Checked {
        claims,
        agents,
        runs,
        deliveries,
        read,
    }
}

/// Make `current` the view of `snap`'s tree: from every file when a full
/// pass is due, else from the files that changed since its tree. Returns
/// the mode, why it is full, and how many files were parsed.
fn bring_up_to_date(
    store: &Store,
    current: &mut Option<View>,
    snap: &Snapshot<'_>,
    asked: bool,
    now: Timestamp,
) -> Result<(Mode, Option<FullBecause>, usize)> {
    let full_every = state::config(snap)?.daemon.full_every;
    let mut because = daemon::full_because(current.as_ref(), asked, now, full_every);
    if because.is_none() {
        let view = current.as_mut().expect("an incremental pass has a view");
        match advance(store, view, snap) {
            Ok(read) => return Ok((Mode::Incremental, None, read)),
            Err(_) => because = Some(FullBecause::Unreadable),
        }
    }
    let (view, read) = full_view(snap, now)?;
    *current = Some(view);
    Ok((Mode::Full, because, read))
}

/// Every file the view tracks, read and parsed (claims in parallel).
pub fn full_view(snap: &Snapshot<'_>, now: Timestamp) -> Result<(View, usize)> {
    let mut view = View::new(snap.tree().to_string(), now);
    let mut read = 0;
    let take = |view: &mut View, broken: Vec<state::Broken>| {
        for b in broken {
            view.record(&b.path, Record::Broken(b.error.message));
        }
    };
    let (claims, broken) = state::load_all::<Claim>(snap, claims::DIR, |c| c.schema)?;
    read += claims.len() + broken.len();
    take(&mut view, broken);
    for (path, c) in claims {
        view.record(&path, Record::Claim(c));
    }
    let (agents, broken) = state::load_all::<Agent>(snap, crate::pool::DIR, |a| a.schema)?;
    read += agents.len() + broken.len();
    take(&mut view, broken);
    for (path, a) in agents {
        view.record(&path, Record::Agent(a));
    }
    let (runs, broken) = state::load_all_json::<Run>(snap, ledger::DIR, |r| r.schema)?;
    read += runs.len() + broken.len();
    take(&mut view, broken);
    for (path, r) in runs {
        view.record(&path, Record::Run(r));
    }
    let (ledgers, broken) = state::load_all_json::<Delivery>(snap, delivery::DIR, |d| d.schema)?;
    read += ledgers.len() + broken.len();
    take(&mut view, broken);
    for (path, d) in ledgers {
        view.record(&path, Record::Delivery(d));
    }
    Ok((view, read))
}

/// Take into `view` every tracked file that differs between its tree and
/// `snap`'s; returns how many were read.
fn advance(store: &Store, view: &mut View, snap: &Snapshot<'_>) -> Result<usize> {
    let tree = snap.tree();
    if tree.to_hex() == view.tree {
        return Ok(0);
    }
    let old = ObjectId::from_hex(view.tree.as_bytes()).map_err(|e| Error::git("reading the kept view", e))?;
    let mut read = 0;
    for (path, entry) in store.tree_changes(old, tree)? {
        let Some(kind) = Kind::of(&path) else { continue };
        let record = match entry {
            None => Record::Gone,
            Some(entry) => {
                read += 1;
                parse(snap, kind, &entry)
            }
        };
        view.record(&path, record);
    }
    view.tree = tree.to_string();
    Ok(read)
}

/// One tracked file, parsed as the full pass's loaders parse it.
fn parse(snap: &Snapshot<'_>, kind: Kind, entry: &Entry) -> Record {
    let parsed = match kind {
        Kind::Claim => claim_at(snap, entry).map(Record::Claim),
        Kind::Agent => state::load_toml_entry(snap, entry, |a: &Agent| a.schema).map(Record::Agent),
        Kind::Run => run_at(snap, entry).map(Record::Run),
        Kind::Delivery => delivery_at(snap, entry).map(Record::Delivery),
    };
    parsed.unwrap_or_else(|e| Record::Broken(e.message))
}

/// What a pass decided: the change to commit (if any) and the view after it.
struct Decided {
    change: Option<Change>,
    post: Option<View>,
}

/// Decide on the view: expiries, interrupted runs, stopped deliveries,
/// reports, the metrics snapshot; the one change that commits them.
fn decide(s: &Session, snap: &Snapshot<'_>, view: &View, report: &mut Report) -> Result<Decided> {
    let config = state::config(snap)?;
    let now = s.now;
    let mut change = Change::default();
    let mut post: Option<View> = None;
    let mut changed_view = |path: &str, record: Record| {
        post.get_or_insert_with(|| view.clone()).record(path, record);
    };

    // Claims: stale ones expire, timed-out handoffs return to their owner.
    let mut expired_now: BTreeMap<ClaimId, Claim> = BTreeMap::new();
    let mut tick = metrics::Tick::default();
    for (path, claim) in load_at(snap, &daemon::expiry_candidates(view, now, &config.claims), claim_at) {
        for e in claims::expiries(&[claim], now, &config.claims, None) {
            match e.cause {
                claims::ExpiryCause::HandoffTimedOut => tick.handoffs_returned += 1,
                _ => tick.expired += 1,
            }
            report
                .changed
                .push(daemon::expiry_change(e.claim.id.as_str(), e.cause, e.claim.state));
            change.put_toml(path.clone(), &e.claim)?;
            changed_view(&path, Record::Claim(e.claim.clone()));
            expired_now.insert(e.claim.id.clone(), e.claim);
        }
    }

    // Workflow runs on this host whose process is gone: interrupted.
    let host = crate::os::hostname();
    let here = load_at(snap, &daemon::running_here(view, &host), run_at);
    let (_, dead) = crate::workflow::check::check_runs(&here, &host, crate::os::process_alive);
    let interrupted = super::workflow::put_interrupted(snap, &dead, now, &mut change)?;
    for run in &interrupted {
        report.changed.push(Changed {
            kind: ChangeKind::Interrupted,
            subject: format!("run/{}", run.id),
            detail: format!("process {} on {} is gone", run.pid, run.host),
        });
        changed_view(&ledger::path(&run.id), Record::Run(run.clone()));
    }

    // Deliveries, against the claims and runs as this pass leaves them.
    let stopped = reconcile_deliveries(snap, view, &expired_now, &interrupted, now, &mut change, report)?;
    for d in stopped {
        changed_view(&delivery::path(&d.id), Record::Delivery(d));
    }

    // Reported only.
    report
        .reported
        .extend(daemon::flag_claims(post.as_ref().unwrap_or(view)));
    report.reported.extend(daemon::pool_reports(
        post.as_ref().unwrap_or(view),
        now,
        config.pool.heartbeat_timeout,
    ));
    report.reported.extend(daemon::broken_report(view));
    // Learn has no step here yet: folding its journal and compacting its
    // statistics join the pass when learn is wired into the state (docs/daemon.md).

    let after = post.as_ref().unwrap_or(view);
    let snapshot = due_snapshot(snap, after, &config, now, tick, report)?;
    if change.is_empty() && snapshot.is_none() {
        return Ok(Decided { change: None, post });
    }
    if let Some((next, due)) = snapshot {
        report.snapshot = Some(due);
        change.put_json(metrics::snapshot::PATH.to_owned(), &next)?;
    }
    change.put_json(daemon::REPORT_PATH.to_owned(), &*report)?;
    change.message = tick_message(report, &s.actor()?.to_string());
    Ok(Decided {
        change: Some(change),
        post,
    })
}

/// The files at `paths` in `snap`, parsed with `parse` (ones that no
/// longer parse are skipped: the view reports them).
fn load_at<T>(
    snap: &Snapshot<'_>,
    paths: &[String],
    parse: impl Fn(&Snapshot<'_>, &Entry) -> Result<T>,
) -> Vec<(String, T)> {
    paths
        .iter()
        .filter_map(|p| {
            let entry = snap.entry(p).ok()??;
            Some((p.clone(), parse(snap, &entry).ok()?))
        })
        .collect()
}

fn claim_at(snap: &Snapshot<'_>, entry: &Entry) -> Result<Claim> {
    state::load_toml_entry(snap, entry, |c: &Claim| c.schema)
}

fn run_at(snap: &Snapshot<'_>, entry: &Entry) -> Result<Run> {
    state::load_json_entry(snap, entry, |r: &Run| r.schema)
}

fn delivery_at(snap: &Snapshot<'_>, entry: &Entry) -> Result<Delivery> {
    state::load_json_entry(snap, entry, |d: &Delivery| d.schema)
}

/// Open deliveries checked as `delivery doctor` checks them, against the
/// claims and runs as this pass leaves them; a claim that moved on is
/// recorded stopped (as `delivery doctor --fix` does), other drift reported.
fn reconcile_deliveries(
    snap: &Snapshot<'_>,
    view: &View,
    expired_now: &BTreeMap<ClaimId, Claim>,
    interrupted: &[Run],
    now: Timestamp,
    change: &mut Change,
    report: &mut Report,
) -> Result<Vec<Delivery>> {
    let open = load_at(snap, &daemon::open_deliveries(view), delivery_at);
    if open.is_empty() {
        return Ok(Vec::new());
    }
    let mut claims_now: BTreeMap<ClaimId, Claim> = BTreeMap::new();
    let mut runs_now: BTreeMap<RunId, Run> = BTreeMap::new();
    for (_, d) in &open {
        let claim = match expired_now.get(&d.issue) {
            Some(c) => Some(c.clone()),
            None => state::claim(snap, &d.issue).ok().flatten(),
        };
        claims_now.extend(claim.map(|c| (c.id.clone(), c)));
        if let Some(id) = &d.workflow_run {
            let run = match interrupted.iter().find(|r| &r.id == id) {
                Some(r) => Some(r.clone()),
                None => state::run(snap, id).ok().flatten(),
            };
            runs_now.extend(run.map(|r| (r.id.clone(), r)));
        }
    }
    let (findings, fixes) = delivery::check::check(&open, &claims_now, &runs_now);
    let stopped = super::delivery::put_stopped(snap, &fixes, now, change)?;
    for d in &stopped {
        report.changed.push(Changed {
            kind: ChangeKind::DeliveryStopped,
            subject: format!("delivery/{}", d.id),
            detail: d.reason.clone().unwrap_or_default(),
        });
    }
    report.reported.extend(
        findings
            .into_iter()
            .filter(|f| f.severity != Severity::Ok && f.check != "delivery.claim"),
    );
    Ok(stopped)
}

/// The metrics snapshot of the state `after` describes, and why it is due; `None`: not yet.
fn due_snapshot(
    snap: &Snapshot<'_>,
    after: &View,
    config: &crate::config::Config,
    now: Timestamp,
    tick: metrics::Tick,
    report: &mut Report,
) -> Result<Option<(metrics::Snapshot, Due)>> {
    let previous = match snap.read(metrics::snapshot::PATH)? {
        None => None,
        Some(bytes) => match metrics::Snapshot::decode(&bytes) {
            Ok(p) => Some(p),
            Err(e) => {
                report.reported.push(
                    Finding::warn("daemon.metrics", format!("{}; a new snapshot replaces it", e.message))
                        .at(metrics::snapshot::PATH),
                );
                None
            }
        },
    };
    let agents: Vec<Agent> = after.agents.values().map(|a| a.agent()).collect();
    let phases = after.delivery_phases();
    // Learn's decision counts stay empty until learn is wired into the state.
    let learn = BTreeMap::new();
    let inputs = metrics::Inputs {
        now,
        heartbeat_timeout: config.pool.heartbeat_timeout,
        claims: &[],
        agents: &agents,
        runs: &[],
        deliveries: &phases,
        learn_decisions: &learn,
        tick,
        previous: previous.as_ref(),
    };
    let next = metrics::compute_tallied(&after.tally(), &inputs)?;
    Ok(metrics::due(previous.as_ref(), &next, now, config.daemon.snapshot_every).map(|due| (next, due)))
}

/// The reconcile commit's message: what it did, every subject it touched.
fn tick_message(report: &Report, actor: &str) -> Message {
    let mut msg = Message::new(format!("daemon: reconcile: {}", report.summary()))
        .trailer(message::OP, "daemon.tick")
        .trailer(message::ACTOR, actor);
    for c in &report.changed {
        msg = msg.trailer(message::SUBJECT, &c.subject);
    }
    if report.snapshot.is_some() {
        msg = msg.trailer(message::SUBJECT, "metrics/snapshot");
    }
    msg
}

/// The view kept by the last tick here; `None` when there is none or it
/// cannot be read (the next pass is then full).
fn read_view(store: &Store) -> Option<View> {
    let bytes = std::fs::read(local_path(store, VIEW_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Write a machine-local JSON file whole: a temporary file, then rename.
fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::io("writing a daemon file", "no directory"))?;
    // Only `.git/baton` itself is made: were the repository deleted meanwhile,
    // creating its parents would bring a `.git` back to life.
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io(format!("creating {}", dir.display()), e)),
    }
    let bytes = serde_json::to_vec(value).map_err(|e| Error::io("encoding a daemon file", e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io("writing a daemon file", e))?;
    std::io::Write::write_all(&mut tmp, &bytes).map_err(|e| Error::io("writing a daemon file", e))?;
    tmp.persist(path)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e.error))?;
    Ok(())
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<std::result::Result<T, String>> {
    let bytes = std::fs::read(path).ok()?;
    Some(serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
}

/// The last tick recorded on this machine.
pub fn last_tick(store: &Store) -> Option<TickRecord> {
    read_json(&local_path(store, TICK_FILE))?.ok()
}

pub use lifecycle::{run, start, status, stop, RunArgs, RunEnd, Started, Status, Stopped};
pub use report::{doctor, summary, Summarized};

mod lifecycle;
mod report;
#[cfg(test)]
mod tests;
