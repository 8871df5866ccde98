//! The daemon (docs/daemon.md): the reconcile pass's decisions, its report
//! (kept in `.git/baton/reconcile-last.json` on the machine that made it), and what `daemon status` and doctor read of the
//! daemon's machine-local files. Pure: the operations layer
//! (`ops::daemon`) loads the state into a [`View`], asks these functions
//! what is due, reads only those files, and commits the result; process
//! management lives in `os::daemon` and `ops::daemon`.
//!
//! A pass: claims whose stale-after, lease or handoff timeout may have run
//! out ([`expiry_candidates`], decided exactly by `claims::expiries`);
//! runs `running` on this host ([`running_here`], judged by
//! `workflow::check::check_runs`); open deliveries ([`open_deliveries`],
//! judged by `delivery::check::check`); claims on drained, retired or
//! unknown agents ([`flag_claims`]); agents with a stale heartbeat or over
//! capacity ([`pool_reports`]); the learn step ([`LearnStep`]: this
//! machine's journal folded, or the statistics compacted when they grew past
//! their limit). The daemon never runs workflow steps.
//!
//! A pass that changed nothing leaves a [`Head`]: the tree it saw and the
//! earliest time anything in it can come due, so the next tick, on the same
//! tree before that time, is quiet without reading the view.

pub mod check;
pub mod head;
mod policy;
mod refusal;
pub mod service;
pub mod view;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use head::Head;
pub use policy::Policy;
pub use refusal::Refusal;
pub use view::{Kind, LearnEntry, Record, View};

use crate::claims::{self, ClaimState};
use crate::clock::{Span, Timestamp};
use crate::codec::{self, SCHEMA};
use crate::error::Result;
use crate::finding::Finding;
use crate::ids::AgentId;
use crate::metrics::Due;
use crate::pool::{self, AgentStatus};
use crate::workflow::ledger::RunStatus;

/// What a reconcile report is called in errors: it is kept on the machine
/// whose daemon made it (`.git/baton/`), not in the state.
const REPORT_LABEL: &str = "the reconcile report";

/// How many claim ids a flag names before it says "and N more".
const NAMED: usize = 10;

/// Whether a pass read every file, or only what changed since the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Full,
    Incremental,
    /// Nothing changed since a pass that changed nothing, and nothing was
    /// due yet: the view was not read (see [`Head`]). Never committed.
    Quiet,
}

/// Why a pass reads every file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FullBecause {
    /// `daemon tick --full`.
    Asked,
    /// No kept view (the first tick here), or one of another layout.
    NoView,
    /// `daemon.full_every` passed since the last full pass.
    Periodic,
    /// The clock reads before the last full pass (`BATON_NOW` set back).
    ClockBack,
    /// The kept view's tree cannot be read any more (history rewritten).
    Unreadable,
}

/// Whether this pass is full, and why; `None`: incremental from `view`.
pub fn full_because(view: Option<&View>, asked: bool, now: Timestamp, full_every: Span) -> Option<FullBecause> {
    let Some(view) = view.filter(|v| v.version == view::VERSION) else {
        return Some(FullBecause::NoView);
    };
    if asked {
        Some(FullBecause::Asked)
    } else if view.full_at > now {
        Some(FullBecause::ClockBack)
    } else if full_every.after(view.full_at) <= now {
        Some(FullBecause::Periodic)
    } else {
        None
    }
}

/// Claims whose expiry may be due (a superset: `claims::expiries` decides
/// on the loaded claims): held, and their lease ran out or they were
/// untouched longer than the shorter of `stale_after` and `handoff_timeout`.
pub fn expiry_candidates(view: &View, now: Timestamp, policy: &claims::Policy) -> Vec<String> {
    let quiet_since = policy.stale_after.min(policy.handoff_timeout).before(now).timestamp();
    let now = now.timestamp();
    view.claims
        .iter()
        .filter(|(_, c)| c.state.is_held())
        .filter(|(_, c)| c.updated <= quiet_since || c.lease.is_some_and(|l| l <= now))
        .map(|(path, _)| path.clone())
        .collect()
}

/// Runs marked `running` on `host`: only here can their process be checked.
pub fn running_here(view: &View, host: &str) -> Vec<String> {
    view.runs
        .iter()
        .filter(|(_, r)| r.status == RunStatus::Running && r.host == host)
        .map(|(path, _)| path.clone())
        .collect()
}

