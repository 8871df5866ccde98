//! `learn hooks install <agent>`: the settings merge for Claude Code, Codex
//! and Gemini CLI, and the opencode plugin, as pure functions (the existing
//! file in, the new content out).
//!
//! Each installed command runs baton as an agent actor naming the client
//! (`agent:claude`, ...; another at install), unless the agent's
//! environment sets `BATON_ACTOR`. The pre-command hook first checks that
//! baton can be found, and blocks (exit 2) when it cannot: a shell exits 127
//! for a missing program, which every client reads as "let it run".

mod conflict;
mod opencode;

pub use conflict::{Clash, Conflict};
pub use opencode::{opencode_plugin, OPENCODE_PLUGIN};

use serde_json::{json, Map, Value};

use super::{Invalid, NotInstalled};
use crate::ids::Actor;

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

    pub fn parse(raw: &str) -> Result<Target, Invalid> {
        match raw {
            "claude" => Ok(Target::Claude),
            "codex" => Ok(Target::Codex),
            "gemini" => Ok(Target::Gemini),
            "opencode" => Ok(Target::Opencode),
            _ => Err(Invalid::UnknownAgent(raw.to_owned())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Target::Claude => "claude",
            Target::Codex => "codex",
            Target::Gemini => "gemini",
            Target::Opencode => "opencode",
        }
    }

    /// What the user must still do before the hooks run, said at install.
    pub fn notes(self) -> Vec<String> {
        match self {
            Target::Codex => vec![CODEX_TRUST.to_owned()],
            _ => Vec::new(),
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

/// Codex runs a project hook only once the user reviewed and trusted it
/// (per hook, by its hash: a changed hook asks again); `codex exec` skips
/// untrusted hooks without a word.
pub const CODEX_TRUST: &str = "Codex runs these hooks only after you review and trust them: start `codex` in this repository and approve the baton hooks when it says hooks need review (`codex exec` skips untrusted hooks without a word; a changed hook must be trusted again)";

/// The result of an install: the file's new content and what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    pub path: &'static str,
    pub content: Vec<u8>,
    /// False when everything was already installed (nothing to write).
    pub changed: bool,
    /// The entries added, as `event: command`.
    pub added: Vec<String>,
    /// What the user must still do (Codex: trust the hooks).
    pub notes: Vec<String>,
}

/// One hook to install: event, tool matcher, the entry itself.
struct Wanted {
    event: &'static str,
    matcher: &'static str,
    entry: Value,
    /// The command an older install wrote for this hook, replaced in place.
    legacy: String,
}

/// How the installed hooks run baton: the program (a path, or `baton` from
/// `PATH`) and the actor they act as when the agent's environment names none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookCommand {
    pub baton: String,
    pub actor: Actor,
}

impl HookCommand {
    /// `baton` from `PATH`, acting as `agent:<client>`.
    pub fn default_for(target: Target) -> HookCommand {
        HookCommand {
            baton: "baton".into(),
            actor: Actor::parse(&format!("agent:{}", target.name())).expect("client names are valid actor names"),
        }
    }

    fn run(&self, what: &str, agent: &str) -> String {
        format!(
            "BATON_ACTOR=\"${{BATON_ACTOR:-{}}}\" {} learn {what} --hook {agent}",
            self.actor,
            shell_quote(&self.baton)
        )
    }

    /// The pre-tool hook: blocks (exit 2, with an `error:` line) when baton
    /// cannot be found, then judges.
    fn pre(&self, agent: &str) -> String {
        let baton = shell_quote(&self.baton);
        format!(
            "command -v {baton} >/dev/null 2>&1 || {{ echo {} >&2; echo {} >&2; exit 2; }}; {}",
            shell_quote(&format!(
                "error: baton guard: {} cannot be found, so the command is blocked",
                self.baton
            )),
            shell_quote(&format!(
                "hint: install baton on PATH, or run `baton learn hooks install {agent} --baton /path/to/baton`"
            )),
            self.run("pre-command", agent)
        )
    }

    fn post(&self, agent: &str) -> String {
        self.run("post-command", agent)
    }

    /// What an older baton installed (`<baton> learn pre-command --hook
    /// claude`): replaced in place instead of refused as a conflict.
    fn legacy(&self, what: &str, agent: &str) -> String {
        format!("{} learn {what} --hook {agent}", self.baton)
    }
}

/// One shell word: as it is when it is plain, else single-quoted.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | ':' | '@' | '%' | ',' | '=')
        });
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The edit tools each client's pre-tool hook also runs for, checked
/// against path reservations (docs/reservations.md): matchers are regular
/// expressions over the tool's name in all three clients.
pub const CLAUDE_EDITS: &str = "Edit|Write|MultiEdit|NotebookEdit";
pub const CODEX_EDITS: &str = "apply_patch";
pub const GEMINI_EDITS: &str = "write_file|replace";

