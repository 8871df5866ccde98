//! The claims of docs/command-handbook.md (Claims), transition by transition and refusal by
//! refusal, against the built binary on a real repository. Every refusal is
//! checked for its exit code, the `error:`/`hint:` lines, the JSON error
//! document, and that `refs/baton/state` did not move.

use crate::common::{claim_path, t0_plus, Repo, T0};
use predicates::prelude::PredicateBooleanExt;
use serde_json::Value;

const ALICE: &str = "agent:alice";
const BOB: &str = "agent:bob";
const CAROL: &str = "human:carol";

/// The trailers of the tip commit, as `(key, value)` lines.
fn tip_trailers(repo: &Repo) -> Vec<(String, String)> {
    repo.git(&[
        "log",
        "-1",
        "--format=%(trailers:only,unfold)",
        crate::common::STATE_REF,
    ])
    .lines()
    .filter_map(|l| l.split_once(": "))
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn trailer(repo: &Repo, key: &str) -> Vec<String> {
    tip_trailers(repo)
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .collect()
}

/// The ids `claims list ARGS` prints for a third party, in its order.
fn listed_ids(repo: &Repo, args: &[&str]) -> Vec<String> {
    let mut full = vec!["claims", "list"];
    full.extend_from_slice(args);
    repo.run(CAROL, &full).ok()["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Run, expect success with a new commit, return the claim.
fn step(repo: &Repo, actor: &str, args: &[&str]) -> Value {
    let before = repo.commit_count();
    let run = repo.run(actor, args);
    let out = run.ok();
    assert_eq!(out["changed"], true, "{}", run.describe());
    assert_eq!(
        repo.commit_count(),
        before + 1,
        "one operation, one commit: {}",
        run.describe()
    );
    assert_eq!(out["commit"].as_str(), repo.tip().as_deref());
    out["claim"].clone()
}

fn step_at(repo: &Repo, actor: &str, now: &str, args: &[&str]) -> Value {
    let before = repo.commit_count();
    let run = repo.run_at(actor, now, args);
    let out = run.ok();
    assert_eq!(out["changed"], true, "{}", run.describe());
    assert_eq!(repo.commit_count(), before + 1, "{}", run.describe());
    out["claim"].clone()
}

fn agent_load(repo: &Repo, id: &str) -> u64 {
    let list = repo.run(CAROL, &["pool", "list"]).ok();
    list["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("no agent {id} in {list}"))["load"]
        .as_u64()
        .unwrap()
}

// ---------------------------------------------------------------- claim

#[test]
fn claim_new_id_creates_an_active_claim_in_one_commit() {
    let repo = Repo::new();
    let c = step_at(&repo, ALICE, T0, &["claims", "claim", "T-1", "--note", "first try"]);
    assert_eq!(c["id"], "T-1");
    assert_eq!(c["state"], "active");
    assert_eq!(c["owner"], ALICE);
    assert_eq!(c["generation"], 1);
    assert_eq!(c["created_at"], T0);
    assert_eq!(c["updated_at"], T0);
    assert_eq!(c["note"], "first try");
    assert!(c.get("handoff_to").is_none());

    // The file is where docs/storage.md says, with `schema = 1`.
    let file = repo
        .state_file(&claim_path("T-1"))
        .expect("claim file at its shard path");
    assert!(file.contains("schema = 1"), "{file}");
    assert!(file.contains("owner = \"agent:alice\""), "{file}");

    // The commit carries the trailers of docs/storage.md; author = the actor.
    assert_eq!(trailer(&repo, "Baton-Op"), ["claims.claim"]);
    assert_eq!(trailer(&repo, "Baton-Subject"), ["claim/T-1"]);
    assert_eq!(trailer(&repo, "Baton-Actor"), [ALICE]);
    assert_eq!(trailer(&repo, "Baton-Generation"), ["1"]);
    assert_eq!(
        repo.git(&["log", "-1", "--format=%an", crate::common::STATE_REF]),
        ALICE
    );
    assert_eq!(
        repo.git(&["log", "-1", "--format=%s", crate::common::STATE_REF]),
        "claims: claim T-1 by agent:alice"
    );
}

#[test]
fn claim_repeat_by_the_same_actor_succeeds_without_a_commit() {
    let repo = Repo::new();
    step(&repo, ALICE, &["claims", "claim", "T-1"]);
    let tip = repo.state();
    let run = repo.run(ALICE, &["claims", "claim", "T-1"]);
    let out = run.ok();
    assert_eq!(out["changed"], false, "{}", run.describe());
    assert_eq!(out["commit"], Value::Null);
    assert_eq!(out["claim"]["owner"], ALICE);
    assert_eq!(out["claim"]["generation"], 1);
    assert_eq!(repo.state(), tip, "an idempotent repeat adds no commit");

    // Also from paused: still ours, still no commit.
    step(&repo, ALICE, &["claims", "pause", "T-1"]);
    let tip = repo.state();
    assert_eq!(repo.run(ALICE, &["claims", "claim", "T-1"]).ok()["changed"], false);
    assert_eq!(repo.state(), tip);
}

#[test]
fn claim_held_by_another_is_refused_naming_the_holder_and_since_when() {
    let repo = Repo::new();
    step_at(&repo, ALICE, T0, &["claims", "claim", "T-1"]);
    let run = repo.refuse_at(BOB, &t0_plus(1), &["claims", "claim", "T-1"], 1, "claim_held");
    let msg = run.message();
    assert!(msg.contains("agent:alice"), "names the holder: {msg}");
    assert!(msg.contains(T0), "says since when: {msg}");
    assert!(run.stderr.contains("agent:alice"), "{}", run.stderr);

    // Every held state keeps others out, not only `active`.
    for (verb, state) in [("pause", "paused"), ("block", "blocked")] {
        repo.run(ALICE, &["claims", verb, "T-1"]).ok();
        assert_eq!(repo.claim("T-1")["state"], state);
        repo.refuse(BOB, &["claims", "claim", "T-1"], 1, "claim_held");
        repo.run(ALICE, &["claims", "resume", "T-1"]).ok();
    }
    step(&repo, ALICE, &["claims", "handoff", "T-1", "--to", CAROL]);
    repo.refuse(BOB, &["claims", "claim", "T-1"], 1, "claim_held");
}

#[test]
fn claim_of_completed_or_expired_starts_a_new_generation() {
    let repo = Repo::new();
    step_at(&repo, ALICE, T0, &["claims", "claim", "T-1"]);
    step_at(&repo, ALICE, T0, &["claims", "release", "T-1"]);

    let c = step_at(&repo, BOB, &t0_plus(1), &["claims", "claim", "T-1"]);
    assert_eq!(c["state"], "active");
    assert_eq!(c["owner"], BOB);
    assert_eq!(c["generation"], 2);
    assert_eq!(c["created_at"], t0_plus(1));
    assert_eq!(trailer(&repo, "Baton-Generation"), ["2"]);

    // Untouched past claims.stale_after (48h): expire makes it `expired`.
    let now = t0_plus(60);
    repo.run_at(CAROL, &now, &["claims", "expire", "--apply"]).ok();
    assert_eq!(repo.claim("T-1")["state"], "expired");

    let c = step_at(&repo, CAROL, &t0_plus(61), &["claims", "claim", "T-1"]);
    assert_eq!(c["state"], "active");
    assert_eq!(c["owner"], CAROL);
    assert_eq!(c["generation"], 3);

    // The previous holder, releasing after it lost the claim, is refused.
    repo.refuse(BOB, &["claims", "release", "T-1"], 1, "not_owner");
}

#[test]
fn claim_with_a_lapsed_lease_can_be_taken_by_another() {
    let repo = Repo::new();
    let c = step_at(&repo, ALICE, T0, &["claims", "claim", "T-1", "--lease", "2h"]);
    assert_eq!(c["lease_until"], t0_plus(2));
    repo.refuse_at(BOB, &t0_plus(1), &["claims", "claim", "T-1"], 1, "claim_held");
    let c = step_at(&repo, BOB, &t0_plus(3), &["claims", "claim", "T-1"]);
    assert_eq!(c["owner"], BOB);
    assert_eq!(c["generation"], 2);
    assert!(c.get("lease_until").is_none(), "no lease asked for: {c}");
}

#[test]
fn claim_force_takeover_needs_a_reason_and_is_recorded() {
    let repo = Repo::new();
    step(&repo, ALICE, &["claims", "claim", "T-1"]);

    // --force without --reason, and --reason without --force: invalid usage.
    repo.refuse(BOB, &["claims", "claim", "T-1", "--force"], 2, "usage");
    repo.refuse(BOB, &["claims", "claim", "T-1", "--reason", "why not"], 2, "usage");

    let c = step(
        &repo,
        BOB,
        &["claims", "claim", "T-1", "--force", "--reason", "alice is on leave"],
    );
    assert_eq!(c["owner"], BOB);
    assert_eq!(c["state"], "active");
    assert_eq!(c["generation"], 2);
    assert_eq!(c["reason"], "alice is on leave");
    assert_eq!(trailer(&repo, "Baton-Reason"), ["alice is on leave"]);
    assert_eq!(trailer(&repo, "Baton-Actor"), [BOB]);
    let subject = repo.git(&["log", "-1", "--format=%s", crate::common::STATE_REF]);
    assert!(subject.contains("take over T-1 from agent:alice"), "{subject}");

    // The old owner is now the outsider.
    repo.refuse(ALICE, &["claims", "pause", "T-1"], 1, "not_owner");
}

#[test]
fn claim_with_role_assigns_least_loaded_healthy_agent_ties_by_lowest_id() {
    let repo = Repo::new();
    repo.run(
        CAROL,
        &["pool", "spawn", "--role", "rev", "--count", "3", "--capacity", "2"],
    )
    .ok();

    let assigned = |id: &str| -> String {
        let c = step(&repo, CAROL, &["claims", "claim", id, "--role", "rev"]);
        assert_eq!(c["role"], "rev", "{c}");
        c["agent"].as_str().unwrap().to_owned()
    };
    // All idle: lowest id. Then always the least loaded, ties by lowest id.
    assert_eq!(assigned("T-1"), "rev-1");
    assert_eq!(assigned("T-2"), "rev-2");
    assert_eq!(assigned("T-3"), "rev-3");
    assert_eq!(assigned("T-4"), "rev-1");
    // Free rev-2: it is now the least loaded.
    step(&repo, CAROL, &["claims", "release", "T-2"]);
    assert_eq!(agent_load(&repo, "rev-2"), 0);
    assert_eq!(assigned("T-5"), "rev-2");
    assert_eq!(assigned("T-6"), "rev-2");
    assert_eq!(assigned("T-7"), "rev-3");
    assert_eq!(agent_load(&repo, "rev-1"), 2);
    assert_eq!(agent_load(&repo, "rev-2"), 2);
    assert_eq!(agent_load(&repo, "rev-3"), 2);

    // Everyone at capacity: refused, exit 1, nothing written.
    let run = repo.refuse(CAROL, &["claims", "claim", "T-8", "--role", "rev"], 1, "no_capacity");
    assert!(run.hint().contains("pool spawn"), "{}", run.hint());
    assert!(repo.state_file(&claim_path("T-8")).is_none());
}

#[test]
fn claim_with_role_ties_go_to_the_lowest_numbered_agent() {
    // With ten or more agents, "lowest id" must still mean rev-2 before rev-10.
    let repo = Repo::new();
    repo.run(CAROL, &["pool", "spawn", "--role", "rev", "--count", "11"])
        .ok();
    let mut got = Vec::new();
    for i in 1..=11 {
        let id = format!("T-{i}");
        let c = step(&repo, CAROL, &["claims", "claim", &id, "--role", "rev"]);
        got.push(c["agent"].as_str().unwrap().to_owned());
    }
    let want: Vec<String> = (1..=11).map(|n| format!("rev-{n}")).collect();
    assert_eq!(got, want);
}

#[test]
fn claim_with_role_and_no_capacity_is_refused() {
    let repo = Repo::new();
    // No agent of the role at all.
    let run = repo.refuse(ALICE, &["claims", "claim", "T-1", "--role", "ops"], 1, "no_capacity");
    assert!(run.message().contains("ops"), "{}", run.message());
    // One agent, already busy.
    repo.run(CAROL, &["pool", "spawn", "--role", "ops"]).ok();
    step(&repo, ALICE, &["claims", "claim", "T-1", "--role", "ops"]);
    repo.refuse(BOB, &["claims", "claim", "T-2", "--role", "ops"], 1, "no_capacity");
    // --role and --agent together: invalid usage.
    repo.refuse(
        BOB,
        &["claims", "claim", "T-2", "--role", "ops", "--agent", "ops-1"],
        2,
        "usage",
    );
}

#[test]
fn claim_with_agent_assigns_that_agent_if_it_can_take_work() {
    let repo = Repo::new();
    repo.run(CAROL, &["pool", "spawn", "--role", "rev", "--count", "2"])
        .ok();
    let c = step(&repo, ALICE, &["claims", "claim", "T-1", "--agent", "rev-2"]);
    assert_eq!(c["agent"], "rev-2");
    assert_eq!(c["role"], "rev");
    assert_eq!(agent_load(&repo, "rev-2"), 1);
    assert_eq!(agent_load(&repo, "rev-1"), 0);

    repo.refuse(ALICE, &["claims", "claim", "T-2", "--agent", "rev-2"], 1, "no_capacity");
    repo.refuse(ALICE, &["claims", "claim", "T-2", "--agent", "rev-9"], 1, "no_agent");
    repo.run(CAROL, &["pool", "drain", "rev-1"]).ok();
    repo.refuse(
        ALICE,
        &["claims", "claim", "T-2", "--agent", "rev-1"],
        1,
        "agent_unavailable",
    );
}

// -------------------------------------------------------------- handoff

#[test]
fn handoff_only_by_the_owner_only_from_active() {
    let repo = Repo::new();
    repo.refuse(ALICE, &["claims", "handoff", "T-1", "--to", BOB], 1, "no_claim");
    step(&repo, ALICE, &["claims", "claim", "T-1"]);

    let run = repo.refuse(BOB, &["claims", "handoff", "T-1", "--to", CAROL], 1, "not_owner");
    assert!(run.message().contains("agent:alice"), "{}", run.message());

    step(&repo, ALICE, &["claims", "pause", "T-1"]);
    repo.refuse(ALICE, &["claims", "handoff", "T-1", "--to", BOB], 1, "wrong_state");
    step(&repo, ALICE, &["claims", "resume", "T-1"]);
    step(&repo, ALICE, &["claims", "block", "T-1"]);
    repo.refuse(ALICE, &["claims", "handoff", "T-1", "--to", BOB], 1, "wrong_state");
    step(&repo, ALICE, &["claims", "resume", "T-1"]);

    // To yourself: invalid input.
    repo.refuse(
        ALICE,
        &["claims", "handoff", "T-1", "--to", ALICE],
        2,
        "handoff_to_self",
    );
    // --to is required and must be an actor.
    repo.refuse(ALICE, &["claims", "handoff", "T-1"], 2, "usage");
    repo.refuse(ALICE, &["claims", "handoff", "T-1", "--to", "bob"], 2, "invalid_actor");

    let c = step(
        &repo,
        ALICE,
        &["claims", "handoff", "T-1", "--to", BOB, "--note", "tests are green"],
    );
    assert_eq!(c["state"], "handoff_pending");
    assert_eq!(c["owner"], ALICE, "the owner keeps it until accepted");
    assert_eq!(c["handoff_to"], BOB);
    assert_eq!(c["handoff_note"], "tests are green");
    assert_eq!(c["generation"], 1);
    assert_eq!(trailer(&repo, "Baton-Op"), ["claims.handoff"]);

    // Already pending: not again.
    repo.refuse(ALICE, &["claims", "handoff", "T-1", "--to", CAROL], 1, "wrong_state");
    // Completed claims cannot be handed off either.
    step(&repo, ALICE, &["claims", "claim", "T-2"]);
    step(&repo, ALICE, &["claims", "release", "T-2"]);
    repo.refuse(ALICE, &["claims", "handoff", "T-2", "--to", BOB], 1, "wrong_state");
}

#[test]
fn accept_only_by_the_handoff_target_moves_ownership() {
    let repo = Repo::new();
    step_at(&repo, ALICE, T0, &["claims", "claim", "T-1"]);
    // Nothing pending: refused.
    repo.refuse(BOB, &["claims", "accept", "T-1"], 1, "wrong_state");
    repo.refuse(BOB, &["claims", "accept", "T-9"], 1, "no_claim");
    step_at(
        &repo,
        ALICE,
        T0,
        &["claims", "handoff", "T-1", "--to", BOB, "--note", "n"],
    );

    let run = repo.refuse(CAROL, &["claims", "accept", "T-1"], 1, "not_handoff_target");
    assert!(run.message().contains(BOB), "{}", run.message());
    repo.refuse(ALICE, &["claims", "accept", "T-1"], 1, "not_handoff_target");

    let c = step_at(&repo, BOB, &t0_plus(1), &["claims", "accept", "T-1"]);
    assert_eq!(c["state"], "active");
    assert_eq!(c["owner"], BOB);
    assert_eq!(c["generation"], 2);
    assert_eq!(c["created_at"], t0_plus(1), "a new holding begins");
    assert!(c.get("handoff_to").is_none(), "{c}");
    assert!(c.get("handoff_note").is_none(), "{c}");
    assert_eq!(trailer(&repo, "Baton-Op"), ["claims.accept"]);
    assert_eq!(trailer(&repo, "Baton-Generation"), ["2"]);

    // Done once; not twice; and the old owner is out.
    repo.refuse(BOB, &["claims", "accept", "T-1"], 1, "wrong_state");
    repo.refuse(ALICE, &["claims", "release", "T-1"], 1, "not_owner");
}

#[test]
fn accept_by_a_pool_agent_moves_the_load_to_it() {
    let repo = Repo::new();
    repo.run(CAROL, &["pool", "spawn", "--role", "rev", "--count", "2"])
        .ok();
    let c = step(&repo, CAROL, &["claims", "claim", "T-1", "--role", "rev"]);
    assert_eq!(c["agent"], "rev-1");
    step(&repo, CAROL, &["claims", "handoff", "T-1", "--to", "agent:rev-2"]);
    let c = step(&repo, "agent:rev-2", &["claims", "accept", "T-1"]);
    assert_eq!(c["agent"], "rev-2");
    assert_eq!(agent_load(&repo, "rev-1"), 0);
    assert_eq!(agent_load(&repo, "rev-2"), 1);
}

#[test]
fn reject_needs_a_reason_and_returns_the_claim_to_its_owner() {
    let repo = Repo::new();
    step(&repo, ALICE, &["claims", "claim", "T-1"]);
    step(&repo, ALICE, &["claims", "handoff", "T-1", "--to", BOB, "--note", "n"]);

    // --reason is required: exit 2, with or without a value.
    let run = repo.refuse(BOB, &["claims", "reject", "T-1"], 2, "usage");
    assert!(
        run.message().contains("--reason"),
        "the message names what is missing: {}",
        run.message()
    );
    repo.refuse(BOB, &["claims", "reject", "T-1", "--reason", " "], 2, "reason_required");
    // Only the target.
    repo.refuse(
        CAROL,
        &["claims", "reject", "T-1", "--reason", "x"],
        1,
        "not_handoff_target",
    );
    repo.refuse(
        ALICE,
        &["claims", "reject", "T-1", "--reason", "x"],
        1,
        "not_handoff_target",
    );

    let c = step(&repo, BOB, &["claims", "reject", "T-1", "--reason", "not my area"]);
    assert_eq!(c["state"], "active");
    assert_eq!(c["owner"], ALICE);
    assert_eq!(c["generation"], 1, "the holder did not change");
    assert_eq!(c["reason"], "not my area");
    assert!(c.get("handoff_to").is_none(), "{c}");
    assert!(c.get("handoff_note").is_none(), "{c}");
    assert_eq!(trailer(&repo, "Baton-Op"), ["claims.reject"]);

    // No longer pending.
    repo.refuse(BOB, &["claims", "reject", "T-1", "--reason", "x"], 1, "wrong_state");
    repo.refuse(BOB, &["claims", "reject", "T-9", "--reason", "x"], 1, "no_claim");
}

// ------------------------------------------------- pause, block, resume

#[test]
fn pause_block_resume_are_for_the_owner_only() {
    let repo = Repo::new();
    repo.refuse(ALICE, &["claims", "pause", "T-1"], 1, "no_claim");
    step(&repo, ALICE, &["claims", "claim", "T-1"]);
    for verb in ["pause", "block", "resume"] {
        repo.refuse(BOB, &["claims", verb, "T-1"], 1, "not_owner");
    }

    let c = step(&repo, ALICE, &["claims", "pause", "T-1", "--reason", "lunch"]);
    assert_eq!(c["state"], "paused");
    assert_eq!(c["reason"], "lunch");
    repo.refuse(BOB, &["claims", "resume", "T-1"], 1, "not_owner");

    // Paused again without a new reason: nothing to do, no commit.
    let tip = repo.state();
    assert_eq!(repo.run(ALICE, &["claims", "pause", "T-1"]).ok()["changed"], false);
    assert_eq!(repo.state(), tip);

    let c = step(&repo, ALICE, &["claims", "block", "T-1", "--reason", "waiting on CI"]);
    assert_eq!(c["state"], "blocked");
    assert_eq!(c["reason"], "waiting on CI");

    let c = step(&repo, ALICE, &["claims", "resume", "T-1"]);
    assert_eq!(c["state"], "active");
    assert!(c.get("reason").is_none(), "{c}");
    assert_eq!(c["generation"], 1);

    // Resuming an active claim changes nothing.
    let tip = repo.state();
    assert_eq!(repo.run(ALICE, &["claims", "resume", "T-1"]).ok()["changed"], false);
    assert_eq!(repo.state(), tip);

    // Not from handoff_pending, and not on a released claim.
    step(&repo, ALICE, &["claims", "handoff", "T-1", "--to", BOB]);
    repo.refuse(ALICE, &["claims", "pause", "T-1"], 1, "wrong_state");
    repo.refuse(ALICE, &["claims", "resume", "T-1"], 1, "wrong_state");
    step(&repo, ALICE, &["claims", "release", "T-1"]);
    for verb in ["pause", "block", "resume"] {
        repo.refuse(ALICE, &["claims", verb, "T-1"], 1, "wrong_state");
    }
}

// ---------------------------------------------------------------- renew

#[test]
fn renew_is_owner_only_and_extends_the_lease() {
    let repo = Repo::new();
    let c = step_at(&repo, ALICE, T0, &["claims", "claim", "T-1", "--lease", "2h"]);
    assert_eq!(c["lease_until"], t0_plus(2));

    repo.refuse_at(
        BOB,
        &t0_plus(1),
        &["claims", "renew", "T-1", "--lease", "3h"],
        1,
        "not_owner",
    );

    let c = step_at(&repo, ALICE, &t0_plus(1), &["claims", "renew", "T-1", "--lease", "3h"]);
    assert_eq!(c["lease_until"], t0_plus(4));
    assert_eq!(c["updated_at"], t0_plus(1));
    assert_eq!(c["created_at"], T0, "renew keeps the holding");
    assert_eq!(c["generation"], 1);

    // Without --lease: touches updated_at (and uses claims.default_lease if set).
    let c = step_at(&repo, ALICE, &t0_plus(2), &["claims", "renew", "T-1"]);
    assert_eq!(c["updated_at"], t0_plus(2));
    assert_eq!(c["lease_until"], t0_plus(4));
    repo.run(CAROL, &["config", "set", "claims.default_lease", "30m"]).ok();
    let c = step_at(&repo, ALICE, &t0_plus(3), &["claims", "renew", "T-1"]);
    assert_eq!(c["lease_until"], crate::common::t0_plus_minutes(3 * 60 + 30));

    repo.refuse(
        ALICE,
        &["claims", "renew", "T-1", "--lease", "soon"],
        2,
        "invalid_duration",
    );
    repo.refuse(ALICE, &["claims", "renew", "T-9"], 1, "no_claim");
    step(&repo, ALICE, &["claims", "release", "T-1"]);
    repo.refuse(ALICE, &["claims", "renew", "T-1"], 1, "wrong_state");
}

// -------------------------------------------------------------- release

#[test]
fn release_by_the_owner_from_every_held_state() {
    let repo = Repo::new();
    repo.refuse(ALICE, &["claims", "release", "T-1"], 1, "no_claim");
    for (id, park) in [
        ("T-active", None),
        ("T-paused", Some("pause")),
        ("T-blocked", Some("block")),
    ] {
        step(&repo, ALICE, &["claims", "claim", id, "--lease", "1h"]);
        if let Some(verb) = park {
            step(&repo, ALICE, &["claims", verb, id]);
        }
        repo.refuse(BOB, &["claims", "release", id], 1, "not_owner");
        let c = step(&repo, ALICE, &["claims", "release", id]);
        assert_eq!(c["state"], "completed", "{id}");
        assert_eq!(c["owner"], ALICE);
        assert_eq!(c["generation"], 1);
        assert!(c.get("lease_until").is_none(), "{c}");
        assert_eq!(trailer(&repo, "Baton-Op"), ["claims.release"]);
        // Released once; not twice.
        repo.refuse(ALICE, &["claims", "release", id], 1, "wrong_state");
    }
}

#[test]
fn release_cancels_a_pending_handoff() {
    let repo = Repo::new();
    step(&repo, ALICE, &["claims", "claim", "T-1"]);
    step(&repo, ALICE, &["claims", "handoff", "T-1", "--to", BOB, "--note", "n"]);
    // The handoff target is not the owner.
    repo.refuse(BOB, &["claims", "release", "T-1"], 1, "not_owner");
    let c = step(&repo, ALICE, &["claims", "release", "T-1"]);
    assert_eq!(c["state"], "completed");
    assert!(c.get("handoff_to").is_none(), "{c}");
    assert!(c.get("handoff_note").is_none(), "{c}");
    repo.refuse(BOB, &["claims", "accept", "T-1"], 1, "wrong_state");
}

#[test]
fn release_force_by_another_needs_a_reason_and_is_recorded() {
    let repo = Repo::new();
    step(&repo, ALICE, &["claims", "claim", "T-1"]);
    repo.refuse(BOB, &["claims", "release", "T-1", "--force"], 2, "usage");
    repo.refuse(BOB, &["claims", "release", "T-1", "--reason", "x"], 2, "usage");
    let c = step(
        &repo,
        BOB,
        &["claims", "release", "T-1", "--force", "--reason", "abandoned"],
    );
    assert_eq!(c["state"], "completed");
    assert_eq!(c["owner"], ALICE, "release does not change the owner");
    assert_eq!(c["reason"], "abandoned");
    assert_eq!(trailer(&repo, "Baton-Reason"), ["abandoned"]);
    assert_eq!(trailer(&repo, "Baton-Actor"), [BOB]);
    let subject = repo.git(&["log", "-1", "--format=%s", crate::common::STATE_REF]);
    assert!(subject.contains("force-release T-1"), "{subject}");
}

#[test]
fn release_frees_the_agent_load() {
    let repo = Repo::new();
    repo.run(CAROL, &["pool", "spawn", "--role", "rev"]).ok();
    step(&repo, ALICE, &["claims", "claim", "T-1", "--role", "rev"]);
    assert_eq!(agent_load(&repo, "rev-1"), 1);
    repo.refuse(BOB, &["claims", "claim", "T-2", "--role", "rev"], 1, "no_capacity");
    step(&repo, ALICE, &["claims", "release", "T-1"]);
    assert_eq!(agent_load(&repo, "rev-1"), 0);
    let c = step(&repo, BOB, &["claims", "claim", "T-2", "--role", "rev"]);
    assert_eq!(c["agent"], "rev-1");
}

// --------------------------------------------------------------- expire

fn expired_ids(out: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = out["expired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_owned(),
                e["cause"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn expire_lists_in_a_dry_run_and_applies_in_one_commit() {
    let repo = Repo::new();
    step_at(&repo, ALICE, T0, &["claims", "claim", "A"]);
    step_at(&repo, ALICE, T0, &["claims", "claim", "B"]);
    step_at(&repo, ALICE, T0, &["claims", "pause", "B"]);
    step_at(&repo, ALICE, T0, &["claims", "claim", "H"]);
    step_at(&repo, ALICE, T0, &["claims", "handoff", "H", "--to", BOB]);
    step_at(&repo, ALICE, T0, &["claims", "claim", "DONE"]);
    step_at(&repo, ALICE, T0, &["claims", "release", "DONE"]);
    step_at(&repo, ALICE, &t0_plus(30), &["claims", "claim", "FRESH"]);

    // 23h: nothing is due.
    let out = repo.run_at(CAROL, &t0_plus(23), &["claims", "expire"]).ok();
    assert_eq!(expired_ids(&out), Vec::<(String, String)>::new());

    // 25h: the handoff timed out (handoff_timeout = 24h); claims are not stale yet.
    let tip = repo.state();
    let out = repo.run_at(CAROL, &t0_plus(25), &["claims", "expire"]).ok();
    assert_eq!(out["applied"], false);
    assert_eq!(expired_ids(&out), [("H".into(), "handoff_timed_out".into())]);
    assert_eq!(repo.state(), tip, "a dry run writes nothing");

    let out = repo.run_at(CAROL, &t0_plus(25), &["claims", "expire", "--apply"]).ok();
    assert_eq!(out["applied"], true);
    assert_eq!(
        repo.git(&["rev-list", "--count", &format!("{tip}..{}", crate::common::STATE_REF)]),
        "1"
    );
    let h = repo.claim("H");
    assert_eq!(h["state"], "active", "a timed-out handoff returns to its owner");
    assert_eq!(h["owner"], ALICE);
    assert_eq!(h["generation"], 1);
    assert!(h.get("handoff_to").is_none(), "{h}");

    // 49h: A (active) and B (paused) are untouched past stale_after = 48h;
    // FRESH, H (touched at 25h) and the completed DONE are not.
    let tip = repo.state();
    let before = repo.commit_count();
    let out = repo.run_at(CAROL, &t0_plus(49), &["claims", "expire"]).ok();
    assert_eq!(
        expired_ids(&out),
        [("A".into(), "stale".into()), ("B".into(), "stale".into())]
    );
    assert_eq!(repo.state(), tip);
    let out = repo.run_at(CAROL, &t0_plus(49), &["claims", "expire", "--apply"]).ok();
    assert_eq!(out["applied"], true);
    assert_eq!(repo.commit_count(), before + 1, "one --apply, one commit");
    let subjects = trailer(&repo, "Baton-Subject");
    assert_eq!(subjects, ["claim/A", "claim/B"], "one commit names both");
    assert_eq!(trailer(&repo, "Baton-Op"), ["claims.expire"]);
    for id in ["A", "B"] {
        let c = repo.claim(id);
        assert_eq!(c["state"], "expired", "{id}");
        assert_eq!(c["reason"], "stale");
    }
    assert_eq!(repo.claim("FRESH")["state"], "active");
    assert_eq!(repo.claim("DONE")["state"], "completed");

    // Nothing left: --apply writes nothing.
    let tip = repo.state();
    let out = repo.run_at(CAROL, &t0_plus(49), &["claims", "expire", "--apply"]).ok();
    assert_eq!(out["applied"], false);
    assert_eq!(repo.state(), tip);

    // --older-than overrides stale_after.
    let out = repo
        .run_at(CAROL, &t0_plus(49), &["claims", "expire", "--older-than", "10h"])
        .ok();
    assert_eq!(
        expired_ids(&out),
        [("FRESH".into(), "stale".into()), ("H".into(), "stale".into())]
    );
}

#[test]
fn expire_uses_the_policy_and_lapsed_leases() {
    let repo = Repo::new();
    repo.run(CAROL, &["config", "set", "claims.stale_after", "2h"]).ok();
    step_at(&repo, ALICE, T0, &["claims", "claim", "S"]);
    step_at(&repo, ALICE, T0, &["claims", "claim", "L", "--lease", "30m"]);
    let out = repo
        .run_at(CAROL, &crate::common::t0_plus_minutes(45), &["claims", "expire"])
        .ok();
    assert_eq!(expired_ids(&out), [("L".into(), "lease_lapsed".into())]);
    let out = repo.run_at(CAROL, &t0_plus(3), &["claims", "expire", "--apply"]).ok();
    assert_eq!(
        expired_ids(&out),
        [("L".into(), "lease_lapsed".into()), ("S".into(), "stale".into())]
    );
    assert_eq!(repo.claim("S")["state"], "expired");
    assert_eq!(repo.claim("L")["state"], "expired");
}

#[test]
fn baton_now_must_be_rfc3339() {
    let repo = Repo::new();
    let run = repo.refuse_at(ALICE, "yesterday", &["claims", "claim", "T-1"], 2, "invalid_time");
    assert!(run.message().contains("BATON_NOW"), "{}", run.message());
    // An offset is converted to UTC.
    let c = step_at(&repo, ALICE, "2026-01-01T02:00:00+02:00", &["claims", "claim", "T-1"]);
    assert_eq!(c["created_at"], T0);
}

// ------------------------------------------------------ status and list

#[test]
fn status_shows_one_claim_or_a_summary() {
    let repo = Repo::new();
    step_at(&repo, ALICE, T0, &["claims", "claim", "T-1", "--note", "hello"]);
    step_at(&repo, ALICE, T0, &["claims", "claim", "T-2"]);
    step_at(&repo, ALICE, T0, &["claims", "pause", "T-2"]);
    step_at(&repo, BOB, T0, &["claims", "claim", "T-3"]);
    step_at(&repo, BOB, T0, &["claims", "release", "T-3"]);

    let one = repo.run(BOB, &["claims", "status", "T-1"]).ok();
    assert_eq!(one["claim"]["owner"], ALICE);
    assert_eq!(one["claim"]["note"], "hello");
    assert_eq!(one["claim"]["created_at"], T0);

    let sum = repo.run(ALICE, &["claims", "status"]).ok();
    assert_eq!(sum["actor"], ALICE);
    assert_eq!(sum["counts"]["active"], 1);
    assert_eq!(sum["counts"]["paused"], 1);
    assert_eq!(sum["counts"]["completed"], 1);
    assert_eq!(sum["counts"]["expired"], 0);
    let mine: Vec<&str> = sum["mine"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(mine, ["T-1", "T-2"]);
    assert_eq!(repo.run(BOB, &["claims", "status"]).ok()["mine"], serde_json::json!([]));

    let run = repo.refuse(ALICE, &["claims", "status", "T-404"], 1, "no_claim");
    assert!(run.hint().contains("baton claims claim T-404"), "{}", run.hint());

    // Text mode names the claim and its holder.
    repo.cmd(BOB)
        .args(["claims", "status", "T-1"])
        .assert()
        .success()
        .stdout(predicates::str::contains("T-1").and(predicates::str::contains("agent:alice")));
}

#[test]
fn list_filters_by_state_owner_and_agent() {
    let repo = Repo::new();
    assert_eq!(repo.claims(), Vec::<Value>::new());
    repo.run(CAROL, &["pool", "spawn", "--role", "rev", "--count", "2"])
        .ok();
    step(&repo, ALICE, &["claims", "claim", "T-3", "--agent", "rev-1"]);
    step(&repo, ALICE, &["claims", "claim", "T-1"]);
    step(&repo, BOB, &["claims", "claim", "T-2", "--agent", "rev-2"]);
    step(&repo, BOB, &["claims", "pause", "T-2"]);
    step(&repo, BOB, &["claims", "claim", "T-4"]);
    step(&repo, BOB, &["claims", "release", "T-4"]);

    let ids = |args: &[&str]| listed_ids(&repo, args);
    assert_eq!(ids(&[]), ["T-1", "T-2", "T-3"], "held claims by default, sorted by id");
    assert_eq!(ids(&["--all"]), ["T-1", "T-2", "T-3", "T-4"], "--all: history too");
    assert_eq!(ids(&["--state", "active"]), ["T-1", "T-3"]);
    assert_eq!(ids(&["--state", "paused"]), ["T-2"]);
    assert_eq!(ids(&["--state", "completed"]), ["T-4"], "a state asked for is shown");
    assert_eq!(ids(&["--state", "expired"]), Vec::<String>::new());
    assert_eq!(ids(&["--owner", ALICE]), ["T-1", "T-3"]);
    assert_eq!(ids(&["--owner", BOB]), ["T-2"]);
    assert_eq!(ids(&["--owner", BOB, "--all"]), ["T-2", "T-4"]);
    assert_eq!(ids(&["--agent", "rev-1"]), ["T-3"]);
    assert_eq!(ids(&["--agent", "rev-2"]), ["T-2"]);
    assert_eq!(ids(&["--owner", BOB, "--state", "paused", "--agent", "rev-2"]), ["T-2"]);
    assert_eq!(ids(&["--owner", ALICE, "--agent", "rev-2"]), Vec::<String>::new());

    repo.refuse(CAROL, &["claims", "list", "--state", "done"], 2, "invalid_state");
    repo.refuse(CAROL, &["claims", "list", "--owner", "alice"], 2, "invalid_actor");
}

#[test]
fn list_sorts_naturally_limits_and_shows_pending_handoffs() {
    let repo = Repo::new();
    for id in ["T-10", "T-2", "T-1", "T-100", "S-3"] {
        step(&repo, ALICE, &["claims", "claim", id]);
    }
    step(&repo, ALICE, &["claims", "handoff", "T-10", "--to", BOB]);
    let ids = |args: &[&str]| listed_ids(&repo, args);
    assert_eq!(ids(&[]), ["S-3", "T-1", "T-2", "T-10", "T-100"], "T-2 before T-10");
    assert_eq!(ids(&["--limit", "2"]), ["S-3", "T-1"]);
    assert_eq!(ids(&["--limit", "0"]), Vec::<String>::new());
    assert_eq!(ids(&["--to", BOB]), ["T-10"]);
    assert_eq!(ids(&["--to", CAROL]), Vec::<String>::new());

    // The table has a TO column naming the pending handoff's target.
    let out = repo.cmd(CAROL).args(["claims", "list"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let header = text.lines().next().unwrap();
    assert!(header.contains(" TO "), "{text}");
    let row = text.lines().find(|l| l.starts_with("T-10 ")).unwrap();
    assert!(row.contains(BOB), "{text}");
    let row = text.lines().find(|l| l.starts_with("T-2 ")).unwrap();
    assert!(!row.contains(BOB), "{text}");

    // The inbox: `claims status` lists what is offered to the actor.
    let status = repo.cmd(BOB).args(["claims", "status"]).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains(&format!("offered to you: T-10 by {ALICE}")), "{text}");
    let doc = repo.run(BOB, &["claims", "status"]).ok();
    assert_eq!(doc["offered"][0]["id"], "T-10");
    assert_eq!(
        repo.run(CAROL, &["claims", "status"]).ok()["offered"],
        serde_json::json!([])
    );
}

// ------------------------------------------------------------------ log

#[test]
fn claims_log_is_the_claims_history_newest_first() {
    let repo = Repo::new();
    step(&repo, ALICE, &["claims", "claim", "T-1"]);
    step(&repo, BOB, &["claims", "claim", "T-2"]);
    step(&repo, ALICE, &["claims", "handoff", "T-1", "--to", BOB]);
    step(&repo, BOB, &["claims", "accept", "T-1"]);
    step(&repo, BOB, &["claims", "release", "T-1"]);
    // A refusal leaves no trace in the log.
    repo.refuse(ALICE, &["claims", "release", "T-1"], 1, "wrong_state");

    let log = repo.run(CAROL, &["claims", "log", "T-1"]).ok();
    let entries = log["entries"].as_array().unwrap();
    let ops: Vec<&str> = entries
        .iter()
        .map(|e| e["trailers"]["Baton-Op"][0].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        ["claims.release", "claims.accept", "claims.handoff", "claims.claim"]
    );
    for e in entries {
        // Every trailer is an array, however many values it has.
        assert_eq!(e["trailers"]["Baton-Subject"], serde_json::json!(["claim/T-1"]));
        assert_eq!(e["commit"].as_str().unwrap().len(), 40);
    }
    assert_eq!(entries[1]["author"], BOB);
    assert_eq!(entries[3]["author"], ALICE);
    assert_eq!(entries[0]["commit"].as_str(), repo.tip().as_deref());

    let limited = repo.run(CAROL, &["claims", "log", "T-1", "--limit", "2"]).ok();
    assert_eq!(limited["entries"].as_array().unwrap().len(), 2);
    assert_eq!(limited["entries"][0], entries[0]);

    let zero = repo.run(CAROL, &["claims", "log", "T-1", "--limit", "0"]).ok();
    assert_eq!(zero["entries"], serde_json::json!([]));

    let other = repo.run(CAROL, &["claims", "log", "T-2"]).ok();
    assert_eq!(other["entries"].as_array().unwrap().len(), 1);
    let none = repo.run(CAROL, &["claims", "log", "T-404"]).ok();
    assert_eq!(none["entries"], serde_json::json!([]));
}
