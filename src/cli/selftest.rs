//! `baton selftest`: an end-to-end scenario against this very binary in a
//! throwaway git repository — the commands a user would type, checked by
//! their exit codes and JSON output. Later subsystems extend the scenario.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context};
use serde_json::{json, Value};

use super::output::Output;
use crate::error::code;
use crate::error::{Error, Result};

struct Scenario {
    exe: PathBuf,
    repo: PathBuf,
    steps: Vec<String>,
}

impl Scenario {
    /// Run `baton --json <args>` as `actor`, expecting `code`; return its JSON.
    fn baton(&mut self, actor: &str, args: &[&str], code: i32) -> anyhow::Result<Value> {
        self.baton_env(actor, args, code, &[])
    }

    fn baton_env(&mut self, actor: &str, args: &[&str], code: i32, env: &[(&str, &str)]) -> anyhow::Result<Value> {
        let out = Command::new(&self.exe)
            .arg("-C")
            .arg(&self.repo)
            .arg("--json")
            .args(args)
            .env("BATON_ACTOR", actor)
            .env_remove("BATON_NOW")
            .envs(env.iter().copied())
            .output()
            .with_context(|| format!("running baton {}", args.join(" ")))?;
        let got = out.status.code().unwrap_or(-1);
        let stdout = String::from_utf8_lossy(&out.stdout);
        ensure!(
            got == code,
            "`baton {}` as {actor} exited {got}, expected {code}\nstdout: {stdout}\nstderr: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        let value: Value = serde_json::from_str(&stdout)
            .with_context(|| format!("`baton {}` printed no JSON: {stdout}", args.join(" ")))?;
        self.steps
            .push(format!("ok  baton {}  (as {actor}, exit {code})", args.join(" ")));
        Ok(value)
    }
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .with_context(|| format!("running git {}", args.join(" ")))?;
    ensure!(
        out.status.success(),
        "git {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Claims, the pool and handoffs, then the rest (see [`expiry_pool_and_history`]).
fn scenario(s: &mut Scenario) -> anyhow::Result<()> {
    git(&s.repo, &["init", "-q"])?;
    let alice = "agent:rev-1";
    let human = "human:dana";

    let init = s.baton(human, &["init", "--hooks"], 0)?;
    ensure!(init["created"] == json!(true), "init did not create state: {init}");
    let again = s.baton(human, &["init"], 0)?;
    ensure!(again["created"] == json!(false), "second init was not a no-op");
    let hooks: Vec<&str> = init["hooks"]["installed"]
        .as_array()
        .map(|a| a.iter().filter_map(|h| h["hook"].as_str()).collect())
        .unwrap_or_default();
    ensure!(hooks == ["pre-commit", "pre-push"], "init --hooks installed {hooks:?}");
    let me = s.baton(human, &["whoami"], 0)?;
    ensure!(me["actor"] == json!(human), "whoami: {me}");

    let spawned = s.baton(human, &["pool", "spawn", "--role", "rev", "--count", "2"], 0)?;
    ensure!(
        spawned["agents"].as_array().map(Vec::len) == Some(2),
        "spawn made {spawned}"
    );

    let claimed = s.baton(alice, &["claims", "claim", "T-1", "--role", "rev"], 0)?;
    ensure!(
        claimed["claim"]["agent"] == json!("rev-1"),
        "least-loaded agent not assigned: {claimed}"
    );
    ensure!(claimed["claim"]["generation"] == json!(1), "generation: {claimed}");
    let repeat = s.baton(alice, &["claims", "claim", "T-1"], 0)?;
    ensure!(repeat["changed"] == json!(false), "repeat claim made a commit");
    let held = s.baton(human, &["claims", "claim", "T-1"], 1)?;
    ensure!(
        held["error"]["code"] == json!(code::CLAIM_HELD),
        "second claimant not refused: {held}"
    );
    s.baton(human, &["claims", "claim", "../etc"], 2)?;

    let second = s.baton(human, &["claims", "claim", "T-2", "--role", "rev"], 0)?;
    ensure!(
        second["claim"]["agent"] == json!("rev-2"),
        "second claim not on rev-2: {second}"
    );
    s.baton(human, &["claims", "claim", "T-3", "--role", "rev"], 1)?;

    s.baton(
        alice,
        &["claims", "handoff", "T-1", "--to", human, "--note", "please review"],
        0,
    )?;
    s.baton(alice, &["claims", "accept", "T-1"], 1)?;
    let inbox = s.baton(human, &["claims", "status"], 0)?;
    ensure!(
        inbox["offered"][0]["id"] == json!("T-1"),
        "the handoff is not in the inbox: {inbox}"
    );
    let accepted = s.baton(human, &["claims", "accept", "T-1"], 0)?;
    ensure!(
        accepted["claim"]["owner"] == json!(human) && accepted["claim"]["generation"] == json!(2),
        "accept: {accepted}"
    );
    let released = s.baton(human, &["claims", "release", "T-1"], 0)?;
    ensure!(released["claim"]["state"] == json!("completed"), "release: {released}");

    // The read index is a cache: without it, the same list.
    let listed = s.baton(human, &["claims", "list"], 0)?;
    let index = s.repo.join(".git/baton/index");
    ensure!(index.join("claims").is_file(), "claims list left no read index");
    std::fs::remove_dir_all(&index).context("removing the read index")?;
    let relisted = s.baton(human, &["claims", "list"], 0)?;
    ensure!(
        listed == relisted,
        "the list changed without the read index: {listed} / {relisted}"
    );

    reservations(s)?;
    expiry_pool_and_history(s)
}

/// Path reservations (docs/reservations.md): reserve, a refused overlap,
/// `claims who`, an edit judged against them, release.
fn reservations(s: &mut Scenario) -> anyhow::Result<()> {
    let (alice, human) = ("agent:rev-1", "human:dana");
    let reserved = s.baton(alice, &["claims", "claim", "R-1", "--paths", "src/store/"], 0)?;
    ensure!(
        reserved["claim"]["reservations"][0]["pattern"] == json!("src/store"),
        "claim --paths: {reserved}"
    );
    let refused = s.baton(human, &["claims", "claim", "R-2", "--paths", "src/store/mod.rs"], 1)?;
    ensure!(
        refused["error"]["code"] == json!(code::PATHS_RESERVED),
        "an overlapping reservation was not refused: {refused}"
    );
    let who = s.baton(human, &["claims", "who", "src/store/mod.rs"], 0)?;
    ensure!(
        who["paths"][0]["reservations"][0]["holder"] == json!(alice),
        "claims who: {who}"
    );
    let edit = s.baton(human, &["learn", "pre-command", "--edit", "src/store/mod.rs"], 1)?;
    ensure!(edit["level"] == json!("high"), "an edit of reserved paths: {edit}");
    s.baton(alice, &["learn", "pre-command", "--edit", "src/store/mod.rs"], 0)?;
    s.baton(alice, &["claims", "release", "R-1"], 0)?;
    let free = s.baton(human, &["claims", "who", "src/store/mod.rs"], 0)?;
    ensure!(
        free["paths"][0]["reservations"] == json!([]),
        "released paths still reserved: {free}"
    );
    Ok(())
}

/// Expiry in the future (`BATON_NOW`), pool upkeep, config, the log, doctor
/// and `git fsck`; then the workflow, delivery and sync scenarios.
fn expiry_pool_and_history(s: &mut Scenario) -> anyhow::Result<()> {
    let human = "human:dana";
    let later = [("BATON_NOW", "2999-01-01T00:00:00Z")];
    let dry = s.baton_env(human, &["claims", "expire"], 0, &later)?;
    ensure!(
        dry["expired"].as_array().map(Vec::len) == Some(1) && dry["applied"] == json!(false),
        "expire dry run: {dry}"
    );
    let applied = s.baton_env(human, &["claims", "expire", "--apply"], 0, &later)?;
    ensure!(applied["applied"] == json!(true), "expire --apply: {applied}");
    let t2 = s.baton(human, &["claims", "status", "T-2"], 0)?;
    ensure!(t2["claim"]["state"] == json!("expired"), "T-2 not expired: {t2}");

    s.baton(human, &["pool", "heartbeat", "rev-1"], 0)?;
    s.baton(human, &["pool", "drain", "rev-2"], 0)?;
    s.baton(human, &["pool", "retire", "rev-2"], 0)?;
    s.baton(human, &["config", "set", "claims.stale_after", "12h"], 0)?;
    let got = s.baton(human, &["config", "get", "claims.stale_after"], 0)?;
    ensure!(got["value"] == json!("12h"), "config get: {got}");

    let log = s.baton(human, &["log", "--subject", "claim/T-1"], 0)?;
    let n = log["entries"].as_array().map(Vec::len).unwrap_or(0);
    ensure!(n == 4, "claim/T-1 should have 4 operations in its log, found {n}");

    let doctor = s.baton(human, &["doctor"], 0)?;
    ensure!(doctor["ok"] == json!(true), "doctor is unhappy: {doctor}");
    s.baton(human, &["doctor", "--hook"], 0)?;

    let fsck = Command::new("git")
        .current_dir(&s.repo)
        .args(["fsck", "--no-progress"])
        .output()?;
    if !fsck.status.success() {
        bail!("git fsck failed: {}", String::from_utf8_lossy(&fsck.stderr));
    }
    s.steps.push("ok  git fsck".into());
    workflow_scenario(s)?;
    delivery_scenario(s)?;
    daemon_scenario(s)?;
    learn_scenario(s)?;
    let mcp = super::selftest_mcp::scenario(&s.exe, &s.repo);
    s.steps.extend(mcp?);
    sync_scenario(s)
}

/// A delivery whose test step fails until a file exists: the failure keeps
/// the claim (and refuses a second delivery of it), resume after the fix
/// closes it and frees the agent; the fence.
fn delivery_scenario(s: &mut Scenario) -> anyhow::Result<()> {
    std::fs::write(
        s.repo.join(".baton/workflows/deliver.toml"),
        "name = \"deliver\"\n\
         [[steps]]\nid = \"build\"\nrun = [\"sh\", \"-c\", \"echo built\"]\n\
         [[steps]]\nid = \"test\"\nrun = [\"sh\", \"-c\", \"test -f delivered-fix\"]\n",
    )?;
    let dev = "agent:rev-1";
    let start = [
        "delivery",
        "start",
        "--issue",
        "D-1",
        "--workflow",
        "deliver",
        "--role",
        "rev",
    ];
    let plan = s.baton(dev, &start, 0)?;
    ensure!(plan["dry_run"] == json!(true), "delivery plan: {plan}");
    let mut execute = start.to_vec();
    execute.push("--execute");
    let failed = s.baton(dev, &execute, 1)?;
    ensure!(
        failed["delivery"]["phase"] == json!("failed"),
        "delivery failure: {failed}"
    );
    ensure!(failed["claim"]["owner"] == json!(dev), "claim not kept: {failed}");
    let id = failed["delivery"]["id"].as_str().context("delivery id")?.to_owned();
    s.baton(dev, &["claims", "verify", "D-1", "--generation", "1"], 0)?;
    // One delivery per claim: the failed one must be resumed or given up first.
    let again = s.baton(dev, &execute, 1)?;
    ensure!(
        again["error"]["code"] == json!(code::DELIVERY_ACTIVE),
        "second delivery of D-1: {again}"
    );
    std::fs::write(s.repo.join("delivered-fix"), "")?;
    let closed = s.baton(dev, &["delivery", "resume", "--run-id", &id, "--execute"], 0)?;
    ensure!(
        closed["delivery"]["phase"] == json!("closed"),
        "delivery resume: {closed}"
    );
    ensure!(
        closed["claim"]["state"] == json!("completed"),
        "claim not released: {closed}"
    );
    s.baton(dev, &["claims", "verify", "D-1", "--generation", "1"], 1)?;
    let doctor = s.baton("human:dana", &["doctor", "delivery"], 0)?;
    ensure!(doctor["ok"] == json!(true), "doctor delivery: {doctor}");
    Ok(())
}

/// A tick commits once, a quiet tick not at all (the one after it reads no
/// file), a journaled decision is folded by the next tick; the summary reads
/// the snapshot; the background daemon starts, shows, and stops cleanly.
fn daemon_scenario(s: &mut Scenario) -> anyhow::Result<()> {
    let human = "human:dana";
    let first = s.baton(human, &["daemon", "tick", "--full"], 0)?;
    ensure!(first["outcome"] == json!("changed"), "first tick: {first}");
    let quiet = s.baton(human, &["daemon", "tick"], 0)?;
    ensure!(
        quiet["outcome"] == json!("unchanged") && quiet["report"]["mode"] == json!("incremental"),
        "a quiet tick committed: {quiet}"
    );
    let skipped = s.baton(human, &["daemon", "tick"], 0)?;
    ensure!(
        skipped["outcome"] == json!("unchanged") && skipped["report"]["mode"] == json!("quiet"),
        "a tick after a pass that changed nothing read the state: {skipped}"
    );
    s.baton(human, &["learn", "pre-command", "--command", "ls"], 0)?;
    let folded = s.baton(human, &["daemon", "tick"], 0)?;
    ensure!(
        folded["outcome"] == json!("changed") && folded["report"]["learn"]["decisions"].as_u64() >= Some(1),
        "the tick did not fold the learn journal: {folded}"
    );
    let summary = s.baton(human, &["daemon", "summary"], 0)?;
    ensure!(
        summary["summary"]["counters"].as_array().is_some_and(|c| !c.is_empty()),
        "summary: {summary}"
    );
    let started = s.baton(human, &["daemon", "start", "--interval", "1h"], 0)?;
    let status = s.baton(human, &["daemon", "status"], 0)?;
    ensure!(
        status["running"] == json!(true) && status["pid"] == started["pid"],
        "status: {status}"
    );
    let stopped = s.baton(human, &["daemon", "stop"], 0)?;
    ensure!(
        stopped["was_running"] == json!(true) && stopped["killed"] == json!(false),
        "stop: {stopped}"
    );
    let doctor = s.baton(human, &["doctor", "daemon"], 0)?;
    ensure!(doctor["ok"] == json!(true), "doctor daemon: {doctor}");
    Ok(())
}

/// The risk guard: a verdict, learned escalation from recorded failures,
/// the journal folded by doctor --fix, routing, metrics, a hook install.
fn learn_scenario(s: &mut Scenario) -> anyhow::Result<()> {
    let (human, agent) = ("human:dana", "agent:rev-1");
    let high = s.baton(human, &["learn", "pre-command", "--command", "npm test && rm -rf /"], 1)?;
    ensure!(
        high["level"] == json!("high") && high["reasons"][0]["rule"] == json!("rm.recursive-broad"),
        "pre-command: {high}"
    );
    let nested = "sudo sh -c \"python3 -c 'import shutil; shutil.rmtree(\\\"/\\\")'\"";
    let inner = s.baton(human, &["learn", "pre-command", "--command", nested], 1)?;
    ensure!(
        inner["reasons"][0]["rule"] == json!("rm.recursive-broad"),
        "pre-command of interpreter code in a shell string: {inner}"
    );
    for _ in 0..3 {
        s.baton(
            agent,
            &["learn", "post-command", "--command", "make deploy", "--exit-code", "2"],
            0,
        )?;
    }
    let learned = s.baton(agent, &["learn", "pre-command", "--", "make", "deploy"], 0)?;
    ensure!(
        learned["level"] == json!("medium") && learned["reasons"][0]["rule"] == json!("learned.failures"),
        "no learned escalation: {learned}"
    );
    let fixed = s.baton(human, &["learn", "doctor", "--fix"], 0)?;
    ensure!(fixed["ok"] == json!(true), "learn doctor: {fixed}");
    let metrics = s.baton(human, &["learn", "metrics"], 0)?;
    ensure!(
        metrics["pending"] == json!(0) && metrics["families"][0]["failures"] == json!(3),
        "not folded: {metrics}"
    );
    let routed = s.baton(human, &["learn", "route", "review the parser"], 0)?;
    ensure!(routed["suggestion"]["role"] == json!("rev"), "route: {routed}");
    let installed = s.baton(human, &["learn", "hooks", "install", "claude"], 0)?;
    ensure!(installed["changed"] == json!(true), "hooks install: {installed}");
    let again = s.baton(human, &["learn", "hooks", "install", "claude"], 0)?;
    ensure!(again["changed"] == json!(false), "hooks install twice changed it");
    // Packs turn on by config; the shared config only tightens; a guard that cannot judge blocks.
    s.baton(human, &["config", "set", "learn.packs", "databases"], 0)?;
    s.baton(human, &["learn", "pre-command", "--command", "redis-cli FLUSHALL"], 1)?;
    let loosen = r#"[{ id = "git.reset-hard", disabled = true }]"#;
    s.baton(human, &["config", "set", "learn.rules", loosen], 2)?;
    s.baton_env(
        human,
        &["learn", "pre-command", "--command", "ls"],
        2,
        &[("BATON_ACTOR", "nobody")],
    )?;
    Ok(())
}

/// A definition with a retried failure, an on_failure step and a checkpoint;
/// dry run, execute, status, resume plan, validation of a broken file.
fn workflow_scenario(s: &mut Scenario) -> anyhow::Result<()> {
    let dir = s.repo.join(".baton/workflows");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("check.toml"),
        "name = \"check\"\n\
         [[steps]]\nid = \"build\"\nrun = [\"sh\", \"-c\", \"echo built; echo token=abc123\"]\n\
         [[steps]]\nid = \"test\"\nrun = [\"sh\", \"-c\", \"exit 3\"]\nretry = 1\n\
         [[steps]]\nid = \"report\"\nrun = [\"sh\", \"-c\", \"echo reporting\"]\nwhen = \"on_failure\"\n\
         [[steps]]\nid = \"done\"\ndepends_on = [\"test\"]\n",
    )?;
    let human = "human:dana";
    let plan = s.baton(human, &["workflow", "run", "check"], 0)?;
    ensure!(
        plan["order"] == json!(["build", "test", "report", "done"]),
        "plan order: {plan}"
    );
    let ran = s.baton(human, &["workflow", "run", "check", "--execute"], 1)?;
    let steps = &ran["run"]["steps"];
    ensure!(ran["run"]["status"] == json!("failed"), "run status: {ran}");
    ensure!(steps[0]["status"] == json!("succeeded"), "build: {steps}");
    ensure!(
        steps[0]["attempts"][0]["output"]
            .as_str()
            .is_some_and(|o| o.contains("token=[REDACTED]")),
        "not redacted: {steps}"
    );
    ensure!(
        steps[1]["attempts"].as_array().map(Vec::len) == Some(2),
        "test was not retried once: {steps}"
    );
    ensure!(
        steps[2]["status"] == json!("succeeded"),
        "on_failure step did not run: {steps}"
    );
    ensure!(
        steps[3]["skip"] == json!("upstream_failed"),
        "checkpoint after a failure not skipped: {steps}"
    );
    let run_id = ran["run"]["id"].as_str().context("run id")?.to_owned();
    let status = s.baton(human, &["workflow", "status", "--run-id", &run_id], 0)?;
    ensure!(status["run"]["status"] == json!("failed"), "status: {status}");
    let resume = s.baton(human, &["workflow", "resume", "--run-id", &run_id], 0)?;
    ensure!(resume["steps"] == json!(["test", "done"]), "resume plan: {resume}");
    std::fs::write(
        dir.join("broken.toml"),
        "name = \"b\"\n[[steps]]\nid = \"a\"\ndepends_on = [\"a2\"]\n",
    )?;
    s.baton(human, &["workflow", "validate", "broken"], 2)?;
    std::fs::remove_file(dir.join("broken.toml"))?;
    s.baton(human, &["workflow", "template", "list"], 0)?;
    s.baton(human, &["workflow", "doctor"], 0)?;
    // Resume runs only the definition that ran: a changed file is refused.
    let text = std::fs::read_to_string(dir.join("check.toml"))?;
    std::fs::write(dir.join("check.toml"), text.replace("exit 3", "exit 0"))?;
    let refused = s.baton(human, &["workflow", "resume", "--run-id", &run_id, "--execute"], 1)?;
    ensure!(
        refused["error"]["code"] == json!(code::DEFINITION_CHANGED),
        "a changed definition was resumed: {refused}"
    );
    std::fs::write(dir.join("check.toml"), text)?;
    gc_during_a_run(s)
}

/// git's housekeeping during a run (it folds the run's packs) loses
/// nothing, and `git fsck --strict` accepts what baton wrote.
fn gc_during_a_run(s: &mut Scenario) -> anyhow::Result<()> {
    let (dir, human) = (s.repo.join(".baton/workflows"), "human:dana");
    std::fs::write(
        dir.join("gc.toml"),
        "name = \"gc\"\n[[steps]]\nid = \"gc\"\nrun = [\"git\", \"gc\", \"-q\"]\n[[steps]]\nid = \"after\"\nrun = [\"true\"]\n",
    )?;
    let gc = s.baton(human, &["workflow", "run", "gc", "--execute"], 0)?;
    ensure!(gc["run"]["status"] == json!("succeeded"), "run with git gc: {gc}");
    let fsck = Command::new("git")
        .current_dir(&s.repo)
        .args(["fsck", "--strict", "--no-progress"])
        .output()?;
    ensure!(
        fsck.status.success(),
        "git fsck --strict after a run with git gc: {}",
        String::from_utf8_lossy(&fsck.stderr)
    );
    s.steps
        .push("ok  git fsck --strict after a run whose step ran git gc".into());
    Ok(())
}

/// Two clones of one bare remote: adoption, a race for one claim, a merge.
fn sync_scenario(s: &mut Scenario) -> anyhow::Result<()> {
    let root = s.repo.parent().context("scenario root")?.to_path_buf();
    let (bare, a, b) = (root.join("remote.git"), root.join("a"), root.join("b"));
    git(&root, &["init", "-q", "--bare", bare.to_str().context("path")?])?;
    for clone in [&a, &b] {
        git(
            &root,
            &[
                "clone",
                "-q",
                bare.to_str().context("path")?,
                clone.to_str().context("path")?,
            ],
        )?;
    }
    let (ann, ben) = ("agent:ann", "agent:ben");

    s.repo = a.clone();
    s.baton(ann, &["init"], 0)?;
    let published = s.baton(ann, &["sync"], 0)?;
    ensure!(
        published["action"] == json!("pushed"),
        "first sync did not push: {published}"
    );
    s.repo = b.clone();
    let joined = s.baton(ben, &["init"], 0)?;
    ensure!(
        joined["adopted"] == json!(true),
        "init in a clone did not adopt the remote state: {joined}"
    );

    s.repo = a.clone();
    s.baton(ann, &["claims", "claim", "S-1", "--sync"], 0)?;
    s.repo = b.clone();
    let refused = s.baton(ben, &["claims", "claim", "S-1", "--sync"], 1)?;
    ensure!(
        refused["error"]["message"].as_str().is_some_and(|m| m.contains(ann)),
        "holder not named: {refused}"
    );

    s.baton(ben, &["claims", "claim", "S-2"], 0)?;
    s.repo = a.clone();
    s.baton(ann, &["claims", "claim", "S-2"], 0)?;
    s.baton(ann, &["sync"], 0)?;
    s.repo = b.clone();
    let merged = s.baton(ben, &["sync"], 0)?;
    ensure!(
        merged["action"] == json!("merged"),
        "diverged sync did not merge: {merged}"
    );
    ensure!(
        merged["lost"][0]["id"] == json!("S-2"),
        "lost claim not reported: {merged}"
    );
    s.repo = a.clone();
    let caught_up = s.baton(ann, &["sync"], 0)?;
    ensure!(
        caught_up["tip"] == merged["tip"],
        "clones did not converge: {caught_up} vs {merged}"
    );
    let doctor = s.baton(ann, &["doctor", "sync"], 0)?;
    ensure!(doctor["ok"] == json!(true), "doctor sync: {doctor}");
    agents_across_clones(s, &a, &b)
}

/// One id spawned on both clones is reported; `pool spawn --sync` numbers
/// after the remote's agents.
fn agents_across_clones(s: &mut Scenario, a: &Path, b: &Path) -> anyhow::Result<()> {
    let (ann, ben) = ("agent:ann", "agent:ben");
    s.repo = a.to_path_buf();
    s.baton(ann, &["pool", "spawn", "--role", "rev", "--capacity", "2"], 0)?;
    s.baton(ann, &["sync"], 0)?;
    s.repo = b.to_path_buf();
    s.baton(ben, &["pool", "spawn", "--role", "rev"], 0)?;
    let merged = s.baton(ben, &["sync"], 0)?;
    ensure!(
        merged["lost_agents"][0]["id"] == json!("rev-1"),
        "an agent spawned on both clones was not reported: {merged}"
    );
    let spawned = s.baton(ben, &["pool", "spawn", "--role", "rev", "--sync"], 0)?;
    ensure!(
        spawned["agents"][0]["id"] == json!("rev-2"),
        "pool spawn --sync did not number after the remote: {spawned}"
    );
    Ok(())
}

pub fn run(keep: bool) -> Result<Output> {
    let exe = std::env::current_exe().map_err(|e| Error::io("finding the baton binary", e))?;
    let dir = tempfile::Builder::new()
        .prefix("baton-selftest-")
        .tempdir()
        .map_err(|e| Error::io("creating a temporary directory", e))?;
    let repo = dir.path().join("local");
    std::fs::create_dir(&repo).map_err(|e| Error::io("creating the scenario repository", e))?;
    let mut s = Scenario {
        exe,
        repo,
        steps: Vec::new(),
    };
    let result = scenario(&mut s);
    let kept = if keep { Some(dir.keep()) } else { None };
    let mut text = s.steps.join("\n");
    if let Some(p) = &kept {
        text.push_str(&format!("\nkept the repository at {}", p.display()));
    }
    match result {
        Ok(()) => {
            text.push_str(&format!("\nselftest passed: {} steps", s.steps.len()));
            Ok(Output::new(json!({"ok": true, "steps": s.steps, "kept": kept}), text))
        }
        Err(e) => Err(Error::failed(
            code::SELFTEST_FAILED,
            format!("selftest failed after {} steps: {e:#}", s.steps.len()),
        )
        .with_hint(format!("{text}\nrerun with --keep to inspect the repository"))),
    }
}
