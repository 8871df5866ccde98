//! `baton selftest`: an end-to-end scenario against this very binary in a
//! throwaway git repository — the commands a user would type, checked by
//! their exit codes and JSON output. Later subsystems extend the scenario.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context};
use serde_json::{json, Value};

use crate::cli::Output;
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

    fn baton_env(
        &mut self,
        actor: &str,
        args: &[&str],
        code: i32,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Value> {
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
        self.steps.push(format!(
            "ok  baton {}  (as {actor}, exit {code})",
            args.join(" ")
        ));
        Ok(value)
    }
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("git")
        .current_dir(dir)
        .args(args)
        .status()
        .with_context(|| format!("running git {}", args.join(" ")))?;
    ensure!(status.success(), "git {} failed", args.join(" "));
    Ok(())
}

fn scenario(s: &mut Scenario) -> anyhow::Result<()> {
    git(&s.repo, &["init", "-q"])?;
    let alice = "agent:rev-1";
    let human = "human:dana";

    let init = s.baton(human, &["init", "--hooks"], 0)?;
    ensure!(
        init["created"] == json!(true),
        "init did not create state: {init}"
    );
    let again = s.baton(human, &["init"], 0)?;
    ensure!(
        again["created"] == json!(false),
        "second init was not a no-op"
    );

    let spawned = s.baton(
        human,
        &["pool", "spawn", "--role", "rev", "--count", "2"],
        0,
    )?;
    ensure!(
        spawned["agents"].as_array().map(Vec::len) == Some(2),
        "spawn made {spawned}"
    );

    let claimed = s.baton(alice, &["claims", "claim", "T-1", "--role", "rev"], 0)?;
    ensure!(
        claimed["claim"]["agent"] == json!("rev-1"),
        "least-loaded agent not assigned: {claimed}"
    );
    ensure!(
        claimed["claim"]["generation"] == json!(1),
        "generation: {claimed}"
    );
    let repeat = s.baton(alice, &["claims", "claim", "T-1"], 0)?;
    ensure!(
        repeat["changed"] == json!(false),
        "repeat claim made a commit"
    );
    let held = s.baton(human, &["claims", "claim", "T-1"], 1)?;
    ensure!(
        held["error"]["code"] == json!("claim_held"),
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
        &[
            "claims",
            "handoff",
            "T-1",
            "--to",
            human,
            "--note",
            "please review",
        ],
        0,
    )?;
    s.baton(alice, &["claims", "accept", "T-1"], 1)?;
    let accepted = s.baton(human, &["claims", "accept", "T-1"], 0)?;
    ensure!(
        accepted["claim"]["owner"] == json!(human) && accepted["claim"]["generation"] == json!(2),
        "accept: {accepted}"
    );
    let released = s.baton(human, &["claims", "release", "T-1"], 0)?;
    ensure!(
        released["claim"]["state"] == json!("completed"),
        "release: {released}"
    );

    let later = [("BATON_NOW", "2999-01-01T00:00:00Z")];
    let dry = s.baton_env(human, &["claims", "expire"], 0, &later)?;
    ensure!(
        dry["expired"].as_array().map(Vec::len) == Some(1) && dry["applied"] == json!(false),
        "expire dry run: {dry}"
    );
    let applied = s.baton_env(human, &["claims", "expire", "--apply"], 0, &later)?;
    ensure!(
        applied["applied"] == json!(true),
        "expire --apply: {applied}"
    );
    let t2 = s.baton(human, &["claims", "status", "T-2"], 0)?;
    ensure!(
        t2["claim"]["state"] == json!("expired"),
        "T-2 not expired: {t2}"
    );

    s.baton(human, &["pool", "heartbeat", "rev-1"], 0)?;
    s.baton(human, &["pool", "drain", "rev-2"], 0)?;
    s.baton(human, &["pool", "retire", "rev-2"], 0)?;
    s.baton(human, &["config", "set", "claims.stale_after", "12h"], 0)?;
    let got = s.baton(human, &["config", "get", "claims.stale_after"], 0)?;
    ensure!(got["value"] == json!("12h"), "config get: {got}");

    let log = s.baton(human, &["log", "--subject", "claim/T-1"], 0)?;
    let n = log["entries"].as_array().map(Vec::len).unwrap_or(0);
    ensure!(
        n == 4,
        "claim/T-1 should have 4 operations in its log, found {n}"
    );

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
    Ok(())
}

pub fn run(keep: bool) -> Result<Output> {
    let exe = std::env::current_exe().map_err(|e| Error::io("finding the baton binary", e))?;
    let dir = tempfile::Builder::new()
        .prefix("baton-selftest-")
        .tempdir()
        .map_err(|e| Error::io("creating a temporary directory", e))?;
    let mut s = Scenario {
        exe,
        repo: dir.path().to_path_buf(),
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
            Ok(Output::new(
                json!({"ok": true, "steps": s.steps, "kept": kept}),
                text,
            ))
        }
        Err(e) => Err(Error::failed(
            "selftest_failed",
            format!("selftest failed after {} steps: {e:#}", s.steps.len()),
        )
        .with_hint(format!(
            "{text}\nrerun with --keep to inspect the repository"
        ))),
    }
}
