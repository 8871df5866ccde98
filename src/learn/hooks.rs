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
//!   "deny"|"ask", "reason": ...}`, and `{}` for low (Gemini expects JSON on
//!   stdout). `AfterTool` carries `tool_response.llmContent` (with an
//!   `Exit Code: N` line when the command failed) and an optional `error`.
//!
//! Tools other than the shell pass through. A payload that is not what the
//! protocol says is invalid input (exit 2, which Claude Code, Codex and
//! Gemini treat as "block"): a guard that cannot read its input fails closed.
//!
//! Also the settings merge of `learn hooks install <agent>` (see
//! [`install`]), and the opencode plugin template.

use serde_json::{json, Map, Value};

use super::judge::{Level, Verdict};
use super::stats::Outcome;
use crate::error::{Error, Result};

/// The agent a hook speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    Claude,
    Codex,
    Gemini,
}

impl Agent {
    pub const NAMES: &'static str = "claude, codex, gemini";

    pub fn parse(raw: &str) -> Result<Agent> {
        match raw {
            "claude" => Ok(Agent::Claude),
            "codex" => Ok(Agent::Codex),
            "gemini" => Ok(Agent::Gemini),
            _ => Err(Error::invalid("unknown_hook", format!("unknown hook protocol {raw:?}"))
                .with_hint(format!("--hook takes one of: {}", Agent::NAMES))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Codex => "codex",
            Agent::Gemini => "gemini",
        }
    }

    fn shell_tool(self) -> &'static str {
        match self {
            Agent::Claude | Agent::Codex => "Bash",
            Agent::Gemini => "run_shell_command",
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
        dialect: Agent,
    },
    /// Another tool: answer with [`answer_pass`].
    PassThrough { tool: String },
}

/// What a post-tool payload reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostRequest {
    Record {
        command: String,
        outcome: Outcome,
        exit_code: Option<i32>,
        duration_ms: Option<u64>,
        dialect: Agent,
    },
    PassThrough {
        tool: String,
    },
}

/// What the hook prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookAnswer {
    pub stdout: Vec<u8>,
    pub exit_code: i32,
}

impl HookAnswer {
    fn json(value: &Value) -> HookAnswer {
        let mut stdout = serde_json::to_vec(value).expect("hook answers always serialize");
        stdout.push(b'\n');
        HookAnswer { stdout, exit_code: 0 }
    }

    fn silent() -> HookAnswer {
        HookAnswer {
            stdout: Vec::new(),
            exit_code: 0,
        }
    }
}

fn bad_payload(agent: Agent, why: impl std::fmt::Display) -> Error {
    Error::invalid(
        "invalid_hook_payload",
        format!("the {} hook payload {why}", agent.as_str()),
    )
    .with_hint(format!(
        "this reads the JSON {} writes to a hook's stdin; install it with `baton learn hooks install {}`",
        agent.as_str(),
        agent.as_str()
    ))
}

fn parse_payload(agent: Agent, payload: &[u8]) -> Result<Map<String, Value>> {
    match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad_payload(agent, "is not a JSON object")),
        Err(e) => Err(bad_payload(agent, format!("is not JSON ({e})"))),
    }
}

