//! Acting on a delivery after its start: reading it back, handing it off,
//! closing or abandoning it (stopping a workflow that still runs), and
//! resuming it from its recorded phase — which runs only a named workflow
//! of this work tree, never a path the shared state supplies.

use super::{finish, named_plan, outcome_of, phase_change, run_and_finish, Delivered, Work};
use crate::delivery::{self, Delivery, PhaseCommit};
use crate::error::{Error, Result};
use crate::finding::Finding;
use crate::ids::{Actor, RunId};
use crate::ops::workflow::{self, Execution, Stopped};
use crate::ops::{sync, Applied, Session};
use crate::state;
use crate::store::{Snapshot, Update};
use crate::workflow::ledger::{Run, RunStatus};

/// One delivery; refused when there is none.
pub fn get(s: &Session, id: &RunId) -> Result<Delivery> {
    state::delivery(&s.snapshot()?, id)?.ok_or_else(|| Error::from(delivery::Refusal::NoDelivery(id.clone())))
}

/// A delivery with its claim and workflow run, as they are now.
pub fn status(s: &Session, id: &RunId) -> Result<Delivered> {
    let snap = s.snapshot()?;
    let delivery = state::delivery(&snap, id)?.ok_or_else(|| Error::from(delivery::Refusal::NoDelivery(id.clone())))?;
    let claim = state::claim(&snap, &delivery.issue)?;
    let run = match &delivery.workflow_run {
        Some(r) => state::run(&snap, r)?,
        None => None,
    };
    Ok(Delivered {
        delivery,
        claim,
        run,
        published: None,
        not_published: None,
    })
}

/// Recent deliveries' rows, newest first, through the read index
/// (`ops::index`), and a finding for each ledger that cannot be read
/// (listed beside the others, never instead of them).
pub fn list(s: &Session, limit: usize) -> Result<(Vec<delivery::row::Row>, Vec<Finding>)> {
    let mut rows = Vec::new();
    let mut broken = Vec::new();
    for (path, row) in crate::ops::index::rows::<crate::ops::index::Deliveries>(&s.store, &s.snapshot()?)? {
        match row {
            Ok(row) => rows.push(row),
            Err(error) => broken.push(state::Broken { path, error }),
        }
    }
    rows.reverse();
    let unreadable = crate::doctor::broken(&broken, "delivery.files");
    Ok((rows.into_iter().take(limit).collect(), unreadable))
}

/// Load a delivery its owner acts on.
fn owned(s: &Session, id: &RunId) -> Result<Delivery> {
    let d = get(s, id)?;
    delivery::require_owner(&d, &s.actor()?)?;
    Ok(d)
}

