//! `baton mcp install <client>`: each client's project-scope MCP entry for
//! `baton mcp`, merged into the client's existing file as a pure function
//! (the existing file in, the new content out), like
//! `learn hooks install` (whose settings parsing and refusals it shares).
//!
//! | client | file | entry |
//! | --- | --- | --- |
//! | Claude Code | `.mcp.json` | `mcpServers.baton`: `type`, `command`, `args` |
//! | Codex | `.codex/config.toml` | `[mcp_servers.baton]`: `command`, `args`, `env_vars` |
//! | Gemini CLI | `.gemini/settings.json` | `mcpServers.baton`: `command`, `args` |
//! | opencode | `opencode.json` | `mcp.baton`: `type = "local"`, `command` array, `enabled` |
//!
//! The server runs `baton mcp --default-actor <actor>`: the agent's own
//! `BATON_ACTOR` still wins, as it does for the hooks (Codex passes only
//! the variables `env_vars` names to a server, so the entry names it).
//! An entry that is already baton's is left alone; a different `baton`
//! entry is refused unless `force` replaces it; everything else in the
//! file is kept (TOML comments and order included).

use serde_json::{json, Map, Value};

use crate::error::code;
use crate::error::{Error, Result};
use crate::ids::Actor;
use crate::learn::hooks::{self, Install};

/// The key every client's entry is stored under.
pub const NAME: &str = "baton";

/// An MCP client `mcp install` can set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Claude,
    Codex,
    Gemini,
    Opencode,
}

impl Client {
    pub const NAMES: &'static str = "claude, codex, gemini, opencode";

    pub fn parse(raw: &str) -> Result<Client> {
        match raw {
            "claude" => Ok(Client::Claude),
            "codex" => Ok(Client::Codex),
            "gemini" => Ok(Client::Gemini),
            "opencode" => Ok(Client::Opencode),
            _ => Err(
                Error::invalid(code::UNKNOWN_CLIENT, format!("unknown MCP client {raw:?}"))
                    .with_hint(format!("baton mcp can be installed for: {}", Client::NAMES)),
            ),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Client::Claude => "claude",
            Client::Codex => "codex",
            Client::Gemini => "gemini",
            Client::Opencode => "opencode",
        }
    }

    /// The client's project-scope file, relative to the repository root.
    pub fn path(self) -> &'static str {
        match self {
            Client::Claude => ".mcp.json",
            Client::Codex => ".codex/config.toml",
            Client::Gemini => ".gemini/settings.json",
            Client::Opencode => "opencode.json",
        }
    }

    /// What the user must still do before the client starts the server.
    fn notes(self) -> Vec<String> {
        match self {
            Client::Claude => vec!["Claude Code asks once before it starts a server of a project's .mcp.json: approve `baton` when it asks (or see `/mcp`)".to_owned()],
            Client::Codex => vec!["Codex reads .codex/config.toml only in a project you trust".to_owned()],
            Client::Gemini | Client::Opencode => Vec::new(),
        }
    }
}

/// How the client starts the server: the program (a path, or `baton` from
/// `PATH`) and the actor it acts as when the agent's environment names none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub baton: String,
    pub actor: Actor,
}

impl Launch {
    /// `baton` from `PATH`, acting as `agent:<client>`.
    pub fn default_for(client: Client) -> Launch {
        Launch {
            baton: "baton".into(),
            actor: Actor::parse(&format!("agent:{}", client.name())).expect("client names are valid actor names"),
        }
    }

    /// The arguments after the program.
    pub fn args(&self) -> Vec<String> {
        vec!["mcp".into(), "--default-actor".into(), self.actor.to_string()]
    }
}

/// The entry `client` gets, as JSON (the TOML of Codex is written from it).
pub fn entry(client: Client, launch: &Launch) -> Value {
    let args = launch.args();
    match client {
        Client::Claude => json!({"type": "stdio", "command": launch.baton, "args": args}),
        Client::Codex => json!({"command": launch.baton, "args": args, "env_vars": ["BATON_ACTOR"]}),
        Client::Gemini => json!({"command": launch.baton, "args": args}),
        Client::Opencode => {
            let mut command = vec![launch.baton.clone()];
            command.extend(args);
            json!({"type": "local", "command": command, "enabled": true})
        }
    }
}

/// The key the client keeps its servers under.
fn servers_key(client: Client) -> &'static str {
    match client {
        Client::Claude | Client::Gemini => "mcpServers",
        Client::Codex => "mcp_servers",
        Client::Opencode => "mcp",
    }
}

/// Is an existing entry baton's as wanted? Every key baton writes has its
/// value; keys the user added (a timeout, `enabled`) do not matter.
fn same(existing: &Value, wanted: &Value) -> bool {
    let (Some(existing), Some(wanted)) = (existing.as_object(), wanted.as_object()) else {
        return false;
    };
    wanted.iter().all(|(k, v)| existing.get(k) == Some(v))
}

