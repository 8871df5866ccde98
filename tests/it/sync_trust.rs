//! State that comes from other machines, each test reproducing a reported
//! defect first: agents spawned with one id on two clones, a relative remote
//! URL with `-C`, publishing files that do not parse, and a run ledger whose
//! definition exists only in the shared history.

#![cfg(unix)]

use std::path::Path;
use std::process::Command;

use crate::sync_support::{claim_path, git, hermetic, Clone, Net, Run};
use serde_json::Value;

const ALICE: &str = "agent:alice";
const BOB: &str = "agent:bob";
const OPS: &str = "human:ops";

/// `baton -C <dir> --json <args>` started in `cwd`, with extra environment.
fn baton_in(cwd: &Path, dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("baton"));
    hermetic(&mut cmd)
        .current_dir(cwd)
        .arg("-C")
        .arg(dir)
        .arg("--json")
        .args(args)
        .env("BATON_ACTOR", OPS);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("baton runs");
    Run::from_output(args.iter().map(|s| s.to_string()).collect(), out)
}

/// `baton` in clone `c` at a fixed time, as the clone's own operator (two
/// machines have two: identical commits would be one operation to git).
fn at(c: &Clone, now: &str, args: &[&str]) -> Run {
    let actor = format!("human:ops-{}", c.dir.file_name().unwrap().to_string_lossy());
    baton_in(&c.dir, &c.dir, &[("BATON_NOW", now), ("BATON_ACTOR", &actor)], args)
}

// ------------------------------------------------------------------ item 16

#[test]
fn sync_with_a_relative_remote_url_works_from_anywhere() {
    let net = Net::new();
    let root = net.root.path();
    let work = root.join("work");
    std::fs::create_dir_all(work.join("sub")).unwrap();
    git(&work, &["init", "-q"]);
    git(&work, &["config", "user.email", "w@example.com"]);
    git(&work, &["config", "user.name", "w"]);
    git(&work, &["remote", "add", "origin", "../remote.git"]);
    git(&work, &["fetch", "origin"]);
    // Started from elsewhere (here: the remote's parent's parent), as `git -C` would be.
    let elsewhere = root.parent().unwrap();
    baton_in(elsewhere, &work, &[], &["init"]).ok();
    let synced = baton_in(elsewhere, &work, &[], &["sync"]);
    assert_eq!(synced.ok()["action"], "pushed", "{}", synced.describe());
    assert!(net.tip().is_some());
    // From a subdirectory of the work tree, too.
    baton_in(elsewhere, &work.join("sub"), &[], &["claims", "claim", "T-1"]).ok();
    let synced = baton_in(&work.join("sub"), &work.join("sub"), &[], &["sync"]);
    assert_eq!(synced.ok()["action"], "pushed", "{}", synced.describe());
}

// ------------------------------------------------------------------ item 14

