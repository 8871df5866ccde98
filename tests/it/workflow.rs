//! The workflow engine (docs/workflows.md) through the built
//! binary on real temporary repositories: order and conditions, argv without
//! a shell, retries and backoff, timeouts killing whole process groups,
//! secret redaction in what reaches git, resume, a SIGKILLed runner and
//! `doctor --fix`, SIGTERM and `workflow stop`, `--jobs`, unique run ids,
//! validation, policy, templates, the pre-commit hook and dry runs.
//!
//! Steps are small `sh`/coreutils commands that leave evidence in files
//! (pid files, counters, logs) so the tests check what really ran and what
//! is still alive, not only what baton reports. The only timing assertions
//! are the functional ones (a timeout ends the run within seconds, `--jobs 2`
//! runs two 1 s steps side by side, backoff waits at least its duration),
//! with generous bounds.

#![cfg(unix)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{define, doctor_errors, exe, hermetic, Background, Repo, STATE_REF};
use serde_json::Value;

const ACTOR: &str = "human:tester";

// ---------------------------------------------------------------------------
// helpers

/// `baton -C <repo> --json <args>` as the test actor, started from a directory
/// that is neither the work tree root nor this package (steps must run in
/// the root whatever the caller's directory; should that break, their files
/// land in `.git/` of the scratch repository, never in the source tree).
fn baton(repo: &Repo, args: &[&str]) -> crate::common::Run {
    let out = crate::common::baton_cmd()
        .current_dir(repo.path().join(".git"))
        .arg("-C")
        .arg(repo.path())
        .arg("--json")
        .args(args)
        .env("BATON_ACTOR", ACTOR)
        .output()
        .expect("running baton");
    crate::common::Run::from_output(args.iter().map(|s| s.to_string()).collect(), out)
}

/// `workflow run <name> --execute [extra]`: asserts the exit code, returns the run record.
fn execute(repo: &Repo, name: &str, extra: &[&str], exit: i32) -> Value {
    let mut args = vec!["workflow", "run", name, "--execute"];
    args.extend_from_slice(extra);
    let run = baton(repo, &args);
    assert_eq!(run.code, exit, "{}", run.describe());
    run.json()["run"].clone()
}

/// One step's record in a run record.
fn step<'a>(run: &'a Value, id: &str) -> &'a Value {
    run["steps"]
        .as_array()
        .expect("steps is a list")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {run:#}"))
}

fn attempts(step: &Value) -> &Vec<Value> {
    step["attempts"].as_array().expect("attempts is a list")
}

fn attempt_numbers(step: &Value) -> Vec<u64> {
    attempts(step).iter().map(|a| a["number"].as_u64().unwrap()).collect()
}

fn exit_codes(step: &Value) -> Vec<Option<i64>> {
    attempts(step).iter().map(|a| a["exit_code"].as_i64()).collect()
}

/// `runs/workflow/<yyyy>/<mm>/<dd>/<id>.json`, derived from the id here, independently of baton.
fn ledger_path(id: &str) -> String {
    let stamp = &id["wf-".len()..];
    format!(
        "runs/workflow/{}/{}/{}/{id}.json",
        &stamp[..4],
        &stamp[4..6],
        &stamp[6..8]
    )
}

/// The run record as committed on the state ref, read with git.
fn ledger(repo: &Repo, id: &str) -> Value {
    let text = repo
        .state_file(&ledger_path(id))
        .unwrap_or_else(|| panic!("no ledger for {id} on {STATE_REF}"));
    serde_json::from_str(&text).expect("the ledger is JSON")
}

fn run_id(run: &Value) -> String {
    run["id"].as_str().expect("run id").to_owned()
}

fn read(repo: &Repo, file: &str) -> String {
    std::fs::read_to_string(repo.path().join(file)).unwrap_or_default()
}

/// A workflow `name` of `n` steps `s1`..`sn` in sequence, step `i` running
/// `run(i)` (a TOML array).
fn steps_running(name: &str, n: usize, run: impl Fn(usize) -> String) -> String {
    let mut text = format!("name = \"{name}\"\n");
    for i in 1..=n {
        text.push_str(&format!("[[steps]]\nid = \"s{i}\"\nrun = {}\n", run(i)));
    }
    text
}

/// The mask on the `name` line (`SigIgn:`, `SigBlk:`, ...) of a copy of
/// `/proc/<pid>/status`.
#[cfg(target_os = "linux")]
fn signal_mask(status: &str, name: &str) -> u64 {
    let line = status.lines().find(|l| l.starts_with(name)).unwrap();
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

fn exists(repo: &Repo, file: &str) -> bool {
    repo.path().join(file).exists()
}

/// `baton -C <repo> --json <args>` in the background (hermetic
/// environment, started from `.git/`), for tests that signal the runner.
fn runner(repo: &Repo, args: &[&str]) -> Background {
    runner_tagged(repo, "runner", args)
}

/// Output files `.git/<tag>.out` and `.git/<tag>.err`.
fn runner_tagged(repo: &Repo, tag: &str, args: &[&str]) -> Background {
    let mut cmd = Command::new(exe());
    hermetic(&mut cmd)
        .current_dir(repo.path().join(".git"))
        .arg("-C")
        .arg(repo.path())
        .arg("--json")
        .args(args)
        .env("BATON_ACTOR", ACTOR);
    Background::spawn(&mut cmd, repo, tag)
}

/// Step processes a test learned about from pid files: killed (SIGKILL, by
/// pid) when the test ends, so a failing test leaves no `sleep 30` behind.
/// Each pid is remembered with its start time, so a pid reused by another
/// process is never signalled.
#[derive(Default)]
struct Reaper(Vec<(i32, Option<String>)>);

impl Reaper {
    fn watch(&mut self, pid: i32) -> i32 {
        self.0.push((pid, start_time(pid)));
        pid
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        for (pid, started) in &self.0 {
            if started.is_some() && start_time(*pid) == *started && !gone(*pid) {
                // SAFETY: kill(2) on a process a step of this test started (same pid and start time).
                unsafe { libc::kill(*pid, libc::SIGKILL) };
            }
        }
    }
}

/// Field 22 of `/proc/<pid>/stat`: when the process started (clock ticks after boot).
fn start_time(pid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after `(comm)` start with the state, field 3.
    stat.rsplit(')').next()?.split_whitespace().nth(19).map(str::to_owned)
}

/// Wait until a step wrote a pid into `file` (relative to the repository).
fn wait_for_pid(repo: &Repo, file: &str, limit: Duration) -> i32 {
    let path = repo.path().join(file);
    let deadline = Instant::now() + limit;
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.ends_with('\n') {
            if let Ok(pid) = text.trim().parse() {
                return pid;
            }
        }
        assert!(Instant::now() < deadline, "no pid in {file} after {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a process is gone: no such pid, or a zombie (dead, waiting to
/// be reaped by whoever adopted it; `kill -0` would still succeed on it).
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // `pid (comm) S ...`: the state follows the last `)`.
            let state = stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next());
            matches!(state, Some("Z" | "X" | "x"))
        }
        Err(_) if Path::new("/proc/self/stat").exists() => true,
        // SAFETY: signal 0 only checks for existence (no /proc on this system).
        Err(_) => (unsafe { libc::kill(pid, 0) }) != 0,
    }
}

fn wait_gone(pid: i32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    gone(pid)
}

fn runs(repo: &Repo) -> Vec<Value> {
    baton(repo, &["workflow", "list", "--limit", "1000"]).ok()["runs"]
        .as_array()
        .unwrap()
        .clone()
}

