//! End to end with the real agent clients (Claude Code, Codex, Gemini CLI,
//! opencode) against a scripted model endpoint on localhost
//! (`clients_support`): the hooks `learn hooks install` writes deny a
//! risky shell command and an edit of a file another actor reserved, and
//! the entry `baton mcp install` writes starts `baton mcp`, whose `claim`
//! the client calls. Outcomes are read from what the client sent back to
//! the model (the tool results), from the file, and from baton's state.
//!
//! A test whose client is not installed under `BATON_E2E_CLIENTS_DIR`
//! prints why and passes (README.md's test section); the recorded payloads of
//! `learn.rs` and `reservations.rs` are the tests that always run.

use serde_json::{json, Value};

use crate::clients_support::{
    describe, on_path, path_with_baton, step, Client, ModelServer, Setup, Step, HOLDER, LOCKED, LOCKED_TEXT,
};

const FORCE_PUSH: &str = "git push --force origin main";

/// A low-risk command that runs and succeeds, so the post-tool hook records it.
const STATUS: &str = "git status --short";

/// The shell tool's two calls: the force push (denied) and `git status`
/// (runs; its outcome is recorded). `input` builds the tool's input.
fn shell_steps(tool: &str, input: impl Fn(&str) -> Value) -> Vec<Step> {
    vec![step(tool, input(FORCE_PUSH)), step(tool, input(STATUS))]
}

/// What the model is told; the script decides what it does.
const PROMPT: &str = "Do the task.";

/// The holder runs the client as itself, so its edit must go through.
fn as_holder() -> (&'static str, String) {
    ("BATON_ACTOR", HOLDER.to_owned())
}

fn assert_result_contains(server: &ModelServer, out: &std::process::Output, index: usize, wanted: &[&str]) {
    let results = server.tool_results();
    let result = results
        .get(index)
        .unwrap_or_else(|| panic!("no tool result {index} came back\n{}", describe(out, server)));
    for w in wanted {
        assert!(
            result.contains(w),
            "tool result {index} lacks {w:?}: {result}\n{}",
            describe(out, server)
        );
    }
}

/// The guard's deny reached the model, the command did not run, and the
/// decision was journaled as high; `git status` ran and the post-tool hook
/// recorded it, as a success when the client says how it ended (Codex does
/// not: `succeeded` is false there). The state ref did not move.
fn assert_guarded(
    setup: &Setup,
    server: &ModelServer,
    out: &std::process::Output,
    before: Option<String>,
    succeeded: bool,
) {
    assert_result_contains(server, out, 0, &["git.force-push"]);
    assert!(setup.decisions("high") >= 1, "{}", describe(out, server));
    let metrics = setup.repo.run("human:reader", &["learn", "metrics"]).ok();
    let status = metrics["families"]
        .as_array()
        .expect("families")
        .iter()
        .find(|f| f["family"] == "git status")
        .cloned()
        .unwrap_or_else(|| panic!("`git status` was not recorded: {metrics}\n{}", describe(out, server)));
    assert_eq!(status["runs"], 1, "{status}");
    assert_eq!(status["successes"], u64::from(succeeded), "{status}");
    assert_eq!(status["failures"], 0, "{status}");
    assert_eq!(setup.repo.tip(), before, "the guard moved the state ref");
}

fn assert_edit_refused(setup: &Setup, server: &ModelServer, out: &std::process::Output, index: usize) {
    assert_result_contains(
        server,
        out,
        index,
        &[&format!("{LOCKED} is reserved exclusive by {HOLDER}"), "T-1"],
    );
    assert_eq!(setup.locked(), LOCKED_TEXT, "the reserved file was written");
}

/// The claim the client made through `baton mcp`, and the refusal of one
/// overlapping T-1's reservation (a tool error with baton's hint).
fn mcp_steps(tool: &str) -> Vec<Step> {
    vec![
        step(tool, json!({"id": "T-2", "paths": ["docs/notes.md"]})),
        step(tool, json!({"id": "T-3", "paths": [LOCKED]})),
    ]
}

fn assert_claimed_through_mcp(setup: &Setup, server: &ModelServer, out: &std::process::Output, client: Client) {
    assert_result_contains(server, out, 0, &["claims.claim", "T-2"]);
    // Codex shows the model a result's `structuredContent` (the error document), the
    // others its text (`error:` and `hint:` lines): both name the holder and a hint.
    assert_result_contains(server, out, 1, &[HOLDER, "hint", "T-1"]);
    let claim = setup.repo.claim("T-2");
    assert_eq!(claim["owner"], format!("agent:{}", client.name()), "{claim}");
    assert_eq!(
        claim["reservations"],
        json!([{"pattern": "docs/notes.md", "mode": "exclusive"}]),
        "{claim}"
    );
    let all: Vec<Value> = setup.repo.claims();
    assert!(
        all.iter().all(|c| c["id"] != "T-3"),
        "the refused claim landed: {all:?}"
    );
}