fn conflict(client: Client, existing: &Value, wanted: &Value) -> Error {
    let path = client.path();
    Error::refused(
        code::MCP_CONFLICT,
        format!(
            "{path} already has a different `{NAME}` server: {}",
            serde_json::to_string(existing).unwrap_or_default()
        ),
    )
    .with_hint(format!(
        "run `baton mcp install {} --force` to replace it with {}, or change it by hand",
        client.name(),
        serde_json::to_string(wanted).unwrap_or_default()
    ))
}

/// Install `baton mcp` into the client's file: its existing content (if
/// any) in, the new content out. `force` replaces a different `baton` entry.
pub fn install(client: Client, existing: Option<&[u8]>, launch: &Launch, force: bool) -> Result<Install> {
    let wanted = entry(client, launch);
    let content = match client {
        Client::Codex => install_toml(client, existing, &wanted, force)?,
        _ => install_json(client, existing, &wanted, force)?,
    };
    let path = client.path();
    Ok(match content {
        None => Install {
            path,
            content: existing.unwrap_or_default().to_vec(),
            changed: false,
            added: Vec::new(),
            notes: client.notes(),
        },
        Some(content) => Install {
            path,
            content,
            changed: true,
            added: vec![format!("{}.{NAME}", servers_key(client))],
            notes: client.notes(),
        },
    })
}

/// The new JSON file, or `None` when the entry is already there.
fn install_json(client: Client, existing: Option<&[u8]>, wanted: &Value, force: bool) -> Result<Option<Vec<u8>>> {
    let path = client.path();
    let key = servers_key(client);
    let mut root = hooks::settings(path, existing)?;
    let servers = hooks::object_at(&mut root, path, "the file", key, "server names to server entries")?;
    match servers.get(NAME) {
        Some(there) if same(there, wanted) => return Ok(None),
        Some(there) if !force => return Err(conflict(client, there, wanted)),
        _ => {}
    }
    servers.insert(NAME.to_owned(), wanted.clone());
    let mut content = serde_json::to_vec_pretty(&root).expect("settings always serialize");
    content.push(b'\n');
    Ok(Some(content))
}

/// The new `.codex/config.toml`, or `None` when the entry is already there.
/// Edited in place: the user's comments, order and formatting stay.
fn install_toml(client: Client, existing: Option<&[u8]>, wanted: &Value, force: bool) -> Result<Option<Vec<u8>>> {
    let path = client.path();
    let text = match existing {
        None => String::new(),
        Some(bytes) => String::from_utf8(bytes.to_vec()).map_err(|_| invalid_toml(path, "it is not UTF-8"))?,
    };
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| invalid_toml(path, e.message()))?;
    let key = servers_key(client);
    let servers = doc
        .entry(key)
        .or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            // `[mcp_servers.baton]` alone, without an empty `[mcp_servers]` header.
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        })
        .as_table_like_mut()
        .ok_or_else(|| {
            Error::refused(code::MCP_CONFLICT, format!("{path}: `{key}` is not a table")).with_hint(format!(
                "`{key}` must map server names to server tables; fix it by hand"
            ))
        })?;
    if let Some(there) = servers.get(NAME) {
        let there_json = toml_json(there);
        if same(&there_json, wanted) {
            return Ok(None);
        }
        if !force {
            return Err(conflict(client, &there_json, wanted));
        }
    }
    let mut table = toml_edit::Table::new();
    for (k, v) in wanted.as_object().expect("entries are objects") {
        table.insert(k, toml_edit::value(toml_value(v)));
    }
    servers.insert(NAME, toml_edit::Item::Table(table));
    Ok(Some(doc.to_string().into_bytes()))
}

fn invalid_toml(path: &str, why: &str) -> Error {
    Error::invalid(
        code::INVALID_SETTINGS,
        format!("{path} is not valid TOML ({})", why.trim()),
    )
    .with_hint(format!("fix {path} (or move it away), then run the install again"))
}

/// A TOML item as JSON, for comparing an existing entry with the wanted one
/// (strings, booleans, integers and arrays of them are all an entry holds).
fn toml_json(item: &toml_edit::Item) -> Value {
    fn of(v: &toml_edit::Value) -> Value {
        match v {
            toml_edit::Value::String(s) => Value::String(s.value().clone()),
            toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
            toml_edit::Value::Integer(i) => json!(*i.value()),
            toml_edit::Value::Float(f) => json!(*f.value()),
            toml_edit::Value::Array(a) => Value::Array(a.iter().map(of).collect()),
            toml_edit::Value::InlineTable(t) => Value::Object(t.iter().map(|(k, v)| (k.to_owned(), of(v))).collect()),
            toml_edit::Value::Datetime(d) => Value::String(d.value().to_string()),
        }
    }
    match item {
        toml_edit::Item::Value(v) => of(v),
        toml_edit::Item::Table(t) => Value::Object(t.iter().map(|(k, v)| (k.to_owned(), toml_json(v))).collect()),
        toml_edit::Item::ArrayOfTables(a) => Value::Array(
            a.iter()
                .map(|t| {
                    Value::Object(
                        t.iter()
                            .map(|(k, v)| (k.to_owned(), toml_json(v)))
                            .collect::<Map<_, _>>(),
                    )
                })
                .collect(),
        ),
        toml_edit::Item::None => Value::Null,
    }
}

