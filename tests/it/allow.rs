//! `workflow.allow` fails closed (Hardening issue, item 9): a pattern that
//! does not compile is refused by `config set` (exit 2) and, when it reached
//! the shared config another way, refuses runs instead of being dropped
//! (an empty list would then allow everything); and a step cannot run
//! another program than the one the list judged by changing `PATH` (or the
//! dynamic loader's variables) in its `env`.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;

use crate::common::{define, Repo};

const ACTOR: &str = "human:tester";

/// An executable `tools/cargo` that leaves evidence when it runs.
fn fake_cargo(repo: &Repo) {
    let tools = repo.path().join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    let path = tools.join("cargo");
    std::fs::write(&path, "#!/bin/sh\n: > fake-cargo.ran\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn an_invalid_pattern_is_refused_by_config_set() {
    let repo = Repo::new();
    let r = repo.refuse(
        ACTOR,
        &["config", "set", "workflow.allow", "cargo ["],
        2,
        "invalid_value",
    );
    assert!(r.message().contains("cargo ["), "{}", r.message());
    // One bad pattern among good ones is refused too: nothing is dropped.
    repo.refuse(
        ACTOR,
        &["config", "set", "workflow.allow", "make *, cargo ["],
        2,
        "invalid_value",
    );
    let allow = repo.run(ACTOR, &["config", "get", "workflow.allow"]).ok();
    assert_eq!(allow["value"], "", "{allow:#}");
}

#[test]
fn an_invalid_pattern_in_the_shared_config_refuses_runs() {
    let repo = Repo::new();
    let config = repo.state_file("config.toml").unwrap();
    let config = config.replace("allow = []", "allow = [\"cargo [\"]");
    assert!(config.contains("cargo ["), "{config}");
    repo.commit_files(&[("config.toml", config.as_bytes())], "a bad pattern, by hand");
    define(
        &repo,
        "touchy",
        "name = \"touchy\"\n[[steps]]\nid = \"t\"\nrun = [\"touch\", \"touched\"]\n",
    );
    for args in [
        &["workflow", "run", "touchy", "--execute"][..],
        &["workflow", "run", "touchy", "--execute", "--allow-risk"],
        &["workflow", "run", "touchy"],
    ] {
        let r = repo.refuse(ACTOR, args, 2, "invalid_config");
        assert!(r.message().contains("workflow.allow"), "{}", r.message());
        assert!(r.message().contains("cargo ["), "{}", r.message());
        assert!(r.hint().contains("config set workflow.allow"), "{}", r.hint());
    }
    assert!(!repo.path().join("touched").exists(), "a step ran");
}

#[test]
fn a_step_env_that_changes_path_cannot_swap_the_allowed_program() {
    let repo = Repo::new();
    fake_cargo(&repo);
    repo.run(ACTOR, &["config", "set", "workflow.allow", "cargo *"]).ok();
    define(
        &repo,
        "swap",
        r#"name = "swap"
[[steps]]
id = "build"
run = ["cargo", "build"]
env = { PATH = "tools" }
"#,
    );
    let r = repo.refuse(ACTOR, &["workflow", "run", "swap", "--execute"], 1, "policy");
    assert!(r.message().contains("step build"), "{}", r.message());
    assert!(r.message().contains("PATH"), "{}", r.message());
    assert!(!repo.path().join("fake-cargo.ran").exists(), "tools/cargo ran");
    // The dry run shows the refusal.
    let plan = repo.run(ACTOR, &["workflow", "run", "swap"]).ok();
    assert_eq!(plan["refused"].as_array().map(Vec::len), Some(1), "{plan:#}");

    // The loader's variables change what runs as much as PATH does.
    define(
        &repo,
        "preload",
        "name = \"preload\"\n[[steps]]\nid = \"build\"\nrun = [\"cargo\", \"build\"]\nenv = { LD_PRELOAD = \"./evil.so\" }\n",
    );
    let r = repo.refuse(ACTOR, &["workflow", "run", "preload", "--execute"], 1, "policy");
    assert!(r.message().contains("LD_PRELOAD"), "{}", r.message());

    // Naming the program by its path, in `run` and in the list, is judged as written.
    repo.run(ACTOR, &["config", "set", "workflow.allow", "cargo *,tools/cargo *"])
        .ok();
    define(
        &repo,
        "named",
        "name = \"named\"\n[[steps]]\nid = \"build\"\nrun = [\"tools/cargo\", \"build\"]\nenv = { PATH = \"tools\" }\n",
    );
    let run = repo.run(ACTOR, &["workflow", "run", "named", "--execute"]).ok();
    assert_eq!(run["run"]["status"], "succeeded", "{run:#}");
    assert!(repo.path().join("fake-cargo.ran").exists());

    // Without an allow list, env is the step's own business.
    std::fs::remove_file(repo.path().join("fake-cargo.ran")).unwrap();
    repo.run(ACTOR, &["config", "set", "workflow.allow", ""]).ok();
    let run = repo.run(ACTOR, &["workflow", "run", "swap", "--execute"]).ok();
    assert_eq!(run["run"]["status"], "succeeded", "{run:#}");
    assert!(repo.path().join("fake-cargo.ran").exists());
}

#[test]
fn patterns_are_globs_over_the_command_line() {
    let repo = Repo::new();
    repo.run(ACTOR, &["config", "set", "workflow.allow", "{echo,printf} *,true"])
        .ok();
    define(
        &repo,
        "mixed",
        "name = \"mixed\"\n[[steps]]\nid = \"a\"\nrun = [\"echo\", \"hi\"]\n[[steps]]\nid = \"b\"\nrun = [\"printf\", \"x\"]\n[[steps]]\nid = \"c\"\nrun = [\"true\"]\n[[steps]]\nid = \"d\"\nrun = [\"touch\", \"d.ran\"]\n",
    );
    let r = repo.refuse(ACTOR, &["workflow", "run", "mixed", "--execute"], 1, "policy");
    let message = r.message();
    assert!(message.contains("step d: `touch d.ran`"), "{message}");
    for ok in ["step a", "step b", "step c"] {
        assert!(!message.contains(ok), "{ok} refused: {message}");
    }
}
