//! The guard's policy through the binary: it fails closed in every client's
//! protocol when what it needs does not load (recorded payloads), the
//! installed hooks block when baton is missing and act as the client's
//! agent, rule packs turn on by config, and the shared config only tightens
//! (loosening is this machine's local file).

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use crate::common::{Repo, Run};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hooks");
const HUMAN: &str = "human:dana";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// `baton -C <repo> <args>` in text mode with `stdin`, `env` on top of a hermetic one.
fn with_stdin(repo: &Repo, env: &[(&str, &str)], args: &[&str], stdin: &[u8]) -> Run {
    let mut cmd = std::process::Command::new(crate::common::exe());
    crate::common::hermetic(&mut cmd);
    cmd.arg("-C")
        .arg(repo.path())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("running baton");
    child.stdin.take().expect("stdin").write_all(stdin).expect("payload");
    Run::from_output(
        args.iter().map(|s| s.to_string()).collect(),
        child.wait_with_output().unwrap(),
    )
}

/// The low-risk payload of each client: even these are blocked when the guard cannot judge.
const CLIENTS: &[(&str, &str)] = &[
    ("claude", "claude-pre-bash-low.json"),
    ("codex", "codex-pre-bash-low.json"),
    ("gemini", "gemini-before-shell-low.json"),
];

/// Every client's answer is a block: exit 2, the `error:` line on stderr
/// (which the clients show on exit 2), and a deny in its own shape.
fn assert_blocked_everywhere(repo: &Repo, env: &[(&str, &str)], says: &str) {
    for (agent, payload) in CLIENTS {
        let run = with_stdin(repo, env, &["learn", "pre-command", "--hook", agent], &fixture(payload));
        assert_eq!(run.code, 2, "{agent}: {}", run.describe());
        assert!(run.stderr.starts_with("error: "), "{agent}: {}", run.describe());
        assert!(
            run.stderr.contains(says),
            "{agent} should say {says:?}: {}",
            run.describe()
        );
        assert!(run.stderr.contains("\nhint: "), "{agent}: {}", run.describe());
        let answer: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.describe()));
        let decision = if *agent == "gemini" {
            assert!(answer["systemMessage"].as_str().unwrap().contains(says));
            &answer["decision"]
        } else {
            &answer["hookSpecificOutput"]["permissionDecision"]
        };
        assert_eq!(decision, "deny", "{agent}: {answer}");
    }
    let plain = repo.run_env(HUMAN, &["learn", "pre-command", "--command", "ls"], env);
    assert_eq!(plain.code, 2, "{}", plain.describe());
    assert!(plain.stderr.starts_with("error: "), "{}", plain.describe());
}

#[test]
fn a_guard_that_cannot_load_what_it_needs_blocks_in_every_protocol() {
    let cases: &[(&str, &[u8], &str)] = &[
        ("config.toml", b"schema = 1\n[claims\n", "config.toml does not parse"),
        ("config.toml", b"schema = 99\n", "config.toml"),
        ("config.toml", b"schema = 1\n[daemon]\ninterval = 5\n", "config.toml"),
        ("config.toml", b"schema = 1\n[learn]\npacks = 3\n", "config.toml"),
        (
            "config.toml",
            b"schema = 1\n[learn]\npacks = [\"k8s\"]\n",
            "unknown rule pack \"k8s\"",
        ),
        (
            "learn/commands.toml",
            b"schema = 1\n[families.\"cargo test\"]\nruns = \"x\"\n",
            "the guard cannot read its statistics",
        ),
    ];
    for (path, bytes, says) in cases {
        let repo = Repo::new();
        repo.commit_files(&[(path, bytes)], "broken by hand");
        // The statistics are read for the families on the line: every low payload runs `cargo test` or `grep`.
        if path.starts_with("learn/") {
            for (agent, payload) in &CLIENTS[..2] {
                let run = with_stdin(
                    &repo,
                    &[("BATON_ACTOR", HUMAN)],
                    &["learn", "pre-command", "--hook", agent],
                    &fixture(payload),
                );
                assert_eq!(run.code, 2, "{}", run.describe());
                assert!(run.stderr.contains(says), "{}", run.describe());
                assert!(run.stderr.contains("doctor learn --fix"), "{}", run.describe());
            }
            continue;
        }
        assert_blocked_everywhere(&repo, &[("BATON_ACTOR", HUMAN)], says);
    }
}

