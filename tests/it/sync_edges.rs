//! Publishing at the edges (docs/sync.md), between clones of a real bare
//! repository: a commit and its publishing are two steps (a publish that
//! fails reports the commit that landed, exit 3), a published delivery
//! fetches once per phase, a claim lost to another machine is `claim_lost`
//! and the delivery's `stopped` record reaches the remote, and a lock left
//! behind is reported as the lock it is.

#![cfg(unix)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use crate::sync_support::{claim_path, files_at, hermetic, sh_quote, Clone, Net, Run, STATE_REF};
use serde_json::Value;

const ALICE: &str = "agent:alice";
const BOB: &str = "agent:bob";

/// `baton -C <clone> --json --actor <actor> <args>` with `env` set.
fn run_env(c: &Clone, actor: &str, env: &[(&str, &Path)], args: &[&str]) -> Run {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("baton"));
    hermetic(&mut cmd)
        .arg("-C")
        .arg(&c.dir)
        .arg("--actor")
        .arg(actor)
        .arg("--json")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("baton runs");
    Run::from_output(args.iter().map(|s| s.to_string()).collect(), out)
}

/// Write `.baton/workflows/<name>.toml` in clone `c`.
fn define(c: &Clone, name: &str, text: &str) {
    let dir = c.dir.join(".baton/workflows");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.toml")), text).unwrap();
}

/// Every delivery ledger in the state at `rev` of the repository at `dir`.
fn ledgers(dir: &Path, rev: &str) -> Vec<Value> {
    files_at(dir, rev, "runs/delivery")
        .values()
        .map(|text| serde_json::from_str(text).expect("a ledger parses"))
        .collect()
}

fn phases(d: &Value) -> Vec<String> {
    d["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap().to_owned())
        .collect()
}

/// A local ref lock left by a crashed writer two minutes ago: `baton sync`
/// says so, naming the lock (exit 3), instead of blaming a remote that
/// "kept moving"; without the lock the same sync goes through.
#[test]
fn sync_with_a_stale_lock_names_the_lock_and_exits_3() {
    let net = Net::new();
    let (a, b) = (net.joined("a"), net.joined("b"));
    a.run(ALICE, &["claims", "claim", "A-1", "--sync"]).ok();
    let lock = b.dir.join(".git/refs/baton/state.lock");
    let file = std::fs::File::create(&lock).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(120)).unwrap();
    drop(file);
    let before = b.tip();
    let refused = b.run(BOB, &["sync"]);
    let e = refused.err(3, "lock_held");
    assert!(
        e["message"].as_str().unwrap().contains("state.lock"),
        "the lock is named: {}",
        refused.describe()
    );
    assert!(!refused.message().contains("attempts"), "{}", refused.describe());
    assert_eq!(b.tip(), before, "the state ref did not move");
    std::fs::remove_file(&lock).unwrap();
    assert_eq!(b.run(BOB, &["sync"]).ok()["action"], "fast_forward");
}

