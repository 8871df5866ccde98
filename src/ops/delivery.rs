//! Delivery operations (docs/delivery.md): claim an issue, run its
//! workflow, release or hand off the claim — each phase one commit that
//! changes the claim and the delivery ledger together, fenced by the
//! delivery's holding. Composes [`super::claims`]-style transitions,
//! [`super::pool`] assignment and [`super::workflow`] runs; the rules are in
//! [`crate::delivery`].
//!
//! Every phase is decided inside its compare-and-swap on the ledger as it
//! is there, not on this process's copy: a delivery abandoned while its
//! workflow ran keeps its one final phase. Each phase is stamped with the
//! clock as it lands. Published deliveries (`--sync`, `sync.auto`) publish
//! each phase once — the claim before any step runs, `running` with the
//! final phase — and a stop is published like any other phase.
//!
//! [`manage`] holds what acts on a delivery after its start (status,
//! handoff, close, resume); [`doctor`] its checks.

mod doctor;
mod manage;

pub use doctor::{check, put_stopped};
pub use manage::{close, get, handoff, list, resume, resume_plan, status, Resume};

use super::pool::{self, Wanted};
use super::workflow::{self, Execution};
use super::{sync, Applied, Committed, Session};
use crate::claims::{self, Claim, ClaimRequest, Ctx, Holding};
use crate::clock::{Span, Timestamp};
use crate::delivery::{self, Delivery, Phase, PhaseCommit, Request};
use crate::error::code;
use crate::error::{Error, Result};
use crate::ids::{Actor, ClaimId};
use crate::learn::stats::DeliveryOutcome;
use crate::state;
use crate::store::{message, Change, Message, Snapshot, Update};
use crate::sync::LostClaim;
use crate::workflow::ledger::{Run, RunStatus, StepStatus};

/// What `delivery start` asks for.
#[derive(Debug, Clone)]
pub struct StartArgs {
    pub issue: ClaimId,
    /// A definition file, or a name in `.baton/workflows/`.
    pub workflow: String,
    pub wanted: Wanted,
    pub handoff_to: Option<Actor>,
    pub lease: Option<Span>,
    pub note: Option<String>,
    /// Act for a holding the caller already has, at this generation.
    pub generation: Option<u64>,
    /// Publish the claim before any step runs (`--sync`; `sync.auto` too).
    pub sync: bool,
}

/// How the claim would be taken.
#[derive(Debug, Clone)]
pub enum Claiming {
    /// A new holding (generation `generation`), with this agent if any.
    New {
        generation: u64,
        agent: Option<claims::Assignment>,
    },
    /// The actor already holds it at `generation`.
    Held { generation: u64 },
    /// It would be refused: why.
    Refused(Error),
}

/// What `delivery start` without `--execute` shows; nothing changes.
#[derive(Debug, Clone)]
pub struct Plan {
    pub issue: ClaimId,
    pub claiming: Claiming,
    pub workflow: workflow::Plan,
    /// `None`: release on success; else offer to this actor.
    pub handoff_to: Option<Actor>,
}

/// A delivery as it stands after an operation, with what it acted on.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub delivery: Delivery,
    pub claim: Option<Claim>,
    pub run: Option<Run>,
    /// What publishing the last phase did (`--sync`, `sync.auto`).
    pub published: Option<sync::Report>,
    /// The last phase landed here but was not published: why.
    pub not_published: Option<Error>,
}

impl Delivered {
    fn from_step(applied: Applied<PhaseCommit>) -> Delivered {
        Delivered {
            delivery: applied.value.delivery,
            claim: applied.value.claim,
            run: None,
            published: applied.published,
            not_published: applied.not_published,
        }
    }
}

/// The time a phase lands at: the clock as the phase is decided, so each
/// phase (and the claim's `updated_at` with it) says when it happened. A
/// faked clock (`BATON_NOW`) stays where it was set.
fn phase_time() -> Result<Timestamp> {
    Ok(crate::clock::now()?)
}

