//! `baton learn ...`: the risk guard before and after a command (plain, or
//! speaking an agent's hook protocol on stdin/stdout), routing, metrics,
//! doctor and hook installation; [`crate::ops::learn`] does the work.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::doctor;
use super::output::{safe, table, Output};
use crate::clock::{Bounds, Span};
use crate::error::code;
use crate::error::{Error, Kind, Result};
use crate::ids::Actor;
use crate::learn::hooks::{self, Dialect, HookAnswer, HookCommand, PostRequest, PreRequest, Target};
use crate::learn::judge::Verdict;
use crate::learn::route::{Routing, Suggestion};
use crate::learn::stats::{CommandEnd, JournalEntry};
use crate::messages;
use crate::ops::learn::{self as op, Ended, Input, Metrics};
use crate::ops::Session;

/// The most a hook payload may be (Claude Code sends a few KiB).
const MAX_PAYLOAD: u64 = 16 * 1024 * 1024;

#[derive(Debug, Subcommand)]
pub enum LearnCommand {
    /// Judge a command before it runs: low, medium or high risk with reasons (exit 1 when high).
    PreCommand(PreArgs),
    /// Record how a command ended (a local journal, folded into the shared statistics later).
    PostCommand(PostArgs),
    /// Suggest the pool role for a task, with a score and reasons.
    Route {
        /// The task, in words.
        task: String,
    },
    /// Risk decisions by level, outcomes by command family, deliveries by role.
    Metrics,
    /// Learn checks (same as `baton doctor learn`): rules, statistics, the local journal.
    Doctor(doctor::SubsystemDoctorArgs),
    /// Agent hook configuration in this repository.
    #[command(subcommand)]
    Hooks(HooksCommand),
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["command", "hook", "argv", "edit"])))]
pub struct PreArgs {
    /// The shell line to judge, as the shell would run it.
    #[arg(long, value_name = "LINE", allow_hyphen_values = true)]
    command: Option<String>,
    /// Read the agent's pre-tool hook payload on stdin and answer in its protocol (claude, codex, gemini).
    #[arg(long, value_name = "AGENT", value_parser = super::typed(Dialect::parse))]
    hook: Option<Dialect>,
    /// One command as argv, after `--` (no shell parsing).
    #[arg(last = true, value_name = "ARGV")]
    argv: Vec<String>,
    /// Judge a file edit instead: these files against the path reservations (docs/reservations.md).
    #[arg(long, num_args = 1.., value_name = "PATH")]
    edit: Vec<String>,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["command", "hook"])))]
pub struct PostArgs {
    /// The shell line that ran.
    #[arg(long, value_name = "LINE", requires = "exit_code", allow_hyphen_values = true)]
    command: Option<String>,
    /// Its exit status (130, 137 and 143 count as interrupted).
    #[arg(long, value_name = "N", allow_negative_numbers = true, requires = "command")]
    exit_code: Option<i32>,
    /// How long it ran (`2500ms`, `3s`, `1m 5s`).
    #[arg(long, value_name = "DURATION", value_parser = duration, requires = "command")]
    duration: Option<Span>,
    /// Read the agent's post-tool hook payload on stdin (claude, codex, gemini).
    #[arg(long, value_name = "AGENT", value_parser = super::typed(Dialect::parse), conflicts_with = "command")]
    hook: Option<Dialect>,
}

fn hook_actor(raw: &str) -> Result<Actor> {
    Ok(Actor::parse(raw)?)
}

fn duration(raw: &str) -> Result<Span> {
    Ok(Span::parse_within(raw, Bounds::WAIT)?)
}

#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// Write or merge baton's hooks into an agent's configuration here (claude, codex, gemini, opencode).
    Install {
        #[arg(value_parser = super::typed(Target::parse))]
        agent: Target,
        /// The path of the baton the hooks run (quoted for the shell as needed).
        #[arg(long, default_value = "baton", value_name = "PATH")]
        baton: String,
        /// The actor the hooks act as when the agent's environment sets no BATON_ACTOR (default: agent:<agent>).
        #[arg(long = "as", value_name = "ACTOR", value_parser = hook_actor)]
        as_actor: Option<Actor>,
    },
}