fn lost_agents(report: &Value) -> Vec<String> {
    report["lost_agents"]
        .as_array()
        .unwrap_or_else(|| panic!("no lost_agents: {report}"))
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn agents_spawned_with_one_id_on_two_clones_are_reported_on_sync() {
    let net = Net::new();
    let (a, b) = (net.joined("a"), net.joined("b"));
    // The same second, the same role: byte-identical agent files.
    let now = "2026-01-01T00:00:00Z";
    at(&a, now, &["pool", "spawn", "--role", "builder"]).ok();
    at(&b, now, &["pool", "spawn", "--role", "builder"]).ok();
    at(&a, now, &["claims", "claim", "A-1", "--agent", "builder-1"]).ok();
    at(&b, now, &["claims", "claim", "B-1", "--agent", "builder-1"]).ok();
    // And a second agent whose records differ.
    at(&a, now, &["pool", "spawn", "--role", "tester", "--capacity", "2"]).ok();
    at(&b, now, &["pool", "spawn", "--role", "tester", "--capacity", "3"]).ok();
    assert_eq!(a.run(ALICE, &["sync"]).ok()["action"], "pushed");

    let report = b.run(BOB, &["sync"]).ok();
    assert_eq!(report["action"], "merged");
    assert_eq!(lost_agents(&report), ["builder-1", "tester-1"], "{report:#}");
    // The merge commit names them.
    let message = b.git(&["log", "-1", "--format=%B", "refs/baton/state"]);
    assert!(
        message.contains("agent/builder-1") && message.contains("agent/tester-1"),
        "{message}"
    );
    assert!(message.contains("lost: agent builder-1"), "{message}");
}

#[test]
fn the_text_of_a_sync_names_a_lost_agent() {
    let net = Net::new();
    let (a, b) = (net.joined("a"), net.joined("b"));
    at(&a, "2026-01-01T00:00:00Z", &["pool", "spawn", "--role", "builder"]).ok();
    at(&b, "2026-01-01T00:00:05Z", &["pool", "spawn", "--role", "builder"]).ok();
    a.run(ALICE, &["sync"]).ok();
    let text = b.run_text(BOB, &["sync"]);
    let out = text.ok_text();
    assert!(
        out.lines()
            .any(|l| l.starts_with("lost: agent builder-1") && l.contains("not published")),
        "{}",
        text.describe()
    );
}

#[test]
fn pool_spawn_sync_numbers_after_the_remote_and_publishes() {
    let net = Net::new();
    let (a, b) = (net.joined("a"), net.joined("b"));
    let spawned = a.run(OPS, &["pool", "spawn", "--role", "builder", "--sync"]).ok();
    assert_eq!(spawned["agents"][0]["id"], "builder-1");
    assert_eq!(spawned["sync"]["action"], "pushed", "{spawned:#}");
    assert_eq!(net.tip(), a.tip(), "the spawn was published");
    let spawned = b.run(OPS, &["pool", "spawn", "--role", "builder", "--sync"]).ok();
    assert_eq!(
        spawned["agents"][0]["id"], "builder-2",
        "numbered after the remote's: {spawned:#}"
    );
    assert_eq!(net.tip(), b.tip());

    // sync.auto does the same: B's spawn is published, A's sees it first.
    a.run(OPS, &["sync"]).ok();
    a.run(OPS, &["config", "set", "sync.auto", "true"]).ok();
    a.run(OPS, &["sync"]).ok();
    b.run(OPS, &["sync"]).ok();
    let spawned = b.run(OPS, &["pool", "spawn", "--role", "builder"]).ok();
    assert_eq!(spawned["agents"][0]["id"], "builder-3", "{spawned:#}");
    assert_eq!(net.tip(), b.tip(), "published by sync.auto");
    let spawned = a.run(OPS, &["pool", "spawn", "--role", "builder"]).ok();
    assert_eq!(spawned["agents"][0]["id"], "builder-4", "{spawned:#}");
    assert_eq!(net.tip(), a.tip());
}

#[test]
fn a_spawn_that_loses_its_id_to_another_machine_is_refused() {
    let net = Net::new();
    let (a, b) = (net.joined("a"), net.joined("b"));
    // B's publishing push first lets A spawn and publish the same id: A
    // publishes first, B's push is rejected, and B's next round merges.
    let guard = net.root.path().join("raced");
    let exe = assert_cmd::cargo::cargo_bin("baton");
    b.hook(
        "pre-push",
        &format!(
            "#!/bin/sh\nunset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE\n[ -e {guard} ] && exit 0\ntouch {guard}\n\
             BATON_ACTOR=human:ann {exe} -C {a} pool spawn --role builder --sync >/dev/null 2>&1\nexit 0\n",
            guard = crate::sync_support::sh_quote(&guard),
            exe = crate::sync_support::sh_quote(&exe),
            a = crate::sync_support::sh_quote(&a.dir),
        ),
    );
    let run = b.run(BOB, &["pool", "spawn", "--role", "builder", "--sync"]);
    run.err(1, "agent_lost");
    assert!(guard.exists(), "the race did not happen");
    assert!(run.message().contains("builder-1"), "{}", run.describe());
    assert!(run.hint().contains("--sync"), "{}", run.describe());
    // Both sides now see one builder-1, A's; B's next spawn takes builder-2.
    let spawned = b.run(BOB, &["pool", "spawn", "--role", "builder", "--sync"]).ok();
    assert_eq!(spawned["agents"][0]["id"], "builder-2", "{spawned:#}");
}

// ------------------------------------------------------------------ item 12

#[test]
fn sync_refuses_to_publish_files_that_do_not_parse() {
    let net = Net::new();
    let a = net.joined("a");
    a.run(ALICE, &["claims", "claim", "T-1"]).ok();
    let bad = claim_path("BAD");
    // A hand-made state commit adding a broken claim.
    let index = a.dir.join(".git/sync-index");
    let env_git = |args: &[&str], input: Option<&str>| -> String {
        let mut cmd = Command::new("git");
        hermetic(&mut cmd)
            .current_dir(&a.dir)
            .env("GIT_INDEX_FILE", &index)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.unwrap_or("").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let tip = a.tip().unwrap();
    env_git(&["read-tree", &tip], None);
    let blob = env_git(&["hash-object", "-w", "--stdin"], Some("schema = 1\nid = [\n"));
    env_git(
        &["update-index", "--add", "--cacheinfo", &format!("100644,{blob},{bad}")],
        None,
    );
    let tree = env_git(&["write-tree"], None);
    let commit = env_git(&["commit-tree", &tree, "-p", &tip], Some("hand edit"));
    a.git(&["update-ref", "refs/baton/state", &commit]);

    let before = net.tip();
    let run = a.run(ALICE, &["sync"]);
    run.err(1, "unparsable_state");
    assert!(run.message().contains(&bad), "{}", run.describe());
    assert!(run.hint().contains("doctor --fix"), "{}", run.describe());
    assert_eq!(net.tip(), before, "nothing was published");
    // Quarantined, it publishes.
    a.run(OPS, &["doctor", "--fix"]);
    assert_eq!(a.run(ALICE, &["sync"]).ok()["action"], "pushed");
}

// ------------------------------------------------------------------- item 8

#[test]
fn a_synced_ledger_never_runs_a_definition_missing_from_this_work_tree() {
    let net = Net::new();
    let (a, b) = (net.joined("a"), net.joined("b"));
    // The definition is committed on a branch that B fetches but does not check out.
    let text =
        "name = \"remote\"\n[[steps]]\nid = \"go\"\nrun = [\"sh\", \"-c\", \"echo ran >> evidence.txt; test -f ok\"]\n";
    std::fs::create_dir_all(a.dir.join(".baton/workflows")).unwrap();
    std::fs::write(a.dir.join(".baton/workflows/remote.toml"), text).unwrap();
    a.git(&["checkout", "-q", "-b", "wf"]);
    a.git(&["add", ".baton"]);
    a.git(&["commit", "-q", "-m", "workflow"]);
    a.git(&["push", "-q", "origin", "wf"]);
    b.git(&["fetch", "-q", "origin"]);
    let run = a.run(OPS, &["workflow", "run", "remote", "--execute"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    let id = run.json()["run"]["id"].as_str().unwrap().to_owned();
    a.run(OPS, &["sync"]).ok();
    b.run(OPS, &["sync"]).ok();
    assert!(!b.dir.join(".baton").exists());

    let resume = ["workflow", "resume", "--run-id", id.as_str(), "--execute"];
    let refused = b.run(OPS, &resume);
    refused.err(1, "definition_missing");
    assert!(
        refused.message().contains(".baton/workflows/remote.toml"),
        "{}",
        refused.describe()
    );
    assert!(!b.dir.join("evidence.txt").exists(), "the command ran on B");

    // Checked out in B's work tree, the same definition resumes there.
    b.git(&["checkout", "-q", "wf"]);
    std::fs::write(b.dir.join("ok"), "").unwrap();
    let resumed = b.run(OPS, &resume);
    assert_eq!(resumed.ok()["run"]["status"], "succeeded");
    assert_eq!(std::fs::read_to_string(b.dir.join("evidence.txt")).unwrap(), "ran\n");
}
