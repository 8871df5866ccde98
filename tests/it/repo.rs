//! Repository-level commands (docs/command-handbook.md, Repository): `init` (idempotent, hooks, fetch
//! refspec), `log`, `config get|set`, `completions`, and output that goes to
//! a closed pipe.

use std::io::Read;
use std::process::Stdio;

use crate::common::{baton_cmd, Repo};
use assert_fs::prelude::*;
use predicates::prelude::*;

const OPS: &str = "human:ops";
const ALICE: &str = "agent:alice";
const REFSPEC: &str = "+refs/baton/*:refs/remotes/origin/baton/*";

fn fetch_refspecs(repo: &Repo) -> Vec<String> {
    let out = repo
        .git_cmd()
        .args(["config", "--get-all", "remote.origin.fetch"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn init_creates_state_once_and_twice_changes_nothing() {
    let repo = Repo::bare_git();
    assert!(repo.tip().is_none());
    let first = repo.run(OPS, &["init"]).ok();
    assert_eq!(first["created"], true);
    let tip = repo.state();
    assert_eq!(first["commit"], tip.as_str());
    assert_eq!(repo.commit_count(), 1);
    assert_eq!(
        repo.git(&["ls-tree", "-r", "--name-only", crate::common::STATE_REF]),
        "config.toml"
    );
    let config = repo.state_file("config.toml").unwrap();
    assert!(config.contains("schema = 1"), "{config}");
    assert!(config.contains("[claims]"), "{config}");
    // The reflog is kept for the ref.
    assert!(repo.path().join(".git/logs/refs/baton/state").exists());
    assert!(repo.tip_message().contains("Baton-Op: init"));

    let second = repo.run(OPS, &["init"]).ok();
    assert_eq!(second["created"], false);
    assert_eq!(second["commit"], tip.as_str());
    assert_eq!(repo.state(), tip, "init twice changes nothing");
    // Also after other writes: init never resets state.
    repo.run(ALICE, &["claims", "claim", "T-1"]).ok();
    let tip = repo.state();
    assert_eq!(repo.run(OPS, &["init"]).ok()["created"], false);
    assert_eq!(repo.state(), tip);
    assert_eq!(repo.claim("T-1")["owner"], ALICE);

    repo.cmd(OPS)
        .arg("init")
        .assert()
        .success()
        .stdout(predicate::str::contains("already initialized"));
}

#[test]
fn init_hooks_installs_a_pre_commit_hook_that_runs_doctor() {
    let repo = Repo::bare_git();
    let out = repo.run(OPS, &["init", "--hooks"]).ok();
    let hook = repo.path().join(".git/hooks/pre-commit");
    assert_eq!(
        std::fs::canonicalize(out["hook"].as_str().unwrap()).unwrap(),
        std::fs::canonicalize(&hook).unwrap()
    );
    let script = std::fs::read_to_string(&hook).unwrap();
    assert!(script.starts_with("#!"), "{script}");
    assert!(script.contains("doctor --hook"), "{script}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&hook).unwrap().permissions().mode();
        assert!(mode & 0o111 != 0, "the hook is executable: {mode:o}");
    }
    // Doctor sees it.
    let doctor = repo.run(OPS, &["doctor"]).ok();
    let hook_finding = doctor["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "store.hook")
        .cloned()
        .unwrap();
    assert_eq!(hook_finding["severity"], "ok");

    // It really runs on `git commit`: passes on healthy state...
    repo.dir.child("a.txt").write_str("a").unwrap();
    repo.git(&["add", "a.txt"]);
    let commit = repo.git_cmd().args(["commit", "-q", "-m", "a"]).output().unwrap();
    assert!(commit.status.success(), "{}", String::from_utf8_lossy(&commit.stderr));
    // (git sends a pre-commit hook's stdout to stderr.)
    assert!(
        String::from_utf8_lossy(&commit.stderr).contains("baton doctor --hook: ok"),
        "{}",
        String::from_utf8_lossy(&commit.stderr)
    );
    // ...and blocks the commit when the state is broken.
    repo.commit_files(&[("config.toml", b"not = [toml")], "break it");
    repo.dir.child("b.txt").write_str("b").unwrap();
    repo.git(&["add", "b.txt"]);
    let blocked = repo.git_cmd().args(["commit", "-q", "-m", "b"]).output().unwrap();
    assert!(!blocked.status.success(), "the hook must block the commit");
    assert!(
        String::from_utf8_lossy(&blocked.stderr).contains("config.toml"),
        "{}",
        String::from_utf8_lossy(&blocked.stderr)
    );
    assert_eq!(repo.git(&["rev-list", "--count", "HEAD"]), "1");
}

#[test]
fn init_hooks_keeps_an_existing_hook_running_first() {
    let repo = Repo::bare_git();
    let hooks = repo.path().join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let original =
        "#!/bin/sh\necho ran >> \"$(git rev-parse --git-dir)/local-hook-ran\"\nexit \"${LOCAL_HOOK_EXIT:-0}\"\n";
    std::fs::write(hooks.join("pre-commit"), original).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(hooks.join("pre-commit"), std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    repo.run(OPS, &["init", "--hooks"]).ok();
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-commit.local")).unwrap(),
        original,
        "the existing hook moved to pre-commit.local unchanged"
    );
    let script = std::fs::read_to_string(hooks.join("pre-commit")).unwrap();
    assert!(script.contains("doctor --hook"), "{script}");
    assert!(script.contains("pre-commit.local"), "{script}");

    // Twice: nothing moves again, the local hook is not overwritten.
    let tip = repo.state();
    repo.run(OPS, &["init", "--hooks"]).ok();
    assert_eq!(repo.state(), tip);
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-commit.local")).unwrap(),
        original
    );
    assert_eq!(std::fs::read_to_string(hooks.join("pre-commit")).unwrap(), script);

    // On commit, the old hook still runs...
    repo.dir.child("a.txt").write_str("a").unwrap();
    repo.git(&["add", "a.txt"]);
    repo.git(&["commit", "-q", "-m", "a"]);
    let ran = repo.path().join(".git/local-hook-ran");
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "ran\n");
    // ...and its failure still blocks the commit.
    repo.dir.child("b.txt").write_str("b").unwrap();
    repo.git(&["add", "b.txt"]);
    let blocked = repo
        .git_cmd()
        .args(["commit", "-q", "-m", "b"])
        .env("LOCAL_HOOK_EXIT", "1")
        .status()
        .unwrap();
    assert!(!blocked.success());
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "ran\nran\n");
}

#[test]
fn init_adds_the_fetch_refspec_for_origin_once() {
    let remote = assert_fs::TempDir::new().unwrap();
    let repo = Repo::bare_git();
    repo.git(&["init", "-q", "--bare", remote.path().to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);

    let out = repo.run(OPS, &["init"]).ok();
    assert_eq!(out["refspec_added"], true);
    assert_eq!(out["remote"], "origin");
    let specs = fetch_refspecs(&repo);
    assert_eq!(specs.iter().filter(|s| *s == REFSPEC).count(), 1, "{specs:?}");
    // The default refspec is kept.
    assert!(specs.iter().any(|s| s.contains("refs/heads/")), "{specs:?}");

    let tip = repo.state();
    let again = repo.run(OPS, &["init"]).ok();
    assert_eq!(again["refspec_added"], false);
    assert_eq!(repo.state(), tip);
    let specs = fetch_refspecs(&repo);
    assert_eq!(specs.iter().filter(|s| *s == REFSPEC).count(), 1, "{specs:?}");
}

#[test]
fn init_without_a_remote_adds_no_refspec_and_a_later_init_does() {
    let remote = assert_fs::TempDir::new().unwrap();
    let repo = Repo::new();
    assert!(fetch_refspecs(&repo).is_empty());
    repo.git(&["init", "-q", "--bare", remote.path().to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    let out = repo.run(OPS, &["init"]).ok();
    assert_eq!(out["created"], false);
    assert_eq!(out["refspec_added"], true);
    assert_eq!(fetch_refspecs(&repo).iter().filter(|s| *s == REFSPEC).count(), 1);
}

#[test]
fn log_filters_by_subject_and_limits() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1"]).ok();
    repo.run(ALICE, &["claims", "claim", "T-2"]).ok();
    repo.run(ALICE, &["claims", "pause", "T-1"]).ok();
    repo.run(ALICE, &["claims", "resume", "T-1"]).ok();
    repo.run(ALICE, &["claims", "release", "T-1"]).ok();
    repo.run(OPS, &["pool", "spawn", "--role", "rev"]).ok();

    let summaries = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["log"];
        full.extend_from_slice(args);
        repo.run(OPS, &full).ok()["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["summary"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = summaries(&[]);
    assert_eq!(all.len(), 7, "{all:?}");
    assert_eq!(all.last().unwrap(), "init: baton state");
    assert!(all[0].starts_with("pool: spawn"), "newest first: {all:?}");

    let t1 = summaries(&["--subject", "claim/T-1"]);
    assert_eq!(
        t1,
        [
            "claims: release T-1 by agent:alice",
            "claims: resume T-1 by agent:alice",
            "claims: paused T-1 by agent:alice",
            "claims: claim T-1 by agent:alice",
        ]
    );
    assert_eq!(summaries(&["--subject", "claim/T-1", "--limit", "2"]), t1[..2]);
    assert_eq!(summaries(&["--limit", "1"]), all[..1]);
    // Like `git log -n 0`: nothing.
    assert!(summaries(&["--limit", "0"]).is_empty());
    assert!(summaries(&["--subject", "claim/T-1", "--limit", "0"]).is_empty());
    // A trailing `/` matches a prefix.
    assert_eq!(summaries(&["--subject", "claim/"]).len(), 5);
    assert_eq!(summaries(&["--subject", "agent/rev-1"]).len(), 1);
    assert!(summaries(&["--subject", "claim/T-404"]).is_empty());

    repo.cmd(OPS)
        .args(["log", "--subject", "claim/T-2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("claims: claim T-2 by agent:alice"))
        .stdout(predicate::str::contains("T-1").not());
}

#[test]
fn config_get_and_set_validate_and_commit() {
    let repo = Repo::new();
    let get = |key: &str| -> String {
        repo.run(OPS, &["config", "get", key]).ok()["value"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(get("claims.default_lease"), "");
    assert_eq!(get("sync.remote"), "origin");
    assert_eq!(get("sync.auto"), "false");

    let before = repo.commit_count();
    let out = repo.run(OPS, &["config", "set", "claims.stale_after", "12h"]).ok();
    assert_eq!(out["changed"], true);
    assert_eq!(out["value"], "12h");
    assert_eq!(repo.commit_count(), before + 1);
    assert!(repo.tip_message().contains("Baton-Op: config.set"));
    assert_eq!(get("claims.stale_after"), "12h");
    assert!(repo
        .state_file("config.toml")
        .unwrap()
        .contains("stale_after = \"12h\""));

    // The same value again: nothing to do.
    let tip = repo.state();
    let out = repo.run(OPS, &["config", "set", "claims.stale_after", "12h"]).ok();
    assert_eq!(out["changed"], false);
    assert_eq!(repo.state(), tip);

    repo.run(OPS, &["config", "set", "sync.auto", "true"]).ok();
    assert_eq!(get("sync.auto"), "true");
    repo.run(OPS, &["config", "set", "workflow.allow", "cargo *, make *"])
        .ok();
    assert_eq!(get("workflow.allow"), "cargo *,make *");
    repo.run(OPS, &["config", "set", "claims.default_lease", "2h"]).ok();
    repo.run(OPS, &["config", "set", "claims.default_lease", ""]).ok();
    assert_eq!(get("claims.default_lease"), "");

    // Bad keys and values: exit 2, nothing written.
    let run = repo.refuse(OPS, &["config", "get", "claims.nope"], 2, "unknown_key");
    assert!(run.hint().contains("claims.stale_after"), "{}", run.hint());
    repo.refuse(OPS, &["config", "set", "nope", "1"], 2, "unknown_key");
    repo.refuse(
        OPS,
        &["config", "set", "claims.stale_after", "soon"],
        2,
        "invalid_duration",
    );
    repo.refuse(
        OPS,
        &["config", "set", "claims.handoff_timeout", ""],
        2,
        "invalid_duration",
    );
    repo.refuse(OPS, &["config", "set", "sync.auto", "yes"], 2, "invalid_value");
    repo.refuse(OPS, &["config", "set", "sync.remote", "../evil"], 2, "invalid_value");
    repo.refuse(OPS, &["config", "set", "claims.stale_after"], 2, "usage");
}

#[test]
fn completions_print_a_script() {
    // The script calls baton back for candidates (see usage.rs).
    baton_cmd()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("_clap_complete_baton()")
                .and(predicate::str::contains("BATON_COMPLETE=\"bash\""))
                .and(predicate::str::contains("-F _clap_complete_baton baton")),
        )
        .stderr(predicate::str::is_empty());
    baton_cmd()
        .args(["completions", "zsh"])
        .assert()
        .success()
        .stdout(predicate::str::contains("#compdef baton").and(predicate::str::contains("BATON_COMPLETE")));
    // Completions need no repository, and --json does not wrap them.
    baton_cmd()
        .current_dir(std::env::temp_dir())
        .args(["--json", "completions", "fish"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "complete --keep-order --exclusive --command baton",
        ));
    baton_cmd()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("error: ").and(predicate::str::contains("hint: ")));
}

#[test]
fn output_into_a_closed_pipe_does_not_panic() {
    // `baton claims status T-1 | head -c 16`: the reader goes away after the
    // first bytes; the output (a 120 KB note) is larger than a pipe buffer,
    // so baton is still writing when it does, and must not panic on the
    // broken pipe.
    let repo = Repo::new();
    let note = "a".repeat(120_000);
    repo.run("human:alice", &["claims", "claim", "T-1", "--note", &note])
        .ok();
    let mut child = baton_cmd_std()
        .args(["-C", repo.path().to_str().unwrap(), "claims", "status", "T-1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // Our end of stdout is closed now.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
}

fn baton_cmd_std() -> std::process::Command {
    let mut cmd = std::process::Command::new(crate::common::exe());
    cmd.env_remove("BATON_ACTOR").env_remove("BATON_NOW");
    cmd
}

#[test]
fn help_and_version_exit_0() {
    baton_cmd()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("claims"));
    baton_cmd()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_machine_without_any_git_identity_can_still_write_state() {
    let dir = assert_fs::TempDir::new().unwrap();
    let git = |args: &[&str]| {
        let ok = crate::common::hermetic(&mut std::process::Command::new("git"))
            .args(args)
            .current_dir(dir.path())
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    let baton = |args: &[&str]| {
        let mut cmd = baton_cmd();
        cmd.arg("-C")
            .arg(dir.path())
            .arg("--json")
            .args(args)
            .env_remove("GIT_AUTHOR_NAME")
            .env_remove("GIT_AUTHOR_EMAIL")
            .env_remove("GIT_COMMITTER_NAME")
            .env_remove("GIT_COMMITTER_EMAIL")
            .env_remove("EMAIL")
            .env("USER", "Jo Doe");
        cmd.assert().success().get_output().stdout.clone()
    };
    baton(&["init"]);
    let out = baton(&["claims", "claim", "T-1"]);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    // The actor falls back to $USER, made into the actor form.
    assert_eq!(v["claim"]["owner"], "human:Jo-Doe");
}

/// `--json` is baton's only where baton parsed it: among the argv of the
/// command `learn pre-command` judges, it is that command's argument.
#[test]
fn json_is_read_from_the_parsed_arguments_not_from_a_commands_argv() {
    let repo = Repo::new();
    let text = repo
        .cmd(ALICE)
        .args(["learn", "pre-command", "--", "printf", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        serde_json::from_str::<serde_json::Value>(&stdout).is_err() && stdout.contains("low"),
        "a --json after `--` is printf's, so the verdict is text: {stdout}"
    );
    // baton's own --json, before the command, still gives one JSON document.
    let json = repo
        .cmd(ALICE)
        .args(["--json", "learn", "pre-command", "--", "printf", "--json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON document");
    assert_eq!(doc["level"], "low", "{doc}");
    // A command line clap refuses answers in JSON only when baton's --json asked.
    let refused = repo
        .cmd(ALICE)
        .args(["learn", "pre-command", "--bogus", "--", "--json"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        refused.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&refused.stdout)
    );
}