/// The id of the one run marked `running` (ids of runs started in the same
/// second do not sort by start, so "the latest" is not asked for).
fn running_run(repo: &Repo, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let running: Vec<Value> = runs(repo).into_iter().filter(|r| r["status"] == "running").collect();
        if running.len() == 1 {
            return running[0]["id"].as_str().unwrap().to_owned();
        }
        assert!(running.len() < 2, "more than one run is running: {running:?}");
        assert!(Instant::now() < deadline, "no running run after {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------
// 1. order, conditions, skips, continue_on_error, checkpoints

#[test]
fn order_is_topological_with_file_order_ties() {
    let repo = Repo::new();
    let log = |id: &str| format!("run = [\"sh\", \"-c\", \"echo {id} >> order.log\"]");
    define(
        &repo,
        "order",
        &format!(
            "name = \"order\"\n\
             [[steps]]\nid = \"c\"\n{}\ndepends_on = [\"b\"]\n\
             [[steps]]\nid = \"a\"\n{}\ndepends_on = []\n\
             [[steps]]\nid = \"b\"\n{}\ndepends_on = [\"a\"]\n\
             [[steps]]\nid = \"d\"\n{}\ndepends_on = []\n\
             [[steps]]\nid = \"e\"\n{}\n",
            log("c"),
            log("a"),
            log("b"),
            log("d"),
            log("e")
        ),
    );
    let want = ["a", "b", "c", "d", "e"];
    let plan = baton(&repo, &["workflow", "run", "order"]).ok();
    assert_eq!(plan["order"], serde_json::json!(want), "{plan:#}");
    let valid = baton(&repo, &["workflow", "validate", "order"]).ok();
    assert_eq!(valid["order"], serde_json::json!(want));

    let run = execute(&repo, "order", &[], 0);
    assert_eq!(run["status"], "succeeded");
    let ran: Vec<String> = read(&repo, "order.log").lines().map(str::to_owned).collect();
    assert_eq!(ran, want, "execution order");
    // The ledger keeps the file's order of steps, each run once.
    let ids: Vec<&str> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["c", "a", "b", "d", "e"]);
    for id in want {
        assert_eq!(step(&run, id)["status"], "succeeded", "{id}");
        assert_eq!(attempt_numbers(step(&run, id)), [1], "{id}");
    }
}

#[test]
fn conditions_follow_the_upstream_and_skips_say_why() {
    let repo = Repo::new();
    define(
        &repo,
        "cond",
        r#"name = "cond"
[[steps]]
id = "a"
run = ["true"]
[[steps]]
id = "b"
run = ["sh", "-c", "echo b is failing; exit 3"]
depends_on = ["a"]
[[steps]]
id = "c"
run = ["touch", "c.ran"]
depends_on = ["b"]
[[steps]]
id = "c2"
run = ["touch", "c2.ran"]
depends_on = ["c"]
[[steps]]
id = "d"
run = ["touch", "d.ran"]
depends_on = ["b"]
when = "on_failure"
[[steps]]
id = "e"
run = ["touch", "e.ran"]
depends_on = ["a"]
when = "on_failure"
[[steps]]
id = "f"
run = ["touch", "f.ran"]
depends_on = ["c"]
when = "always"
[[steps]]
id = "gate"
depends_on = ["a"]
[[steps]]
id = "g"
run = ["touch", "g.ran"]
depends_on = ["gate"]
[[steps]]
id = "gate2"
depends_on = ["b"]
[[steps]]
id = "h"
run = ["touch", "h.ran"]
"#,
    );
    let run = execute(&repo, "cond", &[], 1);
    assert_eq!(run["status"], "failed", "{run:#}");

    assert_eq!(step(&run, "a")["status"], "succeeded");
    let b = step(&run, "b");
    assert_eq!(b["status"], "failed");
    assert_eq!(exit_codes(b), [Some(3)]);
    assert_eq!(attempts(b)[0]["output"], "b is failing\n");

    // on_success (the default) below a failure: skipped, with cause and reason.
    for id in ["c", "c2", "gate2", "h"] {
        let s = step(&run, id);
        assert_eq!(s["status"], "skipped", "{id}: {s:#}");
        assert_eq!(s["skip"], "upstream_failed", "{id}");
        assert_eq!(s["reason"], "upstream step b failed", "{id}");
        assert!(attempts(s).is_empty(), "{id}");
    }
    // on_failure: runs below a failure, skipped when nothing upstream failed.
    assert_eq!(step(&run, "d")["status"], "succeeded");
    let e = step(&run, "e");
    assert_eq!(e["status"], "skipped");
    assert_eq!(e["skip"], "nothing_failed");
    assert_eq!(e["reason"], "no upstream step failed (when = on_failure)");
    // always: runs although its (transitive) upstream failed.
    assert_eq!(step(&run, "f")["status"], "succeeded");
    // A checkpoint succeeds when reached, without attempts; its downstream runs.
    let gate = step(&run, "gate");
    assert_eq!(gate["status"], "succeeded");
    assert_eq!(gate["reason"], "checkpoint reached");
    assert!(attempts(gate).is_empty());
    assert_eq!(step(&run, "g")["status"], "succeeded");

    for (file, ran) in [
        ("c.ran", false),
        ("c2.ran", false),
        ("d.ran", true),
        ("e.ran", false),
        ("f.ran", true),
        ("g.ran", true),
        ("h.ran", false),
    ] {
        assert_eq!(exists(&repo, file), ran, "{file}");
    }
    // What was printed is what was committed.
    assert_eq!(ledger(&repo, &run_id(&run)), run);
}

#[test]
fn continue_on_error_lets_the_run_succeed_but_still_counts_as_failed_downstream() {
    let repo = Repo::new();
    define(
        &repo,
        "coe",
        r#"name = "coe"
[[steps]]
id = "lint"
run = ["sh", "-c", "exit 4"]
continue_on_error = true
depends_on = []
[[steps]]
id = "after"
run = ["touch", "after.ran"]
depends_on = ["lint"]
[[steps]]
id = "report"
run = ["touch", "report.ran"]
depends_on = ["lint"]
when = "on_failure"
[[steps]]
id = "build"
run = ["touch", "build.ran"]
depends_on = []
"#,
    );
    let run = execute(&repo, "coe", &[], 0);
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(step(&run, "lint")["status"], "failed");
    assert_eq!(exit_codes(step(&run, "lint")), [Some(4)]);
    // docs/workflows.md: it still counts as failed for its downstream steps' conditions.
    assert_eq!(step(&run, "after")["status"], "skipped");
    assert_eq!(step(&run, "after")["skip"], "upstream_failed");
    assert_eq!(step(&run, "report")["status"], "succeeded");
    assert_eq!(step(&run, "build")["status"], "succeeded");
    assert!(!exists(&repo, "after.ran"));
    assert!(exists(&repo, "report.ran") && exists(&repo, "build.ran"));

    // The same definition without continue_on_error fails the run.
    define(
        &repo,
        "coe",
        &read(&repo, ".baton/workflows/coe.toml").replace("continue_on_error = true\n", ""),
    );
    let run = execute(&repo, "coe", &[], 1);
    assert_eq!(run["status"], "failed");
}

// ---------------------------------------------------------------------------
// 2. argv, never a shell; where steps run

#[test]
fn arguments_are_never_interpreted_by_a_shell() {
    let repo = Repo::new();
    std::fs::write(repo.path().join("victim"), "keep me").unwrap();
    define(
        &repo,
        "argv",
        r#"name = "argv"
[[steps]]
id = "literal"
run = ["echo", "$HOME", ";", "rm", "victim", "&&", "touch", "pwned", "|", "$(touch pwned2)", "`touch pwned3`", "*", ">", "redirected"]
[[steps]]
id = "spaces"
run = ["printf", "<%s>\\n", "two words", "  padded  ", "a\"quote", ""]
[[steps]]
id = "env"
run = ["printenv", "GREETING"]
env = { GREETING = "hello; $USER && `id`" }
"#,
    );
    let run = execute(&repo, "argv", &[], 0);
    let out = |id: &str| attempts(step(&run, id))[0]["output"].as_str().unwrap().to_owned();
    assert_eq!(
        out("literal"),
        "$HOME ; rm victim && touch pwned | $(touch pwned2) `touch pwned3` * > redirected\n"
    );
    assert_eq!(out("spaces"), "<two words>\n<  padded  >\n<a\"quote>\n<>\n");
    assert_eq!(out("env"), "hello; $USER && `id`\n");
    assert_eq!(read(&repo, "victim"), "keep me");
    for f in ["pwned", "pwned2", "pwned3", "redirected", "x"] {
        assert!(!exists(&repo, f), "{f} was created: a shell interpreted the argv");
    }
}

#[test]
fn steps_run_in_the_work_tree_root_wherever_baton_was_started() {
    let repo = Repo::new();
    std::fs::create_dir_all(repo.path().join("sub/dir")).unwrap();
    std::fs::create_dir_all(repo.path().join("scripts")).unwrap();
    let script = repo.path().join("scripts/where.sh");
    std::fs::write(&script, "#!/bin/sh\npwd > where.txt\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    define(
        &repo,
        "where",
        "name = \"where\"\n[[steps]]\nid = \"pwd\"\nrun = [\"pwd\"]\n[[steps]]\nid = \"script\"\nrun = [\"scripts/where.sh\"]\n",
    );
    let root = repo.path().canonicalize().unwrap();
    let sub = repo.path().join("sub/dir");
    // `-C` a subdirectory from elsewhere, and a subdirectory as the current directory.
    for (cwd, dash_c) in [(repo.path().join(".git"), true), (sub.clone(), false)] {
        std::fs::remove_file(repo.path().join("where.txt")).ok();
        let mut cmd = crate::common::baton_cmd();
        cmd.current_dir(&cwd);
        if dash_c {
            cmd.arg("-C").arg(&sub);
        }
        let out = cmd
            .args(["--json", "workflow", "run", "where", "--execute"])
            .env("BATON_ACTOR", ACTOR)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let printed = attempts(step(&doc["run"], "pwd"))[0]["output"]
            .as_str()
            .unwrap()
            .trim()
            .to_owned();
        assert_eq!(Path::new(&printed).canonicalize().unwrap(), root, "-C: {dash_c}");
        assert_eq!(
            Path::new(read(&repo, "where.txt").trim()).canonicalize().unwrap(),
            root,
            "a relative program path and relative files resolve from the work tree root"
        );
    }
}

#[test]
fn a_program_that_cannot_start_fails_its_step() {
    let repo = Repo::new();
    define(
        &repo,
        "missing",
        "name = \"missing\"\n[[steps]]\nid = \"ghost\"\nrun = [\"no-such-program-baton-test\", \"x\"]\nretry = 1\n",
    );
    let run = execute(&repo, "missing", &[], 1);
    let ghost = step(&run, "ghost");
    assert_eq!(ghost["status"], "failed");
    assert_eq!(attempt_numbers(ghost), [1, 2]);
    assert_eq!(exit_codes(ghost), [None, None]);
    let output = attempts(ghost)[0]["output"].as_str().unwrap();
    assert!(output.contains("cannot run \"no-such-program-baton-test\""), "{output}");
    // Asking about a run that does not exist.
    repo.refuse(
        ACTOR,
        &["workflow", "status", "--run-id", "wf-20200101T000000Z-000000"],
        1,
        "no_run",
    );
}

/// What a step starts with (baton starts steps itself on Linux, see
/// src/os/spawn.rs): its own process group, no blocked signals, SIGPIPE not
/// ignored (the Rust runtime ignores it), stdin from /dev/null, the step's
/// `env` over the runner's, and the program found on that `PATH`. The
/// masks are read by the step's program after `exec`: a shell blocks every
/// signal while it waits for a child.
#[cfg(target_os = "linux")]
#[test]
fn a_step_starts_in_its_own_group_with_default_signals_and_its_env() {
    let repo = Repo::new();
    std::fs::create_dir_all(repo.path().join("bin")).unwrap();
    let tool = repo.path().join("bin/only-here");
    std::fs::write(&tool, "#!/bin/sh\necho found >> tool.out\n").unwrap();
    std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        repo.path().join("bin").display(),
        std::env::var("PATH").unwrap()
    );
    define(
        &repo,
        "startup",
        &format!(
            r#"name = "startup"
[[steps]]
id = "look"
run = ["sh", "-c", "cut -d' ' -f1,5 /proc/$$/stat > group.txt; readlink /proc/$$/fd/0 > stdin.txt; echo $MARK > env.txt; exec grep -E '^Sig(Blk|Ign)' /proc/self/status > signals.txt"]
env = {{ MARK = "from-the-step" }}
[[steps]]
id = "tool"
run = ["only-here"]
env = {{ PATH = "{path}" }}
"#
        ),
    );
    execute(&repo, "startup", &[], 0);
    // Ignored signals stay ignored across exec, as POSIX has it, except
    // SIGPIPE (bit 13 - 1): whatever the test harness ignores is inherited.
    let signals = read(&repo, "signals.txt");
    let mask = |name: &str| signal_mask(&signals, name);
    assert_eq!(mask("SigBlk:"), 0, "{signals}");
    assert_eq!(
        mask("SigIgn:") & (1 << (libc::SIGPIPE - 1)),
        0,
        "SIGPIPE is not ignored: {signals}"
    );
    let group = read(&repo, "group.txt");
    let (pid, pgrp) = group.trim().split_once(' ').unwrap();
    assert_eq!(pid, pgrp, "the step leads its own process group");
    assert_eq!(read(&repo, "stdin.txt").trim(), "/dev/null");
    assert_eq!(read(&repo, "env.txt").trim(), "from-the-step");
    assert_eq!(read(&repo, "tool.out"), "found\n");
}

