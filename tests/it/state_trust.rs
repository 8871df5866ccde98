//! Trust boundaries inside one repository, each test reproducing a reported
//! defect first: a lapsed lease re-claimed by its holder, control characters
//! in what reaches the terminal, state that is corrupt (gitlinks, missing
//! objects, a dangling ref, files that do not parse) or written by a newer
//! baton, the pre-commit hook on a corrupt claim, two resumes of one run at
//! once, and where a resume takes its definition from.

#![cfg(unix)]

use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{claim_path, define, doctor_errors, hermetic, t0_plus, Repo, STATE_REF, T0};
use serde_json::Value;

const ALICE: &str = "agent:alice";
const BOB: &str = "agent:bob";
const OPS: &str = "human:ops";

/// A claim file as baton writes it, with `extra` lines appended.
fn claim_file(id: &str, extra: &str) -> String {
    format!(
        "schema = 1\nid = \"{id}\"\nstate = \"active\"\nowner = \"{ALICE}\"\ngeneration = 1\n\
         created_at = \"2026-01-01T00:00:00Z\"\nupdated_at = \"2026-01-01T00:00:00Z\"\n{extra}"
    )
}

fn finding_at<'a>(doc: &'a Value, path: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("no finding at {path}: {doc:#}"))
}

// ------------------------------------------------------------------ item 15

/// The holder of a claim whose lease lapsed claims it again: the holding is
/// renewed (a new lease, one commit, the same generation), so nobody can take
/// it a second later as if it were free.
#[test]
fn a_lapsed_lease_claimed_again_by_its_holder_is_renewed() {
    let repo = Repo::new();
    repo.run_at(ALICE, T0, &["claims", "claim", "T-1", "--lease", "1h"])
        .ok();
    let before = repo.commit_count();
    let run = repo.run_at(ALICE, &t0_plus(2), &["claims", "claim", "T-1", "--lease", "1h"]);
    let out = run.ok();
    assert_eq!(
        out["changed"],
        true,
        "the lapsed holding must be renewed: {}",
        run.describe()
    );
    assert_eq!(repo.commit_count(), before + 1);
    let claim = &out["claim"];
    assert_eq!(claim["owner"], ALICE);
    assert_eq!(claim["generation"], 1, "the holder did not change");
    assert_eq!(claim["lease_until"], t0_plus(3));
    assert!(repo.tip_message().contains("lapsed"), "{}", repo.tip_message());
    // Held again: another actor a moment later is refused.
    repo.refuse_at(
        BOB,
        &crate::common::t0_plus_minutes(121),
        &["claims", "claim", "T-1"],
        1,
        "claim_held",
    );
    // Without --lease and without claims.default_lease the renewed holding has no lease.
    let out = repo.run_at(ALICE, &t0_plus(5), &["claims", "claim", "T-1"]).ok();
    assert_eq!(out["changed"], true);
    assert!(out["claim"].get("lease_until").is_none(), "{out}");
    // A holding with a live lease is still a free repeat.
    let out = repo.run_at(ALICE, &t0_plus(6), &["claims", "claim", "T-1"]).ok();
    assert_eq!(out["changed"], false);
}

// ------------------------------------------------------------------ item 11

const HOSTILE: &str = "ok\x1b]0;owned\x07\x1b[2J\rfake line\x7f\u{9b}31m\nhint: forged";

/// No byte of a terminal control sequence survives into text output.
fn assert_inert(text: &str, what: &str) {
    for bad in ['\x1b', '\x07', '\r', '\x7f', '\u{9b}'] {
        assert!(!text.contains(bad), "{what} printed {bad:?} raw: {text:?}");
    }
}