/// How to open the repository: `-C` and `--actor` as given.
pub struct Opening<'a> {
    pub dir: Option<&'a Path>,
    pub actor: Option<&'a str>,
}

impl Opening<'_> {
    fn open(&self, dir: Option<&Path>) -> Result<Session> {
        Session::open(dir.or(self.dir), self.actor)
    }

    /// The session, or `None` outside a git repository (the guard still
    /// judges there, with the built-in rules).
    fn open_if_repository(&self, dir: Option<&Path>) -> Result<Option<Session>> {
        match self.open(dir) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.is::<crate::store::NotARepository>() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

pub fn run(how: &Opening<'_>, cmd: &LearnCommand) -> Result<Output> {
    match cmd {
        LearnCommand::PreCommand(args) => pre_command(how, args),
        LearnCommand::PostCommand(args) => post_command(how, args),
        LearnCommand::Route { task } => Ok(routed(&op::route(&how.open(None)?, task)?)),
        LearnCommand::Metrics => Ok(metrics(&op::metrics(&how.open(None)?)?)),
        LearnCommand::Doctor(args) => doctor::run_for(&how.open(None)?, &["learn"], args),
        LearnCommand::Hooks(HooksCommand::Install { agent, baton, as_actor }) => {
            let command = HookCommand {
                baton: baton.clone(),
                actor: as_actor.clone().unwrap_or(HookCommand::default_for(*agent).actor),
            };
            let done = op::install_hooks(&how.open(None)?, *agent, &command)?;
            let mut text = if done.changed {
                format!("installed baton hooks in {}: {}", done.path, done.added.join(", "))
            } else {
                format!("baton hooks are already installed in {}", done.path)
            };
            for note in &done.notes {
                text.push_str(&format!("\nnote: {note}"));
            }
            Ok(Output::new(
                messages::value(&messages::AgentHooksInstalled {
                    path: done.path,
                    changed: done.changed,
                    added: &done.added,
                    notes: &done.notes,
                }),
                text,
            ))
        }
    }
}

fn pre_command(how: &Opening<'_>, args: &PreArgs) -> Result<Output> {
    if let Some(agent) = args.hook {
        // Fail closed: whatever goes wrong, the call is blocked in the client's protocol.
        let answer = hook_pre(how, agent).unwrap_or_else(|e| hooks::answer_error(agent, &e));
        return Ok(answered(answer));
    }
    if !args.edit.is_empty() {
        let verdict = edit(how, None, &args.edit).map_err(|mut e| {
            e.kind = Kind::Invalid;
            e
        })?;
        let code = verdict.exit_code();
        return Ok(Output::new(messages::value(&verdict), verdict.explain()).exit(code));
    }
    let input = match &args.command {
        Some(line) => Input::Line(line.clone()),
        None => Input::Argv(args.argv.clone()),
    };
    // Fail closed: a guard that cannot judge exits 2 (invalid input), which
    // every caller treats as "do not run", never 0 or 3.
    let verdict = judge(how, None, &input).map_err(|mut e| {
        e.kind = Kind::Invalid;
        e
    })?;
    let code = verdict.exit_code();
    Ok(Output::new(messages::value(&verdict), verdict.explain()).exit(code))
}

fn hook_pre(how: &Opening<'_>, agent: Dialect) -> Result<HookAnswer> {
    Ok(match hooks::parse_pre(agent, &read_payload()?)? {
        PreRequest::Judge {
            command, cwd, dialect, ..
        } => {
            let dir = payload_dir(how, cwd.as_deref());
            match judge(how, dir.as_deref(), &Input::Line(command)) {
                Ok(verdict) => hooks::answer_pre(dialect, &verdict),
                Err(e) => hooks::answer_error(dialect, &e),
            }
        }
        PreRequest::Edit {
            paths, cwd, dialect, ..
        } => {
            let dir = payload_dir(how, cwd.as_deref());
            match edit(how, dir.as_deref(), &paths) {
                Ok(verdict) => hooks::answer_pre(dialect, &verdict),
                Err(e) => hooks::answer_error(dialect, &e),
            }
        }
        PreRequest::PassThrough { .. } => hooks::answer_pass(agent),
    })
}

/// The verdict on a file edit (docs/reservations.md); outside a
/// repository there are no reservations to keep.
fn edit(how: &Opening<'_>, dir: Option<&Path>, paths: &[String]) -> Result<Verdict> {
    // Most edits after the first on a state tip are decided without
    // opening the repository; the rest go the full way.
    let at = dir
        .or(how.dir)
        .map(Path::to_path_buf)
        .or_else(|| std::env::current_dir().ok());
    if let Some(quick) = at
        .filter(|d| d.is_dir())
        .and_then(|d| crate::ops::reservations::edit_verdict_quick(&d, how.actor, paths))
    {
        return quick;
    }
    let Some(s) = how.open_if_repository(dir)? else {
        return Ok(crate::ops::reservations::edit_verdict_outside());
    };
    let cwd = dir.map(Path::to_path_buf).unwrap_or_else(|| s.dir.clone());
    let cwd = std::path::absolute(&cwd).unwrap_or(cwd);
    crate::ops::reservations::edit_verdict(&s, paths, &cwd)
}

fn judge(how: &Opening<'_>, dir: Option<&Path>, input: &Input) -> Result<Verdict> {
    match how.open_if_repository(dir)? {
        Some(s) => op::pre_command(&s, input),
        None => {
            // No repository, no session to name the actor: it must still be valid.
            if let Some(raw) = std::env::var("BATON_ACTOR").ok().filter(|a| !a.is_empty()) {
                Actor::parse(&raw).map_err(|e| Error::from(e).context("BATON_ACTOR"))?;
            }
            Ok(op::pre_command_builtin(input))
        }
    }
}

/// Where a hook's repository is: `-C`, else the payload's `cwd` when it
/// exists, else where baton runs.
fn payload_dir(how: &Opening<'_>, cwd: Option<&str>) -> Option<PathBuf> {
    if how.dir.is_some() {
        return None;
    }
    cwd.map(PathBuf::from).filter(|p| p.is_dir())
}

fn read_payload() -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_PAYLOAD + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("reading the hook payload on stdin", e))?;
    if bytes.len() as u64 > MAX_PAYLOAD {
        return Err(Error::invalid(
            code::INVALID_HOOK_PAYLOAD,
            format!("the hook payload is over {} MiB", MAX_PAYLOAD / 1024 / 1024),
        )
        .with_hint("hooks send one JSON object describing one tool call"));
    }
    Ok(bytes)
}

