//! Durations (Hardening issue, items 6 and 17): every duration baton accepts
//! has documented bounds (at least 1s where zero makes no sense, at most
//! 10y), refused with exit 2 where it is given; nothing panics on an absurd
//! one that reached the state another way; and a duration keeps the text it
//! was written with (`24h` stays `24h`, defaults read as the handbook writes
//! them).

#![cfg(unix)]

use crate::common::{define, Repo};

const ACTOR: &str = "human:tester";

fn get(repo: &Repo, key: &str) -> String {
    repo.run(ACTOR, &["config", "get", key]).ok()["value"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn an_absurd_step_timeout_is_a_validation_problem_not_a_panic() {
    let repo = Repo::new();
    define(
        &repo,
        "forever",
        r#"name = "forever"
[[steps]]
id = "spawner"
run = ["sh", "-c", "sleep 30 & echo $! > grandchild.pid; true"]
timeout = "500000000000y"
[[steps]]
id = "backoff"
run = ["true"]
retry = 1
retry_backoff = "500000000000y"
[[steps]]
id = "tiny"
run = ["true"]
timeout = "500ms"
"#,
    );
    for args in [
        &["workflow", "validate", "forever"][..],
        &["workflow", "run", "forever", "--execute"],
    ] {
        let r = repo.refuse(ACTOR, args, 2, "invalid_workflow");
        let message = r.message();
        for want in [
            "step spawner: bad duration in `timeout`",
            "step backoff: bad duration in `retry_backoff`",
            "step tiny: bad duration in `timeout`",
            "10y",
        ] {
            assert!(message.contains(want), "{want:?} missing from:\n{message}");
        }
    }
    assert!(!repo.path().join("grandchild.pid").exists(), "a step ran");
    // The bounds themselves are accepted: 1s and 10y for a timeout, 0s for a backoff.
    define(
        &repo,
        "edges",
        "name = \"edges\"\n[[steps]]\nid = \"a\"\nrun = [\"true\"]\ntimeout = \"10y\"\nretry_backoff = \"0s\"\n[[steps]]\nid = \"b\"\nrun = [\"true\"]\ntimeout = \"1s\"\n",
    );
    repo.run(ACTOR, &["workflow", "validate", "edges"]).ok();
}

#[test]
fn an_absurd_default_timeout_already_in_the_state_runs_without_a_panic() {
    let repo = Repo::new();
    // Written by hand (or by an older baton): `config set` refuses it now.
    let config = repo.state_file("config.toml").unwrap();
    let config = config.replace("default_timeout = \"30m\"", "default_timeout = \"500000000000y\"");
    let config = if config.contains("500000000000y") {
        config
    } else {
        config.replace("[workflow]\n", "[workflow]\ndefault_timeout = \"500000000000y\"\n")
    };
    assert!(config.contains("500000000000y"), "{config}");
    repo.commit_files(&[("config.toml", config.as_bytes())], "an absurd default timeout");
    define(
        &repo,
        "plain",
        "name = \"plain\"\n[[steps]]\nid = \"t\"\nrun = [\"true\"]\n",
    );
    let run = repo.run(ACTOR, &["workflow", "run", "plain", "--execute"]);
    let doc = run.ok();
    assert_eq!(doc["run"]["status"], "succeeded", "{doc:#}");
    assert_eq!(doc["run"]["steps"][0]["attempts"][0]["exit_code"], 0, "{doc:#}");
}

#[test]
fn config_durations_have_bounds() {
    let repo = Repo::new();
    for (key, value) in [
        ("claims.stale_after", "500000000000y"),
        ("claims.stale_after", "0s"),
        ("claims.handoff_timeout", "11y"),
        ("claims.default_lease", "0s"),
        ("workflow.default_timeout", "0s"),
        ("workflow.default_timeout", "500ms"),
        ("daemon.interval", "0s"),
        ("daemon.snapshot_every", "500000000000y"),
        ("pool.heartbeat_timeout", "0s"),
    ] {
        let r = repo.refuse(ACTOR, &["config", "set", key, value], 2, "invalid_duration");
        let text = format!("{} {}", r.message(), r.hint());
        assert!(text.contains("1s") && text.contains("10y"), "{key} {value}: {text}");
    }
    repo.run(ACTOR, &["config", "set", "claims.stale_after", "10y"]).ok();
    repo.run(ACTOR, &["config", "set", "daemon.interval", "1s"]).ok();
}

#[test]
fn command_line_durations_have_bounds() {
    let repo = Repo::new();
    for args in [
        &["claims", "claim", "T-1", "--lease", "0s"][..],
        &["claims", "claim", "T-1", "--lease", "500000000000y"],
        &["claims", "renew", "T-1", "--lease", "500000000000y"],
        &["claims", "expire", "--older-than", "0s"],
        &["claims", "expire", "--older-than", "500000000000y"],
        &["pool", "health", "--stale-after", "500000000000y"],
    ] {
        let r = repo.refuse(ACTOR, args, 2, "invalid_duration");
        assert!(r.message().contains("10y"), "{args:?}: {}", r.message());
    }
    let claimed = repo.run(ACTOR, &["claims", "claim", "T-1", "--lease", "10y"]).ok();
    assert!(claimed["claim"]["lease_until"].is_string(), "{claimed:#}");
}

#[test]
fn config_durations_keep_the_text_they_were_written_with() {
    let repo = Repo::new();
    // The defaults, as the handbook writes them, in the file and through `config get`.
    let file = repo.state_file("config.toml").unwrap();
    for (key, line, value) in [
        ("claims.stale_after", "stale_after = \"48h\"", "48h"),
        ("claims.handoff_timeout", "handoff_timeout = \"24h\"", "24h"),
        ("workflow.default_timeout", "default_timeout = \"30m\"", "30m"),
        ("daemon.interval", "interval = \"60s\"", "60s"),
        ("daemon.snapshot_every", "snapshot_every = \"1h\"", "1h"),
    ] {
        assert!(file.contains(line), "{line:?} missing from:\n{file}");
        assert_eq!(get(&repo, key), value, "{key}");
    }
    repo.run(ACTOR, &["config", "set", "claims.handoff_timeout", "24h"])
        .ok();
    assert_eq!(get(&repo, "claims.handoff_timeout"), "24h");
    repo.run(ACTOR, &["config", "set", "claims.stale_after", "1h 30m"]).ok();
    assert_eq!(get(&repo, "claims.stale_after"), "1h 30m");
    repo.run(ACTOR, &["config", "set", "claims.default_lease", "90m"]).ok();
    assert_eq!(get(&repo, "claims.default_lease"), "90m");
    assert!(repo
        .state_file("config.toml")
        .unwrap()
        .contains("default_lease = \"90m\""));
    // The same text again: nothing to commit.
    let tip = repo.state();
    let out = repo.run(ACTOR, &["config", "set", "claims.default_lease", "90m"]).ok();
    assert_eq!(out["changed"], false, "{out:#}");
    assert_eq!(repo.state(), tip);
}