/// The plan of a delivery: the claim it would take, the steps, the end.
pub fn plan(s: &Session, args: &StartArgs) -> Result<Plan> {
    let workflow = named_plan(s, &args.workflow)?;
    let snap = s.snapshot()?;
    let actor = s.actor()?;
    let existing = state::claim(&snap, &args.issue)?;
    let already = existing.as_ref().is_some_and(|c| c.is_held_by(&actor));
    let claiming = match take_claim(s, &snap, &actor, existing, args, s.now) {
        Err(e) => Claiming::Refused(e),
        Ok(claim) if already || args.generation.is_some() => Claiming::Held {
            generation: claim.generation,
        },
        Ok(claim) => Claiming::New {
            generation: claim.generation,
            agent: claim
                .agent
                .clone()
                .zip(claim.role.clone())
                .map(|(agent, role)| claims::Assignment { agent, role }),
        },
    };
    Ok(Plan {
        issue: args.issue.clone(),
        claiming,
        workflow,
        handoff_to: args.handoff_to.clone(),
    })
}

/// The plan of a delivery's workflow: only a definition of this work
/// tree's `.baton/workflows/` (by name, or by its path there), the one
/// place `delivery resume` will read it from again.
fn named_plan(s: &Session, workflow: &str) -> Result<workflow::Plan> {
    let plan = workflow::plan(s, workflow)?;
    if workflow::named(&plan.located.display).is_none() {
        return Err(delivery::Refusal::NotNamed(plan.located.display.clone()).into());
    }
    Ok(plan)
}

/// The claim as the `claimed` phase leaves it: claimed `now` (with pool
/// capacity), or the holding `--generation` names, checked — refused while
/// the claim carries another unfinished delivery of its holding.
fn take_claim(
    s: &Session,
    snap: &Snapshot<'_>,
    actor: &Actor,
    existing: Option<Claim>,
    args: &StartArgs,
    now: Timestamp,
) -> Result<Claim> {
    if let Some(current) = &existing {
        let marked = match &current.delivery {
            Some(mark) => state::delivery(snap, &mark.id)?,
            None => None,
        };
        delivery::one_per_claim(current, marked.as_ref())?;
    }
    if let Some(generation) = args.generation {
        let holding = Holding {
            owner: actor.clone(),
            generation,
        };
        return Ok(claims::verify(existing.as_ref(), &args.issue, &holding)?.clone());
    }
    let config = s.config()?;
    let ctx = Ctx {
        actor,
        now,
        policy: &config.claims,
    };
    let req = ClaimRequest {
        lease: args.lease,
        note: args.note.clone(),
        force: Default::default(),
        paths: Vec::new(),
    };
    let t = claims::claim(existing, &args.issue, &ctx, &req, || {
        pool::assignment(snap, config, now, &args.wanted, actor)
    })?;
    Ok(t.claim)
}

/// `delivery start --execute`: claimed, running, then closed / handed off
/// (success) or failed (the claim stays). Refusals come before any step runs.
pub fn start(s: &Session, args: &StartArgs, how: &Execution) -> Result<Delivered> {
    // An invalid workflow is exit 2 and a refused command exit 1, before anything is claimed.
    let plan = named_plan(s, &args.workflow)?;
    workflow::refuse_unless_allowed(&plan.refusals, how)?;
    if args.handoff_to.as_ref() == Some(&s.actor()?) {
        return Err(delivery::Refusal::HandoffToSelf.into());
    }
    let publish_to = sync::publish_target(s, args.sync)?;
    let id = workflow::fresh_id(s, delivery::ID_PREFIX, delivery::path)?;
    let request = Request {
        id: id.clone(),
        issue: args.issue.clone(),
        workflow: plan.located.display.clone(),
        handoff_to: args.handoff_to.clone(),
        note: args.note.clone(),
    };
    match publish_to {
        None => start_local(s, args, &plan, request, how),
        Some(remote) => start_published(s, args, &plan, request, how, &remote),
    }
}

