//! Path reservations on claims (docs/reservations.md) through the built
//! binary on real repositories: reserving with a claim, refusals naming the
//! other claim, `--force --reason`, `claims who`, and how reservations live
//! and die with their claim.

use crate::common::{self, Repo};
use serde_json::Value;

const ALICE: &str = "agent:alice";
const BOB: &str = "agent:bob";

fn who(repo: &Repo, path: &str) -> Vec<(String, String, String)> {
    let doc = repo.run(BOB, &["claims", "who", path]).ok();
    doc["paths"][0]["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h: &Value| {
            (
                h["claim"].as_str().unwrap().to_owned(),
                h["holder"].as_str().unwrap().to_owned(),
                h["mode"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_claim_reserves_paths_and_who_names_its_holder() {
    let repo = Repo::new();
    let claim = repo
        .run(ALICE, &["claims", "claim", "T-1", "--paths", "src/store/", "docs/*.md"])
        .ok();
    let res = &claim["claim"]["reservations"];
    assert_eq!(res[0]["pattern"], "src/store");
    assert_eq!(res[0]["mode"], "exclusive");
    assert_eq!(res[1]["pattern"], "docs/*.md");
    let file = repo.state_file(&common::claim_path("T-1")).unwrap();
    assert!(file.contains("[[reservations]]"), "{file}");

    assert_eq!(
        who(&repo, "src/store/mod.rs"),
        [("T-1".into(), ALICE.into(), "exclusive".into())]
    );
    assert_eq!(who(&repo, "docs/sync.md").len(), 1);
    assert!(who(&repo, "docs/sub/x.rs").is_empty());
    assert!(who(&repo, "src/storefront.rs").is_empty());
    let text = repo
        .cmd(BOB)
        .args(["claims", "who", "src/store/read.rs"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("T-1") && text.contains(ALICE) && text.contains("exclusive"),
        "{text}"
    );

    repo.refuse(BOB, &["claims", "who", "/etc/passwd"], 2, "path_outside_repository");
    repo.refuse(
        ALICE,
        &["claims", "claim", "T-2", "--paths", "../x"],
        2,
        "invalid_pattern",
    );
}

#[test]
fn an_overlapping_exclusive_reservation_is_refused_naming_the_other_claim() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1", "--paths", "src/store/"])
        .ok();
    let run = repo.refuse(
        BOB,
        &["claims", "claim", "T-2", "--paths", "src/store/mod.rs"],
        1,
        "paths_reserved",
    );
    let msg = run.message();
    assert!(
        msg.contains("T-1") && msg.contains(ALICE) && msg.contains("src/store"),
        "{msg}"
    );
    assert!(run.hint().contains("--force --reason"), "{}", run.hint());
    // Shared against exclusive is refused too; disjoint paths pass.
    repo.refuse(
        BOB,
        &["claims", "claim", "T-2", "--paths", "src/**", "--shared"],
        1,
        "paths_reserved",
    );
    repo.run(BOB, &["claims", "claim", "T-2", "--paths", "src/storefront/"])
        .ok();
    // Shared beside shared passes.
    repo.run(ALICE, &["claims", "reserve", "T-1", "--paths", "docs/", "--shared"])
        .ok();
    repo.run(BOB, &["claims", "reserve", "T-2", "--paths", "docs/*.md", "--shared"])
        .ok();
    repo.refuse(
        BOB,
        &["claims", "reserve", "T-2", "--paths", "docs/x.md"],
        1,
        "paths_reserved",
    );
}

#[test]
fn force_takes_the_overlapping_paths_over_with_a_reason() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1", "--paths", "src/store/", "docs/"])
        .ok();
    repo.run(BOB, &["claims", "claim", "T-2"]).ok();
    let run = repo.run(
        BOB,
        &[
            "claims",
            "reserve",
            "T-2",
            "--paths",
            "src/store/mod.rs",
            "--force",
            "--reason",
            "alice is away",
        ],
    );
    let doc = run.ok();
    assert!(doc["warnings"][0].as_str().unwrap().contains("T-1"), "{doc}");
    assert_eq!(
        who(&repo, "src/store/mod.rs"),
        [("T-2".into(), BOB.into(), "exclusive".into())]
    );
    assert_eq!(who(&repo, "docs/a.md")[0].0, "T-1", "alice keeps what did not overlap");
    let msg = repo.tip_message();
    assert!(
        msg.contains("alice is away") && msg.contains("claim/T-1") && msg.contains("claim/T-2"),
        "{msg}"
    );
}

#[test]
fn reservations_live_and_die_with_their_claim() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1", "--paths", "src/a.rs"]).ok();
    // The holder's repeat claim adds paths; reserve drops them.
    repo.run(ALICE, &["claims", "claim", "T-1", "--paths", "src/b.rs"]).ok();
    assert_eq!(who(&repo, "src/b.rs").len(), 1);
    repo.run(ALICE, &["claims", "reserve", "T-1", "--release-paths", "src/b.rs"])
        .ok();
    assert!(who(&repo, "src/b.rs").is_empty());
    // Only the holder reserves on a claim.
    repo.refuse(BOB, &["claims", "reserve", "T-1", "--paths", "x"], 1, "not_owner");
    // A handoff moves them to the new holder.
    repo.run(ALICE, &["claims", "handoff", "T-1", "--to", BOB]).ok();
    repo.run(BOB, &["claims", "accept", "T-1"]).ok();
    assert_eq!(who(&repo, "src/a.rs"), [("T-1".into(), BOB.into(), "exclusive".into())]);
    // Release frees them.
    repo.run(BOB, &["claims", "release", "T-1"]).ok();
    assert!(who(&repo, "src/a.rs").is_empty());
    repo.run(ALICE, &["claims", "claim", "T-3", "--paths", "src/a.rs"]).ok();
}

#[test]
fn an_expired_or_lapsed_claim_reserves_nothing() {
    let repo = Repo::new();
    repo.run_at(
        ALICE,
        common::T0,
        &["claims", "claim", "T-1", "--lease", "1h", "--paths", "src/"],
    )
    .ok();
    let later = common::t0_plus(2);
    repo.run_at(BOB, &later, &["claims", "claim", "T-2", "--paths", "src/x.rs"])
        .ok();
}

#[test]
fn claim_files_without_reservations_still_load() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1"]).ok();
    let file = repo.state_file(&common::claim_path("T-1")).unwrap();
    assert!(!file.contains("reservations"), "{file}");
    assert!(who(&repo, "src/x.rs").is_empty());
}

/// `git commit` in a real repository with `baton init --hooks`, as `actor`.
fn commit(repo: &Repo, actor: &str, file: &str) -> std::process::Output {
    let path = repo.path().join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, format!("{actor}\n")).unwrap();
    repo.git(&["add", file]);
    repo.git_cmd()
        .env("BATON_ACTOR", actor)
        .args(["commit", "-q", "-m", file])
        .output()
        .unwrap()
}