fn string_field(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Claude's protocol carries Codex payloads too; Codex adds `turn_id`/`model`.
fn dialect(agent: Agent, map: &Map<String, Value>) -> Agent {
    if agent == Agent::Claude && (map.contains_key("turn_id") || map.contains_key("model")) {
        Agent::Codex
    } else {
        agent
    }
}

/// The shell command of a payload, or the other tool's name.
fn tool_command(agent: Agent, map: &Map<String, Value>) -> Result<std::result::Result<String, String>> {
    let tool = string_field(map, "tool_name").ok_or_else(|| bad_payload(agent, "has no tool_name"))?;
    if tool != agent.shell_tool() {
        return Ok(Err(tool));
    }
    let command = map
        .get("tool_input")
        .and_then(|i| i.get("command"))
        .and_then(Value::as_str)
        .ok_or_else(|| bad_payload(agent, format!("for {tool} has no tool_input.command")))?;
    Ok(Ok(command.to_owned()))
}

/// Read a `PreToolUse` / `BeforeTool` payload.
pub fn parse_pre(agent: Agent, payload: &[u8]) -> Result<PreRequest> {
    let map = parse_payload(agent, payload)?;
    Ok(match tool_command(agent, &map)? {
        Ok(command) => PreRequest::Judge {
            command,
            cwd: string_field(&map, "cwd"),
            session_id: string_field(&map, "session_id"),
            dialect: dialect(agent, &map),
        },
        Err(tool) => PreRequest::PassThrough { tool },
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
pub fn answer_pre(dialect: Agent, verdict: &Verdict) -> HookAnswer {
    let reason = reason_text(verdict);
    match (dialect, verdict.level) {
        (Agent::Claude | Agent::Codex, Level::Low) => HookAnswer::silent(),
        (Agent::Codex, Level::Medium) => HookAnswer::json(&json!({ "systemMessage": reason })),
        (Agent::Claude | Agent::Codex, level) => HookAnswer::json(&json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": if level == Level::High { "deny" } else { "ask" },
                "permissionDecisionReason": reason,
            }
        })),
        (Agent::Gemini, Level::Low) => HookAnswer::json(&json!({})),
        (Agent::Gemini, level) => HookAnswer::json(&json!({
            "decision": if level == Level::High { "deny" } else { "ask" },
            "reason": reason,
        })),
    }
}

/// The answer when there is nothing to say (another tool, a recorded outcome).
pub fn answer_pass(agent: Agent) -> HookAnswer {
    match agent {
        Agent::Claude | Agent::Codex => HookAnswer::silent(),
        Agent::Gemini => HookAnswer::json(&json!({})),
    }
}

/// Read a `PostToolUse` / `PostToolUseFailure` / `AfterTool` payload.
pub fn parse_post(agent: Agent, payload: &[u8]) -> Result<PostRequest> {
    let map = parse_payload(agent, payload)?;
    let command = match tool_command(agent, &map)? {
        Ok(command) => command,
        Err(tool) => return Ok(PostRequest::PassThrough { tool }),
    };
    let dialect = dialect(agent, &map);
    let (outcome, exit_code) = match dialect {
        Agent::Claude | Agent::Codex => claude_outcome(&map),
        Agent::Gemini => gemini_outcome(&map),
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

fn claude_outcome(map: &Map<String, Value>) -> (Outcome, Option<i32>) {
    let event = map
        .get("hook_event_name")
        .and_then(Value::as_str)
        .unwrap_or("PostToolUse");
    if event == "PostToolUseFailure" {
        if map.get("is_interrupt").and_then(Value::as_bool) == Some(true) {
            return (Outcome::Interrupted, None);
        }
        let code = map.get("error").and_then(Value::as_str).and_then(exit_code_in);
        return (Outcome::Failure, code);
    }
    match map.get("tool_response") {
        Some(response @ Value::Object(_)) => {
            if response.get("interrupted").and_then(Value::as_bool) == Some(true) {
                return (Outcome::Interrupted, None);
            }
            match numeric_field(response, &["exit_code", "exitCode", "returnCode"]) {
                Some(code) => (Outcome::from_exit_code(code), Some(code)),
                None => (Outcome::Success, Some(0)),
            }
        }
        // Codex: the output text only; it does not say how the command ended.
        _ => (Outcome::Unknown, None),
    }
}

fn gemini_outcome(map: &Map<String, Value>) -> (Outcome, Option<i32>) {
    let response = map.get("tool_response").cloned().unwrap_or(Value::Null);
    let content = response.get("llmContent").and_then(Value::as_str).unwrap_or("");
    let code = exit_code_in(content);
    let error = response.get("error").filter(|e| !e.is_null() && e.as_str() != Some(""));
    match (code, error) {
        (Some(code), _) => (Outcome::from_exit_code(code), Some(code)),
        (None, Some(_)) => (Outcome::Failure, None),
        (None, None) => (Outcome::Success, Some(0)),
    }
}

// ---- learn hooks install -------------------------------------------------

/// An agent `learn hooks install` can set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Claude,
    Codex,
    Gemini,
    Opencode,
}

impl Target {
    pub const NAMES: &'static str = "claude, codex, gemini, opencode";

    pub fn parse(raw: &str) -> Result<Target> {
        match raw {
            "claude" => Ok(Target::Claude),
            "codex" => Ok(Target::Codex),
            "gemini" => Ok(Target::Gemini),
            "opencode" => Ok(Target::Opencode),
            _ => Err(Error::invalid("unknown_agent", format!("unknown agent {raw:?}"))
                .with_hint(format!("hooks can be installed for: {}", Target::NAMES))),
        }
    }

    /// The file, relative to the repository root.
    pub fn path(self) -> &'static str {
        match self {
            Target::Claude => ".claude/settings.json",
            Target::Codex => ".codex/hooks.json",
            Target::Gemini => ".gemini/settings.json",
            Target::Opencode => ".opencode/plugins/baton-guard.js",
        }
    }
}

/// The opencode plugin, written as is by `hooks install opencode`.
pub const OPENCODE_PLUGIN: &str = include_str!("../../templates/opencode-baton-guard.js");

/// The result of an install: the file's new content and what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    pub path: &'static str,
    pub content: Vec<u8>,
    /// False when everything was already installed (nothing to write).
    pub changed: bool,
    /// The entries added, as `event: command`.
    pub added: Vec<String>,
}

