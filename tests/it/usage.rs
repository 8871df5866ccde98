//! Everyday use through the binary: mistakes get help (suggestions, TOML
//! line and column, config sources), help has examples, completions and man
//! pages come from the CLI.

use crate::common::*;

/// `baton <args>` in `repo` as text (no `--json`).
fn text(repo: &Repo, args: &[&str]) -> Run {
    let out = baton_cmd()
        .arg("-C")
        .arg(repo.path())
        .args(args)
        .env("BATON_ACTOR", "human:alice")
        .output()
        .expect("running baton");
    Run::from_output(args.iter().map(|s| s.to_string()).collect(), out)
}

#[test]
fn mistyped_subcommands_and_flags_suggest_the_closest() {
    let repo = Repo::new();
    let cases: &[(&[&str], &str)] = &[
        (&["claim", "T-1"], "did you mean `claims`?"),
        (&["claims", "cliam", "T-1"], "did you mean `claim`?"),
        (&["claims", "list", "--stat", "active"], "did you mean `--state`?"),
        (&["workflow", "stauts"], "did you mean `status`?"),
    ];
    for (args, suggestion) in cases {
        let tip = repo.tip();
        let run = text(&repo, args);
        assert_eq!(run.code, 2, "{}", run.describe());
        assert!(run.stderr.starts_with("error: "), "{}", run.describe());
        let hint = run.stderr.lines().find(|l| l.starts_with("hint: ")).unwrap_or_default();
        assert!(hint.contains(suggestion), "{}", run.describe());
        assert!(run.stdout.is_empty(), "{}", run.describe());
        assert_eq!(repo.tip(), tip);
        // The same with --json: one error document.
        let mut with_json = vec!["--json"];
        with_json.extend_from_slice(args);
        let run = text(&repo, &with_json);
        let e = run.err(2, "usage");
        assert!(e["hint"].as_str().unwrap().contains(suggestion), "{e}");
    }
}

#[test]
fn help_describes_positionals_shows_examples_and_groups_global_flags() {
    let repo = Repo::new();
    let run = text(&repo, &["claims", "claim", "--help"]);
    let help = run.ok_text();
    assert!(help.contains("<ID>  The claim id"), "{help}");
    assert!(help.contains("Examples:\n  $ baton claims claim T-42"), "{help}");
    let (own, global) = help.split_once("Global options:").expect("a Global options heading");
    assert!(own.contains("--lease"), "{help}");
    assert!(
        !own.contains("--actor") && global.contains("--actor") && global.contains("--json"),
        "{help}"
    );
    // `help <command>` renders the same.
    assert_eq!(text(&repo, &["help", "claims", "claim"]).ok_text(), help);
    // A group without its subcommand: help on stderr, exit 2.
    let run = text(&repo, &["claims"]);
    assert_eq!(run.code, 2, "{}", run.describe());
}

#[test]
fn toml_errors_name_line_and_column() {
    let repo = Repo::new();
    define(
        &repo,
        "broken",
        "description = \"x\"\n\n[steps.build]\ncommand = \"make\n",
    );
    let run = repo.refuse(
        "human:alice",
        &["workflow", "validate", "broken"],
        2,
        "invalid_workflow",
    );
    assert!(run.message().contains("line 4, column"), "{}", run.describe());
    // A config.toml that does not parse, committed by hand.
    repo.commit_files(
        &[("config.toml", b"schema = 1\n[claims]\nstale_after = = \"1h\"\n")],
        "hand edit",
    );
    let run = repo.run("human:alice", &["config", "get", "claims.stale_after"]);
    run.err(3, "corrupt_state");
    assert!(run.message().contains("line 3, column 15"), "{}", run.describe());
}