/// A value of an entry (strings, booleans, arrays of strings) as TOML.
fn toml_value(v: &Value) -> toml_edit::Value {
    match v {
        Value::Bool(b) => (*b).into(),
        Value::Array(items) => {
            let array: toml_edit::Array = items.iter().map(toml_value).collect();
            toml_edit::Value::Array(array)
        }
        Value::String(s) => s.as_str().into(),
        other => other.to_string().as_str().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_of(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    fn launch(client: Client) -> Launch {
        Launch::default_for(client)
    }

    #[test]
    fn each_client_gets_its_entry_in_a_fresh_file() {
        let claude = install(Client::Claude, None, &launch(Client::Claude), false).unwrap();
        assert_eq!(claude.path, ".mcp.json");
        assert_eq!(
            json_of(&claude.content),
            json!({"mcpServers": {"baton": {"type": "stdio", "command": "baton", "args": ["mcp", "--default-actor", "agent:claude"]}}})
        );
        let gemini = install(Client::Gemini, None, &launch(Client::Gemini), false).unwrap();
        assert_eq!(
            json_of(&gemini.content)["mcpServers"]["baton"]["args"],
            json!(["mcp", "--default-actor", "agent:gemini"])
        );
        let opencode = install(Client::Opencode, None, &launch(Client::Opencode), false).unwrap();
        assert_eq!(
            json_of(&opencode.content)["mcp"]["baton"],
            json!({"type": "local", "command": ["baton", "mcp", "--default-actor", "agent:opencode"], "enabled": true})
        );
        let codex = install(Client::Codex, None, &launch(Client::Codex), false).unwrap();
        let text = String::from_utf8(codex.content).unwrap();
        assert_eq!(
            text,
            "[mcp_servers.baton]\ncommand = \"baton\"\nargs = [\"mcp\", \"--default-actor\", \"agent:codex\"]\nenv_vars = [\"BATON_ACTOR\"]\n"
        );
        let parsed: toml::Table = text.parse().unwrap();
        assert_eq!(parsed["mcp_servers"]["baton"]["command"].as_str(), Some("baton"));
    }

    #[test]
    fn codex_keeps_comments_and_other_servers_and_is_idempotent() {
        let existing = b"# my codex settings\nmodel = \"o3\" # fast\n\n[mcp_servers.docs]\ncommand = \"docs-mcp\"\n";
        let done = install(Client::Codex, Some(existing), &launch(Client::Codex), false).unwrap();
        let text = String::from_utf8(done.content.clone()).unwrap();
        assert!(
            text.starts_with("# my codex settings\nmodel = \"o3\" # fast\n"),
            "{text}"
        );
        assert!(text.contains("[mcp_servers.docs]\ncommand = \"docs-mcp\"\n"), "{text}");
        assert!(text.contains("[mcp_servers.baton]\n"), "{text}");
        let again = install(Client::Codex, Some(&done.content), &launch(Client::Codex), false).unwrap();
        assert!(!again.changed);
        assert_eq!(again.content, done.content);
    }

    #[test]
    fn a_different_baton_entry_is_refused_unless_forced() {
        let other = Launch {
            baton: "/opt/baton".into(),
            actor: Actor::parse("agent:reviewer").unwrap(),
        };
        for client in [Client::Claude, Client::Codex, Client::Gemini, Client::Opencode] {
            let first = install(client, None, &launch(client), false).unwrap();
            let err = install(client, Some(&first.content), &other, false).unwrap_err();
            assert_eq!(err.code, code::MCP_CONFLICT, "{client:?}");
            assert_eq!(err.exit_code(), 1);
            assert!(err.hint.contains("--force"), "{}", err.hint);
            let forced = install(client, Some(&first.content), &other, true).unwrap();
            assert!(forced.changed);
            let text = String::from_utf8(forced.content).unwrap();
            assert!(text.contains("/opt/baton") && text.contains("agent:reviewer"), "{text}");
            assert!(!text.contains("agent:claude\"") || client != Client::Claude);
        }
    }

    #[test]
    fn keys_the_user_added_to_the_entry_do_not_make_it_different() {
        let existing = br#"{"mcpServers":{"baton":{"type":"stdio","command":"baton","args":["mcp","--default-actor","agent:claude"],"timeout":30000}}}"#;
        let again = install(Client::Claude, Some(existing), &launch(Client::Claude), false).unwrap();
        assert!(!again.changed);
    }

    #[test]
    fn broken_files_are_refused() {
        let err = install(Client::Claude, Some(b"{ nope"), &launch(Client::Claude), false).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let err = install(Client::Codex, Some(b"[mcp_servers\n"), &launch(Client::Codex), false).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.message().contains(".codex/config.toml is not valid TOML"),
            "{}",
            err.message()
        );
        let err = install(Client::Codex, Some(b"mcp_servers = 3\n"), &launch(Client::Codex), false).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        let err = install(
            Client::Opencode,
            Some(br#"{"mcp": []}"#),
            &launch(Client::Opencode),
            false,
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert_eq!(Client::parse("vim").unwrap_err().exit_code(), 2);
    }
}