/// A signal the runner was started with ignored stays ignored in its steps
/// (SIGUSR1 here, as `nohup` does for SIGHUP), while SIGPIPE, which the
/// Rust runtime ignores, does not; and the signals the runner catches
/// (SIGINT, SIGTERM) reach a step with their default action, for every
/// step, not only the first (the child resets what the runner catches, read
/// once per process: src/os/spawn.rs).
#[cfg(target_os = "linux")]
#[test]
fn steps_keep_what_the_runner_was_given_ignored_and_nothing_it_catches() {
    use std::os::unix::process::CommandExt;
    let repo = Repo::new();
    let text = steps_running("signals", 3, |i| {
        format!("[\"sh\", \"-c\", \"exec grep -E '^Sig(Ign|Cgt)' /proc/self/status > s{i}.txt\"]")
    });
    define(&repo, "signals", &text);
    let mut cmd = Command::new(exe());
    hermetic(&mut cmd)
        .arg("-C")
        .arg(repo.path())
        .args(["--json", "workflow", "run", "signals", "--execute"])
        .env("BATON_ACTOR", ACTOR);
    // SAFETY: signal(2) between fork and exec, on a value the child owns.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGUSR1, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for i in 1..=3 {
        let signals = read(&repo, &format!("s{i}.txt"));
        let mask = |name: &str| signal_mask(&signals, name);
        let bit = |signal: i32| 1u64 << (signal - 1);
        assert_ne!(mask("SigIgn:") & bit(libc::SIGUSR1), 0, "step {i}: {signals}");
        assert_eq!(mask("SigIgn:") & bit(libc::SIGPIPE), 0, "step {i}: {signals}");
        for caught in [libc::SIGINT, libc::SIGTERM] {
            assert_eq!(mask("SigIgn:") & bit(caught), 0, "step {i}: {signals}");
            assert_eq!(mask("SigCgt:") & bit(caught), 0, "step {i}: {signals}");
        }
    }
}

// ---------------------------------------------------------------------------
// 3. retries and backoff

