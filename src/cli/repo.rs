//! Repository-level commands: `init`, `log`, `config get|set`.

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;

use super::output::{short, short_opt, table};
use super::{Output, Session};
use crate::config::{self, Config};
use crate::error::{Error, Result};
use crate::state;
use crate::store::remote::refspec;
use crate::store::{message, Change, Message, Outcome, HOOK_MARKER, STATE_REF};

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Install a git pre-commit hook that runs `baton doctor --hook` (an existing hook keeps running first).
    #[arg(long)]
    pub hooks: bool,
    /// The remote to add the baton fetch refspec to (default: sync.remote, `origin`).
    #[arg(long)]
    pub remote: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// Only operations on this subject (`claim/T-42`, `agent/rev-1`); a trailing `/` matches a prefix (`claim/`).
    #[arg(long)]
    pub subject: Option<String>,
    /// At most this many entries.
    #[arg(long)]
    pub limit: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the value of `section.key`.
    Get { key: String },
    /// Set `section.key` to a value (one commit).
    Set { key: String, value: String },
}

pub fn init(s: &Session, args: &InitArgs) -> Result<Output> {
    let actor = s.actor()?;
    let remote = match &args.remote {
        Some(r) => r.clone(),
        None => super::sync::remote_name(s, None)?,
    };
    let has_remote = s.store.remote_names().contains(&remote);
    let mut notes = Vec::new();
    let refspec_added = if has_remote {
        let added = s.store.ensure_refspec(&remote)?;
        notes.push(if added {
            format!("added fetch refspec {} to remote {remote}", refspec(&remote))
        } else {
            format!("remote {remote} already fetches baton state")
        });
        Some(added)
    } else {
        None
    };
    // A clone whose remote already has state joins that history instead of starting a second one.
    let mut adopted = false;
    if has_remote && s.store.tip()?.is_none() {
        match s.store.fetch_state(&remote) {
            Ok(Some(theirs)) => {
                adopted = s
                    .store
                    .move_ref(STATE_REF, None, theirs, &format!("baton: init adopts {remote}"))
                    .is_ok();
                if adopted {
                    notes.push(format!("adopted the existing state of {remote}"));
                }
            }
            Ok(None) => {}
            Err(e) => notes.push(format!(
                "could not fetch from {remote} ({}); starting new state, `baton sync` merges later",
                e.message
            )),
        }
    }
    let written = s.store.update_or_create(&actor.to_string(), |snap| {
        if snap.commit().is_some() {
            return Ok(Outcome::Unchanged(false));
        }
        let msg = Message::new("init: baton state")
            .trailer(message::OP, "init")
            .trailer(message::ACTOR, actor.to_string());
        let mut change = Change::new(msg);
        change.put_toml(config::PATH.to_owned(), &Config::default())?;
        Ok(Outcome::Write(change, true))
    })?;
    let hook = if args.hooks {
        let (path, installed) = install_hook(s)?;
        notes.push(if installed {
            format!("installed pre-commit hook {}", path.display())
        } else {
            format!("pre-commit hook {} already runs baton doctor --hook", path.display())
        });
        Some(path)
    } else {
        None
    };
    let tip = s.store.tip()?.expect("state exists after init");
    let mut text = if written.value {
        format!("initialized baton state on {STATE_REF} [{}]", short(&tip))
    } else if adopted {
        format!("joined the baton state of {remote} on {STATE_REF} [{}]", short(&tip))
    } else {
        format!("baton state already initialized on {STATE_REF} [{}]", short(&tip))
    };
    for n in &notes {
        text.push_str(&format!("\n{n}"));
    }
    Ok(Output::new(
        json!({
            "created": written.value,
            "adopted": adopted,
            "commit": tip.to_string(),
            "remote": if has_remote { Some(remote) } else { None },
            "refspec_added": refspec_added,
            "hook": hook.map(|p| p.display().to_string()),
        }),
        text,
    ))
}