/// One hook to install: event, tool matcher, the entry itself.
struct Wanted {
    event: &'static str,
    matcher: &'static str,
    entry: Value,
}

fn wanted(target: Target, baton: &str) -> Vec<Wanted> {
    let pre = |agent: &str| format!("{baton} learn pre-command --hook {agent}");
    let post = |agent: &str| format!("{baton} learn post-command --hook {agent}");
    let plain = |command: String| json!({ "type": "command", "command": command });
    match target {
        Target::Claude => vec![
            Wanted {
                event: "PreToolUse",
                matcher: "Bash",
                entry: plain(pre("claude")),
            },
            Wanted {
                event: "PostToolUse",
                matcher: "Bash",
                entry: plain(post("claude")),
            },
            Wanted {
                event: "PostToolUseFailure",
                matcher: "Bash",
                entry: plain(post("claude")),
            },
        ],
        Target::Codex => vec![
            Wanted {
                event: "PreToolUse",
                matcher: "Bash",
                entry: plain(pre("codex")),
            },
            Wanted {
                event: "PostToolUse",
                matcher: "Bash",
                entry: plain(post("codex")),
            },
        ],
        Target::Gemini => vec![
            Wanted {
                event: "BeforeTool",
                matcher: "run_shell_command",
                entry: json!({
                    "name": "baton-guard",
                    "type": "command",
                    "command": pre("gemini"),
                    "description": "baton: judge shell commands before they run",
                }),
            },
            Wanted {
                event: "AfterTool",
                matcher: "run_shell_command",
                entry: json!({
                    "name": "baton-record",
                    "type": "command",
                    "command": post("gemini"),
                    "description": "baton: record how shell commands ended",
                }),
            },
        ],
        Target::Opencode => Vec::new(),
    }
}

fn conflict(path: &str, what: String, hint: String) -> Error {
    Error::refused("hook_conflict", format!("{path}: {what}")).with_hint(hint)
}

/// Install baton's hooks into an agent's settings in this repository: the
/// existing file (if any) is kept entry for entry; an entry already there is
/// left alone; a different baton entry for the same event is a refusal that
/// names it. `baton` is how the hook should invoke baton (usually `baton`).
pub fn install(target: Target, existing: Option<&[u8]>, baton: &str) -> Result<Install> {
    let path = target.path();
    if target == Target::Opencode {
        return install_file(path, existing, OPENCODE_PLUGIN.as_bytes());
    }
    let mut root = match existing.filter(|b| !b.iter().all(u8::is_ascii_whitespace)) {
        None => Value::Object(Map::new()),
        Some(bytes) => serde_json::from_slice::<Value>(bytes).map_err(|e| {
            Error::invalid("invalid_settings", format!("{path} is not valid JSON ({e})"))
                .with_hint(format!("fix {path} (or move it away), then run the install again"))
        })?,
    };
    let hooks = object_at(&mut root, path, "the file", "hooks")?;
    let mut added = Vec::new();
    for want in wanted(target, baton) {
        if add_hook(hooks, path, &want)? {
            added.push(format!(
                "{}: {}",
                want.event,
                want.entry["command"].as_str().unwrap_or("")
            ));
        }
    }
    if added.is_empty() {
        return Ok(Install {
            path,
            content: existing.unwrap_or_default().to_vec(),
            changed: false,
            added,
        });
    }
    let mut content = serde_json::to_vec_pretty(&root).expect("settings always serialize");
    content.push(b'\n');
    Ok(Install {
        path,
        content,
        changed: true,
        added,
    })
}