// ---------------------------------------------------------------- Claude Code

fn claude(setup: &Setup, bin: &std::path::Path, server: &ModelServer, extra: &[&str]) -> std::process::Output {
    claude_as(setup, bin, server, extra, None)
}

fn claude_as(
    setup: &Setup,
    bin: &std::path::Path,
    server: &ModelServer,
    extra: &[&str],
    actor: Option<(&str, String)>,
) -> std::process::Output {
    let mut args = vec!["-p", PROMPT, "--output-format", "json", "--model", "claude-sonnet-4-5"];
    args.extend_from_slice(extra);
    let mut env = vec![
        ("ANTHROPIC_BASE_URL", server.url()),
        ("ANTHROPIC_API_KEY", "sk-baton-test".to_owned()),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_owned()),
        ("DISABLE_AUTOUPDATER", "1".to_owned()),
    ];
    env.extend(actor);
    setup.run(bin, &args, &env)
}

#[test]
fn claude_code_shell_tool_is_guarded_and_recorded() {
    let Some(bin) = Client::Claude.find() else { return };
    let setup = Setup::new();
    setup.baton(&["learn", "hooks", "install", "claude"]);
    let before = setup.repo.tip();
    let server = ModelServer::start(shell_steps("Bash", |c| json!({"command": c, "description": "Run it"})));
    let out = claude(&setup, &bin, &server, &["--allowedTools", "Bash"]);
    assert_guarded(&setup, &server, &out, before, true);
}

/// A medium verdict is an `ask`; headless Claude Code, with nobody to ask,
/// turns it into a denial that carries the reasons (docs/learn.md).
#[test]
fn claude_code_headless_turns_an_ask_into_a_denial() {
    let Some(bin) = Client::Claude.find() else { return };
    let setup = Setup::new();
    setup.baton(&["learn", "hooks", "install", "claude"]);
    setup.repo.git(&["branch", "feature"]);
    let server = ModelServer::start(vec![step(
        "Bash",
        json!({"command": "git branch -D feature", "description": "Delete it"}),
    )]);
    let out = claude(&setup, &bin, &server, &["--allowedTools", "Bash"]);
    assert_result_contains(&server, &out, 0, &["baton: medium risk", "git.branch-force-delete"]);
    assert!(setup.decisions("medium") >= 1, "{}", describe(&out, &server));
    assert_eq!(
        setup.repo.git(&["branch", "--list", "feature"]),
        "feature",
        "the branch was deleted"
    );
}

#[test]
fn claude_code_edit_tools_are_denied_on_a_reserved_file_and_pass_for_its_holder() {
    let Some(bin) = Client::Claude.find() else { return };
    let setup = Setup::new();
    setup.baton(&["learn", "hooks", "install", "claude"]);
    let file = setup.repo.path().join(LOCKED).display().to_string();
    // Claude Code edits only a file it has read.
    let steps = vec![
        step("Read", json!({"file_path": file})),
        step(
            "Edit",
            json!({"file_path": file, "old_string": "original", "new_string": "changed"}),
        ),
        step("Write", json!({"file_path": file, "content": "written\n"})),
    ];
    let server = ModelServer::start(steps.clone());
    let out = claude(&setup, &bin, &server, &["--permission-mode", "acceptEdits"]);
    assert_edit_refused(&setup, &server, &out, 1);
    assert_edit_refused(&setup, &server, &out, 2);

    let server = ModelServer::start(steps);
    let out = claude_as(
        &setup,
        &bin,
        &server,
        &["--permission-mode", "acceptEdits"],
        Some(as_holder()),
    );
    assert_result_contains(&server, &out, 1, &["updated"]);
    assert_eq!(setup.locked(), "written\n", "{}", describe(&out, &server));
}

