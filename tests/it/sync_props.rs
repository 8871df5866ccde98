//! Property: whatever two clones do after diverging from a common base, one
//! round of syncs (A, then B, then A) gives both the same tip, keeps every
//! run ledger either side wrote, leaves every claim file sound, matches the
//! per-path policy exactly (a path A changed has A's version, because A
//! published first; otherwise B's), reports as lost exactly the claims both
//! changed differently, and a further sync is a no-op.
//!
//! Real git repositories (a bare remote and two clones on local paths);
//! operations run in-process through `baton::cli::run` and the library's
//! `Store` API, so a case costs milliseconds rather than dozens of processes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::sync_support::{files_at, Net, STATE_REF};
use baton::store::{message, Change, Message, Store, Update};
use clap::Parser;
use proptest::prelude::*;
use serde_json::{json, Value};

const ACTORS: &[&str] = &["agent:ann", "agent:ben", "agent:cat"];
const IDS: &[&str] = &["T-0", "T-1", "T-2", "T-3"];
const ROLES: &[&str] = &["rev", "dev"];

#[derive(Debug, Clone)]
enum Op {
    Claim { actor: usize, id: usize },
    Release { actor: usize, id: usize },
    Handoff { actor: usize, id: usize, to: usize },
    Accept { actor: usize, id: usize },
    Spawn { role: usize },
    Ledger,
}

fn op() -> impl Strategy<Value = Op> {
    let actor = 0..ACTORS.len();
    let id = 0..IDS.len();
    prop_oneof![
        3 => (actor.clone(), id.clone()).prop_map(|(actor, id)| Op::Claim { actor, id }),
        2 => (actor.clone(), id.clone()).prop_map(|(actor, id)| Op::Release { actor, id }),
        // Never to oneself: that is invalid usage, not a state transition.
        1 => (actor.clone(), id.clone(), 1..ACTORS.len())
            .prop_map(|(actor, id, off)| Op::Handoff { actor, id, to: (actor + off) % ACTORS.len() }),
        1 => (actor, id).prop_map(|(actor, id)| Op::Accept { actor, id }),
        1 => (0..ROLES.len()).prop_map(|role| Op::Spawn { role }),
        2 => Just(Op::Ledger),
    ]
}

/// `baton -C <dir> --actor <actor> <args>` in this process. A refusal (a
/// claim held by someone else, not the owner, ...) is a normal outcome of a
/// random operation; anything else is a failure of the property.
fn baton(dir: &Path, actor: &str, args: &[&str]) -> Option<Value> {
    let argv = ["baton", "-C", dir.to_str().unwrap(), "--actor", actor]
        .into_iter()
        .chain(args.iter().copied());
    let cli = baton::cli::Cli::try_parse_from(argv).expect("arguments parse");
    match baton::cli::run(cli) {
        Ok(out) => Some(out.json),
        Err(e) if e.exit_code() == 1 => None,
        Err(e) => panic!("baton {args:?} in {}: {e:?}", dir.display()),
    }
}

/// Model a run ledger: one JSON file under runs/workflow/, written as one
/// operation through the store.
fn write_ledger(dir: &Path, run_id: &str) -> (String, String) {
    let path = format!("runs/workflow/2026/01/01/{run_id}.json");
    // A ledger this baton parses: sync refuses to publish one it cannot.
    let body = json!({
        "schema": 1,
        "id": run_id,
        "workflow": "model",
        "definition": {"path": ".baton/workflows/model.toml", "blob": "0000000000000000000000000000000000000000"},
        "status": "succeeded",
        "host": "model",
        "pid": 1,
        "actor": "agent:runner",
        "started_at": "2026-01-01T00:00:00Z",
        "steps": [],
    });
    let store = Store::discover(dir).expect("store");
    store
        .update("agent:runner", |_| {
            let msg = Message::new(format!("workflow: run {run_id}"))
                .trailer(message::OP, "workflow.run")
                .trailer(message::SUBJECT, format!("run/{run_id}"))
                .trailer(message::ACTOR, "agent:runner");
            let mut change = Change::new(msg);
            change.put_json(path.clone(), &body)?;
            Ok(Update::Write(change, ()))
        })
        .expect("ledger written");
    let written = Store::discover(dir)
        .unwrap()
        .snapshot()
        .unwrap()
        .read(&path)
        .unwrap()
        .expect("ledger readable");
    (path, String::from_utf8(written).unwrap())
}

