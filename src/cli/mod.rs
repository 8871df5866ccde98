//! The command line: argument parsing (clap), the per-invocation context
//! (repository, actor, clock), and rendering results as text or one JSON
//! document. Each command group has its own module; none of them touches git
//! except through [`crate::store`].

mod claims;
mod doctor;
mod output;
mod pool;
mod repo;
mod sync;
mod workflow;

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};

use crate::clock::{self, Timestamp};
use crate::error::{Error, Result};
use crate::ids::Actor;
use crate::store::Store;
pub use output::Output;

/// Git-native coordination for humans and coding agents sharing one repository.
#[derive(Debug, Parser)]
#[command(name = "baton", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Run as if baton was started in <PATH> (like `git -C`).
    #[arg(short = 'C', global = true, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Act as this actor (`human:<name>` or `agent:<name>`); default: $BATON_ACTOR, then the git identity.
    #[arg(long, global = true, value_name = "ACTOR")]
    pub actor: Option<String>,
    /// Print nothing on success.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the state ref (idempotent), the fetch refspec and optionally the pre-commit hook.
    Init(repo::InitArgs),
    /// Show the state history (one commit per operation).
    Log(repo::LogArgs),
    /// Read or change shared policy (config.toml in the state).
    #[command(subcommand)]
    Config(repo::ConfigCommand),
    /// Claims on work: claim, hand off, accept, release, expire.
    #[command(subcommand)]
    Claims(claims::ClaimsCommand),
    /// The agent pool: spawn agents, heartbeats, drain, retire.
    #[command(subcommand)]
    Pool(pool::PoolCommand),
    /// Workflows: dry-run or execute definitions with a run ledger, resume, stop.
    #[command(subcommand)]
    Workflow(workflow::WorkflowCommand),
    /// Share state with a remote: fetch, then fast-forward, push, or merge and push.
    Sync(sync::SyncArgs),
    /// Check the state, the store and every subsystem.
    Doctor(doctor::DoctorArgs),
    /// Run an end-to-end scenario in a temporary repository.
    Selftest(SelftestArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

#[derive(Debug, clap::Args)]
pub struct SelftestArgs {
    /// Keep the temporary repository and print where it is.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    pub shell: clap_complete::Shell,
}

/// The clap command tree, for completions and for the handbook drift tests.
pub fn command() -> clap::Command {
    Cli::command()
}

/// What every command that touches state needs: the store, who acts, and when.
pub struct Session {
    pub store: Store,
    /// The directory baton runs in (`-C`), for relative paths.
    pub dir: PathBuf,
    /// `--json`: stdout carries one document, so streamed output goes elsewhere.
    pub json: bool,
    actor_flag: Option<String>,
    pub now: Timestamp,
}

impl Session {
    fn open(cli: &Cli) -> Result<Session> {
        let dir = match &cli.dir {
            Some(d) => d.clone(),
            None => std::env::current_dir().map_err(|e| Error::io("reading the current directory", e))?,
        };
        if !dir.is_dir() {
            return Err(Error::environment(
                "no_such_directory",
                format!("cannot change to {}: no such directory", dir.display()),
            )
            .with_hint("pass an existing directory to -C"));
        }
        let now = clock::now()?;
        // Validate --actor up front, so a bad one fails before anything else.
        if let Some(a) = &cli.actor {
            Actor::parse(a)?;
        }
        Ok(Session {
            store: Store::discover(&dir)?,
            dir,
            json: cli.json,
            actor_flag: cli.actor.clone(),
            now,
        })
    }

    /// `--actor`, else `BATON_ACTOR`, else `human:<git email or name>`, else `human:$USER`.
    pub fn actor(&self) -> Result<Actor> {
        if let Some(a) = &self.actor_flag {
            return Actor::parse(a);
        }
        if let Ok(a) = std::env::var("BATON_ACTOR") {
            if !a.is_empty() {
                return Actor::parse(&a).map_err(|e| e.context("BATON_ACTOR"));
            }
        }
        let config = self.store.repo().config_snapshot();
        for key in ["user.email", "user.name"] {
            if let Some(v) = config.string(key) {
                if !v.is_empty() {
                    return Ok(Actor::human_from_local(&v.to_string()));
                }
            }
        }
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_default();
        Ok(Actor::human_from_local(&user))
    }
}

/// Parse, run, print; returns the process exit code.
pub fn main() -> i32 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let json = args.iter().skip(1).any(|a| a == "--json");
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return report_parse_error(e, json),
    };
    let quiet = cli.quiet;
    match run(cli) {
        Ok(out) => {
            out.print(json, quiet);
            out.exit_code
        }
        Err(err) => {
            report_error(&err, json);
            err.exit_code()
        }
    }
}

