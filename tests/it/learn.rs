//! `baton learn` through the binary on real repositories: the guard's
//! verdicts and exit codes, the agents' hook protocols with recorded
//! payloads, learned escalation from recorded outcomes, the journal under
//! concurrency and its folds, claim-aware judging, routing from delivery
//! outcomes, hook installation, metrics and doctor.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use crate::common::{baton_cmd, Repo, Run};
use serde_json::{json, Value};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hooks");
const HUMAN: &str = "human:dana";
const AGENT: &str = "agent:alice";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// `baton -C <repo> <args>` (text mode: hooks answer on stdout as the agent expects) with `stdin`.
fn with_stdin(repo: &Repo, actor: &str, args: &[&str], stdin: &[u8]) -> Run {
    let mut cmd = std::process::Command::new(crate::common::exe());
    crate::common::hermetic(&mut cmd);
    cmd.arg("-C")
        .arg(repo.path())
        .args(args)
        .env("BATON_ACTOR", actor)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("running baton");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("writing the payload");
    let out = child.wait_with_output().expect("waiting for baton");
    Run::from_output(args.iter().map(|s| s.to_string()).collect(), out)
}

fn pre(repo: &Repo, actor: &str, line: &str) -> Run {
    repo.run(actor, &["learn", "pre-command", "--command", line])
}

fn post(repo: &Repo, actor: &str, line: &str, code: &str) -> Value {
    repo.run(
        actor,
        &["learn", "post-command", "--command", line, "--exit-code", code],
    )
    .ok()
}

fn rules(verdict: &Value) -> Vec<String> {
    verdict["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| r["rule"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn journal_lines(repo: &Repo) -> usize {
    let dir = repo.path().join(".git/baton/learn");
    let Ok(entries) = std::fs::read_dir(&dir) else { return 0 };
    entries
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default().lines().count())
        .sum()
}

// ---------------------------------------------------------------------------
// pre-command

#[test]
fn every_command_that_would_run_is_judged_with_levels_and_exit_codes() {
    let repo = Repo::new();
    let high = pre(&repo, HUMAN, "npm test && rm -rf /");
    assert_eq!(high.code, 1, "{}", high.describe());
    let v = high.json();
    assert_eq!(
        (v["level"].as_str(), v["decision"].as_str()),
        (Some("high"), Some("deny"))
    );
    assert_eq!(v["reasons"][0]["rule"], "rm.recursive-broad");
    assert_eq!(v["reasons"][0]["command"], "rm -rf /");
    assert!(v["reasons"][0]["why"].as_str().is_some_and(|w| !w.is_empty()));
    assert_eq!(v["families"], json!(["npm test", "rm"]));

    let quoted = pre(&repo, HUMAN, "echo \"rm -rf /\"").ok();
    assert_eq!(
        (quoted["level"].as_str(), quoted["decision"].as_str()),
        (Some("low"), Some("allow"))
    );
    let medium = pre(&repo, HUMAN, "git branch -D old").ok();
    assert_eq!(
        (medium["level"].as_str(), medium["decision"].as_str()),
        (Some("medium"), Some("ask"))
    );

    // argv after `--`: one command, no shell, wrappers still unwrapped.
    let argv = repo.run(HUMAN, &["learn", "pre-command", "--", "sudo", "rm", "-rf", "/"]);
    assert_eq!(argv.code, 1, "{}", argv.describe());
    let literal = repo
        .run(HUMAN, &["learn", "pre-command", "--", "echo", "rm -rf /"])
        .ok();
    assert_eq!(literal["level"], "low");

    // Text mode: the level, then one line per reason; exit 1 for high.
    repo.cmd(HUMAN)
        .args(["learn", "pre-command", "--command", "git push --force"])
        .assert()
        .code(1)
        .stdout(predicates::str::starts_with(
            "high risk\nhigh [git.force-push] git push --force:",
        ));
}

