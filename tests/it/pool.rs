//! The agent pool (docs/command-handbook.md, Agent pool) against the built binary: spawn numbering,
//! list and health, heartbeats, drain, retire and the pool log. Load is
//! never stored, so it is always checked through claims.

use crate::common::{t0_plus, t0_plus_minutes, Repo, T0};
use predicates::prelude::PredicateBooleanExt;
use serde_json::Value;

const OPS: &str = "human:ops";
const ALICE: &str = "agent:alice";

fn spawn(repo: &Repo, args: &[&str]) -> Vec<String> {
    let before = repo.commit_count();
    let mut full = vec!["pool", "spawn"];
    full.extend_from_slice(args);
    let out = repo.run_at(OPS, T0, &full).ok();
    assert_eq!(repo.commit_count(), before + 1, "one spawn, one commit");
    out["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

fn agents(repo: &Repo, args: &[&str], now: &str) -> Vec<Value> {
    repo.run_at(OPS, now, args).ok()["agents"].as_array().unwrap().clone()
}

fn agent<'a>(list: &'a [Value], id: &str) -> &'a Value {
    list.iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("no agent {id} in {list:?}"))
}

#[test]
fn spawn_numbers_agents_and_never_reuses_retired_ids() {
    let repo = Repo::new();
    assert_eq!(spawn(&repo, &["--role", "rev", "--count", "2"]), ["rev-1", "rev-2"]);
    // One commit for both, naming both.
    let subjects = repo.git(&[
        "log",
        "-1",
        "--format=%(trailers:key=Baton-Subject,valueonly)",
        crate::common::STATE_REF,
    ]);
    assert_eq!(subjects.lines().collect::<Vec<_>>(), ["agent/rev-1", "agent/rev-2"]);
    assert_eq!(spawn(&repo, &["--role", "rev"]), ["rev-3"]);
    // Other roles number on their own.
    assert_eq!(spawn(&repo, &["--role", "ops", "--capacity", "3"]), ["ops-1"]);

    // Retire the highest: its number is not given out again.
    repo.run(OPS, &["pool", "retire", "rev-3"]).ok();
    assert_eq!(spawn(&repo, &["--role", "rev"]), ["rev-4"]);
    repo.run(OPS, &["pool", "retire", "rev-1"]).ok();
    assert_eq!(spawn(&repo, &["--role", "rev", "--count", "2"]), ["rev-5", "rev-6"]);

    let file = repo.state_file("agents/rev-1.toml").expect("agent file");
    assert!(file.contains("schema = 1"), "{file}");
    assert!(file.contains("status = \"retired\""), "{file}");
    let ops = repo.state_file("agents/ops-1.toml").unwrap();
    assert!(ops.contains("capacity = 3"), "{ops}");

    // Bad counts and capacities are invalid input; nothing is written.
    repo.refuse(
        OPS,
        &["pool", "spawn", "--role", "rev", "--count", "0"],
        2,
        "invalid_count",
    );
    repo.refuse(
        OPS,
        &["pool", "spawn", "--role", "rev", "--capacity", "0"],
        2,
        "invalid_capacity",
    );
    repo.refuse(OPS, &["pool", "spawn"], 2, "usage");
}

