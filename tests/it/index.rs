//! The machine-local read index (`.git/baton/index/`, docs/storage.md): the
//! listings print byte for byte the same whether it is missing, current,
//! behind the state, or corrupt; doctor reports a corrupt one and
//! `doctor --fix` removes it.

use crate::common::{define, Repo};

const ANN: &str = "agent:ann";
const BOB: &str = "human:bob";
const LATER: &str = "2030-01-01T00:00:00Z";

/// Every listing the index answers, in JSON and in text.
const LISTINGS: &[&[&str]] = &[
    &["claims", "list"],
    &["claims", "list", "--state", "active"],
    &["claims", "list", "--owner", "agent:ann"],
    &["claims", "list", "--agent", "dev-1"],
    &["claims", "status"],
    &["pool", "list"],
    &["workflow", "list"],
    &["workflow", "status"],
    &["delivery", "status"],
];

fn outputs(repo: &Repo) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for args in LISTINGS {
        // A fixed clock: `pool list` shows heartbeat ages.
        let json = repo.run_at(ANN, LATER, args);
        assert_eq!(json.code, 0, "{}", json.describe());
        let text = repo.cmd(ANN).env("BATON_NOW", LATER).args(*args).output().unwrap();
        assert!(
            text.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&text.stderr)
        );
        out.push((json.stdout.clone(), String::from_utf8(text.stdout).unwrap()));
    }
    out
}

fn index_dir(repo: &Repo) -> std::path::PathBuf {
    repo.path().join(".git/baton/index")
}

fn setup() -> Repo {
    let repo = Repo::new();
    repo.run(
        BOB,
        &["pool", "spawn", "--role", "dev", "--count", "2", "--capacity", "5"],
    )
    .ok();
    for (actor, id) in [(ANN, "T-2"), (ANN, "T-10"), (BOB, "T-1"), (ANN, "X-1")] {
        repo.run(actor, &["claims", "claim", id, "--role", "dev"]).ok();
    }
    repo.run(ANN, &["claims", "claim", "N-1", "--note", "a \"quoted\"\nnote ✓"])
        .ok();
    repo.run(ANN, &["claims", "handoff", "T-2", "--to", BOB]).ok();
    define(
        &repo,
        "two",
        "name = \"two\"\n[[steps]]\nid = \"a\"\nrun = [\"true\"]\n[[steps]]\nid = \"b\"\nrun = [\"false\"]\n",
    );
    repo.run(ANN, &["workflow", "run", "two", "--execute"]);
    repo.run(
        BOB,
        &["delivery", "start", "--issue", "D-1", "--workflow", "two", "--execute"],
    );
    repo
}

#[test]
fn listings_are_the_same_without_with_and_behind_the_index() {
    let repo = setup();
    let _ = std::fs::remove_dir_all(index_dir(&repo));
    let without = outputs(&repo);
    assert!(index_dir(&repo).join("claims").exists(), "a listing builds the index");
    let with = outputs(&repo);
    assert_eq!(without, with);
    let claims = &with[0].0;
    assert!(
        claims.contains("\"T-10\"") && claims.contains("\"note\": \"a \\\"quoted\\\"\\nnote ✓\""),
        "{claims}"
    );

    // The state moves on: the index catches up from the diff and agrees
    // with one built afresh.
    repo.run(ANN, &["claims", "release", "T-10"]).ok();
    repo.run(BOB, &["claims", "claim", "T-3"]).ok();
    repo.run(ANN, &["workflow", "run", "two", "--execute"]);
    let caught_up = outputs(&repo);
    std::fs::remove_dir_all(index_dir(&repo)).unwrap();
    assert_eq!(caught_up, outputs(&repo));
    assert_ne!(caught_up, with, "the listings saw the new state");
}

#[test]
fn a_corrupt_index_changes_no_answer_and_doctor_fix_removes_it() {
    let repo = setup();
    let expected = outputs(&repo);
    for name in ["claims", "runs", "deliveries"] {
        let path = index_dir(&repo).join(name);
        let mut data = std::fs::read(&path).unwrap();
        let last = data.len() - 1;
        data[last] ^= 1;
        std::fs::write(&path, data).unwrap();
    }
    let doctor = repo.run(BOB, &["doctor"]);
    let findings = doctor.json()["findings"].as_array().unwrap().clone();
    let warned: Vec<_> = findings
        .iter()
        .filter(|f| f["check"] == "store.index" && f["severity"] == "warn")
        .collect();
    assert_eq!(warned.len(), 3, "{findings:#?}");
    let fixed = repo.run(BOB, &["doctor", "--fix"]);
    let findings = fixed.json()["findings"].as_array().unwrap().clone();
    assert!(
        findings
            .iter()
            .filter(|f| f["check"] == "store.index")
            .all(|f| f["fixed"] == true),
        "{findings:#?}"
    );
    assert!(!index_dir(&repo).join("claims").exists());
    // Corrupt again: every listing still answers the same (and rebuilds it).
    assert_eq!(outputs(&repo), expected);
    std::fs::write(index_dir(&repo).join("claims"), "baton-index claims 0.1.0 nonsense").unwrap();
    assert_eq!(outputs(&repo), expected);
    let doctor = repo.run(BOB, &["doctor"]);
    let sound = doctor.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["check"] == "store.index" && f["severity"] == "ok");
    assert!(sound, "{}", doctor.stdout);
}

#[test]
fn a_claim_file_that_does_not_parse_is_refused_the_same_through_the_index() {
    let repo = setup();
    repo.run(ANN, &["claims", "list"]).ok();
    let path = crate::common::claim_path("T-1");
    repo.commit_files(&[(&path, b"schema = 1\nid = [")], "a bad edit");
    let first = repo.run(ANN, &["claims", "list"]);
    let again = repo.run(ANN, &["claims", "list"]);
    assert_eq!(first.code, 3, "{}", first.describe());
    assert_eq!(
        (first.stdout.as_str(), first.stderr.as_str()),
        (again.stdout.as_str(), again.stderr.as_str())
    );
    assert!(first.stdout.contains(&path), "{}", first.stdout);
}