#[test]
fn retries_count_attempts_and_honour_the_doubling_backoff() {
    let repo = Repo::new();
    define(
        &repo,
        "retry",
        r#"name = "retry"
[[steps]]
id = "flaky"
run = ["sh", "-c", "date +%s%N >> times.log; n=$(cat n 2>/dev/null || echo 0); n=$((n+1)); echo $n > n; echo try $n; [ $n -ge 3 ]"]
retry = 4
retry_backoff = "300ms"
depends_on = []
[[steps]]
id = "hopeless"
run = ["sh", "-c", "echo nope; exit 7"]
retry = 2
depends_on = []
[[steps]]
id = "once"
run = ["sh", "-c", "exit 9"]
depends_on = []
continue_on_error = true
"#,
    );
    let run = execute(&repo, "retry", &[], 1);
    let flaky = step(&run, "flaky");
    assert_eq!(flaky["status"], "succeeded", "{flaky:#}");
    assert_eq!(attempt_numbers(flaky), [1, 2, 3]);
    assert_eq!(exit_codes(flaky), [Some(1), Some(1), Some(0)]);
    assert_eq!(attempts(flaky)[2]["output"], "try 3\n");

    let hopeless = step(&run, "hopeless");
    assert_eq!(hopeless["status"], "failed");
    assert_eq!(attempt_numbers(hopeless), [1, 2, 3], "retry = 2 means 3 attempts");
    assert_eq!(exit_codes(hopeless), [Some(7); 3]);
    assert_eq!(attempt_numbers(step(&run, "once")), [1], "no retry: one attempt");

    // Backoff: 300 ms before the 2nd attempt, 600 ms before the 3rd (measured
    // between the attempts' own clocks, so it can only be longer).
    let times: Vec<u128> = read(&repo, "times.log")
        .lines()
        .map(|l| l.parse().expect("date +%s%N prints nanoseconds"))
        .collect();
    assert_eq!(times.len(), 3);
    let gap = |i: usize| Duration::from_nanos((times[i + 1] - times[i]) as u64);
    assert!(gap(0) >= Duration::from_millis(290), "first backoff {:?}", gap(0));
    assert!(
        gap(1) >= Duration::from_millis(590),
        "second backoff doubles: {:?}",
        gap(1)
    );
    assert!(gap(1) < Duration::from_secs(10), "second backoff {:?}", gap(1));
}

// ---------------------------------------------------------------------------
// 4. timeouts kill the whole process group

/// With `--jobs 3` the attempts run on the runner's crew of threads; with
/// `--jobs 1` on the runner's own thread, which must enforce the timeout
/// the same way.
#[test]
fn a_timeout_kills_the_step_and_everything_it_started() {
    for jobs in ["3", "1"] {
        a_timeout_kills_the_step_and_everything_it_started_with(jobs);
    }
}

fn a_timeout_kills_the_step_and_everything_it_started_with(jobs: &str) {
    let repo = Repo::new();
    let mut reaper = Reaper::default();
    define(
        &repo,
        "slow",
        r#"name = "slow"
[[steps]]
id = "sleepy"
run = ["sh", "-c", "echo $$ > sleepy.pid; exec sleep 30"]
timeout = "1s"
depends_on = []
[[steps]]
id = "spawner"
run = ["sh", "-c", "echo $$ > parent.pid; sleep 30 & echo $! > grandchild.pid; sleep 30"]
timeout = "1s"
depends_on = []
[[steps]]
id = "defaulted"
run = ["sh", "-c", "echo $$ > defaulted.pid; exec sleep 30"]
depends_on = []
[[steps]]
id = "after"
run = ["touch", "after.ran"]
"#,
    );
    // A step without `timeout` gets workflow.default_timeout.
    baton(&repo, &["config", "set", "workflow.default_timeout", "1s"]).ok();
    let t0 = Instant::now();
    let run = execute(&repo, "slow", &["--jobs", jobs], 1);
    let took = t0.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "--jobs {jobs}: the run took {took:?} for three 1 s timeouts"
    );
    assert_eq!(run["status"], "failed");
    for id in ["sleepy", "spawner", "defaulted"] {
        let s = step(&run, id);
        assert_eq!(s["status"], "failed", "{id}");
        let a = &attempts(s)[0];
        assert_eq!(a["timed_out"], true, "{id}: {a:#}");
        assert!(a["exit_code"].is_null(), "{id}: a killed step has no exit code");
        assert!(a["output"].as_str().unwrap().contains("timed out after 1s"), "{a:#}");
        assert!(a["duration_ms"].as_u64().unwrap() < 8_000, "{a:#}");
    }
    assert_eq!(step(&run, "after")["skip"], "upstream_failed");
    for file in ["sleepy.pid", "parent.pid", "grandchild.pid", "defaulted.pid"] {
        let pid = reaper.watch(wait_for_pid(&repo, file, Duration::from_secs(1)));
        assert!(
            wait_gone(pid, Duration::from_secs(5)),
            "--jobs {jobs}, {file}: process {pid} survived the timeout"
        );
    }
}

// ---------------------------------------------------------------------------
// 5. secrets never reach git

#[test]
fn secrets_in_output_are_redacted_before_they_reach_git() {
    let repo = Repo::new();
    let secrets = [
        "hunter2-Very-Secret",
        "tok3n-VALUE-0123456789",
        "MIIEowIBAAKCAQEAzSecretKeyMaterialLine1",
        "QmFzZTY0U2VjcmV0S2V5TWF0ZXJpYWxMaW5lMg",
        "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
        "apikeyvalue-XYZ-42",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUtCutOff",
    ];
    std::fs::write(
        repo.path().join("secrets.txt"),
        format!(
            "build ok\npassword={}\ntoken={}\n-----BEGIN RSA PRIVATE KEY-----\n{}\n{}\n-----END RSA PRIVATE KEY-----\npushing with {}\nAPI_KEY: {}\ndone\n",
            secrets[0], secrets[1], secrets[2], secrets[3], secrets[4], secrets[5]
        ),
    )
    .unwrap();
    define(
        &repo,
        "leaky",
        r#"name = "leaky"
[[steps]]
id = "stdout"
run = ["cat", "secrets.txt"]
[[steps]]
id = "stderr"
run = ["sh", "-c", "cat secrets.txt >&2; exit 1"]
[[steps]]
id = "cut"
run = ["sh", "-c", "echo -----BEGIN OPENSSH PRIVATE KEY-----; echo b3BlbnNzaC1rZXktdjEAAAAABG5vbmUtCutOff"]
when = "always"
"#,
    );
    let run = execute(&repo, "leaky", &[], 1);
    let id = run_id(&run);
    for step_id in ["stdout", "stderr"] {
        let output = attempts(step(&run, step_id))[0]["output"].as_str().unwrap().to_owned();
        assert!(output.starts_with("build ok\n"), "{output}");
        assert!(output.ends_with("done\n"), "{output}");
        assert!(output.contains("password=[REDACTED]"), "{output}");
        assert!(output.contains("[REDACTED PRIVATE KEY]"), "{output}");
        for s in secrets {
            assert!(!output.contains(s), "{s} in the recorded output: {output}");
        }
    }
    // A key block whose end never came (cut off, or the step died) is redacted too.
    let cut = attempts(step(&run, "cut"))[0]["output"].as_str().unwrap().to_owned();
    assert_eq!(cut, "[REDACTED PRIVATE KEY]", "{cut}");
    let status = baton(&repo, &["workflow", "status", "--run-id", &id]);
    // Everything git has on the state ref: every commit's message and diff.
    let history = repo.git(&["log", "-p", "--format=%H%n%B", STATE_REF]);
    assert!(history.contains(&id), "the run is in the history");
    assert!(history.contains("[REDACTED"), "the redacted output is in the history");
    for s in secrets {
        assert!(!history.contains(s), "{s} reached git log -p {STATE_REF}");
        assert!(!status.stdout.contains(s), "{s} in workflow status");
        let ledger_text = repo.state_file(&ledger_path(&id)).unwrap();
        assert!(!ledger_text.contains(s), "{s} in the ledger");
    }
}