/// Install the pre-commit hook; an existing foreign hook moves to
/// `pre-commit.local` and keeps running first. Returns (path, newly installed).
fn install_hook(s: &Session) -> Result<(PathBuf, bool)> {
    let path = s.store.hook_path();
    if s.store.hook_installed() {
        return Ok((path, false));
    }
    let dir = path.parent().expect("hook path has a parent").to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let local = dir.join("pre-commit.local");
    if path.exists() {
        if local.exists() {
            return Err(Error::refused(
                "hook_exists",
                format!("{} and {} both exist", path.display(), local.display()),
            )
            .with_hint("merge them by hand, then rerun `baton init --hooks`"));
        }
        std::fs::rename(&path, &local)
            .map_err(|e| Error::io(format!("moving the existing hook to {}", local.display()), e))?;
    }
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "baton".into());
    let script = format!(
        "#!/bin/sh\n{HOOK_MARKER}\n# An existing hook, if any, was moved to pre-commit.local and runs first.\n\
         hook_dir=$(dirname \"$0\")\n\
         if [ -x \"$hook_dir/pre-commit.local\" ]; then \"$hook_dir/pre-commit.local\" \"$@\" || exit $?; fi\n\
         baton_bin='{}'\n\
         [ -x \"$baton_bin\" ] || baton_bin=baton\n\
         exec \"$baton_bin\" doctor --hook\n",
        exe.replace('\'', "")
    );
    std::fs::write(&path, script).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(format!("making {} executable", path.display()), e))?;
    }
    Ok((path, true))
}

pub fn log(s: &Session, args: &LogArgs) -> Result<Output> {
    match &args.subject {
        None => log_filtered(s, |_| true, args.limit),
        Some(subject) => {
            let subject = subject.as_str();
            log_filtered(
                s,
                |m| {
                    m.all(message::SUBJECT).any(|x| {
                        if subject.ends_with('/') {
                            x.starts_with(subject)
                        } else {
                            x == subject
                        }
                    })
                },
                args.limit,
            )
        }
    }
}

/// The state history, newest first, keeping the commits `keep` accepts.
pub fn log_filtered(s: &Session, keep: impl Fn(&Message) -> bool, limit: Option<usize>) -> Result<Output> {
    let tip = s.store.snapshot()?.commit().expect("snapshot has a commit");
    let mut entries = Vec::new();
    s.store.walk_history(tip, |e| {
        if keep(&e.message) {
            entries.push(e);
        }
        limit.is_none_or(|l| entries.len() < l)
    })?;
    // The walk keeps the first match before it can stop, so `--limit 0`
    // (nothing, like `git log -n 0`) needs the cut here.
    entries.truncate(limit.unwrap_or(usize::MAX));
    let mut rows = Vec::new();
    let mut items = Vec::new();
    for e in &entries {
        let when = chrono::DateTime::from_timestamp(e.time, 0)
            .map(|t| crate::clock::format_timestamp(&t))
            .unwrap_or_default();
        rows.push(vec![
            short(&e.id),
            when.clone(),
            e.author.clone(),
            e.message.summary.clone(),
        ]);
        let trailers: serde_json::Map<String, serde_json::Value> =
            e.message.trailers.iter().fold(serde_json::Map::new(), |mut m, (k, v)| {
                match m.get_mut(k) {
                    Some(serde_json::Value::Array(a)) => a.push(v.clone().into()),
                    Some(prev) => *prev = json!([prev.clone(), v]),
                    None => {
                        m.insert(k.clone(), v.clone().into());
                    }
                }
                m
            });
        items.push(json!({
            "commit": e.id.to_string(),
            "time": when,
            "author": e.author,
            "summary": e.message.summary,
            "trailers": trailers,
        }));
    }
    let text = if rows.is_empty() {
        "no matching operations\n".to_owned()
    } else {
        table(&rows)
    };
    Ok(Output::new(json!({ "entries": items }), text))
}

pub fn config(s: &Session, cmd: &ConfigCommand) -> Result<Output> {
    match cmd {
        ConfigCommand::Get { key } => {
            let value = state::config(&s.store.snapshot()?)?.get(key)?;
            Ok(Output::new(json!({"key": key, "value": value}), value))
        }
        ConfigCommand::Set { key, value } => {
            let actor = s.actor()?;
            let written = s.store.update(&actor.to_string(), |snap| {
                let current = state::config(snap)?;
                let next = current.with(key, value)?;
                if next.get(key)? == current.get(key)? {
                    return Ok(Outcome::Unchanged(next.get(key)?));
                }
                let msg = Message::new(format!("config: set {key} = {value}"))
                    .trailer(message::OP, "config.set")
                    .trailer(message::SUBJECT, format!("config/{key}"))
                    .trailer(message::ACTOR, actor.to_string());
                let mut change = Change::new(msg);
                change.put_toml(config::PATH.to_owned(), &next)?;
                Ok(Outcome::Write(change, next.get(key)?))
            })?;
            let text = match &written.commit {
                Some(c) => format!("{key} = {} [{}]", written.value, short(c)),
                None => format!("{key} is already {} (nothing to do)", written.value),
            };
            Ok(Output::new(
                json!({"key": key, "value": written.value, "changed": written.commit.is_some(), "commit": short_opt(&written.commit)}),
                text,
            ))
        }
    }
}
