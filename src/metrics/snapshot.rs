//! The metrics snapshot file, `metrics/snapshot.json` (docs/storage.md; docs/daemon.md):
//! every counter computed from the loaded state at one `taken_at`, and the
//! rule for when the daemon commits a new one. Its history is the git log of
//! that path; this module never reads git.
//!
//! Gauges (claims by state, runs by status, agents) are recomputed from state
//! every time, so they cannot drift. The two `_total` counters count what
//! reconcile passes did; state cannot tell them, so each snapshot carries
//! them forward from the previous one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::claims::{Claim, ClaimState};
use crate::clock::{Span, Timestamp};
use crate::codec::{self, SCHEMA};
use crate::error::Result;
use crate::ids::AgentId;
use crate::pool::{self, Agent};
use crate::workflow::ledger::{Run, RunStatus, StepStatus};

/// Where the snapshot lives in the state tree.
pub const PATH: &str = "metrics/snapshot.json";

/// Counters by dotted name; ordered, so the file and every listing are stable.
pub type Counters = BTreeMap<String, i64>;

/// Claims the reconcile passes expired (stale `active`/`paused`/`blocked`).
/// Paths reserved by held claims (docs/reservations.md).
pub const RESERVATIONS_ACTIVE: &str = "claims.reservations_active";
pub const EXPIRED_TOTAL: &str = "claims.expired_total";
/// Timed-out handoffs the reconcile passes returned to their owner.
pub const HANDOFFS_RETURNED_TOTAL: &str = "claims.handoffs_returned_total";
/// Step records whose final status is `failed`.
pub const STEPS_FAILED: &str = "steps.failed";
/// Attempts beyond the first, summed over every step of every run.
pub const STEPS_RETRIES: &str = "steps.retries";

/// Delivery ledger phases (docs/delivery.md), always present so a series has no holes.
pub const DELIVERY_PHASES: [&str; 6] = ["claimed", "running", "closed", "handed_off", "failed", "abandoned"];
/// Risk levels of the learn guard (docs/learn.md), always present.
pub const LEARN_LEVELS: [&str; 3] = ["low", "medium", "high"];

/// Every run status, in ledger order. `run_status_index` matches
/// exhaustively, so a new status fails to compile until it is listed here.
const RUN_STATUSES: [RunStatus; 5] = [
    RunStatus::Running,
    RunStatus::Succeeded,
    RunStatus::Failed,
    RunStatus::Stopped,
    RunStatus::Interrupted,
];

fn run_status_index(status: RunStatus) -> usize {
    match status {
        RunStatus::Running => 0,
        RunStatus::Succeeded => 1,
        RunStatus::Failed => 2,
        RunStatus::Stopped => 3,
        RunStatus::Interrupted => 4,
    }
}

/// The counters of the state at one time, as `metrics/snapshot.json` holds
/// them (not to be confused with `store::Snapshot`, a read view of a state
/// commit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    pub schema: u32,
    pub taken_at: Timestamp,
    #[serde(default)]
    pub counters: Counters,
    /// Fields a newer baton wrote: kept on rewrite.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl MetricsSnapshot {
    /// Parse the file's bytes (from the tip or from any commit in its history).
    pub fn decode(bytes: &[u8]) -> Result<MetricsSnapshot> {
        let snapshot: MetricsSnapshot = codec::decode_json(PATH, bytes)?;
        codec::check_schema(PATH, snapshot.schema)?;
        Ok(snapshot)
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        Ok(codec::encode_json(PATH, self)?)
    }

    /// A counter's value; a counter the snapshot does not have counts as 0.
    pub fn get(&self, name: &str) -> i64 {
        self.counters.get(name).copied().unwrap_or(0)
    }
}

/// What this reconcile pass did that state alone cannot tell afterwards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tick {
    /// Claims it expired.
    pub expired: u64,
    /// Handoffs it returned to their owner after `claims.handoff_timeout`.
    pub handoffs_returned: u64,
}

