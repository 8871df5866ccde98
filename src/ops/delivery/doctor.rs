//! Delivery checks for doctor: ledger vs claim vs workflow run (the rules
//! are [`crate::delivery::check`]), and the repair of ledgers whose claim
//! moved on, shared with the daemon's reconcile pass.

use std::collections::BTreeMap;

use crate::claims::{self, Claim};
use crate::clock::Timestamp;
use crate::delivery::{self, check, Delivery};
use crate::error::Result;
use crate::finding::Finding;
use crate::ids::{ClaimId, RunId};
use crate::ops::Session;
use crate::state;
use crate::store::{message, Change, Message, Snapshot, Update};
use crate::workflow::ledger::Run;

/// Delivery checks for doctor: ledger vs claim vs workflow run; `fix`
/// (the actor committing) records deliveries whose claim moved on as stopped.
pub fn check(s: &Session, snap: &Snapshot<'_>, fix: Option<&str>) -> Result<Vec<Finding>> {
    let (ledgers, broken) = state::load_all_json::<Delivery>(snap, delivery::DIR, |d| d.schema)?;
    let mut out = crate::doctor::broken(&broken, "delivery.files");
    // Broken claim and run files are reported by their own checks; here they are just absent.
    let (claims, _) = state::load_all::<Claim>(snap, claims::DIR, |c| c.schema)?;
    let claims: BTreeMap<ClaimId, Claim> = claims.into_iter().map(|(_, c)| (c.id.clone(), c)).collect();
    let (runs, _) = state::load_all_json::<Run>(snap, crate::workflow::ledger::DIR, |r| r.schema)?;
    let runs: BTreeMap<RunId, Run> = runs.into_iter().map(|(_, r)| (r.id.clone(), r)).collect();
    let (mut findings, fixes) = check::check(&ledgers, &claims, &runs);
    if let (Some(actor), false) = (fix, fixes.is_empty()) {
        apply_fixes(s, actor, &fixes)?;
        for f in findings
            .iter_mut()
            .filter(|f| f.check == "delivery.claim" || f.check == "delivery.mark")
        {
            f.fixed = true;
        }
    }
    out.extend(findings);
    Ok(out)
}

/// Record every delivery whose claim moved on as stopped, in one commit.
fn apply_fixes(s: &Session, actor: &str, fixes: &[check::Fix]) -> Result<()> {
    s.store.update(actor, |snap| {
        let mut change = Change::default();
        let stopped = put_stopped(snap, fixes, s.now, &mut change)?;
        if stopped.is_empty() {
            return Ok(Update::Unchanged(()));
        }
        let mut msg = Message::new(format!(
            "delivery: stop {} delivery(ies) whose claim moved on",
            stopped.len()
        ))
        .trailer(message::OP, "delivery.stopped")
        .trailer(message::ACTOR, actor);
        for d in &stopped {
            msg = msg.trailer(message::SUBJECT, format!("delivery/{}", d.id));
        }
        change.message = msg;
        Ok(Update::Write(change, ()))
    })?;
    Ok(())
}

/// Add to `change` the ledgers of `fixes` recorded stopped, as they are in
/// `snap` (ones already final are left alone); returns them as they become.
/// Doctor's `--fix` and the daemon's reconcile pass both repair drift with it.
pub fn put_stopped(
    snap: &Snapshot<'_>,
    fixes: &[check::Fix],
    now: Timestamp,
    change: &mut Change,
) -> Result<Vec<Delivery>> {
    let mut out = Vec::new();
    for check::Fix::Stop { delivery: id, why } in fixes {
        let Some(d) = state::delivery(snap, id)? else { continue };
        if d.phase.is_final() {
            continue;
        }
        let step = delivery::stopped(&d, why, now);
        change.put_json(delivery::path(id), &step.delivery)?;
        out.push(step.delivery);
    }
    Ok(out)
}