#[test]
fn claude_code_claims_through_baton_mcp() {
    let Some(bin) = Client::Claude.find() else { return };
    let setup = Setup::new();
    setup.baton(&["mcp", "install", "claude"]);
    // The user's approval of the project's .mcp.json servers.
    setup.write_repo(".claude/settings.local.json", r#"{"enableAllProjectMcpServers": true}"#);
    let server = ModelServer::start(mcp_steps("mcp__baton__claim"));
    let out = claude(&setup, &bin, &server, &["--allowedTools", "mcp__baton__claim"]);
    assert_claimed_through_mcp(&setup, &server, &out, Client::Claude);
}

// ---------------------------------------------------------------------- Codex

/// Codex's home: the scripted endpoint as its model provider, the
/// repository trusted (Codex reads a project's `.codex/` only then).
fn codex_home(setup: &Setup, server: &ModelServer) {
    let repo = setup.repo.path().canonicalize().expect("the repository's path");
    setup.write_home(
        ".codex/config.toml",
        &format!(
            "model = \"gpt-5.5\"\nmodel_provider = \"scripted\"\n\n\
             [model_providers.scripted]\nname = \"scripted\"\nbase_url = \"{}/v1\"\n\
             wire_api = \"responses\"\nenv_key = \"BATON_E2E_MODEL_KEY\"\n\n\
             [projects.\"{}\"]\ntrust_level = \"trusted\"\n",
            server.url(),
            repo.display()
        ),
    );
}

fn codex(
    setup: &Setup,
    bin: &std::path::Path,
    server: &ModelServer,
    extra: &[&str],
    actor: Option<(&str, String)>,
) -> std::process::Output {
    codex_home(setup, server);
    // Hook trust is the user's review in `codex`; `exec` skips untrusted
    // hooks, so the test vouches for baton's.
    let mut args = vec!["exec", "--skip-git-repo-check", "--dangerously-bypass-hook-trust"];
    args.extend_from_slice(extra);
    args.push(PROMPT);
    let mut env = vec![
        ("CODEX_HOME", setup.home().join(".codex").display().to_string()),
        ("BATON_E2E_MODEL_KEY", "sk-baton-test".to_owned()),
    ];
    env.extend(actor);
    setup.run(bin, &args, &env)
}

#[test]
fn codex_shell_tool_is_guarded_and_recorded() {
    let Some(bin) = Client::Codex.find() else { return };
    let setup = Setup::new();
    setup.baton(&["learn", "hooks", "install", "codex"]);
    let before = setup.repo.tip();
    let server = ModelServer::start(shell_steps("exec_command", |c| json!({"cmd": c})));
    let out = codex(&setup, &bin, &server, &[], None);
    assert_guarded(&setup, &server, &out, before, false);
}

#[test]
fn codex_apply_patch_is_denied_on_a_reserved_file_and_passes_for_its_holder() {
    let Some(bin) = Client::Codex.find() else { return };
    let setup = Setup::new();
    setup.baton(&["learn", "hooks", "install", "codex"]);
    let patch = format!("*** Begin Patch\n*** Update File: {LOCKED}\n@@\n-original\n+changed\n*** End Patch\n");
    let server = ModelServer::start(vec![step("apply_patch", json!(patch))]);
    let out = codex(&setup, &bin, &server, &[], None);
    assert_edit_refused(&setup, &server, &out, 0);

    let server = ModelServer::start(vec![step("apply_patch", json!(patch))]);
    let out = codex(&setup, &bin, &server, &[], Some(as_holder()));
    assert_eq!(setup.locked(), "changed\n", "{}", describe(&out, &server));
}

#[test]
fn codex_claims_through_baton_mcp() {
    let Some(bin) = Client::Codex.find() else { return };
    let setup = Setup::new();
    setup.baton(&["mcp", "install", "codex"]);
    // A model Codex has no metadata for gets the MCP tools offered directly
    // (known models find them through tool search first); `codex exec`
    // never asks, so the tools are approved for the run.
    let args = [
        "-m",
        "scripted-model",
        "-c",
        "mcp_servers.baton.default_tools_approval_mode=\"approve\"",
    ];
    let server = ModelServer::start(mcp_steps("mcp__baton/claim"));
    let out = codex(&setup, &bin, &server, &args, None);
    assert_claimed_through_mcp(&setup, &server, &out, Client::Codex);

    // Codex passes a server only the variables its entry names: a pool
    // agent's BATON_ACTOR reaches `baton mcp` through `env_vars`.
    let server = ModelServer::start(vec![step(
        "mcp__baton/claim",
        json!({"id": "T-4", "paths": ["docs/other.md"]}),
    )]);
    let out = codex(
        &setup,
        &bin,
        &server,
        &args,
        Some(("BATON_ACTOR", "agent:builder-2".to_owned())),
    );
    assert_result_contains(&server, &out, 0, &["claims.claim"]);
    assert_eq!(setup.repo.claim("T-4")["owner"], "agent:builder-2");
}

// ----------------------------------------------------------------- Gemini CLI

fn gemini(
    setup: &Setup,
    bin: &std::path::Path,
    server: &ModelServer,
    actor: Option<(&str, String)>,
) -> std::process::Output {
    setup.write_home(
        ".gemini/settings.json",
        r#"{"security": {"auth": {"selectedType": "gemini-api-key"}}}"#,
    );
    // A fixed model: the default routes every prompt through a classifier
    // model first, which the script does not play.
    let args = [
        "-p",
        PROMPT,
        "--output-format",
        "json",
        "--yolo",
        "-m",
        "gemini-2.5-pro",
    ];
    let mut env = vec![
        ("GEMINI_API_KEY", "baton-test".to_owned()),
        ("GOOGLE_GEMINI_BASE_URL", server.url()),
        ("GEMINI_CLI_TRUST_WORKSPACE", "true".to_owned()),
    ];
    env.extend(actor);
    setup.run(bin, &args, &env)
}

#[test]
fn gemini_cli_shell_tool_is_guarded_and_recorded() {
    let Some(bin) = Client::Gemini.find() else { return };
    let setup = Setup::new();
    setup.baton(&["learn", "hooks", "install", "gemini"]);
    let before = setup.repo.tip();
    let server = ModelServer::start(shell_steps("run_shell_command", |c| json!({"command": c})));
    let out = gemini(&setup, &bin, &server, None);
    assert_guarded(&setup, &server, &out, before, true);
}

#[test]
fn gemini_cli_edit_tools_are_denied_on_a_reserved_file_and_pass_for_its_holder() {
    let Some(bin) = Client::Gemini.find() else { return };
    let setup = Setup::new();
    setup.baton(&["learn", "hooks", "install", "gemini"]);
    let file = setup.repo.path().join(LOCKED).display().to_string();
    let edit = step(
        "replace",
        json!({"file_path": file, "old_string": "original", "new_string": "changed", "instruction": "Change it."}),
    );
    let write = step("write_file", json!({"file_path": file, "content": "written\n"}));
    let server = ModelServer::start(vec![edit.clone(), write.clone()]);
    let out = gemini(&setup, &bin, &server, None);
    assert_edit_refused(&setup, &server, &out, 0);
    assert_edit_refused(&setup, &server, &out, 1);

    let server = ModelServer::start(vec![edit, write]);
    let out = gemini(&setup, &bin, &server, Some(as_holder()));
    assert_eq!(setup.locked(), "written\n", "{}", describe(&out, &server));
}

#[test]
fn gemini_cli_claims_through_baton_mcp() {
    let Some(bin) = Client::Gemini.find() else { return };
    let setup = Setup::new();
    setup.baton(&["mcp", "install", "gemini"]);
    let server = ModelServer::start(mcp_steps("mcp_baton_claim"));
    let out = gemini(&setup, &bin, &server, None);
    assert_claimed_through_mcp(&setup, &server, &out, Client::Gemini);
}

// ------------------------------------------------------------------- opencode

/// opencode's global config: both providers it may talk to pointed at the
/// scripted endpoint; `model` picks the one (an OpenAI model gets
/// `apply_patch` instead of `edit` and `write`).
fn opencode(
    setup: &Setup,
    bin: &std::path::Path,
    server: &ModelServer,
    model: &str,
    actor: Option<(&str, String)>,
) -> std::process::Output {
    let base = format!("{}/v1", server.url());
    let config = json!({
        "autoupdate": false,
        "share": "disabled",
        "provider": {
            "anthropic": {"options": {"baseURL": base, "apiKey": "sk-baton-test"}},
            "openai": {"options": {"baseURL": base, "apiKey": "sk-baton-test"}},
        },
        "model": model,
        "small_model": model,
    });
    setup.write_home(".config/opencode/opencode.json", &config.to_string());
    let args = ["run", "--format", "json", PROMPT];
    let mut env = vec![
        ("OPENCODE_DISABLE_MODELS_FETCH", "1".to_owned()),
        ("OPENCODE_DISABLE_AUTOUPDATE", "1".to_owned()),
        // opencode installs its plugin SDK into .opencode/ in the background;
        // baton's plugin imports nothing, so the test stays off the network.
        ("npm_config_offline", "true".to_owned()),
    ];
    env.extend(actor);
    setup.run(bin, &args, &env)
}

const CLAUDE_MODEL: &str = "anthropic/claude-sonnet-4-5";
const OPENAI_MODEL: &str = "openai/gpt-5.5";

#[test]
fn opencode_bash_tool_is_guarded_and_recorded() {
    let Some(bin) = Client::Opencode.find() else { return };
    let setup = Setup::new();
    setup.baton(&["learn", "hooks", "install", "opencode"]);
    let before = setup.repo.tip();
    let server = ModelServer::start(shell_steps("bash", |c| json!({"command": c, "description": "Run it"})));
    let out = opencode(&setup, &bin, &server, CLAUDE_MODEL, None);
    assert_guarded(&setup, &server, &out, before, true);
}

#[test]
fn opencode_edit_tools_are_denied_on_a_reserved_file() {
    let Some(bin) = Client::Opencode.find() else { return };
    let setup = Setup::new();
    setup.baton(&["learn", "hooks", "install", "opencode"]);
    let file = setup.repo.path().join(LOCKED).display().to_string();
    let server = ModelServer::start(vec![
        step(
            "edit",
            json!({"filePath": file, "oldString": "original", "newString": "changed"}),
        ),
        step("write", json!({"filePath": file, "content": "written\n"})),
    ]);
    let out = opencode(&setup, &bin, &server, CLAUDE_MODEL, None);
    assert_edit_refused(&setup, &server, &out, 0);
    assert_edit_refused(&setup, &server, &out, 1);
}

#[test]
fn opencode_apply_patch_is_denied_on_a_reserved_file_and_passes_for_its_holder() {
    let Some(bin) = Client::Opencode.find() else { return };
    let setup = Setup::new();
    setup.baton(&["learn", "hooks", "install", "opencode"]);
    let patch = format!("*** Begin Patch\n*** Update File: {LOCKED}\n@@\n-original\n+changed\n*** End Patch\n");
    let edit = step("apply_patch", json!({ "patchText": patch }));
    let server = ModelServer::start(vec![edit.clone()]);
    let out = opencode(&setup, &bin, &server, OPENAI_MODEL, None);
    assert_edit_refused(&setup, &server, &out, 0);

    let server = ModelServer::start(vec![edit]);
    let out = opencode(&setup, &bin, &server, OPENAI_MODEL, Some(as_holder()));
    assert_eq!(setup.locked(), "changed\n", "{}", describe(&out, &server));
}

#[test]
fn opencode_claims_through_baton_mcp() {
    let Some(bin) = Client::Opencode.find() else { return };
    let setup = Setup::new();
    setup.baton(&["mcp", "install", "opencode"]);
    let server = ModelServer::start(mcp_steps("baton_claim"));
    let out = opencode(&setup, &bin, &server, CLAUDE_MODEL, None);
    assert_claimed_through_mcp(&setup, &server, &out, Client::Opencode);
}

/// The plugin `learn hooks install opencode` writes, on opencode's recorded
/// edit calls (`edit`, and `apply_patch`, which opencode offers GPT models
/// instead of `edit` and `write`), run by node against this baton: refused
/// for another actor, let through for the holder. Needs node, not opencode.
#[test]
fn the_opencode_plugin_judges_recorded_edit_calls() {
    let Some(node) = on_path("node") else {
        eprintln!("skipped: node is not on PATH (the opencode plugin is JavaScript)");
        return;
    };
    let repo = crate::common::Repo::new();
    repo.run(HOLDER, &["claims", "claim", "T-1", "--paths", "src/store"])
        .ok();
    repo.run("human:setup", &["learn", "hooks", "install", "opencode"]).ok();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let plugin = repo.path().join(".opencode/plugins/baton-guard.js");
    let run = |fixture: &str, actor: &str| -> String {
        let mut cmd = std::process::Command::new(&node);
        crate::common::hermetic(&mut cmd);
        let out = cmd
            .arg(fixtures.join("opencode/run-plugin.mjs"))
            .arg(&plugin)
            .arg(repo.path())
            .arg(fixtures.join("edits").join(fixture))
            .env("PATH", path_with_baton())
            .env("BATON_ACTOR", actor)
            .output()
            .expect("running node");
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(
            out.status.success(),
            "{fixture}: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    for fixture in ["opencode-edit.json", "opencode-apply-patch.json"] {
        let refused = run(fixture, "agent:bob");
        assert!(
            refused.starts_with("threw: baton: reserved, not written.")
                && refused.contains("src/store/mod.rs is reserved exclusive by human:alice (T-1, pattern src/store)"),
            "{fixture} as bob: {refused}"
        );
        assert_eq!(run(fixture, HOLDER), "passed", "{fixture} as the holder");
    }
}
