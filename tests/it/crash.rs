//! Crash safety (docs/storage.md): writers killed with SIGKILL at arbitrary
//! moments leave a state ref that git accepts and doctor finds healthy, with
//! no half-applied operation, and later writes still work. A leftover ref
//! lock is a warning while young, an error when stale, and `doctor --fix`
//! removes a stale one.

#![cfg(unix)]

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::common::{doctor_errors, exe, hermetic, Repo};
use serde_json::Value;

fn lock_path(repo: &Repo) -> std::path::PathBuf {
    repo.path().join(".git/refs/baton/state.lock")
}

fn findings(doc: &Value) -> Vec<Value> {
    doc["findings"].as_array().expect("findings").clone()
}

fn finding(doc: &Value, check: &str) -> Value {
    findings(doc)
        .into_iter()
        .find(|f| f["check"] == check)
        .unwrap_or_else(|| panic!("no {check} finding in {doc}"))
}

/// After a crash: git accepts the repository, doctor reports no errors (a
/// young lock only warns; it is then removed as a waiting user would see it
/// go stale and fix it), and claims and commits agree one to one.
fn check_consistent(repo: &Repo, prefixes: &[String]) {
    let fsck = repo
        .git_cmd()
        .args(["fsck", "--no-progress", "--no-dangling"])
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "git fsck: {}",
        String::from_utf8_lossy(&fsck.stderr)
    );
    repo.git(&["cat-file", "-e", &format!("{}^{{tree}}", repo.state())]);

    let doctor = repo.run("human:ops", &["doctor"]);
    let doc = doctor.json();
    assert!(doctor_errors(&doc).is_empty(), "doctor errors: {}", doctor.describe());
    assert_eq!(doctor.code, 0, "{}", doctor.describe());
    if lock_path(repo).exists() {
        let lock = finding(&doc, "store.lock");
        assert_eq!(lock["severity"], "warn", "a young lock is a warning: {lock}");
        std::fs::remove_file(lock_path(repo)).unwrap();
    } else {
        assert_eq!(finding(&doc, "store.lock")["severity"], "ok");
    }

    // No half operation: every claim commit left exactly one claim, and the
    // claims of each writer loop are a gap-free prefix of what it tried.
    let claims = repo.claims();
    assert_eq!(claims.len() + 1, repo.commit_count(), "one claim per commit after init");
    for prefix in prefixes {
        let mut numbers: Vec<u64> = claims
            .iter()
            .filter_map(|c| c["id"].as_str()?.strip_prefix(prefix.as_str())?.parse().ok())
            .collect();
        numbers.sort_unstable();
        let expected: Vec<u64> = (1..=numbers.len() as u64).collect();
        assert_eq!(numbers, expected, "claims of {prefix}");
    }
    for c in &claims {
        assert_eq!(c["state"], "active");
        assert_eq!(c["generation"], 1);
    }
}