/// Everything a snapshot is computed from, as loaded by the caller.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub now: Timestamp,
    /// `pool.heartbeat_timeout`: agents silent longer are not healthy.
    pub heartbeat_timeout: Option<Span>,
    /// Every claim in the state (any state).
    pub claims: &'a [Claim],
    /// Every agent in the pool (retired ones too: their roles keep their series).
    pub agents: &'a [Agent],
    /// Every workflow run record.
    pub runs: &'a [Run],
    /// Delivery ledgers by phase name.
    pub deliveries: &'a BTreeMap<String, u64>,
    /// Risk guard decisions by level.
    pub learn_decisions: &'a BTreeMap<String, u64>,
    /// What this pass did; `Tick::default()` outside a reconcile pass.
    pub tick: Tick,
    /// The snapshot on the ref now, whose `_total` counters this one continues.
    pub previous: Option<&'a MetricsSnapshot>,
}

/// A count as a counter value (counts never come near `i64::MAX`; saturate rather than wrap).
fn value(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

fn bump(counters: &mut Counters, name: String, by: i64) {
    let v = counters.entry(name).or_insert(0);
    *v = v.saturating_add(by);
}

/// The claims and runs of a state, counted: what the claim, run, step and
/// load counters are made of. [`Tally::of`] counts loaded records; the
/// daemon's incremental pass adds the records of its index one by one, with
/// the same two methods, instead of loading every file again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    claims_by_state: [u64; ClaimState::ALL.len()],
    runs_by_status: [u64; RUN_STATUSES.len()],
    steps_failed: u64,
    steps_retries: u64,
    loads: pool::Loads,
    /// Paths reserved by held claims.
    reservations: u64,
}

impl Tally {
    /// Every claim and run record, counted.
    pub fn of(claims: &[Claim], runs: &[Run]) -> Tally {
        let mut tally = Tally::default();
        for c in claims {
            tally.add_claim(c.state, c.agent.as_ref());
            tally.add_reservations(c.state, c.reservations.len() as u64);
        }
        for run in runs {
            let failed = run.steps.iter().filter(|s| s.status == StepStatus::Failed).count();
            let retries: usize = run.steps.iter().map(|s| s.attempts.len().saturating_sub(1)).sum();
            tally.add_run(run.status, failed as u64, retries as u64);
        }
        tally
    }

    /// One claim in `state`, on `agent` if any (held claims are its load).
    pub fn add_claim(&mut self, state: ClaimState, agent: Option<&AgentId>) {
        // ALL lists every state, so the position always exists.
        if let Some(i) = ClaimState::ALL.iter().position(|s| *s == state) {
            self.claims_by_state[i] += 1;
        }
        if let (true, Some(agent)) = (state.is_held(), agent) {
            *self.loads.entry(agent.clone()).or_default() += 1;
        }
    }

    /// A claim in `state` reserving `n` paths: counted while it is held.
    pub fn add_reservations(&mut self, state: ClaimState, n: u64) {
        if state.is_held() {
            self.reservations += n;
        }
    }

    /// One run record with `status`, `failed` steps (final status failed)
    /// and `retries` (attempts beyond the first, over its steps).
    pub fn add_run(&mut self, status: RunStatus, failed: u64, retries: u64) {
        self.runs_by_status[run_status_index(status)] += 1;
        self.steps_failed += failed;
        self.steps_retries += retries;
    }

    /// Held claims per agent.
    pub fn loads(&self) -> &pool::Loads {
        &self.loads
    }
}

/// The snapshot of the state in `inputs`, taken at `inputs.now`.
pub fn compute(inputs: &Inputs) -> std::result::Result<MetricsSnapshot, BadCounter> {
    compute_tallied(&Tally::of(inputs.claims, inputs.runs), inputs)
}

/// [`compute`] from a tally of the claims and runs, which stands for
/// `inputs.claims` and `inputs.runs` (those two are not read).
pub fn compute_tallied(tally: &Tally, inputs: &Inputs) -> std::result::Result<MetricsSnapshot, BadCounter> {
    let mut counters = Counters::new();
    claim_counters(tally, &mut counters);
    tick_totals(inputs.previous, inputs.tick, &mut counters);
    run_counters(tally, &mut counters);
    agent_counters(inputs, tally.loads(), &mut counters);
    open_counters("deliveries", &DELIVERY_PHASES, inputs.deliveries, &mut counters)?;
    open_counters("learn.decisions", &LEARN_LEVELS, inputs.learn_decisions, &mut counters)?;
    Ok(MetricsSnapshot {
        schema: SCHEMA,
        taken_at: inputs.now,
        counters,
        extra: inputs.previous.map(|p| p.extra.clone()).unwrap_or_default(),
    })
}

