//! Delivery at the edges (docs/delivery.md), against the built binary: a
//! ledger from the shared state never decides what runs here, one delivery
//! per claim whoever asks (two starts at once run the workflow once),
//! abandoning a running delivery stops it and leaves one final phase, and
//! each phase carries the time it landed.

use std::time::{Duration, Instant};

use crate::common::{define, exe, hermetic, Background, Repo, T0};
use serde_json::Value;

const ALICE: &str = "agent:dev-1";
const BOB: &str = "agent:bob";
const DANA: &str = "human:dana";

fn start_args(workflow: &str) -> Vec<&str> {
    vec![
        "delivery",
        "start",
        "--issue",
        "T-1",
        "--workflow",
        workflow,
        "--execute",
    ]
}

/// The latest delivery's ledger, as `delivery status` shows it.
fn latest(repo: &Repo) -> Value {
    let list = repo.run(DANA, &["delivery", "status"]).ok();
    list["deliveries"][0].clone()
}

fn phases(d: &Value) -> Vec<String> {
    d["phases"]
        .as_array()
        .unwrap_or_else(|| panic!("no phases: {d}"))
        .iter()
        .map(|p| p["phase"].as_str().unwrap().to_owned())
        .collect()
}

/// The path of a delivery's ledger in the state tree.
fn ledger_path(repo: &Repo, id: &str) -> String {
    let listing = repo.git(&[
        "ls-tree",
        "-r",
        "--name-only",
        crate::common::STATE_REF,
        "runs/delivery",
    ]);
    listing
        .lines()
        .find(|l| l.ends_with(&format!("/{id}.json")))
        .unwrap_or_else(|| panic!("no ledger of {id} in {listing}"))
        .to_owned()
}

/// `baton delivery start` in the background, as `actor`, text output.
fn start_in_background(repo: &Repo, actor: &str, workflow: &str, tag: &str) -> Background {
    let mut cmd = std::process::Command::new(exe());
    hermetic(&mut cmd)
        .arg("-C")
        .arg(repo.path())
        .arg("--json")
        .args(start_args(workflow))
        .env("BATON_ACTOR", actor);
    Background::spawn(&mut cmd, repo, tag)
}

