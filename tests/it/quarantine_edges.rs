//! Hostile tree entries written with git plumbing, as if fetched from
//! another machine: a `..` name, a symlink, a gitlink among the claims, the
//! run ledgers and the delivery ledgers. None of them stops `doctor --fix`
//! from setting aside every file that does not parse, nor `delivery status`
//! from listing the deliveries that can be read.

use std::collections::BTreeMap;

use crate::common::*;
use serde_json::Value;

const DEV: &str = "agent:dev-1";

/// A state commit on the tip whose tree also has `extra` entries (mode, id,
/// path), built with `git mktree`, which, unlike `update-index`, takes any
/// name (`..`), as a fetched tree can have it.
fn commit_hostile(repo: &Repo, extra: &[(&str, String, &str)]) -> String {
    // path -> (mode, type, id), every blob of the tip plus the extra entries.
    let mut files: BTreeMap<String, (String, String, String)> = BTreeMap::new();
    for line in repo.git(&["ls-tree", "-r", STATE_REF]).lines() {
        let (meta, path) = line.split_once('\t').unwrap();
        let parts: Vec<&str> = meta.split(' ').collect();
        files.insert(path.to_owned(), (parts[0].into(), parts[1].into(), parts[2].into()));
    }
    for (mode, id, path) in extra {
        let kind = if *mode == "160000" { "commit" } else { "blob" };
        files.insert((*path).to_owned(), ((*mode).into(), kind.into(), id.clone()));
    }
    let tree = mktree(repo, "", &files);
    let tip = repo.state();
    let commit = repo.git_stdin(&["commit-tree", &tree, "-p", &tip], b"hostile entries", &[]);
    repo.git(&["update-ref", STATE_REF, &commit, &tip]);
    commit
}

/// The tree of every file under `prefix` (`""`: the root).
fn mktree(repo: &Repo, prefix: &str, files: &BTreeMap<String, (String, String, String)>) -> String {
    let mut lines = String::new();
    let mut dirs: Vec<String> = Vec::new();
    for (path, (mode, kind, id)) in files {
        let Some(rest) = path.strip_prefix(prefix) else {
            continue;
        };
        match rest.split_once('/') {
            None => lines.push_str(&format!("{mode} {kind} {id}\t{rest}\n")),
            Some((dir, _)) if !dirs.iter().any(|d| d == dir) => dirs.push(dir.to_owned()),
            Some(_) => {}
        }
    }
    for dir in dirs {
        let sub = mktree(repo, &format!("{prefix}{dir}/"), files);
        lines.push_str(&format!("040000 tree {sub}\t{dir}\n"));
    }
    repo.git_stdin(&["mktree"], lines.as_bytes(), &[])
}

fn blob(repo: &Repo, bytes: &[u8]) -> String {
    repo.git_stdin(&["hash-object", "-w", "--stdin"], bytes, &[])
}

/// A repository with one finished delivery of T-1.
fn with_a_delivery() -> (Repo, String) {
    let repo = Repo::new();
    repo.run("human:dana", &["pool", "spawn", "--role", "dev"]).ok();
    define(
        &repo,
        "ship",
        "name = \"ship\"\n[[steps]]\nid = \"build\"\nrun = [\"sh\", \"-c\", \"echo built\"]\n",
    );
    let started = repo.run(
        DEV,
        &["delivery", "start", "--issue", "T-1", "--workflow", "ship", "--execute"],
    );
    let id = started.ok()["delivery"]["id"].as_str().expect("delivery id").to_owned();
    (repo, id)
}

#[test]
fn hostile_entries_do_not_stop_doctor_fix_from_quarantining_the_rest() {
    let (repo, delivery) = with_a_delivery();
    let garbage = blob(&repo, b"not = [valid");
    let target = blob(&repo, b"../../config.toml");
    let tip = repo.state();
    commit_hostile(
        &repo,
        &[
            ("100644", garbage.clone(), "claims/zz/.."),
            ("100644", garbage.clone(), "claims/zz/T-9.toml"),
            ("120000", target.clone(), "claims/zz/L-1.toml"),
            ("160000", tip.clone(), "claims/zz/G-1.toml"),
            ("100644", garbage.clone(), "runs/workflow/2026/.."),
            ("100644", garbage.clone(), "runs/workflow/2026/01/01/wf-broken.json"),
            ("120000", target.clone(), "runs/delivery/2026/01/01/dl-link.json"),
            ("100644", garbage.clone(), "runs/delivery/.."),
        ],
    );
    let before = repo.run("human:ops", &["doctor"]);
    assert_eq!(before.code, 1, "{}", before.describe());

    let fixed = repo.run("human:ops", &["doctor", "--fix"]);
    let text = fixed.stdout.clone();
    assert!(!text.contains("could not quarantine"), "{}", fixed.describe());
    let listing = repo.git(&["ls-tree", "-r", "--name-only", STATE_REF]);
    for gone in [
        "claims/zz/..",
        "claims/zz/T-9.toml",
        "claims/zz/L-1.toml",
        "claims/zz/G-1.toml",
        "runs/workflow/2026/..",
        "runs/workflow/2026/01/01/wf-broken.json",
        "runs/delivery/2026/01/01/dl-link.json",
        "runs/delivery/..",
    ] {
        assert!(!listing.lines().any(|l| l == gone), "{gone} is still there:\n{listing}");
    }
    assert!(
        listing.lines().any(|l| l == "quarantine/claims/zz/T-9.toml"),
        "{listing}"
    );
    assert!(
        listing
            .lines()
            .any(|l| l == "quarantine/runs/workflow/2026/01/01/wf-broken.json"),
        "{listing}"
    );
    // The readable state is all still there, and doctor is content.
    assert_eq!(repo.claim("T-1")["id"], "T-1");
    let status = repo.run(DEV, &["delivery", "status", "--run-id", &delivery]).ok();
    assert_eq!(status["delivery"]["id"], delivery.as_str(), "{status}");
    let after = repo.run("human:ops", &["doctor"]);
    let errors = doctor_errors(&after.json());
    assert!(errors.is_empty(), "{errors:?}");
    // (History keeps the hostile commit: `git fsck` would name its trees.)
}

#[test]
fn delivery_status_lists_the_readable_deliveries_beside_hostile_entries() {
    let (repo, delivery) = with_a_delivery();
    let garbage = blob(&repo, b"{ not json");
    let target = blob(&repo, b"/etc/passwd");
    commit_hostile(
        &repo,
        &[
            ("100644", garbage.clone(), "runs/delivery/.."),
            ("120000", target, "runs/delivery/2026/01/01/dl-link.json"),
            ("100644", garbage, "runs/delivery/2026/01/01/dl-broken.json"),
        ],
    );
    let listed = repo.run(DEV, &["delivery", "status"]);
    let doc: Value = listed.ok();
    let ids: Vec<&str> = doc["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [delivery.as_str()], "{doc}");
    let unreadable = doc["unreadable"].to_string();
    for path in ["runs/delivery/..", "dl-link.json", "dl-broken.json"] {
        assert!(unreadable.contains(path), "{path} not named: {doc}");
    }
    let text = repo.cmd(DEV).args(["delivery", "status"]).output().unwrap();
    assert!(text.status.success());
    let shown = String::from_utf8_lossy(&text.stdout);
    assert!(shown.contains(&delivery), "{shown}");
    assert!(
        shown.contains("warning:") && shown.contains("dl-broken.json") && shown.contains("doctor --fix"),
        "{shown}"
    );
}