/// `claims.<state>` for every state, zeros included.
fn claim_counters(tally: &Tally, counters: &mut Counters) {
    for (state, n) in ClaimState::ALL.iter().zip(tally.claims_by_state) {
        counters.insert(format!("claims.{}", state.as_str()), value(n));
    }
    counters.insert(RESERVATIONS_ACTIVE.to_owned(), value(tally.reservations));
}

fn tick_totals(previous: Option<&MetricsSnapshot>, tick: Tick, counters: &mut Counters) {
    for (name, now) in [
        (EXPIRED_TOTAL, tick.expired),
        (HANDOFFS_RETURNED_TOTAL, tick.handoffs_returned),
    ] {
        // A hand-edited negative total restarts from 0 rather than counting down.
        let before = previous.map_or(0, |p| p.get(name).max(0));
        counters.insert(name.to_owned(), before.saturating_add(value(now)));
    }
}

/// `runs.<status>` for every status, `steps.failed`, `steps.retries`.
fn run_counters(tally: &Tally, counters: &mut Counters) {
    for (status, n) in RUN_STATUSES.iter().zip(tally.runs_by_status) {
        counters.insert(format!("runs.{}", status.as_str()), value(n));
    }
    counters.insert(STEPS_FAILED.to_owned(), value(tally.steps_failed));
    counters.insert(STEPS_RETRIES.to_owned(), value(tally.steps_retries));
}

/// `agents.load.<role>` (held claims on the role's agents, whatever their
/// status), `agents.capacity.<role>` and `agents.healthy.<role>` (healthy
/// agents only: what `pool::pick` can still assign to).
fn agent_counters(inputs: &Inputs, loads: &pool::Loads, counters: &mut Counters) {
    for agent in inputs.agents {
        let role = agent.role.as_str();
        let healthy = pool::is_healthy(agent, inputs.now, inputs.heartbeat_timeout);
        let load = loads.get(&agent.id).copied().unwrap_or(0);
        bump(counters, format!("agents.load.{role}"), i64::from(load));
        let capacity = if healthy { agent.capacity } else { 0 };
        bump(counters, format!("agents.capacity.{role}"), i64::from(capacity));
        bump(counters, format!("agents.healthy.{role}"), i64::from(healthy));
    }
}

/// Counters keyed by names another subsystem supplies: the known keys
/// always (0 when absent), any other key as long as it is a plain name.
/// A key a subsystem supplied that cannot name a counter (a bug in that
/// subsystem); the code and hint are given where it becomes the user's
/// error (`ops::refusals`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key:?} cannot name a {prefix} counter")]
pub struct BadCounter {
    pub prefix: String,
    pub key: String,
}

fn open_counters(
    prefix: &str,
    known: &[&str],
    input: &BTreeMap<String, u64>,
    counters: &mut Counters,
) -> std::result::Result<(), BadCounter> {
    for key in known {
        counters.insert(format!("{prefix}.{key}"), 0);
    }
    for (key, n) in input {
        check_key(prefix, key)?;
        counters.insert(format!("{prefix}.{key}"), value(*n));
    }
    Ok(())
}

/// A key becomes part of a counter name: lower-case letters, digits and `_`.
fn check_key(prefix: &str, key: &str) -> std::result::Result<(), BadCounter> {
    let ok = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(BadCounter {
            prefix: prefix.to_owned(),
            key: key.to_owned(),
        })
    }
}

/// The counters are equal (`taken_at` and unknown fields aside).
pub fn same_counters(a: &MetricsSnapshot, b: &MetricsSnapshot) -> bool {
    a.counters == b.counters
}

/// Why a new snapshot is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Due {
    /// There is no snapshot yet.
    First,
    /// A counter changed since the last snapshot.
    Changed,
    /// `daemon.snapshot_every` passed since the last snapshot, so the
    /// history shows the counters held still rather than that nobody looked.
    Periodic,
}