#[test]
fn the_pre_commit_hook_refuses_another_actors_exclusive_paths_and_passes_the_holder() {
    let repo = Repo::bare_git();
    repo.run("human:setup", &["init", "--hooks"]).ok();
    repo.run(ALICE, &["claims", "claim", "T-1", "--paths", "src/store/"])
        .ok();
    repo.run(ALICE, &["claims", "claim", "T-2", "--paths", "docs/", "--shared"])
        .ok();

    let refused = commit(&repo, BOB, "src/store/mod.rs");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "the hook must refuse: {said}");
    assert!(
        said.contains("src/store/mod.rs") && said.contains("T-1") && said.contains(ALICE),
        "names path, claim and holder: {said}"
    );
    assert!(said.contains("--no-verify") && said.contains("handoff"), "{said}");
    assert!(repo
        .git_cmd()
        .args(["rev-parse", "-q", "--verify", "HEAD"])
        .output()
        .unwrap()
        .stdout
        .is_empty());

    // The holder commits the same staged path.
    let passed = commit(&repo, ALICE, "src/store/mod.rs");
    assert!(passed.status.success(), "{}", String::from_utf8_lossy(&passed.stderr));
    // A shared reservation of someone else warns, and the commit goes in.
    let shared = commit(&repo, BOB, "docs/x.md");
    let said = String::from_utf8_lossy(&shared.stderr);
    assert!(shared.status.success(), "{said}");
    // Paths nobody reserves pass.
    let free = commit(&repo, BOB, "README.md");
    assert!(free.status.success(), "{}", String::from_utf8_lossy(&free.stderr));
    // Once released, Bob's commit passes.
    repo.run(ALICE, &["claims", "release", "T-1"]).ok();
    let after = commit(&repo, BOB, "src/store/read.rs");
    assert!(after.status.success(), "{}", String::from_utf8_lossy(&after.stderr));
    assert_eq!(repo.git(&["rev-list", "--count", "HEAD"]), "4");
}