#[test]
fn config_list_and_get_say_where_values_come_from() {
    let repo = Repo::new();
    repo.run("human:alice", &["config", "set", "claims.stale_after", "12h"])
        .ok();
    let doc = repo.run("human:alice", &["config", "list"]).ok();
    let settings = doc["settings"].as_array().unwrap();
    assert_eq!(settings.len(), 18, "{doc}");
    let find = |k: &str| settings.iter().find(|s| s["key"] == k).unwrap().clone();
    assert_eq!(find("learn.packs")["source"], "default");
    let stale = find("claims.stale_after");
    assert_eq!(
        (stale["value"].as_str(), stale["default"].as_str()),
        (Some("12h"), Some("48h"))
    );
    assert_eq!(stale["source"], "state");
    assert_eq!(find("claims.handoff_timeout")["source"], "default");
    let listed = text(&repo, &["config", "list"]);
    let line = |k: &str| {
        listed
            .stdout
            .lines()
            .find(|l| l.starts_with(k))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        line("claims.stale_after ").contains("state config (default 48h)"),
        "{}",
        listed.stdout
    );
    assert!(line("claims.handoff_timeout ").contains("default"), "{}", listed.stdout);
    assert!(line("claims.default_lease ").ends_with(" -"), "{}", listed.stdout);

    // get: the value on stdout; at its default, a note on stderr says so.
    let run = text(&repo, &["config", "get", "claims.handoff_timeout"]);
    assert_eq!(run.ok_text(), "24h\n");
    assert!(
        run.stderr
            .contains("note: 24h is the default of claims.handoff_timeout"),
        "{}",
        run.describe()
    );
    let run = text(&repo, &["config", "get", "claims.default_lease"]);
    assert!(
        run.stderr.contains("claims.default_lease is not set (its default)"),
        "{}",
        run.describe()
    );
    let run = text(&repo, &["config", "get", "claims.stale_after"]);
    assert_eq!((run.ok_text(), run.stderr.as_str()), ("12h\n", ""));
    let run = text(&repo, &["-q", "config", "get", "claims.handoff_timeout"]);
    assert_eq!(run.stderr, "", "{}", run.describe());
    let doc = repo
        .run("human:alice", &["config", "get", "claims.handoff_timeout"])
        .ok();
    assert_eq!(doc["source"], "default");
}

/// What baton offers for the word being typed (the fish protocol: one
/// candidate per line, a tab before its description).
fn complete(repo: &Repo, words: &[&str]) -> Vec<String> {
    let out = baton_cmd()
        .current_dir(repo.path())
        .env("BATON_COMPLETE", "fish")
        .arg("--")
        .arg("baton")
        .args(words)
        .output()
        .expect("running baton");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').next().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn completions_offer_states_roles_agents_and_workflow_names() {
    let repo = Repo::new();
    repo.run("human:alice", &["pool", "spawn", "--role", "reviewer", "--count", "2"])
        .ok();
    repo.run("human:alice", &["workflow", "template", "init", "rust-ship"])
        .ok();
    define(
        &repo,
        "ship",
        "name = \"ship\"\n[[steps]]\nid = \"a\"\nrun = [\"true\"]\n",
    );
    assert_eq!(
        complete(&repo, &["claims", "list", "--state", ""]),
        ["active", "paused", "blocked", "handoff_pending", "completed", "expired"]
    );
    assert_eq!(
        complete(&repo, &["claims", "list", "--state", "h"]),
        ["handoff_pending"]
    );
    assert_eq!(complete(&repo, &["claims", "claim", "T-1", "--role", ""]), ["reviewer"]);
    let agents = complete(&repo, &["pool", "drain", ""]);
    assert!(
        agents.starts_with(&["reviewer-1".to_owned(), "reviewer-2".to_owned()]),
        "{agents:?}"
    );
    let workflows = complete(&repo, &["workflow", "run", ""]);
    assert!(
        workflows.starts_with(&["rust-ship".to_owned(), "ship".to_owned()]),
        "{workflows:?}"
    );
    assert_eq!(complete(&repo, &["clai"]), ["claims"]);
    assert_eq!(complete(&repo, &["config", "get", "claims.st"]), ["claims.stale_after"]);
    // Outside a repository the state's values are simply not offered.
    let elsewhere = assert_fs::TempDir::new().unwrap();
    let out = baton_cmd()
        .current_dir(elsewhere.path())
        .env("BATON_COMPLETE", "fish")
        .args(["--", "baton", "claims", "claim", "T-1", "--role", ""])
        .output()
        .unwrap();
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
}

#[test]
fn completion_scripts_call_baton_back_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = baton_cmd().args(["completions", shell]).output().unwrap();
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && script.contains("BATON_COMPLETE"),
            "{shell}: {script}"
        );
    }
    let run = Run::from_output(
        vec!["completions".into(), "tcsh".into()],
        baton_cmd().args(["--json", "completions", "tcsh"]).output().unwrap(),
    );
    run.err(2, "usage");
}

#[test]
fn man_pages_come_from_the_cli() {
    let out = baton_cmd().arg("man").output().unwrap();
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && page.contains(".TH baton 1"), "{page}");
    assert!(page.contains("claims"), "{page}");
    let dir = assert_fs::TempDir::new().unwrap();
    let target = dir.path().join("man1");
    let out = baton_cmd()
        .arg("--json")
        .arg("man")
        .arg("--dir")
        .arg(&target)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pages: Vec<&str> = doc["pages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert!(
        pages.contains(&"baton.1") && pages.contains(&"baton-claims-claim.1"),
        "{doc}"
    );
    let claim = std::fs::read_to_string(target.join("baton-claims-claim.1")).unwrap();
    assert!(
        claim.contains(r"baton claims claim T\-42"),
        "the page has the example: {claim}"
    );
}

