//! Shell completion: `baton completions <shell>` prints a small script that
//! asks the binary itself for candidates (`BATON_COMPLETE=<shell> baton --
//! <words>`), so values that live in the repository complete too: claim
//! states, roles and agents of the pool, workflow names in
//! `.baton/workflows`, config keys, templates. An ordinary run pays one
//! environment lookup for this; the candidates are read only while
//! completing, and reading the state fails quietly (no candidates).

use clap::Command;
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::{EnvCompleter, Shells};

use crate::claims::ClaimState;
use crate::error::code;
use crate::error::{Error, Result};
use crate::ops::Session;

/// The environment variable the completion script sets when it calls baton.
pub const VAR: &str = "BATON_COMPLETE";

/// Answer a completion request and exit, when this process is one; return
/// otherwise.
pub fn answer_if_asked() {
    if std::env::var_os(VAR).is_none() {
        return;
    }
    clap_complete::CompleteEnv::with_factory(|| with_candidates(super::command()))
        .var(VAR)
        .complete();
}

/// The registration script for `shell`: it calls `baton` as found on PATH.
pub fn script(shell: clap_complete::Shell) -> Result<String> {
    let name = shell.to_string();
    let shells = Shells::builtins();
    let completer: &dyn EnvCompleter = shells.completer(&name).ok_or_else(|| {
        Error::invalid(code::UNSUPPORTED_SHELL, format!("no completion for {name}"))
            .with_hint("shells: bash, elvish, fish, powershell, zsh")
    })?;
    let mut buf = Vec::new();
    completer
        .write_registration(VAR, "baton", "baton", "baton", &mut buf)
        .map_err(|e| Error::io("writing the completion script", e))?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Lists the values an argument may take.
type Values = fn() -> Vec<String>;

/// What to offer for an argument, by its id (or `<group> <id>` where the
/// group means something else by it).
fn candidates_for(group: &str, id: &str) -> Option<Values> {
    Some(match (group, id) {
        (_, "state") => || ClaimState::ALL.iter().map(|s| s.as_str().to_owned()).collect(),
        ("pool", "id") | (_, "agent") if group != "learn" => agent_ids,
        ("learn", "agent") => || ["claude", "codex", "gemini", "opencode"].map(str::to_owned).to_vec(),
        (_, "role") => roles,
        ("workflow" | "delivery", "workflow") => workflows,
        ("config", "key") => || crate::config::KEYS.iter().map(|(k, _)| (*k).to_owned()).collect(),
        ("workflow", "name") => || {
            crate::workflow::TEMPLATES
                .iter()
                .map(|(n, _)| (*n).to_owned())
                .collect()
        },
        _ => return None,
    })
}

/// `cmd` with value candidates on the arguments that have them.
pub fn with_candidates(cmd: Command) -> Command {
    fn walk(cmd: Command, group: &str) -> Command {
        let ids: Vec<(String, Values)> = cmd
            .get_arguments()
            .filter_map(|a| {
                let id = a.get_id().as_str();
                candidates_for(group, id).map(|f| (id.to_owned(), f))
            })
            .collect();
        let mut cmd = cmd;
        for (id, list) in ids {
            cmd = cmd.mut_arg(&id, |a| {
                a.add(ArgValueCandidates::new(move || {
                    list().into_iter().map(CompletionCandidate::new).collect::<Vec<_>>()
                }))
            });
        }
        cmd.mut_subcommands(|sub| {
            let group = if group.is_empty() {
                sub.get_name().to_owned()
            } else {
                group.to_owned()
            };
            walk(sub, &group)
        })
    }
    walk(cmd, "")
}

/// The repository of the current directory, if there is one with state.
fn session() -> Option<Session> {
    Session::open(None, None).ok()
}

fn agent_ids() -> Vec<String> {
    let Some(s) = session() else { return Vec::new() };
    crate::ops::pool::agents(&s)
        .map(|agents| agents.iter().map(|a| a.id.to_string()).collect())
        .unwrap_or_default()
}

fn roles() -> Vec<String> {
    let Some(s) = session() else { return Vec::new() };
    let mut roles: Vec<String> = crate::ops::pool::agents(&s)
        .map(|agents| agents.iter().map(|a| a.role.to_string()).collect())
        .unwrap_or_default();
    roles.sort();
    roles.dedup();
    roles
}

fn workflows() -> Vec<String> {
    session()
        .map(|s| crate::ops::workflow::definition_names(&s))
        .unwrap_or_default()
}