/// A recorded edit-tool payload (tests/fixtures/edits), its repository
/// moved to `repo`, through `learn pre-command --hook <agent>` as `actor`
/// (no `-C`: the payload's `cwd` finds the repository).
fn edit_hook(repo: &Repo, agent: &str, fixture: &str, actor: &str) -> (i32, String) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/edits")
        .join(fixture);
    let payload = std::fs::read_to_string(path).unwrap();
    let payload = payload.replace("/home/dev/repo", repo.path().to_str().unwrap());
    let out = common::baton_cmd()
        .current_dir(std::env::temp_dir())
        .env("BATON_ACTOR", actor)
        .args(["learn", "pre-command", "--hook", agent])
        .write_stdin(payload)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn decision(stdout: &str) -> String {
    if stdout.trim().is_empty() {
        return "silent".into();
    }
    let doc: Value = serde_json::from_str(stdout).unwrap();
    let claude = &doc["hookSpecificOutput"]["permissionDecision"];
    if let Some(d) = claude.as_str() {
        return d.to_owned();
    }
    match doc["decision"].as_str() {
        Some(d) => d.to_owned(),
        None if doc.get("systemMessage").is_some() => "message".into(),
        None => "pass".into(),
    }
}

#[test]
fn recorded_edit_payloads_of_every_client_are_checked_against_reservations() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1", "--paths", "src/store/"])
        .ok();
    repo.run(ALICE, &["claims", "claim", "T-2", "--paths", "docs/", "--shared"])
        .ok();
    // The MultiEdit payload was recorded in a subdirectory.
    std::fs::create_dir_all(repo.path().join("src")).unwrap();
    let cases = [
        ("claude", "claude-pre-edit.json", "deny", "silent"),
        ("claude", "claude-pre-multiedit.json", "deny", "silent"),
        ("claude", "claude-pre-notebookedit.json", "deny", "silent"),
        ("claude", "claude-pre-write.json", "ask", "silent"),
        // Codex payloads come under --hook claude; Codex fails open on ask, so a
        // shared reservation is a message there, and a deny stays a deny.
        ("claude", "codex-pre-apply-patch.json", "deny", "silent"),
        ("gemini", "gemini-before-write-file.json", "deny", "pass"),
        ("gemini", "gemini-before-replace.json", "ask", "pass"),
    ];
    for (agent, fixture, for_bob, for_alice) in cases {
        let (code, out) = edit_hook(&repo, agent, fixture, BOB);
        assert_eq!(code, 0, "{fixture}: {out}");
        assert_eq!(decision(&out), for_bob, "{fixture} as bob: {out}");
        if for_bob == "deny" {
            assert!(
                out.contains("T-1") && out.contains(ALICE) && out.contains("handoff"),
                "{fixture}: {out}"
            );
        }
        let (code, out) = edit_hook(&repo, agent, fixture, ALICE);
        assert_eq!(
            (code, decision(&out)),
            (0, for_alice.to_owned()),
            "{fixture} as alice: {out}"
        );
    }
    // Once released, the edit passes for anyone.
    repo.run(ALICE, &["claims", "release", "T-1"]).ok();
    assert_eq!(
        decision(&edit_hook(&repo, "claude", "claude-pre-edit.json", BOB).1),
        "silent"
    );
}