/// Deliveries not in a final phase: their claim and run may disagree.
pub fn open_deliveries(view: &View) -> Vec<String> {
    view.deliveries
        .iter()
        .filter(|(_, d)| !d.phase.is_final())
        .map(|(path, _)| path.clone())
        .collect()
}

/// Held claims on agents that should not hold them: drained, retired or
/// not in the pool; one finding per agent, naming its claims.
pub fn flag_claims(view: &View) -> Vec<Finding> {
    let status: BTreeMap<&AgentId, AgentStatus> = view.agents.values().map(|a| (&a.id, a.status)).collect();
    let mut held: BTreeMap<&AgentId, Vec<&str>> = BTreeMap::new();
    for c in view.claims.values().filter(|c| c.state.is_held()) {
        if let Some(agent) = &c.agent {
            if status.get(agent) != Some(&AgentStatus::Active) {
                held.entry(agent).or_default().push(c.id.as_str());
            }
        }
    }
    held.into_iter()
        .map(|(agent, mut ids)| {
            ids.sort_unstable();
            let what = match status.get(agent) {
                Some(s) => format!("{} agent {agent}", s.as_str()),
                None => format!("agent {agent}, which is not in the pool,"),
            };
            Finding::warn(
                "daemon.claims",
                format!("{} held claim(s) on {what}: {}", ids.len(), named(&ids)),
            )
            .hint(format!(
                "release or hand them off (`baton claims list --agent {agent}`), or take them over with --force"
            ))
        })
        .collect()
}

fn named(ids: &[&str]) -> String {
    let shown = ids.iter().take(NAMED).copied().collect::<Vec<_>>().join(", ");
    match ids.len().saturating_sub(NAMED) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// Agents with a stale heartbeat or more load than capacity: the pool's
/// own checks of those two, over the view's loads.
pub fn pool_reports(view: &View, now: Timestamp, heartbeat_timeout: Option<Span>) -> Vec<Finding> {
    let tally = view.tally();
    pool::check(&view.pool(), tally.loads(), now, heartbeat_timeout)
        .into_iter()
        .filter(|f| f.check == "pool.heartbeat" || f.check == "pool.capacity")
        .collect()
}

/// State files that do not parse: the pass leaves them to doctor.
pub fn broken_report(view: &View) -> Option<Finding> {
    let paths: Vec<&str> = view.broken.keys().map(String::as_str).collect();
    (!paths.is_empty()).then(|| {
        Finding::warn(
            "daemon.files",
            format!(
                "{} state file(s) do not parse and were left out: {}",
                paths.len(),
                named(&paths)
            ),
        )
        .hint("`baton doctor` names the problem; `baton doctor --fix` moves them to quarantine/")
    })
}

/// What a pass changed, one line each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changed {
    pub kind: ChangeKind,
    /// `claim/T-1`, `run/wf-...`, `delivery/dl-...`.
    pub subject: String,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A stale claim, or one whose lease ran out, expired.
    Expired,
    /// A handoff nobody took within `handoff_timeout` went back to its owner.
    HandoffReturned,
    /// A run whose process is gone was marked interrupted.
    Interrupted,
    /// A delivery whose claim moved on was recorded stopped.
    DeliveryStopped,
}

/// How many files the pass had in view, and how many it read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checked {
    pub claims: usize,
    pub agents: usize,
    pub runs: usize,
    pub deliveries: usize,
    /// Files parsed by this pass (every one on a full pass).
    pub read: usize,
}

