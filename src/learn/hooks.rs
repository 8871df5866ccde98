//! The agents' hook protocols, as pure functions: a payload (the JSON the
//! agent writes to the hook's stdin) in, what to judge or record out; a
//! verdict in, the answer (stdout bytes and exit code) out.
//!
//! - Claude Code `PreToolUse` (tool `Bash`, `tool_input.command`): high ->
//!   `permissionDecision: "deny"`, medium -> `"ask"`, low -> no output, so
//!   the agent's own permission rules apply. `PostToolUse` carries
//!   `tool_response` (`stdout`, `stderr`, `interrupted`); a failed command
//!   arrives as `PostToolUseFailure` with `error` and `is_interrupt`.
//! - Codex sends the same shape (plus `turn_id` and `model`, by which it is
//!   told apart under `--hook claude`). Codex honours `deny` but fails open
//!   on `ask`, so medium is a `systemMessage` warning there. Its
//!   `PostToolUse` `tool_response` is the output text, with no exit status:
//!   the outcome is recorded as unknown.
//! - Gemini CLI `BeforeTool` (tool `run_shell_command`): `{"decision":
//!   "deny"|"ask", "reason": ..., "systemMessage": ...}`, and `{}` for low
//!   (Gemini expects JSON on stdout). Gemini shows the user `systemMessage`,
//!   not `reason`, when it asks. `AfterTool` carries
//!   `tool_response.llmContent` (with an `Exit Code: N` line when the
//!   command failed) and an optional `error`.
//!
//! Tools other than the shell pass through. Fail closed: a payload that is
//! not what the protocol says, or anything the guard needs that does not
//! load, is answered by [`answer_error`]: a deny in the client's shape, the
//! `error:` and `hint:` lines on stderr, and exit 2, which Claude Code,
//! Codex and Gemini all treat as "block".
//!
//! The settings merge of `learn hooks install <agent>` and the opencode
//! plugin are in [`mod@install`].

mod install;
mod invalid;

pub use install::{
    install, opencode_plugin, shell_quote, Clash, Conflict, HookCommand, Install, Target, CODEX_TRUST, OPENCODE_PLUGIN,
};
pub(crate) use install::{object_at, settings};
pub use invalid::{Invalid, NotInstalled};

use serde_json::{json, Map, Value};

use super::judge::{Level, Verdict};
use super::stats::CommandEnd;
use crate::error::Error;

type Result<T, E = Invalid> = std::result::Result<T, E>;

/// The hook protocol an agent speaks (`--hook claude|codex|gemini`): the
/// shape of its payloads and of the answers it reads. Not a pool agent
/// (`pool::Agent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Claude,
    Codex,
    Gemini,
}

impl Dialect {
    pub const NAMES: &'static str = "claude, codex, gemini";

    pub fn parse(raw: &str) -> Result<Dialect> {
        match raw {
            "claude" => Ok(Dialect::Claude),
            "codex" => Ok(Dialect::Codex),
            "gemini" => Ok(Dialect::Gemini),
            _ => Err(Invalid::UnknownHook(raw.to_owned())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Claude => "claude",
            Dialect::Codex => "codex",
            Dialect::Gemini => "gemini",
        }
    }

    fn shell_tool(self) -> &'static str {
        match self {
            Dialect::Claude | Dialect::Codex => "Bash",
            Dialect::Gemini => "run_shell_command",
        }
    }
}

/// What a pre-tool payload asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreRequest {
    /// A shell command to judge; answer with [`answer_pre`] in `dialect`.
    Judge {
        command: String,
        cwd: Option<String>,
        session_id: Option<String>,
        dialect: Dialect,
    },
    /// A file edit (docs/reservations.md): the files it writes, as the
    /// payload names them; answer with [`answer_pre`] in `dialect`.
    Edit {
        tool: String,
        paths: Vec<String>,
        cwd: Option<String>,
        dialect: Dialect,
    },
    /// Another tool: answer with [`answer_pass`].
    PassThrough { tool: String },
}

/// What a post-tool payload reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostRequest {
    Record {
        command: String,
        outcome: CommandEnd,
        exit_code: Option<i32>,
        duration_ms: Option<u64>,
        dialect: Dialect,
    },
    PassThrough {
        tool: String,
    },
}

