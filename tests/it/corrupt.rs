//! State files that baton did not write: broken TOML, wrong types, a newer
//! schema, a broken config, odd tree entries. Written with git plumbing, as a
//! bad merge or a hand edit would. Doctor must name the file and fail (exit
//! 1; a newer schema only warns); commands that need the file refuse with
//! exit 3 naming it; commands that do not need it keep working; nothing
//! panics (checked on every run by the common helpers) and nothing is
//! overwritten.

use crate::common::{claim_path, doctor_errors, Repo};
use serde_json::Value;

const ALICE: &str = "agent:alice";
const OPS: &str = "human:ops";

/// Doctor fails and names `path` in an error finding, in JSON and in text.
fn assert_doctor_names(repo: &Repo, path: &str) -> Vec<Value> {
    let run = repo.run(OPS, &["doctor"]);
    assert_eq!(run.code, 1, "doctor must fail: {}", run.describe());
    let errors = doctor_errors(&run.json());
    assert!(
        errors.iter().any(|f| f["path"] == path),
        "no error finding at {path}: {errors:#?}"
    );
    repo.cmd(OPS)
        .arg("doctor")
        .assert()
        .code(1)
        .stdout(predicates::str::contains(path));
    errors
}

fn valid_claim(id: &str, extra: &str) -> String {
    format!(
        "schema = 1\nid = \"{id}\"\nstate = \"active\"\nowner = \"{ALICE}\"\ngeneration = 1\n\
         created_at = \"2026-01-01T00:00:00Z\"\nupdated_at = \"2026-01-01T00:00:00Z\"\n{extra}"
    )
}

#[test]
fn a_corrupt_claim_file_is_named_by_doctor_and_list_but_other_claims_work() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1"]).ok();
    let bad = claim_path("BAD");
    repo.commit_files(
        &[(bad.as_str(), b"schema = 1\nid = \"BAD\"\nstate = [unclosed\n")],
        "hand edit",
    );
    let tip = repo.state();

    let errors = assert_doctor_names(&repo, &bad);
    assert!(errors.iter().all(|f| f["check"] != "store.ref"), "{errors:?}");
    // The subsystem doctor sees it too.
    assert_eq!(repo.run(OPS, &["claims", "doctor"]).code, 1);

    // Commands that read every claim refuse with exit 3, naming the file.
    for args in [
        vec!["claims", "list"],
        vec!["claims", "status"],
        vec!["claims", "expire"],
        vec!["claims", "expire", "--apply"],
        vec!["pool", "list"],
    ] {
        let run = repo.refuse(ALICE, &args, 3, "corrupt_state");
        assert!(run.message().contains(&bad), "{}", run.describe());
        assert!(run.hint().contains("doctor"), "{}", run.hint());
    }
    // The broken claim itself, likewise; it is never overwritten.
    for args in [
        vec!["claims", "status", "BAD"],
        vec!["claims", "claim", "BAD"],
        vec!["claims", "release", "BAD", "--force", "--reason", "x"],
    ] {
        let run = repo.refuse(ALICE, &args, 3, "corrupt_state");
        assert!(run.message().contains(&bad), "{}", run.describe());
    }

    // Everything that touches only other claims still works.
    assert_eq!(repo.claim("T-1")["owner"], ALICE);
    let run = repo.run("agent:bob", &["claims", "claim", "T-2"]);
    assert_eq!(run.ok()["changed"], true);
    repo.run(ALICE, &["claims", "release", "T-1"]).ok();
    repo.run(OPS, &["log", "--limit", "1"]).ok();
    assert_eq!(repo.commit_count(), 1 + 1 + 1 + 2);
    assert_ne!(repo.state(), tip);
    assert_eq!(
        repo.state_file(&bad).unwrap(),
        "schema = 1\nid = \"BAD\"\nstate = [unclosed\n",
        "the broken file was left as it was"
    );

    // Deleting the file with a state commit (what the hint says) heals it.
    repo.commit_edits(&[(bad.as_str(), None)], "remove broken claim");
    repo.run(OPS, &["doctor"]).ok();
    assert_eq!(repo.claims().len(), 2);
}