fn install_file(path: &'static str, existing: Option<&[u8]>, content: &[u8]) -> Result<Install> {
    match existing {
        Some(bytes) if bytes == content => Ok(Install {
            path,
            content: content.to_vec(),
            changed: false,
            added: Vec::new(),
        }),
        Some(_) => Err(conflict(
            path,
            "exists and is not baton's plugin".into(),
            format!("move {path} away (or merge it by hand with baton's template), then run the install again"),
        )),
        None => Ok(Install {
            path,
            content: content.to_vec(),
            changed: true,
            added: vec![path.to_owned()],
        }),
    }
}

/// `parent[key]` as an object, created when absent; anything else is a conflict.
fn object_at<'a>(
    parent: &'a mut Value,
    path: &str,
    parent_name: &str,
    key: &str,
) -> Result<&'a mut Map<String, Value>> {
    let Value::Object(map) = parent else {
        return Err(conflict(
            path,
            format!("{parent_name} is not a JSON object"),
            format!("make {parent_name} in {path} an object, then run the install again"),
        ));
    };
    let value = map.entry(key.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    match value {
        Value::Object(inner) => Ok(inner),
        _ => Err(conflict(
            path,
            format!("`{key}` is not an object"),
            format!("`{key}` must map event names to hook lists; fix it by hand"),
        )),
    }
}

/// Is this a baton hook command (any path, any flags)?
fn is_baton_hook(command: &str, event_command: &str) -> bool {
    let kind = if event_command.contains("pre-command") {
        "learn pre-command"
    } else {
        "learn post-command"
    };
    command.contains(kind)
}