impl Due {
    pub fn as_str(self) -> &'static str {
        match self {
            Due::First => "first",
            Due::Changed => "changed",
            Due::Periodic => "periodic",
        }
    }
}

impl std::fmt::Display for Due {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `next` is committed after `last`, and why; `None`: not yet.
///
/// A `last` taken after `now` (a clock ahead on another machine, or
/// `BATON_NOW` set back) is never periodically due: only a change commits.
pub fn due(
    last: Option<&MetricsSnapshot>,
    next: &MetricsSnapshot,
    now: Timestamp,
    snapshot_every: Span,
) -> Option<Due> {
    let Some(last) = last else {
        return Some(Due::First);
    };
    if !same_counters(last, next) {
        Some(Due::Changed)
    } else if last.taken_at <= now && snapshot_every.after(last.taken_at) <= now {
        Some(Due::Periodic)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::fixtures::claim;
    use crate::ids::{RunId, StepId};
    use crate::pool::fixtures::agent;
    use crate::pool::AgentStatus;
    use crate::testing::{at, t0};
    use crate::workflow::ledger::{Attempt, DefinitionRef, StepRecord};

    fn step(id: &str, status: StepStatus, attempts: u32) -> StepRecord {
        StepRecord {
            id: StepId::parse(id).unwrap(),
            status,
            skip: None,
            reason: None,
            attempts: (1..=attempts)
                .map(|number| Attempt {
                    number,
                    started_at: t0(),
                    duration_ms: 10,
                    exit_code: Some(i32::from(status != StepStatus::Succeeded)),
                    timed_out: false,
                    output: String::new(),
                })
                .collect(),
        }
    }

    fn run(n: u32, status: RunStatus, steps: Vec<StepRecord>) -> Run {
        Run {
            schema: SCHEMA,
            id: RunId::parse(&format!("wf-20260101T000000Z-{n:06x}")).unwrap(),
            workflow: "ship".into(),
            definition: DefinitionRef {
                path: ".baton/workflows/ship.toml".into(),
                blob: "0".into(),
            },
            status,
            host: "h".into(),
            pid: 1,
            actor: "human:x".into(),
            started_at: t0(),
            finished_at: None,
            resumed_at: Vec::new(),
            steps,
            extra: Default::default(),
        }
    }

    fn no_counts() -> BTreeMap<String, u64> {
        BTreeMap::new()
    }

    fn inputs<'a>(
        claims: &'a [Claim],
        agents: &'a [Agent],
        runs: &'a [Run],
        empty: &'a BTreeMap<String, u64>,
    ) -> Inputs<'a> {
        Inputs {
            now: at("2026-01-01T01:00:00Z"),
            heartbeat_timeout: Some(Span::parse("10m").unwrap()),
            claims,
            agents,
            runs,
            deliveries: empty,
            learn_decisions: empty,
            tick: Tick::default(),
            previous: None,
        }
    }