/// Under `sync.auto`, a write lands and then publishes; when publishing
/// fails, the result reports what landed and says it is not published
/// (exit 3, `not_published`) — for a plain claim and for a delivery whose
/// final phase landed.
#[test]
fn a_failed_publish_after_a_landed_commit_reports_the_commit() {
    let net = Net::new();
    let b = net.joined("b");
    b.run(BOB, &["config", "set", "sync.auto", "true"]).ok();
    b.run(BOB, &["claims", "claim", "B-1"]).ok();
    b.run(BOB, &["claims", "claim", "B-2"]).ok();
    let url = net.bare.display().to_string();
    b.git(&["remote", "set-url", "origin", "/nonexistent/remote.git"]);
    let released = b.run(BOB, &["claims", "release", "B-1"]);
    assert_eq!(released.code, 3, "{}", released.describe());
    let doc = released.json();
    assert_eq!(
        doc["claim"]["state"], "completed",
        "the landed result is reported: {doc}"
    );
    assert_eq!(doc["changed"], true);
    assert_eq!(doc["not_published"]["code"], "not_published", "{doc}");
    assert!(
        released.stderr.contains("error: landed here as") && released.stderr.contains("hint: "),
        "{}",
        released.describe()
    );
    assert_eq!(b.claims()["B-1"].state, "completed", "the commit stays landed");
    assert_eq!(net.claims()["B-1"].state, "active", "and is not on the remote");
    // Text mode: the result on stdout, what failed on stderr.
    let text = b.run_text(BOB, &["claims", "release", "B-2"]);
    assert_eq!(text.code, 3, "{}", text.describe());
    assert!(text.stdout.contains("B-2"), "{}", text.describe());
    assert!(text.stderr.starts_with("error: landed here as"), "{}", text.describe());

    // A delivery whose final phase lands after the remote went away.
    b.git(&["remote", "set-url", "origin", &url]);
    b.run(BOB, &["sync"]).ok();
    define(
        &b,
        "cut",
        "name = \"cut\"\n[[steps]]\nid = \"cut\"\nrun = [\"git\", \"remote\", \"set-url\", \"origin\", \"/nonexistent/remote.git\"]\n",
    );
    let done = b.run(
        BOB,
        &["delivery", "start", "--issue", "D-1", "--workflow", "cut", "--execute"],
    );
    assert_eq!(done.code, 3, "{}", done.describe());
    let doc = done.json();
    assert_eq!(doc["delivery"]["phase"], "closed", "{doc}");
    assert_eq!(doc["not_published"]["code"], "not_published", "{doc}");
    assert_eq!(b.claims()["D-1"].state, "completed");
    assert_eq!(
        net.claims()["D-1"].state,
        "active",
        "the claim was published before the run"
    );
    assert!(files_at(&net.bare, STATE_REF, "claims").contains_key(&claim_path("D-1")));
}

/// A hook in clone `c`: the first time git updates one of its refs (the
/// remote-tracking ref, on the delivery's first fetch), `other` publishes
/// a claim on `issue` as Alice — after `c` read the remote, before `c`
/// publishes its own claim.
fn race_on_first_fetch(c: &Clone, other: &Clone, issue: &str) {
    let marker = c.dir.join(".git/raced");
    let script = format!(
        "#!/bin/sh\ncat >/dev/null\n[ \"$1\" = committed ] || exit 0\n[ -e {marker} ] && exit 0\ntouch {marker}\n\
         env -u GIT_DIR -u GIT_WORK_TREE -u GIT_INDEX_FILE -u GIT_PREFIX {exe} -C {dir} --actor {ALICE} -q claims claim {issue} --sync\n\
         exit 0\n",
        marker = sh_quote(&marker),
        exe = sh_quote(&assert_cmd::cargo::cargo_bin("baton")),
        dir = sh_quote(&other.dir),
    );
    c.hook("reference-transaction", &script);
}

/// A published delivery (`--sync`, and `sync.auto`) whose claim another
/// machine published first: refused as `claim_lost` before any step runs,
/// and its `stopped` record is on the remote, not only here.
#[test]
fn a_published_delivery_that_loses_its_claim_is_claim_lost_and_publishes_its_stop() {
    for auto in [false, true] {
        let net = Net::new();
        let (a, b) = (net.joined("a"), net.joined("b"));
        define(
            &b,
            "mark",
            "name = \"mark\"\n[[steps]]\nid = \"touch\"\nrun = [\"sh\", \"-c\", \"touch ran\"]\n",
        );
        let mut args = vec!["delivery", "start", "--issue", "S-3", "--workflow", "mark", "--execute"];
        if auto {
            b.run(BOB, &["config", "set", "sync.auto", "true"]).ok();
        } else {
            args.push("--sync");
        }
        b.run(BOB, &["sync"]).ok();
        // The remote moves, so the delivery's first fetch updates a ref.
        a.run(ALICE, &["claims", "claim", "Z-1", "--sync"]).ok();
        race_on_first_fetch(&b, &a, "S-3");

        let lost = b.run(BOB, &args);
        let e = lost.err(1, "claim_lost");
        assert!(
            e["message"].as_str().unwrap().contains("S-3"),
            "auto {auto}: {}",
            lost.describe()
        );
        assert!(!b.dir.join("ran").exists(), "auto {auto}: a step ran");
        assert_eq!(net.claims()["S-3"].owner, ALICE, "auto {auto}");
        let remote: Vec<Value> = ledgers(&net.bare, STATE_REF)
            .into_iter()
            .filter(|d| d["issue"] == "S-3")
            .collect();
        assert_eq!(remote.len(), 1, "auto {auto}: {remote:?}");
        assert_eq!(
            phases(&remote[0]),
            ["claimed", "stopped"],
            "auto {auto}: the stop reached the remote: {remote:?}"
        );
        assert_eq!(b.tip(), net.tip(), "auto {auto}: nothing is left unpublished");
    }
}