/// `baton daemon install <manager>` in `repo` with `home` as HOME.
fn install(repo: &Repo, home: &std::path::Path, args: &[&str]) -> Run {
    let mut all = vec!["daemon", "install"];
    all.extend_from_slice(args);
    repo.run_env("human:dana", &all, &[("HOME", home.to_str().unwrap())])
}

#[test]
fn daemon_install_writes_a_systemd_unit_that_verifies_and_a_launchd_agent() {
    let repo = Repo::new();
    let home = assert_fs::TempDir::new().unwrap();
    let doc = install(&repo, home.path(), &["systemd"]).ok();
    let unit_path = std::path::PathBuf::from(doc["path"].as_str().unwrap());
    let repo_dir = repo.path().canonicalize().unwrap();
    let name = repo_dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .trim_start_matches('.')
        .to_owned();
    assert_eq!(
        unit_path,
        home.path()
            .join(format!(".config/systemd/user/baton-daemon-{name}.service"))
    );
    assert_eq!(doc["changed"], true);
    let unit = std::fs::read_to_string(&unit_path).unwrap();
    let exe = exe().canonicalize().unwrap();
    assert!(
        unit.contains(&format!(
            "ExecStart={} -C {} daemon run",
            exe.display(),
            repo_dir.display()
        )),
        "{unit}"
    );
    assert!(unit.contains("Environment=BATON_ACTOR=human:dana"), "{unit}");
    let (unit_section, service_section) = unit.split_once("\n[Service]\n").unwrap();
    assert!(unit_section.contains("\nStartLimitIntervalSec=") && unit_section.contains("\nStartLimitBurst="));
    assert!(!service_section.contains("StartLimit"), "{unit}");
    match std::process::Command::new("systemd-analyze").arg("--version").output() {
        Ok(o) if o.status.success() => {
            let out = std::process::Command::new("systemd-analyze")
                .arg("verify")
                .arg(&unit_path)
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "systemd-analyze verify: {said}");
            assert!(!said.contains(&*unit_path.to_string_lossy()), "verify warned: {said}");
        }
        _ => eprintln!("skipped: systemd-analyze is not installed, the unit was not verified"),
    }
    // Again: nothing to do. A different file there: refused unless --force.
    assert_eq!(install(&repo, home.path(), &["systemd"]).ok()["changed"], false);
    std::fs::write(&unit_path, "[Unit]\n").unwrap();
    let run = repo.refuse_env(
        "human:dana",
        &["daemon", "install", "systemd"],
        &[("HOME", home.path().to_str().unwrap())],
        1,
        "exists",
    );
    assert!(run.hint().contains("--force"), "{}", run.describe());
    assert_eq!(
        install(&repo, home.path(), &["systemd", "--force"]).ok()["changed"],
        true
    );

    let doc = install(&repo, home.path(), &["launchd"]).ok();
    let plist = std::fs::read_to_string(doc["path"].as_str().unwrap()).unwrap();
    assert!(doc["path"]
        .as_str()
        .unwrap()
        .ends_with(&format!("Library/LaunchAgents/com.baton.daemon.{name}.plist")));
    assert!(
        plist.contains("<key>BATON_ACTOR</key>\n    <string>human:dana</string>"),
        "{plist}"
    );
    assert!(
        plist.contains(&format!("<string>{}</string>", exe.display())),
        "{plist}"
    );
    assert!(
        plist.contains(&format!("<string>{}</string>", repo_dir.display())),
        "{plist}"
    );
    let out = home.path().join("elsewhere/baton.service");
    let doc = install(&repo, home.path(), &["systemd", "--output", out.to_str().unwrap()]).ok();
    assert_eq!(doc["path"], out.to_str().unwrap());
    assert!(out.is_file());
    repo.refuse(
        "human:dana",
        &["daemon", "install", "upstart"],
        2,
        "unknown_service_manager",
    );
}

/// A state with a 2 MB blob in it, so a transfer takes many packets.
fn heavy_state(repo: &Repo) {
    // xorshift: bytes zlib cannot shrink, so the pack stays large.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..2_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    repo.commit_files(&[("notes/big.bin", &noise)], "a large file");
}

/// `baton sync` over the fixture ssh that drops the connection after
/// `limit` bytes.
fn sync_over_dying_ssh(repo: &Repo, limit: &str) -> Run {
    let ssh = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dying-ssh");
    repo.run_env(
        "human:alice",
        &["sync"],
        &[("GIT_SSH_COMMAND", ssh.to_str().unwrap()), ("DYING_SSH_LIMIT", limit)],
    )
}