/// What the hook prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookAnswer {
    pub stdout: Vec<u8>,
    /// `error:` / `hint:` lines when the guard failed (the clients show
    /// stderr when a hook exits 2).
    pub stderr: String,
    pub exit_code: i32,
}

impl HookAnswer {
    fn json(value: &Value) -> HookAnswer {
        let mut stdout = serde_json::to_vec(value).expect("hook answers always serialize");
        stdout.push(b'\n');
        HookAnswer {
            stdout,
            stderr: String::new(),
            exit_code: 0,
        }
    }

    fn silent() -> HookAnswer {
        HookAnswer {
            stdout: Vec::new(),
            stderr: String::new(),
            exit_code: 0,
        }
    }
}

/// The exit code that blocks a tool call in Claude Code, Codex and Gemini CLI.
pub const BLOCK_EXIT: i32 = 2;

/// The answer when the guard itself failed (a payload it cannot read, a
/// config, local rules or statistics that do not load, an invalid actor):
/// the call is blocked. Exit 2 blocks in every client, which then shows
/// stderr; the deny on stdout says the same to a client that reads it.
pub fn answer_error(dialect: Dialect, error: &Error) -> HookAnswer {
    let mut stderr = format!("error: {}\n", error.message());
    if !error.hint.is_empty() {
        stderr.push_str(&format!("hint: {}\n", error.hint));
    }
    let reason = if error.hint.is_empty() {
        format!("baton: blocked, the guard cannot judge: error: {}", error.message())
    } else {
        format!(
            "baton: blocked, the guard cannot judge: error: {}; hint: {}",
            error.message(),
            error.hint
        )
    };
    let value = match dialect {
        Dialect::Claude | Dialect::Codex => json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": reason,
            }
        }),
        Dialect::Gemini => json!({ "decision": "deny", "reason": reason, "systemMessage": reason }),
    };
    HookAnswer {
        stderr,
        exit_code: BLOCK_EXIT,
        ..HookAnswer::json(&value)
    }
}

fn parse_payload(agent: Dialect, payload: &[u8]) -> Result<Map<String, Value>> {
    match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Invalid::NotAnObject(agent)),
        Err(source) => Err(Invalid::NotJson { agent, source }),
    }
}

fn string_field(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Claude's protocol carries Codex payloads too; Codex adds `turn_id`/`model`.
fn dialect(agent: Dialect, map: &Map<String, Value>) -> Dialect {
    if agent == Dialect::Claude && (map.contains_key("turn_id") || map.contains_key("model")) {
        Dialect::Codex
    } else {
        agent
    }
}

/// The shell command of a payload, or the other tool's name.
fn tool_command(agent: Dialect, map: &Map<String, Value>) -> Result<std::result::Result<String, String>> {
    let tool = string_field(map, "tool_name").ok_or(Invalid::NoToolName(agent))?;
    if tool != agent.shell_tool() {
        return Ok(Err(tool));
    }
    let command = map
        .get("tool_input")
        .and_then(|i| i.get("command"))
        .and_then(Value::as_str)
        .ok_or_else(|| Invalid::NoCommand {
            agent,
            tool: tool.clone(),
        })?;
    Ok(Ok(command.to_owned()))
}

/// Read a `PreToolUse` / `BeforeTool` payload.
pub fn parse_pre(agent: Dialect, payload: &[u8]) -> Result<PreRequest> {
    let map = parse_payload(agent, payload)?;
    Ok(match tool_command(agent, &map)? {
        Ok(command) => PreRequest::Judge {
            command,
            cwd: string_field(&map, "cwd"),
            session_id: string_field(&map, "session_id"),
            dialect: dialect(agent, &map),
        },
        Err(tool) => {
            let dialect = dialect(agent, &map);
            match super::edits::edited_paths(dialect, &tool, map.get("tool_input")) {
                Some(paths) => PreRequest::Edit {
                    tool,
                    paths,
                    cwd: string_field(&map, "cwd"),
                    dialect,
                },
                None => PreRequest::PassThrough { tool },
            }
        }
    })
}

/// One line for the agent and the user: the level and every reason.
pub fn reason_text(verdict: &Verdict) -> String {
    let reasons: Vec<String> = verdict
        .reasons
        .iter()
        .map(|r| format!("{} (`{}`, rule {})", r.why, r.command, r.rule))
        .collect();
    format!("baton: {} risk: {}", verdict.level, reasons.join("; "))
}

/// The answer to a judged command, in the agent's dialect.
pub fn answer_pre(dialect: Dialect, verdict: &Verdict) -> HookAnswer {
    let reason = reason_text(verdict);
    match (dialect, verdict.level) {
        (Dialect::Claude | Dialect::Codex, Level::Low) => HookAnswer::silent(),
        (Dialect::Codex, Level::Medium) => HookAnswer::json(&json!({ "systemMessage": reason })),
        (Dialect::Claude | Dialect::Codex, level) => HookAnswer::json(&json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": if level == Level::High { "deny" } else { "ask" },
                "permissionDecisionReason": reason,
            }
        })),
        (Dialect::Gemini, Level::Low) => HookAnswer::json(&json!({})),
        // Gemini shows the user `systemMessage`; `reason` goes to the model.
        (Dialect::Gemini, level) => HookAnswer::json(&json!({
            "decision": if level == Level::High { "deny" } else { "ask" },
            "reason": reason,
            "systemMessage": reason,
        })),
    }
}