// ---------------------------------------------------------------------------
// 6. resume keeps what succeeded

#[test]
fn resume_reruns_failures_and_downstream_but_keeps_successes() {
    let repo = Repo::new();
    define(
        &repo,
        "fixme",
        r#"name = "fixme"
[[steps]]
id = "one"
run = ["sh", "-c", "echo ran >> one.count"]
[[steps]]
id = "two"
run = ["sh", "-c", "test -f fixed || { echo not fixed yet; exit 5; }"]
retry = 1
[[steps]]
id = "three"
run = ["sh", "-c", "echo ran >> three.count"]
[[steps]]
id = "notify"
run = ["sh", "-c", "echo ran >> notify.count"]
when = "on_failure"
[[steps]]
id = "side"
run = ["sh", "-c", "echo ran >> side.count"]
depends_on = []
"#,
    );
    let first = execute(&repo, "fixme", &[], 1);
    let id = run_id(&first);
    assert_eq!(first["status"], "failed");
    assert_eq!(step(&first, "two")["status"], "failed");
    assert_eq!(attempt_numbers(step(&first, "two")), [1, 2]);
    assert_eq!(step(&first, "three")["skip"], "upstream_failed");
    assert_eq!(step(&first, "notify")["status"], "succeeded");

    // A dry resume names what would run and records nothing.
    let tip = repo.state();
    let plan = baton(&repo, &["workflow", "resume", "--run-id", &id]).ok();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["steps"], serde_json::json!(["two", "three"]));
    assert_eq!(repo.state(), tip);

    // Resume runs the recorded definition only: a changed file is refused
    // (the work tree's file is what runs, and only with the recorded blob id).
    let original = read(&repo, ".baton/workflows/fixme.toml");
    define(&repo, "fixme", &original.replace("three.count", "changed.count"));
    std::fs::write(repo.path().join("fixed"), "").unwrap();
    let refused = baton(&repo, &["workflow", "resume", "--run-id", &id, "--execute"]);
    refused.err(1, "definition_changed");
    assert_eq!(repo.state(), tip);
    define(&repo, "fixme", &original);
    let resumed = baton(&repo, &["workflow", "resume", "--run-id", &id, "--execute"]);
    assert_eq!(resumed.code, 0, "{}", resumed.describe());
    let run = resumed.json()["run"].clone();
    assert_eq!(run_id(&run), id, "resume continues the same run");
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(run["resumed_at"].as_array().map(Vec::len), Some(1));
    let two = step(&run, "two");
    assert_eq!(two["status"], "succeeded");
    assert_eq!(attempt_numbers(two), [1, 2, 3], "attempt numbers keep counting");
    assert_eq!(exit_codes(two), [Some(5), Some(5), Some(0)]);
    assert_eq!(step(&run, "three")["status"], "succeeded");
    assert!(step(&run, "three")["skip"].is_null() && step(&run, "three")["reason"].is_null());
    // Steps that succeeded did not run again.
    assert_eq!(read(&repo, "one.count"), "ran\n");
    assert_eq!(read(&repo, "notify.count"), "ran\n");
    assert_eq!(read(&repo, "side.count"), "ran\n");
    assert_eq!(read(&repo, "three.count"), "ran\n");
    assert!(!exists(&repo, "changed.count"));
    assert_eq!(attempt_numbers(step(&run, "one")), [1]);
    assert_eq!(ledger(&repo, &id), run);

    // Nothing left to resume.
    let again = baton(&repo, &["workflow", "resume", "--run-id", &id, "--execute"]).ok();
    assert_eq!(again["resumed"], false);
    assert_eq!(read(&repo, "one.count"), "ran\n");
}

// ---------------------------------------------------------------------------
// 7. a SIGKILLed runner: doctor, --fix, resume

#[test]
fn a_killed_runner_is_found_by_doctor_marked_interrupted_and_resumed() {
    let repo = Repo::new();
    let mut reaper = Reaper::default();
    define(
        &repo,
        "crashy",
        r#"name = "crashy"
[[steps]]
id = "one"
run = ["sh", "-c", "echo ran >> one.count"]
[[steps]]
id = "two"
run = ["sh", "-c", "echo ran >> two.count; test -f two.pid && exit 0; echo $$ > two.pid; exec sleep 30"]
[[steps]]
id = "three"
run = ["sh", "-c", "echo ran >> three.count"]
"#,
    );
    let mut runner = runner(&repo, &["workflow", "run", "crashy", "--execute"]);
    let step_pid = reaper.watch(wait_for_pid(&repo, "two.pid", Duration::from_secs(20)));
    let id = running_run(&repo, Duration::from_secs(5));
    // Killed once `one`'s result has landed (the writer gathers results for
    // up to 250 ms; what it had not landed yet would be lost with the runner).
    let deadline = Instant::now() + Duration::from_secs(5);
    while step(&ledger(&repo, &id), "one")["status"] != "succeeded" {
        assert!(Instant::now() < deadline, "step one's result never landed");
        std::thread::sleep(Duration::from_millis(20));
    }
    runner.child.kill().unwrap(); // SIGKILL
    let status = runner.wait(Duration::from_secs(5));
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }
    // PR_SET_PDEATHSIG: the step died with its runner.
    assert!(
        wait_gone(step_pid, Duration::from_secs(5)),
        "step process {step_pid} outlived its SIGKILLed runner"
    );
    let left = ledger(&repo, &id);
    assert_eq!(left["status"], "running");
    assert_eq!(step(&left, "one")["status"], "succeeded");
    assert_eq!(step(&left, "two")["status"], "pending");

    // doctor: an error naming the run; exit 1.
    let doctor = baton(&repo, &["workflow", "doctor"]);
    assert_eq!(doctor.code, 1, "{}", doctor.describe());
    let errors = doctor_errors(&doctor.json());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["check"], "workflow.runs");
    assert!(errors[0]["message"].as_str().unwrap().contains(&id), "{errors:?}");

    // --fix marks it interrupted in one commit; then doctor is healthy.
    let before = repo.commit_count();
    let fixed = baton(&repo, &["workflow", "doctor", "--fix"]);
    assert_eq!(fixed.code, 0, "{}", fixed.describe());
    assert_eq!(repo.commit_count(), before + 1);
    assert_eq!(ledger(&repo, &id)["status"], "interrupted");
    assert!(ledger(&repo, &id)["finished_at"].is_string());
    baton(&repo, &["workflow", "doctor"]).ok();

    // Resume completes it: `one` is kept, `two` and `three` run.
    let resumed = baton(&repo, &["workflow", "resume", "--run-id", &id, "--execute"]);
    assert_eq!(resumed.code, 0, "{}", resumed.describe());
    let run = resumed.json()["run"].clone();
    assert_eq!(run["status"], "succeeded", "{run:#}");
    for id in ["one", "two", "three"] {
        assert_eq!(step(&run, id)["status"], "succeeded", "{id}");
    }
    assert_eq!(read(&repo, "one.count"), "ran\n", "a succeeded step ran again");
    assert_eq!(read(&repo, "two.count"), "ran\nran\n");
    assert_eq!(read(&repo, "three.count"), "ran\n");
    assert_ne!(run["pid"], left["pid"]);
}

// ---------------------------------------------------------------------------
// 8. SIGTERM and `workflow stop`

const STOPPABLE: &str = r#"name = "stoppable"
[[steps]]
id = "work"
run = ["sh", "-c", "test -f done && exit 0; trap 'echo TERM >> term.got; exit 143' TERM; echo $$ > work.pid; sleep 30 & echo $! > child.pid; wait"]
[[steps]]
id = "after"
run = ["touch", "after.ran"]
"#;