/// Wait until `cond` holds (polling), at most `limit`.
fn wait_for(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A ledger that names a definition outside the work tree — written with
/// git plumbing as if fetched from another machine — runs nothing: resume
/// refuses it, doctor flags it. A ledger its claim does not name is
/// flagged and refused too.
#[test]
fn a_ledger_naming_a_path_outside_the_work_tree_runs_nothing_and_doctor_flags_it() {
    let repo = Repo::new();
    define(
        &repo,
        "ship",
        "name = \"ship\"\n[[steps]]\nid = \"check\"\nrun = [\"sh\", \"-c\", \"test -f fixed\"]\n",
    );
    let failed = repo.run(ALICE, &start_args("ship"));
    assert_eq!(failed.code, 1, "{}", failed.describe());
    let d = failed.json()["delivery"].clone();
    let id = d["id"].as_str().unwrap().to_owned();
    assert_eq!(d["phase"], "failed");

    // /elsewhere/evil.toml: a definition that would leave a mark if it ran.
    let elsewhere = assert_fs::TempDir::new().unwrap();
    let marker = elsewhere.path().join("ran");
    let evil = elsewhere.path().join("evil.toml");
    std::fs::write(
        &evil,
        format!(
            "name = \"evil\"\n[[steps]]\nid = \"check\"\nrun = [\"touch\", {:?}]\n",
            marker.display().to_string()
        ),
    )
    .unwrap();
    let path = ledger_path(&repo, &id);
    let mut forged: Value = serde_json::from_str(&repo.state_file(&path).unwrap()).unwrap();
    forged["workflow"] = Value::String(evil.display().to_string());
    repo.commit_files(&[(&path, forged.to_string().as_bytes())], "forged by another machine");

    let refused = repo.refuse(
        ALICE,
        &["delivery", "resume", "--run-id", &id, "--execute"],
        1,
        "definition_path",
    );
    assert!(refused.message().contains("evil.toml"), "{}", refused.describe());
    assert!(!marker.exists(), "the definition the ledger named ran");
    // Not even a dry run reads it.
    repo.refuse(ALICE, &["delivery", "resume", "--run-id", &id], 1, "definition_path");

    let doctor = repo.run(DANA, &["doctor", "delivery"]);
    assert_eq!(doctor.code, 1, "{}", doctor.describe());
    let errors = crate::common::doctor_errors(&doctor.json());
    assert!(
        errors
            .iter()
            .any(|f| f["check"] == "delivery.workflow" && f["message"].as_str().unwrap().contains("evil.toml")),
        "{errors:?}"
    );

    // A second ledger for the same holding, which the claim's mark does not name.
    let other = id.replace(&id[id.len() - 6..], "0f0f0f");
    let mut stray = d.clone();
    stray["id"] = Value::String(other.clone());
    stray["workflow"] = Value::String(".baton/workflows/ship.toml".into());
    let stray_path = path.replace(&id, &other);
    repo.commit_files(&[(&stray_path, stray.to_string().as_bytes())], "a stray ledger");
    std::fs::write(repo.path().join("fixed"), "").unwrap();
    repo.refuse(
        ALICE,
        &["delivery", "resume", "--run-id", &other, "--execute"],
        1,
        "not_claims_delivery",
    );
    let doctor = repo.run(DANA, &["doctor", "delivery"]);
    let errors = crate::common::doctor_errors(&doctor.json());
    assert!(
        errors
            .iter()
            .any(|f| f["check"] == "delivery.mark" && f["message"].as_str().unwrap().contains(&other)),
        "{errors:?}"
    );
    assert_eq!(repo.claim("T-1")["state"], "active", "nothing acted on the claim");
}

/// `delivery start` runs only a named workflow of `.baton/workflows/`,
/// the one place a resume reads it from again.
#[test]
fn a_delivery_runs_only_a_named_workflow() {
    let repo = Repo::new();
    std::fs::write(
        repo.path().join("loose.toml"),
        "name = \"loose\"\n[[steps]]\nid = \"a\"\nrun = [\"true\"]\n",
    )
    .unwrap();
    let refused = repo.refuse(ALICE, &start_args("loose.toml"), 2, "workflow_not_named");
    assert!(refused.hint().contains(".baton/workflows"), "{}", refused.hint());
    // Its path in .baton/workflows/ is as good as its name.
    define(
        &repo,
        "ship",
        "name = \"ship\"\n[[steps]]\nid = \"a\"\nrun = [\"true\"]\n",
    );
    let done = repo.run(ALICE, &start_args(".baton/workflows/ship.toml")).ok();
    assert_eq!(done["delivery"]["workflow"], ".baton/workflows/ship.toml");
}

/// Two `delivery start` of one issue at once, by the same actor: the
/// workflow runs once; the other start is refused (`delivery_active`).
/// While a delivery is unfinished, a start is refused whoever asks.
#[test]
fn two_starts_of_one_issue_at_once_run_the_workflow_once() {
    let repo = Repo::new();
    let log = repo.path().join(".git/executions");
    define(
        &repo,
        "ship",
        &format!(
            "name = \"ship\"\n[[steps]]\nid = \"work\"\nrun = [\"sh\", \"-c\", \"echo ran >> {}; sleep 1\"]\n",
            log.display()
        ),
    );
    let mut first = start_in_background(&repo, ALICE, "ship", "first");
    let mut second = start_in_background(&repo, ALICE, "ship", "second");
    let codes = [
        first.wait(Duration::from_secs(60)).code(),
        second.wait(Duration::from_secs(60)).code(),
    ];
    let executions = std::fs::read_to_string(&log).unwrap_or_default().lines().count();
    assert_eq!(
        executions,
        1,
        "the workflow ran {executions} times\nfirst: {}\nsecond: {}",
        first.output(),
        second.output()
    );
    let mut codes = codes.to_vec();
    codes.sort();
    assert_eq!(codes, [Some(0), Some(1)], "{}\n{}", first.output(), second.output());
    let loser = if first.child.try_wait().unwrap().and_then(|s| s.code()) == Some(1) {
        &first
    } else {
        &second
    };
    assert!(
        loser.output().contains("delivery_active") || loser.output().contains("delivery_running"),
        "{}",
        loser.output()
    );

    // A failed delivery is unfinished: a new start is refused, for its
    // owner and for anyone else, until it is resumed or given up.
    define(
        &repo,
        "ship",
        "name = \"ship\"\n[[steps]]\nid = \"work\"\nrun = [\"false\"]\n",
    );
    repo.run(ALICE, &["claims", "claim", "T-2"]).ok();
    let args = [
        "delivery",
        "start",
        "--issue",
        "T-2",
        "--workflow",
        "ship",
        "--execute",
        "--generation",
        "1",
    ];
    let failed = repo.run(ALICE, &args);
    assert_eq!(failed.json()["delivery"]["phase"], "failed", "{}", failed.describe());
    let again = repo.refuse(ALICE, &args, 1, "delivery_active");
    assert!(again.hint().contains("--abandon"), "{}", again.hint());
    repo.refuse(
        BOB,
        &["delivery", "start", "--issue", "T-2", "--workflow", "ship", "--execute"],
        1,
        "delivery_active",
    );
}

/// `delivery close --abandon` while the workflow runs: the run stops, and
/// the ledger keeps exactly one final phase, `abandoned` (the runner reads
/// the ledger in its compare-and-swap and leaves a final one alone).
#[test]
fn abandon_while_the_workflow_runs_stops_it_and_leaves_one_final_phase() {
    let repo = Repo::new();
    define(
        &repo,
        "ship",
        "name = \"ship\"\n[[steps]]\nid = \"long\"\nrun = [\"sleep\", \"40\"]\n",
    );
    let mut runner = start_in_background(&repo, ALICE, "ship", "runner");
    let mut id = String::new();
    wait_for(Duration::from_secs(30), "the delivery to run", || {
        let list = repo.run(DANA, &["delivery", "status"]).ok();
        let d = &list["deliveries"][0];
        if d["phase"] == "running" {
            id = d["id"].as_str().unwrap().to_owned();
            return true;
        }
        false
    });
    let began = Instant::now();
    let closed = repo
        .run(
            ALICE,
            &[
                "delivery",
                "close",
                "--run-id",
                &id,
                "--abandon",
                "--reason",
                "not needed",
            ],
        )
        .ok();
    assert_eq!(closed["delivery"]["phase"], "abandoned", "{closed}");
    let status = runner.wait(Duration::from_secs(60));
    assert!(
        began.elapsed() < Duration::from_secs(30),
        "the run was not stopped: it took {:?}",
        began.elapsed()
    );
    assert_eq!(status.code(), Some(1), "{}", runner.output());
    assert!(runner.output().contains("delivery_finished"), "{}", runner.output());

    let d = repo.run(DANA, &["delivery", "status", "--run-id", &id]).ok();
    assert_eq!(phases(&d["delivery"]), ["claimed", "running", "abandoned"], "{d}");
    assert_eq!(d["delivery"]["reason"], "not needed");
    assert_eq!(d["run"]["status"], "stopped", "{d}");
    assert_eq!(repo.claim("T-1")["state"], "completed");
}

/// Each phase carries the time it landed, and the claim's `updated_at`
/// the last one's; a faked clock (`BATON_NOW`) stays where it was set.
#[test]
fn phase_times_are_the_times_each_phase_landed() {
    let repo = Repo::new();
    define(
        &repo,
        "ship",
        "name = \"ship\"\n[[steps]]\nid = \"slow\"\nrun = [\"sleep\", \"2\"]\n",
    );
    let done = repo.run(ALICE, &start_args("ship")).ok();
    let d = &done["delivery"];
    let at = |i: usize| {
        let raw = d["phases"][i]["at"].as_str().unwrap();
        chrono::DateTime::parse_from_rfc3339(raw).unwrap()
    };
    assert_eq!(phases(d), ["claimed", "running", "closed"]);
    let ran = at(2) - at(1);
    assert!(
        ran >= chrono::Duration::seconds(2),
        "running {} then closed {}: {d}",
        at(1),
        at(2)
    );
    assert_eq!(d["updated_at"], d["phases"][2]["at"], "{d}");
    assert_eq!(
        repo.claim("T-1")["updated_at"],
        d["phases"][2]["at"],
        "the claim moves with its phases"
    );

    let faked = repo.run_at(
        ALICE,
        T0,
        &["delivery", "start", "--issue", "T-9", "--workflow", "ship", "--execute"],
    );
    let d = &faked.ok()["delivery"];
    for p in d["phases"].as_array().unwrap() {
        assert_eq!(p["at"], T0, "{d}");
    }
    assert_eq!(latest(&repo)["phase"], "closed");
}

/// `workflow resume` too runs only a named workflow: a run of any other
/// file of the work tree is run again with `workflow run`, not resumed.
#[test]
fn workflow_resume_runs_only_a_named_workflow() {
    let repo = Repo::new();
    std::fs::create_dir_all(repo.path().join("ci")).unwrap();
    std::fs::write(
        repo.path().join("ci/ship.toml"),
        "name = \"ship\"\n[[steps]]\nid = \"check\"\nrun = [\"sh\", \"-c\", \"echo ran >> .git/ran; test -f fixed\"]\n",
    )
    .unwrap();
    let failed = repo.run(DANA, &["workflow", "run", "ci/ship.toml", "--execute"]);
    assert_eq!(failed.code, 1, "{}", failed.describe());
    let id = failed.json()["run"]["id"].as_str().unwrap().to_owned();
    std::fs::write(repo.path().join("fixed"), "").unwrap();
    let refused = repo.refuse(
        DANA,
        &["workflow", "resume", "--run-id", &id, "--execute"],
        1,
        "definition_path",
    );
    assert!(refused.message().contains("ci/ship.toml"), "{}", refused.describe());
    let ran = std::fs::read_to_string(repo.path().join(".git/ran")).unwrap();
    assert_eq!(ran.lines().count(), 1, "only the first run ran it");
}