#[test]
fn a_server_that_goes_away_mid_transfer_is_reported_as_that() {
    let server = assert_fs::TempDir::new().unwrap();
    let bare = server.path().join("state.git");
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git").args(args).output().unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
    let url = format!("ssh://example.invalid{}", bare.display());

    // Pushing: the connection drops while the pack goes up.
    let a = Repo::new();
    heavy_state(&a);
    a.git(&["remote", "add", "origin", &url]);
    let tip = a.tip();
    let run = sync_over_dying_ssh(&a, "60000");
    let e = run.err(3, "remote_interrupted");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("broke off while pushing to origin"),
        "{e}"
    );
    assert!(!e["hint"].as_str().unwrap().contains("check"), "{e}");
    assert_eq!(a.tip(), tip, "local state unchanged");
    // The same transport with room enough: an ordinary sync.
    assert_eq!(sync_over_dying_ssh(&a, "100000000").ok()["action"], "pushed");

    // Fetching: the connection drops while the pack comes down.
    let b = Repo::new();
    b.git(&["remote", "add", "origin", &url]);
    let tip = b.tip();
    let run = sync_over_dying_ssh(&b, "60000");
    let e = run.err(3, "remote_interrupted");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("broke off while fetching from origin"),
        "{e}"
    );
    assert_eq!(b.tip(), tip, "local state unchanged");

    // A repository that is not there is still a matter of the URL.
    let c = Repo::new();
    c.git(&[
        "remote",
        "add",
        "origin",
        &format!("ssh://example.invalid{}/none.git", server.path().display()),
    ]);
    let run = sync_over_dying_ssh(&c, "100000000");
    let e = run.err(3, "remote_unreachable");
    assert!(e["hint"].as_str().unwrap().contains("URL"), "{e}");
}

/// `baton <args>` in `repo` on a terminal (util-linux `script` gives it a
/// pty; stdout and stderr arrive together), or `None` where `script` is
/// missing.
fn on_terminal(repo: &Repo, args: &str, env: &[(&str, &str)]) -> Option<String> {
    let line = format!("{} -C {} {args}", exe().display(), repo.path().display());
    let mut cmd = std::process::Command::new("script");
    hermetic(&mut cmd)
        .args(["-qec", &line, "/dev/null"])
        .env("BATON_ACTOR", "human:alice")
        .env("TERM", "xterm")
        .env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    match cmd.output() {
        Ok(out) => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Err(_) => {
            eprintln!("skipped: util-linux `script` is not installed, no terminal to test on");
            None
        }
    }
}

#[test]
fn labels_are_coloured_on_a_terminal_unless_no_color() {
    let repo = Repo::new();
    let Some(shown) = on_terminal(&repo, "claim T-1", &[]) else {
        return;
    };
    assert!(
        shown.contains("\x1b[1;31merror:\x1b[0m unrecognized subcommand"),
        "{shown:?}"
    );
    assert!(shown.contains("\x1b[36mhint:\x1b[0m did you mean"), "{shown:?}");
    let plain = on_terminal(&repo, "claim T-1", &[("NO_COLOR", "1")]).unwrap();
    assert!(
        plain.contains("error: unrecognized") && !plain.contains('\x1b'),
        "{plain:?}"
    );
    // Not a terminal: never a colour.
    let run = text(&repo, &["claim", "T-1"]);
    assert!(!run.stderr.contains('\x1b'), "{}", run.describe());
}

