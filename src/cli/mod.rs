//! The command line: argument parsing (clap), and rendering what the
//! operations of [`crate::ops`] did as text or one JSON document. Each
//! command group has its own module; none of them writes state, touches git
//! or knows a file of the state tree: they call one operation and render
//! its typed result.

// The doc comments of the argument types are clap's help text, where
// `<agent>` is how a value is named, not an HTML tag.
#![allow(rustdoc::invalid_html_tags)]

mod claims;
mod complete;
mod daemon;
mod delivery;
mod doctor;
mod help;
mod learn;
mod mcp;
mod output;
mod parse;
mod pool;
mod repo;
mod reservations;
mod selftest;
mod selftest_mcp;
mod sync;
mod workflow;

use std::cell::OnceCell;
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};

use crate::error::code;
use crate::error::{Error, Kind, Result};
use crate::messages;
use crate::ops::Session;
pub use output::Output;

/// Where `--help` lists the flags every command takes.
const GLOBAL: &str = "Global options";

/// Git-native coordination for humans and coding agents sharing one repository.
#[derive(Debug, Parser)]
#[command(name = "baton", version, propagate_version = true, max_term_width = 100)]
pub struct CliOf<C: Subcommand + std::fmt::Debug> {
    /// Run as if baton was started in <PATH> (like `git -C`).
    #[arg(short = 'C', global = true, value_name = "PATH", help_heading = GLOBAL)]
    pub dir: Option<PathBuf>,
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,
    /// Act as this actor (`human:<name>` or `agent:<name>`); default: $BATON_ACTOR, then the git identity.
    #[arg(long, global = true, value_name = "ACTOR", help_heading = GLOBAL)]
    pub actor: Option<String>,
    /// Print nothing on success.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: C,
}

/// The command line: the root's options and one command. The root is
/// generic over its commands so that a parse can build it with only the
/// one a command line names ([`parse`]).
pub type Cli = CliOf<Command>;

