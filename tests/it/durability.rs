//! Durability of the write path (docs/storage.md, "Packed writes" and
//! "Compare-and-swap"), through the built binary on real repositories:
//! `git gc`/`git repack` running during a workflow run (from its own steps,
//! from `gc --auto`, from another process in a loop) lose nothing; a pack is
//! synced and kept (`.keep`) until the ref points at it; a run's start lands
//! before any step runs, and a writer that fails mid-run stops the steps and
//! records the run's end; stale lock files of every kind a state write takes
//! are named by the write that meets them, reported by `doctor` and removed
//! by `doctor --fix`.
//!
//! Each test reproduces a reported failure: it failed on the code before the
//! fix it checks.

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::common::{Repo, STATE_REF};
use serde_json::Value;

const ACTOR: &str = "agent:durable";

/// Write `.baton/workflows/<name>.toml` with `steps` as `(id, argv)`; an
/// empty argv is a checkpoint. `independent` gives each `depends_on = []`.
fn define(repo: &Repo, name: &str, steps: &[(&str, Vec<String>)], independent: bool) {
    let mut text = format!("name = \"{name}\"\n");
    for (id, argv) in steps {
        text.push_str(&format!("[[steps]]\nid = \"{id}\"\n"));
        if !argv.is_empty() {
            let quoted: Vec<String> = argv.iter().map(|a| format!("{a:?}")).collect();
            text.push_str(&format!("run = [{}]\n", quoted.join(", ")));
        }
        if independent {
            text.push_str("depends_on = []\n");
        }
    }
    let dir = repo.path().join(".baton/workflows");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.toml")), text).unwrap();
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

fn fsck(repo: &Repo) {
    repo.git(&["fsck", "--strict", "--no-dangling"]);
}

/// The run as the state holds it (`workflow status --run-id`).
fn recorded(repo: &Repo, id: &str) -> Value {
    repo.run(ACTOR, &["workflow", "status", "--run-id", id]).ok()["run"].clone()
}

fn step_status(run: &Value, id: &str) -> String {
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}: {run}"))["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Every run in the state, newest first.
fn runs(repo: &Repo) -> Vec<Value> {
    repo.run(ACTOR, &["workflow", "list"]).ok()["runs"]
        .as_array()
        .unwrap()
        .clone()
}

/// Assert a run succeeded with every one of `steps` succeeded, in the
/// printed record and in the state, with one commit per step result
/// between its start and its end.
fn assert_landed(repo: &Repo, out: &crate::common::Run, steps: usize) -> String {
    let run = out.ok()["run"].clone();
    let id = run["id"].as_str().unwrap().to_owned();
    assert_eq!(run["status"], "succeeded", "{}", out.describe());
    let state = recorded(repo, &id);
    assert_eq!(state["status"], "succeeded", "{state}");
    let done = state["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "succeeded")
        .count();
    assert_eq!(done, steps, "{state}");
    let log = repo.git(&["log", "--format=%s", STATE_REF]);
    let commits = log.lines().filter(|l| l.contains(&id)).count();
    assert_eq!(commits, steps + 2, "start + one per step + end:\n{log}");
    id
}

fn pack_files(repo: &Repo, ext: &str) -> Vec<PathBuf> {
    let dir = repo.path().join(".git/objects/pack");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| Some(e.ok()?.path()))
                .filter(|p| p.extension().is_some_and(|x| x == ext))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// Item 1: git gc and git repack during a run

#[test]
fn git_gc_auto_started_by_a_step_does_not_lose_the_runs_end() {
    // Reported: `gc.autoPackLimit 1` and a step running `git commit` (which
    // runs `gc --auto`) made the run's last write fail with exit 3 ("writing
    // the state objects as a pack: No such file or directory"), the ledger
    // left `running`.
    let repo = Repo::new();
    repo.git(&["config", "gc.autoPackLimit", "1"]);
    repo.git(&["config", "gc.autoDetach", "false"]);
    let pause = argv(&["sleep", "0.2"]);
    define(
        &repo,
        "gcauto",
        &[
            ("a", pause.clone()),
            ("b", pause.clone()),
            ("commit", argv(&["sh", "-c", "git commit -q --allow-empty -m x"])),
            ("d", pause),
        ],
        false,
    );
    for _ in 0..3 {
        let out = repo.run(ACTOR, &["workflow", "run", "gcauto", "--execute"]);
        assert_landed(&repo, &out, 4);
    }
    assert_eq!(runs(&repo).len(), 3);
    fsck(&repo);
}

#[test]
fn a_run_whose_steps_run_git_gc_and_git_repack_lands_every_result() {
    let repo = Repo::new();
    let pause = argv(&["sleep", "0.2"]);
    define(
        &repo,
        "housekeeping",
        &[
            ("a", pause.clone()),
            ("b", pause.clone()),
            ("gc", argv(&["git", "gc", "-q"])),
            ("c", pause.clone()),
            ("d", pause.clone()),
            ("repack", argv(&["git", "repack", "-a", "-d", "-q"])),
            ("e", pause),
        ],
        false,
    );
    for _ in 0..2 {
        let out = repo.run(ACTOR, &["workflow", "run", "housekeeping", "--execute"]);
        assert_landed(&repo, &out, 7);
    }
    fsck(&repo);
    // What landed is readable and writable on.
    repo.run(ACTOR, &["claims", "claim", "after"]).ok();
    let doctor = repo.run(ACTOR, &["doctor"]).ok();
    assert_eq!(doctor["ok"], true, "{doctor}");
}

#[test]
fn two_hundred_steps_with_jobs_4_and_git_gc_in_a_loop_lose_nothing() {
    let repo = Repo::new();
    let steps: Vec<(String, Vec<String>)> = (1..=200).map(|i| (format!("s{i}"), argv(&["true"]))).collect();
    let steps: Vec<(&str, Vec<String>)> = steps.iter().map(|(id, a)| (id.as_str(), a.clone())).collect();
    define(&repo, "many", &steps, true);
    let before = repo.commit_count();

    let done = Arc::new(AtomicBool::new(false));
    let gc = {
        let done = done.clone();
        let mut git = repo.git_cmd();
        git.args(["gc", "-q"]).stdout(Stdio::null()).stderr(Stdio::null());
        let dir = repo.path().to_owned();
        std::thread::spawn(move || {
            let mut rounds = 0;
            while !done.load(Ordering::SeqCst) {
                // A failed round (git met a lock baton held) is retried.
                let _ = git.current_dir(&dir).status();
                rounds += 1;
            }
            rounds
        })
    };
    let out = repo.run(ACTOR, &["workflow", "run", "many", "--execute", "--jobs", "4"]);
    done.store(true, Ordering::SeqCst);
    let rounds = gc.join().unwrap();
    assert!(rounds > 0);
    assert_landed(&repo, &out, 200);
    assert_eq!(repo.commit_count(), before + 202);
    fsck(&repo);
}

// ---------------------------------------------------------------------------
// Item 2: packs are synced and kept before the ref points at them

/// A file that exists a moment from now, or a panic.
fn wait_for(what: &str, limit: Duration, mut found: impl FnMut() -> bool) {
    let started = Instant::now();
    while !found() {
        assert!(started.elapsed() < limit, "{what} did not happen within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_pack_waiting_for_the_ref_survives_git_repack() {
    // While the ref is locked, the start's pack is on disk but no ref
    // reaches its objects: `git repack -a -d` deletes such objects unless
    // the pack is kept.
    let repo = Repo::new();
    define(&repo, "one", &[("a", argv(&["true"]))], false);
    let lock = repo.path().join(".git").join(format!("{STATE_REF}.lock"));
    std::fs::write(&lock, "").unwrap();
    let packs_before = pack_files(&repo, "pack").len();
    let mut runner = Command::new(crate::common::exe());
    crate::common::hermetic(&mut runner);
    let runner = runner
        .arg("-C")
        .arg(repo.path())
        .args(["--json", "workflow", "run", "one", "--execute"])
        .env("BATON_ACTOR", ACTOR)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the start's pack", Duration::from_secs(8), || {
        pack_files(&repo, "pack").len() > packs_before
    });
    repo.git(&["repack", "-a", "-d", "-q"]);
    std::fs::remove_file(&lock).unwrap();
    let out = runner.wait_with_output().unwrap();
    let out = crate::common::Run::from_output(vec!["workflow".into(), "run".into()], out);
    assert_landed(&repo, &out, 1);
    fsck(&repo);
    assert!(
        pack_files(&repo, "keep").is_empty(),
        "keeps are released once the ref moved"
    );
}

/// The `fsync`s and renames baton makes in a run, as `strace -y` shows
/// them, or `None` where strace cannot trace (not installed, no ptrace).
fn traced_run(repo: &Repo, workflow: &str) -> Option<Vec<String>> {
    let log = repo.path().join(".git/strace.log");
    let mut cmd = Command::new("strace");
    crate::common::hermetic(&mut cmd);
    let out = cmd
        .args([
            "-f",
            "-qq",
            "-y",
            "-e",
            "trace=fsync,fdatasync,rename,renameat,renameat2",
        ])
        .arg("-o")
        .arg(&log)
        .arg(crate::common::exe())
        .arg("-C")
        .arg(repo.path())
        .args(["-q", "workflow", "run", workflow, "--execute"])
        .env("BATON_ACTOR", ACTOR)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("strace could not trace baton: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let text = std::fs::read_to_string(&log).ok()?;
    std::fs::remove_file(&log).ok();
    Some(text.lines().map(str::to_owned).collect())
}

#[test]
fn packs_and_their_directory_are_synced_before_the_ref_moves_as_core_fsync_says() {
    let repo = Repo::new();
    define(&repo, "two", &[("a", argv(&["true"])), ("b", argv(&["true"]))], false);
    let Some(calls) = traced_run(&repo, "two") else {
        eprintln!("skipped: strace is not usable here");
        return;
    };
    let pack_dir = repo.path().join(".git/objects/pack").canonicalize().unwrap();
    let pack_dir = pack_dir.to_str().unwrap();
    // The first ref update, and what was synced before it.
    let ref_moved = calls
        .iter()
        .position(|l| l.contains("rename") && l.contains("refs/baton/state.lock"))
        .unwrap_or_else(|| panic!("no ref update traced:\n{}", calls.join("\n")));
    let before = &calls[..ref_moved];
    let synced = |what: &dyn Fn(&str) -> bool| before.iter().any(|l| l.contains("fsync(") && what(l));
    assert!(
        synced(&|l| l.contains("tmp_baton_")),
        "the pack files are synced before the ref moves:\n{}",
        calls.join("\n")
    );
    assert!(
        synced(&|l| l.contains(&format!("<{pack_dir}>"))),
        "the pack directory is synced before the ref moves:\n{}",
        calls.join("\n")
    );
    let renamed_index = before.iter().position(|l| l.contains("rename") && l.contains(".idx"));
    let synced_dir = before.iter().rposition(|l| l.contains(&format!("<{pack_dir}>")));
    assert!(
        matches!((renamed_index, synced_dir), (Some(r), Some(d)) if r < d),
        "the directory is synced after the renames:\n{}",
        calls.join("\n")
    );

    // `core.fsync=none`: git would sync nothing, and neither does baton.
    repo.git(&["config", "core.fsync", "none"]);
    let calls = traced_run(&repo, "two").unwrap();
    assert!(
        !calls.iter().any(|l| l.contains("fsync(") || l.contains("fdatasync(")),
        "{}",
        calls.join("\n")
    );
}

// ---------------------------------------------------------------------------
// Item 3: the start lands before any step runs; a failing writer stops the run

/// Makes a directory unwritable even for root (`chmod`, else `chattr +i`),
/// and undoes it when dropped; `None` where neither works.
struct Unwritable {
    dir: PathBuf,
    immutable: bool,
}

impl Unwritable {
    /// The command that makes `dir` unwritable here (run by a step or the test).
    fn command(scratch: &Path, dir: &Path) -> Option<Vec<String>> {
        let probe = scratch.join("probe");
        std::fs::create_dir_all(&probe).ok()?;
        let writable = |d: &Path| std::fs::write(d.join("x"), "").is_ok() && std::fs::remove_file(d.join("x")).is_ok();
        let mut found = None;
        for cmd in [vec!["chmod", "555"], vec!["chattr", "+i"]] {
            let ran = Command::new(cmd[0]).args(&cmd[1..]).arg(&probe).status();
            if ran.is_ok_and(|s| s.success()) && !writable(&probe) {
                found = Some(cmd);
                break;
            }
        }
        Command::new("chattr")
            .arg("-i")
            .arg(&probe)
            .stderr(Stdio::null())
            .status()
            .ok();
        Command::new("chmod").arg("755").arg(&probe).status().ok();
        std::fs::remove_dir(&probe).ok();
        let mut cmd: Vec<String> = found?.iter().map(|s| s.to_string()).collect();
        cmd.push(dir.to_str()?.to_owned());
        Some(cmd)
    }

    fn guard(dir: &Path, command: &[String]) -> Unwritable {
        Unwritable {
            dir: dir.to_owned(),
            immutable: command[0] == "chattr",
        }
    }

    fn apply(dir: &Path, command: &[String]) -> Unwritable {
        let status = Command::new(&command[0]).args(&command[1..]).status().unwrap();
        assert!(status.success());
        Unwritable::guard(dir, command)
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        if self.immutable {
            Command::new("chattr").arg("-i").arg(&self.dir).status().ok();
        }
        Command::new("chmod").arg("755").arg(&self.dir).status().ok();
    }
}

#[test]
fn a_run_whose_start_cannot_land_runs_nothing() {
    // Reported: with `.git/objects/pack` not writable a step ran, baton
    // exited 3, no ledger existed and doctor said healthy.
    let repo = Repo::new();
    let pack_dir = repo.path().join(".git/objects/pack");
    std::fs::create_dir_all(&pack_dir).unwrap();
    let Some(command) = Unwritable::command(repo.path(), &pack_dir) else {
        eprintln!("skipped: no way to make a directory unwritable here");
        return;
    };
    define(&repo, "marked", &[("a", argv(&["touch", "step-ran"]))], false);
    let tip = repo.tip();
    let guard = Unwritable::apply(&pack_dir, &command);
    let out = repo.run(ACTOR, &["workflow", "run", "marked", "--execute"]);
    drop(guard);
    out.err(3, "io");
    assert!(out.message().contains("no step ran"), "{}", out.describe());
    assert!(
        !repo.path().join("step-ran").exists(),
        "no step may run: {}",
        out.describe()
    );
    assert_eq!(repo.tip(), tip, "nothing was recorded");
    assert!(runs(&repo).is_empty());
    let doctor = repo.run(ACTOR, &["doctor"]).ok();
    assert_eq!(doctor["ok"], true, "{doctor}");
}

#[test]
fn a_writer_failing_mid_run_stops_the_steps_and_records_the_end() {
    // The pack directory becomes unwritable after the start landed: the
    // writer fails on the next result. The run must stop its steps (not run
    // the 20 s one to its end), exit with the writer's error, and record
    // what it can so the ledger does not stay `running`.
    let repo = Repo::new();
    let pack_dir = repo.path().join(".git/objects/pack");
    std::fs::create_dir_all(&pack_dir).unwrap();
    let Some(command) = Unwritable::command(repo.path(), &pack_dir) else {
        eprintln!("skipped: no way to make a directory unwritable here");
        return;
    };
    let guard = Unwritable::guard(&pack_dir, &command);
    define(
        &repo,
        "breaks",
        &[
            ("a", argv(&["true"])),
            ("lock", command.clone()),
            ("long", argv(&["sleep", "20"])),
            ("after", argv(&["touch", "after-ran"])),
        ],
        false,
    );
    let started = Instant::now();
    let out = repo.run(ACTOR, &["workflow", "run", "breaks", "--execute"]);
    let took = started.elapsed();
    let error = out.err(3, "io");
    assert!(took < Duration::from_secs(15), "the steps were stopped, took {took:?}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("recording its steps failed"),
        "{error}"
    );
    assert!(!repo.path().join("after-ran").exists());
    // The end was recorded: one run, stopped, with the steps done so far.
    let all = runs(&repo);
    assert_eq!(all.len(), 1, "{all:?}");
    let run = recorded(&repo, all[0]["id"].as_str().unwrap());
    assert_eq!(run["status"], "stopped", "{run}");
    assert_eq!(step_status(&run, "a"), "succeeded");
    assert_eq!(step_status(&run, "lock"), "succeeded");
    assert!(
        ["stopped", "pending"].contains(&step_status(&run, "long").as_str()),
        "{run}"
    );
    assert_eq!(step_status(&run, "after"), "pending");
    drop(guard);
    let doctor = repo.run(ACTOR, &["doctor"]).json();
    assert!(
        crate::common::doctor_errors(&doctor)
            .iter()
            .all(|f| f["check"] != "workflow.runs"),
        "nothing is left running: {doctor}"
    );
    // A batch landing while the step locked the directory could not remove
    // its pack's keep: doctor names it and releases it.
    repo.run(ACTOR, &["doctor", "--fix"]).ok();
    fsck(&repo);
}

// ---------------------------------------------------------------------------
// Item 7: stale locks of every kind

fn age(path: &Path, by: Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - by).unwrap();
}

fn lock_findings(doctor: &Value) -> Vec<Value> {
    doctor["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "store.lock")
        .cloned()
        .collect()
}

#[test]
fn a_stale_packed_refs_lock_is_named_by_writes_reported_and_removed_by_doctor() {
    // Reported: after `git pack-refs`, a stale `packed-refs.lock` made every
    // write fail after seconds of waiting while doctor reported healthy.
    let repo = Repo::new();
    repo.run(ACTOR, &["claims", "claim", "T-1"]).ok();
    repo.git(&["pack-refs", "--all"]);
    let lock = repo.path().join(".git/packed-refs.lock");
    std::fs::write(&lock, "").unwrap();

    // Young: a write may be in progress; doctor warns and names it.
    let young = repo.run(ACTOR, &["doctor"]).ok();
    let found = lock_findings(&young);
    assert!(
        found
            .iter()
            .any(|f| f["severity"] == "warn" && f["message"].as_str().unwrap().contains("packed-refs.lock")),
        "{found:?}"
    );

    // Stale: a write gives up at once, naming the lock; doctor says error.
    age(&lock, Duration::from_secs(120));
    let started = Instant::now();
    let out = repo.run(ACTOR, &["claims", "claim", "T-2"]);
    out.err(3, "lock_held");
    assert!(out.message().contains("packed-refs.lock"), "{}", out.describe());
    assert!(out.hint().contains("doctor --fix"), "{}", out.hint());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let stale = repo.run(ACTOR, &["doctor"]);
    assert_eq!(stale.code, 1, "{}", stale.describe());
    let found = lock_findings(&stale.json());
    assert!(
        found
            .iter()
            .any(|f| f["severity"] == "error" && f["message"].as_str().unwrap().contains("packed-refs.lock")),
        "{found:?}"
    );

    let fixed = repo.run(ACTOR, &["doctor", "--fix"]);
    assert_eq!(fixed.code, 0, "{}", fixed.describe());
    assert!(lock_findings(&fixed.json()).iter().any(|f| f["fixed"] == true));
    assert!(!lock.exists());
    repo.run(ACTOR, &["claims", "claim", "T-2"]).ok();
}

#[test]
fn a_stale_ref_lock_is_named_by_the_write_that_meets_it() {
    let repo = Repo::new();
    let lock = repo.path().join(".git").join(format!("{STATE_REF}.lock"));
    std::fs::write(&lock, "").unwrap();
    age(&lock, Duration::from_secs(120));
    let started = Instant::now();
    let out = repo.run(ACTOR, &["claims", "claim", "T-1"]);
    out.err(3, "lock_held");
    assert!(out.message().contains("refs/baton/state.lock"), "{}", out.describe());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let fixed = repo.run(ACTOR, &["doctor", "--fix"]);
    assert_eq!(fixed.code, 0, "{}", fixed.describe());
    repo.run(ACTOR, &["claims", "claim", "T-1"]).ok();
}

#[test]
fn a_pack_kept_by_a_writer_that_is_gone_is_reported_and_released_by_doctor() {
    // A runner killed between writing a pack and moving the ref leaves the
    // pack's `.keep`, which would keep `git gc` away from it for ever.
    let repo = Repo::new();
    define(&repo, "one", &[("a", argv(&["true"]))], false);
    repo.run(ACTOR, &["workflow", "run", "one", "--execute"]).ok();
    let pack = pack_files(&repo, "pack").pop().expect("the run's pack");
    let gone = {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    };
    let orphan = pack.with_extension("keep");
    std::fs::write(&orphan, format!("baton pid {gone}\n")).unwrap();
    // A keep of a live process, and one git made, are nobody's business here.
    let live = pack.with_file_name("pack-0000000000000000000000000000000000000001.keep");
    std::fs::write(&live, format!("baton pid {}\n", std::process::id())).unwrap();
    let foreign = pack.with_file_name("pack-0000000000000000000000000000000000000002.keep");
    std::fs::write(&foreign, "receive-pack 123 on host\n").unwrap();

    let found = repo.run(ACTOR, &["doctor"]);
    assert_eq!(found.code, 1, "{}", found.describe());
    let keeps: Vec<Value> = found.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "store.keep")
        .cloned()
        .collect();
    assert_eq!(keeps.len(), 1, "{keeps:?}");
    assert_eq!(keeps[0]["severity"], "error");
    assert!(keeps[0]["message"].as_str().unwrap().contains(&format!("pid {gone}")));

    let fixed = repo.run(ACTOR, &["doctor", "--fix"]);
    assert_eq!(fixed.code, 0, "{}", fixed.describe());
    assert!(!orphan.exists());
    assert!(live.exists() && foreign.exists());
}
