//! Delivery (docs/delivery.md) against the built binary: the phases, their
//! commits (each touching the claim and the ledger), the fence between
//! phases, refusals before any step runs, crashes at every phase boundary
//! finished by `delivery resume`, and `claims verify`.

use crate::common::{define, exe, Repo};
use serde_json::Value;

const ALICE: &str = "agent:dev-1";
const BOB: &str = "agent:bob";
const DANA: &str = "human:dana";

/// A repository with one `dev` agent and a two-step workflow whose second
/// step passes once the file `fixed` exists.
fn setup() -> Repo {
    let repo = Repo::new();
    repo.run(DANA, &["pool", "spawn", "--role", "dev"]).ok();
    define(
        &repo,
        "ship",
        "name = \"ship\"\n[[steps]]\nid = \"build\"\nrun = [\"sh\", \"-c\", \"echo built\"]\n\
         [[steps]]\nid = \"test\"\nrun = [\"sh\", \"-c\", \"test -f fixed\"]\n",
    );
    repo
}

fn fix(repo: &Repo) {
    std::fs::write(repo.path().join("fixed"), "").unwrap();
}

fn start(repo: &Repo, actor: &str, extra: &[&str]) -> crate::common::Run {
    let mut args = vec!["delivery", "start", "--issue", "T-1", "--workflow", "ship", "--execute"];
    args.extend_from_slice(extra);
    repo.run(actor, &args)
}