#[test]
fn network_operations_show_progress_on_a_terminal_only() {
    let server = assert_fs::TempDir::new().unwrap();
    let bare = server.path().join("state.git");
    let out = std::process::Command::new("git")
        .args(["init", "-q", "--bare", bare.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let repo = Repo::new();
    heavy_state(&repo);
    repo.git(&[
        "remote",
        "add",
        "origin",
        &format!("ssh://example.invalid{}", bare.display()),
    ]);
    let ssh = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dying-ssh");
    let env = [
        ("GIT_SSH_COMMAND", ssh.to_str().unwrap()),
        ("DYING_SSH_LIMIT", "100000000"),
    ];
    // The push of 2 MB through the byte-at-a-time fixture takes seconds.
    let Some(shown) = on_terminal(&repo, "sync", &env) else {
        return;
    };
    assert!(shown.contains("pushing to origin..."), "{shown:?}");
    assert!(shown.contains("\r\x1b[K"), "the line is cleared: {shown:?}");
    assert!(shown.contains("published to origin"), "{shown:?}");
    // -q: nothing at all. Not a terminal: no progress line.
    repo.commit_files(&[("notes/more.bin", b"more")], "more");
    let quiet = on_terminal(&repo, "-q sync", &env).unwrap();
    assert!(!quiet.contains("origin"), "{quiet:?}");
    repo.commit_files(&[("notes/again.bin", b"again")], "again");
    let run = repo.run_env("human:alice", &["sync"], &env);
    assert_eq!(run.ok()["action"], "pushed");
    assert_eq!(run.stderr, "", "{}", run.describe());
}

#[test]
fn refusals_read_as_sentences() {
    let repo = Repo::new();
    repo.run("human:alice", &["claims", "claim", "T-1"]).ok();
    repo.run("human:alice", &["claims", "release", "T-1"]).ok();
    for (verb, done) in [("handoff", "handed off"), ("pause", "paused"), ("renew", "renewed")] {
        let mut args = vec!["claims", verb, "T-1"];
        if verb == "handoff" {
            args.extend(["--to", "human:bob"]);
        }
        let run = repo.refuse("human:alice", &args, 1, "wrong_state");
        assert!(
            run.message().ends_with(&format!("claims can be {done}")),
            "{}",
            run.describe()
        );
    }
}

#[test]
fn doctor_flags_timestamps_from_the_future() {
    let repo = Repo::new();
    repo.run("human:alice", &["claims", "claim", "T-1"]).ok();
    let doc = repo.run("human:alice", &["doctor"]).json();
    let future = |doc: &serde_json::Value| -> Vec<String> {
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check"].as_str().unwrap_or("").ends_with(".future"))
            .map(|f| format!("{} {}", f["check"].as_str().unwrap(), f["message"].as_str().unwrap()))
            .collect()
    };
    assert!(future(&doc).is_empty(), "{doc}");
    // Written with the clock a day ahead (BATON_NOW), read on the real clock.
    let ahead = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    repo.run_at("human:alice", &ahead, &["claims", "claim", "T-2"]).ok();
    repo.run_at("human:alice", &ahead, &["pool", "spawn", "--role", "rev"])
        .ok();
    let doc = repo.run("human:alice", &["doctor"]).json();
    let found = future(&doc);
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("claims.future claim T-2 updated_at")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("pool.future agent rev-1 created_at")),
        "{found:?}"
    );
    assert!(!found.iter().any(|f| f.contains("T-1")), "{found:?}");
    let finding = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "claims.future")
        .unwrap();
    assert_eq!(finding["severity"], "warn", "{finding}");
    assert!(finding["hint"].as_str().unwrap().contains("clock"), "{finding}");
}

/// The first ```sh block under `## Use` in the README.
fn readme_use_block() -> String {
    let readme = include_str!("../../README.md");
    let use_section = &readme[readme.find("\n## Use\n").expect("a Use section")..];
    let block = use_section.split("```sh\n").nth(1).expect("a sh block under Use");
    block.split("\n```").next().unwrap().to_owned()
}

#[test]
fn the_readme_use_block_runs_as_written_from_a_fresh_directory() {
    let dir = assert_fs::TempDir::new().unwrap();
    let script = dir.path().join("use.sh");
    std::fs::write(&script, readme_use_block()).unwrap();
    let bin = exe();
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = std::process::Command::new("bash");
    hermetic(&mut cmd)
        .arg("-euo")
        .arg("pipefail")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path);
    let out = cmd.output().unwrap();
    // Whatever happened, no daemon is left running.
    let _ = std::process::Command::new(&bin)
        .args(["-C", dir.path().join("demo").to_str().unwrap(), "daemon", "stop"])
        .output();
    let said = format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the README's Use block failed: {said}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("of T-41: closed"), "{said}");
    assert!(stdout.contains("0 error(s)"), "{said}");
}

#[test]
fn no_file_points_at_a_design_document_the_repository_does_not_have() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new("git")
        .args(["-C", root, "ls-files", "-z"])
        .output()
        .unwrap();
    assert!(out.status.success());
    // Built at run time, so this file does not match itself.
    let needles = [format!("{}.md", "DESIGN"), format!("{} §", "DESIGN")];
    let mut found = Vec::new();
    for path in String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .filter(|p| !p.is_empty())
    {
        let Ok(text) = std::fs::read_to_string(std::path::Path::new(root).join(path)) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if needles.iter().any(|needle| line.contains(needle.as_str())) {
                found.push(format!("{path}:{}: {line}", n + 1));
            }
        }
    }
    assert!(found.is_empty(), "cite docs/*.md instead:\n{}", found.join("\n"));
}