/// The answer when there is nothing to say (another tool, a recorded outcome).
pub fn answer_pass(agent: Dialect) -> HookAnswer {
    match agent {
        Dialect::Claude | Dialect::Codex => HookAnswer::silent(),
        Dialect::Gemini => HookAnswer::json(&json!({})),
    }
}

/// Read a `PostToolUse` / `PostToolUseFailure` / `AfterTool` payload.
pub fn parse_post(agent: Dialect, payload: &[u8]) -> Result<PostRequest> {
    let map = parse_payload(agent, payload)?;
    let command = match tool_command(agent, &map)? {
        Ok(command) => command,
        Err(tool) => return Ok(PostRequest::PassThrough { tool }),
    };
    let dialect = dialect(agent, &map);
    let (outcome, exit_code) = match dialect {
        Dialect::Claude | Dialect::Codex => claude_outcome(&map),
        Dialect::Gemini => gemini_outcome(&map),
    };
    Ok(PostRequest::Record {
        command,
        outcome,
        exit_code,
        duration_ms: map.get("duration_ms").and_then(Value::as_u64),
        dialect,
    })
}

/// An exit status named in text: `Exit code 1`, `exit status 2`, `Exit Code: 3`.
fn exit_code_in(text: &str) -> Option<i32> {
    let lower = text.to_ascii_lowercase();
    ["exit code", "exit status", "status code"].iter().find_map(|label| {
        let at = lower.find(label)? + label.len();
        let digits: String = lower[at..]
            .trim_start_matches([':', ' '])
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '-')
            .collect();
        digits.parse().ok()
    })
}

fn numeric_field(value: &Value, keys: &[&str]) -> Option<i32> {
    keys.iter()
        .find_map(|k| value.get(k).and_then(Value::as_i64))
        .and_then(|n| i32::try_from(n).ok())
}

fn claude_outcome(map: &Map<String, Value>) -> (CommandEnd, Option<i32>) {
    let event = map
        .get("hook_event_name")
        .and_then(Value::as_str)
        .unwrap_or("PostToolUse");
    if event == "PostToolUseFailure" {
        if map.get("is_interrupt").and_then(Value::as_bool) == Some(true) {
            return (CommandEnd::Interrupted, None);
        }
        let code = map.get("error").and_then(Value::as_str).and_then(exit_code_in);
        return (CommandEnd::Failure, code);
    }
    match map.get("tool_response") {
        Some(response @ Value::Object(_)) => {
            if response.get("interrupted").and_then(Value::as_bool) == Some(true) {
                return (CommandEnd::Interrupted, None);
            }
            match numeric_field(response, &["exit_code", "exitCode", "returnCode"]) {
                Some(code) => (CommandEnd::from_exit_code(code), Some(code)),
                None => (CommandEnd::Success, Some(0)),
            }
        }
        // Codex: the output text only; it does not say how the command ended.
        _ => (CommandEnd::Unknown, None),
    }
}