/// Under `sync.auto` a delivery fetches once per publishing point: before
/// claiming, after `claimed`, after the final phase (`running` goes with
/// it) — three fetches, not one per write and one more per phase.
#[test]
fn under_sync_auto_a_delivery_publishes_each_phase_once() {
    let net = Net::new();
    let b = net.joined("b");
    b.run(BOB, &["config", "set", "sync.auto", "true"]).ok();
    b.run(BOB, &["sync"]).ok();
    define(
        &b,
        "mark",
        "name = \"mark\"\n[[steps]]\nid = \"touch\"\nrun = [\"true\"]\n",
    );
    let trace = b.dir.join(".git/trace");
    let done = run_env(
        &b,
        BOB,
        &[("GIT_TRACE", &trace)],
        &["delivery", "start", "--issue", "S-4", "--workflow", "mark", "--execute"],
    );
    assert_eq!(done.ok()["delivery"]["phase"], "closed", "{}", done.describe());
    let traced = std::fs::read_to_string(&trace).unwrap();
    let fetches = traced.lines().filter(|l| l.contains("built-in: git fetch")).count();
    assert_eq!(fetches, 3, "{traced}");
    assert_eq!(net.claims()["S-4"].state, "completed");
    let remote = ledgers(&net.bare, STATE_REF);
    assert_eq!(phases(&remote[0]), ["claimed", "running", "closed"]);
}

/// A published delivery whose claim another machine force-takes and
/// publishes while the workflow runs: the final phase lands here, and
/// publishing it finds the claim lost — `claim_lost`, and the `stopped`
/// record follows the final phase to the remote, so the shared state does
/// not say `closed` of a release the merge did not keep.
#[test]
fn a_claim_lost_while_the_workflow_ran_is_claim_lost_and_the_stop_is_published() {
    let net = Net::new();
    let (a, b) = (net.joined("a"), net.joined("b"));
    let take = format!(
        "env -u GIT_DIR -u GIT_WORK_TREE {} -C {} --actor {ALICE} -q claims claim S-5 --force --reason urgent --sync",
        sh_quote(&assert_cmd::cargo::cargo_bin("baton")),
        sh_quote(&a.dir)
    );
    define(
        &b,
        "take",
        &format!("name = \"take\"\n[[steps]]\nid = \"take\"\nrun = [\"sh\", \"-c\", {take:?}]\n"),
    );
    let lost = b.run(
        BOB,
        &[
            "delivery",
            "start",
            "--issue",
            "S-5",
            "--workflow",
            "take",
            "--sync",
            "--execute",
        ],
    );
    lost.err(1, "claim_lost");
    assert_eq!(net.claims()["S-5"].owner, ALICE);
    let remote = ledgers(&net.bare, STATE_REF);
    assert_eq!(remote.len(), 1, "{remote:?}");
    assert_eq!(
        phases(&remote[0]).last().map(String::as_str),
        Some("stopped"),
        "the remote's ledger ends stopped: {remote:?}"
    );
    assert_eq!(b.tip(), net.tip(), "nothing is left unpublished");
}