#[test]
fn list_and_health_show_load_capacity_status_and_heartbeat_age() {
    let repo = Repo::new();
    assert_eq!(agents(&repo, &["pool", "list"], T0), Vec::<Value>::new());
    spawn(&repo, &["--role", "rev", "--count", "2", "--capacity", "2"]);
    repo.run_at(ALICE, T0, &["claims", "claim", "T-1", "--agent", "rev-2"])
        .ok();
    repo.run_at(ALICE, T0, &["claims", "claim", "T-2", "--agent", "rev-2"])
        .ok();
    repo.run_at(ALICE, T0, &["claims", "pause", "T-2"]).ok();

    let list = agents(&repo, &["pool", "list"], &t0_plus(1));
    assert_eq!(list.len(), 2);
    let r1 = agent(&list, "rev-1");
    assert_eq!(r1["role"], "rev");
    assert_eq!(r1["status"], "active");
    assert_eq!(r1["load"], 0);
    assert_eq!(r1["capacity"], 2);
    assert_eq!(r1["healthy"], true);
    let r2 = agent(&list, "rev-2");
    assert_eq!(r2["load"], 2, "paused claims count as load");

    // health: the heartbeat age is measured on the (overridable) clock.
    let health = agents(&repo, &["pool", "health"], &t0_plus(1));
    assert_eq!(agent(&health, "rev-1")["heartbeat_age_secs"], 3600);
    assert_eq!(agent(&health, "rev-1")["last_heartbeat"], T0);
    assert_eq!(agent(&health, "rev-1")["healthy"], true);
    // --stale-after makes silent agents unhealthy.
    let health = agents(&repo, &["pool", "health", "--stale-after", "30m"], &t0_plus(1));
    assert_eq!(agent(&health, "rev-1")["healthy"], false);

    // Text mode has a row per agent with load/capacity.
    repo.cmd(OPS)
        .args(["pool", "list"])
        .assert()
        .success()
        .stdout(predicates::str::contains("rev-2").and(predicates::str::contains("2/2")));
}

#[test]
fn heartbeat_records_liveness_and_stale_agents_get_no_work() {
    let repo = Repo::new();
    spawn(&repo, &["--role", "rev", "--count", "2"]);
    repo.run(OPS, &["config", "set", "pool.heartbeat_timeout", "10m"]).ok();

    // An hour later nobody has sent a heartbeat: no capacity for --role.
    let later = t0_plus(1);
    let health = agents(&repo, &["pool", "health"], &later);
    assert!(health.iter().all(|a| a["healthy"] == false), "{health:?}");
    repo.refuse_at(
        ALICE,
        &later,
        &["claims", "claim", "T-1", "--role", "rev"],
        1,
        "no_capacity",
    );
    repo.refuse_at(
        ALICE,
        &later,
        &["claims", "claim", "T-1", "--agent", "rev-1"],
        1,
        "agent_unavailable",
    );

    // rev-2 checks in: it gets the work.
    let hb = repo.run_at("agent:rev-2", &later, &["pool", "heartbeat", "rev-2"]);
    let hb = hb.ok();
    assert_eq!(hb["changed"], true);
    assert_eq!(hb["agent"]["last_heartbeat"], later);
    let health = agents(&repo, &["pool", "health"], &t0_plus_minutes(65));
    assert_eq!(agent(&health, "rev-2")["healthy"], true);
    assert_eq!(agent(&health, "rev-2")["heartbeat_age_secs"], 300);
    assert_eq!(agent(&health, "rev-1")["healthy"], false);
    let c = repo
        .run_at(ALICE, &later, &["claims", "claim", "T-1", "--role", "rev"])
        .ok();
    assert_eq!(c["claim"]["agent"], "rev-2");

    // Unknown and retired agents cannot send heartbeats.
    repo.refuse(OPS, &["pool", "heartbeat", "rev-9"], 1, "no_agent");
    repo.run(OPS, &["pool", "retire", "rev-1"]).ok();
    repo.refuse(OPS, &["pool", "heartbeat", "rev-1"], 1, "agent_retired");
}

#[test]
fn draining_agents_get_no_new_assignments() {
    let repo = Repo::new();
    spawn(&repo, &["--role", "rev", "--count", "2"]);
    let c = repo.run(ALICE, &["claims", "claim", "T-1", "--role", "rev"]).ok();
    assert_eq!(c["claim"]["agent"], "rev-1");
    repo.run(ALICE, &["claims", "release", "T-1"]).ok();

    let out = repo.run(OPS, &["pool", "drain", "rev-1"]).ok();
    assert_eq!(out["agent"]["status"], "draining");
    assert_eq!(out["changed"], true);
    // Draining again: nothing to do, no commit.
    let tip = repo.state();
    assert_eq!(repo.run(OPS, &["pool", "drain", "rev-1"]).ok()["changed"], false);
    assert_eq!(repo.state(), tip);

    // rev-1 is idle and lowest, but draining: rev-2 gets the work.
    let c = repo.run(ALICE, &["claims", "claim", "T-2", "--role", "rev"]).ok();
    assert_eq!(c["claim"]["agent"], "rev-2");
    // rev-2 is full, rev-1 drains: no capacity.
    let run = repo.refuse(ALICE, &["claims", "claim", "T-3", "--role", "rev"], 1, "no_capacity");
    assert!(run.message().contains("rev"), "{}", run.message());
    let list = agents(&repo, &["pool", "list"], T0);
    assert_eq!(agent(&list, "rev-1")["healthy"], false);

    repo.refuse(OPS, &["pool", "drain", "rev-9"], 1, "no_agent");
    repo.run(OPS, &["pool", "retire", "rev-1"]).ok();
    repo.refuse(OPS, &["pool", "drain", "rev-1"], 1, "agent_retired");
}

