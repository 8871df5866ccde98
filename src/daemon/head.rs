//! The head of the kept view (`.git/baton/daemon-head.json`): what the last
//! pass that changed nothing saw — the state tree, the runs `running` on
//! this host, its report — and the earliest time anything in that state can
//! come due by time alone. A tick on the same tree before that time would
//! decide exactly what that pass decided (nothing, and the same report), so
//! it is quiet without reading the view: at 10 000 claims the view is most
//! of a tick's cost.
//!
//! What time alone changes, and when ([`next_due`]): a held claim expires
//! when its lease runs out or `claims.stale_after` after its last update, a
//! pending handoff returns `claims.handoff_timeout` after it; an active
//! agent's heartbeat goes stale `pool.heartbeat_timeout` after the last one
//! (a report and the `agents.healthy` counters); the metrics snapshot is
//! due `daemon.snapshot_every` after the last, a full pass
//! `daemon.full_every` after the last. Not time but a process: a run
//! `running` here is interrupted when its process is gone, so the head
//! keeps their pids and a quiet tick checks them.

use serde::{Deserialize, Serialize};

use super::view::{ClaimEntry, View};
use super::{Mode, Report};
use crate::claims::{self, ClaimState};
use crate::clock::{Span, Timestamp};
use crate::pool::AgentStatus;

/// The layout of the head; another is ignored (the next pass writes one).
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    pub version: u32,
    /// The state tree the pass saw (hex object id).
    pub tree: String,
    /// The pass's `now`.
    pub at: Timestamp,
    /// Before this, nothing in that state comes due by time alone.
    pub due: Timestamp,
    /// The host whose runs it judged, and the processes of those `running`.
    pub host: String,
    #[serde(default)]
    pub running: Vec<u32>,
    /// What the pass found (it changed nothing).
    pub report: Report,
}

/// The times [`next_due`] counts from, besides the view's own.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines<'a> {
    pub claims: &'a claims::Policy,
    pub heartbeat_timeout: Option<Span>,
    /// `taken_at` of the snapshot in the state, if there is one.
    pub snapshot_taken: Option<Timestamp>,
    pub snapshot_every: Span,
    /// The view's last full pass, and `daemon.full_every`.
    pub full_at: Timestamp,
    pub full_every: Span,
}

/// The earliest time anything in `view` can come due by time alone (never
/// later than the true time: a due time too early only costs a pass).
pub fn next_due(view: &View, d: &Deadlines<'_>) -> Timestamp {
    let mut due = d.full_every.after(d.full_at);
    if let Some(taken) = d.snapshot_taken {
        due = due.min(d.snapshot_every.after(taken));
    }
    for c in view.claims.values() {
        if let Some(t) = claim_due(c, d.claims) {
            due = due.min(t);
        }
    }
    if let Some(timeout) = d.heartbeat_timeout {
        for a in view.agents.values().filter(|a| a.status == AgentStatus::Active) {
            due = due.min(timeout.after(a.last_heartbeat.unwrap_or(a.created_at)));
        }
    }
    due
}

/// When `claims::expiries` first expires this claim or returns its handoff
/// (`None`: never by time). The view keeps whole seconds rounded down, so
/// this is at most a second early.
pub fn claim_due(c: &ClaimEntry, policy: &claims::Policy) -> Option<Timestamp> {
    let at = |secs: i64| Timestamp::from_timestamp(secs, 0).unwrap_or(Timestamp::MIN_UTC);
    match c.state {
        ClaimState::HandoffPending => Some(policy.handoff_timeout.after(at(c.updated))),
        s if s.is_held() => {
            let stale = policy.stale_after.after(at(c.updated));
            Some(c.lease.map_or(stale, |lease| stale.min(at(lease))))
        }
        _ => None,
    }
}

impl Head {
    /// Whether a tick at `now` on `tree` is quiet: the same tree, on this
    /// host, at or after the pass (a clock set back is not trusted), before
    /// anything comes due, and every run it saw `running` here still alive.
    pub fn quiet(&self, tree: &str, now: Timestamp, host: &str, alive: impl Fn(u32) -> bool) -> bool {
        self.version == VERSION
            && self.tree == tree
            && self.host == host
            && self.at <= now
            && now < self.due
            && self.running.iter().all(|&pid| alive(pid))
    }

    /// The report of a quiet tick at `now` from `base`: the pass's findings,
    /// nothing read, nothing changed.
    pub fn quiet_report(&self, now: Timestamp, base: Option<String>) -> Report {
        let mut report = self.report.clone();
        report.at = now;
        report.mode = Mode::Quiet;
        report.full_because = None;
        report.base = base;
        report.checked.read = 0;
        report.changed.clear();
        report.snapshot = None;
        report.learn = None;
        report
    }
}