#[test]
fn an_invalid_actor_or_local_file_blocks_too() {
    let repo = Repo::new();
    assert_blocked_everywhere(&repo, &[("BATON_ACTOR", "nobody")], "BATON_ACTOR");
    let local = repo.path().join(".git/baton/learn/local.toml");
    std::fs::create_dir_all(local.parent().unwrap()).unwrap();
    std::fs::write(&local, "[[rules]\n").unwrap();
    assert_blocked_everywhere(&repo, &[("BATON_ACTOR", HUMAN)], "local.toml does not parse");
    let doctor = repo.run(HUMAN, &["learn", "doctor"]);
    assert_eq!(doctor.code, 1, "{}", doctor.describe());
    let errors = crate::common::doctor_errors(&doctor.json());
    assert_eq!(errors[0]["check"], "learn.rules");
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("local.toml does not parse"));
    std::fs::write(&local, "[[rules]]\nid = \"git.reset-hard\"\nlevel = \"medium\"\n").unwrap();
    let v = repo
        .run(HUMAN, &["learn", "pre-command", "--command", "git reset --hard"])
        .ok();
    assert_eq!(v["level"], "medium", "the local file loosens");
}

/// The command an installed hook runs for `event`, from the settings file.
fn installed(repo: &Repo, file: &str, event: &str) -> String {
    let settings: Value = serde_json::from_slice(&std::fs::read(repo.path().join(file)).unwrap()).unwrap();
    settings["hooks"][event][0]["hooks"][0]["command"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Run a hook command with `sh -c` as the clients do, with this PATH and payload.
fn run_hook(repo: &Repo, command: &str, path: &str, env: &[(&str, &str)], payload: &[u8]) -> Run {
    let mut cmd = std::process::Command::new("/bin/sh");
    crate::common::hermetic(&mut cmd);
    cmd.arg("-c")
        .arg(command)
        .current_dir(repo.path())
        .env("PATH", path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    // A hook that blocks before reading its payload closes the pipe early.
    let _ = child.stdin.take().unwrap().write_all(payload);
    Run::from_output(vec![command.to_owned()], child.wait_with_output().unwrap())
}

#[test]
fn installed_hooks_block_without_baton_and_act_as_the_clients_agent() {
    let repo = Repo::new();
    let exe = crate::common::exe();
    let bin = exe.parent().unwrap().display().to_string();
    let with_baton = format!("{bin}:/usr/bin:/bin");
    for (agent, file, event, payload) in [
        (
            "claude",
            ".claude/settings.json",
            "PreToolUse",
            "claude-pre-bash-low.json",
        ),
        ("codex", ".codex/hooks.json", "PreToolUse", "codex-pre-bash-low.json"),
        (
            "gemini",
            ".gemini/settings.json",
            "BeforeTool",
            "gemini-before-shell-low.json",
        ),
    ] {
        let done = repo.run(HUMAN, &["learn", "hooks", "install", agent]).ok();
        if agent == "codex" {
            let note = done["notes"][0].as_str().unwrap();
            assert!(note.contains("review and trust"), "{note}");
        }
        let pre = installed(&repo, file, event);
        let missing = run_hook(&repo, &pre, "/usr/bin:/bin", &[], &fixture(payload));
        assert_eq!(
            missing.code,
            2,
            "{agent}: a missing baton blocks: {}",
            missing.describe()
        );
        assert!(missing.stderr.starts_with("error: baton guard: baton cannot be found"));
        let found = run_hook(&repo, &pre, &with_baton, &[], &fixture(payload));
        assert_eq!(found.code, 0, "{agent}: {}", found.describe());
    }
    // The hooks act as agent:claude: pushing without a claim is asked about.
    let pre = installed(&repo, ".claude/settings.json", "PreToolUse");
    let push = br#"{"session_id":"s","cwd":"/nonexistent","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"git push origin main"}}"#;
    let run = run_hook(&repo, &pre, &with_baton, &[], push);
    assert!(
        run.stdout.contains("agent:claude holds no active claim"),
        "{}",
        run.describe()
    );
    let run = run_hook(&repo, &pre, &with_baton, &[("BATON_ACTOR", "agent:alice")], push);
    assert!(
        run.stdout.contains("agent:alice holds no active claim"),
        "{}",
        run.describe()
    );
}

#[test]
fn install_quotes_a_baton_path_with_spaces_and_takes_another_actor() {
    let repo = Repo::new();
    let dir = tempfile::tempdir().unwrap();
    let spaced = dir.path().join("my tools");
    std::fs::create_dir_all(&spaced).unwrap();
    let baton = spaced.join("baton");
    std::fs::copy(crate::common::exe(), &baton).unwrap();
    let shown = baton.display().to_string();
    repo.run(
        HUMAN,
        &[
            "learn",
            "hooks",
            "install",
            "claude",
            "--baton",
            &shown,
            "--as",
            "agent:builder",
        ],
    )
    .ok();
    let pre = installed(&repo, ".claude/settings.json", "PreToolUse");
    assert!(pre.contains(&format!("'{shown}' learn pre-command")), "{pre}");
    let push = br#"{"session_id":"s","cwd":"/nonexistent","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"git commit -m x"}}"#;
    let run = run_hook(&repo, &pre, "/usr/bin:/bin", &[], push);
    assert!(
        run.stdout.contains("agent:builder holds no active claim"),
        "{}",
        run.describe()
    );
    repo.refuse(
        HUMAN,
        &["learn", "hooks", "install", "codex", "--as", "nobody"],
        2,
        "invalid_actor",
    );
}

#[test]
fn packs_turn_on_by_config_and_shared_rules_only_tighten() {
    let repo = Repo::new();
    let level = |line: &str| {
        let run = repo.run(HUMAN, &["learn", "pre-command", "--command", line]);
        run.json()["level"].as_str().unwrap().to_owned()
    };
    assert_eq!(
        level("kubectl delete namespace prod"),
        "low",
        "packs are off by default"
    );
    repo.run(HUMAN, &["config", "set", "learn.packs", "kubernetes,databases"])
        .ok();
    assert_eq!(level("kubectl delete namespace prod"), "high");
    assert_eq!(level("psql -c 'DROP TABLE users'"), "high");
    assert_eq!(level("terraform destroy"), "low", "only the packs named");
    repo.run(HUMAN, &["config", "set", "learn.packs", "all"]).ok();
    assert_eq!(level("terraform destroy"), "high");
    repo.refuse(HUMAN, &["config", "set", "learn.packs", "k8s"], 2, "unknown_pack");

    // Tighten: allowed. Loosen: refused, and a stored one is ignored with a warning.
    repo.run(
        HUMAN,
        &[
            "config",
            "set",
            "learn.rules",
            r#"[{ id = "git.clean-force", level = "high" }]"#,
        ],
    )
    .ok();
    assert_eq!(level("git clean -f"), "high");
    let refused = repo.refuse(
        HUMAN,
        &[
            "config",
            "set",
            "learn.rules",
            r#"[{ id = "git.reset-hard", disabled = true }]"#,
        ],
        2,
        "learn_rule_loosened",
    );
    assert!(refused.message().contains("git.reset-hard"), "{}", refused.message());
    repo.commit_files(
        &[(
            "config.toml",
            b"schema = 1\n[[learn.rules]]\nid = \"git.reset-hard\"\ndisabled = true\n[[learn.rules]]\nid = \"pkg.publish\"\nlevel = \"low\"\n",
        )],
        "loosened by hand",
    );
    assert_eq!(
        level("git reset --hard"),
        "high",
        "whoever pushes the ref cannot switch a rule off"
    );
    assert_eq!(level("cargo publish"), "high");
    let doctor = repo.run(HUMAN, &["learn", "doctor"]);
    let rules = doctor.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "learn.rules")
        .cloned()
        .unwrap();
    assert_eq!(rules["severity"], "warn", "{rules}");
    assert!(
        rules["message"]
            .as_str()
            .unwrap()
            .contains("git.reset-hard, pkg.publish"),
        "{rules}"
    );
}

#[test]
fn git_discards_are_judged_and_their_look_alikes_are_not() {
    let repo = Repo::new();
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("git checkout -- src/main.rs", "medium", Some("git.discard-changes")),
        ("git checkout HEAD~1 -- src", "medium", Some("git.discard-changes")),
        ("git checkout main src/lib.rs", "medium", Some("git.discard-changes")),
        ("git restore src/lib.rs", "medium", Some("git.discard-changes")),
        (
            "git switch --discard-changes main",
            "medium",
            Some("git.discard-changes"),
        ),
        ("git stash drop", "medium", Some("git.stash-discard")),
        ("git stash clear", "medium", Some("git.stash-discard")),
        ("git reset --merge ORIG_HEAD", "medium", Some("git.reset-merge")),
        (
            "git worktree remove --force ../wt",
            "medium",
            Some("git.worktree-force-remove"),
        ),
        (
            "git reflog expire --expire=now --all",
            "high",
            Some("git.reflog-expire"),
        ),
        ("git gc --prune=now", "medium", Some("git.prune-now")),
        (
            "git filter-repo --path secrets --invert-paths",
            "high",
            Some("git.history-rewrite"),
        ),
        ("git push --force-with-lease", "medium", Some("git.force-push-lease")),
        ("git checkout main", "low", None),
        ("git checkout -bfeature", "low", None),
        ("git checkout -b feature origin/main", "low", None),
        ("git restore --staged src/lib.rs", "low", None),
        ("git stash pop", "low", None),
        ("git gc", "low", None),
        ("git reflog expire --expire=90.days.ago --all", "low", None),
        ("echo git stash drop", "low", None),
        ("git clean -n", "low", None),
    ];
    for (line, level, rule) in cases {
        let run = repo.run(HUMAN, &["learn", "pre-command", "--command", line]);
        let v = run.json();
        assert_eq!(v["level"], *level, "{line}: {v}");
        if let Some(rule) = rule {
            assert!(
                v["reasons"].as_array().unwrap().iter().any(|r| r["rule"] == *rule),
                "{line}: {v}"
            );
        }
    }
}