fn assert_stopped(repo: &Repo, id: &str, pids: &[i32]) {
    for &pid in pids {
        assert!(
            wait_gone(pid, Duration::from_secs(5)),
            "process {pid} outlived the stop"
        );
    }
    let run = ledger(repo, id);
    assert_eq!(run["status"], "stopped", "{run:#}");
    assert!(run["finished_at"].is_string());
    let work = step(&run, "work");
    assert_eq!(work["status"], "stopped");
    // Its TERM trap exited 143.
    assert_eq!(attempts(work)[0]["exit_code"], 143, "{work:#}");
    assert_eq!(
        step(&run, "after")["status"],
        "pending",
        "a stopped run starts nothing new"
    );
    assert!(!exists(repo, "after.ran"));
    // Stopping is graceful first: the step's group got SIGTERM (its trap ran) before any SIGKILL.
    assert_eq!(read(repo, "term.got"), "TERM\n");
}

#[test]
fn sigterm_stops_the_steps_and_marks_the_run_stopped() {
    let repo = Repo::new();
    let mut reaper = Reaper::default();
    define(&repo, "stoppable", STOPPABLE);
    let mut runner = runner(&repo, &["workflow", "run", "stoppable", "--execute"]);
    let child = reaper.watch(wait_for_pid(&repo, "child.pid", Duration::from_secs(20)));
    let work = reaper.watch(wait_for_pid(&repo, "work.pid", Duration::from_secs(1)));
    let id = running_run(&repo, Duration::from_secs(5));
    // A live run cannot be resumed from elsewhere.
    repo.refuse(
        ACTOR,
        &["workflow", "resume", "--run-id", &id, "--execute"],
        1,
        "run_active",
    );
    // SAFETY: kill(2) on the baton process this test started.
    assert_eq!(unsafe { libc::kill(runner.pid(), libc::SIGTERM) }, 0);
    let status = runner.wait(Duration::from_secs(15));
    assert_eq!(status.code(), Some(1), "{}", runner.output());
    let out: Value = serde_json::from_str(&std::fs::read_to_string(&runner.out).unwrap()).unwrap();
    assert_eq!(out["run"]["status"], "stopped");
    assert_stopped(&repo, &id, &[work, child]);

    // A stopped run resumes: the stopped step and its downstream run.
    std::fs::write(repo.path().join("done"), "").unwrap();
    let resumed = baton(&repo, &["workflow", "resume", "--run-id", &id, "--execute"]);
    assert_eq!(resumed.code, 0, "{}", resumed.describe());
    let run = resumed.json()["run"].clone();
    assert_eq!(run["status"], "succeeded");
    assert_eq!(attempt_numbers(step(&run, "work")), [1, 2]);
    assert!(exists(&repo, "after.ran"));
}

#[test]
fn workflow_stop_from_another_process_stops_the_run() {
    let repo = Repo::new();
    let mut reaper = Reaper::default();
    define(&repo, "stoppable", STOPPABLE);
    let mut runner = runner(&repo, &["workflow", "run", "stoppable", "--execute"]);
    let child = reaper.watch(wait_for_pid(&repo, "child.pid", Duration::from_secs(20)));
    let work = reaper.watch(wait_for_pid(&repo, "work.pid", Duration::from_secs(1)));
    let id = running_run(&repo, Duration::from_secs(5));
    let stop = baton(&repo, &["workflow", "stop", "--run-id", &id]);
    assert_eq!(stop.code, 0, "{}", stop.describe());
    assert_eq!(stop.json()["run"]["status"], "stopped");
    let status = runner.wait(Duration::from_secs(15));
    assert_eq!(status.code(), Some(1), "{}", runner.output());
    assert_stopped(&repo, &id, &[work, child]);
    // Stopping it again is refused: it is not running.
    repo.refuse(ACTOR, &["workflow", "stop", "--run-id", &id], 1, "run_not_running");
}

/// A step that ignores SIGTERM: a stop's SIGTERM does nothing to it, so
/// its whole group gets SIGKILL once the grace (3 s) is over — from the
/// runner's own thread with `--jobs 1`, from the crew's with `--jobs 2`.
#[test]
fn a_stop_kills_a_step_that_ignores_sigterm_once_the_grace_is_over() {
    for jobs in ["1", "2"] {
        let repo = Repo::new();
        let mut reaper = Reaper::default();
        define(
            &repo,
            "stubborn",
            r#"name = "stubborn"
[[steps]]
id = "work"
run = ["sh", "-c", "trap '' TERM; echo $$ > work.pid; sleep 30 & echo $! > child.pid; wait; touch survived"]
[[steps]]
id = "after"
run = ["touch", "after.ran"]
"#,
        );
        let mut runner = runner(&repo, &["workflow", "run", "stubborn", "--execute", "--jobs", jobs]);
        let child = reaper.watch(wait_for_pid(&repo, "child.pid", Duration::from_secs(20)));
        let work = reaper.watch(wait_for_pid(&repo, "work.pid", Duration::from_secs(1)));
        let id = running_run(&repo, Duration::from_secs(5));
        let t0 = Instant::now();
        // SAFETY: kill(2) on the baton process this test started.
        assert_eq!(unsafe { libc::kill(runner.pid(), libc::SIGTERM) }, 0);
        let status = runner.wait(Duration::from_secs(20));
        let took = t0.elapsed();
        assert_eq!(status.code(), Some(1), "--jobs {jobs}: {}", runner.output());
        // SIGKILL comes no sooner than the grace after the SIGTERM.
        assert!(
            took >= Duration::from_secs(3),
            "--jobs {jobs}: the step was killed {took:?} after the stop, within its grace"
        );
        for pid in [work, child] {
            assert!(
                wait_gone(pid, Duration::from_secs(5)),
                "--jobs {jobs}: process {pid} outlived the stop"
            );
        }
        let run = ledger(&repo, &id);
        assert_eq!(run["status"], "stopped", "--jobs {jobs}: {run:#}");
        let step = step(&run, "work");
        assert_eq!(step["status"], "stopped", "--jobs {jobs}: {run:#}");
        let attempt = &attempts(step)[0];
        assert!(attempt["exit_code"].is_null(), "killed, so no exit code: {attempt:#}");
        assert_ne!(attempt["timed_out"], true, "a stop is not a timeout: {attempt:#}");
        assert_eq!(
            step_status(&run, "after"),
            "pending",
            "a stopped run starts nothing new"
        );
        assert!(!exists(&repo, "survived") && !exists(&repo, "after.ran"));
    }
}

fn step_status(run: &Value, id: &str) -> String {
    step(run, id)["status"].as_str().unwrap_or_default().to_owned()
}

// ---------------------------------------------------------------------------
// 9. --jobs

#[test]
fn jobs_run_independent_steps_side_by_side() {
    // Each step notes when it starts and ends (the marker files' order is
    // the steps' order): with --jobs 2 the two overlap, with --jobs 1 one
    // ends before the other starts. An ordering, not a wall-clock bound.
    let repo = Repo::new();
    let step = |id: &str| {
        format!(
            "[[steps]]\nid = \"{id}\"\nrun = [\"sh\", \"-c\", \"mkdir -p marks && date +%s%N > marks/{id}.start && sleep 0.5 && date +%s%N > marks/{id}.end\"]\ndepends_on = []\n"
        )
    };
    define(
        &repo,
        "pair",
        &format!(
            "name = \"pair\"\n{}{}[[steps]]\nid = \"join\"\nrun = [\"true\"]\n",
            step("left"),
            step("right")
        ),
    );
    let mark = |name: &str| -> u128 {
        let text = std::fs::read_to_string(repo.path().join("marks").join(name)).unwrap();
        text.trim().parse().unwrap()
    };
    let overlap = || mark("left.start") < mark("right.end") && mark("right.start") < mark("left.end");

    let run = execute(&repo, "pair", &["--jobs", "2"], 0);
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["steps"][2]["status"], "succeeded");
    assert!(overlap(), "--jobs 2 ran the independent steps one after the other");

    let run = execute(&repo, "pair", &["--jobs", "1"], 0);
    assert_eq!(run["status"], "succeeded");
    assert!(!overlap(), "--jobs 1 ran two steps at once");
}