    #[test]
    fn compute_counts_claims_runs_steps_and_agents_from_state() {
        let claims = [
            claim("T-1", ClaimState::Active, Some("rev-1")),
            claim("T-2", ClaimState::Active, Some("rev-1")),
            claim("T-3", ClaimState::HandoffPending, Some("rev-2")),
            claim("T-4", ClaimState::Completed, Some("rev-2")),
            claim("T-5", ClaimState::Expired, None),
            claim("T-6", ClaimState::Paused, Some("gone-1")),
        ];
        let agents = [
            agent("rev-1", "rev", 2, AgentStatus::Active, "2026-01-01T00:55:00Z"),
            // Active but silent for an hour: its load counts, its capacity does not.
            agent("rev-2", "rev", 3, AgentStatus::Active, "2026-01-01T00:00:00Z"),
            agent("build-1", "build", 1, AgentStatus::Retired, "2026-01-01T00:59:00Z"),
        ];
        let runs = [
            run(1, RunStatus::Succeeded, vec![step("a", StepStatus::Succeeded, 3)]),
            run(
                2,
                RunStatus::Failed,
                vec![step("a", StepStatus::Failed, 2), step("b", StepStatus::Skipped, 0)],
            ),
            run(3, RunStatus::Running, vec![step("a", StepStatus::Pending, 0)]),
        ];
        let empty = no_counts();
        let s = compute(&inputs(&claims, &agents, &runs, &empty)).unwrap();
        let expect: &[(&str, i64)] = &[
            ("agents.capacity.build", 0),
            ("agents.capacity.rev", 2),
            ("agents.healthy.build", 0),
            ("agents.healthy.rev", 1),
            ("agents.load.build", 0),
            ("agents.load.rev", 3),
            ("claims.active", 2),
            ("claims.blocked", 0),
            ("claims.completed", 1),
            ("claims.expired", 1),
            ("claims.expired_total", 0),
            ("claims.handoff_pending", 1),
            ("claims.handoffs_returned_total", 0),
            ("claims.paused", 1),
            ("claims.reservations_active", 0),
            ("deliveries.abandoned", 0),
            ("deliveries.claimed", 0),
            ("deliveries.closed", 0),
            ("deliveries.failed", 0),
            ("deliveries.handed_off", 0),
            ("deliveries.running", 0),
            ("learn.decisions.high", 0),
            ("learn.decisions.low", 0),
            ("learn.decisions.medium", 0),
            ("runs.failed", 1),
            ("runs.interrupted", 0),
            ("runs.running", 1),
            ("runs.stopped", 0),
            ("runs.succeeded", 1),
            ("steps.failed", 1),
            ("steps.retries", 3),
        ];
        let got: Vec<(&str, i64)> = s.counters.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(got, expect);
        assert_eq!(s.taken_at, at("2026-01-01T01:00:00Z"));
        assert_eq!(s.schema, SCHEMA);
    }

    #[test]
    fn compute_of_empty_state_has_every_fixed_counter_at_zero() {
        let empty = no_counts();
        let s = compute(&inputs(&[], &[], &[], &empty)).unwrap();
        // claim states + reservations, totals, runs, steps, deliveries, learn.
        assert_eq!(s.counters.len(), 6 + 1 + 2 + 5 + 2 + 6 + 3);
        assert!(s.counters.values().all(|v| *v == 0));
    }

    #[test]
    fn reservations_of_held_claims_are_counted() {
        let mut tally = Tally::default();
        tally.add_reservations(ClaimState::Active, 3);
        tally.add_reservations(ClaimState::Paused, 1);
        tally.add_reservations(ClaimState::Completed, 5);
        let empty = no_counts();
        let s = compute_tallied(&tally, &inputs(&[], &[], &[], &empty)).unwrap();
        assert_eq!(s.get(RESERVATIONS_ACTIVE), 4);
    }

    #[test]
    fn supplied_maps_add_their_keys_and_refuse_names_that_are_not_plain() {
        let empty = no_counts();
        let deliveries = BTreeMap::from([("closed".to_owned(), 4), ("parked".to_owned(), 1)]);
        let learn = BTreeMap::from([("high".to_owned(), 2)]);
        let mut i = inputs(&[], &[], &[], &empty);
        i.deliveries = &deliveries;
        i.learn_decisions = &learn;
        let s = compute(&i).unwrap();
        assert_eq!(s.get("deliveries.closed"), 4);
        assert_eq!(s.get("deliveries.parked"), 1);
        assert_eq!(s.get("deliveries.failed"), 0);
        assert_eq!(s.get("learn.decisions.high"), 2);
        assert_eq!(s.get("learn.decisions.low"), 0);

        for bad in ["", "Closed", "a.b", "a/b", &"x".repeat(65)] {
            let deliveries = BTreeMap::from([(bad.to_owned(), 1)]);
            let err = compute(&Inputs {
                deliveries: &deliveries,
                ..i
            })
            .unwrap_err();
            assert_eq!(err.key, bad, "{bad:?}");
        }
    }

