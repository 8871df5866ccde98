//! The metrics step of a pass: the snapshot of the state the pass leaves,
//! and whether it is due. A snapshot written by a newer baton is left as it
//! is (its totals are its own): this baton reports it and writes none.

use super::*;
use crate::codec;
use crate::metrics::Due;

/// The metrics step of a pass.
pub(super) struct SnapshotStep {
    /// When the snapshot in the state was taken.
    pub previous: Option<Timestamp>,
    /// The snapshot of the state the pass leaves, and why it is due; `None`: not yet.
    pub due: Option<(metrics::MetricsSnapshot, Due)>,
}

/// When the snapshot in the state was taken, and the metrics snapshot of the
/// state `after` describes with why it is due.
pub(super) fn due_snapshot(
    snap: &Snapshot<'_>,
    after: &View,
    config: &crate::config::Config,
    now: Timestamp,
    tick: metrics::Tick,
    report: &mut Report,
) -> Result<SnapshotStep> {
    let previous = match snap.read(metrics::snapshot::PATH)? {
        None => None,
        Some(bytes) => match metrics::MetricsSnapshot::decode(&bytes) {
            Ok(p) => Some(p),
            Err(e) if e.is::<codec::NewerSchema>() => {
                // Its totals count on from what a newer baton knows: rewriting
                // it as this schema would lose them, and its fields.
                report.reported.push(
                    Finding::warn(
                        "daemon.metrics",
                        format!("{}; no snapshot is taken until baton is upgraded", e.message()),
                    )
                    .hint("upgrade baton on this machine: the snapshot is left as it is")
                    .at(metrics::snapshot::PATH),
                );
                return Ok(SnapshotStep {
                    previous: None,
                    due: None,
                });
            }
            Err(e) => {
                report.reported.push(
                    Finding::warn("daemon.metrics", format!("{}; a new snapshot replaces it", e.message()))
                        .at(metrics::snapshot::PATH),
                );
                None
            }
        },
    };
    let agents: Vec<Agent> = after.agents.values().map(|a| a.agent()).collect();
    let phases = after.delivery_phases();
    let learn = after.learn_decisions();
    let inputs = metrics::Inputs {
        now,
        heartbeat_timeout: config.pool.heartbeat_timeout,
        claims: &[],
        agents: &agents,
        runs: &[],
        deliveries: &phases,
        learn_decisions: &learn,
        tick,
        previous: previous.as_ref(),
    };
    let next = metrics::compute_tallied(&after.tally(), &inputs)?;
    let due = metrics::due(previous.as_ref(), &next, now, config.daemon.snapshot_every);
    Ok(SnapshotStep {
        previous: previous.map(|p| p.taken_at),
        due: due.map(|due| (next, due)),
    })
}
