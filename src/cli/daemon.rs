//! `baton daemon ...`: arguments, and the rendering of what
//! [`crate::ops::daemon`] did: the tick, the process, the summary.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::doctor;
use super::output::{safe, Output};
use crate::clock::{age, format_timestamp, Span};
use crate::daemon::service::Manager;
use crate::daemon::{Report, TickRecord};
use crate::error::{Error, Result};
use crate::messages;
use crate::ops::daemon::{self as op, RunArgs};
use crate::ops::Session;

#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// Start the reconciler in the background (detached; logs to .git/baton/daemon.log).
    Start {
        /// Tick at this interval instead of daemon.interval (e.g. 30s).
        #[arg(long, value_parser = super::typed(Span::parse))]
        interval: Option<Span>,
    },
    /// Stop the background daemon: SIGTERM, wait, then SIGKILL.
    Stop {
        /// How long to wait after SIGTERM before SIGKILL.
        #[arg(long, value_parser = super::typed(Span::parse), default_value = "10s")]
        wait: Span,
    },
    /// Whether a daemon runs for this repository, since when, and its last tick.
    Status,
    /// Run the reconciler in the foreground (for systemd, launchd, containers).
    Run {
        /// Tick at this interval instead of daemon.interval (e.g. 30s).
        #[arg(long, value_parser = super::typed(Span::parse))]
        interval: Option<Span>,
    },
    /// Run one reconcile pass now, in this process.
    Tick {
        /// Read every state file, not only what changed since the last tick.
        #[arg(long)]
        full: bool,
    },
    /// Metrics over a window: current values, changes, trend lines; the last reconcile report.
    Summary {
        /// The window, measured on the snapshots' taken_at (e.g. 24h, 7d).
        #[arg(long, value_parser = super::typed(Span::parse), default_value = "7d")]
        window: Span,
        /// Also write an SVG chart of the counters over the window to FILE.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
    },
    /// Daemon checks (same as `baton doctor daemon`): pid file, last tick.
    Doctor(doctor::SubsystemDoctorArgs),
    /// Write a systemd user unit or a launchd agent that runs `daemon run` for this repository.
    Install {
        /// The service manager: systemd (Linux) or launchd (macOS).
        #[arg(value_parser = super::typed(Manager::parse))]
        manager: Manager,
        /// Write the definition to this file instead of the service manager's user directory.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Overwrite a different definition already there.
        #[arg(long)]
        force: bool,
    },
}

/// `daemon run` opens the repository itself at every tick; the others
/// share one session.
pub fn run(
    dir: Option<&Path>,
    actor: Option<&str>,
    cmd: &DaemonCommand,
    open: impl FnOnce() -> Result<Session>,
) -> Result<Output> {
    match cmd {
        DaemonCommand::Run { interval } => {
            let dir = match dir {
                Some(d) => d.to_path_buf(),
                None => std::env::current_dir().map_err(|e| Error::io("reading the current directory", e))?,
            };
            let args = RunArgs {
                interval: *interval,
                actor: actor.map(str::to_owned),
            };
            let end = op::run(&dir, &args)?;
            Ok(Output::new(
                messages::value(&messages::DaemonStopped { stopped: &end }),
                format!("baton daemon exited: {}", end.as_str()),
            ))
        }
        DaemonCommand::Start { interval } => started(&op::start(&open()?, *interval, actor)?),
        DaemonCommand::Stop { wait } => stopped(&op::stop(&open()?, wait.as_std())?),
        DaemonCommand::Status => status(&op::status(&open()?)?),
        DaemonCommand::Tick { full } => {
            let t = op::tick(&open()?, *full, None)?;
            let commit = t
                .commit
                .map(|c| format!(" [{}]", c.to_hex_with_len(10)))
                .unwrap_or_default();
            let mut text = format!("tick ({}): {}{commit}\n", mode(&t.report), t.report.summary());
            text.push_str(&render_report(&t.report));
            for w in &t.warnings {
                text.push_str(&format!("warning: {}\n", safe(w)));
            }
            Ok(Output::new(messages::value(&t), text))
        }
        DaemonCommand::Summary { window, svg } => summary(&open()?, *window, svg.as_deref()),
        DaemonCommand::Doctor(args) => doctor::run_for(&open()?, &["daemon"], args),
        DaemonCommand::Install { manager, output, force } => install(
            &open()?,
            &op::InstallArgs {
                manager: *manager,
                output: output.clone(),
                force: *force,
            },
        ),
    }
}

fn install(s: &Session, args: &op::InstallArgs) -> Result<Output> {
    let done = op::install(s, args)?;
    let path = done.path.display().to_string();
    let mut text = if done.changed {
        format!(
            "wrote the {} definition {} (baton {}, repository {}, actor {})",
            done.manager.as_str(),
            safe(&path),
            safe(&done.baton.display().to_string()),
            safe(&done.repo.display().to_string()),
            done.actor
        )
    } else {
        format!("{} is already up to date", safe(&path))
    };
    text.push_str(
        "
start it with:",
    );
    for step in &done.next {
        text.push_str(&format!(
            "
  {}",
            safe(step)
        ));
    }
    Ok(Output::new(
        messages::value(&messages::ServiceInstalled {
            manager: done.manager.as_str(),
            path: &path,
            changed: done.changed,
            actor: done.actor.to_string(),
            baton: done.baton.display().to_string(),
            repository: done.repo.display().to_string(),
            next: &done.next,
        }),
        text,
    ))
}

