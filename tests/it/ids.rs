//! Input and environment refusals (docs/command-handbook.md, Conventions): ids that could become
//! paths are refused with exit 2 before anything is written; a repository
//! without state, or no repository at all, is an environment problem (exit 3).

use crate::common::{baton_cmd, claim_path, Repo};
use predicates::prelude::*;

const ALICE: &str = "agent:alice";

/// The ids the handbook's Conventions say must be refused, with a name for messages.
fn bad_ids() -> Vec<String> {
    vec![
        "../x".into(),
        "a/b".into(),
        String::new(),
        "x".repeat(129),
        "a b".into(),
        ".x".into(),
        "a..b".into(),
        "-x-".into(),
        "é".into(),
        "a\\b".into(),
    ]
}

#[test]
fn bad_claim_ids_are_refused_with_exit_2_by_every_claims_command() {
    let repo = Repo::new();
    for id in bad_ids() {
        for args in [
            vec!["claims", "claim", &id],
            vec!["claims", "status", &id],
            vec!["claims", "release", &id],
            vec!["claims", "pause", &id],
            vec!["claims", "handoff", &id, "--to", "agent:bob"],
            vec!["claims", "accept", &id],
            vec!["claims", "reject", &id, "--reason", "r"],
            vec!["claims", "renew", &id],
            vec!["claims", "log", &id],
        ] {
            // `-x-` looks like a flag to the parser: still exit 2, its own code.
            let code = if id.starts_with('-') { "usage" } else { "invalid_id" };
            let run = repo.refuse(ALICE, &args, 2, code);
            if code == "invalid_id" {
                assert!(
                    run.hint().contains("1-128 characters"),
                    "the hint shows the allowed form: {}",
                    run.hint()
                );
            }
        }
    }
    // Nothing was ever written besides init, and no file outside claims/.
    assert_eq!(repo.commit_count(), 1);
    assert_eq!(
        repo.git(&["ls-tree", "-r", "--name-only", crate::common::STATE_REF]),
        "config.toml"
    );
}

#[test]
fn a_hostile_id_is_shown_shortened_on_one_line() {
    let repo = Repo::new();
    let long = "y".repeat(5000);
    let run = repo.refuse(ALICE, &["claims", "claim", &long], 2, "invalid_id");
    assert!(run.message().len() < 200, "{}", run.message());
    let nl = "a\nb";
    let run = repo.refuse(ALICE, &["claims", "claim", nl], 2, "invalid_id");
    assert!(!run.message().contains('\n'), "{}", run.message());
}

#[test]
fn the_longest_allowed_id_and_odd_but_valid_ids_work() {
    let repo = Repo::new();
    let longest = "x".repeat(128);
    for id in [longest.as_str(), "A.b_c-9", "9", "T-42.1"] {
        let run = repo.run(ALICE, &["claims", "claim", id]);
        assert_eq!(run.ok()["claim"]["id"], id);
        assert!(repo.state_file(&claim_path(id)).is_some(), "{id} is at its shard path");
    }
}

#[test]
fn bad_agent_ids_and_roles_are_refused_with_exit_2() {
    let repo = Repo::new();
    repo.run("human:ops", &["pool", "spawn", "--role", "rev"]).ok();
    for id in bad_ids() {
        if id.starts_with('-') {
            continue;
        }
        for args in [
            vec!["claims", "claim", "T-1", "--agent", &id],
            vec!["claims", "list", "--agent", &id],
            vec!["pool", "heartbeat", &id],
            vec!["pool", "drain", &id],
            vec!["pool", "retire", &id],
            vec!["pool", "retire", &id, "--force"],
        ] {
            let run = repo.refuse(ALICE, &args, 2, "invalid_id");
            assert!(run.message().contains("agent id"), "{}", run.message());
        }
        for args in [
            vec!["pool", "spawn", "--role", &id],
            vec!["claims", "claim", "T-1", "--role", &id],
        ] {
            repo.refuse(ALICE, &args, 2, "invalid_id");
        }
    }
    assert_eq!(repo.commit_count(), 2, "init and one spawn, nothing else");
    assert_eq!(
        repo.git(&["ls-tree", "-r", "--name-only", crate::common::STATE_REF, "agents"]),
        "agents/rev-1.toml"
    );
}