/// Apply `ops` on the clone at `dir`; returns the ledgers written (path -> content).
fn apply(dir: &Path, side: &str, ops: &[Op]) -> BTreeMap<String, String> {
    let mut ledgers = BTreeMap::new();
    for (n, op) in ops.iter().enumerate() {
        match op {
            Op::Claim { actor, id } => {
                baton(dir, ACTORS[*actor], &["claims", "claim", IDS[*id]]);
            }
            Op::Release { actor, id } => {
                baton(dir, ACTORS[*actor], &["claims", "release", IDS[*id]]);
            }
            Op::Handoff { actor, id, to } => {
                baton(
                    dir,
                    ACTORS[*actor],
                    &["claims", "handoff", IDS[*id], "--to", ACTORS[*to]],
                );
            }
            Op::Accept { actor, id } => {
                baton(dir, ACTORS[*actor], &["claims", "accept", IDS[*id]]);
            }
            Op::Spawn { role } => {
                baton(dir, "human:ops", &["pool", "spawn", "--role", ROLES[*role]]);
            }
            Op::Ledger => {
                // A valid run id (6 hex digits), unique per side and op.
                let side_digit = match side {
                    "a" => 'a',
                    "b" => 'b',
                    _ => 'c',
                };
                let run_id = format!("wf-20260101T000000Z-{side_digit}{n:05x}");
                let (path, content) = write_ledger(dir, &run_id);
                ledgers.insert(path, content);
            }
        }
    }
    ledgers
}

fn sync(dir: &Path, actor: &str) -> Value {
    baton(dir, actor, &["sync"]).expect("sync completes")
}

fn tip(dir: &Path) -> String {
    crate::sync_support::rev_parse(dir, STATE_REF).expect("state ref")
}