/// `delivery start` publishing to `remote` (`--sync`, `sync.auto`): the
/// claim must reach the remote before any step runs, so `claimed` is a
/// write and a publish of its own; `running` is published with the final
/// phase. Three fetches in all: before claiming (to see the remote's
/// holder), after `claimed`, after the final phase.
fn start_published(
    s: &Session,
    args: &StartArgs,
    plan: &workflow::Plan,
    request: Request,
    how: &Execution,
    remote: &str,
) -> Result<Delivered> {
    let actor = s.actor()?;
    sync::sync(&s.store, remote, &actor.to_string())?;
    let opened = s.commit(|snap| {
        let now = phase_time()?;
        let existing = state::claim(snap, &args.issue)?;
        let claim = take_claim(s, snap, &actor, existing, args, now)?;
        let step = delivery::open(request.clone(), &claim, now);
        Ok(Update::Write(phase_change(&step, "delivery.claimed", &actor)?, step))
    })?;
    let opened = s.fold_journal(opened);
    let d = opened.value.delivery.clone();
    let claimed = s.publish(opened, remote);
    if let Some(e) = claimed.not_published {
        // Landed here only: no step runs before the remote has the claim.
        return Err(Error::environment(
            code::NOT_PUBLISHED,
            format!(
                "delivery {} claimed {} here, but {}; no step ran",
                d.id,
                d.issue,
                e.message()
            ),
        )
        .with_hint(format!(
            "once {remote} can be reached: `baton sync`, then `baton delivery resume --run-id {} --execute`",
            d.id
        )));
    }
    if let Some(lost) = lost_claim(&claimed.published, &d.issue) {
        return Err(lose(s, &d, &lost, remote, "nothing ran"));
    }
    run_and_finish(s, &d, Work::Start(plan), how, Some(remote))
}

/// Our claim was lost to another machine's on publishing: record (and
/// publish) the delivery `stopped`, and say so (`claim_lost`).
fn lose(s: &Session, d: &Delivery, lost: &LostClaim, remote: &str, what_ran: &str) -> Error {
    let why = format!("claim lost on sync: {}", lost.message());
    let refused = Error::refused(code::CLAIM_LOST, lost.message());
    let hint = format!(
        "another machine published a claim on {} first; delivery {} stopped, {what_ran}",
        d.issue, d.id
    );
    match record_stop(s, d, &why, Some(remote), true) {
        Ok(stopped) => refused.with_hint(publish_note(hint, &stopped)),
        Err(e) => refused.with_hint(format!("{hint}; recording the stop failed: {}", e.message())),
    }
}

/// The claim this delivery acts on, when a sync reports it lost.
fn lost_claim(report: &Option<sync::Report>, issue: &ClaimId) -> Option<LostClaim> {
    report.as_ref()?.lost.iter().find(|l| l.id == issue.as_str()).cloned()
}

/// `delivery start` with nothing to publish first: the `claimed` and
/// `running` phases land with the workflow run's start record, and the
/// final phase with its end record — each phase its own commit, decided on
/// the state it lands on (the fence), sharing the run's ref moves and packs
/// instead of adding three writes of their own.
fn start_local(
    s: &Session,
    args: &StartArgs,
    plan: &workflow::Plan,
    request: Request,
    how: &Execution,
) -> Result<Delivered> {
    let actor = s.actor()?;
    let run_id = workflow::fresh_id(s, "wf", crate::workflow::ledger::path)?;
    let before = {
        let (actor, run_id) = (actor.clone(), run_id.clone());
        Box::new(move |snap: &Snapshot<'_>| {
            let now = phase_time()?;
            let existing = state::claim(snap, &args.issue)?;
            let claim = take_claim(s, snap, &actor, existing, args, now)?;
            let opened = delivery::open(request.clone(), &claim, now);
            let started = delivery::running(&opened.delivery, opened.claim.as_ref(), &run_id, now)?;
            let chain = vec![
                phase_change(&opened, "delivery.claimed", &actor)?,
                phase_change(&started, "delivery.running", &actor)?,
            ];
            Ok(Update::WriteEach(chain, started.delivery))
        })
    };
    let after = Box::new(move |snap: &Snapshot<'_>, run: &Run, running: &Delivery| {
        Ok(final_phase(snap, running, outcome_of(run), &actor, phase_time()?)?.into_update())
    });
    let (run, end) = workflow::run_wrapped(s, plan, run_id, how, workflow::Wrap { before, after })?;
    let step = ended_step(end, None)?;
    Ok(Delivered {
        delivery: step.delivery,
        claim: step.claim,
        run: Some(run),
        published: None,
        not_published: None,
    })
}