/// A hook's answer: its bytes on stdout as they are, even with `--json`;
/// the guard's own failure on stderr.
fn answered(answer: HookAnswer) -> Output {
    if !answer.stderr.is_empty() {
        eprint!("{}", crate::term::lines(&answer.stderr));
    }
    Output::raw(String::from_utf8_lossy(&answer.stdout).into_owned()).exit(answer.exit_code)
}

fn post_command(how: &Opening<'_>, args: &PostArgs) -> Result<Output> {
    if let Some(agent) = args.hook {
        match hooks::parse_post(agent, &read_payload()?)? {
            PostRequest::Record {
                command,
                outcome,
                exit_code,
                duration_ms,
                ..
            } => {
                let ended = Ended {
                    command,
                    outcome,
                    exit_code,
                    duration_ms,
                };
                op::post_command(&how.open(None)?, &ended)?;
            }
            PostRequest::PassThrough { .. } => {}
        }
        return Ok(answered(hooks::answer_pass(agent)));
    }
    let (Some(command), Some(code)) = (&args.command, args.exit_code) else {
        return Err(
            Error::invalid(code::USAGE, "post-command needs --command and --exit-code, or --hook")
                .with_hint("baton learn post-command --command \"cargo test\" --exit-code 1"),
        );
    };
    let ended = Ended {
        command: command.clone(),
        outcome: CommandEnd::from_exit_code(code),
        exit_code: Some(code),
        duration_ms: args
            .duration
            .map(|d| u64::try_from(d.as_std().as_millis()).unwrap_or(u64::MAX)),
    };
    let entry = op::post_command(&how.open(None)?, &ended)?;
    Ok(recorded(&entry))
}

