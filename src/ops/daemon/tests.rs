//! The incremental pass against the full pass on random histories: after
//! any sequence of operations, a tick that reads only what changed since
//! the last one decides, reports and counts exactly what a tick reading
//! every file decides, and keeps the same view.

use proptest::prelude::*;

use super::*;
use crate::claims::{ClaimRequest, ClaimState, Force};
use crate::ids::{Actor, AgentId, Role};
use crate::ops::claims::ClaimArgs;
use crate::ops::pool::{AgentOp, Wanted};
use crate::ops::{claims as claim_ops, pool as pool_ops, repo};

#[derive(Debug, Clone)]
enum Op {
    Claim {
        id: u8,
        by: u8,
        role: bool,
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
    Advance(u16),
    Tick,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..6u8, 0..2u8, any::<bool>()).prop_map(|(id, by, role)| Op::Claim { id, by, role }),
        2 => (0..6u8, 0..2u8).prop_map(|(id, by)| Op::Handoff { id, by }),
        1 => (0..6u8, 0..2u8).prop_map(|(id, by)| Op::Accept { id, by }),
        1 => (0..6u8, 0..2u8).prop_map(|(id, by)| Op::Release { id, by }),
        1 => (0..6u8, 0..2u8).prop_map(|(id, by)| Op::Pause { id, by }),
        1 => Just(Op::Spawn),
        1 => (1..4u8).prop_map(Op::Drain),
        1 => (1..4u8).prop_map(Op::Retire),
        1 => (1..4u8).prop_map(Op::Heartbeat),
        1 => (0..4u8).prop_map(Op::DeadRun),
        3 => (1..60u16).prop_map(Op::Advance),
        3 => Just(Op::Tick),
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

fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args(args)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

/// Apply one operation; refusals (a claim held by the other actor, ...) are
/// part of a random history and change nothing.
fn apply(dir: &Path, now: &mut Timestamp, op: &Op) {
    let id = |n: u8| ClaimId::parse(&format!("T-{n}")).unwrap();
    let agent = |n: u8| AgentId::parse(&format!("rev-{n}")).unwrap();
    let s = |by: u8| session(dir, &actor(by), *now);
    let _ = match op {
        Op::Claim { id: n, by, role } => {
            let args = ClaimArgs {
                request: ClaimRequest::default(),
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
        Op::DeadRun(n) => dead_run(&s(0), *n),
        Op::Advance(hours) => {
            *now += chrono::Duration::hours(i64::from(*hours));
            Ok(())
        }
        Op::Tick => tick(&s(0), false, None).map(drop),
    };
}

/// A run ledger `running` on this host whose process is gone (no pid can be u32::MAX).
fn dead_run(s: &Session, n: u8) -> Result<()> {
    let id = RunId::parse(&format!("wf-20260101T000000Z-00000{n}")).unwrap();
    let run = serde_json::json!({
        "schema": 1, "id": id, "workflow": "w",
        "definition": {"path": "w.toml", "blob": "0"},
        "status": "running", "host": crate::os::hostname(), "pid": u32::MAX, "actor": "human:x",
        "started_at": s.now, "steps": [{"id": "a", "status": "failed", "attempts": []}]
    });
    s.store.update("human:x", |_| {
        let mut change = Change::new(Message::new("a dead run"));
        change.put_json(ledger::path(&id), &run)?;
        Ok(StoreOutcome::Write(change, ()))
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
    let mut kept = read_view(&s.store);
    let kept_tree = kept.as_ref().map(|v| (v.tree.clone(), v.full_at));
    // The periodic full pass is not what is compared: keep the kept view recent.
    if let Some(v) = kept.as_mut() {
        v.full_at = now;
    }
    let (incremental, inc) = reconcile(&s, &snap, &mut kept, &kept_tree, false).unwrap();
    let mut none = None;
    let (full, all) = reconcile(&s, &snap, &mut none, &None, true).unwrap();
    prop_assert_eq!(full.mode, Mode::Full);
    let inc_view = inc.post.or(kept).unwrap();
    let full_view = all.post.or(none).unwrap();
    let (a, va) = decisions(&incremental, &inc_view);
    let (b, vb) = decisions(&full, &full_view);
    prop_assert_eq!(a, b);
    prop_assert_eq!(va, vb);
    prop_assert_eq!(
        inc.change.map(|c| c.message.summary),
        all.change.map(|c| c.message.summary)
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    #[test]
    fn an_incremental_tick_decides_what_a_full_tick_decides(ops in prop::collection::vec(op(), 4..24)) {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().to_path_buf();
        git(&dir, &["init", "-q"]);
        git(&dir, &["config", "user.email", "t@example.com"]);
        git(&dir, &["config", "user.name", "t"]);
        let mut now = crate::clock::parse_timestamp("2026-01-01T00:00:00Z").unwrap();
        repo::init(&session(&dir, &actor(0), now), &repo::InitArgs::default()).unwrap();
        pool_ops::spawn(&session(&dir, &actor(0), now), &Role::parse("rev").unwrap(), 2, 1).unwrap();
        // A first tick keeps a view for the incremental passes.
        tick(&session(&dir, &actor(0), now), true, None).unwrap();
        for op in &ops {
            apply(&dir, &mut now, op);
            compare(&dir, now)?;
        }
    }
}