/// A sequence of steps sees the same runner threads (its tasks, read from
/// `/proc/<runner>/task` by each step), not a new one per step: with
/// `--jobs 1` each step runs on the runner's own thread.
#[cfg(target_os = "linux")]
#[test]
fn a_sequence_of_steps_runs_on_one_kept_thread() {
    let repo = Repo::new();
    let text = steps_running("seq", 5, |_| {
        "[\"sh\", \"-c\", \"ls /proc/$PPID/task | sort | tr '\\\\n' ' ' >> tasks; echo >> tasks\"]".to_owned()
    });
    define(&repo, "seq", &text);
    let run = execute(&repo, "seq", &[], 0);
    assert_eq!(run["status"], "succeeded", "{run:#}");
    let tasks = read(&repo, "tasks");
    let lines: Vec<&str> = tasks.lines().collect();
    assert_eq!(lines.len(), 5, "{tasks}");
    assert!(
        lines.iter().all(|l| *l == lines[0]),
        "the runner's threads changed between steps:\n{tasks}"
    );
}

// ---------------------------------------------------------------------------
// 10. run ids

#[test]
fn run_ids_are_unique_within_one_second() {
    let repo = Repo::new();
    define(
        &repo,
        "quick",
        "name = \"quick\"\n[[steps]]\nid = \"only\"\nrun = [\"true\"]\n",
    );
    let mut ids = Vec::new();
    // Several at once...
    let mut runners: Vec<Background> = Vec::new();
    for i in 0..6 {
        let tag = format!("runner-{i}");
        runners.push(runner_tagged(&repo, &tag, &["workflow", "run", "quick", "--execute"]));
    }
    for r in &mut runners {
        let status = r.wait(Duration::from_secs(60));
        assert!(status.success(), "{}", r.output());
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&r.out).unwrap()).unwrap();
        ids.push(run_id(&doc["run"]));
    }
    // ...and several in quick succession.
    for _ in 0..4 {
        ids.push(run_id(&execute(&repo, "quick", &[], 0)));
    }
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "duplicate run ids: {ids:?}");
    for id in &ids {
        assert_eq!(ledger(&repo, id)["status"], "succeeded", "{id}");
    }
    assert_eq!(runs(&repo).len(), ids.len());
}

// ---------------------------------------------------------------------------
// 11. validation

#[test]
fn validation_lists_every_problem_with_its_step() {
    let repo = Repo::new();
    define(
        &repo,
        "bad",
        r#"name = "bad"
[[steps]]
id = "build"
run = ["true"]
when = "sometimes"
retry = -1
timeout = "soon"
[[steps]]
id = "build"
run = ["true"]
[[steps]]
id = "test"
depends_on = ["biuld"]
retry_backoff = "-2s"
[[steps]]
id = "x"
depends_on = ["z"]
[[steps]]
id = "y"
depends_on = ["x"]
[[steps]]
id = "z"
depends_on = ["y"]
"#,
    );
    let tip = repo.state();
    for args in [
        &["workflow", "validate", "bad"][..],
        &["workflow", "run", "bad"],
        &["workflow", "run", "bad", "--execute"],
    ] {
        let r = repo.refuse(ACTOR, args, 2, "invalid_workflow");
        let message = r.message();
        for want in [
            "step build: bad `when` \"sometimes\"",
            "step build: `retry` is -1",
            "step build: bad duration in `timeout`",
            "step build: duplicate step id",
            "step test: depends on unknown step biuld",
            "step test: bad duration in `retry_backoff`",
            "dependency cycle: x -> z -> y -> x",
        ] {
            assert!(message.contains(want), "{want:?} missing from:\n{message}");
        }
    }
    assert_eq!(repo.state(), tip, "an invalid definition recorded nothing");

    // A cycle alone names the cycle with its steps.
    define(
        &repo,
        "loop",
        "name = \"loop\"\n[[steps]]\nid = \"a\"\ndepends_on = [\"b\"]\n[[steps]]\nid = \"b\"\ndepends_on = [\"a\"]\n",
    );
    let r = repo.refuse(ACTOR, &["workflow", "validate", "loop"], 2, "invalid_workflow");
    assert!(
        r.message().contains("step a: dependency cycle: a -> b -> a"),
        "{}",
        r.message()
    );

    // No such workflow.
    repo.refuse(ACTOR, &["workflow", "run", "nothere"], 2, "no_workflow");
}

#[test]
fn json_definitions_have_the_same_fields() {
    let repo = Repo::new();
    define(
        &repo,
        "j.json",
        r#"{
  "name": "j",
  "steps": [
    {"id": "second", "run": ["sh", "-c", "echo second >> j.log"], "depends_on": ["first"]},
    {"id": "first", "run": ["sh", "-c", "echo first >> j.log; exit 1"], "depends_on": [],
     "retry": 1, "retry_backoff": "10ms", "timeout": "30s", "continue_on_error": true},
    {"id": "cleanup", "run": ["sh", "-c", "echo $WHO >> j.log"], "depends_on": ["first"],
     "when": "on_failure", "env": {"WHO": "cleanup"}},
    {"id": "end"}
  ]
}"#,
    );
    let valid = baton(&repo, &["workflow", "validate", "j"]).ok();
    assert_eq!(valid["order"], serde_json::json!(["first", "second", "cleanup", "end"]));
    // By path as well as by name.
    baton(&repo, &["workflow", "validate", ".baton/workflows/j.json"]).ok();
    let run = execute(&repo, "j", &[], 0);
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(attempt_numbers(step(&run, "first")), [1, 2]);
    assert_eq!(step(&run, "second")["skip"], "upstream_failed");
    assert_eq!(step(&run, "cleanup")["status"], "succeeded");
    assert_eq!(step(&run, "end")["status"], "skipped");
    assert_eq!(read(&repo, "j.log"), "first\nfirst\ncleanup\n");

    define(
        &repo,
        "broken.json",
        r#"{"name": "broken", "steps": [{"id": "a", "when": "later", "retry": -3}, {"id": "b", "depends_on": ["c"]}]}"#,
    );
    let r = repo.refuse(ACTOR, &["workflow", "validate", "broken"], 2, "invalid_workflow");
    for want in [
        "step a: bad `when`",
        "step a: `retry` is -3",
        "step b: depends on unknown step c",
    ] {
        assert!(r.message().contains(want), "{want:?} missing from {}", r.message());
    }
}

// ---------------------------------------------------------------------------
// 12. policy

#[test]
fn workflow_allow_refuses_before_anything_runs() {
    let repo = Repo::new();
    baton(&repo, &["config", "set", "workflow.allow", "echo *"]).ok();
    define(
        &repo,
        "listing",
        r#"name = "listing"
[[steps]]
id = "hello"
run = ["sh", "-c", "touch hello.ran"]
[[steps]]
id = "greet"
run = ["echo", "hi"]
[[steps]]
id = "list"
run = ["ls", "-la"]
"#,
    );
    let r = repo.refuse(ACTOR, &["workflow", "run", "listing", "--execute"], 1, "policy");
    assert!(r.message().contains("step list: `ls -la`"), "{}", r.message());
    assert!(r.message().contains("step hello"), "{}", r.message());
    assert!(!r.message().contains("step greet"), "{}", r.message());
    assert!(!exists(&repo, "hello.ran"), "a step ran before the refusal");
    assert!(runs(&repo).is_empty(), "a refused run was recorded");
    // The dry run shows what would be refused.
    let plan = baton(&repo, &["workflow", "run", "listing"]).ok();
    assert_eq!(plan["refused"].as_array().map(Vec::len), Some(2), "{plan:#}");

    // --allow-risk runs them anyway.
    let run = execute(&repo, "listing", &["--allow-risk"], 0);
    assert_eq!(run["status"], "succeeded");
    assert!(exists(&repo, "hello.ran"));
}

