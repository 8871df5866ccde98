//! The daemon's operations (docs/daemon.md): the reconcile tick as one
//! transaction, the foreground loop (`daemon run`), starting it detached,
//! stopping it, its status, the metrics summary from history, and what
//! doctor gathers about it.
//!
//! A tick reads the state into a [`View`] — all of it on a full pass, else
//! only the files that changed since the tree of the view it kept in
//! `.git/baton/daemon-index.json` — decides with [`crate::daemon`], reads the
//! few files it must rewrite, and commits expiries, interrupted runs,
//! stopped deliveries, this machine's learn journal folded into the
//! statistics and a due metrics snapshot as one commit; nothing when
//! nothing changed. A pass that changed nothing leaves a
//! [`Head`] ([`quiet`]): the next tick on the same tree before anything
//! comes due reads no view at all. Machine-local files live in
//! `.git/baton/` ([`local`]): the pid file, the log, the kept view, its
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
    self, check, ChangeKind, Changed, FullBecause, Head, Kind, LearnEntry, LearnStep, Mode, Outcome, PidFile, Record,
    Report, TickRecord, View,
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
use crate::store::{message, Change, Entry, Message, Outcome as StoreOutcome, Snapshot, Store};
use crate::workflow::ledger::{self, Run};
use local::{read_json, read_view, write_json, REPORT_FILE, TICK_FILE, VIEW_FILE};
use snapshot::{due_snapshot, SnapshotStep};

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
            warnings.push(format!("could not remove the folded learn journal: {}", e.message));
        }
    }
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
    if passed.commit.is_some() {
        if let Err(e) = write_json(&local_path(&s.store, REPORT_FILE), &passed.report) {
            warnings.push(format!("could not keep the reconcile report: {}", e.message));
        }
    }
    if passed.view_changed {
        if let Err(e) = write_json(&local_path(&s.store, VIEW_FILE), &passed.view) {
            warnings.push(format!("could not keep the reconcile view: {}", e.message));
        }
    }
    if let Err(e) = quiet::keep(&s.store, passed.head.as_ref()) {
        warnings.push(format!("could not keep the reconcile head: {}", e.message));
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
        warnings.push(format!("the learn journal waits: {}", e.message));
        return None;
    }
    match learn_ops::take_journal(&s.store) {
        Ok(taken) => Some(taken).filter(|t| !t.is_empty()),
        Err(e) => {
            warnings.push(format!("could not take the learn journal: {}", e.message));
            None
        }
    }
}