fn wanted(target: Target, how: &HookCommand) -> Vec<Wanted> {
    let agent = target.name();
    // The pre-tool hook runs the guard, the post-tool one records; an older
    // install's command for either is replaced in place.
    let pre = |event, matcher, entry| Wanted {
        event,
        matcher,
        entry,
        legacy: how.legacy("pre-command", agent),
    };
    let post = |event, matcher, entry| Wanted {
        event,
        matcher,
        entry,
        legacy: how.legacy("post-command", agent),
    };
    let plain = |command: String| json!({ "type": "command", "command": command });
    let named = |name: &str, command: String, description: &str| json!({ "name": name, "type": "command", "command": command, "description": description });
    match target {
        Target::Claude => vec![
            pre("PreToolUse", "Bash", plain(how.pre(agent))),
            pre("PreToolUse", CLAUDE_EDITS, plain(how.pre(agent))),
            post("PostToolUse", "Bash", plain(how.post(agent))),
            post("PostToolUseFailure", "Bash", plain(how.post(agent))),
        ],
        Target::Codex => vec![
            pre("PreToolUse", "Bash", plain(how.pre(agent))),
            pre("PreToolUse", CODEX_EDITS, plain(how.pre(agent))),
            post("PostToolUse", "Bash", plain(how.post(agent))),
        ],
        Target::Gemini => vec![
            pre(
                "BeforeTool",
                "run_shell_command",
                named(
                    "baton-guard",
                    how.pre(agent),
                    "baton: judge shell commands before they run",
                ),
            ),
            pre(
                "BeforeTool",
                GEMINI_EDITS,
                named(
                    "baton-reservations",
                    how.pre(agent),
                    "baton: check file edits against path reservations",
                ),
            ),
            post(
                "AfterTool",
                "run_shell_command",
                named(
                    "baton-record",
                    how.post(agent),
                    "baton: record how shell commands ended",
                ),
            ),
        ],
        Target::Opencode => Vec::new(),
    }
}

/// Install baton's hooks into an agent's settings in this repository: the
/// existing file (if any) is kept entry for entry; an entry already there is
/// left alone; a different baton entry for the same event is a refusal that
/// names it (one an older baton wrote, `<baton> learn ... --hook <agent>`,
/// is replaced in place). `how` is how the hooks run baton.
pub fn install(target: Target, existing: Option<&[u8]>, how: &HookCommand) -> Result<Install, NotInstalled> {
    let path = target.path();
    if target == Target::Opencode {
        return Ok(opencode::install(path, existing, &opencode_plugin(how))?);
    }
    let mut root = settings(path, existing)?;
    let hooks = object_at(&mut root, path, "the file", "hooks", "event names to hook lists")?;
    let mut added = Vec::new();
    for want in wanted(target, how) {
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
            notes: target.notes(),
        });
    }
    let mut content = serde_json::to_vec_pretty(&root).expect("settings always serialize");
    content.push(b'\n');
    Ok(Install {
        path,
        content,
        changed: true,
        added,
        notes: target.notes(),
    })
}