    #[test]
    fn tick_totals_continue_from_the_previous_snapshot() {
        let empty = no_counts();
        let mut i = inputs(&[], &[], &[], &empty);
        i.tick = Tick {
            expired: 2,
            handoffs_returned: 1,
        };
        let first = compute(&i).unwrap();
        assert_eq!(first.get(EXPIRED_TOTAL), 2);
        assert_eq!(first.get(HANDOFFS_RETURNED_TOTAL), 1);
        i.previous = Some(&first);
        i.tick = Tick {
            expired: 3,
            handoffs_returned: 0,
        };
        let second = compute(&i).unwrap();
        assert_eq!(second.get(EXPIRED_TOTAL), 5);
        assert_eq!(second.get(HANDOFFS_RETURNED_TOTAL), 1);

        let mut edited = second.clone();
        edited.counters.insert(EXPIRED_TOTAL.into(), -7);
        i.previous = Some(&edited);
        i.tick = Tick::default();
        assert_eq!(compute(&i).unwrap().get(EXPIRED_TOTAL), 0);
    }

    #[test]
    fn unknown_fields_survive_decode_compute_and_encode() {
        let raw =
            br#"{"schema":1,"taken_at":"2026-01-01T00:00:00Z","counters":{"claims.active":3},"histograms":{"x":1}}"#;
        let previous = MetricsSnapshot::decode(raw).unwrap();
        assert_eq!(previous.get("claims.active"), 3);
        assert_eq!(previous.get("not.there"), 0);
        let empty = no_counts();
        let mut i = inputs(&[], &[], &[], &empty);
        i.previous = Some(&previous);
        let next = compute(&i).unwrap();
        let text = String::from_utf8(next.encode().unwrap()).unwrap();
        assert!(text.contains("\"histograms\""), "{text}");
        assert!(text.contains("\"taken_at\": \"2026-01-01T01:00:00Z\""), "{text}");
        assert_eq!(MetricsSnapshot::decode(text.as_bytes()).unwrap(), next);
    }

    #[test]
    fn decode_refuses_other_schemas_and_garbage_as_corrupt_state() {
        let newer = br#"{"schema":2,"taken_at":"2026-01-01T00:00:00Z","counters":{}}"#;
        assert_eq!(MetricsSnapshot::decode(newer).unwrap_err().exit_code(), 3);
        assert_eq!(MetricsSnapshot::decode(b"{not json").unwrap_err().exit_code(), 3);
        let float = br#"{"schema":1,"taken_at":"2026-01-01T00:00:00Z","counters":{"a":1.5}}"#;
        assert_eq!(MetricsSnapshot::decode(float).unwrap_err().exit_code(), 3);
    }

    fn snap(taken_at: &str, active: i64) -> MetricsSnapshot {
        MetricsSnapshot {
            schema: SCHEMA,
            taken_at: at(taken_at),
            counters: Counters::from([("claims.active".to_owned(), active)]),
            extra: Default::default(),
        }
    }

    #[test]
    fn due_on_first_on_change_and_when_snapshot_every_passed() {
        let every = Span::parse("1h").unwrap();
        let last = snap("2026-01-01T00:00:00Z", 1);
        let now = at("2026-01-01T00:30:00Z");
        assert_eq!(
            due(None, &snap("2026-01-01T00:30:00Z", 1), now, every),
            Some(Due::First)
        );
        assert_eq!(due(Some(&last), &snap("2026-01-01T00:30:00Z", 1), now, every), None);
        assert_eq!(
            due(Some(&last), &snap("2026-01-01T00:30:00Z", 2), now, every),
            Some(Due::Changed)
        );
        let hour = at("2026-01-01T01:00:00Z");
        assert_eq!(
            due(Some(&last), &snap("2026-01-01T01:00:00Z", 1), hour, every),
            Some(Due::Periodic)
        );
        // A last snapshot from the future is only superseded by a change.
        let future = snap("2026-01-02T00:00:00Z", 1);
        assert_eq!(due(Some(&future), &snap("2026-01-01T01:00:00Z", 1), hour, every), None);
        assert_eq!(
            due(Some(&future), &snap("2026-01-01T01:00:00Z", 3), hour, every),
            Some(Due::Changed)
        );
    }

    #[test]
    fn same_counters_ignores_time_and_unknown_fields() {
        let a = snap("2026-01-01T00:00:00Z", 1);
        let mut b = snap("2026-01-05T00:00:00Z", 1);
        b.extra.insert("note".into(), serde_json::json!("x"));
        assert!(same_counters(&a, &b));
        b.counters.insert("claims.paused".into(), 0);
        assert!(!same_counters(&a, &b), "a new counter is a change, even at 0");
    }
}