/// What the tick did, recorded on this machine for `daemon status`.
fn finish(s: &Session, started: Instant, report: Report, commit: Option<ObjectId>, warnings: Vec<String>) -> Ticked {
    let ticked = Ticked {
        outcome: if commit.is_some() {
            Outcome::Changed
        } else {
            Outcome::Unchanged
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
            Some(change) => Ok(StoreOutcome::Write(change, rest)),
            None => Ok(StoreOutcome::Unchanged(rest)),
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
    if let Some(entry) = snap.entry(learn_stats::COMMANDS_PATH)? {
        read += 1;
        view.record(learn_stats::COMMANDS_PATH, parse(snap, Kind::Learn, &entry));
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
        Kind::Learn => state::load_toml_entry(snap, entry, |c: &CommandStats| c.schema)
            .map(|stats| Record::Learn(learn_entry(&stats))),
    };
    parsed.unwrap_or_else(|e| Record::Broken(e.message))
}

/// What the view keeps of the learn statistics.
fn learn_entry(stats: &CommandStats) -> LearnEntry {
    LearnEntry {
        decisions: learn_ops::decisions_of(stats),
        families: stats.families.len(),
    }
}

/// What a pass decided: the change to commit (if any), the view after it,
/// and, when it changes nothing, the head a quiet tick may follow.
struct Decided {
    change: Option<Change>,
    post: Option<View>,
    head: Option<Head>,
}

/// Decide on the view: expiries, interrupted runs, stopped deliveries, the
/// learn step, reports, the metrics snapshot; the one change that commits
/// them, or the head of a pass that changed nothing.
fn decide(
    s: &Session,
    snap: &Snapshot<'_>,
    view: &View,
    taken: Option<&Taken>,
    report: &mut Report,
) -> Result<Decided> {
    let config = state::config(snap)?;
    let now = s.now;
    let mut change = Change::default();
    let mut post: Option<View> = None;
    let mut changed_view = |path: &str, record: Record| {
        post.get_or_insert_with(|| view.clone()).record(path, record);
    };

    let (expired_now, tick) = expire_claims(snap, view, now, &config.claims, &mut change, report, &mut changed_view)?;

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

    if let Some(stats) = learn_step(snap, view, taken, &mut change, report) {
        changed_view(learn_stats::COMMANDS_PATH, Record::Learn(learn_entry(&stats)));
    }

    // Reported only.
    let after = post.as_ref().unwrap_or(view);
    report.reported.extend(daemon::flag_claims(after));
    report
        .reported
        .extend(daemon::pool_reports(after, now, config.pool.heartbeat_timeout));
    report.reported.extend(daemon::broken_report(view));

    let SnapshotStep { previous, due } = due_snapshot(snap, after, &config, now, tick, report)?;
    if change.is_empty() && due.is_none() {
        let head = Head {
            version: head::VERSION,
            tree: snap.tree().to_string(),
            at: now,
            due: head::next_due(view, &deadlines(&config, previous, view.full_at)),
            host,
            running: here.iter().map(|(_, r)| r.pid).collect(),
            report: report.clone(),
        };
        return Ok(Decided {
            change: None,
            post,
            head: Some(head),
        });
    }
    if let Some((next, why)) = due {
        report.snapshot = Some(why);
        change.put_json(metrics::snapshot::PATH.to_owned(), &next)?;
    }
    change.message = tick_message(report, &s.actor()?.to_string(), taken);
    Ok(Decided {
        change: Some(change),
        post,
        head: None,
    })
}

/// The times a head's due time counts from: the policies, the snapshot in
/// the state (taken at `previous`), the view's last full pass.
fn deadlines(config: &crate::config::Config, previous: Option<Timestamp>, full_at: Timestamp) -> Deadlines<'_> {
    Deadlines {
        claims: &config.claims,
        heartbeat_timeout: config.pool.heartbeat_timeout,
        snapshot_taken: previous,
        snapshot_every: config.daemon.snapshot_every,
        full_at,
        full_every: config.daemon.full_every,
    }
}

/// Claims: stale ones expire, timed-out handoffs return to their owner.
/// Returns the claims as expired, and what the snapshot counts of it.
fn expire_claims(
    snap: &Snapshot<'_>,
    view: &View,
    now: Timestamp,
    policy: &crate::claims::Policy,
    change: &mut Change,
    report: &mut Report,
    changed_view: &mut impl FnMut(&str, Record),
) -> Result<(BTreeMap<ClaimId, Claim>, metrics::Tick)> {
    let mut expired_now: BTreeMap<ClaimId, Claim> = BTreeMap::new();
    let mut tick = metrics::Tick::default();
    for (path, claim) in load_at(snap, &daemon::expiry_candidates(view, now, policy), claim_at) {
        for e in claims::expiries(&[claim], now, policy, None) {
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
    Ok((expired_now, tick))
}

/// The learn step: this machine's journal (`taken`) folded into
/// `learn/commands.toml`, or the statistics compacted on their own when
/// they grew past [`learn_ops::MAX_FAMILIES`] (a merge of two clones' files
/// can leave them so). The statistics it writes into `change`, if any. A
/// statistics file that does not parse is reported, not fatal: the journal
/// waits for a fold after doctor's fix.
fn learn_step(
    snap: &Snapshot<'_>,
    view: &View,
    taken: Option<&Taken>,
    change: &mut Change,
    report: &mut Report,
) -> Option<CommandStats> {
    let done = match taken {
        Some(taken) => learn_ops::fold_into(snap, taken, change).map(|(f, stats)| {
            let step = LearnStep {
                outcomes: f.outcomes,
                decisions: f.decisions,
                skipped: f.skipped,
                files: f.files,
                compacted: f.compacted,
            };
            Some((step, stats))
        }),
        None if view
            .learn
            .as_ref()
            .is_some_and(|l| l.families > learn_ops::MAX_FAMILIES) =>
        {
            learn_ops::compact_into(snap, change).map(|done| {
                done.map(|(dropped, stats)| {
                    let step = LearnStep {
                        compacted: dropped,
                        ..LearnStep::default()
                    };
                    (step, stats)
                })
            })
        }
        None => Ok(None),
    };
    match done {
        Ok(done) => done.map(|(step, stats)| {
            report.learn = Some(step);
            stats
        }),
        Err(e) => {
            report.reported.push(
                Finding::warn("daemon.learn", format!("the learn statistics were not updated: {}", e.message))
                    .hint("`baton learn doctor` names the problem (`--fix` quarantines a file that does not parse); this machine's journal waits for the next fold")
                    .at(learn_stats::COMMANDS_PATH),
            );
            None
        }
    }
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

/// The reconcile commit's message: what it did, every subject it touched,
/// and the journal files it folded (`taken`, when the learn step folded it).
fn tick_message(report: &Report, actor: &str, taken: Option<&Taken>) -> Message {
    let mut msg = Message::new(format!("daemon: reconcile: {}", report.summary()))
        .trailer(message::OP, "daemon.tick")
        .trailer(message::ACTOR, actor);
    for c in &report.changed {
        msg = msg.trailer(message::SUBJECT, &c.subject);
    }
    if report.learn.is_some() {
        msg = msg.trailer(message::SUBJECT, learn_stats::COMMANDS_PATH);
    }
    if report.snapshot.is_some() {
        msg = msg.trailer(message::SUBJECT, "metrics/snapshot");
    }
    match taken {
        Some(taken) if report.learn.is_some_and(|l| l.files > 0) => learn_ops::journal_trailers(msg, taken),
        _ => msg,
    }
}

pub use install::{install, InstallArgs, Installed};
pub use lifecycle::{run, start, status, stop, RunArgs, RunEnd, Started, Status, Stopped};
pub use local::{last_tick, local_path, LOG_FILE, PID_FILE};
pub use report::{doctor, summary, Summarized};

mod install;
mod lifecycle;
mod local;
mod quiet;
mod report;
mod snapshot;
#[cfg(test)]
mod tests;