/// Commit one phase decided on the ledger as the state has it, published
/// when `sync.auto` says so.
fn land(
    s: &Session,
    op: &str,
    d: &Delivery,
    decide: impl Fn(&Snapshot<'_>, &Delivery) -> Result<PhaseCommit>,
) -> Result<Applied<PhaseCommit>> {
    let actor = s.actor()?;
    s.apply(|snap| {
        let current = super::current(snap, d)?;
        let step = decide(snap, &current)?;
        Ok(Update::Write(phase_change(&step, op, &actor)?, step))
    })
}

/// `delivery handoff --to`: offer the claim of an unfinished delivery.
pub fn handoff(s: &Session, id: &RunId, to: &Actor) -> Result<Delivered> {
    let d = owned(s, id)?;
    let applied = land(s, "delivery.handoff", &d, |snap, current| {
        let now = super::phase_time()?;
        Ok(delivery::handoff(
            current,
            state::claim(snap, &d.issue)?.as_ref(),
            to,
            now,
        )?)
    })?;
    Ok(Delivered::from_step(applied))
}

/// `delivery close [--abandon]`: release the claim of a failed delivery,
/// or give an unfinished one up (with `abandon`, the reason). Abandoning a
/// delivery whose workflow still runs here stops the run: its runner then
/// finds the ledger final and leaves it (one final phase, `abandoned`).
pub fn close(s: &Session, id: &RunId, abandon: Option<&str>) -> Result<Delivered> {
    let d = owned(s, id)?;
    let op = if abandon.is_some() {
        "delivery.abandoned"
    } else {
        "delivery.closed"
    };
    let applied = land(s, op, &d, |snap, current| {
        let now = super::phase_time()?;
        let claim = state::claim(snap, &d.issue)?;
        Ok(match abandon {
            Some(why) => delivery::abandon(current, claim.as_ref(), why, now),
            None => delivery::close(current, claim.as_ref(), now),
        }?)
    })?;
    let run = match (&applied.value.delivery.workflow_run, abandon) {
        (Some(run), Some(_)) => stop_running(s, run)?,
        _ => None,
    };
    let mut delivered = Delivered::from_step(applied);
    delivered.run = run;
    Ok(delivered)
}

/// The workflow run of an abandoned delivery, stopped when it still runs
/// on this host (and waited for, so the command returns once it ended);
/// a run on another host ends on its own, finding the ledger final.
fn stop_running(s: &Session, run: &RunId) -> Result<Option<Run>> {
    let Some(current) = state::run(&s.snapshot()?, run)? else {
        return Ok(None);
    };
    if current.status != RunStatus::Running || current.host != crate::os::hostname() {
        return Ok(Some(current));
    }
    match workflow::stop(s, run)? {
        Stopped::ByRunner(r) | Stopped::RunnerGone(r) => Ok(Some(r)),
    }
}

/// What `delivery resume` would do from the recorded phase.
#[derive(Debug, Clone)]
pub enum Resume {
    /// A final phase: nothing to do.
    Nothing,
    /// Start the workflow (the crash came before it started).
    Start(workflow::Plan),
    /// Continue the workflow run from its failed or interrupted steps.
    Continue(Box<workflow::ResumePlan>),
    /// The workflow run ended well; only the final phase is missing.
    Finish(Run),
}

/// The delivery and what resuming it does. The definition is the named
/// workflow of this work tree the ledger names (`.baton/workflows/<name>`);
/// a ledger naming any other path is refused, and a run in progress
/// continues only while the file is the blob that run recorded.
pub fn resume_plan(s: &Session, id: &RunId) -> Result<(Delivery, Resume)> {
    let d = owned(s, id)?;
    if d.phase.is_final() {
        return Ok((d, Resume::Nothing));
    }
    let snap = s.snapshot()?;
    let claim = state::claim(&snap, &d.issue)?;
    delivery::fence(&d, claim.as_ref())?;
    if claim.as_ref().and_then(|c| c.delivery.as_ref()).map(|m| &m.id) != Some(&d.id) {
        return Err(delivery::Refusal::NotClaimsDelivery {
            id: d.id.clone(),
            issue: d.issue.clone(),
        }
        .into());
    }
    let Some(name) = workflow::named(&d.workflow) else {
        return Err(delivery::Refusal::WorkflowOutside {
            id: d.id.clone(),
            workflow: d.workflow.clone(),
        }
        .into());
    };
    let run = match &d.workflow_run {
        Some(r) => state::run(&snap, r)?,
        None => None,
    };
    let action = match run {
        None => Resume::Start(named_plan(s, name.as_str())?),
        Some(run) if run.status == RunStatus::Succeeded => Resume::Finish(run),
        Some(run) => {
            let resume = workflow::resume_plan(s, &run.id)?;
            if resume.selected.is_empty() {
                Resume::Finish(run)
            } else {
                Resume::Continue(Box::new(resume))
            }
        }
    };
    Ok((d, action))
}

/// `delivery resume --execute`: continue from the recorded phase (each
/// phase published once under `sync.auto`).
pub fn resume(s: &Session, d: &Delivery, action: Resume, how: &Execution) -> Result<Delivered> {
    let remote = sync::auto_remote(s)?;
    let remote = remote.as_deref();
    match action {
        Resume::Nothing => Ok(Delivered {
            delivery: d.clone(),
            claim: None,
            run: None,
            published: None,
            not_published: None,
        }),
        Resume::Start(plan) => {
            workflow::refuse_unless_allowed(&plan.refusals, how)?;
            run_and_finish(s, d, Work::Start(&plan), how, remote)
        }
        Resume::Continue(resume) => {
            workflow::refuse_unless_allowed(&resume.refusals, how)?;
            run_and_finish(s, d, Work::Continue(resume), how, remote)
        }
        Resume::Finish(run) => {
            let mut done = finish(s, d, outcome_of(&run), remote)?;
            done.run = Some(run);
            Ok(done)
        }
    }
}