fn load(repo: &Repo, agent: &str) -> u64 {
    let list = repo.run(DANA, &["pool", "list"]).ok();
    list["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == agent)
        .map(|a| a["load"].as_u64().unwrap())
        .unwrap()
}

fn delivery_of(run: &crate::common::Run) -> Value {
    run.json()["delivery"].clone()
}

fn id_of(run: &crate::common::Run) -> String {
    delivery_of(run)["id"].as_str().unwrap().to_owned()
}

/// The latest delivery's id (after a crash, from `delivery status`).
fn latest(repo: &Repo) -> String {
    let list = repo.run(DANA, &["delivery", "status"]).ok();
    list["deliveries"][0]["id"].as_str().unwrap().to_owned()
}

/// The files each commit since `since` changed, newest first, with the op.
fn commits_since(repo: &Repo, since: &str) -> Vec<(String, Vec<String>)> {
    let log = repo.git(&[
        "log",
        "--format=@%(trailers:key=Baton-Op,valueonly)",
        "--name-only",
        &format!("{since}..{}", crate::common::STATE_REF),
    ]);
    let mut out = Vec::new();
    for block in log.split('@').filter(|b| !b.trim().is_empty()) {
        let mut lines = block.lines().map(str::trim).filter(|l| !l.is_empty());
        let op = lines.next().unwrap_or_default().to_owned();
        out.push((op, lines.map(str::to_owned).collect()));
    }
    out
}

/// Doctor agrees: ledger, claim and run are consistent.
fn doctor_agrees(repo: &Repo) {
    let doctor = repo.run(DANA, &["doctor", "delivery"]).ok();
    assert_eq!(doctor["ok"], true, "{doctor}");
    assert!(
        doctor["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "ok"),
        "{doctor}"
    );
}

#[test]
fn success_releases_the_claim_frees_the_agent_and_every_phase_touches_claim_and_ledger() {
    let repo = setup();
    fix(&repo);
    let before = repo.tip().unwrap();
    let run = start(&repo, ALICE, &["--role", "dev"]);
    let d = run.ok()["delivery"].clone();
    assert_eq!(d["phase"], "closed", "{}", run.describe());
    assert_eq!(d["agent"], "dev-1");
    assert_eq!(repo.claim("T-1")["state"], "completed");
    assert_eq!(load(&repo, "dev-1"), 0, "the agent's capacity is freed");
    let phases: Vec<&str> = d["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["claimed", "running", "closed"]);

    let claim_file = crate::common::claim_path("T-1");
    let phase_commits: Vec<_> = commits_since(&repo, &before)
        .into_iter()
        .filter(|(op, _)| op.starts_with("delivery."))
        .collect();
    assert_eq!(phase_commits.len(), 3, "{phase_commits:?}");
    for (op, files) in &phase_commits {
        assert!(files.contains(&claim_file), "{op} does not touch the claim: {files:?}");
        assert!(
            files.iter().any(|f| f.starts_with("runs/delivery/")),
            "{op} does not touch the ledger: {files:?}"
        );
    }
    let subjects = repo.git(&[
        "log",
        "-1",
        "--format=%(trailers:key=Baton-Subject,valueonly)",
        crate::common::STATE_REF,
    ]);
    assert!(
        subjects.contains("claim/T-1") && subjects.contains("delivery/"),
        "{subjects}"
    );
    doctor_agrees(&repo);
}

#[test]
fn failure_keeps_the_claim_then_resume_after_a_fix_closes_it() {
    let repo = setup();
    let run = start(&repo, ALICE, &["--role", "dev"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    let d = delivery_of(&run);
    assert_eq!(d["phase"], "failed");
    assert!(d["reason"].as_str().unwrap().contains("test (exit 1)"), "{d}");
    let claim = repo.claim("T-1");
    assert_eq!(claim["state"], "active");
    assert_eq!(claim["owner"], ALICE);
    assert_eq!(load(&repo, "dev-1"), 1, "the claim still holds the agent");

    let id = id_of(&run);
    // Only the owner resumes it.
    repo.refuse(
        BOB,
        &["delivery", "resume", "--run-id", &id, "--execute"],
        1,
        "not_owner",
    );
    let plan = repo.run(ALICE, &["delivery", "resume", "--run-id", &id]).ok();
    assert_eq!(plan["steps"], serde_json::json!(["test"]), "{plan}");
    fix(&repo);
    let resumed = repo
        .run(ALICE, &["delivery", "resume", "--run-id", &id, "--execute"])
        .ok();
    assert_eq!(resumed["delivery"]["phase"], "closed", "{resumed}");
    assert_eq!(resumed["run"]["status"], "succeeded");
    assert_eq!(repo.claim("T-1")["state"], "completed");
    doctor_agrees(&repo);
}

#[test]
fn handoff_on_success_leaves_the_claim_pending_and_accept_completes_it() {
    let repo = setup();
    fix(&repo);
    let d = start(&repo, ALICE, &["--handoff-to", DANA]).ok()["delivery"].clone();
    assert_eq!(d["phase"], "handed_off");
    let claim = repo.claim("T-1");
    assert_eq!(claim["state"], "handoff_pending");
    assert_eq!(claim["handoff_to"], DANA);
    let accepted = repo.run(DANA, &["claims", "accept", "T-1"]).ok();
    assert_eq!(accepted["claim"]["owner"], DANA);
    assert_eq!(accepted["claim"]["generation"], 2);
    doctor_agrees(&repo);
}

#[test]
fn close_after_a_fixed_failure_and_abandon_release_the_claim() {
    let repo = setup();
    let failed = start(&repo, ALICE, &[]);
    let id = id_of(&failed);
    let closed = repo.run(ALICE, &["delivery", "close", "--run-id", &id]).ok();
    assert_eq!(closed["delivery"]["phase"], "closed");
    assert_eq!(repo.claim("T-1")["state"], "completed");
    // A finished delivery takes nothing more.
    repo.refuse(
        ALICE,
        &["delivery", "close", "--run-id", &id, "--abandon"],
        1,
        "delivery_finished",
    );

    let again = repo.run(
        ALICE,
        &["delivery", "start", "--issue", "T-1", "--workflow", "ship", "--execute"],
    );
    let id = id_of(&again);
    let abandoned = repo
        .run(
            ALICE,
            &[
                "delivery",
                "close",
                "--run-id",
                &id,
                "--abandon",
                "--reason",
                "superseded",
            ],
        )
        .ok();
    assert_eq!(abandoned["delivery"]["phase"], "abandoned");
    assert_eq!(abandoned["delivery"]["reason"], "superseded");
    assert_eq!(repo.claim("T-1")["state"], "completed");
    doctor_agrees(&repo);
}

#[test]
fn refusals_come_before_any_step_runs_and_record_nothing() {
    let repo = setup();
    define(
        &repo,
        "mark",
        "name = \"mark\"\n[[steps]]\nid = \"touch\"\nrun = [\"sh\", \"-c\", \"touch ran\"]\n",
    );
    repo.run(BOB, &["claims", "claim", "T-1"]).ok();
    let args = ["delivery", "start", "--issue", "T-1", "--workflow", "mark", "--execute"];
    let held = repo.refuse(ALICE, &args, 1, "claim_held");
    assert!(held.message().contains(BOB), "the holder is named: {}", held.message());

    // No free capacity for the role.
    repo.run(BOB, &["claims", "claim", "T-9", "--role", "dev"]).ok();
    let no_room = [
        "delivery",
        "start",
        "--issue",
        "T-2",
        "--workflow",
        "mark",
        "--role",
        "dev",
        "--execute",
    ];
    repo.refuse(ALICE, &no_room, 1, "no_capacity");

    // An invalid workflow: exit 2, nothing claimed.
    define(
        &repo,
        "broken",
        "name = \"b\"\n[[steps]]\nid = \"a\"\ndepends_on = [\"nope\"]\n",
    );
    let broken = [
        "delivery",
        "start",
        "--issue",
        "T-3",
        "--workflow",
        "broken",
        "--execute",
    ];
    repo.refuse(ALICE, &broken, 2, "invalid_workflow");

    // --generation of a holding that is not the caller's.
    let fenced = [
        "delivery",
        "start",
        "--issue",
        "T-1",
        "--workflow",
        "mark",
        "--generation",
        "1",
        "--execute",
    ];
    repo.refuse(ALICE, &fenced, 1, "claim_moved");

    assert!(!repo.path().join("ran").exists(), "a step ran");
    let list = repo.run(DANA, &["delivery", "status"]).ok();
    assert_eq!(list["deliveries"], serde_json::json!([]), "nothing recorded");
}

#[test]
fn a_dry_run_shows_the_plan_and_changes_nothing() {
    let repo = setup();
    let before = repo.tip();
    let plan = repo
        .run(
            ALICE,
            &[
                "delivery",
                "start",
                "--issue",
                "T-1",
                "--workflow",
                "ship",
                "--role",
                "dev",
            ],
        )
        .ok();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["claim"]["action"], "claim");
    assert_eq!(plan["claim"]["agent"], "dev-1");
    assert_eq!(plan["steps"], serde_json::json!(["build", "test"]));
    assert_eq!(plan["final"]["action"], "release");
    assert_eq!(repo.tip(), before);
}

#[test]
fn generation_acts_for_a_holding_the_caller_already_has() {
    let repo = setup();
    fix(&repo);
    repo.run(ALICE, &["claims", "claim", "T-1"]).ok();
    let d = start(&repo, ALICE, &["--generation", "1"]).ok()["delivery"].clone();
    assert_eq!(d["phase"], "closed");
    assert_eq!(d["generation"], 1, "no new holding was taken");
}

#[test]
fn a_claim_force_taken_mid_run_stops_the_delivery_at_the_next_phase() {
    let repo = setup();
    let exe = exe();
    let take = format!(
        "\"{}\" -C \"{}\" -q --actor {BOB} claims claim T-1 --force --reason urgent",
        exe.display(),
        repo.path().display()
    );
    define(
        &repo,
        "ship",
        &format!("name = \"ship\"\n[[steps]]\nid = \"work\"\nrun = [\"sh\", \"-c\", {take:?}]\n"),
    );
    let run = start(&repo, ALICE, &[]);
    assert_eq!(run.code, 1, "{}", run.describe());
    let err = run.json();
    assert_eq!(err["error"]["code"], "claim_moved", "{}", run.describe());
    assert!(err["error"]["message"].as_str().unwrap().contains(BOB));
    let d = repo.run(DANA, &["delivery", "status", "--run-id", &latest(&repo)]).ok();
    assert_eq!(d["delivery"]["phase"], "stopped", "{d}");
    let claim = repo.claim("T-1");
    assert_eq!(claim["owner"], BOB, "the stop leaves the new holder's claim alone");
    assert_eq!(claim["state"], "active");
    doctor_agrees(&repo);
}

/// SIGKILL at each phase boundary — after `claimed` and `running` landed
/// with the run's start, and after the steps, before the run's end and the
/// final phase; `delivery resume` finishes, and the claim and the ledger agree.
#[test]
fn a_crash_at_every_phase_boundary_is_finished_by_resume() {
    for point in ["workflow.started", "workflow.ending"] {
        let repo = setup();
        fix(&repo);
        let crashed = repo.run_env(
            ALICE,
            &["delivery", "start", "--issue", "T-1", "--workflow", "ship", "--execute"],
            &[("BATON_CRASH_AT", point)],
        );
        assert_ne!(crashed.code, 0, "{point}: {}", crashed.describe());
        let id = latest(&repo);
        let resumed = repo.run(ALICE, &["delivery", "resume", "--run-id", &id, "--execute"]);
        let d = resumed.ok()["delivery"].clone();
        assert_eq!(d["phase"], "closed", "{point}: {}", resumed.describe());
        assert_eq!(repo.claim("T-1")["state"], "completed", "{point}");
        doctor_agrees(&repo);
    }
}

#[test]
fn a_runner_killed_during_the_run_is_finished_by_resume() {
    let repo = setup();
    define(
        &repo,
        "ship",
        "name = \"ship\"\n[[steps]]\nid = \"die\"\nrun = [\"sh\", \"-c\", \"test -f fixed || kill -9 $PPID; sleep 0.2\"]\n\
         [[steps]]\nid = \"after\"\nrun = [\"true\"]\n",
    );
    let crashed = start(&repo, ALICE, &[]);
    assert_ne!(crashed.code, 0, "{}", crashed.describe());
    let id = latest(&repo);
    let status = repo.run(DANA, &["delivery", "status", "--run-id", &id]).ok();
    assert_eq!(status["delivery"]["phase"], "running", "{status}");
    fix(&repo);
    let resumed = repo
        .run(ALICE, &["delivery", "resume", "--run-id", &id, "--execute"])
        .ok();
    assert_eq!(resumed["delivery"]["phase"], "closed", "{resumed}");
    assert_eq!(repo.claim("T-1")["state"], "completed");
    doctor_agrees(&repo);
}

#[test]
fn handoff_of_a_failed_delivery_passes_the_claim_on() {
    let repo = setup();
    let failed = start(&repo, ALICE, &[]);
    let id = id_of(&failed);
    repo.refuse(
        BOB,
        &["delivery", "handoff", "--run-id", &id, "--to", DANA],
        1,
        "not_owner",
    );
    let handed = repo
        .run(ALICE, &["delivery", "handoff", "--run-id", &id, "--to", DANA])
        .ok();
    assert_eq!(handed["delivery"]["phase"], "handed_off");
    assert_eq!(repo.claim("T-1")["state"], "handoff_pending");
}

#[test]
fn claims_verify_fences_holdings() {
    let repo = setup();
    repo.run(ALICE, &["claims", "claim", "T-1"]).ok();
    let ok = repo
        .run(
            DANA,
            &["claims", "verify", "T-1", "--generation", "1", "--owner", ALICE],
        )
        .ok();
    assert_eq!(ok["current"], true);
    // Acting as the owner, --owner may be left out.
    repo.run(ALICE, &["claims", "verify", "T-1", "--generation", "1"]).ok();
    repo.refuse(
        DANA,
        &["claims", "verify", "T-1", "--generation", "1"],
        1,
        "claim_moved",
    );
    repo.run(BOB, &["claims", "claim", "T-1", "--force", "--reason", "x"])
        .ok();
    let moved = repo.refuse(
        DANA,
        &["claims", "verify", "T-1", "--generation", "1", "--owner", ALICE],
        1,
        "claim_moved",
    );
    assert!(moved.message().contains(BOB), "{}", moved.message());
}