#[test]
fn claim_files_with_wrong_contents_are_corrupt_not_crashes() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "wrong-type",
            valid_claim("wrong-type", "")
                .replace("generation = 1", "generation = \"one\"")
                .into_bytes(),
        ),
        (
            "bad-state",
            valid_claim("bad-state", "")
                .replace("\"active\"", "\"sleeping\"")
                .into_bytes(),
        ),
        (
            "bad-owner",
            valid_claim("bad-owner", "").replace(ALICE, "alice").into_bytes(),
        ),
        (
            "bad-time",
            valid_claim("bad-time", "")
                .replace("2026-01-01T00:00:00Z", "yesterday")
                .into_bytes(),
        ),
        ("missing", b"schema = 1\nid = \"missing\"\n".to_vec()),
        ("hostile-id", valid_claim("../x", "").into_bytes()),
        ("not-utf8", vec![0xff, 0xfe, b'=', 0x00, 0x80]),
        ("empty", Vec::new()),
    ];
    for (id, bytes) in cases {
        let repo = Repo::new();
        let path = claim_path(id);
        repo.commit_files(&[(path.as_str(), &bytes)], "hand edit");
        assert_doctor_names(&repo, &path);
        let run = repo.refuse(ALICE, &["claims", "status", id], 3, "corrupt_state");
        assert!(run.message().contains(&path), "{id}: {}", run.describe());
        let run = repo.refuse(ALICE, &["claims", "list"], 3, "corrupt_state");
        assert!(run.message().contains(&path), "{id}: {}", run.describe());
        repo.refuse(ALICE, &["claims", "claim", id], 3, "corrupt_state");
        repo.run(ALICE, &["claims", "claim", "OTHER"]).ok();
    }
}

#[test]
fn a_claim_file_with_a_newer_schema_is_refused_not_overwritten() {
    let repo = Repo::new();
    let path = claim_path("T-1");
    let newer = valid_claim("T-1", "shiny = true\n").replace("schema = 1", "schema = 2");
    repo.commit_files(&[(path.as_str(), newer.as_bytes())], "from the future");

    // Not corruption: doctor warns ("upgrade baton") and passes.
    let doc = repo.run(OPS, &["doctor"]).ok();
    let warned = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path.as_str())
        .unwrap_or_else(|| panic!("no finding at {path}: {doc}"));
    assert_eq!(warned["severity"], "warn", "{warned}");
    assert!(warned["message"].as_str().unwrap().contains("schema = 2"), "{warned}");
    for args in [
        vec!["claims", "status", "T-1"],
        vec!["claims", "claim", "T-1"],
        vec!["claims", "pause", "T-1"],
        vec!["claims", "list"],
    ] {
        let run = repo.refuse(ALICE, &args, 3, "newer_schema");
        assert!(run.message().contains("schema = 2"), "{}", run.describe());
        assert!(run.message().contains(&path), "{}", run.describe());
    }
    assert_eq!(repo.state_file(&path).unwrap(), newer);
}

#[test]
fn unknown_fields_in_a_claim_survive_a_rewrite() {
    let repo = Repo::new();
    let path = claim_path("T-1");
    let with_extra = valid_claim("T-1", "from_newer_baton = \"keep me\"\n");
    repo.commit_files(&[(path.as_str(), with_extra.as_bytes())], "newer writer");
    repo.run(OPS, &["doctor"]).ok();
    repo.run(ALICE, &["claims", "pause", "T-1"]).ok();
    let file = repo.state_file(&path).unwrap();
    assert!(file.contains("state = \"paused\""), "{file}");
    assert!(file.contains("from_newer_baton = \"keep me\""), "{file}");
}

#[test]
fn a_corrupt_config_is_named_and_blocks_only_what_needs_it() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1"]).ok();
    repo.commit_files(
        &[("config.toml", b"schema = 1\n[claims\nstale_after = 3\n")],
        "bad config",
    );
    let tip = repo.state();

    assert_doctor_names(&repo, "config.toml");
    // The pre-commit hook check reads the config too, and fails.
    let hook = repo.run(OPS, &["doctor", "--hook"]);
    assert_eq!(hook.code, 1, "{}", hook.describe());

    // Writes need the policy: refused with exit 3 naming the file.
    for args in [
        vec!["claims", "claim", "T-2"],
        vec!["claims", "release", "T-1"],
        vec!["claims", "expire"],
        vec!["config", "get", "claims.stale_after"],
        vec!["config", "set", "claims.stale_after", "1h"],
        vec!["pool", "list"],
    ] {
        let run = repo.refuse(ALICE, &args, 3, "corrupt_state");
        assert!(run.message().contains("config.toml"), "{}", run.describe());
    }
    // `init` does not paper over it with a second history.
    let run = repo.run(OPS, &["init"]);
    assert_eq!(run.code, 3, "{}", run.describe());
    assert_eq!(repo.state(), tip);
    // Reads of claims do not need the policy.
    assert_eq!(repo.claim("T-1")["owner"], ALICE);
}