fn gemini_outcome(map: &Map<String, Value>) -> (CommandEnd, Option<i32>) {
    let response = map.get("tool_response").cloned().unwrap_or(Value::Null);
    let content = response.get("llmContent").and_then(Value::as_str).unwrap_or("");
    let code = exit_code_in(content);
    let error = response.get("error").filter(|e| !e.is_null() && e.as_str() != Some(""));
    match (code, error) {
        (Some(code), _) => (CommandEnd::from_exit_code(code), Some(code)),
        (None, Some(_)) => (CommandEnd::Failure, None),
        (None, None) => (CommandEnd::Success, Some(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::judge::{judge_line, Context};
    use crate::learn::rules::RuleSet;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../../tests/fixtures/hooks/", $name)).as_slice()
        };
    }

    fn answer(agent: Dialect, payload: &[u8]) -> (HookAnswer, Option<Value>) {
        let answer = match parse_pre(agent, payload).unwrap() {
            PreRequest::Judge { command, dialect, .. } => {
                answer_pre(dialect, &judge_line(&command, &RuleSet::builtin(), &Context::default()))
            }
            PreRequest::PassThrough { .. } | PreRequest::Edit { .. } => answer_pass(agent),
        };
        let json = (!answer.stdout.is_empty()).then(|| serde_json::from_slice(&answer.stdout).unwrap());
        (answer, json)
    }

    #[test]
    fn claude_high_is_denied_with_the_reasons() {
        let (a, json) = answer(Dialect::Claude, fixture!("claude-pre-bash-high.json"));
        assert_eq!(a.exit_code, 0);
        let out = &json.unwrap()["hookSpecificOutput"];
        assert_eq!(out["hookEventName"], "PreToolUse");
        assert_eq!(out["permissionDecision"], "deny");
        let reason = out["permissionDecisionReason"].as_str().unwrap();
        assert!(reason.starts_with("baton: high risk: recursively deletes"), "{reason}");
        assert!(reason.contains("`rm -rf ~/`, rule rm.recursive-broad"), "{reason}");
    }

    #[test]
    fn claude_medium_asks_and_low_says_nothing() {
        let (_, json) = answer(Dialect::Claude, fixture!("claude-pre-bash-medium.json"));
        let out = &json.unwrap()["hookSpecificOutput"];
        assert_eq!(out["permissionDecision"], "ask");
        assert!(out["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("git.branch-force-delete"));
        let (a, json) = answer(Dialect::Claude, fixture!("claude-pre-bash-low.json"));
        assert_eq!((a.exit_code, json), (0, None));
        let (a, json) = answer(Dialect::Claude, fixture!("claude-pre-read.json"));
        assert_eq!((a.exit_code, json), (0, None));
        assert_eq!(
            parse_pre(Dialect::Claude, fixture!("claude-pre-read.json")).unwrap(),
            PreRequest::PassThrough { tool: "Read".into() }
        );
    }

    #[test]
    fn codex_payloads_are_told_apart_and_never_get_ask() {
        let req = parse_pre(Dialect::Claude, fixture!("codex-pre-bash-high.json")).unwrap();
        assert!(matches!(
            req,
            PreRequest::Judge {
                dialect: Dialect::Codex,
                ..
            }
        ));
        let (_, json) = answer(Dialect::Claude, fixture!("codex-pre-bash-high.json"));
        let json = json.unwrap();
        assert_eq!(json["hookSpecificOutput"]["permissionDecision"], "deny");
        assert!(json["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("net.pipe-to-shell"));
        let (a, json) = answer(Dialect::Codex, fixture!("codex-pre-bash-medium.json"));
        let json = json.unwrap();
        assert_eq!(a.exit_code, 0);
        assert!(json.get("hookSpecificOutput").is_none());
        assert!(json["systemMessage"]
            .as_str()
            .unwrap()
            .starts_with("baton: medium risk"));
    }

    #[test]
    fn gemini_decisions_follow_its_format() {
        let (a, json) = answer(Dialect::Gemini, fixture!("gemini-before-shell-high.json"));
        let json = json.unwrap();
        assert_eq!((a.exit_code, &json["decision"]), (0, &json!("deny")));
        assert!(json["reason"].as_str().unwrap().contains("git.force-push"));
        let (_, json) = answer(Dialect::Gemini, fixture!("gemini-before-shell-medium.json"));
        let json = json.unwrap();
        assert_eq!(json["decision"], "ask");
        // Gemini shows the user systemMessage on an ask, not reason.
        assert_eq!(json["systemMessage"], json["reason"]);
        let (a, json) = answer(Dialect::Gemini, fixture!("gemini-before-shell-low.json"));
        assert_eq!((a.exit_code, json), (0, Some(json!({}))));
        let (_, json) = answer(Dialect::Gemini, fixture!("gemini-before-read.json"));
        assert_eq!(json, Some(json!({})));
    }

    #[test]
    fn post_payloads_give_outcomes() {
        let record = |agent, bytes| match parse_post(agent, bytes).unwrap() {
            PostRequest::Record {
                command,
                outcome,
                exit_code,
                ..
            } => (command, outcome, exit_code),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            record(Dialect::Claude, fixture!("claude-post-bash-success.json")),
            ("cargo test --lib".into(), CommandEnd::Success, Some(0))
        );
        assert_eq!(
            record(Dialect::Claude, fixture!("claude-post-bash-failure.json")),
            ("git push origin main".into(), CommandEnd::Failure, Some(1))
        );
        assert_eq!(
            record(Dialect::Claude, fixture!("claude-post-bash-interrupted.json")).1,
            CommandEnd::Interrupted
        );
        assert_eq!(
            record(Dialect::Claude, fixture!("codex-post-bash.json")).1,
            CommandEnd::Unknown
        );
        assert_eq!(
            record(Dialect::Gemini, fixture!("gemini-after-shell-failure.json")),
            ("npm test".into(), CommandEnd::Failure, Some(1))
        );
        assert_eq!(
            record(Dialect::Gemini, fixture!("gemini-after-shell-success.json")).1,
            CommandEnd::Success
        );
        assert_eq!(answer_pass(Dialect::Claude).stdout, b"");
        assert_eq!(answer_pass(Dialect::Gemini).stdout, b"{}\n");
    }

    #[test]
    fn broken_payloads_are_invalid_with_a_hint() {
        for bad in [
            &b"not json"[..],
            b"[1,2]",
            b"{}",
            br#"{"tool_name":"Bash","tool_input":{}}"#,
        ] {
            let err = Error::from(parse_pre(Dialect::Claude, bad).unwrap_err());
            assert_eq!(err.exit_code(), 2);
            assert!(err.hint.contains("hooks install claude"));
        }
        assert_eq!(Error::from(Dialect::parse("cursor").unwrap_err()).exit_code(), 2);
    }

    #[test]
    fn a_guard_that_cannot_judge_blocks_in_every_protocol() {
        let err = Error::invalid(crate::error::code::INVALID_CONFIG, "config.toml does not parse").with_hint("fix it");
        for agent in [Dialect::Claude, Dialect::Codex, Dialect::Gemini] {
            let a = answer_error(agent, &err);
            assert_eq!(a.exit_code, 2);
            assert_eq!(a.stderr, "error: config.toml does not parse\nhint: fix it\n");
            let json: Value = serde_json::from_slice(&a.stdout).unwrap();
            let (decision, reason) = match agent {
                Dialect::Gemini => (&json["decision"], &json["systemMessage"]),
                _ => (
                    &json["hookSpecificOutput"]["permissionDecision"],
                    &json["hookSpecificOutput"]["permissionDecisionReason"],
                ),
            };
            assert_eq!(decision, "deny");
            assert!(reason
                .as_str()
                .unwrap()
                .contains("error: config.toml does not parse; hint: fix it"));
        }
    }

    #[test]
    fn exit_codes_are_found_in_text() {
        assert_eq!(exit_code_in("Exit code 101\nstderr"), Some(101));
        assert_eq!(exit_code_in("Command exited with non-zero status code 2"), Some(2));
        assert_eq!(exit_code_in("Output: x\nExit Code: 127\nSignal: (none)"), Some(127));
        assert_eq!(exit_code_in("Exit Code: (none)"), None);
        assert_eq!(exit_code_in("all good"), None);
    }
}
