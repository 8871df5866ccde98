//! Everyday use on one repository: `whoami`, handoffs to actors the state
//! never saw, refusals that never hint at acting as someone else, the agent
//! acting being the agent assigned, a spawn with a remote but no `--sync`,
//! failed deliveries that say what next, resume without `--run-id`, and
//! Ctrl-C exiting 130.

use crate::common::{baton_cmd, define, Repo};

const ALICE: &str = "human:alice";
const BOB_MAIL: &str = "human:bob@example.com";
const DANA: &str = "human:dana";

#[test]
fn whoami_names_the_actor_and_where_it_came_from() {
    let repo = Repo::new();
    let by_flag = repo.run(ALICE, &["--actor", "agent:rev-2", "whoami"]).ok();
    assert_eq!(by_flag["actor"], "agent:rev-2", "--actor wins over BATON_ACTOR");
    assert_eq!(by_flag["source"], "flag");
    let by_env = repo.run(ALICE, &["whoami"]).ok();
    assert_eq!(by_env["actor"], ALICE);
    assert_eq!(by_env["source"], "env");

    let run = |envs: &[(&str, &str)]| {
        let mut cmd = baton_cmd();
        cmd.arg("-C").arg(repo.path()).arg("whoami");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let by_env = run(&[("BATON_ACTOR", "agent:rev-1")]);
    assert!(by_env.starts_with("agent:rev-1\n"), "{by_env}");
    assert!(by_env.contains("BATON_ACTOR"), "{by_env}");
    repo.git(&["config", "user.email", "carol@example.com"]);
    let by_git = run(&[]);
    assert!(by_git.starts_with("human:carol@example.com\n"), "{by_git}");
    assert!(by_git.contains("git config user.email"), "{by_git}");

    let bad = repo.refuse_env(ALICE, &["whoami"], &[("BATON_ACTOR", "nobody")], 2, "invalid_actor");
    drop(bad);
}

#[test]
fn a_handoff_to_an_unseen_actor_warns_naming_close_matches() {
    let repo = Repo::new();
    repo.run(BOB_MAIL, &["claims", "claim", "T-1"]).ok();
    repo.run(ALICE, &["claims", "claim", "T-2"]).ok();

    let typo = repo.run(ALICE, &["claims", "handoff", "T-2", "--to", "human:bob"]);
    let doc = typo.ok();
    assert_eq!(doc["claim"]["state"], "handoff_pending", "a warning, not a refusal");
    let warning = doc["warnings"][0].as_str().unwrap();
    assert!(warning.contains("human:bob has never"), "{warning}");
    assert!(warning.contains("did you mean human:bob@example.com"), "{warning}");
    assert!(
        typo.stderr.contains("warning: human:bob has never"),
        "{}",
        typo.describe()
    );

    // A known actor: no warning.
    repo.run(ALICE, &["claims", "claim", "T-3"]).ok();
    let known = repo.run(ALICE, &["claims", "handoff", "T-3", "--to", BOB_MAIL]);
    assert!(known.ok().get("warnings").is_none(), "{}", known.describe());
    assert!(!known.stderr.contains("warning"), "{}", known.describe());
}

#[test]
fn refusals_say_who_holds_it_and_never_suggest_acting_as_them() {
    let repo = Repo::new();
    repo.run(ALICE, &["claims", "claim", "T-1"]).ok();
    for args in [
        vec!["claims", "release", "T-1"],
        vec!["claims", "pause", "T-1"],
        vec!["claims", "handoff", "T-1", "--to", DANA],
        vec!["claims", "renew", "T-1"],
        vec!["claims", "claim", "T-1"],
    ] {
        let run = repo.run(DANA, &args);
        let err = run.err(1, if args[1] == "claim" { "claim_held" } else { "not_owner" });
        let (message, hint) = (err["message"].as_str().unwrap(), err["hint"].as_str().unwrap());
        assert!(message.contains(ALICE), "{message}");
        assert!(!hint.contains("--actor"), "{args:?}: {hint}");
        assert!(
            hint.contains("hand it off") || hint.contains("hand"),
            "{args:?}: {hint}"
        );
    }
    let release = repo.run(DANA, &["claims", "release", "T-1"]);
    release.err(1, "not_owner");
    assert!(release.hint().contains("--force --reason"), "{}", release.hint());
    let pause = repo.run(DANA, &["claims", "pause", "T-1"]);
    pause.err(1, "not_owner");
    assert!(
        !pause.hint().contains("--force"),
        "pause cannot be forced: {}",
        pause.hint()
    );
}

#[test]
fn the_agent_acting_is_the_agent_assigned() {
    let repo = Repo::new();
    repo.run(DANA, &["pool", "spawn", "--role", "rev", "--count", "2"]).ok();
    let claimed = repo.run("agent:rev-2", &["claims", "claim", "X", "--role", "rev"]);
    assert_eq!(claimed.ok()["claim"]["agent"], "rev-2");
    // Another actor with --role gets the least-loaded agent, as before.
    assert_eq!(
        repo.run(DANA, &["claims", "claim", "Y", "--role", "rev"]).ok()["claim"]["agent"],
        "rev-1"
    );
    // The text says which agent was assigned.
    let text = repo
        .cmd("agent:rev-2")
        .args(["claims", "claim", "Z", "--role", "rev"])
        .output()
        .unwrap();
    // rev-2 is full (capacity 1): refused, not given to rev-1 behind its back.
    assert_eq!(text.status.code(), Some(1), "{}", String::from_utf8_lossy(&text.stderr));
    repo.run("agent:rev-2", &["claims", "release", "X"]).ok();
    let text = repo
        .cmd("agent:rev-2")
        .args(["claims", "claim", "Z", "--role", "rev"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("assigned pool agent rev-2 (role rev)"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    // An agent actor of another role gets the role's pick.
    repo.run(DANA, &["pool", "spawn", "--role", "dev"]).ok();
    repo.run(DANA, &["claims", "release", "Y"]).ok();
    assert_eq!(
        repo.run("agent:dev-1", &["claims", "claim", "W", "--role", "rev"]).ok()["claim"]["agent"],
        "rev-1"
    );
}

#[test]
fn a_spawn_with_a_remote_but_no_sync_warns_about_colliding_ids() {
    let remote = assert_fs::TempDir::new().unwrap();
    let repo = Repo::new();
    repo.git(&["init", "-q", "--bare", remote.path().to_str().unwrap()]);
    let alone = repo.run(DANA, &["pool", "spawn", "--role", "rev"]);
    assert!(alone.ok().get("warnings").is_none(), "{}", alone.describe());
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    let spawned = repo.run(DANA, &["pool", "spawn", "--role", "rev"]);
    let doc = spawned.ok();
    assert!(doc["warnings"][0].as_str().unwrap().contains("--sync"), "{doc}");
    assert!(
        spawned.stderr.contains("warning: rev-2 numbered"),
        "{}",
        spawned.describe()
    );
    let synced = repo.run(DANA, &["pool", "spawn", "--role", "rev", "--sync"]);
    assert!(synced.ok().get("warnings").is_none(), "{}", synced.describe());
}

/// A workflow whose `test` step fails (exit 3) until the file `fixed` exists.
fn failing_ship(repo: &Repo) {
    define(
        repo,
        "ship",
        "name = \"ship\"\n[[steps]]\nid = \"build\"\nrun = [\"true\"]\n\
         [[steps]]\nid = \"test\"\nrun = [\"sh\", \"-c\", \"test -f fixed || exit 3\"]\n",
    );
}

#[test]
fn a_failed_delivery_says_what_failed_and_the_exact_resume_command() {
    let repo = Repo::new();
    failing_ship(&repo);
    // With --actor, as an agent runs it: the hint repeats it.
    let out = baton_cmd()
        .arg("-C")
        .arg(repo.path())
        .args(["--json", "--actor", ALICE])
        .args(["delivery", "start", "--issue", "T-1", "--workflow", "ship", "--execute"])
        .output()
        .unwrap();
    let failed = crate::common::Run::from_output(vec!["delivery".into(), "start".into()], out);
    assert_eq!(failed.code, 1, "{}", failed.describe());
    let doc = failed.json();
    let id = doc["delivery"]["id"].as_str().unwrap().to_owned();
    let error = &doc["error"];
    assert_eq!(error["code"], "delivery_failed");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("test (exit 3)"), "{message}");
    let resume = format!("baton --actor {ALICE} delivery resume --run-id {id} --execute");
    assert!(error["hint"].as_str().unwrap().contains(&resume), "{error}");
    let line = |prefix: &str| {
        failed
            .stderr
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} line: {}", failed.describe()))
            .to_owned()
    };
    assert!(line("error: ").contains("test (exit 3)"));
    assert!(line("hint: ").contains(&resume));

    // Resume without --run-id takes the actor's latest unfinished delivery, and says so.
    std::fs::write(repo.path().join("fixed"), "").unwrap();
    let nobody = repo.run(DANA, &["delivery", "resume", "--execute"]);
    nobody.err(1, "nothing_to_resume");
    let resumed = repo.run(ALICE, &["delivery", "resume", "--execute"]);
    assert_eq!(resumed.ok()["delivery"]["phase"], "closed", "{}", resumed.describe());
    assert!(
        resumed.stderr.contains(&format!("resuming {id}")),
        "{}",
        resumed.describe()
    );
    repo.run(ALICE, &["delivery", "resume"]).err(1, "nothing_to_resume");
}

#[test]
fn workflow_resume_without_a_run_id_takes_the_latest_failed_run() {
    let repo = Repo::new();
    failing_ship(&repo);
    let failed = repo.run(ALICE, &["workflow", "run", "ship", "--execute"]);
    assert_eq!(failed.code, 1, "{}", failed.describe());
    let id = failed.json()["run"]["id"].as_str().unwrap().to_owned();
    std::fs::write(repo.path().join("fixed"), "").unwrap();
    repo.run(DANA, &["workflow", "resume", "--execute"])
        .err(1, "nothing_to_resume");
    let resumed = repo.run(ALICE, &["workflow", "resume", "--execute"]);
    assert_eq!(resumed.ok()["run"]["status"], "succeeded", "{}", resumed.describe());
    assert!(
        resumed.stderr.contains(&format!("resuming {id}")),
        "{}",
        resumed.describe()
    );
}

#[test]
fn ctrl_c_during_a_delivery_records_the_stop_and_exits_130() {
    let repo = Repo::new();
    // The step interrupts its runner, as Ctrl-C in the terminal would.
    define(
        &repo,
        "ship",
        "name = \"ship\"\n[[steps]]\nid = \"wait\"\nrun = [\"sh\", \"-c\", \"kill -INT $PPID; sleep 5\"]\n",
    );
    let run = repo.run(
        ALICE,
        &["delivery", "start", "--issue", "T-1", "--workflow", "ship", "--execute"],
    );
    assert_eq!(run.code, 130, "{}", run.describe());
    let doc = run.json();
    assert_eq!(doc["delivery"]["phase"], "failed", "{doc}");
    assert_eq!(repo.claim("T-1")["owner"], ALICE, "the claim stays with its owner");
}