fn check(base_ops: &[Op], ops_a: &[Op], ops_b: &[Op]) {
    let net = Net::new();
    let a = net.joined("a");
    let b = net.joined("b");
    let (a, b) = (a.dir.as_path(), b.dir.as_path());

    // The common base: A's operations, published and taken in by B.
    let mut ledgers = apply(a, "base", base_ops);
    sync(a, "agent:ann");
    sync(b, "agent:ben");
    assert_eq!(tip(a), tip(b), "no common base");

    ledgers.extend(apply(a, "a", ops_a));
    ledgers.extend(apply(b, "b", ops_b));
    let (ours_a, ours_b) = (files_at(a, STATE_REF, ""), files_at(b, STATE_REF, ""));
    // The same operations by the same actor in the same second make the same
    // commits, so the merge base can be later than the common base: the
    // merge is 3-way from the true one.
    let (tip_a, tip_b) = (tip(a), tip(b));
    let fetched = crate::sync_support::git_output(b, &["fetch", "-q", a.to_str().unwrap(), &tip_a]);
    assert!(fetched.status.success(), "fetching A's tip into B");
    let merge_base = crate::sync_support::git_output(b, &["merge-base", &tip_a, &tip_b]);
    let base = files_at(b, String::from_utf8_lossy(&merge_base.stdout).trim(), "");
    // The same operations by the same actor in the same second make the same
    // commits: B's history can then be part of A's, and B fast-forwards.
    let b_within_a = crate::sync_support::git_output(a, &["merge-base", "--is-ancestor", &tip(b), &tip(a)])
        .status
        .success();

    sync(a, "agent:ann");
    let merged = sync(b, "agent:ben");
    sync(a, "agent:ann");

    // Same tip everywhere.
    let final_tip = tip(a);
    assert_eq!(tip(b), final_tip, "clones differ");
    assert_eq!(net.tip().as_deref(), Some(final_tip.as_str()), "remote differs");

    // No ledger dropped or altered.
    let merged_files = files_at(a, STATE_REF, "");
    for (path, content) in &ledgers {
        assert_eq!(merged_files.get(path), Some(content), "ledger {path} lost or changed");
    }

    // The policy, path by path: A published first, so what A changed is A's;
    // everything else is B's (which is the base where B did not change it).
    let paths: BTreeSet<&String> = base.keys().chain(ours_a.keys()).chain(ours_b.keys()).collect();
    for path in paths {
        let expected = if ours_a.get(path) != base.get(path) {
            ours_a.get(path)
        } else {
            ours_b.get(path)
        };
        assert_eq!(merged_files.get(path), expected, "{path}");
    }
    assert!(
        merged_files
            .keys()
            .all(|p| base.contains_key(p) || ours_a.contains_key(p) || ours_b.contains_key(p)),
        "a path from nowhere"
    );

    // Exactly the claims both sides changed, differently, are reported lost
    // (by B), unless B's changes were A's too.
    let contested: BTreeSet<String> = ours_b
        .keys()
        .chain(ours_a.keys())
        .filter(|_| !b_within_a)
        .filter(|p| p.starts_with("claims/"))
        .filter(|p| {
            let (b0, a1, b1) = (base.get(*p), ours_a.get(*p), ours_b.get(*p));
            a1 != b0 && b1 != b0 && a1 != b1
        })
        .map(|p| p.rsplit('/').next().unwrap().trim_end_matches(".toml").to_owned())
        .collect();
    let lost: BTreeSet<String> = merged["lost"]
        .as_array()
        .map(|l| l.iter().map(|x| x["id"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    assert_eq!(lost, contested, "lost claims reported by B: {merged}");

    // Every claim file parses, with one state and at most one owner.
    for (path, text) in merged_files.iter().filter(|(p, _)| p.starts_with("claims/")) {
        let claim: baton::claims::Claim =
            toml::from_str(text).unwrap_or_else(|e| panic!("{path} does not parse as a claim: {e}\n{text}"));
        let raw: toml::Table = toml::from_str(text).unwrap();
        assert!(raw["state"].is_str(), "{path}: one state");
        assert!(raw["owner"].is_str(), "{path}: one owner");
        assert!(path.ends_with(&format!("/{}.toml", claim.id)), "{path}");
        assert_eq!(*path, crate::sync_support::claim_path(claim.id.as_str()));
    }
    for dir in [a, b] {
        let doctor = baton(dir, "agent:ann", &["doctor", "claims", "pool"]).expect("doctor runs");
        assert_eq!(doctor["ok"], true, "doctor after the merge: {doctor}");
    }

    // Syncing again changes nothing.
    for (dir, actor) in [(a, "agent:ann"), (b, "agent:ben")] {
        let again = sync(dir, actor);
        assert_eq!(again["action"], "up_to_date", "{again}");
        assert_eq!(tip(dir), final_tip);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn diverged_clones_merge_without_losing_ledgers_and_converge(
        base_ops in prop::collection::vec(op(), 0..5),
        ops_a in prop::collection::vec(op(), 0..10),
        ops_b in prop::collection::vec(op(), 0..10),
    ) {
        check(&base_ops, &ops_a, &ops_b);
    }
}

/// A fixed case with every kind of conflict, so the interesting paths are
/// covered on every run whatever proptest draws.
#[test]
fn every_kind_of_divergence_at_once() {
    use Op::*;
    let base = [
        Claim { actor: 0, id: 0 },
        Claim { actor: 1, id: 1 },
        Spawn { role: 0 },
        Ledger,
    ];
    let a = [
        Claim { actor: 0, id: 2 },          // contested: both claim T-2
        Release { actor: 0, id: 0 },        // A only
        Handoff { actor: 1, id: 1, to: 2 }, // ben offers T-1 on A while releasing it on B
        Spawn { role: 1 },
        Ledger,
        Ledger,
    ];
    let b = [
        Claim { actor: 1, id: 2 },
        Claim { actor: 2, id: 3 },   // B only
        Release { actor: 1, id: 1 }, // contested with A's handoff
        Spawn { role: 1 },           // both spawn dev-1
        Ledger,
    ];
    check(&base, &a, &b);
}