#[test]
fn bad_actors_are_refused_with_exit_2() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1"]).ok();
    for actor in ["alice", "robot:x", "human:", "human:a b", "agent:a/b"] {
        // From BATON_ACTOR...
        repo.refuse(actor, &["claims", "claim", "T-2"], 2, "invalid_actor");
        // ...from --actor...
        repo.refuse(ALICE, &["--actor", actor, "claims", "claim", "T-2"], 2, "invalid_actor");
        // ...and as a handoff target.
        repo.refuse(ALICE, &["claims", "handoff", "T-1", "--to", actor], 2, "invalid_actor");
    }
    // --actor wins over BATON_ACTOR.
    let run = repo.run(ALICE, &["--actor", "human:zoe", "claims", "claim", "T-3"]);
    assert_eq!(run.ok()["claim"]["owner"], "human:zoe");
}

#[test]
fn the_actor_falls_back_to_the_git_identity() {
    let repo = Repo::new();
    let out = baton_cmd()
        .arg("-C")
        .arg(repo.path())
        .args(["--json", "claims", "claim", "T-1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["claim"]["owner"], "human:test@example.com");
}

#[test]
fn commands_without_state_exit_3_and_point_at_baton_init() {
    let repo = Repo::bare_git();
    for args in [
        vec!["claims", "claim", "T-1"],
        vec!["claims", "list"],
        vec!["claims", "status"],
        vec!["claims", "expire", "--apply"],
        vec!["pool", "spawn", "--role", "rev"],
        vec!["pool", "list"],
        vec!["log"],
        vec!["config", "get", "claims.stale_after"],
        vec!["config", "set", "claims.stale_after", "1h"],
        vec!["doctor"],
    ] {
        let run = repo.refuse(ALICE, &args, 3, "no_state");
        assert!(run.hint().contains("baton init"), "{}", run.hint());
        assert!(repo.tip().is_none(), "no state appeared: {}", run.describe());
    }
    // With a remote, the hint also offers `baton sync`.
    repo.git(&["remote", "add", "origin", "https://example.invalid/x.git"]);
    let run = repo.refuse(ALICE, &["claims", "list"], 3, "no_state");
    assert!(run.hint().contains("baton sync"), "{}", run.hint());
    assert!(run.hint().contains("baton init"), "{}", run.hint());
}

#[test]
fn outside_a_git_repository_commands_exit_3() {
    let dir = assert_fs::TempDir::new().unwrap();
    // Precondition: git itself finds no repository here.
    let git = std::process::Command::new("git")
        .args(["rev-parse", "--git-dir"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        !git.status.success(),
        "the temp dir is inside a git repository; cannot test"
    );
    for args in [
        vec!["claims", "list"],
        vec!["init"],
        vec!["pool", "list"],
        vec!["doctor"],
    ] {
        let out = baton_cmd()
            .arg("-C")
            .arg(dir.path())
            .arg("--json")
            .args(&args)
            .env("BATON_ACTOR", ALICE)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["error"]["code"], "not_a_repository");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains("\nhint: "), "{stderr}");
        assert!(!stderr.contains("panicked"));
    }
    // Nothing was created there.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // The same through the current directory instead of -C.
    baton_cmd()
        .current_dir(dir.path())
        .args(["claims", "list"])
        .env("BATON_ACTOR", ALICE)
        .assert()
        .code(3)
        .stderr(predicate::str::starts_with("error: ").and(predicate::str::contains("hint: ")));

    // -C to a directory that does not exist.
    baton_cmd()
        .arg("-C")
        .arg(dir.path().join("missing"))
        .args(["claims", "list"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("error: ").and(predicate::str::contains("hint: ")));
}

#[test]
fn usage_errors_exit_2_in_the_same_shape() {
    let repo = Repo::new();
    repo.refuse(ALICE, &["claims", "frobnicate"], 2, "usage");
    repo.refuse(ALICE, &["claims", "claim"], 2, "usage");
    repo.refuse(
        ALICE,
        &["claims", "claim", "T-1", "--lease", "forever"],
        2,
        "invalid_duration",
    );
    repo.refuse(ALICE, &["claims", "expire", "--older-than=-1s"], 2, "invalid_duration");
}