/// A client's JSON settings file as it is (an object when absent or
/// blank); one that does not parse is refused, never overwritten.
pub(crate) fn settings(path: &str, existing: Option<&[u8]>) -> Result<Value, Invalid> {
    match existing.filter(|b| !b.iter().all(u8::is_ascii_whitespace)) {
        None => Ok(Value::Object(Map::new())),
        Some(bytes) => serde_json::from_slice::<Value>(bytes).map_err(|source| Invalid::Settings {
            path: path.to_owned(),
            source,
        }),
    }
}

/// `parent[key]` as an object, created when absent; anything else is a
/// conflict. `holds` says what the object maps, for the hint.
pub(crate) fn object_at<'a>(
    parent: &'a mut Value,
    path: &str,
    parent_name: &str,
    key: &str,
    holds: &str,
) -> Result<&'a mut Map<String, Value>, Conflict> {
    let Value::Object(map) = parent else {
        let parent = parent_name.to_owned();
        return Err(Conflict::new(path, Clash::NotAnObject { parent }));
    };
    let value = map.entry(key.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    match value {
        Value::Object(inner) => Ok(inner),
        _ => Err(Conflict::new(
            path,
            Clash::NotAMap {
                key: key.to_owned(),
                holds: holds.to_owned(),
            },
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
fn add_hook(hooks: &mut Map<String, Value>, path: &str, want: &Wanted) -> Result<bool, Conflict> {
    let command = want.entry["command"].as_str().unwrap_or_default();
    let groups = hooks
        .entry(want.event.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(groups) = groups else {
        let event = want.event.to_owned();
        return Err(Conflict::new(path, Clash::NotAList { event }));
    };
    // The edit matchers run the same command as the shell one: only their
    // own group says whether they are installed.
    let edits = [CLAUDE_EDITS, CODEX_EDITS, GEMINI_EDITS].contains(&want.matcher);
    for (g, group) in groups.iter_mut().enumerate() {
        if edits && group.get("matcher").and_then(Value::as_str) != Some(want.matcher) {
            continue;
        }
        let Some(entries) = group.get_mut("hooks").and_then(Value::as_array_mut) else {
            continue;
        };
        for (h, entry) in entries.iter_mut().enumerate() {
            let existing = entry.get("command").and_then(Value::as_str).unwrap_or("");
            if existing == command {
                return Ok(false);
            }
            if existing == want.legacy {
                *entry = want.entry.clone();
                return Ok(true);
            }
            if is_baton_hook(existing, command) {
                let clash = Clash::OtherBatonHook {
                    event: want.event.to_owned(),
                    group: g,
                    entry: h,
                    existing: existing.to_owned(),
                    wanted: command.to_owned(),
                };
                return Err(Conflict::new(path, clash));
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
                let clash = Clash::NoHooksList {
                    event: want.event.to_owned(),
                    matcher: want.matcher.to_owned(),
                };
                return Err(Conflict::new(path, clash));
            }
        },
        None => groups.push(json!({ "matcher": want.matcher, "hooks": [want.entry.clone()] })),
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../../../tests/fixtures/hooks/", $name)).as_slice()
        };
    }

    fn claude() -> HookCommand {
        HookCommand::default_for(Target::Claude)
    }

    const PRE_CLAUDE: &str = "command -v baton >/dev/null 2>&1 || { echo 'error: baton guard: baton cannot be found, so the command is blocked' >&2; echo 'hint: install baton on PATH, or run `baton learn hooks install claude --baton /path/to/baton`' >&2; exit 2; }; BATON_ACTOR=\"${BATON_ACTOR:-agent:claude}\" baton learn pre-command --hook claude";

    /// Run an installed hook command with `sh -c`, as the clients do.
    fn sh(command: &str, path: &str, env: &[(&str, &str)]) -> std::process::Output {
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.arg("-c").arg(command).env("PATH", path);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(std::process::Stdio::null()).output().unwrap()
    }

    #[test]
    fn a_hook_whose_baton_is_missing_blocks_with_exit_2() {
        let out = sh(&claude().pre("claude"), "/nonexistent", &[]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "not 127: every client reads 127 as \"let it run\""
        );
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.starts_with("error: baton guard: baton cannot be found"),
            "{stderr}"
        );
        assert!(stderr.contains("hint: "), "{stderr}");
    }

    #[test]
    fn hooks_act_as_the_client_unless_the_environment_names_an_actor() {
        let dir = std::env::temp_dir().join(format!("baton-hook-test {}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fake = dir.join("fake baton");
        std::fs::write(&fake, "#!/bin/sh\necho \"$BATON_ACTOR $*\"\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let how = HookCommand {
            baton: fake.display().to_string(),
            ..HookCommand::default_for(Target::Codex)
        };
        let pre = how.pre("codex");
        assert!(
            pre.contains(&format!("'{}'", fake.display())),
            "a path with spaces is quoted: {pre}"
        );
        let out = sh(&pre, "/usr/bin:/bin", &[]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "agent:codex learn pre-command --hook codex\n"
        );
        let out = sh(&pre, "/usr/bin:/bin", &[("BATON_ACTOR", "agent:alice")]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "agent:alice learn pre-command --hook codex\n"
        );
        let other = HookCommand {
            actor: Actor::parse("agent:reviewer").unwrap(),
            ..how
        };
        let out = sh(&other.post("codex"), "/usr/bin:/bin", &[]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "agent:reviewer learn post-command --hook codex\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("/usr/bin/baton"), "/usr/bin/baton");
    }

    #[test]
    fn an_older_install_is_replaced_in_place() {
        let old = br#"{"hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"baton learn pre-command --hook claude"}]}]}}"#;
        let done = install(Target::Claude, Some(old), &claude()).unwrap();
        let merged = json_of(&done.content);
        let pre = merged["hooks"]["PreToolUse"][0]["hooks"].as_array().unwrap();
        assert_eq!(pre.len(), 1);
        assert_eq!(pre[0]["command"], PRE_CLAUDE);
    }

    fn json_of(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn install_merges_into_claude_settings_and_keeps_everything() {
        let existing = fixture!("claude-settings-existing.json");
        let done = install(Target::Claude, Some(existing), &claude()).unwrap();
        assert!(done.changed);
        assert_eq!(done.added.len(), 4);
        let merged = json_of(&done.content);
        let before = json_of(existing);
        assert_eq!(merged["permissions"], before["permissions"]);
        assert_eq!(merged["env"], before["env"]);
        assert_eq!(merged["hooks"]["Stop"], before["hooks"]["Stop"]);
        let pre = merged["hooks"]["PreToolUse"].as_array().unwrap();
        assert_eq!(pre.len(), 3, "joined the existing Bash matcher, added the edit tools'");
        assert_eq!(pre[2]["matcher"], CLAUDE_EDITS);
        assert_eq!(pre[2]["hooks"][0]["command"], PRE_CLAUDE);
        let bash = pre[0]["hooks"].as_array().unwrap();
        assert_eq!(bash[0], before["hooks"]["PreToolUse"][0]["hooks"][0]);
        assert_eq!(bash[1]["command"], PRE_CLAUDE);
        assert_eq!(pre[1], before["hooks"]["PreToolUse"][1]);
        assert_eq!(merged["hooks"]["PostToolUse"][0]["matcher"], "Bash");
        assert_eq!(
            merged["hooks"]["PostToolUseFailure"][0]["hooks"][0]["command"],
            "BATON_ACTOR=\"${BATON_ACTOR:-agent:claude}\" baton learn post-command --hook claude"
        );
        let keys: Vec<&String> = merged.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["$schema", "permissions", "env", "hooks"], "key order is kept");
        let again = install(Target::Claude, Some(&done.content), &claude()).unwrap();
        assert!(!again.changed);
        assert_eq!(again.content, done.content);
    }

    #[test]
    fn install_refuses_a_conflicting_entry_and_broken_files() {
        let existing = br#"{"hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"/opt/baton learn pre-command --json"}]}]}}"#;
        let clash = |existing: &[u8]| match install(Target::Claude, Some(existing), &claude()).unwrap_err() {
            NotInstalled::Conflict(c) => c.clash,
            other => panic!("not a conflict: {other}"),
        };
        assert!(
            matches!(clash(existing), Clash::OtherBatonHook { ref event, group: 0, entry: 0, .. } if event == "PreToolUse")
        );
        assert!(matches!(clash(br#"{"hooks":[]}"#), Clash::NotAMap { .. }));
        assert_eq!(
            clash(br#"{"hooks":{"PreToolUse":{}}}"#),
            Clash::NotAList {
                event: "PreToolUse".into()
            }
        );
        let err = install(Target::Claude, Some(b"{ nope"), &claude()).unwrap_err();
        assert!(matches!(err, NotInstalled::Invalid(Invalid::Settings { .. })), "{err}");
    }

    #[test]
    fn install_creates_gemini_and_codex_settings() {
        let done = install(
            Target::Gemini,
            Some(fixture!("gemini-settings-existing.json")),
            &HookCommand::default_for(Target::Gemini),
        )
        .unwrap();
        let merged = json_of(&done.content);
        assert_eq!(merged["theme"], "GitHub");
        let before = merged["hooks"]["BeforeTool"].as_array().unwrap();
        assert_eq!(before[0]["hooks"][0]["name"], "secret-scan");
        assert_eq!(before[1]["matcher"], "run_shell_command");
        let command = before[1]["hooks"][0]["command"].as_str().unwrap();
        assert!(
            command.ends_with("BATON_ACTOR=\"${BATON_ACTOR:-agent:gemini}\" baton learn pre-command --hook gemini"),
            "{command}"
        );
        assert_eq!(merged["hooks"]["AfterTool"][0]["hooks"][0]["name"], "baton-record");
        let fresh = install(
            Target::Codex,
            None,
            &HookCommand {
                baton: "/usr/local/bin/baton".into(),
                ..HookCommand::default_for(Target::Codex)
            },
        )
        .unwrap();
        let merged = json_of(&fresh.content);
        let command = merged["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
            .as_str()
            .unwrap();
        assert!(command.starts_with("command -v /usr/local/bin/baton "), "{command}");
        assert!(
            command.ends_with(" /usr/local/bin/baton learn pre-command --hook codex"),
            "{command}"
        );
        assert_eq!(fresh.path, ".codex/hooks.json");
        assert!(fresh.notes[0].contains("trust"), "{:?}", fresh.notes);
        let empty = install(Target::Claude, Some(b"\n"), &claude()).unwrap();
        assert!(empty.changed);
    }

    #[test]
    fn unknown_agents_are_invalid_input() {
        assert_eq!(
            crate::error::Error::from(Target::parse("vim").unwrap_err()).exit_code(),
            2
        );
    }

    #[test]
    fn every_client_gets_its_edit_tool_matcher_once() {
        for (target, event, matcher) in [
            (Target::Claude, "PreToolUse", CLAUDE_EDITS),
            (Target::Codex, "PreToolUse", CODEX_EDITS),
            (Target::Gemini, "BeforeTool", GEMINI_EDITS),
        ] {
            let how = HookCommand::default_for(target);
            let done = install(target, None, &how).unwrap();
            let merged = json_of(&done.content);
            let groups = merged["hooks"][event].as_array().unwrap();
            let edits: Vec<&Value> = groups.iter().filter(|g| g["matcher"] == matcher).collect();
            assert_eq!(edits.len(), 1, "{target:?}: {merged}");
            assert_eq!(edits[0]["hooks"][0]["command"], how.pre(target.name()));
            // Twice changes nothing.
            let again = install(target, Some(&done.content), &how).unwrap();
            assert!(!again.changed, "{target:?}: {:?}", again.added);
        }
    }
}