#[test]
fn usage_errors_are_exit_2() {
    let repo = Repo::new();
    repo.refuse(HUMAN, &["learn", "pre-command"], 2, "usage");
    repo.refuse(HUMAN, &["learn", "pre-command", "--hook", "cursor"], 2, "unknown_hook");
    repo.refuse(HUMAN, &["learn", "post-command", "--command", "ls"], 2, "usage");
    repo.refuse(
        HUMAN,
        &[
            "learn",
            "post-command",
            "--command",
            "ls",
            "--exit-code",
            "0",
            "--duration",
            "soon",
        ],
        2,
        "invalid_duration",
    );
}

#[test]
fn the_guard_judges_outside_a_repository_with_the_built_in_rules() {
    let dir = assert_fs::TempDir::new().unwrap();
    let out = baton_cmd()
        .arg("-C")
        .arg(dir.path())
        .args(["--json", "learn", "pre-command", "--command", "git reset --hard"])
        .output()
        .unwrap();
    let run = Run::from_output(vec![], out);
    assert_eq!(run.code, 1, "{}", run.describe());
    assert_eq!(rules(&run.json()), ["git.reset-hard"]);
    // Recording needs a repository to keep the journal in.
    let out = baton_cmd()
        .arg("-C")
        .arg(dir.path())
        .args(["--json", "learn", "post-command", "--command", "ls", "--exit-code", "0"])
        .output()
        .unwrap();
    Run::from_output(vec![], out).err(3, "not_a_repository");
}

#[test]
fn the_repository_rules_apply_and_a_broken_rule_never_lands() {
    let repo = Repo::new();
    let set = |value: &str| repo.run(HUMAN, &["config", "set", "learn.rules", value]);
    set(r#"[{ id = "git.clean-force", level = "high" }, { id = "deploy.prod", program = "kubectl", subcommand = "delete", level = "high", why = "deletes production resources" }]"#).ok();
    assert_eq!(pre(&repo, HUMAN, "git clean -f").code, 1);
    let kube = pre(&repo, HUMAN, "kubectl delete ns prod");
    assert_eq!(kube.code, 1);
    assert_eq!(kube.json()["reasons"][0]["why"], "deletes production resources");
    let before = repo.tip();
    let bad = set(r#"[{ id = "mine", program = "x" }]"#);
    bad.err(2, "invalid_learn_rule");
    assert_eq!(repo.tip(), before, "a broken rule reached the ref");
    // The workflow guard uses the same rules.
    let dir = repo.path().join(".baton/workflows");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("k.toml"),
        "name = \"k\"\n[[steps]]\nid = \"del\"\nrun = [\"kubectl\", \"delete\", \"ns\", \"prod\"]\n",
    )
    .unwrap();
    let refused = repo.refuse(HUMAN, &["workflow", "run", "k", "--execute"], 1, "policy");
    assert!(
        refused
            .message()
            .contains("deletes production resources (rule deploy.prod)"),
        "{}",
        refused.message()
    );
}

// ---------------------------------------------------------------------------
// hooks, with recorded payloads

#[test]
fn claude_code_payloads_get_deny_ask_or_no_answer() {
    let repo = Repo::new();
    let answer = |name: &str| {
        let run = with_stdin(
            &repo,
            HUMAN,
            &["learn", "pre-command", "--hook", "claude"],
            &fixture(name),
        );
        assert_eq!(run.code, 0, "{}", run.describe());
        run.stdout
    };
    let high: Value = serde_json::from_str(&answer("claude-pre-bash-high.json")).unwrap();
    let out = &high["hookSpecificOutput"];
    assert_eq!(out["hookEventName"], "PreToolUse");
    assert_eq!(out["permissionDecision"], "deny");
    assert!(out["permissionDecisionReason"]
        .as_str()
        .unwrap()
        .contains("rule rm.recursive-broad"));
    let medium: Value = serde_json::from_str(&answer("claude-pre-bash-medium.json")).unwrap();
    assert_eq!(medium["hookSpecificOutput"]["permissionDecision"], "ask");
    assert_eq!(
        answer("claude-pre-bash-low.json"),
        "",
        "low: Claude Code's own rules decide"
    );
    assert_eq!(answer("claude-pre-read.json"), "", "other tools pass through");
    // Codex sends Claude's shape; `ask` would run the command there, so medium is a warning.
    let codex: Value = serde_json::from_str(&answer("codex-pre-bash-medium.json")).unwrap();
    assert!(codex.get("hookSpecificOutput").is_none());
    assert!(codex["systemMessage"]
        .as_str()
        .unwrap()
        .starts_with("baton: medium risk"));
    let codex_high: Value = serde_json::from_str(&answer("codex-pre-bash-high.json")).unwrap();
    assert_eq!(codex_high["hookSpecificOutput"]["permissionDecision"], "deny");
}

#[test]
fn gemini_payloads_always_get_json() {
    let repo = Repo::new();
    let answer = |name: &str| -> Value {
        let run = with_stdin(
            &repo,
            HUMAN,
            &["learn", "pre-command", "--hook", "gemini"],
            &fixture(name),
        );
        assert_eq!(run.code, 0, "{}", run.describe());
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.describe()))
    };
    let high = answer("gemini-before-shell-high.json");
    assert_eq!(high["decision"], "deny");
    assert!(high["reason"].as_str().unwrap().contains("git.force-push"));
    assert_eq!(answer("gemini-before-shell-medium.json")["decision"], "ask");
    assert_eq!(answer("gemini-before-shell-low.json"), json!({}));
    assert_eq!(answer("gemini-before-read.json"), json!({}));
}

