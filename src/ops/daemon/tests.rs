//! The incremental pass against the full pass on random histories: after
//! any sequence of operations, a tick that reads only what changed since
//! the last one decides, reports and counts exactly what a tick reading
//! every file decides, and keeps the same view; and whenever the head the
//! last tick left says a tick now is quiet, a full pass changes nothing and
//! reports what the quiet tick reports.

use crate::testing::{repository, t0};
use proptest::prelude::*;

use super::*;
use crate::claims::{ClaimRequest, ClaimState, Force};
use crate::ids::{Actor, AgentId, Role};
use crate::learn::judge::Level;
use crate::ops::claims::ClaimArgs;
use crate::ops::pool::{AgentOp, Wanted};
use crate::ops::{claims as claim_ops, learn as learn_ops, pool as pool_ops, repo};

#[derive(Debug, Clone)]
enum Op {
    Claim {
        id: u8,
        by: u8,
        role: bool,
        /// A lease of this many minutes.
        lease: Option<u16>,
    },
    Handoff {
        id: u8,
        by: u8,
    },
    Accept {
        id: u8,
        by: u8,
    },
    Release {
        id: u8,
        by: u8,
    },
    Pause {
        id: u8,
        by: u8,
    },
    Spawn,
    Drain(u8),
    Retire(u8),
    Heartbeat(u8),
    /// A run left `running` here by a process that is gone.
    DeadRun(u8),
    /// A run `running` here whose process is alive (a child of the test) ...
    LiveRun(u8),
    /// ... until this ends every such process.
    KillRuns,
    /// A decision `pre-command` journals on this machine.
    Journal(u8),
    /// Minutes, so that some ticks fall before a due time and some after.
    Advance(u16),
    Tick,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..6u8, 0..2u8, any::<bool>(), prop::option::of(1..300u16))
            .prop_map(|(id, by, role, lease)| Op::Claim { id, by, role, lease }),
        2 => (0..6u8, 0..2u8).prop_map(|(id, by)| Op::Handoff { id, by }),
        1 => (0..6u8, 0..2u8).prop_map(|(id, by)| Op::Accept { id, by }),
        1 => (0..6u8, 0..2u8).prop_map(|(id, by)| Op::Release { id, by }),
        1 => (0..6u8, 0..2u8).prop_map(|(id, by)| Op::Pause { id, by }),
        1 => Just(Op::Spawn),
        1 => (1..4u8).prop_map(Op::Drain),
        1 => (1..4u8).prop_map(Op::Retire),
        1 => (1..4u8).prop_map(Op::Heartbeat),
        1 => (0..4u8).prop_map(Op::DeadRun),
        2 => (4..8u8).prop_map(Op::LiveRun),
        2 => Just(Op::KillRuns),
        1 => (0..3u8).prop_map(Op::Journal),
        2 => (1..30u16).prop_map(Op::Advance),
        2 => (30..3600u16).prop_map(Op::Advance),
        4 => Just(Op::Tick),
    ]
}

fn actor(by: u8) -> Actor {
    Actor::parse(["agent:a", "agent:b"][usize::from(by % 2)]).unwrap()
}

fn session(dir: &Path, by: &Actor, now: Timestamp) -> Session {
    let mut s = Session::open(Some(dir), Some(&by.to_string())).unwrap();
    s.now = now;
    s
}

/// The processes of the live runs: killed (and reaped) by `KillRuns` or at the end.
#[derive(Default)]
struct Children(Vec<std::process::Child>);