#[test]
fn retire_is_refused_while_the_agent_has_load_unless_forced() {
    let repo = Repo::new();
    spawn(&repo, &["--role", "rev", "--count", "2"]);
    repo.run(ALICE, &["claims", "claim", "T-1", "--agent", "rev-1"]).ok();

    let run = repo.refuse(OPS, &["pool", "retire", "rev-1"], 1, "agent_busy");
    assert!(run.message().contains("1 claim"), "{}", run.message());
    assert!(run.hint().contains("--force"), "{}", run.hint());
    // A blocked claim is load too.
    repo.run(ALICE, &["claims", "block", "T-1"]).ok();
    repo.refuse(OPS, &["pool", "retire", "rev-1"], 1, "agent_busy");

    // Idle agents retire without --force.
    let out = repo.run(OPS, &["pool", "retire", "rev-2"]).ok();
    assert_eq!(out["agent"]["status"], "retired");
    let tip = repo.state();
    assert_eq!(repo.run(OPS, &["pool", "retire", "rev-2"]).ok()["changed"], false);
    assert_eq!(repo.state(), tip, "retiring twice writes nothing");

    // --force retires it with load; doctor then flags the stranded claim.
    let out = repo.run(OPS, &["pool", "retire", "rev-1", "--force"]).ok();
    assert_eq!(out["agent"]["status"], "retired");
    let doctor = repo.run(OPS, &["doctor", "pool"]);
    assert_eq!(doctor.code, 1, "{}", doctor.describe());
    let findings = doctor.json()["findings"].as_array().unwrap().clone();
    assert!(
        findings
            .iter()
            .any(|f| f["check"] == "pool.retired_load" && f["severity"] == "error"),
        "{findings:?}"
    );
    // Releasing the claim clears it.
    repo.run(ALICE, &["claims", "release", "T-1"]).ok();
    repo.run(OPS, &["doctor", "pool"]).ok();

    // Retired agents take no work.
    repo.refuse(ALICE, &["claims", "claim", "T-2", "--role", "rev"], 1, "no_capacity");
    repo.refuse(OPS, &["pool", "retire", "rev-9"], 1, "no_agent");
}

#[test]
fn pool_logs_show_pool_operations_newest_first() {
    let repo = Repo::new();
    spawn(&repo, &["--role", "rev", "--count", "2"]);
    repo.run(ALICE, &["claims", "claim", "T-1"]).ok();
    repo.run("agent:rev-1", &["pool", "heartbeat", "rev-1"]).ok();
    repo.run(OPS, &["pool", "drain", "rev-2"]).ok();
    repo.run(OPS, &["pool", "retire", "rev-2"]).ok();
    // Refusals leave no trace.
    repo.refuse(OPS, &["pool", "drain", "rev-2"], 1, "agent_retired");

    let logs = repo.run(OPS, &["pool", "logs"]).ok();
    let entries = logs["entries"].as_array().unwrap();
    let ops: Vec<&str> = entries
        .iter()
        .map(|e| e["trailers"]["Baton-Op"][0].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        ["pool.retire", "pool.drain", "pool.heartbeat", "pool.spawn"],
        "only pool operations, newest first"
    );
    assert_eq!(entries[2]["author"], "agent:rev-1");
    assert_eq!(entries[0]["commit"].as_str(), repo.tip().as_deref());

    let limited = repo.run(OPS, &["pool", "logs", "--limit", "2"]).ok();
    let limited = limited["entries"].as_array().unwrap();
    assert_eq!(limited.len(), 2);
    assert_eq!(limited[0], entries[0]);
    assert_eq!(limited[1], entries[1]);
}