/// Add one hook under `hooks[event]`; false when it is already there.
fn add_hook(hooks: &mut Map<String, Value>, path: &str, want: &Wanted) -> Result<bool> {
    let command = want.entry["command"].as_str().unwrap_or_default();
    let groups = hooks
        .entry(want.event.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(groups) = groups else {
        return Err(conflict(
            path,
            format!("hooks.{} is not a list", want.event),
            format!(
                "hooks.{} must be a list of {{matcher, hooks}} entries; fix it by hand",
                want.event
            ),
        ));
    };
    for (g, group) in groups.iter().enumerate() {
        let entries = group
            .get("hooks")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for (h, entry) in entries.iter().enumerate() {
            let existing = entry.get("command").and_then(Value::as_str).unwrap_or("");
            if existing == command {
                return Ok(false);
            }
            if is_baton_hook(existing, command) {
                return Err(conflict(
                    path,
                    format!("hooks.{}[{g}].hooks[{h}] already runs {existing:?}", want.event),
                    format!("remove that entry or change it to {command:?}, then run the install again"),
                ));
            }
        }
    }
    let same_matcher = groups
        .iter_mut()
        .find(|g| g.get("matcher").and_then(Value::as_str) == Some(want.matcher));
    match same_matcher {
        Some(group) => match group.get_mut("hooks") {
            Some(Value::Array(entries)) => entries.push(want.entry.clone()),
            _ => {
                return Err(conflict(
                    path,
                    format!("the hooks.{} entry for {} has no hooks list", want.event, want.matcher),
                    "give it a `hooks` list or remove it, then run the install again".into(),
                ))
            }
        },
        None => groups.push(json!({ "matcher": want.matcher, "hooks": [want.entry.clone()] })),
    }
    Ok(true)
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

    fn answer(agent: Agent, payload: &[u8]) -> (HookAnswer, Option<Value>) {
        let answer = match parse_pre(agent, payload).unwrap() {
            PreRequest::Judge { command, dialect, .. } => {
                answer_pre(dialect, &judge_line(&command, &RuleSet::builtin(), &Context::default()))
            }
            PreRequest::PassThrough { .. } => answer_pass(agent),
        };
        let json = (!answer.stdout.is_empty()).then(|| serde_json::from_slice(&answer.stdout).unwrap());
        (answer, json)
    }

    #[test]
    fn claude_high_is_denied_with_the_reasons() {
        let (a, json) = answer(Agent::Claude, fixture!("claude-pre-bash-high.json"));
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
        let (_, json) = answer(Agent::Claude, fixture!("claude-pre-bash-medium.json"));
        let out = &json.unwrap()["hookSpecificOutput"];
        assert_eq!(out["permissionDecision"], "ask");
        assert!(out["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("git.branch-force-delete"));
        let (a, json) = answer(Agent::Claude, fixture!("claude-pre-bash-low.json"));
        assert_eq!((a.exit_code, json), (0, None));
        let (a, json) = answer(Agent::Claude, fixture!("claude-pre-read.json"));
        assert_eq!((a.exit_code, json), (0, None));
        assert_eq!(
            parse_pre(Agent::Claude, fixture!("claude-pre-read.json")).unwrap(),
            PreRequest::PassThrough { tool: "Read".into() }
        );
    }

    #[test]
    fn codex_payloads_are_told_apart_and_never_get_ask() {
        let req = parse_pre(Agent::Claude, fixture!("codex-pre-bash-high.json")).unwrap();
        assert!(matches!(
            req,
            PreRequest::Judge {
                dialect: Agent::Codex,
                ..
            }
        ));
        let (_, json) = answer(Agent::Claude, fixture!("codex-pre-bash-high.json"));
        let json = json.unwrap();
        assert_eq!(json["hookSpecificOutput"]["permissionDecision"], "deny");
        assert!(json["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("net.pipe-to-shell"));
        let (a, json) = answer(Agent::Codex, fixture!("codex-pre-bash-medium.json"));
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
        let (a, json) = answer(Agent::Gemini, fixture!("gemini-before-shell-high.json"));
        let json = json.unwrap();
        assert_eq!((a.exit_code, &json["decision"]), (0, &json!("deny")));
        assert!(json["reason"].as_str().unwrap().contains("git.force-push"));
        let (_, json) = answer(Agent::Gemini, fixture!("gemini-before-shell-medium.json"));
        assert_eq!(json.unwrap()["decision"], "ask");
        let (a, json) = answer(Agent::Gemini, fixture!("gemini-before-shell-low.json"));
        assert_eq!((a.exit_code, json), (0, Some(json!({}))));
        let (_, json) = answer(Agent::Gemini, fixture!("gemini-before-read.json"));
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
            record(Agent::Claude, fixture!("claude-post-bash-success.json")),
            ("cargo test --lib".into(), Outcome::Success, Some(0))
        );
        assert_eq!(
            record(Agent::Claude, fixture!("claude-post-bash-failure.json")),
            ("git push origin main".into(), Outcome::Failure, Some(1))
        );
        assert_eq!(
            record(Agent::Claude, fixture!("claude-post-bash-interrupted.json")).1,
            Outcome::Interrupted
        );
        assert_eq!(
            record(Agent::Claude, fixture!("codex-post-bash.json")).1,
            Outcome::Unknown
        );
        assert_eq!(
            record(Agent::Gemini, fixture!("gemini-after-shell-failure.json")),
            ("npm test".into(), Outcome::Failure, Some(1))
        );
        assert_eq!(
            record(Agent::Gemini, fixture!("gemini-after-shell-success.json")).1,
            Outcome::Success
        );
        assert_eq!(answer_pass(Agent::Claude).stdout, b"");
        assert_eq!(answer_pass(Agent::Gemini).stdout, b"{}\n");
    }

    #[test]
    fn broken_payloads_are_invalid_with_a_hint() {
        for bad in [
            &b"not json"[..],
            b"[1,2]",
            b"{}",
            br#"{"tool_name":"Bash","tool_input":{}}"#,
        ] {
            let err = parse_pre(Agent::Claude, bad).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            assert!(err.hint.contains("hooks install claude"));
        }
        assert_eq!(Agent::parse("cursor").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn exit_codes_are_found_in_text() {
        assert_eq!(exit_code_in("Exit code 101\nstderr"), Some(101));
        assert_eq!(exit_code_in("Command exited with non-zero status code 2"), Some(2));
        assert_eq!(exit_code_in("Output: x\nExit Code: 127\nSignal: (none)"), Some(127));
        assert_eq!(exit_code_in("Exit Code: (none)"), None);
        assert_eq!(exit_code_in("all good"), None);
    }

    fn json_of(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn install_merges_into_claude_settings_and_keeps_everything() {
        let existing = fixture!("claude-settings-existing.json");
        let done = install(Target::Claude, Some(existing), "baton").unwrap();
        assert!(done.changed);
        assert_eq!(done.added.len(), 3);
        let merged = json_of(&done.content);
        let before = json_of(existing);
        assert_eq!(merged["permissions"], before["permissions"]);
        assert_eq!(merged["env"], before["env"]);
        assert_eq!(merged["hooks"]["Stop"], before["hooks"]["Stop"]);
        let pre = merged["hooks"]["PreToolUse"].as_array().unwrap();
        assert_eq!(pre.len(), 2, "joined the existing Bash matcher");
        let bash = pre[0]["hooks"].as_array().unwrap();
        assert_eq!(bash[0], before["hooks"]["PreToolUse"][0]["hooks"][0]);
        assert_eq!(bash[1]["command"], "baton learn pre-command --hook claude");
        assert_eq!(pre[1], before["hooks"]["PreToolUse"][1]);
        assert_eq!(merged["hooks"]["PostToolUse"][0]["matcher"], "Bash");
        assert_eq!(
            merged["hooks"]["PostToolUseFailure"][0]["hooks"][0]["command"],
            "baton learn post-command --hook claude"
        );
        let keys: Vec<&String> = merged.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["$schema", "permissions", "env", "hooks"], "key order is kept");
        let again = install(Target::Claude, Some(&done.content), "baton").unwrap();
        assert!(!again.changed);
        assert_eq!(again.content, done.content);
    }

    #[test]
    fn install_refuses_a_conflicting_entry_and_broken_files() {
        let existing = br#"{"hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"/opt/baton learn pre-command --json"}]}]}}"#;
        let err = install(Target::Claude, Some(existing), "baton").unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(err.message.contains("hooks.PreToolUse[0].hooks[0]"), "{}", err.message);
        assert!(!err.hint.is_empty());
        let err = install(Target::Claude, Some(br#"{"hooks":[]}"#), "baton").unwrap_err();
        assert_eq!(err.exit_code(), 1);
        let err = install(Target::Claude, Some(br#"{"hooks":{"PreToolUse":{}}}"#), "baton").unwrap_err();
        assert!(err.message.contains("hooks.PreToolUse is not a list"));
        let err = install(Target::Claude, Some(b"{ nope"), "baton").unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn install_creates_gemini_and_codex_settings() {
        let done = install(Target::Gemini, Some(fixture!("gemini-settings-existing.json")), "baton").unwrap();
        let merged = json_of(&done.content);
        assert_eq!(merged["theme"], "GitHub");
        let before = merged["hooks"]["BeforeTool"].as_array().unwrap();
        assert_eq!(before[0]["hooks"][0]["name"], "secret-scan");
        assert_eq!(before[1]["matcher"], "run_shell_command");
        assert_eq!(
            before[1]["hooks"][0]["command"],
            "baton learn pre-command --hook gemini"
        );
        assert_eq!(merged["hooks"]["AfterTool"][0]["hooks"][0]["name"], "baton-record");
        let fresh = install(Target::Codex, None, "/usr/local/bin/baton").unwrap();
        let merged = json_of(&fresh.content);
        assert_eq!(
            merged["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
            "/usr/local/bin/baton learn pre-command --hook codex"
        );
        assert_eq!(fresh.path, ".codex/hooks.json");
        let empty = install(Target::Claude, Some(b"\n"), "baton").unwrap();
        assert!(empty.changed);
    }

    #[test]
    fn install_writes_the_opencode_plugin_once() {
        let done = install(Target::Opencode, None, "baton").unwrap();
        assert_eq!(done.path, ".opencode/plugins/baton-guard.js");
        assert!(String::from_utf8(done.content.clone())
            .unwrap()
            .contains("tool.execute.before"));
        assert!(!install(Target::Opencode, Some(&done.content), "baton").unwrap().changed);
        let err = install(Target::Opencode, Some(b"// mine"), "baton").unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert_eq!(Target::parse("vim").unwrap_err().exit_code(), 2);
    }
}
