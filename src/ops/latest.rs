//! Which run a resume without `--run-id` means: the acting actor's latest
//! unfinished delivery (`delivery resume`) or latest workflow run that can
//! be resumed (`workflow resume`). The caller says which it took.

use super::Session;
use crate::delivery::Delivery;
use crate::error::{Error, Result};
use crate::ids::RunId;
use crate::state;
use crate::workflow::ledger::RunStatus;

/// The actor's newest delivery that is not in a final phase.
pub fn unfinished_delivery(s: &Session) -> Result<RunId> {
    let actor = s.actor()?;
    // A ledger that does not parse is not the one to resume (doctor names it).
    let (readable, _) = state::readable_deliveries(&s.snapshot()?)?;
    let found: Option<Delivery> = readable.into_iter().find(|d| d.owner == actor && !d.phase.is_final());
    found
        .map(|d| d.id)
        .ok_or_else(|| Error::from(crate::delivery::Refusal::NothingToResume(actor.clone())))
}

/// The actor's newest workflow run that ended short of success (failed,
/// stopped, interrupted). A run still `running` is not taken: its runner
/// may be alive.
pub fn resumable_run(s: &Session) -> Result<RunId> {
    let actor = s.actor()?.to_string();
    let found = state::all_runs(&s.snapshot()?)?.into_iter().find(|r| {
        r.actor == actor
            && matches!(
                r.status,
                RunStatus::Failed | RunStatus::Stopped | RunStatus::Interrupted
            )
    });
    found
        .map(|r| r.id)
        .ok_or_else(|| Error::from(crate::workflow::Refusal::NothingToResume(actor.clone())))
}
