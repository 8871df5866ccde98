//! Delivery checks for doctor (and the daemon's reconcile pass): where a
//! ledger's phase disagrees with its claim or its workflow run. Each
//! finding has a hint; drift with one right answer is returned for `--fix`.

use std::collections::BTreeMap;

use super::{fence, Delivery, Phase};
use crate::claims::Claim;
use crate::finding::Finding;
use crate::ids::{ClaimId, RunId};
use crate::workflow::ledger::{Run, RunStatus};

/// A repair with one right answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// The claim moved on while the delivery was unfinished: record `stopped`.
    Stop { delivery: RunId, why: String },
}

/// Check every delivery `(path, ledger)` against the claims and runs it names.
pub fn check(
    deliveries: &[(String, Delivery)],
    claims: &BTreeMap<ClaimId, Claim>,
    runs: &BTreeMap<RunId, Run>,
) -> (Vec<Finding>, Vec<Fix>) {
    let mut out = Vec::new();
    let mut fixes = Vec::new();
    for (path, d) in deliveries {
        let expected = super::path(&d.id);
        if path != &expected {
            out.push(
                Finding::error(
                    "delivery.layout",
                    format!("{path} holds delivery {} which belongs at {expected}", d.id),
                )
                .at(path.clone()),
            );
        }
        let named = crate::workflow::named(&d.workflow).is_some();
        if !named {
            let f = if d.phase.is_final() {
                Finding::warn
            } else {
                Finding::error
            };
            out.push(
                f(
                    "delivery.workflow",
                    format!(
                        "delivery {} names {:?}, which is not a workflow of this repository ({}/<name>.toml)",
                        d.id,
                        d.workflow,
                        crate::workflow::DEFINITIONS_DIR
                    ),
                )
                .hint("baton never runs it: `delivery resume` refuses; check who wrote it with `baton log`")
                .at(path.clone()),
            );
        }
        if d.phase.is_final() {
            continue;
        }
        let claim = claims.get(&d.issue);
        if let Err(moved) = fence(d, claim) {
            out.push(
                Finding::error(
                    "delivery.claim",
                    format!("delivery {} is {} but {}", d.id, d.phase, moved),
                )
                .hint("`baton delivery doctor --fix` records it stopped")
                .at(path.clone()),
            );
            fixes.push(Fix::Stop {
                delivery: d.id.clone(),
                why: moved.to_string(),
            });
            continue;
        }
        let marked = claim.and_then(|c| c.delivery.as_ref()).map(|m| &m.id);
        if marked != Some(&d.id) {
            let names = match marked {
                Some(other) => format!("names delivery {other}"),
                None => "names no delivery".to_owned(),
            };
            let why = format!("the claim {} {names}, not this one", d.issue);
            out.push(
                Finding::error("delivery.mark", format!("delivery {} is {} but {why}", d.id, d.phase))
                    .hint("it does not act for its claim (check who wrote it with `baton log`); `baton delivery doctor --fix` records it stopped, leaving the claim alone")
                    .at(path.clone()),
            );
            fixes.push(Fix::Stop {
                delivery: d.id.clone(),
                why,
            });
            continue;
        }
        if let Some(f) = run_drift(d, runs) {
            out.push(f.at(path.clone()));
        }
    }
    if out.is_empty() {
        out.push(Finding::ok(
            "delivery.ledgers",
            format!(
                "{} delivery ledger(s) agree with their claims and runs",
                deliveries.len()
            ),
        ));
    }
    (out, fixes)
}

/// A `running` delivery whose workflow run is missing or already over: its
/// runner died between two phases; `delivery resume` finishes it.
fn run_drift(d: &Delivery, runs: &BTreeMap<RunId, Run>) -> Option<Finding> {
    if d.phase != Phase::Running {
        return None;
    }
    let resume = format!("`baton delivery resume --run-id {} --execute` finishes it", d.id);
    let Some(run_id) = &d.workflow_run else {
        return Some(
            Finding::error(
                "delivery.run",
                format!("delivery {} is running without a workflow run", d.id),
            )
            .hint(resume),
        );
    };
    match runs.get(run_id).map(|r| r.status) {
        None => Some(
            Finding::warn(
                "delivery.run",
                format!(
                    "delivery {} was interrupted before its workflow run {run_id} started",
                    d.id
                ),
            )
            .hint(resume),
        ),
        Some(RunStatus::Running) => None,
        Some(status) => Some(
            Finding::warn(
                "delivery.run",
                format!(
                    "delivery {} is running but its workflow run {run_id} is {}",
                    d.id,
                    status.as_str()
                ),
            )
            .hint(resume),
        ),
    }
}