fn mode(r: &Report) -> String {
    match (r.mode, r.full_because) {
        (crate::daemon::Mode::Full, Some(why)) => format!(
            "full, {}",
            serde_json::to_value(why).unwrap_or_default().as_str().unwrap_or("")
        ),
        (crate::daemon::Mode::Full, None) => "full".into(),
        (crate::daemon::Mode::Incremental, _) => format!("incremental, {} file(s) read", r.checked.read),
        (crate::daemon::Mode::Quiet, _) => "quiet, nothing changed or due: no file read".into(),
    }
}

/// What a report changed and reported, one line each.
fn render_report(r: &Report) -> String {
    let mut out = String::new();
    for c in &r.changed {
        out.push_str(&format!("  changed  {}: {}\n", safe(&c.subject), safe(&c.detail)));
    }
    for f in &r.reported {
        out.push_str(&format!(
            "  {:<7}  {}: {}\n",
            f.severity.as_str(),
            f.check,
            safe(&f.message)
        ));
    }
    out
}

fn started(s: &op::Started) -> Result<Output> {
    let mut text = format!("baton daemon started (pid {}), logging to {}", s.pid, s.log.display());
    if let Some(stale) = s.replaced_stale {
        text.push_str(&format!("\nreplaced a stale pid file (pid {stale} was not running)"));
    }
    Ok(Output::new(messages::value(&s), text))
}

fn stopped(s: &op::Stopped) -> Result<Output> {
    let text = match (s.was_running, s.pid) {
        (true, Some(pid)) if s.killed => format!(
            "baton daemon (pid {pid}) did not stop on SIGTERM; sent SIGKILL after {}ms",
            s.waited_ms
        ),
        (true, Some(pid)) => format!("baton daemon (pid {pid}) stopped after {}ms", s.waited_ms),
        _ => match s.stale_removed {
            Some(pid) => format!("no daemon was running; removed a stale pid file (pid {pid})"),
            None => "no daemon was running".to_owned(),
        },
    };
    Ok(Output::new(messages::value(&s), text))
}

fn tick_line(t: &TickRecord) -> String {
    let what = match (&t.error, &t.report) {
        (Some(e), _) => format!("failed: {}", safe(e)),
        (None, Some(r)) => r.summary(),
        (None, None) => t.outcome.as_str().to_owned(),
    };
    format!(
        "last tick {} ago ({}): {what}",
        age(op::wall_now(), t.wall),
        format_timestamp(&t.wall)
    )
}

fn status(st: &op::Status) -> Result<Output> {
    let mut text = match (st.running, st.pid) {
        (true, Some(pid)) => format!(
            "baton daemon running (pid {pid}, up {}, every {})",
            humantime::format_duration(std::time::Duration::from_secs(st.uptime_secs.unwrap_or(0).max(0) as u64)),
            st.interval
        ),
        (true, None) => "a baton daemon is running for this repository, but its pid file was deleted; \
                         it writes it again within seconds"
            .to_owned(),
        _ => "no baton daemon running for this repository".to_owned(),
    };
    if let Some(pid) = st.stale_pid {
        text.push_str(&format!(
            "\nstale pid file (pid {pid} is not running): `baton daemon start` replaces it"
        ));
    }
    match &st.last_tick {
        Some(t) => {
            text.push('\n');
            text.push_str(&tick_line(t));
            for w in &t.warnings {
                text.push_str(&format!("\n  warning: {}", safe(w)));
            }
        }
        None => text.push_str("\nno tick recorded on this machine"),
    }
    Ok(Output::new(messages::value(&st), text))
}

fn summary(s: &Session, window: Span, svg: Option<&Path>) -> Result<Output> {
    let got = op::summary(s, window)?;
    let mut text = crate::metrics::render_text(&got.summary);
    if got.unreadable > 0 {
        text.push_str(&format!(
            "{} version(s) of metrics/snapshot.json in history do not parse and were left out\n",
            got.unreadable
        ));
    }
    match &got.report {
        Some(r) => {
            text.push_str(&format!(
                "\nlast reconcile report ({}, {}): {}\n",
                format_timestamp(&r.at),
                mode(r),
                r.summary()
            ));
            text.push_str(&render_report(r));
        }
        None => text.push_str("\nno reconcile report yet: `baton daemon tick` runs a pass\n"),
    }
    if let Some(t) = &got.last_tick {
        text.push_str(&tick_line(t));
        text.push('\n');
    }
    let mut written = None;
    if let Some(path) = svg {
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            s.dir.join(path)
        };
        std::fs::write(&path, crate::metrics::svg::render(&got.summary))
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        text.push_str(&format!("wrote the chart to {}\n", path.display()));
        written = Some(path);
    }
    let doc = messages::DaemonSummary {
        summary: &got.summary,
        report: &got.report,
        last_tick: &got.last_tick,
        unreadable: got.unreadable,
        svg: written.as_deref(),
    };
    Ok(Output::new(messages::value(&doc), text))
}
