//! Repository-level commands: `init`, `log`, `config get|set`.

use clap::Subcommand;

use super::output::{published, safe, short, table, Output};
use crate::config::Source;
use crate::error::Result;
use crate::messages::{self, commit_id};
use crate::ops::hooks::Hook;
use crate::ops::repo::{self as op, LogFilter};
use crate::ops::Session;
use crate::store::STATE_REF;

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Install git hooks: pre-commit runs `baton doctor --hook`, pre-push publishes the state with `baton sync` (existing hooks keep running first).
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
    /// Print the value of `section.key` (its default when the state config leaves it unchanged).
    Get { key: String },
    /// Every key with its value, its default and where the value comes from.
    List,
    /// Set `section.key` to a value (one commit).
    Set { key: String, value: String },
}

pub fn init(s: &Session, args: &InitArgs) -> Result<Output> {
    let done = op::init(
        s,
        &op::InitArgs {
            hooks: args.hooks,
            remote: args.remote.clone(),
        },
    )?;
    let tip = short(&done.tip);
    let mut text = if done.created {
        format!("initialized baton state on {STATE_REF} [{tip}]")
    } else if done.adopted {
        format!(
            "joined the baton state of {} on {STATE_REF} [{tip}]",
            done.remote.as_deref().unwrap_or("")
        )
    } else {
        format!("baton state already initialized on {STATE_REF} [{tip}]")
    };
    if let (Some(remote), Some((refspec, added))) = (&done.remote, &done.refspec) {
        text.push_str(&if *added {
            format!("\nadded fetch refspec {refspec} to remote {remote}")
        } else {
            format!("\nremote {remote} already fetches baton state")
        });
    }
    if done.adopted {
        let remote = done.remote.as_deref().unwrap_or("");
        text.push_str(&format!("\nadopted the existing state of {remote}"));
    }
    for n in &done.notes {
        text.push_str(&format!("\n{n}"));
    }
    if let Some(hooks) = &done.hooks {
        for h in &hooks.installed {
            let what = match h.hook {
                Hook::PreCommit => "runs `baton doctor --hook` before each commit",
                Hook::PrePush => "publishes refs/baton/state with each `git push` (`baton sync`)",
            };
            let verb = if h.new { "installed" } else { "already installed:" };
            text.push_str(&format!("\n{verb} {} hook {}: {what}", h.hook.name(), h.path.display()));
        }
        text.push_str(&format!("\nthe hooks run `baton` from PATH, else {}", hooks.fallback));
    }
    Ok(Output::new(
        messages::value(&messages::Initialized {
            created: done.created,
            adopted: done.adopted,
            commit: done.tip.to_string(),
            remote: done.remote.as_deref(),
            refspec_added: done.refspec.as_ref().map(|(_, added)| *added),
            hook: done
                .hooks
                .as_ref()
                .and_then(|h| h.installed.first())
                .map(|h| h.path.display().to_string()),
            hooks: done.hooks.as_ref().map(|h| messages::HooksInstalled {
                installed: h
                    .installed
                    .iter()
                    .map(|i| messages::HookInstalled {
                        hook: i.hook.name(),
                        path: i.path.display().to_string(),
                        new: i.new,
                    })
                    .collect(),
                fallback: &h.fallback,
            }),
        }),
        text,
    ))
}

/// `baton log [--subject S]`.
pub fn log_command(s: &Session, args: &LogArgs) -> Result<Output> {
    let filter = match &args.subject {
        None => LogFilter::All,
        Some(subject) => LogFilter::Subject(subject.clone()),
    };
    log(s, &filter, args.limit)
}

/// The state history, newest first, as a table (and one JSON entry per commit).
pub fn log(s: &Session, filter: &LogFilter, limit: Option<usize>) -> Result<Output> {
    let entries = op::log(s, filter, limit)?;
    let mut rows = Vec::new();
    let mut items = Vec::new();
    for e in &entries {
        let when = chrono::DateTime::from_timestamp(e.time, 0)
            .map(|t| crate::clock::format_timestamp(&t))
            .unwrap_or_default();
        rows.push(vec![
            short(&e.id),
            when.clone(),
            safe(&e.author).into_owned(),
            safe(&e.message.summary).into_owned(),
        ]);
        items.push(messages::LogEntry {
            commit: e.id.to_string(),
            time: when,
            author: e.author.clone(),
            summary: e.message.summary.clone(),
            trailers: messages::Trailers::of(&e.message.trailers),
        });
    }
    let text = if rows.is_empty() {
        "no matching operations\n".to_owned()
    } else {
        table(&rows)
    };
    Ok(Output::new(messages::value(&messages::Log { entries: items }), text))
}

pub fn config(s: &Session, cmd: &ConfigCommand) -> Result<Output> {
    match cmd {
        ConfigCommand::Get { key } => {
            let setting = op::config_setting(s, key)?;
            // The value may come from a hand-written config.toml: escaped, never raw.
            let text = safe(&setting.value).into_owned();
            let out = Output::new(messages::value(&setting), text.clone());
            Ok(match setting.source {
                Source::State => out,
                Source::Default if setting.value.is_empty() => out.note(format!("{key} is not set (its default)")),
                Source::Default => out.note(format!(
                    "{text} is the default of {key}: the state config does not change it"
                )),
            })
        }
        ConfigCommand::List => {
            let settings = op::config_list(s)?;
            let mut rows = vec![vec!["KEY".into(), "SOURCE".into(), "VALUE".into()]];
            for st in &settings {
                let source = match st.source {
                    Source::Default => st.source.as_str().to_owned(),
                    Source::State => format!("{} (default {})", st.source.as_str(), shown(&st.default)),
                };
                rows.push(vec![st.key.to_owned(), source, safe(&shown(&st.value)).into_owned()]);
            }
            Ok(Output::new(
                messages::value(&messages::Settings { settings: &settings }),
                table(&rows),
            ))
        }
        ConfigCommand::Set { key, value } => {
            let applied = op::config_set(s, key, value)?;
            let text = match &applied.commit {
                Some(c) => format!("{key} = {} [{}]", safe(&applied.value), short(c)),
                None => format!("{key} is already {} (nothing to do)", safe(&applied.value)),
            };
            let out = Output::new(
                messages::value(&messages::ConfigSet {
                    key,
                    value: &applied.value,
                    changed: applied.commit.is_some(),
                    commit: commit_id(&applied.commit),
                }),
                text,
            );
            Ok(published(out, &applied))
        }
    }
}

/// A value in a table: an empty one shows as `-` (not set).
fn shown(value: &str) -> String {
    if value.is_empty() {
        "-".to_owned()
    } else {
        value.to_owned()
    }
}