#[test]
fn post_tool_payloads_are_recorded_and_broken_payloads_block() {
    let repo = Repo::new();
    for (agent, name) in [
        ("claude", "claude-post-bash-success.json"),
        ("claude", "claude-post-bash-failure.json"),
        ("claude", "claude-post-bash-interrupted.json"),
        ("codex", "codex-post-bash.json"),
        ("gemini", "gemini-after-shell-failure.json"),
        ("gemini", "gemini-after-shell-success.json"),
    ] {
        let run = with_stdin(
            &repo,
            AGENT,
            &["learn", "post-command", "--hook", agent],
            &fixture(name),
        );
        assert_eq!(run.code, 0, "{}", run.describe());
        let want = if agent == "gemini" { "{}\n" } else { "" };
        assert_eq!(run.stdout, want, "{name}");
    }
    let m = repo.run(HUMAN, &["learn", "metrics"]).ok();
    let family = |name: &str| {
        m["families"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["family"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {m:#}"))
    };
    assert_eq!(family("git push")["failures"], 1);
    assert_eq!(family("npm test")["failures"], 1);
    assert_eq!(family("npm test")["successes"], 1);
    assert_eq!(m["pending"], 6);
    // A guard that cannot read its input fails closed: exit 2 blocks in all three protocols.
    let broken = with_stdin(
        &repo,
        AGENT,
        &["learn", "pre-command", "--hook", "claude"],
        b"{\"tool_name\": ",
    );
    assert_eq!(broken.code, 2, "{}", broken.describe());
    assert!(broken.stderr.starts_with("error: the claude hook payload is not JSON"));
    assert!(broken.stderr.contains("hint: "));
}

// ---------------------------------------------------------------------------
// learned escalation and the journal

#[test]
fn repeated_failures_raise_a_family_one_level_with_the_reason() {
    let repo = Repo::new();
    assert_eq!(pre(&repo, AGENT, "cargo publish --dry-run").ok()["level"], "low");
    for _ in 0..3 {
        let rec = post(
            &repo,
            AGENT,
            "CARGO_REGISTRY_TOKEN=cio1234567890abcdef cargo publish --dry-run",
            "101",
        );
        assert_eq!(rec["recorded"]["family"], "cargo publish");
        assert_eq!(rec["recorded"]["outcome"], "failure");
        assert!(
            !rec["recorded"]["command"]
                .as_str()
                .unwrap()
                .contains("cio1234567890abcdef"),
            "the secret was recorded: {rec}"
        );
    }
    let v = pre(&repo, AGENT, "cargo publish --dry-run").ok();
    assert_eq!(v["level"], "medium");
    assert_eq!(rules(&v), ["learned.failures"]);
    assert_eq!(
        v["reasons"][0]["why"],
        "`cargo publish` failed the last 3 times it ran (of 3 runs, 3 failed)"
    );
    // High stays high; another family is untouched; interrupts do not count.
    assert_eq!(pre(&repo, AGENT, "cargo publish").code, 1);
    assert_eq!(pre(&repo, AGENT, "cargo test").ok()["level"], "low");
    post(&repo, AGENT, "cargo publish --dry-run", "130");
    assert_eq!(pre(&repo, AGENT, "cargo publish --dry-run").ok()["level"], "medium");
    // Folded into the shared statistics, the judgement is the same.
    repo.run(HUMAN, &["doctor", "learn", "--fix"]).ok();
    assert_eq!(journal_lines(&repo), 0, "the journal was folded and removed");
    let stats = repo.state_file("learn/commands.toml").expect("learn/commands.toml");
    assert!(stats.contains("[families.\"cargo publish\"]"), "{stats}");
    assert!(!stats.contains("cio1234567890abcdef"));
    assert_eq!(pre(&repo, AGENT, "cargo publish --dry-run").ok()["level"], "medium");
    // One success ends the streak.
    post(&repo, AGENT, "cargo publish --dry-run", "0");
    assert_eq!(pre(&repo, AGENT, "cargo publish --dry-run").ok()["level"], "low");
}

#[test]
fn eight_concurrent_post_commands_lose_no_outcome_even_while_folding() {
    let repo = Repo::new();
    let exe = crate::common::exe();
    let spawn = |args: Vec<String>| {
        let mut cmd = std::process::Command::new(&exe);
        crate::common::hermetic(&mut cmd);
        cmd.arg("-C")
            .arg(repo.path())
            .args(args)
            .env("BATON_ACTOR", AGENT)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning baton")
    };
    let mut children = Vec::new();
    for round in 0..3 {
        for i in 0..8 {
            let line = format!("make test{i}");
            let code = if (i + round) % 2 == 0 { "0" } else { "2" };
            children.push(spawn(
                ["learn", "post-command", "--command", &line, "--exit-code", code]
                    .map(String::from)
                    .to_vec(),
            ));
        }
        // Folds racing the writers.
        children.push(spawn(["doctor", "learn", "--fix"].map(String::from).to_vec()));
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let m = repo.run(HUMAN, &["learn", "metrics"]).ok();
    let runs: u64 = m["families"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["family"].as_str().is_some_and(|n| n.starts_with("make test")))
        .map(|f| f["runs"].as_u64().unwrap())
        .sum();
    assert_eq!(runs, 24, "{m:#}");
    // Everything folded at last: still 24, none counted twice.
    repo.run(HUMAN, &["doctor", "learn", "--fix"]).ok();
    assert_eq!(journal_lines(&repo), 0);
    let m = repo.run(HUMAN, &["learn", "metrics"]).ok();
    assert_eq!(m["pending"], 0);
    let folded: u64 = m["families"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["runs"].as_u64().unwrap())
        .sum();
    assert_eq!(folded, 24, "{m:#}");
}

#[test]
fn the_next_state_write_folds_the_journal_in_a_commit_of_its_own() {
    let repo = Repo::new();
    post(&repo, AGENT, "go test ./...", "1");
    pre(&repo, AGENT, "ls").ok();
    assert_eq!(journal_lines(&repo), 2);
    let before = repo.commit_count();
    repo.run(HUMAN, &["claims", "claim", "T-1"]).ok();
    assert_eq!(repo.commit_count(), before + 2);
    let msg = repo.tip_message();
    assert!(msg.starts_with("learn: fold 1 outcome(s) and 1 decision(s)"), "{msg}");
    assert!(msg.contains("Baton-Op: learn.fold"));
    assert!(msg.contains("Baton-Journal: journal-folding-"), "{msg}");
    assert_eq!(journal_lines(&repo), 0);
    let stats = repo.state_file("learn/commands.toml").unwrap();
    assert!(stats.contains("[families.\"go test\"]\nruns = 1"), "{stats}");
    assert!(stats.contains("[decisions]\nlow = 1"), "{stats}");
    // Nothing waiting: a write is one commit.
    repo.run(HUMAN, &["claims", "claim", "T-2"]).ok();
    assert_eq!(repo.commit_count(), before + 3);
}

#[test]
fn a_journal_nothing_else_folded_is_folded_by_the_post_command_that_grew_it() {
    let repo = Repo::new();
    let dir = repo.path().join(".git/baton/learn");
    std::fs::create_dir_all(&dir).unwrap();
    let line = "{\"kind\":\"decision\",\"at\":\"2026-01-01T00:00:00Z\",\"level\":\"low\"}\n";
    let lines = 256 * 1024 / line.len();
    std::fs::write(dir.join("journal.jsonl"), line.repeat(lines)).unwrap();
    let before = repo.commit_count();
    post(&repo, AGENT, "make lint", "0");
    assert_eq!(repo.commit_count(), before + 1, "{}", repo.tip_message());
    assert!(repo
        .tip_message()
        .starts_with(&format!("learn: fold 1 outcome(s) and {lines} decision(s)")));
    assert_eq!(journal_lines(&repo), 0);
}

#[test]
fn a_broken_statistics_file_blocks_until_doctor_sets_it_aside() {
    let repo = Repo::new();
    repo.commit_files(
        &[("learn/commands.toml", b"schema = 1\n[families.rm]\nruns = \"x\"\n")],
        "corrupt",
    );
    // Fail closed: the guard does not judge without what it learned.
    let v = pre(&repo, HUMAN, "rm -rf build");
    let err = v.err(2, "learn_statistics_unreadable");
    assert!(err["hint"].as_str().unwrap().contains("doctor learn --fix"), "{err}");
    let doctor = repo.run(HUMAN, &["learn", "doctor"]);
    assert_eq!(doctor.code, 1);
    let errors = crate::common::doctor_errors(&doctor.json());
    assert_eq!(errors[0]["check"], "learn.statistics");
    assert_eq!(errors[0]["path"], "learn/commands.toml");
    // --fix sets it aside; the statistics start afresh.
    repo.run(HUMAN, &["learn", "doctor", "--fix"]).ok();
    assert!(repo.state_file("learn/commands.toml").is_none());
    assert!(repo.state_file("quarantine/learn/commands.toml").is_some());
    repo.run(HUMAN, &["learn", "doctor"]).ok();
    assert_eq!(pre(&repo, HUMAN, "rm -rf build").ok()["level"], "low");
}

// ---------------------------------------------------------------------------
// claims

#[test]
fn an_agent_pushing_without_a_live_claim_is_asked_about_it() {
    let repo = Repo::new();
    let v = pre(&repo, AGENT, "git commit -m wip && git push").ok();
    assert_eq!(v["level"], "medium");
    assert_eq!(rules(&v), ["claims.none", "claims.none"]);
    assert_eq!(v["reasons"][0]["why"], "agent:alice holds no active claim");
    // Humans are not checked; other commands are not.
    assert_eq!(pre(&repo, HUMAN, "git push").ok()["level"], "low");
    assert_eq!(pre(&repo, AGENT, "git status").ok()["level"], "low");

    let t0 = crate::common::T0;
    repo.run_at(AGENT, t0, &["claims", "claim", "T-1", "--lease", "1h"])
        .ok();
    let live = repo.run_at(
        AGENT,
        &crate::common::t0_plus_minutes(30),
        &["learn", "pre-command", "--command", "git push"],
    );
    assert_eq!(live.ok()["level"], "low");
    let lapsed = repo
        .run_at(
            AGENT,
            &crate::common::t0_plus(2),
            &["learn", "pre-command", "--command", "git push"],
        )
        .ok();
    assert_eq!(lapsed["level"], "medium");
    assert_eq!(
        lapsed["reasons"][0]["why"],
        "agent:alice holds only claims whose lease has lapsed (T-1); renew one or claim the work first"
    );
    repo.run_at(
        AGENT,
        &crate::common::t0_plus(2),
        &["claims", "renew", "T-1", "--lease", "1h"],
    )
    .ok();
    let renewed = repo.run_at(
        AGENT,
        &crate::common::t0_plus(2),
        &["learn", "pre-command", "--command", "git push"],
    );
    assert_eq!(renewed.ok()["level"], "low");
}

#[test]
fn the_index_of_an_agents_claims_follows_every_change() {
    let repo = Repo::new();
    let push = || pre(&repo, AGENT, "git push").ok()["level"].clone();
    repo.run(AGENT, &["claims", "claim", "T-1"]).ok();
    assert_eq!(push(), "low");
    let index = std::fs::read_dir(repo.path().join(".git/baton/learn"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("held-"))
        .expect("the index")
        .path();
    repo.run(AGENT, &["claims", "release", "T-1"]).ok();
    assert_eq!(push(), "medium", "released since the index was written");
    repo.run(AGENT, &["claims", "claim", "T-2"]).ok();
    assert_eq!(push(), "low", "claimed since");
    // Taken over by hand (a state commit that is not baton's).
    let taken = repo
        .state_file(&crate::common::claim_path("T-2"))
        .unwrap()
        .replace(AGENT, "agent:bob");
    repo.commit_files(&[(&crate::common::claim_path("T-2"), taken.as_bytes())], "taken");
    assert_eq!(push(), "medium");
    // A broken or foreign index is rebuilt from the claims.
    repo.run(AGENT, &["claims", "claim", "T-3"]).ok();
    std::fs::write(&index, "not an index\nclaims/00/nothing.toml\n").unwrap();
    assert_eq!(push(), "low");
    std::fs::write(&index, format!("{} 0.1.0\n", "0".repeat(40))).unwrap();
    assert_eq!(push(), "low");
}

// ---------------------------------------------------------------------------
// routing

fn define(repo: &Repo, name: &str, exit: u8) {
    let dir = repo.path().join(".baton/workflows");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{name}.toml")),
        format!("name = \"{name}\"\n[[steps]]\nid = \"s\"\nrun = [\"sh\", \"-c\", \"exit {exit}\"]\n"),
    )
    .unwrap();
}

#[test]
fn routes_come_from_keywords_and_from_how_each_roles_deliveries_ended() {
    let repo = Repo::new();
    // No pool yet: the keyword table still names the role, and says no agent has it.
    let r = repo.run(HUMAN, &["learn", "route", "fix the flaky test"]).ok();
    assert_eq!(
        (r["suggestion"]["role"].as_str(), r["unstaffed"].as_bool()),
        (Some("tester"), Some(true))
    );
    let out = repo
        .cmd(HUMAN)
        .args(["learn", "route", "fix the flaky test"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("no agent has the role tester yet") && text.contains("`baton pool spawn --role tester`"),
        "{text}"
    );
    repo.refuse(HUMAN, &["learn", "route", "zzz qqq"], 1, "no_roles");
    for role in ["tester", "coder"] {
        repo.run(HUMAN, &["pool", "spawn", "--role", role, "--capacity", "9"])
            .ok();
    }
    let r = repo.run(HUMAN, &["learn", "route", "Fix the flaky login tests"]).ok();
    assert_eq!(r["suggestion"]["role"], "tester");
    assert_eq!(r["suggestion"]["score"], 0.617);
    assert_eq!(r["suggestion"]["reasons"][0]["why"], "matched test, flaky");
    assert_eq!(
        r["suggestion"]["reasons"][1]["why"],
        "no delivery outcomes yet (counted as 50%)"
    );
    assert_eq!(r["alternatives"][0]["role"], "coder");

    define(&repo, "good", 0);
    define(&repo, "bad", 1);
    let deliver = |issue: &str, workflow: &str, role: &str, code: i32| {
        let run = repo.run(
            HUMAN,
            &[
                "delivery",
                "start",
                "--issue",
                issue,
                "--workflow",
                workflow,
                "--role",
                role,
                "--execute",
            ],
        );
        assert_eq!(run.code, code, "{}", run.describe());
    };
    deliver("D-1", "good", "coder", 0);
    deliver("D-2", "good", "coder", 0);
    deliver("D-3", "bad", "tester", 1);
    let routes = repo.state_file("learn/routes.toml").expect("learn/routes.toml");
    assert!(routes.contains("[roles.coder]\nclosed = 2\nfailed = 0"), "{routes}");
    assert!(routes.contains("[roles.tester]\nclosed = 0\nfailed = 1"), "{routes}");
    // Counted in the final phase's own commit, with the ledger.
    let counted = repo.git(&[
        "log",
        "-1",
        "--format=%s",
        "refs/baton/state",
        "--",
        "learn/routes.toml",
    ]);
    assert!(
        counted.starts_with("delivery: dl-") && counted.ends_with("failed (D-3)"),
        "{counted}"
    );
    let r = repo.run(HUMAN, &["learn", "route", "something unrelated"]).ok();
    assert_eq!(r["suggestion"]["role"], "coder");
    assert_eq!(r["suggestion"]["reasons"][1]["why"], "2 of 2 deliveries closed (100%)");
    assert_eq!(
        r["alternatives"][0]["reasons"][1]["why"],
        "0 of 1 deliveries closed (0%)"
    );
    // A failed delivery closed by hand later is not counted again.
    let listed = repo.run(HUMAN, &["delivery", "status"]).ok();
    let failed = listed["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["issue"] == "D-3")
        .expect("the delivery of D-3");
    assert_eq!(failed["phase"], "failed");
    let id = failed["id"].as_str().unwrap();
    repo.run(HUMAN, &["delivery", "close", "--run-id", id]).ok();
    let routes = repo.state_file("learn/routes.toml").unwrap();
    assert!(routes.contains("[roles.tester]\nclosed = 0\nfailed = 1"), "{routes}");
    let m = repo.run(HUMAN, &["learn", "metrics"]).ok();
    assert_eq!(m["routes"]["roles"]["coder"]["closed"], 2);
}

// ---------------------------------------------------------------------------
// hooks install

#[test]
fn hooks_install_merges_keeps_every_entry_and_refuses_conflicts() {
    let repo = Repo::new();
    let settings = repo.path().join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let existing = fixture("claude-settings-existing.json");
    std::fs::write(&settings, &existing).unwrap();
    let done = repo.run(HUMAN, &["learn", "hooks", "install", "claude"]).ok();
    assert_eq!(done["changed"], true);
    assert_eq!(done["path"], ".claude/settings.json");
    let merged: Value = serde_json::from_slice(&std::fs::read(&settings).unwrap()).unwrap();
    let before: Value = serde_json::from_slice(&existing).unwrap();
    for key in ["permissions", "env"] {
        assert_eq!(merged[key], before[key], "{key} kept");
    }
    assert_eq!(merged["hooks"]["Stop"], before["hooks"]["Stop"]);
    let pre = merged["hooks"]["PreToolUse"].as_array().unwrap();
    assert_eq!(pre[0]["hooks"][0], before["hooks"]["PreToolUse"][0]["hooks"][0]);
    let command = pre[0]["hooks"][1]["command"].as_str().unwrap();
    assert!(
        command.ends_with("BATON_ACTOR=\"${BATON_ACTOR:-agent:claude}\" baton learn pre-command --hook claude"),
        "{command}"
    );
    assert_eq!(
        merged["hooks"]["PostToolUseFailure"][0]["hooks"][0]["command"],
        "BATON_ACTOR=\"${BATON_ACTOR:-agent:claude}\" baton learn post-command --hook claude"
    );
    // Twice changes nothing.
    let again = repo.run(HUMAN, &["learn", "hooks", "install", "claude"]).ok();
    assert_eq!(again["changed"], false);
    // Another baton hook for the same event is not overwritten.
    let conflict = repo.refuse(
        HUMAN,
        &["learn", "hooks", "install", "claude", "--baton", "/opt/baton"],
        1,
        "hook_conflict",
    );
    assert!(
        conflict.message().contains("hooks.PreToolUse[0].hooks[1]"),
        "{}",
        conflict.message()
    );
    assert_eq!(
        std::fs::read(&settings).unwrap(),
        serde_json::to_vec_pretty(&merged)
            .unwrap()
            .into_iter()
            .chain(*b"\n")
            .collect::<Vec<u8>>()
    );

    repo.run(HUMAN, &["learn", "hooks", "install", "gemini"]).ok();
    let gemini: Value =
        serde_json::from_slice(&std::fs::read(repo.path().join(".gemini/settings.json")).unwrap()).unwrap();
    assert_eq!(gemini["hooks"]["BeforeTool"][0]["matcher"], "run_shell_command");
    repo.run(HUMAN, &["learn", "hooks", "install", "codex"]).ok();
    assert!(repo.path().join(".codex/hooks.json").is_file());
    repo.run(HUMAN, &["learn", "hooks", "install", "opencode"]).ok();
    let plugin = std::fs::read_to_string(repo.path().join(".opencode/plugins/baton-guard.js")).unwrap();
    assert!(plugin.contains("tool.execute.before"));
    repo.refuse(HUMAN, &["learn", "hooks", "install", "vim"], 2, "unknown_agent");
}

// ---------------------------------------------------------------------------
// metrics, doctor, sync

#[test]
fn metrics_and_doctor_report_decisions_families_and_the_journal() {
    let repo = Repo::new();
    let empty = repo.run(HUMAN, &["learn", "metrics"]).ok();
    assert_eq!(empty["decisions"], json!({"low": 0, "medium": 0, "high": 0}));
    pre(&repo, HUMAN, "ls");
    pre(&repo, HUMAN, "git branch -D x");
    pre(&repo, HUMAN, "rm -rf /");
    post(&repo, HUMAN, "npm run build", "1");
    let m = repo.run(HUMAN, &["learn", "metrics"]).ok();
    assert_eq!(m["decisions"], json!({"low": 1, "medium": 1, "high": 1}));
    assert_eq!(m["families"][0]["family"], "npm run build");
    assert_eq!(m["families"][0]["failure_streak"], 1);
    assert_eq!(m["pending"], 4);
    repo.cmd(HUMAN)
        .args(["learn", "metrics"])
        .assert()
        .success()
        .stdout(predicates::str::contains("risk decisions: 1 low, 1 medium, 1 high"));

    let d = repo.run(HUMAN, &["doctor"]).ok();
    let checks: Vec<&str> = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["check"].as_str())
        .filter(|c| c.starts_with("learn."))
        .collect();
    assert_eq!(checks, ["learn.rules", "learn.statistics", "learn.journal"]);
    let old = repo.run_at(HUMAN, "2099-01-01T00:00:00Z", &["learn", "doctor", "--strict"]);
    assert_eq!(old.code, 1, "an old journal is a warning: {}", old.describe());
}

#[test]
fn sync_publishes_the_journal_and_counters_merge_across_clones() {
    let root = assert_fs::TempDir::new().unwrap();
    let bare = root.path().join("remote.git");
    let git = |dir: &Path, args: &[&str]| {
        let mut cmd = std::process::Command::new("git");
        crate::common::hermetic(&mut cmd);
        let out = cmd.current_dir(dir).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(root.path(), &["init", "-q", "--bare", bare.to_str().unwrap()]);
    let clone = |name: &str| {
        git(root.path(), &["clone", "-q", bare.to_str().unwrap(), name]);
        root.path().join(name)
    };
    let (a, b) = (clone("a"), clone("b"));
    let run = |dir: &Path, args: &[&str]| {
        let out = baton_cmd()
            .arg("-C")
            .arg(dir)
            .arg("--json")
            .args(args)
            .env("BATON_ACTOR", AGENT)
            .output()
            .unwrap();
        let run = Run::from_output(args.iter().map(|s| s.to_string()).collect(), out);
        run.ok()
    };
    run(&a, &["init"]);
    run(&a, &["sync"]);
    run(&b, &["init"]);
    // Two failures on each machine, nothing folded yet.
    for dir in [&a, &b] {
        for _ in 0..2 {
            run(
                dir,
                &[
                    "learn",
                    "post-command",
                    "--command",
                    "terraform apply",
                    "--exit-code",
                    "1",
                ],
            );
        }
    }
    run(&a, &["sync"]);
    let merged = run(&b, &["sync"]);
    assert_eq!(merged["action"], "merged", "{merged:#}");
    run(&a, &["sync"]);
    for dir in [&a, &b] {
        let v = run(dir, &["learn", "pre-command", "--command", "terraform apply"]);
        assert_eq!(v["level"], "medium", "four failures over two machines escalate");
        assert!(
            v["reasons"][0]["why"]
                .as_str()
                .unwrap()
                .contains("(of 4 runs, 4 failed)"),
            "{v:#}"
        );
    }
}