impl Children {
    fn kill(&mut self) {
        for mut child in self.0.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Apply one operation; refusals (a claim held by the other actor, ...) are
/// part of a random history and change nothing.
fn apply(dir: &Path, now: &mut Timestamp, op: &Op, children: &mut Children) {
    let id = |n: u8| ClaimId::parse(&format!("T-{n}")).unwrap();
    let agent = |n: u8| AgentId::parse(&format!("rev-{n}")).unwrap();
    let s = |by: u8| session(dir, &actor(by), *now);
    let _ = match op {
        Op::Claim { id: n, by, role, lease } => {
            let args = ClaimArgs {
                request: ClaimRequest {
                    lease: lease.map(|m| Span::parse(&format!("{m}m")).unwrap()),
                    ..ClaimRequest::default()
                },
                wanted: Wanted {
                    role: role.then(|| Role::parse("rev").unwrap()),
                    agent: None,
                },
                sync: false,
            };
            claim_ops::claim(&s(*by), &id(*n), &args).map(drop)
        }
        Op::Handoff { id: n, by } => claim_ops::handoff(&s(*by), &id(*n), &actor(by + 1), None).map(drop),
        Op::Accept { id: n, by } => claim_ops::accept(&s(*by), &id(*n)).map(drop),
        Op::Release { id: n, by } => claim_ops::release(&s(*by), &id(*n), &Force::default()).map(drop),
        Op::Pause { id: n, by } => claim_ops::park(&s(*by), &id(*n), ClaimState::Paused, None).map(drop),
        Op::Spawn => pool_ops::spawn(&s(0), &Role::parse("rev").unwrap(), 1, 2).map(drop),
        Op::Drain(n) => pool_ops::change_agent(&s(0), &agent(*n), AgentOp::Drain).map(drop),
        Op::Retire(n) => pool_ops::change_agent(&s(0), &agent(*n), AgentOp::Retire(true)).map(drop),
        Op::Heartbeat(n) => pool_ops::change_agent(&s(0), &agent(*n), AgentOp::Heartbeat).map(drop),
        Op::DeadRun(n) => running_run(&s(0), *n, u32::MAX),
        Op::LiveRun(n) => {
            let child = std::process::Command::new("sleep").arg("600").spawn().unwrap();
            let pid = child.id();
            children.0.push(child);
            running_run(&s(0), *n, pid)
        }
        Op::KillRuns => {
            children.kill();
            Ok(())
        }
        Op::Journal(level) => {
            let level = [Level::Low, Level::Medium, Level::High][usize::from(*level)];
            let entry = crate::learn::stats::JournalEntry::Decision { at: *now, level };
            learn_ops::journal::append(&learn_ops::journal::dir(&s(0).store), &entry)
        }
        Op::Advance(minutes) => {
            *now += chrono::Duration::minutes(i64::from(*minutes));
            Ok(())
        }
        Op::Tick => tick(&s(0), false, None).map(drop),
    };
}

/// A run ledger `running` on this host with process `pid` (none can be u32::MAX).
fn running_run(s: &Session, n: u8, pid: u32) -> Result<()> {
    let id = RunId::parse(&format!("wf-20260101T000000Z-00000{n}")).unwrap();
    let run = serde_json::json!({
        "schema": 1, "id": id, "workflow": "w",
        "definition": {"path": "w.toml", "blob": "0"},
        "status": "running", "host": crate::os::hostname(), "pid": pid, "actor": "human:x",
        "started_at": s.now, "steps": [{"id": "a", "status": "failed", "attempts": []}]
    });
    s.store.update("human:x", |_| {
        let mut change = Change::new(Message::new("a running run"));
        change.put_json(ledger::path(&id), &run)?;
        Ok(Update::Write(change, ()))
    })?;
    Ok(())
}

/// What a pass decided, without what says how it read (mode, files read, time of the full pass).
fn decisions(report: &Report, view: &View) -> (String, View) {
    let mut r = report.clone();
    r.mode = Mode::Full;
    r.full_because = None;
    r.base = None;
    r.checked.read = 0;
    let mut v = view.clone();
    v.full_at = report.at;
    (serde_json::to_string(&r).unwrap(), v)
}

fn compare(dir: &Path, now: Timestamp) -> std::result::Result<(), TestCaseError> {
    let s = session(dir, &actor(0), now);
    let snap = s.snapshot().unwrap();
    // Judged before the journal is taken aside below (a waiting journal is never quiet).
    let quiet = quiet::quiet(&s);
    let mut kept = read_view(&s.store);
    let kept_tree = kept.as_ref().map(|v| (v.tree.clone(), v.full_at));
    // The periodic full pass is not what is compared: keep the kept view recent.
    if let Some(v) = kept.as_mut() {
        v.full_at = now;
    }
    // Both passes fold the same journal (dropped uncommitted: the next tick folds it).
    let taken = learn_ops::take_journal(&s.store).unwrap();
    let taken = Some(&taken).filter(|t| !t.is_empty());
    let (incremental, inc) = reconcile(&s, &snap, &mut kept, &kept_tree, false, taken).unwrap();
    let mut none = None;
    let (full, all) = reconcile(&s, &snap, &mut none, &None, true, taken).unwrap();
    prop_assert_eq!(full.mode, Mode::Full);
    let inc_view = inc.post.or(kept).unwrap();
    let full_view = all.post.or(none).unwrap();
    let (a, va) = decisions(&incremental, &inc_view);
    let (b, vb) = decisions(&full, &full_view);
    prop_assert_eq!(&a, &b);
    prop_assert_eq!(va, vb);
    prop_assert_eq!(
        inc.change.map(|c| c.message.summary),
        all.change.as_ref().map(|c| c.message.summary.clone())
    );
    if let Some(quiet) = quiet {
        prop_assert!(all.change.is_none(), "a quiet tick missed: {}", full.summary());
        let (q, _) = decisions(&quiet, &full_view);
        prop_assert_eq!(q, b);
    }
    match (all.head, taken) {
        (Some(head), None) => {
            later_ticks_are_quiet_until_due(dir, &head)?;
            // Kept as a tick keeps it: the next comparison judges it after the next operation.
            quiet::keep(&s.store, Some(&head)).unwrap();
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The head of a pass that changed nothing holds at every later time before
/// its due time, on the same state: a full pass then changes nothing and
/// reports what the quiet tick reports.
fn later_ticks_are_quiet_until_due(dir: &Path, head: &Head) -> std::result::Result<(), TestCaseError> {
    let minutes = |m: i64| head.at + chrono::Duration::minutes(m);
    let second = chrono::Duration::seconds(1);
    let times = [1, 59, 61, 119, 121, 179, 181, 239, 241, 299, 301].map(minutes);
    let host = crate::os::hostname();
    for at in times.into_iter().chain([head.due - second, head.due]) {
        if !head.quiet(&head.tree, at, &host, crate::os::process_alive) {
            continue;
        }
        let s = session(dir, &actor(0), at);
        let snap = s.snapshot().unwrap();
        let mut none = None;
        let (full, all) = reconcile(&s, &snap, &mut none, &None, true, None).unwrap();
        prop_assert!(
            all.change.is_none(),
            "quiet at {at} (due {}), but a pass: {}",
            head.due,
            full.summary()
        );
        let view = all.post.or(none).unwrap();
        prop_assert_eq!(
            decisions(&head.quiet_report(at, None), &view).0,
            decisions(&full, &view).0
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn an_incremental_tick_decides_what_a_full_tick_decides(ops in prop::collection::vec(op(), 4..24)) {
        let root = tempfile::tempdir().unwrap();
        let dir = repository(root.path(), "r");
        let mut now = t0();
        repo::init(&session(&dir, &actor(0), now), &repo::InitArgs::default()).unwrap();
        pool_ops::spawn(&session(&dir, &actor(0), now), &Role::parse("rev").unwrap(), 2, 1).unwrap();
        // Every time a quiet tick must not pass, apart enough to be told apart.
        let times = [
            ("claims.handoff_timeout", "2h"),
            ("pool.heartbeat_timeout", "3h"),
            ("claims.stale_after", "4h"),
            ("daemon.snapshot_every", "5h"),
            ("daemon.full_every", "3d"),
        ];
        for (key, value) in times {
            repo::config_set(&session(&dir, &actor(0), now), key, value).unwrap();
        }
        // A first tick keeps a view for the incremental passes.
        tick(&session(&dir, &actor(0), now), true, None).unwrap();
        let mut children = Children::default();
        for op in &ops {
            apply(&dir, &mut now, op, &mut children);
            compare(&dir, now)?;
        }
    }
}

/// A repository with state and a kept view, at `now`.
fn fresh(now: Timestamp) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let dir = repository(root.path(), "r");
    repo::init(&session(&dir, &actor(0), now), &repo::InitArgs::default()).unwrap();
    (root, dir)
}

#[test]
fn a_quiet_tick_needs_every_run_it_saw_running_here_alive() {
    let now = crate::clock::parse_timestamp("2026-01-01T00:00:00Z").unwrap();
    let (_root, dir) = fresh(now);
    let s = session(&dir, &actor(0), now);
    let mut children = Children::default();
    apply(&dir, &mut now.clone(), &Op::LiveRun(1), &mut children);
    assert_eq!(tick(&s, false, None).unwrap().outcome, TickEnd::Changed);
    assert_eq!(tick(&s, false, None).unwrap().report.mode, Mode::Incremental);
    let quiet = tick(&s, false, None).unwrap();
    assert_eq!((quiet.report.mode, quiet.report.checked.runs), (Mode::Quiet, 1));
    children.kill();
    let after = tick(&s, false, None).unwrap();
    assert_eq!(after.report.mode, Mode::Incremental);
    assert_eq!(
        after.report.changed[0].kind,
        ChangeKind::Interrupted,
        "{:?}",
        after.report
    );
}

#[test]
fn a_quiet_tick_waits_for_the_learn_journal_and_a_fold_lands_in_the_ticks_one_commit() {
    let now = crate::clock::parse_timestamp("2026-01-01T00:00:00Z").unwrap();
    let (_root, dir) = fresh(now);
    let s = session(&dir, &actor(0), now);
    tick(&s, false, None).unwrap();
    tick(&s, false, None).unwrap();
    assert_eq!(tick(&s, false, None).unwrap().report.mode, Mode::Quiet);
    apply(&dir, &mut now.clone(), &Op::Journal(2), &mut Children::default());
    let folded = tick(&s, false, None).unwrap();
    assert_eq!(folded.report.learn.map(|l| (l.decisions, l.files)), Some((1, 1)));
    let commit = folded.commit.expect("the fold commits");
    assert_eq!(s.store.tip().unwrap(), Some(commit), "one commit");
    let snap = s.store.snapshot().unwrap();
    assert_eq!(learn_ops::decisions(&snap)["high"], 1);
    let counters = metrics::MetricsSnapshot::decode(&snap.read(metrics::snapshot::PATH).unwrap().unwrap()).unwrap();
    assert_eq!(counters.get("learn.decisions.high"), 1);
    assert!(!learn_ops::journal_waiting(&s.store));
    // The view kept after the fold is the view of the fold's tree.
    let kept = read_view(&s.store).unwrap();
    let (full, _) = full_view(&snap, now).unwrap();
    assert_eq!(kept.learn, full.learn);
    assert_eq!(kept.tree, full.tree);
}

#[test]
fn statistics_that_do_not_parse_leave_the_journal_where_it_is() {
    let now = crate::clock::parse_timestamp("2026-01-01T00:00:00Z").unwrap();
    let (_root, dir) = fresh(now);
    let s = session(&dir, &actor(0), now);
    s.store
        .update("human:x", |_| {
            let mut change = Change::new(Message::new("broken statistics"));
            change.put(learn_stats::COMMANDS_PATH.to_owned(), b"schema = [".to_vec());
            Ok(Update::Write(change, ()))
        })
        .unwrap();
    apply(&dir, &mut now.clone(), &Op::Journal(0), &mut Children::default());
    let dir_of = learn_ops::journal::dir(&s.store);
    for _ in 0..2 {
        let t = tick(&s, false, None).unwrap();
        assert!(t.report.learn.is_none(), "{:?}", t.report);
        assert!(
            t.warnings.iter().any(|w| w.contains("learn journal waits")),
            "{:?}",
            t.warnings
        );
        // Not taken aside: no file for every later fold to look up in the history.
        let names: Vec<String> = learn_ops::journal::files(&dir_of)
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(names, ["journal.jsonl"]);
    }
}
