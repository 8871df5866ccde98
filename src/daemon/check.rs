//! Daemon checks for doctor (docs/command-handbook.md, `doctor`): the pid file against the process
//! that holds its lock, the age of the last tick against the interval, and
//! the last tick's errors. Pure: `ops::daemon` gathers the facts.

use super::{PidFile, TickEnd, TickRecord};
use crate::clock::{age, format_timestamp, Span, Timestamp};
use crate::finding::Finding;

/// What doctor knows of the daemon of this repository.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The pid file, when there is one: as parsed, or why it does not parse.
    pub pid_file: Option<Result<PidFile, String>>,
    /// The process that holds the pid file's lock: the live daemon.
    pub holder: Option<u32>,
    pub last_tick: Option<&'a TickRecord>,
    /// The machine's clock.
    pub now: Timestamp,
    /// The interval the daemon ticks at.
    pub interval: Span,
}

/// A tick is late after two intervals and a minute of slack.
fn late_after(interval: Span) -> chrono::Duration {
    interval.as_chrono() * 2 + chrono::Duration::seconds(60)
}

/// The pid file's standing: no daemon, a live one, or a stale file (`true`: fixable).
pub fn process(f: &Facts<'_>) -> (Finding, bool) {
    match (&f.pid_file, f.holder) {
        (None, None) => (
            Finding::ok("daemon.process", "no daemon running for this repository"),
            false,
        ),
        (Some(Ok(file)), Some(pid)) if file.pid == pid => (
            Finding::ok(
                "daemon.process",
                format!("daemon running (pid {pid}, up {})", age(f.now, file.started_at)),
            ),
            false,
        ),
        (_, Some(pid)) => (
            Finding::warn(
                "daemon.process",
                format!("a daemon (pid {pid}) holds the pid file's lock, but the file does not name it"),
            )
            .hint("`baton daemon stop` ends it; `baton daemon start` writes a fresh pid file")
            .at(".git/baton/daemon.pid"),
            false,
        ),
        (Some(Ok(file)), None) => (
            Finding::warn(
                "daemon.process",
                format!("stale pid file: daemon pid {} is not running", file.pid),
            )
            .hint("`baton doctor --fix` removes it; `baton daemon start` starts a daemon")
            .at(".git/baton/daemon.pid"),
            true,
        ),
        (Some(Err(why)), None) => (
            Finding::warn("daemon.process", format!("the pid file cannot be read: {why}"))
                .hint("`baton doctor --fix` removes it; no daemon holds it")
                .at(".git/baton/daemon.pid"),
            true,
        ),
    }
}

/// The last tick: late for a running daemon, failed, or with warnings.
pub fn ticks(f: &Facts<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let running = f.holder.is_some();
    match f.last_tick {
        None if running => {
            let started = f.pid_file.as_ref().and_then(|p| p.as_ref().ok()).map(|p| p.started_at);
            if started.is_some_and(|s| f.now - s > late_after(f.interval)) {
                out.push(
                    Finding::warn("daemon.tick", "the daemon has not finished a tick since it started")
                        .hint("see .git/baton/daemon.log; `baton daemon tick` runs one here"),
                );
            }
        }
        None => {}
        Some(t) => {
            if running && f.now - t.wall > late_after(f.interval) {
                out.push(
                    Finding::warn(
                        "daemon.tick",
                        format!(
                            "the last tick ended {} ago, at {}; the daemon ticks every {}",
                            age(f.now, t.wall),
                            format_timestamp(&t.wall),
                            f.interval
                        ),
                    )
                    .hint(
                        "it may be stuck: see .git/baton/daemon.log, then `baton daemon stop` and `baton daemon start`",
                    ),
                );
            }
            if t.outcome == TickEnd::Failed {
                let why = t.error.clone().unwrap_or_else(|| "no reason recorded".into());
                out.push(
                    Finding::error("daemon.tick", format!("the last tick failed: {why}"))
                        .hint("`baton daemon tick` runs one now and shows the error"),
                );
            }
            for w in &t.warnings {
                out.push(
                    Finding::warn("daemon.tick", format!("the last tick: {w}"))
                        .hint("it went on without it; see .git/baton/daemon.log"),
                );
            }
            if out.is_empty() {
                out.push(Finding::ok(
                    "daemon.tick",
                    format!(
                        "last tick {} ago: {}",
                        age(f.now, t.wall),
                        t.report
                            .as_ref()
                            .map_or_else(|| t.outcome.as_str().to_owned(), |r| r.summary())
                    ),
                ));
            }
        }
    }
    out
}