pub fn run(cli: Cli) -> Result<Output> {
    match &cli.command {
        Command::Completions(args) => {
            let mut buf = Vec::new();
            clap_complete::generate(args.shell, &mut command(), "baton", &mut buf);
            Ok(Output::raw(String::from_utf8_lossy(&buf).into_owned()))
        }
        Command::Selftest(args) => crate::selftest::run(args.keep),
        Command::Init(args) => repo::init(&Session::open(&cli)?, args),
        Command::Log(args) => repo::log(&Session::open(&cli)?, args),
        Command::Sync(args) => sync::run(&Session::open(&cli)?, args),
        Command::Config(cmd) => with_auto_sync(&cli, |s| repo::config(s, cmd)),
        Command::Claims(cmd) => with_auto_sync(&cli, |s| claims::run(s, cmd)),
        Command::Pool(cmd) => with_auto_sync(&cli, |s| pool::run(s, cmd)),
        Command::Workflow(cmd) => workflow::run(&Session::open(&cli)?, cmd),
        Command::Doctor(args) => doctor::run(&cli, args),
    }
}

/// Run a command that may write, then publish under `sync.auto`.
fn with_auto_sync(cli: &Cli, command: impl FnOnce(&Session) -> Result<Output>) -> Result<Output> {
    let session = Session::open(cli)?;
    let mut out = command(&session)?;
    if !out.synced {
        sync::after_write(&session, &mut out)?;
    }
    Ok(out)
}

fn report_error(err: &Error, json: bool) {
    if json {
        output::write_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&err.to_json()).unwrap_or_default()
        ));
    }
    eprintln!("error: {}", err.message);
    if !err.hint.is_empty() {
        eprintln!("hint: {}", err.hint);
    }
}

/// clap's own errors, in baton's `error:`/`hint:` shape (exit 2), keeping
/// help and version output as they are.
fn report_parse_error(e: clap::Error, json: bool) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return 0;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return 2;
        }
        _ => {}
    }
    // A value our own parsers refused carries our message and hint.
    let ours = std::error::Error::source(&e)
        .and_then(|s| s.downcast_ref::<Error>())
        .cloned();
    let err = ours.unwrap_or_else(|| {
        let rendered = e.render().to_string();
        let mut lines = rendered.lines();
        let first = lines.next().unwrap_or("invalid usage").trim_start_matches("error: ");
        // "the following required arguments were not provided:" lists what is
        // missing on the indented lines below; keep them, or the message says nothing.
        let listed: Vec<&str> = lines.take_while(|l| l.starts_with("  ")).map(str::trim).collect();
        let message = if first.ends_with(':') && !listed.is_empty() {
            format!("{first} {}", listed.join(", "))
        } else {
            first.to_owned()
        };
        let usage = rendered
            .lines()
            .find(|l| l.trim_start().starts_with("Usage:"))
            .map(str::trim);
        let hint = match usage {
            Some(u) => format!("{u}; see --help"),
            None => "see `baton --help`".to_owned(),
        };
        Error::invalid("usage", message).with_hint(hint)
    });
    report_error(&err, json);
    Kind::Invalid.exit_code()
}

use crate::error::Kind;
