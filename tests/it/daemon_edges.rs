//! The daemon at the edges, on the built binary: one daemon per repository
//! even when `.git/baton` is deleted under it, state files of a newer baton
//! left alone, and `daemon summary` reading no further back than its
//! window needs.

use std::time::Duration;

use crate::common::*;
use serde_json::Value;

/// Stops every daemon it was given when the test ends, however it ends.
struct Reaper(Vec<u32>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = std::process::Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

#[test]
fn deleting_git_baton_under_a_running_daemon_never_makes_a_second_one() {
    let repo = Repo::new();
    let mut reaper = Reaper(Vec::new());
    let first = repo.run("human:ops", &["daemon", "start", "--interval", "1s"]).ok();
    let pid = first["pid"].as_u64().expect("pid") as u32;
    reaper.0.push(pid);
    wait_until("a first tick", Duration::from_secs(10), || {
        repo.run("human:ops", &["daemon", "status"]).ok()["last_tick"].is_object()
    });

    std::fs::remove_dir_all(repo.path().join(".git/baton")).unwrap();
    let status = repo.run("human:ops", &["daemon", "status"]).ok();
    assert_eq!(status["running"], true, "{status}");
    let again = repo.run("human:ops", &["daemon", "start", "--interval", "1s"]);
    if again.code == 0 {
        reaper.0.push(again.json()["pid"].as_u64().expect("pid") as u32);
    }
    again.err(1, "daemon_running");
    assert!(running(pid), "the first daemon ended");

    // It puts its pid file back, so status and stop find it again.
    wait_until("the pid file to be written again", Duration::from_secs(15), || {
        let status = repo.run("human:ops", &["daemon", "status"]).ok();
        status["running"] == true && status["pid"] == pid
    });
    let file: Value = serde_json::from_str(&std::fs::read_to_string(pid_file(&repo)).unwrap()).unwrap();
    assert_eq!(file["pid"], pid);
    repo.run("human:ops", &["daemon", "start"]).err(1, "daemon_running");
    let stopped = repo.run("human:ops", &["daemon", "stop"]).ok();
    assert_eq!(stopped["pid"], pid, "{stopped}");
    wait_until("the daemon to end", Duration::from_secs(5), || !running(pid));
    assert!(!pid_file(&repo).exists());
}

#[test]
fn daemon_stop_finds_a_daemon_whose_pid_file_was_just_deleted() {
    let repo = Repo::new();
    let mut reaper = Reaper(Vec::new());
    let first = repo.run("human:ops", &["daemon", "start", "--interval", "1h"]).ok();
    let pid = first["pid"].as_u64().expect("pid") as u32;
    reaper.0.push(pid);
    // Asleep after its first tick: it looks for its pid file again within 5s.
    wait_until("a first tick", Duration::from_secs(10), || {
        repo.run("human:ops", &["daemon", "status"]).ok()["last_tick"].is_object()
    });
    std::fs::remove_dir_all(repo.path().join(".git/baton")).unwrap();
    let stopped = repo.run("human:ops", &["daemon", "stop"]).ok();
    assert_eq!(
        (stopped["was_running"].as_bool(), stopped["pid"].as_u64()),
        (Some(true), Some(pid as u64)),
        "{stopped}"
    );
    wait_until("the daemon to end", Duration::from_secs(5), || !running(pid));
}

const NEWER_SNAPSHOT: &str = r#"{"schema":2,"taken_at":"2026-01-01T00:00:00Z","counters":{"claims.active":7,"claims.expired_total":42},"shape":"of a later baton"}"#;

#[test]
fn a_metrics_snapshot_of_a_newer_schema_is_kept_and_reported() {
    let repo = Repo::new();
    repo.run_at("agent:a", T0, &["claims", "claim", "T-1"]).ok();
    // And a stale claim a newer baton wrote: not this baton's to expire.
    let newer_claim = format!(
        "schema = 2\nid = \"T-5\"\nstate = \"active\"\nowner = \"agent:a\"\ngeneration = 1\ncreated_at = \"{T0}\"\nupdated_at = \"{T0}\"\n"
    );
    repo.commit_files(
        &[
            ("metrics/snapshot.json", NEWER_SNAPSHOT.as_bytes()),
            (claim_path("T-5").as_str(), newer_claim.as_bytes()),
        ],
        "a newer baton's snapshot and claim",
    );
    // Stale after 48h: the tick has something to commit besides the snapshot.
    let ticked = repo
        .run_at("human:ops", &t0_plus(72), &["daemon", "tick", "--full"])
        .ok();
    assert_eq!(ticked["outcome"], "changed", "{ticked}");
    assert_eq!(repo.claim("T-1")["state"], "expired");
    assert_eq!(
        repo.state_file("metrics/snapshot.json").as_deref(),
        Some(NEWER_SNAPSHOT),
        "the newer snapshot was replaced"
    );
    assert_eq!(repo.state_file(&claim_path("T-5")), Some(newer_claim));
    let findings = ticked["report"]["reported"].to_string();
    assert!(findings.contains("upgrade baton"), "{ticked}");
    assert!(
        !repo.tip_message().contains("metrics/snapshot"),
        "{}",
        repo.tip_message()
    );

    // A pass with nothing else to do commits nothing at all.
    let tip = repo.state();
    let again = repo
        .run_at("human:ops", &t0_plus(73), &["daemon", "tick", "--full"])
        .ok();
    assert_eq!(again["outcome"], "unchanged", "{again}");
    assert_eq!(repo.state(), tip);
}

fn snapshot(taken_at: &str, active: i64) -> String {
    format!(r#"{{"schema":1,"taken_at":"{taken_at}","counters":{{"claims.active":{active}}}}}"#)
}

#[test]
fn the_summary_walks_back_no_further_than_its_baseline() {
    let repo = Repo::new();
    // Oldest first: a version no baton can read, then the baseline of a
    // 1-day window at T0+72h, then two snapshots inside it.
    repo.commit_files(&[("metrics/snapshot.json", b"{ not json")], "broken");
    repo.commit_files(
        &[("metrics/snapshot.json", snapshot(&t0_plus(10), 5).as_bytes())],
        "old",
    );
    repo.commit_files(
        &[("metrics/snapshot.json", snapshot(&t0_plus(40), 3).as_bytes())],
        "baseline",
    );
    repo.commit_files(
        &[("metrics/snapshot.json", snapshot(&t0_plus(50), 4).as_bytes())],
        "in the window",
    );
    repo.commit_files(
        &[("metrics/snapshot.json", snapshot(&t0_plus(70), 6).as_bytes())],
        "latest",
    );
    let day = repo
        .run_at("human:ops", &t0_plus(72), &["daemon", "summary", "--window", "1d"])
        .ok();
    assert_eq!(day["summary"]["baseline"], t0_plus(40), "{day}");
    assert_eq!(day["summary"]["times"].as_array().unwrap().len(), 2, "{day}");
    let active = day["summary"]["counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "claims.active")
        .cloned()
        .unwrap();
    assert_eq!(
        (active["current"].as_i64(), active["delta"].as_i64()),
        (Some(6), Some(3))
    );
    assert_eq!(day["unreadable"], 0, "the walk went past the baseline: {day}");

    // A window reaching back over it all meets the broken version.
    let all = repo
        .run_at("human:ops", &t0_plus(72), &["daemon", "summary", "--window", "7d"])
        .ok();
    assert_eq!(all["unreadable"], 1, "{all}");
    assert_eq!(all["summary"]["times"].as_array().unwrap().len(), 4, "{all}");
}