/// The reconcile report: what the last committing pass checked, changed
/// and only reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: u32,
    pub at: Timestamp,
    pub mode: Mode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_because: Option<FullBecause>,
    /// The state commit the pass started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    pub checked: Checked,
    #[serde(default)]
    pub changed: Vec<Changed>,
    /// Found and left for people (or other commands) to act on.
    #[serde(default)]
    pub reported: Vec<Finding>,
    /// Why a metrics snapshot was written with it, if one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Due>,
    /// What the learn step did, when it did anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learn: Option<LearnStep>,
    /// Fields a newer baton wrote.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Report {
    pub fn decode(bytes: &[u8]) -> Result<Report> {
        let report: Report = codec::decode_json(REPORT_LABEL, bytes)?;
        codec::check_schema(REPORT_LABEL, report.schema)?;
        Ok(report)
    }

    /// One line: what it changed and reported.
    pub fn summary(&self) -> String {
        let mut counts: BTreeMap<ChangeKind, usize> = BTreeMap::new();
        for c in &self.changed {
            *counts.entry(c.kind).or_default() += 1;
        }
        let mut parts: Vec<String> = counts
            .iter()
            .map(|(kind, n)| {
                let what = match kind {
                    ChangeKind::Expired => "claim(s) expired",
                    ChangeKind::HandoffReturned => "handoff(s) returned",
                    ChangeKind::Interrupted => "run(s) interrupted",
                    ChangeKind::DeliveryStopped => "delivery(ies) stopped",
                };
                format!("{n} {what}")
            })
            .collect();
        if let Some(learn) = &self.learn {
            parts.extend(learn.summary());
        }
        if let Some(due) = self.snapshot {
            parts.push(format!("metrics snapshot ({due})"));
        }
        if parts.is_empty() {
            parts.push("nothing changed".into());
        }
        if !self.reported.is_empty() {
            parts.push(format!("{} reported", self.reported.len()));
        }
        parts.join(", ")
    }
}

/// The learn step of a pass: this machine's journal folded into
/// `learn/commands.toml`, and families dropped when the statistics grew past
/// their limit (with a fold, or on their own after a merge).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnStep {
    pub outcomes: usize,
    pub decisions: usize,
    /// Journal lines that did not parse (cut short by a crash): dropped.
    pub skipped: usize,
    /// Journal files folded.
    pub files: usize,
    /// Families dropped by compaction.
    pub compacted: usize,
}

impl LearnStep {
    /// Its parts of a report's one line.
    fn summary(&self) -> Vec<String> {
        let mut parts = Vec::new();
        if self.files > 0 {
            parts.push(format!(
                "learn journal folded ({} outcome(s), {} decision(s))",
                self.outcomes, self.decisions
            ));
        }
        if self.compacted > 0 {
            parts.push(format!(
                "learn statistics compacted ({} famil(ies) dropped)",
                self.compacted
            ));
        }
        parts
    }
}

/// How a tick ended, for `daemon status` and doctor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TickEnd {
    /// It committed changes (or a snapshot).
    Changed,
    /// Nothing to change: no commit.
    Unchanged,
    /// It could not complete: `error` says why.
    Failed,
}

impl TickEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            TickEnd::Changed => "changed",
            TickEnd::Unchanged => "unchanged",
            TickEnd::Failed => "failed",
        }
    }
}

/// `.git/baton/daemon-tick.json`: the last tick on this machine, committed
/// or not (a tick that changes nothing leaves no trace in the state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TickRecord {
    /// The tick's clock (`BATON_NOW` when set).
    pub at: Timestamp,
    /// The machine's clock when it ended: how old the tick really is.
    pub wall: Timestamp,
    pub duration_ms: u64,
    pub outcome: TickEnd,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Steps around the pass that failed without failing it (sync, gc).
    #[serde(default)]
    pub warnings: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
}

/// `.git/baton/daemon.pid`: who the running daemon is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PidFile {
    pub pid: u32,
    /// The machine's clock when it started.
    pub started_at: Timestamp,
    /// The interval it ticks at (`--interval`, else `daemon.interval` when it started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Span>,
}

/// A fresh report of a pass at `now`.
pub fn report(now: Timestamp, mode: Mode, full_because: Option<FullBecause>, base: Option<String>) -> Report {
    Report {
        schema: SCHEMA,
        at: now,
        mode,
        full_because,
        base,
        checked: Checked::default(),
        changed: Vec::new(),
        reported: Vec::new(),
        snapshot: None,
        learn: None,
        extra: Default::default(),
    }
}

/// The change a claim expiry is, for the report.
pub fn expiry_change(id: &str, cause: crate::claims::ExpiryCause, becomes: ClaimState) -> Changed {
    use crate::claims::ExpiryCause;
    let kind = match cause {
        ExpiryCause::HandoffTimedOut => ChangeKind::HandoffReturned,
        ExpiryCause::Stale | ExpiryCause::LeaseLapsed => ChangeKind::Expired,
    };
    Changed {
        kind,
        subject: format!("claim/{id}"),
        detail: format!("{} -> {becomes}", cause.as_str()),
    }
}

#[cfg(test)]
mod tests;