fn recorded(entry: &JournalEntry) -> Output {
    let JournalEntry::Outcome {
        family,
        command,
        outcome,
        ..
    } = entry
    else {
        return Output::new(messages::value(&messages::Recorded { recorded: entry }), "recorded");
    };
    let outcome = serde_json::to_value(outcome).unwrap_or_default();
    let outcome = outcome.as_str().unwrap_or_default();
    let text = match family {
        Some(f) => format!("recorded {outcome} of `{}`: {}", safe(f), safe(command)),
        None => format!(
            "recorded {outcome} of {}: no command family, not counted",
            safe(command)
        ),
    };
    Output::new(messages::value(&messages::Recorded { recorded: entry }), text)
}

fn suggestion_lines(s: &Suggestion) -> String {
    let reasons: Vec<String> = s
        .reasons
        .iter()
        .map(|r| format!("  {}: {}", r.rule, safe(&r.why)))
        .collect();
    format!("{} (score {:.3})\n{}", s.role, s.score, reasons.join("\n"))
}

fn routed(r: &Routing) -> Output {
    let mut text = format!("suggested role: {}", suggestion_lines(&r.suggestion));
    if r.unstaffed {
        text.push_str(&format!(
            "\nno agent has the role {role} yet (the pool is empty): add one with `baton pool spawn --role {role}`",
            role = r.suggestion.role
        ));
    }
    if !r.alternatives.is_empty() {
        text.push_str("\nalternatives:");
        for alt in &r.alternatives {
            text.push_str(&format!("\n{}", suggestion_lines(alt)));
        }
    }
    Output::new(messages::value(&r), text)
}

fn metrics(m: &Metrics) -> Output {
    let d = &m.decisions;
    let mut text = format!("risk decisions: {} low, {} medium, {} high\n", d.low, d.medium, d.high);
    if m.families.is_empty() {
        text.push_str("no command outcomes recorded yet\n");
    } else {
        let mut rows = vec![["FAMILY", "RUNS", "OK", "FAILED", "INTERRUPTED", "STREAK", "ESCALATED"]
            .map(String::from)
            .to_vec()];
        for f in &m.families {
            let s = &f.stats;
            rows.push(vec![
                safe(&f.family).into_owned(),
                s.runs.to_string(),
                s.successes.to_string(),
                s.failures.to_string(),
                s.interrupted.to_string(),
                s.streak().to_string(),
                f.escalated.as_deref().map_or("-".into(), |why| safe(why).into_owned()),
            ]);
        }
        text.push_str(&table(&rows));
    }
    if m.routes.roles.is_empty() {
        text.push_str("no delivery outcomes per role yet\n");
    } else {
        let mut rows = vec![["ROLE", "CLOSED", "FAILED"].map(String::from).to_vec()];
        for (role, r) in &m.routes.roles {
            rows.push(vec![role.to_string(), r.closed.to_string(), r.failed.to_string()]);
        }
        text.push_str(&table(&rows));
    }
    if m.pending > 0 {
        text.push_str(&format!(
            "{} of this machine's journal {} counted above and not folded into the state yet",
            plural(m.pending, "entry", "entries"),
            if m.pending == 1 { "is" } else { "are" }
        ));
    }
    Output::new(messages::value(&m), text)
}

/// `1 entry`, `3 entries`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
