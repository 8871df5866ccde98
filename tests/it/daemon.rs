//! The daemon on the built binary: the background process (start, status,
//! stop, a second start, a stale pid file, ticking at its interval, SIGTERM,
//! SIGKILL mid-tick) and the reconcile pass (expiries in one commit, no
//! commit when nothing changed, dead runs interrupted, the summary over a
//! scripted history).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::Value;

/// A `daemon run` child that is killed if the test fails before it ends it.
struct Foreground(Option<Child>);

impl Foreground {
    fn id(&self) -> u32 {
        self.0.as_ref().expect("running").id()
    }

    fn wait_with_output(mut self) -> std::process::Output {
        self.0.take().expect("running").wait_with_output().unwrap()
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `daemon run` as a child of the test, in the foreground.
fn spawn_run(repo: &Repo, args: &[&str], env: &[(&str, &str)]) -> Foreground {
    let mut cmd = Command::new(exe());
    hermetic(&mut cmd);
    cmd.arg("-C")
        .arg(repo.path())
        .args(["daemon", "run"])
        .args(args)
        .env("BATON_ACTOR", "human:daemon")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Foreground(Some(cmd.spawn().expect("starting baton daemon run")))
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill {sig} {pid}");
}

/// A stopper so a failing test never leaves a daemon behind.
struct Stopper<'r>(&'r Repo);

impl Drop for Stopper<'_> {
    fn drop(&mut self) {
        let _ = self.0.run("human:ops", &["daemon", "stop", "--wait", "2s"]);
    }
}

#[test]
fn start_status_stop_leave_no_process_and_no_pid_file_and_a_second_start_is_refused() {
    let repo = Repo::new();
    let _stopper = Stopper(&repo);
    let started = repo.run("human:ops", &["daemon", "start", "--interval", "1s"]).ok();
    let pid = started["pid"].as_u64().expect("pid") as u32;
    assert!(running(pid), "the daemon is not running: {started}");
    assert!(pid_file(&repo).exists());
    let file: Value = serde_json::from_str(&std::fs::read_to_string(pid_file(&repo)).unwrap()).unwrap();
    assert_eq!(file["pid"], pid);
    // Detached: a session of its own, so no terminal signal reaches it.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    assert_eq!(fields[3], pid.to_string(), "the daemon leads its own session: {stat}");

    // (The daemon may commit meanwhile: `Repo::refuse` would see the ref move.)
    let again = repo.run("human:ops", &["daemon", "start"]);
    again.err(1, "daemon_running");
    assert!(again.message().contains(&pid.to_string()), "{}", again.describe());

    let status = repo.run("human:ops", &["daemon", "status"]).ok();
    assert_eq!(status["running"], true, "{status}");
    assert_eq!(status["pid"], pid);
    assert_eq!(status["interval"], "1s");
    wait_until("a first tick", Duration::from_secs(10), || {
        repo.run("human:ops", &["daemon", "status"]).ok()["last_tick"].is_object()
    });
    let doctor = repo.run("human:ops", &["doctor", "daemon"]).ok();
    assert_eq!(doctor["ok"], true, "{doctor}");

    let stopped = repo.run("human:ops", &["daemon", "stop"]).ok();
    assert_eq!(stopped["was_running"], true, "{stopped}");
    assert_eq!(stopped["killed"], false, "{stopped}");
    wait_until("the daemon to be gone", Duration::from_secs(5), || !running(pid));
    assert!(!pid_file(&repo).exists(), "the pid file is left behind");
    let status = repo.run("human:ops", &["daemon", "status"]).ok();
    assert_eq!(status["running"], false, "{status}");
    let log = std::fs::read_to_string(repo.path().join(".git/baton/daemon.log")).unwrap();
    assert!(log.contains("started") && log.contains("stopped by a signal"), "{log}");
    // Stopping again is fine: nothing runs.
    assert_eq!(repo.run("human:ops", &["daemon", "stop"]).ok()["was_running"], false);
}