/// How the final phase went, decided on the state it lands on. (One per
/// delivery, moved twice: the variants' sizes do not matter.)
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
enum Ended {
    /// It lands: closed / handed off / failed, or `stopped` with the
    /// refusal (`moved`) when the claim moved on.
    Landed {
        step: PhaseCommit,
        change: Change,
        moved: Option<Error>,
    },
    /// The ledger was already final there (abandoned while the workflow
    /// ran): nothing to write over it.
    Already(Delivery),
}

impl Ended {
    /// What lands: its commit, if any; the phase itself as the result.
    fn into_update(self) -> Update<Ended> {
        match &self {
            Ended::Landed { change, .. } => Update::Write(change.clone(), self),
            Ended::Already(_) => Update::Unchanged(self),
        }
    }
}

/// The final phase's commit on `snap`, decided on the ledger as it is
/// there: closed / handed off, or failed (the outcome counted for the
/// role, for `learn route`); `stopped` with the refusal when the claim
/// moved on; nothing when the ledger is final already.
fn final_phase(
    snap: &Snapshot<'_>,
    d: &Delivery,
    outcome: std::result::Result<(), String>,
    actor: &Actor,
    now: Timestamp,
) -> Result<Ended> {
    let current = current(snap, d)?;
    if current.phase.is_final() {
        return Ok(Ended::Already(current));
    }
    let claim = state::claim(snap, &current.issue)?;
    let (op, counted, decided) = match &outcome {
        Ok(()) => (
            "delivery.finished",
            DeliveryOutcome::Closed,
            delivery::succeeded(&current, claim.as_ref(), now),
        ),
        Err(why) => (
            "delivery.failed",
            DeliveryOutcome::Failed,
            delivery::failed(&current, claim.as_ref(), why, now),
        ),
    };
    match decided {
        Ok(step) => {
            let mut change = phase_change(&step, op, actor)?;
            super::learn::count_delivery(snap, &mut change, step.delivery.role.as_ref(), counted);
            Ok(Ended::Landed {
                step,
                change,
                moved: None,
            })
        }
        Err(delivery::Refusal::Moved(moved)) => {
            let step = delivery::stopped(&current, &moved.to_string(), now);
            let change = phase_change(&step, "delivery.stopped", actor)?;
            Ok(Ended::Landed {
                step,
                change,
                moved: Some(moved.into()),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// The delivery as the state has it (this process's copy when the ledger
/// is not there): phases are decided on it, never on a copy that another
/// command (`delivery close --abandon`) may have moved past.
fn current(snap: &Snapshot<'_>, d: &Delivery) -> Result<Delivery> {
    Ok(state::delivery(snap, &d.id)?.unwrap_or_else(|| d.clone()))
}

/// The step a final phase landed, or the refusal it stands for: a stop
/// (the claim moved on), or a ledger some other command finished while the
/// workflow ran. `not_published`: the stop did not reach the remote.
fn ended_step(end: Ended, not_published: Option<&Error>) -> Result<PhaseCommit> {
    match end {
        Ended::Landed { step, moved: None, .. } => Ok(step),
        Ended::Landed {
            step,
            moved: Some(moved),
            ..
        } => {
            let hint = format!(
                "delivery {} stopped; `baton delivery status --run-id {}` shows it",
                step.delivery.id, step.delivery.id
            );
            Err(moved.with_hint(match not_published {
                Some(e) => format!("{hint}; {}", e.message()),
                None => hint,
            }))
        }
        Ended::Already(d) => Err(delivery::Refusal::EndedWhileRunning {
            id: d.id,
            phase: d.phase,
            reason: d.reason,
        }
        .into()),
    }
}

/// The workflow a delivery runs: a new run of a plan, or the continuation
/// of its recorded run.
enum Work<'p> {
    Start(&'p workflow::Plan),
    Continue(Box<workflow::ResumePlan>),
}

/// Phase `running` (fenced), the workflow run, then the final phase.
/// `remote`: publish the final phase (and `running` with it) there.
fn run_and_finish(
    s: &Session,
    d: &Delivery,
    work: Work<'_>,
    how: &Execution,
    remote: Option<&str>,
) -> Result<Delivered> {
    let run_id = match (&work, &d.workflow_run) {
        (Work::Continue(r), _) => r.run.id.clone(),
        (Work::Start(_), Some(id)) if d.phase == Phase::Running => id.clone(),
        (Work::Start(_), _) => workflow::fresh_id(s, "wf", crate::workflow::ledger::path)?,
    };
    let d = match d.phase {
        Phase::Running if d.workflow_run.as_ref() == Some(&run_id) => d.clone(),
        _ => {
            let actor = s.actor()?;
            let running = s.commit(|snap| {
                let now = phase_time()?;
                let current = current(snap, d)?;
                let claim = state::claim(snap, &current.issue)?;
                let step = delivery::running(&current, claim.as_ref(), &run_id, now)?;
                Ok(Update::Write(phase_change(&step, "delivery.running", &actor)?, step))
            });
            match running {
                Ok(r) => s.fold_journal(r).value.delivery,
                Err(e) if e.is::<claims::Moved>() => return stop(s, d, e, remote),
                Err(e) => return Err(e),
            }
        }
    };
    let ran = match work {
        Work::Continue(r) => workflow::resume(s, *r, how),
        Work::Start(plan) => workflow::run_as(s, plan, run_id, how),
    };
    let run = match ran {
        Ok(run) => run,
        Err(e) => {
            // The run could not go on: the claim stays, the ledger says why.
            let why = format!("the workflow run could not complete: {}", e.message());
            let _ = finish(s, &d, Err(why), remote);
            return Err(e);
        }
    };
    let mut delivered = finish(s, &d, outcome_of(&run), remote)?;
    delivered.run = Some(run);
    Ok(delivered)
}

/// What a finished workflow run means for its delivery: `Err` says why it failed.
fn outcome_of(run: &Run) -> std::result::Result<(), String> {
    if run.status == RunStatus::Succeeded {
        return Ok(());
    }
    let failed = run
        .steps
        .iter()
        .filter(|r| matches!(r.status, StepStatus::Failed | StepStatus::Stopped))
        .map(|r| {
            let exit = r.attempts.last().and_then(|a| a.exit_code);
            match exit {
                Some(code) => format!("{} (exit {code})", r.id),
                None => r.id.to_string(),
            }
        })
        .collect::<Vec<_>>();
    Err(match failed.is_empty() {
        true => format!("workflow run {} {}", run.id, run.status.as_str()),
        false => format!(
            "workflow run {} {} at {}",
            run.id,
            run.status.as_str(),
            failed.join(", ")
        ),
    })
}

/// The final phase after the workflow: succeeded → closed / handed off,
/// failed → failed; a claim that moved on → stopped. Published to
/// `remote` when given (and `running` with it); a claim the remote gave to
/// another machine meanwhile stops the delivery, published too.
fn finish(
    s: &Session,
    d: &Delivery,
    outcome: std::result::Result<(), String>,
    remote: Option<&str>,
) -> Result<Delivered> {
    let actor = s.actor()?;
    let committed = s.commit(|snap| Ok(final_phase(snap, d, outcome.clone(), &actor, phase_time()?)?.into_update()))?;
    let committed = s.fold_journal(committed);
    let applied = published(s, committed, remote);
    let end = applied.value.clone();
    let step = ended_step(end, applied.not_published.as_ref())?;
    if let (Some(remote), Some(lost)) = (remote, lost_claim(&applied.published, &d.issue)) {
        // The merge kept the remote's claim: the phase this process just
        // landed (a release, a handoff) did not survive, so `stopped`
        // follows it rather than leave the shared ledger saying it did.
        return Err(lose(s, &step.delivery, &lost, remote, "after its workflow ran"));
    }
    Ok(Delivered {
        delivery: step.delivery,
        claim: step.claim,
        run: None,
        published: applied.published,
        not_published: applied.not_published,
    })
}

/// `committed`, published to `remote` when given and something landed.
fn published<T>(s: &Session, committed: Committed<T>, remote: Option<&str>) -> Applied<T> {
    match remote {
        Some(remote) if committed.commit.is_some() => s.publish(committed, remote),
        _ => committed.local(),
    }
}

/// The claim moved on: record `stopped` (the claim untouched, published
/// to `remote` when given) and say so.
fn stop(s: &Session, d: &Delivery, moved: Error, remote: Option<&str>) -> Result<Delivered> {
    let hint = format!(
        "delivery {} stopped; `baton delivery status --run-id {}` shows it",
        d.id, d.id
    );
    let stopped = record_stop(s, d, &moved.message(), remote, false)?;
    Err(moved.with_hint(publish_note(hint, &stopped)))
}

/// `hint`, with what publishing the stop did when it failed.
fn publish_note<T>(hint: String, applied: &Applied<T>) -> String {
    match &applied.not_published {
        Some(e) => format!("{hint}; {}", e.message()),
        None => hint,
    }
}

/// Commit the delivery `stopped` on its ledger as the state has it, and
/// publish it to `remote` when given. Never over a final phase — except,
/// with `lost`, the one this process landed as `d` itself, which the merge
/// that lost the claim did not keep.
fn record_stop(s: &Session, d: &Delivery, why: &str, remote: Option<&str>, lost: bool) -> Result<Applied<()>> {
    let actor = s.actor()?;
    let committed = s.commit(|snap| {
        let current = current(snap, d)?;
        if current.phase.is_final() && !(lost && current == *d) {
            return Ok(Update::Unchanged(()));
        }
        let step = delivery::stopped(&current, why, phase_time()?);
        Ok(Update::Write(phase_change(&step, "delivery.stopped", &actor)?, ()))
    })?;
    let committed = s.fold_journal(committed);
    Ok(published(s, committed, remote))
}

/// One phase's commit: the ledger, the claim when the phase changes it,
/// and trailers naming both subjects.
fn phase_change(step: &PhaseCommit, op: &str, actor: &Actor) -> Result<Change> {
    let d = &step.delivery;
    let mut msg = Message::new(&step.summary)
        .trailer(message::OP, op)
        .trailer(message::SUBJECT, format!("delivery/{}", d.id));
    if step.claim.is_some() {
        msg = msg.trailer(message::SUBJECT, format!("claim/{}", d.issue));
    }
    msg = msg
        .trailer(message::ACTOR, actor.to_string())
        .trailer(message::GENERATION, d.generation.to_string());
    let mut change = Change::new(msg);
    if d.phase == Phase::Claimed {
        change.expect_absent(delivery::path(&d.id));
    }
    change.put_json(delivery::path(&d.id), d)?;
    if let Some(claim) = &step.claim {
        change.put_toml(claims::path(&d.issue), claim)?;
    }
    Ok(change)
}
