//! A runner never hangs (Hardening issue, item 4): baton started with
//! SIGCHLD ignored (which a parent can leave behind across `exec`, and which
//! makes the kernel reap children itself, so `waitpid` only ever says
//! ECHILD) still sees its steps end, honours step timeouts and stops on
//! SIGTERM.
//!
//! baton is started through `python3`, which sets SIGCHLD to SIG_IGN and
//! then execs it, exactly as the report reproduced it. Every run has a hard
//! limit: a regression kills baton and fails instead of hanging CI.

#![cfg(unix)]

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{define, exe, hermetic, Background, Repo};
use serde_json::Value;

const ACTOR: &str = "human:tester";

const IGNORE_SIGCHLD_THEN_EXEC: &str =
    "import os, signal, sys; signal.signal(signal.SIGCHLD, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])";

/// `baton -C <repo> --json <args>` started with SIGCHLD ignored, in the
/// background; output to files under `.git/`.
fn ignoring(repo: &Repo, args: &[&str]) -> Background {
    let mut cmd = Command::new("python3");
    hermetic(&mut cmd)
        .arg("-c")
        .arg(IGNORE_SIGCHLD_THEN_EXEC)
        .arg(exe())
        .arg("-C")
        .arg(repo.path())
        .arg("--json")
        .args(args)
        .env("BATON_ACTOR", ACTOR);
    Background::spawn(&mut cmd, repo, "runner")
}

/// The run record a finished runner printed.
fn run_record(runner: &Background) -> Value {
    runner.json()["run"].clone()
}

fn step<'a>(run: &'a Value, id: &str) -> &'a Value {
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {run:#}"))
}

#[test]
fn a_runner_started_with_sigchld_ignored_sees_its_step_end() {
    let repo = Repo::new();
    define(
        &repo,
        "one",
        "name = \"one\"\n[[steps]]\nid = \"t\"\nrun = [\"true\"]\ntimeout = \"5s\"\n",
    );
    let t0 = Instant::now();
    let mut runner = ignoring(&repo, &["workflow", "run", "one", "--execute"]);
    let status = runner.wait(Duration::from_secs(20));
    let took = t0.elapsed();
    assert_eq!(status.code(), Some(0), "{}", runner.output());
    assert!(took < Duration::from_secs(5), "one `true` step took {took:?}");
    let run = run_record(&runner);
    assert_eq!(run["status"], "succeeded", "{run:#}");
    let attempts = step(&run, "t")["attempts"].as_array().unwrap().clone();
    assert_eq!(attempts.len(), 1, "{run:#}");
    // The real exit status, not a guess: SIGCHLD is back to its default.
    assert_eq!(attempts[0]["exit_code"], 0, "{run:#}");
}

#[test]
fn a_runner_started_with_sigchld_ignored_times_out_and_stops_on_sigterm() {
    let repo = Repo::new();
    define(
        &repo,
        "slow",
        r#"name = "slow"
[[steps]]
id = "timed"
run = ["sleep", "30"]
timeout = "1s"
[[steps]]
id = "long"
run = ["sh", "-c", "echo $$ > long.pid; exec sleep 30"]
when = "always"
"#,
    );
    let mut runner = ignoring(&repo, &["workflow", "run", "slow", "--execute"]);
    let pid_file = repo.path().join("long.pid");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&pid_file).unwrap_or_default().ends_with('\n') {
        if Instant::now() > deadline {
            drop(runner);
            panic!("the step after the timed-out one never started: the timeout was not honoured");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) on the baton process this test started (python3 exec'd into it).
    assert_eq!(unsafe { libc::kill(runner.pid(), libc::SIGTERM) }, 0);
    let status = runner.wait(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1), "{}", runner.output());
    let run = run_record(&runner);
    assert_eq!(run["status"], "stopped", "{run:#}");
    let timed = &step(&run, "timed")["attempts"][0];
    assert_eq!(timed["timed_out"], true, "{run:#}");
    assert_eq!(step(&run, "long")["status"], "stopped", "{run:#}");
}