#[test]
fn a_stale_pid_file_is_reported_and_replaced() {
    let repo = Repo::new();
    let _stopper = Stopper(&repo);
    std::fs::create_dir_all(repo.path().join(".git/baton")).unwrap();
    std::fs::write(
        pid_file(&repo),
        r#"{"pid": 999999, "started_at": "2026-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    let status = repo.run("human:ops", &["daemon", "status"]).ok();
    assert_eq!(
        (status["running"].clone(), status["stale_pid"].clone()),
        (Value::Bool(false), 999999.into())
    );
    let doctor = repo.run("human:ops", &["doctor", "daemon"]).ok();
    let process = doctor["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "daemon.process")
        .unwrap()
        .clone();
    assert_eq!(process["severity"], "warn", "{doctor}");

    let started = repo.run("human:ops", &["daemon", "start", "--interval", "1s"]).ok();
    assert_eq!(started["replaced_stale"], 999999, "{started}");
    let pid = started["pid"].as_u64().unwrap() as u32;
    let file: Value = serde_json::from_str(&std::fs::read_to_string(pid_file(&repo)).unwrap()).unwrap();
    assert_eq!(file["pid"], pid);
    repo.run("human:ops", &["daemon", "stop"]).ok();
    wait_until("the daemon to be gone", Duration::from_secs(5), || !running(pid));

    // doctor --fix removes a stale file.
    std::fs::write(pid_file(&repo), "not json").unwrap();
    let fixed = repo.run("human:ops", &["doctor", "daemon", "--fix"]).ok();
    assert!(fixed.to_string().contains("\"fixed\":true"), "{fixed}");
    assert!(!pid_file(&repo).exists());
}

#[test]
fn the_daemon_ticks_in_the_background_at_its_interval() {
    let repo = Repo::new();
    let _stopper = Stopper(&repo);
    let started = repo.run("human:ops", &["daemon", "start", "--interval", "1s"]).ok();
    let pid = started["pid"].as_u64().unwrap() as u32;
    let snapshots = || {
        repo.git(&["log", "--format=%s", STATE_REF])
            .lines()
            .filter(|l| l.starts_with("daemon: reconcile"))
            .count()
    };
    wait_until("the first snapshot", Duration::from_secs(10), || snapshots() >= 1);
    let first = repo.run("human:ops", &["daemon", "status"]).ok()["last_tick"]["wall"].clone();
    // A change made by someone else is seen at the next tick.
    repo.run("agent:a", &["claims", "claim", "T-1"]).ok();
    wait_until("a snapshot of the new claim", Duration::from_secs(10), || {
        snapshots() >= 2
    });
    let summary = repo.run("human:ops", &["daemon", "summary"]).ok();
    let active = summary["summary"]["counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "claims.active")
        .unwrap()
        .clone();
    assert_eq!(active["current"], 1, "{summary}");
    wait_until("a later tick", Duration::from_secs(10), || {
        repo.run("human:ops", &["daemon", "status"]).ok()["last_tick"]["wall"] != first
    });
    // Idle between ticks: it sleeps rather than spinning.
    let cpu = |pid: u32| -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<u64> = stat
            .rsplit_once(") ")
            .unwrap()
            .1
            .split(' ')
            .skip(11)
            .take(2)
            .map(|f| f.parse().unwrap())
            .collect();
        fields.iter().sum()
    };
    let before = cpu(pid);
    std::thread::sleep(Duration::from_millis(2500));
    let used = cpu(pid) - before;
    // Two or three ticks of a debug build; a busy loop would use ~250 ticks.
    assert!(used < 100, "the daemon used {used} clock ticks of CPU in 2.5s");
    repo.run("human:ops", &["daemon", "stop"]).ok();
}

#[test]
fn daemon_run_ends_cleanly_on_sigterm_and_sigint_and_refuses_a_second_daemon() {
    let repo = Repo::new();
    for sig in ["-TERM", "-INT"] {
        let child = spawn_run(&repo, &["--interval", "1h"], &[]);
        let pid = child.id();
        wait_until("the pid file", Duration::from_secs(10), || {
            std::fs::read_to_string(pid_file(&repo)).is_ok_and(|t| t.contains(&pid.to_string()))
        });
        let second = repo.run("human:ops", &["daemon", "run"]);
        second.err(1, "daemon_running");
        assert!(second.message().contains(&pid.to_string()));
        // It sleeps for an hour: the signal wakes it at once.
        let asked = Instant::now();
        signal(pid, sig);
        let out = child.wait_with_output();
        assert!(asked.elapsed() < Duration::from_secs(5), "took {:?}", asked.elapsed());
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("stopped by a signal"));
        assert!(!pid_file(&repo).exists(), "{sig}: the pid file is left behind");
    }
}

#[test]
fn daemon_run_exits_when_its_repository_is_deleted() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("r");
    std::fs::create_dir(&dir).unwrap();
    for args in [
        &["init", "-q"][..],
        &["config", "user.email", "t@example.com"],
        &["config", "user.name", "t"],
    ] {
        let mut git = Command::new("git");
        hermetic(&mut git);
        assert!(git.current_dir(&dir).args(args).status().unwrap().success());
    }
    let mut init = Command::new(exe());
    hermetic(&mut init);
    assert!(init.arg("-C").arg(&dir).arg("init").output().unwrap().status.success());
    let mut cmd = Command::new(exe());
    hermetic(&mut cmd);
    let child = Foreground(Some(
        cmd.arg("-C")
            .arg(&dir)
            .args(["daemon", "run", "--interval", "1s"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    wait_until("the pid file", Duration::from_secs(10), || {
        dir.join(".git/baton/daemon.pid").exists()
    });
    // The daemon may be writing its tick record meanwhile: try again.
    wait_until("the repository to be deleted", Duration::from_secs(10), || {
        std::fs::remove_dir_all(&dir).is_ok() || !dir.exists()
    });
    let out = child.wait_with_output();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("the repository is gone"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `n` active claims written straight into the state with git fast-import.
fn seed_claims(repo: &Repo, n: usize, updated_at: &str) {
    let tip = repo.state();
    let mut script =
        String::from("commit refs/baton/state\ncommitter Seed <seed@example.com> 1767225600 +0000\ndata 5\nseed\n");
    script.push_str(&format!("from {tip}\n"));
    for i in 0..n {
        let id = format!("S-{i}");
        let body = format!(
            "schema = 1\nid = \"{id}\"\nstate = \"active\"\nowner = \"agent:seed\"\ngeneration = 1\ncreated_at = \"{updated_at}\"\nupdated_at = \"{updated_at}\"\n"
        );
        script.push_str(&format!(
            "M 100644 inline {}\ndata {}\n{body}\n",
            claim_path(&id),
            body.len()
        ));
    }
    repo.git_stdin(&["fast-import", "--quiet"], script.as_bytes(), &[]);
}

fn fsck_and_doctor_accept(repo: &Repo, what: &str) {
    let fsck = repo.git_cmd().args(["fsck", "--no-progress"]).output().unwrap();
    assert!(
        fsck.status.success(),
        "{what}: git fsck: {}",
        String::from_utf8_lossy(&fsck.stderr)
    );
    let doctor = repo.run("human:ops", &["doctor"]);
    let doc = doctor.json();
    assert!(doctor_errors(&doc).is_empty(), "{what}: {doc}");
}

#[test]
fn sigkill_mid_tick_leaves_a_state_that_git_fsck_and_doctor_accept() {
    let repo = Repo::new();
    seed_claims(&repo, 400, T0);
    for (round, delay_ms) in [5u64, 15, 30, 60, 120, 250].into_iter().enumerate() {
        // Each round's clock is later: stale claims to expire and a snapshot to write.
        let now = t0_plus(24 * (round as i64 + 3));
        let mut cmd = Command::new(exe());
        hermetic(&mut cmd);
        cmd.arg("-C")
            .arg(repo.path())
            .args(["daemon", "tick", "--full"])
            .env("BATON_ACTOR", "human:ops")
            .env("BATON_NOW", &now);
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        // A lock a killed writer left is stale a minute later; doctor --fix removes it.
        let lock = repo.path().join(".git/refs/baton/state.lock");
        let _ = std::fs::remove_file(lock);
        fsck_and_doctor_accept(&repo, &format!("killed after {delay_ms}ms"));
        repo.claim("S-0");
    }
    // And the next tick completes from whatever the killed one left.
    repo.run_at("human:ops", &t0_plus(24 * 30), &["daemon", "tick"]).ok();
    fsck_and_doctor_accept(&repo, "after a full tick");
}

#[test]
fn a_tick_in_the_future_expires_and_returns_handoffs_in_one_commit_and_a_quiet_tick_commits_nothing() {
    let repo = Repo::new();
    repo.run_at("agent:a", T0, &["claims", "claim", "T-1"]).ok();
    repo.run_at("agent:a", T0, &["claims", "claim", "T-2"]).ok();
    repo.run_at("agent:a", T0, &["claims", "claim", "T-3"]).ok();
    repo.run_at("agent:a", T0, &["claims", "handoff", "T-3", "--to", "agent:b"])
        .ok();
    repo.run_at("agent:a", &t0_plus(47), &["claims", "claim", "T-4"]).ok();
    let before = repo.commit_count();
    let later = t0_plus(49);
    let tick = repo.run_at("human:ops", &later, &["daemon", "tick"]).ok();
    assert_eq!(repo.commit_count(), before + 1, "one commit: {tick}");
    let mut changed: Vec<(String, String)> = tick["report"]["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap().to_owned(),
                c["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    changed.sort();
    let expected = [
        ("expired", "claim/T-1"),
        ("expired", "claim/T-2"),
        ("handoff_returned", "claim/T-3"),
    ]
    .map(|(k, s)| (k.to_owned(), s.to_owned()));
    assert_eq!(changed, expected, "{tick}");
    assert_eq!(repo.claim("T-1")["state"], "expired");
    assert_eq!(repo.claim("T-3")["state"], "active");
    assert_eq!(repo.claim("T-3")["owner"], "agent:a");
    assert_eq!(repo.claim("T-4")["state"], "active");
    // The commit holds the claims and the snapshot together; the report is
    // kept on this machine (docs/daemon.md), not in the state.
    let files = repo.git(&["show", "--name-only", "--format=", STATE_REF]);
    assert!(!files.contains("reconcile/"), "{files}");
    let kept: Value =
        serde_json::from_str(&std::fs::read_to_string(repo.path().join(".git/baton/reconcile-last.json")).unwrap())
            .unwrap();
    assert_eq!(kept["changed"], tick["report"]["changed"], "{kept}");
    for f in ["metrics/snapshot.json", &claim_path("T-1"), &claim_path("T-3")] {
        assert!(files.lines().any(|l| l == f), "{f} not in the tick's commit:\n{files}");
    }
    let message = repo.tip_message();
    assert!(
        message.contains("Baton-Op: daemon.tick") && message.contains("Baton-Subject: claim/T-2"),
        "{message}"
    );
    let snapshot: Value = serde_json::from_str(&repo.state_file("metrics/snapshot.json").unwrap()).unwrap();
    assert_eq!(snapshot["counters"]["claims.expired_total"], 2);
    assert_eq!(snapshot["counters"]["claims.handoffs_returned_total"], 1);
    assert_eq!(snapshot["taken_at"], later.as_str());

    // Nothing left to do: no commit, incremental or full.
    let quiet = repo.run_at("human:ops", &later, &["daemon", "tick"]).ok();
    assert_eq!(quiet["outcome"], "unchanged", "{quiet}");
    assert_eq!(quiet["report"]["mode"], "incremental");
    repo.run_at("human:ops", &later, &["daemon", "tick", "--full"]).ok();
    assert_eq!(repo.commit_count(), before + 1);
}

/// This machine's host name, as baton records it in run ledgers.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn a_run_whose_process_died_is_marked_interrupted_and_delivery_drift_is_fixed_or_reported() {
    let repo = Repo::new();
    repo.run_at("agent:a", T0, &["claims", "claim", "T-1"]).ok();
    repo.run_at("agent:b", T0, &["claims", "claim", "T-2"]).ok();
    let mut gone = Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    let run_id = "wf-20260101T000000Z-abcdef";
    let run = serde_json::json!({
        "schema": 1, "id": run_id, "workflow": "ship",
        "definition": {"path": ".baton/workflows/ship.toml", "blob": "0"},
        "status": "running", "host": hostname(), "pid": dead_pid, "actor": "human:x",
        "started_at": T0, "steps": [{"id": "a", "status": "pending", "attempts": []}]
    });
    let elsewhere = serde_json::json!({
        "schema": 1, "id": "wf-20260101T000000Z-000001", "workflow": "ship",
        "definition": {"path": ".baton/workflows/ship.toml", "blob": "0"},
        "status": "running", "host": "another-host", "pid": dead_pid, "actor": "human:x",
        "started_at": T0, "steps": []
    });
    // A delivery running that run, and one whose claim another agent holds.
    let delivery = |id: &str, issue: &str, phase: &str, run: Option<&str>| {
        let mut d = serde_json::json!({
            "schema": 1, "id": id, "issue": issue, "workflow": ".baton/workflows/ship.toml",
            "phase": phase, "owner": "agent:a", "generation": 1,
            "started_at": T0, "updated_at": T0, "phases": [{"phase": phase, "at": T0}]
        });
        if let Some(r) = run {
            d["workflow_run"] = r.into();
        }
        d.to_string()
    };
    let running = delivery("dl-20260101T000000Z-000002", "T-1", "running", Some(run_id));
    let moved = delivery("dl-20260101T000000Z-000003", "T-2", "claimed", None);
    // T-1's claim carries its delivery, as every delivery phase leaves it.
    let marked = format!(
        "{}\n[delivery]\nid = \"dl-20260101T000000Z-000002\"\nphase = \"running\"\n",
        repo.state_file(&claim_path("T-1")).unwrap()
    );
    repo.commit_files(
        &[
            (&claim_path("T-1"), marked.as_bytes()),
            (
                "runs/workflow/2026/01/01/wf-20260101T000000Z-abcdef.json",
                run.to_string().as_bytes(),
            ),
            (
                "runs/workflow/2026/01/01/wf-20260101T000000Z-000001.json",
                elsewhere.to_string().as_bytes(),
            ),
            (
                "runs/delivery/2026/01/01/dl-20260101T000000Z-000002.json",
                running.as_bytes(),
            ),
            (
                "runs/delivery/2026/01/01/dl-20260101T000000Z-000003.json",
                moved.as_bytes(),
            ),
        ],
        "a run left running",
    );
    let before = repo.commit_count();
    let tick = repo.run_at("human:ops", &t0_plus(1), &["daemon", "tick"]).ok();
    assert_eq!(repo.commit_count(), before + 1);
    let kinds: Vec<&str> = tick["report"]["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["interrupted", "delivery_stopped"], "{tick}");
    let stopped: Value = serde_json::from_str(
        &repo
            .state_file("runs/delivery/2026/01/01/dl-20260101T000000Z-000003.json")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stopped["phase"], "stopped");
    let reported = tick["report"]["reported"].to_string();
    assert!(
        reported.contains("delivery.run") && reported.contains("interrupted"),
        "the running delivery whose run was interrupted is reported: {reported}"
    );
    let ledger: Value = serde_json::from_str(
        &repo
            .state_file("runs/workflow/2026/01/01/wf-20260101T000000Z-abcdef.json")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(ledger["status"], "interrupted");
    assert_eq!(ledger["finished_at"], t0_plus(1).as_str());
    // The run on another host cannot be judged here; it stays as it is.
    let other: Value = serde_json::from_str(
        &repo
            .state_file("runs/workflow/2026/01/01/wf-20260101T000000Z-000001.json")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(other["status"], "running");
    let snapshot: Value = serde_json::from_str(&repo.state_file("metrics/snapshot.json").unwrap()).unwrap();
    assert_eq!(snapshot["counters"]["runs.interrupted"], 1);
    assert_eq!(snapshot["counters"]["runs.running"], 1);
}

fn counter(summary: &Value, name: &str) -> (i64, i64) {
    let c = summary["summary"]["counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no counter {name}: {summary}"));
    (c["current"].as_i64().unwrap(), c["delta"].as_i64().unwrap())
}

#[test]
fn the_summary_matches_a_scripted_history_of_ticks() {
    let repo = Repo::new();
    // Day 0: two claims; day 1: a third; day 2: the first two go stale (48h) and expire.
    repo.run_at("agent:a", T0, &["claims", "claim", "T-1"]).ok();
    repo.run_at("agent:a", T0, &["claims", "claim", "T-2"]).ok();
    repo.run_at("human:ops", &t0_plus(1), &["daemon", "tick"]).ok();
    repo.run_at("agent:a", &t0_plus(24), &["claims", "claim", "T-3"]).ok();
    repo.run_at("human:ops", &t0_plus(25), &["daemon", "tick"]).ok();
    repo.run_at("human:ops", &t0_plus(49), &["daemon", "tick"]).ok();
    // A quiet day: the periodic snapshot (snapshot_every 1h) records it held still.
    repo.run_at("human:ops", &t0_plus(60), &["daemon", "tick"]).ok();
    let snapshots = repo.git(&["rev-list", "--count", STATE_REF, "--", "metrics/snapshot.json"]);
    assert_eq!(snapshots, "4");

    let week = repo
        .run_at("human:ops", &t0_plus(61), &["daemon", "summary", "--window", "7d"])
        .ok();
    assert_eq!(counter(&week, "claims.active"), (1, -1), "{week}");
    assert_eq!(counter(&week, "claims.expired"), (2, 2));
    assert_eq!(counter(&week, "claims.expired_total"), (2, 2));
    assert_eq!(week["summary"]["times"].as_array().unwrap().len(), 4);
    assert_eq!(
        week["report"]["changed"].as_array().unwrap().len(),
        0,
        "the periodic pass changed nothing"
    );

    // The last day only: the baseline is the snapshot after the expiry.
    let day = repo
        .run_at("human:ops", &t0_plus(61), &["daemon", "summary", "--window", "12h"])
        .ok();
    assert_eq!(counter(&day, "claims.active"), (1, 0), "{day}");
    assert_eq!(counter(&day, "claims.expired_total"), (2, 0));

    // As of day 1: the history as it was then.
    let then = repo
        .run_at("human:ops", &t0_plus(30), &["daemon", "summary", "--window", "2d"])
        .ok();
    assert_eq!(counter(&then, "claims.active"), (3, 1), "{then}");
    assert_eq!(counter(&then, "claims.expired_total"), (0, 0));

    let svg = repo.path().join("chart.svg");
    let text = repo
        .cmd("human:ops")
        .env("BATON_NOW", t0_plus(61))
        .args(["daemon", "summary", "--svg"])
        .arg(&svg)
        .output()
        .unwrap();
    assert!(text.status.success());
    let shown = String::from_utf8_lossy(&text.stdout);
    assert!(
        shown.contains("claims.expired_total") && shown.contains("last reconcile report"),
        "{shown}"
    );
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(
        chart.starts_with("<svg") && !chart.contains("<script"),
        "{}",
        &chart[..80.min(chart.len())]
    );
}

#[test]
fn daemon_commands_refuse_a_repository_without_state() {
    let repo = Repo::bare_git();
    for args in [&["daemon", "tick"][..], &["daemon", "start"], &["daemon", "summary"]] {
        repo.refuse("human:ops", args, 3, "no_state");
    }
}

/// The journal files of the learn guard left on this machine, with their sizes.
fn journal_files(repo: &Repo) -> Vec<(String, u64)> {
    let Ok(entries) = std::fs::read_dir(repo.path().join(".git/baton/learn")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .filter(|(name, _)| name.starts_with("journal"))
        .collect()
}

#[test]
fn a_tick_folds_the_learn_journal_into_its_one_commit_and_counts_the_decisions() {
    let repo = Repo::new();
    // A first tick takes the first snapshot: the next one commits only for the journal.
    repo.run("human:ops", &["daemon", "tick"]).ok();
    repo.run(
        "agent:a",
        &["learn", "post-command", "--command", "cargo test", "--exit-code", "101"],
    )
    .ok();
    let high = repo.run("agent:a", &["learn", "pre-command", "--command", "git push --force"]);
    assert_eq!(high.code, 1, "{}", high.describe());
    repo.run("agent:a", &["learn", "pre-command", "--command", "ls"]).ok();
    assert!(journal_files(&repo).iter().any(|(_, bytes)| *bytes > 0));

    let before = repo.commit_count();
    let tick = repo.run("human:ops", &["daemon", "tick"]).ok();
    assert_eq!(repo.commit_count(), before + 1, "one commit: {tick}");
    assert_eq!(tick["outcome"], "changed", "{tick}");
    let learn = &tick["report"]["learn"];
    assert_eq!(
        (learn["outcomes"].as_u64(), learn["decisions"].as_u64()),
        (Some(1), Some(2)),
        "{tick}"
    );
    let files = repo.git(&["show", "--name-only", "--format=", STATE_REF]);
    for f in ["learn/commands.toml", "metrics/snapshot.json"] {
        assert!(files.lines().any(|l| l == f), "{f} not in the tick's commit:\n{files}");
    }
    let message = repo.tip_message();
    for line in [
        "Baton-Op: daemon.tick",
        "Baton-Subject: learn/commands.toml",
        "Baton-Journal: journal-folding-",
    ] {
        assert!(message.contains(line), "{line} not in:\n{message}");
    }
    let report = repo.run("human:ops", &["daemon", "summary"]).ok()["report"].clone();
    assert_eq!(report["learn"], *learn, "{report}");
    let snapshot: Value = serde_json::from_str(&repo.state_file("metrics/snapshot.json").unwrap()).unwrap();
    assert_eq!(snapshot["counters"]["learn.decisions.high"], 1, "{snapshot}");
    assert_eq!(snapshot["counters"]["learn.decisions.low"], 1, "{snapshot}");
    assert_eq!(snapshot["counters"]["learn.decisions.medium"], 0, "{snapshot}");

    // Folded: the outcome is in the shared statistics and the journal is gone.
    assert!(
        journal_files(&repo).iter().all(|(_, bytes)| *bytes == 0),
        "{:?}",
        journal_files(&repo)
    );
    let metrics = repo.run("human:ops", &["learn", "metrics"]).ok();
    assert_eq!(metrics["pending"], 0, "{metrics}");
    assert_eq!(metrics["families"][0]["family"], "cargo test", "{metrics}");
    assert_eq!(metrics["families"][0]["failures"], 1, "{metrics}");
    assert_eq!(metrics["decisions"]["high"], 1, "{metrics}");

    // Nothing left: the next ticks commit nothing.
    for _ in 0..2 {
        let quiet = repo.run("human:ops", &["daemon", "tick"]).ok();
        assert_eq!(quiet["outcome"], "unchanged", "{quiet}");
        assert!(quiet["report"]["learn"].is_null(), "{quiet}");
    }
    assert_eq!(repo.commit_count(), before + 1);
}

#[test]
fn a_tick_compacts_learn_statistics_that_grew_past_the_limit() {
    let repo = Repo::new();
    repo.run("human:ops", &["daemon", "tick"]).ok();
    // 1 010 families, as a sync merge of two clones' statistics could leave them.
    let mut text = String::from("schema = 1\n");
    for i in 0..1010 {
        let runs = i + 1;
        text.push_str(&format!(
            "\n[families.\"tool{i} run\"]\nruns = {runs}\nsuccesses = {runs}\nfailures = 0\ninterrupted = 0\nfailure_streak = 0\nduration_ms = 0\n"
        ));
    }
    repo.commit_files(&[("learn/commands.toml", text.as_bytes())], "merged statistics");
    let before = repo.commit_count();
    let tick = repo.run("human:ops", &["daemon", "tick"]).ok();
    assert_eq!(repo.commit_count(), before + 1, "{tick}");
    assert_eq!(tick["report"]["learn"]["compacted"], 10, "{tick}");
    let kept = repo.state_file("learn/commands.toml").unwrap();
    assert_eq!(kept.matches("[families.").count(), 1000);
    assert!(!kept.contains("\"tool0 run\"") && kept.contains("\"tool1009 run\""));
    let quiet = repo.run("human:ops", &["daemon", "tick"]).ok();
    assert_eq!(quiet["outcome"], "unchanged", "{quiet}");
    assert_eq!(repo.commit_count(), before + 1);
}

#[test]
fn a_quiet_tick_reads_nothing_until_the_state_changes_or_something_comes_due() {
    let repo = Repo::new();
    let at = |minutes: i64| t0_plus_minutes(minutes);
    let tick = |minutes: i64| repo.run_at("human:ops", &at(minutes), &["daemon", "tick"]).ok();
    repo.run_at("human:ops", T0, &["config", "set", "daemon.snapshot_every", "30d"])
        .ok();
    repo.run_at("human:ops", T0, &["config", "set", "daemon.full_every", "30d"])
        .ok();
    repo.run_at("human:ops", T0, &["pool", "spawn", "--role", "rev"]).ok();
    repo.run_at("agent:a", T0, &["claims", "claim", "T-1", "--role", "rev"])
        .ok();
    repo.run_at("human:ops", T0, &["pool", "drain", "rev-1"]).ok();
    assert_eq!(tick(1)["outcome"], "changed", "the first snapshot");
    let second = tick(2);
    assert_eq!(
        (second["outcome"].as_str(), second["report"]["mode"].as_str()),
        (Some("unchanged"), Some("incremental")),
        "{second}"
    );
    let third = tick(3);
    assert_eq!(third["outcome"], "unchanged", "{third}");
    assert_eq!(third["report"]["mode"], "quiet", "{third}");
    assert_eq!(third["report"]["checked"]["read"], 0, "{third}");
    assert_eq!(third["report"]["at"], at(3).as_str());
    // It reports what the pass before it found, and counts what it had in view.
    assert_eq!(third["report"]["reported"], second["report"]["reported"], "{third}");
    assert_eq!(third["report"]["checked"]["claims"], 1, "{third}");
    assert!(repo.path().join(".git/baton/daemon-head.json").exists());
    let status = repo.run("human:ops", &["daemon", "status"]).ok();
    assert_eq!(status["last_tick"]["report"]["mode"], "quiet", "{status}");

    // Another command's commit: the next tick reads what changed.
    repo.run_at("agent:a", &at(4), &["claims", "claim", "T-2"]).ok();
    let after_claim = tick(5);
    assert_ne!(after_claim["report"]["mode"], "quiet", "{after_claim}");
    assert_eq!(after_claim["report"]["checked"]["claims"], 2, "{after_claim}");
    tick(6);
    assert_eq!(tick(7)["report"]["mode"], "quiet");

    // A journal waiting to be folded is not quiet.
    repo.run_at("agent:a", &at(8), &["learn", "pre-command", "--command", "ls"])
        .ok();
    let folding = tick(9);
    assert_eq!(folding["outcome"], "changed", "{folding}");
    tick(10);
    assert_eq!(tick(11)["report"]["mode"], "quiet");

    // T-1 goes stale 48h after it was claimed: quiet just before, expired at that time.
    let before = repo.commit_count();
    assert_eq!(tick(48 * 60 - 1)["report"]["mode"], "quiet");
    assert_eq!(repo.commit_count(), before);
    let stale = tick(48 * 60);
    assert_eq!(stale["outcome"], "changed", "{stale}");
    assert_eq!(stale["report"]["changed"][0]["subject"], "claim/T-1", "{stale}");
}