#[test]
fn high_risk_commands_are_refused_unless_allowed() {
    let repo = Repo::new();
    // Refusal only: these must never run.
    for (name, argv) in [
        ("rmroot", r#"["rm", "-rf", "/"]"#),
        ("forcepush", r#"["git", "push", "--force", "origin", "main"]"#),
        ("shline", r#"["sh", "-c", "echo hi && rm -rf ~"]"#),
        ("sudo", r#"["sudo", "rm", "-r", "/etc"]"#),
    ] {
        define(
            &repo,
            name,
            &format!("name = \"{name}\"\n[[steps]]\nid = \"ok\"\nrun = [\"true\"]\n[[steps]]\nid = \"danger\"\nrun = {argv}\n"),
        );
        let r = repo.refuse(ACTOR, &["workflow", "run", name, "--execute"], 1, "policy");
        assert!(r.message().contains("step danger"), "{}", r.message());
        assert!(r.message().contains("high risk"), "{}", r.message());
    }
    assert!(runs(&repo).is_empty());

    // A harmless use of a high-risk command, aimed explicitly at this
    // scratch repository: refused, then run with --allow-risk.
    std::fs::write(repo.path().join("tracked.txt"), "committed\n").unwrap();
    repo.git(&["add", "tracked.txt"]);
    repo.git(&["commit", "-q", "-m", "scratch"]);
    std::fs::write(repo.path().join("tracked.txt"), "local edit\n").unwrap();
    let root = repo.path().to_str().unwrap().to_owned();
    define(
        &repo,
        "reset",
        &format!("name = \"reset\"\n[[steps]]\nid = \"reset\"\nrun = [\"git\", \"-C\", {root:?}, \"reset\", \"--hard\", \"-q\"]\n"),
    );
    let r = repo.refuse(ACTOR, &["workflow", "run", "reset", "--execute"], 1, "policy");
    assert!(r.message().contains("git reset --hard"), "{}", r.message());
    assert_eq!(read(&repo, "tracked.txt"), "local edit\n");
    let run = execute(&repo, "reset", &["--allow-risk"], 0);
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(read(&repo, "tracked.txt"), "committed\n");
}

// ---------------------------------------------------------------------------
// 13. templates

#[test]
fn templates_are_listed_and_initialized_once() {
    let repo = Repo::new();
    let list = baton(&repo, &["workflow", "template", "list"]).ok();
    let names: Vec<&str> = list["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for want in ["prepare-execute-verify", "rust-ship"] {
        assert!(names.contains(&want), "{names:?}");
    }
    for t in list["templates"].as_array().unwrap() {
        assert!(!t["description"].as_str().unwrap().is_empty(), "{t}");
    }
    for name in ["rust-ship", "prepare-execute-verify"] {
        baton(&repo, &["workflow", "template", "init", name]).ok();
        let path = repo.path().join(format!(".baton/workflows/{name}.toml"));
        assert!(path.is_file());
        let valid = baton(&repo, &["workflow", "validate", name]).ok();
        assert_eq!(valid["valid"], true);
        let by_path = baton(
            &repo,
            &["workflow", "validate", &format!(".baton/workflows/{name}.toml")],
        )
        .ok();
        assert_eq!(by_path["valid"], true);
    }
    // A second init does not overwrite (exit 1) unless --force.
    let path = repo.path().join(".baton/workflows/rust-ship.toml");
    std::fs::write(&path, "# mine\n").unwrap();
    repo.refuse(ACTOR, &["workflow", "template", "init", "rust-ship"], 1, "exists");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");
    baton(&repo, &["workflow", "template", "init", "rust-ship", "--force"]).ok();
    assert_ne!(std::fs::read_to_string(&path).unwrap(), "# mine\n");
    repo.refuse(ACTOR, &["workflow", "template", "init", "nope"], 2, "no_template");
}

// ---------------------------------------------------------------------------
// 14. the pre-commit hook

#[test]
fn the_hook_rejects_a_staged_invalid_definition() {
    let repo = Repo::new();
    let hook = |repo: &Repo| baton(repo, &["doctor", "--hook"]);
    define(
        &repo,
        "good",
        "name = \"good\"\n[[steps]]\nid = \"a\"\nrun = [\"true\"]\n",
    );
    repo.git(&["add", ".baton/workflows/good.toml"]);
    let r = hook(&repo);
    assert_eq!(r.code, 0, "{}", r.describe());

    define(
        &repo,
        "bad",
        "name = \"bad\"\n[[steps]]\nid = \"a\"\nwhen = \"whenever\"\n[[steps]]\nid = \"b\"\ndepends_on = [\"nope\"]\n",
    );
    // Unstaged: not the hook's business.
    let r = hook(&repo);
    assert_eq!(r.code, 0, "{}", r.describe());
    repo.git(&["add", ".baton/workflows/bad.toml"]);
    let r = hook(&repo);
    assert_eq!(r.code, 1, "{}", r.describe());
    let errors = doctor_errors(&r.json());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["check"], "workflow.definition");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(message.contains(".baton/workflows/bad.toml"), "{message}");
    assert!(message.contains("step a: bad `when`") && message.contains("step b: depends on unknown step nope"));

    // Also when run by hand from a subdirectory (pathspecs are relative to it).
    std::fs::create_dir_all(repo.path().join("src")).unwrap();
    let from_sub = crate::common::baton_cmd()
        .current_dir(repo.path().join("src"))
        .args(["doctor", "--hook"])
        .env("BATON_ACTOR", ACTOR)
        .output()
        .unwrap();
    assert_eq!(
        from_sub.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&from_sub.stdout)
    );
    // The staged content is what counts: fixing only the work tree is not enough.
    define(
        &repo,
        "bad",
        "name = \"bad\"\n[[steps]]\nid = \"a\"\nrun = [\"true\"]\n",
    );
    assert_eq!(hook(&repo).code, 1);
    repo.git(&["add", ".baton/workflows/bad.toml"]);
    let r = hook(&repo);
    assert_eq!(r.code, 0, "{}", r.describe());
    // And through git's own pre-commit path: a commit with the valid definition goes through.
    repo.git(&["commit", "-q", "-m", "workflows"]);
}

// ---------------------------------------------------------------------------
// 15. dry runs

#[test]
fn a_dry_run_records_nothing_and_runs_nothing() {
    let repo = Repo::new();
    define(
        &repo,
        "plan",
        "name = \"plan\"\n[[steps]]\nid = \"make\"\nrun = [\"touch\", \"made\"]\nretry = 2\ntimeout = \"5m\"\n[[steps]]\nid = \"done\"\n",
    );
    let tip = repo.state();
    let count = repo.commit_count();
    let plan = baton(&repo, &["workflow", "run", "plan"]).ok();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["order"], serde_json::json!(["make", "done"]));
    assert_eq!(plan["workflow"]["steps"][0]["retry"], 2);
    assert_eq!(repo.state(), tip);
    assert_eq!(repo.commit_count(), count);
    assert!(!exists(&repo, "made"));
    assert!(runs(&repo).is_empty());
    // Text mode shows the plan.
    let out = repo.cmd(ACTOR).args(["workflow", "run", "plan"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("dry run") && text.contains("touch made") && text.contains("(checkpoint)"),
        "{text}"
    );
    assert_eq!(repo.state(), tip);

    // With --execute: one commit at the start, one per step result, one at the end.
    let run = execute(&repo, "plan", &[], 0);
    assert!(exists(&repo, "made"));
    assert_eq!(repo.commit_count(), count + 4);
    let log = repo.git(&["log", "--format=%s", &format!("{tip}..{STATE_REF}")]);
    assert!(log.lines().all(|l| l.contains(&run_id(&run))), "{log}");
}