#[test]
fn edits_outside_the_repository_are_not_judged_and_opencode_asks_by_path() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1", "--paths", "**"]).ok();
    // opencode's plugin passes the files to --edit.
    let run = repo.run(BOB, &["learn", "pre-command", "--edit", "src/lib.rs"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    assert_eq!(run.json()["level"], "high");
    assert!(run.json()["reasons"][0]["why"].as_str().unwrap().contains(ALICE));
    let outside = repo.run(
        BOB,
        &["learn", "pre-command", "--edit", "/etc/hosts", "../elsewhere.rs"],
    );
    assert_eq!(outside.ok()["level"], "low");
    assert_eq!(
        repo.run(ALICE, &["learn", "pre-command", "--edit", "src/lib.rs"]).ok()["level"],
        "low"
    );
}

/// A Claude Code `Edit` payload for `file` in `repo`, through the hook as
/// `actor`, with `env` added: the exit code and stdout.
fn edit_payload(repo: &Repo, file: &str, actor: &str, env: &[(&str, &str)]) -> (i32, String) {
    let payload = serde_json::json!({
        "cwd": repo.path(),
        "hook_event_name": "PreToolUse",
        "tool_name": "Edit",
        "tool_input": {"file_path": repo.path().join(file), "old_string": "a", "new_string": "b"},
    });
    let mut cmd = common::baton_cmd();
    cmd.current_dir(std::env::temp_dir())
        .env("BATON_ACTOR", actor)
        .args(["learn", "pre-command", "--hook", "claude"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.write_stdin(payload.to_string()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The edit hook decides from the held reservations file stamped with the
/// state tip without opening the repository (docs/reservations.md): every
/// answer is the one the full read gives — first after a commit, from the
/// stamped file, with the file deleted or corrupt, and with git's
/// environment naming the repository (which the quick read leaves alone).
#[test]
fn the_edit_hook_answers_alike_from_the_stamped_held_file_and_the_full_read() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1", "--paths", "src/store/", "docs/*.md"])
        .ok();
    repo.run(ALICE, &["claims", "claim", "T-2", "--paths", "lib/", "--shared"])
        .ok();
    repo.run(BOB, &["claims", "claim", "T-3", "--paths", "lib/", "--shared"])
        .ok();
    let held = repo.path().join(".git/baton/index/reservations-held");
    let files = ["src/store/mod.rs", "docs/a.md", "docs/a/b.md", "lib/x.rs", "free.rs"];
    let git_dir = repo.path().join(".git");
    let git_dir = git_dir.to_str().unwrap();
    for actor in [ALICE, BOB, "agent:carol"] {
        for file in files {
            let _ = std::fs::remove_file(&held);
            let full = edit_payload(&repo, file, actor, &[]);
            let first_line = std::fs::read_to_string(&held).unwrap_or_default();
            assert!(
                first_line.lines().next().unwrap_or_default().contains(&repo.state()),
                "the full read stamps the held file with the tip: {first_line:?}"
            );
            let quick = edit_payload(&repo, file, actor, &[]);
            assert_eq!(quick, full, "{file} as {actor}, from the stamped file");
            let mut bytes = std::fs::read(&held).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 0x01;
            std::fs::write(&held, bytes).unwrap();
            assert_eq!(
                edit_payload(&repo, file, actor, &[]),
                full,
                "{file} as {actor}, corrupt file"
            );
            let env = [("GIT_DIR", git_dir)];
            assert_eq!(
                edit_payload(&repo, file, actor, &env),
                full,
                "{file} as {actor}, GIT_DIR set"
            );
        }
    }
    // The answers themselves: the reservations still decide.
    assert_eq!(decision(&edit_payload(&repo, "src/store/mod.rs", BOB, &[]).1), "deny");
    assert_eq!(decision(&edit_payload(&repo, "docs/a.md", BOB, &[]).1), "deny");
    assert_eq!(
        decision(&edit_payload(&repo, "src/store/mod.rs", ALICE, &[]).1),
        "silent"
    );
    assert_eq!(decision(&edit_payload(&repo, "lib/x.rs", "agent:carol", &[]).1), "ask");
    assert_eq!(decision(&edit_payload(&repo, "free.rs", BOB, &[]).1), "silent");
    // A state commit moves the tip: the next edit reads the new state.
    repo.run(ALICE, &["claims", "release", "T-1"]).ok();
    assert_eq!(decision(&edit_payload(&repo, "src/store/mod.rs", BOB, &[]).1), "silent");
    assert_eq!(decision(&edit_payload(&repo, "src/store/mod.rs", BOB, &[]).1), "silent");
}

/// In a linked worktree (agents often work in one) the edit hook reads the
/// main repository's state and held file, quick or full alike, and judges
/// paths against the worktree's own root.
#[test]
fn the_edit_hook_in_a_linked_worktree_judges_against_the_shared_state() {
    let repo = Repo::new();
    repo.git(&["commit", "-q", "--allow-empty", "-m", "start"]);
    let elsewhere = tempfile::tempdir().unwrap();
    let tree = elsewhere.path().join("linked");
    repo.git(&["worktree", "add", "-q", tree.to_str().unwrap()]);
    repo.run(ALICE, &["claims", "claim", "T-1", "--paths", "src/"]).ok();
    let held = repo.path().join(".git/baton/index/reservations-held");
    let edit = |actor: &str| {
        let payload = serde_json::json!({
            "cwd": tree,
            "hook_event_name": "PreToolUse",
            "tool_name": "Edit",
            "tool_input": {"file_path": tree.join("src/a.rs")},
        });
        let out = common::baton_cmd()
            .current_dir(std::env::temp_dir())
            .env("BATON_ACTOR", actor)
            .args(["learn", "pre-command", "--hook", "claude"])
            .write_stdin(payload.to_string())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let _ = std::fs::remove_file(&held);
    let full = edit(BOB);
    assert_eq!(decision(&full), "deny", "{full}");
    assert_eq!(edit(BOB), full, "from the stamped held file");
    assert_eq!(decision(&edit(ALICE)), "silent");
}

fn reservation_findings(repo: &Repo) -> Vec<Value> {
    let doc = repo.run(BOB, &["doctor", "claims"]).json();
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "claims.reservations")
        .cloned()
        .collect()
}

#[test]
fn doctor_reports_overlaps_that_slipped_in_and_reservations_on_gone_claims() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1", "--paths", "src/"]).ok();
    repo.run(BOB, &["claims", "claim", "T-2", "--paths", "docs/"]).ok();
    let ok = reservation_findings(&repo);
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0]["severity"], "ok", "{ok:?}");

    // A state written without the check (an older baton's merge): overlapping.
    let t2 = common::claim_path("T-2");
    let file = repo
        .state_file(&t2)
        .unwrap()
        .replace("pattern = \"docs\"", "pattern = \"src/x.rs\"");
    repo.commit_files(&[(&t2, file.as_bytes())], "an overlap slips in");
    let found = reservation_findings(&repo);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["severity"], "warn");
    let msg = found[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("T-1") && msg.contains("T-2") && msg.contains("src/x.rs"),
        "{msg}"
    );
    assert!(found[0]["hint"].as_str().unwrap().contains("--release-paths"));

    // Reservations left on a released claim count for nothing, and doctor says so.
    repo.run(BOB, &["claims", "release", "T-2"]).ok();
    let file = repo.state_file(&t2).unwrap() + "\n[[reservations]]\npattern = \"src\"\nmode = \"exclusive\"\n";
    repo.commit_files(&[(&t2, file.as_bytes())], "an older baton released it");
    let found = reservation_findings(&repo);
    assert!(
        found
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains("count for nothing")),
        "{found:?}"
    );
    assert_eq!(
        who(&repo, "src/y.rs"),
        [("T-1".into(), ALICE.into(), "exclusive".into())]
    );
}

#[test]
fn metrics_count_the_active_reservations() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1", "--paths", "src/", "docs/"])
        .ok();
    repo.run(BOB, &["claims", "claim", "T-2", "--paths", "tests/"]).ok();
    repo.run(BOB, &["claims", "release", "T-2"]).ok();
    let counted = |repo: &Repo| -> Value {
        repo.run("human:ops", &["daemon", "tick"]).ok();
        let snap: Value = serde_json::from_str(&repo.state_file("metrics/snapshot.json").unwrap()).unwrap();
        snap["counters"]["claims.reservations_active"].clone()
    };
    assert_eq!(counted(&repo), 2);
    // The incremental pass sees a change of reservations.
    repo.run(ALICE, &["claims", "reserve", "T-1", "--paths", "benches/"])
        .ok();
    assert_eq!(counted(&repo), 3);
}