#[test]
fn control_characters_in_notes_reasons_and_step_output_are_escaped() {
    let repo = Repo::new();
    // Notes and reasons, from the command line and from the state.
    repo.run(ALICE, &["claims", "claim", "T-1", "--note", HOSTILE]).ok();
    repo.run(ALICE, &["claims", "handoff", "T-1", "--to", BOB, "--note", HOSTILE])
        .ok();
    let status = repo.cmd(OPS).args(["claims", "status", "T-1"]).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert_inert(&text, "claims status");
    assert!(text.contains("\\x1b]0;owned"), "the note is shown, escaped: {text}");
    assert!(
        !text.lines().any(|l| l.starts_with("hint: forged")),
        "a note forged a line: {text}"
    );
    let reject = repo
        .cmd(BOB)
        .args(["claims", "reject", "T-1", "--reason", HOSTILE])
        .output()
        .unwrap();
    assert_inert(&String::from_utf8_lossy(&reject.stdout), "claims reject");
    let status = repo.cmd(OPS).args(["claims", "status", "T-1"]).output().unwrap();
    assert_inert(&String::from_utf8_lossy(&status.stdout), "claims status (reason)");
    // The JSON keeps the exact text.
    assert_eq!(repo.claim("T-1")["note"], HOSTILE);

    // Step output streamed live, and the run's table.
    let dir = repo.path().join(".baton/workflows");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("loud.toml"),
        "name = \"loud\"\n[[steps]]\nid = \"shout\"\nrun = [\"printf\", 'a\\033]0;owned\\007\\033[2Jb\\rc\\n']\n",
    )
    .unwrap();
    let run = repo
        .cmd(OPS)
        .args(["workflow", "run", "loud", "--execute"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{text}");
    assert_inert(&text, "workflow run");
    assert!(text.contains("[shout] a\\x1b]0;owned"), "{text}");

    // Messages quoting a state file (a parse error shows the bad line).
    let bad = claim_path("BAD");
    let hostile = claim_file("BAD", "").replace("\"active\"", "\"\\u001b]0;owned\\u0007\"");
    repo.commit_files(&[(bad.as_str(), hostile.as_bytes())], "hostile file");
    let list = repo.cmd(OPS).args(["claims", "list"]).output().unwrap();
    assert_eq!(list.status.code(), Some(3));
    assert_inert(&String::from_utf8_lossy(&list.stderr), "claims list error");
    let doctor = repo.cmd(OPS).args(["doctor"]).output().unwrap();
    assert_inert(&String::from_utf8_lossy(&doctor.stdout), "doctor");
}

// ------------------------------------------------------------------ item 12

#[test]
fn gitlinks_missing_blobs_and_broken_files_are_findings_and_fix_quarantines_them() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1"]).ok();
    let broken = claim_path("BROKEN");
    let link = claim_path("LINK");
    let missing = claim_path("MISSING");
    repo.commit_files(&[(broken.as_str(), b"schema = 1\nid = [\n")], "hand edit");
    repo.commit_raw_entries(
        &[
            ("160000", "1234567890123456789012345678901234567890", link.as_str()),
            ("100644", "1234567890123456789012345678901234567891", missing.as_str()),
        ],
        "raw entries",
    );
    repo.refuse(OPS, &["claims", "list"], 3, "corrupt_state");

    // Doctor reports every one of them, and fails with 1, not 3.
    let run = repo.run(OPS, &["doctor"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    let doc = run.json();
    for path in [&broken, &link, &missing] {
        assert_eq!(finding_at(&doc, path)["severity"], "error", "{path}: {doc:#}");
    }
    assert!(doctor_errors(&doc).iter().any(|f| f["path"] == link.as_str()));

    // --fix: one commit that names every file; the claims work again.
    let before = repo.commit_count();
    let fixed = repo.run(OPS, &["doctor", "--fix"]);
    assert_eq!(fixed.code, 0, "{}", fixed.describe());
    assert_eq!(repo.commit_count(), before + 1, "one quarantine commit");
    let message = repo.tip_message();
    for path in [&broken, &link, &missing] {
        assert!(message.contains(path.as_str()), "{path} not named in {message}");
        assert!(repo.state_file(path).is_none(), "{path} still in place");
    }
    assert_eq!(
        repo.state_file(&format!("quarantine/{broken}")).as_deref(),
        Some("schema = 1\nid = [\n"),
        "the broken file is kept in quarantine/"
    );
    assert_eq!(repo.claims().len(), 1);
    repo.run(ALICE, &["claims", "claim", "T-2"]).ok();
    let doc = repo.run(OPS, &["doctor"]).ok();
    assert_eq!(finding_at(&doc, "quarantine")["severity"], "warn", "{doc:#}");
}

#[test]
fn a_dangling_state_ref_is_a_doctor_finding() {
    let repo = Repo::new();
    let missing = "1234567890123456789012345678901234567890";
    std::fs::write(repo.path().join(".git").join(STATE_REF), format!("{missing}\n")).unwrap();
    let run = repo.run(OPS, &["doctor"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    let errors = doctor_errors(&run.json());
    assert!(
        errors
            .iter()
            .any(|f| f["check"] == "store.ref" && f["message"].as_str().unwrap().contains(missing)),
        "{errors:#?}"
    );
    let hook = repo.run(OPS, &["doctor", "--hook"]);
    assert_eq!(hook.code, 1, "{}", hook.describe());
}

#[test]
fn state_from_a_newer_baton_says_upgrade_and_never_blocks_a_commit() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1"]).ok();
    let path = claim_path("NEW");
    let newer = claim_file("NEW", "shiny = true\n").replace("schema = 1", "schema = 2");
    repo.commit_files(&[(path.as_str(), newer.as_bytes())], "from the future");

    let run = repo.refuse(OPS, &["claims", "status", "NEW"], 3, "newer_schema");
    assert!(run.hint().contains("upgrade baton"), "{}", run.describe());
    // Doctor: a warning, not an error; --fix leaves it alone.
    let doc = repo.run(OPS, &["doctor"]).ok();
    let f = finding_at(&doc, &path);
    assert_eq!(f["severity"], "warn", "{doc:#}");
    assert!(f["hint"].as_str().unwrap().contains("upgrade baton"), "{f}");
    repo.run(OPS, &["doctor", "--fix"]).ok();
    assert_eq!(repo.state_file(&path).as_deref(), Some(newer.as_str()));
    // The pre-commit hook passes.
    let hook = repo.run(OPS, &["doctor", "--hook"]);
    assert_eq!(hook.code, 0, "{}", hook.describe());
    // And a newer config too.
    repo.commit_files(&[("config.toml", b"schema = 2\n")], "newer config");
    let hook = repo.run(OPS, &["doctor", "--hook"]);
    assert_eq!(hook.code, 0, "{}", hook.describe());
}

// ------------------------------------------------------------------ item 13

fn hook(repo: &Repo) -> (i32, String) {
    let out = repo.cmd(OPS).args(["doctor", "--hook"]).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_hook_fails_on_a_claim_file_that_does_not_parse_and_checks_only_changes() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1"]).ok();
    let (code, _) = hook(&repo);
    assert_eq!(code, 0);
    let marker = repo.path().join(".git/baton/hook-verified");
    assert!(
        std::fs::read_to_string(&marker).unwrap().starts_with(&repo.state()),
        "the verified commit is remembered"
    );

    let bad = claim_path("T-9");
    repo.commit_files(&[(bad.as_str(), b"schema = 1\nid = \"T-9\"\nstate = [\n")], "hand edit");
    let (code, out) = hook(&repo);
    assert_eq!(code, 1, "{out}");
    let failing: Vec<&str> = out.lines().filter(|l| l.contains(bad.as_str())).collect();
    assert_eq!(failing.len(), 1, "one line naming the file: {out}");
    assert!(failing[0].contains("baton doctor --fix"), "{out}");

    // Fixed by a later commit: the hook passes again.
    repo.commit_edits(&[(bad.as_str(), None)], "remove it");
    let (code, out) = hook(&repo);
    assert_eq!(code, 0, "{out}");

    // Only what changed since the last verified commit is parsed: T-1's
    // file, verified before, is made unreadable behind the hook's back (its
    // object deleted), which only a full check would notice.
    let t1 = claim_path("T-1");
    let blob = repo.git(&["rev-parse", &format!("{STATE_REF}:{t1}")]);
    std::fs::remove_file(repo.path().join(".git/objects").join(&blob[..2]).join(&blob[2..])).unwrap();
    repo.run(ALICE, &["claims", "claim", "T-2"]).ok();
    let (code, out) = hook(&repo);
    assert_eq!(code, 0, "{out}");
    assert!(std::fs::read_to_string(&marker).unwrap().starts_with(&repo.state()));
    // Without the marker, the first run verifies everything once.
    std::fs::remove_file(&marker).unwrap();
    let (code, out) = hook(&repo);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(t1.as_str()), "{out}");
}

// ------------------------------------------------------------------- item 5

fn failed_run(repo: &Repo, name: &str) -> String {
    let run = repo.run(OPS, &["workflow", "run", name, "--execute"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    run.json()["run"]["id"].as_str().unwrap().to_owned()
}

#[test]
fn two_resumes_of_one_run_at_once_execute_it_once() {
    let repo = Repo::new();
    define(
        &repo,
        "deploy",
        "name = \"deploy\"\n[[steps]]\nid = \"deploy\"\nrun = [\"sh\", \"-c\", \"echo ran >> deploy.count; test -f ok && sleep 2\"]\n",
    );
    let id = failed_run(&repo, "deploy");
    std::fs::write(repo.path().join("ok"), "").unwrap();
    let start = || {
        let mut cmd = Command::new(crate::common::exe());
        hermetic(&mut cmd)
            .arg("-C")
            .arg(repo.path())
            .args(["--json", "workflow", "resume", "--run-id", &id, "--execute"])
            .env("BATON_ACTOR", OPS)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().unwrap()
    };
    let (first, second) = (start(), start());
    let outs = [first.wait_with_output().unwrap(), second.wait_with_output().unwrap()];
    let codes: Vec<i32> = outs.iter().map(|o| o.status.code().unwrap()).collect();
    let count = std::fs::read_to_string(repo.path().join("deploy.count")).unwrap();
    assert_eq!(
        count, "ran\nran\n",
        "the deploy step ran once more, not twice (exit codes {codes:?})"
    );
    assert!(codes.contains(&0) && codes.contains(&1), "{codes:?}");
    let loser = outs.iter().find(|o| o.status.code() == Some(1)).unwrap();
    let doc: Value = serde_json::from_slice(&loser.stdout).unwrap();
    assert_eq!(doc["error"]["code"], "run_active", "{doc}");
    let ledger = repo.run(OPS, &["workflow", "status", "--run-id", &id]).ok();
    assert_eq!(ledger["run"]["steps"][0]["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(ledger["run"]["status"], "succeeded");
}

// ------------------------------------------------------------------- item 8

/// Rewrite the run's recorded definition path in its ledger, as a ledger
/// synced from elsewhere could have it.
fn point_definition(repo: &Repo, id: &str, path: &str) {
    let stamp = &id["wf-".len()..];
    let ledger = format!(
        "runs/workflow/{}/{}/{}/{id}.json",
        &stamp[..4],
        &stamp[4..6],
        &stamp[6..8]
    );
    let mut run: Value = serde_json::from_str(&repo.state_file(&ledger).unwrap()).unwrap();
    run["definition"]["path"] = Value::from(path);
    let text = serde_json::to_string_pretty(&run).unwrap();
    repo.commit_files(&[(ledger.as_str(), text.as_bytes())], "ledger from elsewhere");
}

#[test]
fn resume_runs_only_the_recorded_definition_from_this_work_tree() {
    let repo = Repo::new();
    let text = "name = \"fix\"\n[[steps]]\nid = \"go\"\nrun = [\"sh\", \"-c\", \"echo ran >> go.count; test -f ok\"]\n";
    define(&repo, "fix", text);
    let id = failed_run(&repo, "fix");
    let file = repo.path().join(".baton/workflows/fix.toml");
    let blob = repo.git(&["hash-object", file.to_str().unwrap()]);
    std::fs::write(repo.path().join("ok"), "").unwrap();

    // Changed since: refused, naming both blob ids and the path.
    std::fs::write(&file, text.replace("go.count", "other.count")).unwrap();
    let changed = repo.git(&["hash-object", file.to_str().unwrap()]);
    let run = repo.refuse(
        OPS,
        &["workflow", "resume", "--run-id", &id, "--execute"],
        1,
        "definition_changed",
    );
    for needle in [blob.as_str(), changed.as_str(), ".baton/workflows/fix.toml"] {
        assert!(run.message().contains(needle), "{needle} not named: {}", run.describe());
    }
    // Gone: refused.
    std::fs::remove_file(&file).unwrap();
    repo.refuse(
        OPS,
        &["workflow", "resume", "--run-id", &id, "--execute"],
        1,
        "definition_missing",
    );
    // A recorded path outside the work tree is never read.
    for bad in ["../outside.toml", "/etc/passwd", ".baton/../../outside.toml"] {
        point_definition(&repo, &id, bad);
        let run = repo.refuse(
            OPS,
            &["workflow", "resume", "--run-id", &id, "--execute"],
            1,
            "definition_path",
        );
        assert!(run.message().contains(bad), "{}", run.describe());
    }
    assert_eq!(std::fs::read_to_string(repo.path().join("go.count")).unwrap(), "ran\n");

    // Back as it was: it resumes, under the policy as it is now.
    point_definition(&repo, &id, ".baton/workflows/fix.toml");
    std::fs::write(&file, text).unwrap();
    repo.run(OPS, &["config", "set", "workflow.allow", "cargo *"]).ok();
    repo.refuse(OPS, &["workflow", "resume", "--run-id", &id, "--execute"], 1, "policy");
    repo.run(OPS, &["config", "set", "workflow.allow", "sh *"]).ok();
    let resumed = repo.run(OPS, &["workflow", "resume", "--run-id", &id, "--execute"]);
    assert_eq!(resumed.ok()["run"]["status"], "succeeded");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("go.count")).unwrap(),
        "ran\nran\n"
    );
    assert!(!Path::new(&repo.path().join("other.count")).exists());
}