#[test]
fn sigkilled_writer_loops_leave_a_consistent_state() {
    let repo = Repo::new();
    let mut prefixes = Vec::new();
    let mut total_landed = 0;
    for round in 0..4u64 {
        // Two shell loops claiming ids one after another, each in its own
        // process group so one SIGKILL takes the shell and the running baton.
        let loops: Vec<_> = (0..2)
            .map(|l| {
                let prefix = format!("K{round}{l}-");
                prefixes.push(prefix.clone());
                hermetic(&mut Command::new("sh"))
                    .arg("-c")
                    .arg(r#"i=0; while :; do i=$((i+1)); "$BATON" -C "$REPO" -q claims claim "$PREFIX$i" || exit 1; done"#)
                    .env("BATON", exe())
                    .env("REPO", repo.path())
                    .env("PREFIX", &prefix)
                    .env("BATON_ACTOR", format!("agent:loop-{l}"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .process_group(0)
                    .spawn()
                    .expect("spawning the writer loop")
            })
            .collect();
        std::thread::sleep(Duration::from_millis(250 + 40 * round));
        for mut child in loops {
            let group = format!("-{}", child.id());
            let killed = Command::new("kill")
                .args(["-9", "--", &group])
                .status()
                .expect("running kill");
            assert!(killed.success(), "kill -9 {group}");
            let status = child.wait().unwrap();
            assert!(
                status.code().is_none(),
                "the loop was still running when killed (a claim failed?): {status:?}"
            );
        }
        check_consistent(&repo, &prefixes);
        let landed = repo.claims().len();
        assert!(landed > total_landed, "round {round}: the loops made progress");
        total_landed = landed;
    }

    // Later writes work.
    let run = repo.run("agent:after", &["claims", "claim", "AFTER-1"]);
    assert_eq!(run.ok()["changed"], true);
    check_consistent(&repo, &prefixes);
}

#[test]
fn writers_killed_at_many_points_never_corrupt_the_state() {
    // Kill single baton processes after a few milliseconds, at shifting
    // offsets, to land inside object writing, the ref lock and the reflog.
    let repo = Repo::new();
    let mut locks_left = 0;
    for i in 0..40u64 {
        let mut child = hermetic(&mut Command::new(exe()))
            .arg("-C")
            .arg(repo.path())
            .args(["-q", "claims", "claim", &format!("X-{i}")])
            .env("BATON_ACTOR", "agent:victim")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(500 + (i * 2_357) % 20_000));
        child.kill().ok();
        child.wait().unwrap();
        if lock_path(&repo).exists() {
            locks_left += 1;
        }
        // Consistency, not completeness: the ids are not a prefix here.
        check_consistent(&repo, &[]);
    }
    let landed = repo.claims().len();
    eprintln!("{landed} of 40 killed claims landed; {locks_left} kill(s) left a ref lock behind");
    let run = repo.run("agent:after", &["claims", "claim", "AFTER-1"]);
    assert_eq!(run.ok()["changed"], true);
}

#[test]
fn a_leftover_lock_warns_while_young_and_doctor_fix_removes_a_stale_one() {
    let repo = Repo::new();
    repo.run("agent:a", &["claims", "claim", "T-1"]).ok();
    let tip = repo.state();
    // What a writer killed between taking the lock and moving the ref leaves.
    std::fs::write(lock_path(&repo), format!("{tip}\n")).unwrap();

    // Young: a warning, doctor still passes; --strict fails on it.
    let young = repo.run("human:ops", &["doctor"]);
    assert_eq!(young.code, 0, "{}", young.describe());
    assert_eq!(finding(&young.json(), "store.lock")["severity"], "warn");
    assert_eq!(repo.run("human:ops", &["doctor", "--strict"]).code, 1);
    // The pre-commit check does not block commits on a young lock either.
    assert_eq!(repo.run("human:ops", &["doctor", "--hook"]).code, 0);

    // Writers wait for the lock a bounded time, then give up with exit 3.
    let started = Instant::now();
    // (One run only: each waits out the whole write budget.)
    let run = repo.run("agent:b", &["claims", "claim", "T-2"]);
    run.err(3, "lock_held");
    assert!(run.hint().contains("doctor --fix"), "{}", run.hint());
    assert_eq!(repo.state(), tip);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "bounded wait, took {:?}",
        started.elapsed()
    );
    // Reads are not blocked by a lock.
    assert_eq!(repo.claim("T-1")["owner"], "agent:a");

    // Two minutes old: stale, an error; --fix removes it.
    let file = std::fs::File::options().write(true).open(lock_path(&repo)).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(120)).unwrap();
    drop(file);
    let stale = repo.run("human:ops", &["doctor"]);
    assert_eq!(stale.code, 1, "{}", stale.describe());
    let lock = finding(&stale.json(), "store.lock");
    assert_eq!(lock["severity"], "error");
    assert!(lock["message"].as_str().unwrap().contains("stale"), "{lock}");
    assert_eq!(repo.state(), tip, "doctor without --fix changes nothing");
    assert!(lock_path(&repo).exists());

    let fixed = repo.run("human:ops", &["doctor", "--fix"]);
    assert_eq!(fixed.code, 0, "{}", fixed.describe());
    assert_eq!(finding(&fixed.json(), "store.lock")["fixed"], true);
    assert!(!lock_path(&repo).exists());

    let run = repo.run("agent:b", &["claims", "claim", "T-2"]);
    assert_eq!(run.ok()["changed"], true);
    repo.run("human:ops", &["doctor"]).ok();
}