#[test]
fn configs_with_bad_values_or_a_newer_schema_are_refused() {
    for (name, text) in [
        ("bad duration", "schema = 1\n[claims]\nstale_after = \"soon\"\n"),
        ("wrong type", "schema = 1\n[sync]\nauto = \"maybe\"\n"),
        ("no schema", "[claims]\nstale_after = \"1h\"\n"),
    ] {
        let repo = Repo::new();
        repo.commit_files(&[("config.toml", text.as_bytes())], name);
        assert_doctor_names(&repo, "config.toml");
        let run = repo.refuse(ALICE, &["claims", "claim", "T-1"], 3, "corrupt_state");
        assert!(run.message().contains("config.toml"), "{name}: {}", run.describe());
    }
    // A newer baton's config is refused as such: upgrade, not repair.
    let repo = Repo::new();
    repo.commit_files(&[("config.toml", b"schema = 2\n")], "newer schema");
    let run = repo.refuse(ALICE, &["claims", "claim", "T-1"], 3, "newer_schema");
    assert!(run.message().contains("config.toml"), "{}", run.describe());
}

#[test]
fn odd_tree_entries_are_reported_not_crashed_on() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1"]).ok();
    // A directory where a claim file belongs, a non-TOML file among the
    // claims, and an unknown top-level entry.
    let dir_claim = claim_path("T-2");
    let inner = format!("{dir_claim}/inner");
    let stray = format!("{}/notes.txt", claim_path("T-1").rsplit_once('/').unwrap().0);
    repo.commit_files(
        &[
            (inner.as_str(), b"x"),
            (stray.as_str(), b"hello"),
            ("surprise/file", b"?"),
        ],
        "odd entries",
    );
    let run = repo.run(OPS, &["doctor"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    let doc = run.json();
    let errors = doctor_errors(&doc);
    let paths: Vec<&str> = errors.iter().filter_map(|f| f["path"].as_str()).collect();
    assert!(paths.contains(&inner.as_str()), "directory at a claim path: {doc}");
    assert!(paths.contains(&stray.as_str()), "non-TOML file among claims: {doc}");
    let surprise = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "surprise")
        .unwrap_or_else(|| panic!("unknown top-level entry not reported: {doc}"));
    assert_eq!(surprise["severity"], "warn");

    let run = repo.refuse(ALICE, &["claims", "status", "T-2"], 3, "corrupt_state");
    assert!(run.message().contains(&dir_claim), "{}", run.describe());
    repo.refuse(ALICE, &["claims", "claim", "T-2"], 3, "corrupt_state");
    assert_eq!(repo.claim("T-1")["owner"], ALICE);
}

#[test]
fn a_generation_going_down_in_history_is_a_doctor_error() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1"]).ok();
    repo.run("agent:bob", &["claims", "claim", "T-1", "--force", "--reason", "r"])
        .ok();
    repo.run(OPS, &["doctor", "claims"]).ok();
    // A hand-written commit that puts generation 1 back.
    let path = claim_path("T-1");
    repo.commit_files(
        &[(path.as_str(), valid_claim("T-1", "").as_bytes())],
        "claims: rewind\n\nBaton-Op: claims.claim\nBaton-Subject: claim/T-1\nBaton-Generation: 1\n",
    );
    let run = repo.run(OPS, &["doctor", "claims"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    let errors = doctor_errors(&run.json());
    assert!(
        errors
            .iter()
            .any(|f| f["check"] == "claims.generation" && f["message"].as_str().unwrap().contains("T-1")),
        "{errors:#?}"
    );
}