/// `Command`, and one enum per command holding only its variant (the
/// subtree [`parse`] builds): both from one list, so the partial tree is
/// the derive's own and cannot drift from the full one.
macro_rules! commands {
    ($( $(#[$attr:meta])* $variant:ident $(($ty:ty))? => $only:ident, )*) => {
        #[derive(Debug, Subcommand)]
        pub enum Command {
            $( $(#[$attr])* $variant $(($ty))?, )*
        }

        $(
            #[derive(Debug, Subcommand)]
            pub enum $only {
                $(#[$attr])* $variant $(($ty))?
            }
        )*

        /// The root with only the top-level command `name`, or `None`
        /// when `name` is none (`help`, a typo).
        pub(crate) fn only(name: &str) -> Option<clap::Command> {
            $(
                if <$only as Subcommand>::has_subcommand(name) {
                    return Some(CliOf::<$only>::command());
                }
            )*
            None
        }
    };
}

commands! {
    /// Create the state ref (idempotent), the fetch refspec and optionally the pre-commit hook.
    Init(repo::InitArgs) => OnlyInit,
    /// Show the state history (one commit per operation).
    Log(repo::LogArgs) => OnlyLog,
    /// Read or change shared policy (config.toml in the state).
    #[command(subcommand)]
    Config(repo::ConfigCommand) => OnlyConfig,
    /// Claims on work: claim, hand off, accept, release, expire.
    #[command(subcommand)]
    Claims(claims::ClaimsCommand) => OnlyClaims,
    /// The agent pool: spawn agents, heartbeats, drain, retire.
    #[command(subcommand)]
    Pool(pool::PoolCommand) => OnlyPool,
    /// Workflows: dry-run or execute definitions with a run ledger, resume, stop.
    #[command(subcommand)]
    Workflow(workflow::WorkflowCommand) => OnlyWorkflow,
    /// Delivery: claim an issue, run its workflow, release or hand off the claim — one fenced flow.
    #[command(subcommand)]
    Delivery(delivery::DeliveryCommand) => OnlyDelivery,
    /// The reconciler: expire stale claims, mark dead runs, fix delivery drift, take metrics snapshots.
    #[command(subcommand)]
    Daemon(daemon::DaemonCommand) => OnlyDaemon,
    /// The command risk guard (before and after a command, agent hooks) and task routing.
    #[command(subcommand)]
    Learn(learn::LearnCommand) => OnlyLearn,
    /// Share state with a remote: fetch, then fast-forward, push, or merge and push.
    Sync(sync::SyncArgs) => OnlySync,
    /// Check the state, the store and every subsystem.
    Doctor(doctor::DoctorArgs) => OnlyDoctor,
    /// Run an end-to-end scenario in a temporary repository.
    Selftest(SelftestArgs) => OnlySelftest,
    /// Print a shell completion script (it completes subcommands, flags, claim states, roles, agents and workflow names).
    Completions(CompletionsArgs) => OnlyCompletions,
    /// Print the manual page (roff), or write one page per command into a directory.
    Man(ManArgs) => OnlyMan,
    /// Print the actor baton acts as here, and where it came from.
    Whoami => OnlyWhoami,
    /// Serve baton's operations as MCP tools on stdin/stdout; `mcp install <client>` writes a client's entry for it.
    Mcp(mcp::McpArgs) => OnlyMcp,
}

#[derive(Debug, clap::Args)]
pub struct SelftestArgs {
    /// Keep the temporary repository and print where it is.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write `baton.1`, `baton-claims.1`, `baton-claims-claim.1`, ... into this directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
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

/// Parse, run, print; returns the process exit code.
pub fn main() -> i32 {
    complete::answer_if_asked();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let parsed = parse::parse(&args);
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let json = json_wanted(&args);
            return report_parse_error(e, &args, json);
        }
    };
    // What was parsed decides: a `--json` among a command's own arguments
    // (`learn pre-command -- printf --json`) is the command's, not baton's.
    let (json, quiet) = (cli.json, cli.quiet);
    crate::term::set_quiet(quiet);
    let kept = OnceCell::new();
    let code = match run_in(cli, &kept) {
        Ok(out) => {
            out.print(json, quiet);
            out.exit_code
        }
        Err(err) => {
            report_error(&err, json);
            err.exit_code()
        }
    };
    // The process ends now: the session goes with it (see `run_in`).
    std::mem::forget(kept);
    // Ctrl-C stopped a run: it was recorded, and the exit says how it ended.
    if crate::os::interrupted() {
        return INTERRUPTED_EXIT;
    }
    code
}

/// The exit code of a command Ctrl-C stopped (128 + SIGINT, as shells report it).
pub const INTERRUPTED_EXIT: i32 = 130;

pub fn run(cli: Cli) -> Result<Output> {
    run_in(cli, &OnceCell::new())
}

/// [`run`], with the session a command opens kept in `kept`: the process
/// ([`main`]) lets it go with the process instead of taking the repository
/// handle apart (freeing its caches, unmapping each pack index: a tenth
/// of a millisecond or more with a few dozen packs, on every command).
fn run_in(cli: Cli, kept: &OnceCell<Session>) -> Result<Output> {
    let open = || Session::open(cli.dir.as_deref(), cli.actor.as_deref());
    let keep = |s: Session| -> &Session { kept.get_or_init(|| s) };
    // Commands on claims, the pool, runs and deliveries see what a plain
    // `git fetch` brought (docs/sync.md).
    let opened = || -> Result<&Session> {
        let mut s = open()?;
        adopt_fetched(&mut s, cli.quiet);
        Ok(keep(s))
    };
    match &cli.command {
        Command::Completions(args) => Ok(Output::raw(complete::script(args.shell)?)),
        Command::Man(args) => man(args),
        Command::Selftest(args) => selftest::run(args.keep),
        Command::Whoami => whoami(keep(open()?)),
        Command::Mcp(args) => mcp::run(cli.dir.as_deref(), cli.actor.as_deref(), args),
        Command::Init(args) => repo::init(keep(open()?), args),
        Command::Log(args) => repo::log_command(opened()?, args),
        Command::Sync(args) => sync::run(keep(open()?), args),
        Command::Config(cmd) => repo::config(opened()?, cmd),
        Command::Claims(cmd) => claims::run(opened()?, cmd, cli.json),
        Command::Pool(cmd) => pool::run(opened()?, cmd),
        Command::Workflow(cmd) => workflow::run(opened()?, cmd, cli.json),
        Command::Delivery(cmd) => delivery::run(opened()?, cmd, cli.json),
        Command::Doctor(args) => doctor::run(open, args),
        Command::Daemon(cmd) => daemon::run(cli.dir.as_deref(), cli.actor.as_deref(), cmd, open),
        Command::Learn(cmd) => learn::run(
            &learn::Opening {
                dir: cli.dir.as_deref(),
                actor: cli.actor.as_deref(),
            },
            cmd,
        ),
    }
}

/// Whether a command line clap refused asked for JSON: its `--json` as
/// far as the arguments can be told apart — up to a `--`, after which
/// everything is a command's own argv. Only for the refusal itself; a
/// parsed command line answers from [`Cli::json`].
fn json_wanted(args: &[std::ffi::OsString]) -> bool {
    args.iter().skip(1).take_while(|a| *a != "--").any(|a| a == "--json")
}

/// `baton man`: the pages come from the same command tree as `--help`,
/// examples included.
fn man(args: &ManArgs) -> Result<Output> {
    let cmd = help::decorate(command());
    let Some(dir) = &args.dir else {
        let mut buf = Vec::new();
        let mut top = cmd;
        top.build();
        clap_mangen::Man::new(top)
            .render(&mut buf)
            .map_err(|e| Error::io("rendering the manual page", e))?;
        return Ok(Output::raw(String::from_utf8_lossy(&buf).into_owned()));
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    clap_mangen::generate_to(cmd, dir).map_err(|e| Error::io(format!("writing pages into {}", dir.display()), e))?;
    let mut pages: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("baton") && n.ends_with(".1"))
        .collect();
    pages.sort();
    let text = format!("wrote {} manual pages into {}", pages.len(), dir.display());
    Ok(Output::new(
        messages::value(&messages::ManPages {
            dir: dir.display().to_string(),
            pages: &pages,
        }),
        text,
    ))
}

/// `baton whoami`: the actor and its source. Actor ids are not
/// authenticated (docs/decisions.md): this is who baton will record.
fn whoami(s: &Session) -> Result<Output> {
    let (actor, source) = s.actor_and_source()?;
    Ok(Output::new(
        messages::value(&messages::WhoAmI {
            actor: &actor,
            source: source.code(),
            from: source.describe(),
        }),
        format!("{actor}\n(from {})", source.describe()),
    ))
}

/// Bring in a plainly fetched state and say so on stderr (a divergence
/// even with `-q`). Best effort: the command runs on the local state when
/// this cannot be done, and doctor reports why.
fn adopt_fetched(s: &mut Session, quiet: bool) {
    if let Ok(Some(adopted)) = crate::ops::fetched::adopt(s) {
        if !quiet || matches!(adopted, crate::ops::fetched::Adopted::Diverged { .. }) {
            eprintln!("{}", crate::term::lines(&adopted.describe()));
        }
    }
}

fn report_error(err: &Error, json: bool) {
    if json {
        output::write_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&err.to_json()).unwrap_or_default()
        ));
    }
    // Messages quote state files and arguments: never a control character raw.
    let mut text = format!("error: {}", crate::term::lines(&err.message()));
    if !err.hint.is_empty() {
        text.push_str(&format!("\nhint: {}", crate::term::lines(&err.hint)));
    }
    let colour = crate::term::colour(crate::term::Stream::Stderr);
    eprintln!("{}", crate::term::paint(&text, colour));
}

/// A subsystem's parser as a clap value parser: its typed failure becomes
/// the user's error (code, hint), which [`report_parse_error`] finds
/// behind clap's.
pub(crate) fn typed<T, E>(
    parse: fn(&str) -> std::result::Result<T, E>,
) -> impl Fn(&str) -> Result<T> + Clone + Send + Sync + 'static
where
    T: 'static,
    E: 'static,
    Error: From<E>,
{
    move |raw| parse(raw).map_err(Error::from)
}

/// clap's own errors, in baton's `error:`/`hint:` shape (exit 2), keeping
/// help and version output as they are.
fn report_parse_error(e: clap::Error, args: &[std::ffi::OsString], json: bool) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayVersion => {
            let _ = e.print();
            return 0;
        }
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // Parsing again, with the examples only help needs, renders the same help decorated.
            let shown = help::decorate(command()).try_get_matches_from(args).err().unwrap_or(e);
            let _ = shown.print();
            return if shown.kind() == ErrorKind::DisplayHelp { 0 } else { 2 };
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
        let hint = match (suggestion(&e), usage) {
            (Some(s), Some(u)) => format!("{s}? {u}; see --help"),
            (Some(s), None) => format!("{s}? see `baton --help`"),
            (None, Some(u)) => format!("{u}; see --help"),
            (None, None) => "see `baton --help`".to_owned(),
        };
        Error::invalid(code::USAGE, message).with_hint(hint)
    });
    report_error(&err, json);
    Kind::Invalid.exit_code()
}

/// clap's closest match for a mistyped subcommand, flag or value, as a
/// question: "did you mean `claims`".
fn suggestion(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    let kinds = [
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedArg,
        ContextKind::SuggestedValue,
    ];
    kinds.iter().find_map(|k| {
        let names = match e.get(*k)? {
            ContextValue::String(s) => vec![s.clone()],
            ContextValue::Strings(v) if !v.is_empty() => v.clone(),
            _ => return None,
        };
        let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        Some(format!("did you mean {}", quoted.join(" or ")))
    })
}
