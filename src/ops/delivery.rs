//! Delivery operations (docs/delivery.md): claim an issue, run its workflow,
//! release or hand off the claim — each phase one commit that changes the
//! claim and the delivery ledger together, fenced by the delivery's holding.
//! Composes [`super::claims`]-style transitions, [`super::pool`] assignment
//! and [`super::workflow`] runs; the rules are in [`crate::delivery`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::pool::{self, Wanted};
use super::workflow::{self, Execution};
use super::{sync, Applied, Session};
use crate::claims::{self, Claim, ClaimRequest, Ctx, Holding};
use crate::clock::{Span, Timestamp};
use crate::delivery::{self, check, Delivery, Phase, Request, Step};
use crate::error::{Error, Result};
use crate::finding::Finding;
use crate::ids::{Actor, ClaimId, RunId};
use crate::learn::stats::DeliveryOutcome;
use crate::state;
use crate::store::{message, Change, Message, Outcome, Snapshot};
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
}

/// The plan of a delivery: the claim it would take, the steps, the end.
pub fn plan(s: &Session, args: &StartArgs) -> Result<Plan> {
    let workflow = workflow::plan(s, &args.workflow)?;
    let snap = s.snapshot()?;
    let actor = s.actor()?;
    let existing = state::claim(&snap, &args.issue)?;
    let already = existing.as_ref().is_some_and(|c| c.is_held_by(&actor));
    let claiming = match take_claim(s, &snap, &actor, existing, args) {
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

/// The claim as the `claimed` phase leaves it: claimed now (with pool
/// capacity), or the holding `--generation` names, checked.
fn take_claim(
    s: &Session,
    snap: &Snapshot<'_>,
    actor: &Actor,
    existing: Option<Claim>,
    args: &StartArgs,
) -> Result<Claim> {
    if let Some(generation) = args.generation {
        let holding = Holding {
            owner: actor.clone(),
            generation,
        };
        return claims::verify(existing.as_ref(), &args.issue, &holding).cloned();
    }
    let config = s.config()?;
    let ctx = Ctx {
        actor,
        now: s.now,
        policy: &config.claims,
    };
    let req = ClaimRequest {
        lease: args.lease,
        note: args.note.clone(),
        force: Default::default(),
    };
    let t = claims::claim(existing, &args.issue, &ctx, &req, || {
        pool::assignment(snap, config, s.now, &args.wanted)
    })?;
    Ok(t.claim)
}

/// `delivery start --execute`: claimed, running, then closed / handed off
/// (success) or failed (the claim stays). Refusals come before any step runs.
pub fn start(s: &Session, args: &StartArgs, how: &Execution) -> Result<Delivered> {
    // An invalid workflow is exit 2 and a refused command exit 1, before anything is claimed.
    let plan = workflow::plan(s, &args.workflow)?;
    workflow::refuse_unless_allowed(&plan.refusals, how)?;
    if args.handoff_to.as_ref() == Some(&s.actor()?) {
        return Err(
            Error::invalid("handoff_to_self", "--handoff-to names the actor who delivers")
                .with_hint("hand it to someone else, or leave --handoff-to out to release on success"),
        );
    }
    let publish_to = sync::publish_target(s, args.sync)?;
    let actor = s.actor()?;
    let id = workflow::fresh_id(s, delivery::ID_PREFIX, delivery::path)?;
    let request = Request {
        id: id.clone(),
        issue: args.issue.clone(),
        workflow: plan.located.display.clone(),
        handoff_to: args.handoff_to.clone(),
        note: args.note.clone(),
    };
    let Some(remote) = publish_to else {
        return start_local(s, args, &plan, request, how);
    };
    // Published (`--sync`, `sync.auto`): the claim must reach the remote
    // before any step runs, so each phase is a write of its own here.
    let actor = actor.to_string();
    sync::sync(&s.store, &remote, &actor)?;
    let opened = commit(s, "delivery.claimed", true, |snap| {
        let existing = state::claim(snap, &args.issue)?;
        let claim = take_claim(s, snap, &s.actor()?, existing, args)?;
        Ok(delivery::open(request.clone(), &claim, s.now))
    })?;
    let report = sync::sync(&s.store, &remote, &actor)?;
    if let Some(lost) = report.lost.iter().find(|l| l.id == args.issue.as_str()) {
        let why = format!("claim lost on sync: {}", lost.message());
        commit(s, "delivery.stopped", false, |_| {
            Ok(delivery::stopped(&opened.value.delivery, &why, s.now))
        })?;
        return Err(Error::refused("claim_lost", lost.message()).with_hint(format!(
            "another machine published a claim on {} first; nothing ran",
            args.issue
        )));
    }
    let finished = run_and_finish(s, &opened.value.delivery, &plan, None, how)?;
    sync::sync(&s.store, &remote, &actor)?;
    Ok(finished)
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
    let running: Arc<Mutex<Option<Delivery>>> = Arc::default();
    let ended: Arc<Mutex<Option<Ended>>> = Arc::default();
    let before = {
        let (running, actor, run_id) = (running.clone(), actor.clone(), run_id.clone());
        Box::new(move |snap: &Snapshot<'_>| {
            let existing = state::claim(snap, &args.issue)?;
            let claim = take_claim(s, snap, &actor, existing, args)?;
            let opened = delivery::open(request.clone(), &claim, s.now);
            let started = delivery::running(&opened.delivery, opened.claim.as_ref(), &run_id, s.now)?;
            let chain = vec![
                phase_change(&opened, "delivery.claimed", &actor)?,
                phase_change(&started, "delivery.running", &actor)?,
            ];
            *lock(&running) = Some(started.delivery);
            Ok(chain)
        })
    };
    let after = {
        let (running, ended, now) = (running.clone(), ended.clone(), s.now);
        Box::new(move |snap: &Snapshot<'_>, run: &Run| {
            let Some(d) = lock(&running).clone() else {
                return Ok(Vec::new());
            };
            let (step, change, moved) = final_phase(snap, &d, outcome_of(run), &actor, now)?;
            *lock(&ended) = Some((step, moved));
            Ok(vec![change])
        })
    };
    let wrap = workflow::Wrap { before, after };
    let run = workflow::run_wrapped(s, plan, run_id, how, Some(wrap))?;
    let Some((step, moved)) = lock(&ended).take() else {
        return Err(
            Error::failed("delivery_unfinished", "the delivery's final phase was not recorded").with_hint(
                "`baton delivery status` shows it; `baton delivery resume --run-id <id> --execute` finishes it",
            ),
        );
    };
    if let Some(moved) = moved {
        return Err(moved.with_hint(format!(
            "delivery {} stopped; `baton delivery status --run-id {}` shows it",
            step.delivery.id, step.delivery.id
        )));
    }
    Ok(Delivered {
        delivery: step.delivery,
        claim: step.claim,
        run: Some(run),
    })
}

/// The final phase's commit on `snap`: closed / handed off, or failed (the
/// outcome counted for the role, for `learn route`); `stopped` with the
/// refusal when the claim moved on.
fn final_phase(
    snap: &Snapshot<'_>,
    d: &Delivery,
    outcome: std::result::Result<(), String>,
    actor: &Actor,
    now: crate::clock::Timestamp,
) -> Result<(Step, Change, Option<Error>)> {
    let claim = state::claim(snap, &d.issue)?;
    let (op, counted, decided) = match &outcome {
        Ok(()) => (
            "delivery.finished",
            DeliveryOutcome::Closed,
            delivery::succeeded(d, claim.as_ref(), now),
        ),
        Err(why) => (
            "delivery.failed",
            DeliveryOutcome::Failed,
            delivery::failed(d, claim.as_ref(), why, now),
        ),
    };
    match decided {
        Ok(step) => {
            let mut change = phase_change(&step, op, actor)?;
            super::learn::count_delivery(snap, &mut change, step.delivery.role.as_ref(), counted);
            Ok((step, change, None))
        }
        Err(moved) => {
            let step = delivery::stopped(d, &moved.message, now);
            let change = phase_change(&step, "delivery.stopped", actor)?;
            Ok((step, change, Some(moved)))
        }
    }
}

/// The final phase as it landed, and the refusal when it was a stop.
type Ended = (Step, Option<Error>);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Phase `running` (fenced), the workflow run, then the final phase.
/// `resume`: continue this workflow run instead of starting one.
fn run_and_finish(
    s: &Session,
    d: &Delivery,
    plan: &workflow::Plan,
    resume: Option<workflow::ResumePlan>,
    how: &Execution,
) -> Result<Delivered> {
    let run_id = match (&resume, &d.workflow_run) {
        (Some(r), _) => r.run.id.clone(),
        (None, Some(id)) if d.phase == Phase::Running => id.clone(),
        (None, _) => workflow::fresh_id(s, "wf", crate::workflow::ledger::path)?,
    };
    let d = match d.phase {
        Phase::Running if d.workflow_run.as_ref() == Some(&run_id) => d.clone(),
        _ => {
            let running = commit(s, "delivery.running", true, |snap| {
                let claim = state::claim(snap, &d.issue)?;
                delivery::running(d, claim.as_ref(), &run_id, s.now)
            });
            match running {
                Ok(r) => r.value.delivery,
                Err(e) if e.code == "claim_moved" => return stop(s, d, e),
                Err(e) => return Err(e),
            }
        }
    };
    let ran = match resume {
        Some(r) => workflow::resume(s, r, how),
        None => workflow::run_as(s, plan, run_id, how),
    };
    let run = match ran {
        Ok(run) => run,
        Err(e) => {
            // The run could not go on: the claim stays, the ledger says why.
            let why = format!("the workflow run could not complete: {}", e.message);
            let _ = finish(s, &d, Err(why));
            return Err(e);
        }
    };
    let mut delivered = finish(s, &d, outcome_of(&run))?;
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
/// failed → failed; a claim that moved on → stopped.
fn finish(s: &Session, d: &Delivery, outcome: std::result::Result<(), String>) -> Result<Delivered> {
    let (op, result) = match &outcome {
        Ok(()) => ("delivery.finished", None),
        Err(why) => ("delivery.failed", Some(why.clone())),
    };
    // The workflow's end counts for the role that ran it (`learn route`).
    let counted = match &outcome {
        Ok(()) => DeliveryOutcome::Closed,
        Err(_) => DeliveryOutcome::Failed,
    };
    let done = commit_counted(s, op, Some(counted), |snap| {
        let claim = state::claim(snap, &d.issue)?;
        match &result {
            None => delivery::succeeded(d, claim.as_ref(), s.now),
            Some(why) => delivery::failed(d, claim.as_ref(), why, s.now),
        }
    });
    match done {
        Ok(applied) => Ok(Delivered {
            delivery: applied.value.delivery,
            claim: applied.value.claim,
            run: None,
        }),
        Err(e) if e.code == "claim_moved" => stop(s, d, e),
        Err(e) => Err(e),
    }
}

/// The claim moved on: record `stopped` (the claim untouched) and say so.
fn stop(s: &Session, d: &Delivery, moved: Error) -> Result<Delivered> {
    let why = moved.message.clone();
    commit(s, "delivery.stopped", true, |_| Ok(delivery::stopped(d, &why, s.now)))?;
    Err(moved.with_hint(format!(
        "delivery {} stopped; `baton delivery status --run-id {}` shows it",
        d.id, d.id
    )))
}

/// Commit one phase: `decide` sees the state (the claim, for the fence)
/// inside the compare-and-swap; the claim and the ledger land together.
/// `publish`: with `sync.auto`, publish it afterwards.
fn commit(
    s: &Session,
    op: &str,
    publish: bool,
    decide: impl Fn(&Snapshot<'_>) -> Result<Step>,
) -> Result<Applied<Step>> {
    if publish {
        return commit_counted(s, op, None, decide);
    }
    let actor = s.actor()?;
    s.commit(|snap| {
        let step = decide(snap)?;
        let change = phase_change(&step, op, &actor)?;
        Ok(Outcome::Write(change, step))
    })
}

/// Commit one phase and publish it (`sync.auto`); `counted`: the delivery's
/// outcome, counted for its role in `learn/routes.toml` in the same commit.
fn commit_counted(
    s: &Session,
    op: &str,
    counted: Option<DeliveryOutcome>,
    decide: impl Fn(&Snapshot<'_>) -> Result<Step>,
) -> Result<Applied<Step>> {
    let actor = s.actor()?;
    s.apply(|snap: &Snapshot<'_>| {
        let step = decide(snap)?;
        let mut change = phase_change(&step, op, &actor)?;
        if let Some(outcome) = counted {
            super::learn::count_delivery(snap, &mut change, step.delivery.role.as_ref(), outcome);
        }
        Ok(Outcome::Write(change, step))
    })
}

/// One phase's commit: the ledger, the claim when the phase changes it,
/// and trailers naming both subjects.
fn phase_change(step: &Step, op: &str, actor: &Actor) -> Result<Change> {
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

/// One delivery; refused when there is none.
pub fn get(s: &Session, id: &RunId) -> Result<Delivery> {
    state::delivery(&s.snapshot()?, id)?.ok_or_else(|| {
        Error::refused("no_delivery", format!("there is no delivery {id}"))
            .with_hint("`baton delivery status` lists recent deliveries")
    })
}

/// A delivery with its claim and workflow run, as they are now.
pub fn status(s: &Session, id: &RunId) -> Result<Delivered> {
    let snap = s.snapshot()?;
    let delivery = state::delivery(&snap, id)?.ok_or_else(|| {
        Error::refused("no_delivery", format!("there is no delivery {id}"))
            .with_hint("`baton delivery status` lists recent deliveries")
    })?;
    let claim = state::claim(&snap, &delivery.issue)?;
    let run = match &delivery.workflow_run {
        Some(r) => state::run(&snap, r)?,
        None => None,
    };
    Ok(Delivered { delivery, claim, run })
}

/// Recent deliveries, newest first, and a finding for each ledger that
/// cannot be read (listed beside the others, never instead of them).
pub fn list(s: &Session, limit: usize) -> Result<(Vec<Delivery>, Vec<Finding>)> {
    let (ledgers, broken) = state::readable_deliveries(&s.snapshot()?)?;
    let unreadable = crate::doctor::broken(&broken, "delivery.files");
    Ok((ledgers.into_iter().take(limit).collect(), unreadable))
}

/// Load a delivery its owner acts on.
fn owned(s: &Session, id: &RunId) -> Result<Delivery> {
    let d = get(s, id)?;
    delivery::require_owner(&d, &s.actor()?)?;
    Ok(d)
}

/// `delivery handoff --to`: offer the claim of an unfinished delivery.
pub fn handoff(s: &Session, id: &RunId, to: &Actor) -> Result<Delivered> {
    let d = owned(s, id)?;
    let applied = commit(s, "delivery.handoff", true, |snap| {
        let current = state::delivery(snap, id)?.unwrap_or_else(|| d.clone());
        delivery::handoff(&current, state::claim(snap, &d.issue)?.as_ref(), to, s.now)
    })?;
    Ok(Delivered {
        delivery: applied.value.delivery,
        claim: applied.value.claim,
        run: None,
    })
}

/// `delivery close [--abandon]`: release the claim of a failed delivery,
/// or give an unfinished one up (with `abandon`, the reason).
pub fn close(s: &Session, id: &RunId, abandon: Option<&str>) -> Result<Delivered> {
    let d = owned(s, id)?;
    let op = if abandon.is_some() {
        "delivery.abandoned"
    } else {
        "delivery.closed"
    };
    let applied = commit(s, op, true, |snap| {
        let current = state::delivery(snap, id)?.unwrap_or_else(|| d.clone());
        let claim = state::claim(snap, &d.issue)?;
        match abandon {
            Some(why) => delivery::abandon(&current, claim.as_ref(), why, s.now),
            None => delivery::close(&current, claim.as_ref(), s.now),
        }
    })?;
    Ok(Delivered {
        delivery: applied.value.delivery,
        claim: applied.value.claim,
        run: None,
    })
}

/// What `delivery resume` would do from the recorded phase.
#[derive(Debug, Clone)]
pub enum Resume {
    /// A final phase: nothing to do.
    Nothing,
    /// Start the workflow (the crash came before it started).
    Start(workflow::Plan),
    /// Continue the workflow run from its failed or interrupted steps.
    Continue(workflow::Plan, Box<workflow::ResumePlan>),
    /// The workflow run ended well; only the final phase is missing.
    Finish(Run),
}

/// The delivery and what resuming it does.
pub fn resume_plan(s: &Session, id: &RunId) -> Result<(Delivery, Resume)> {
    let d = owned(s, id)?;
    if d.phase.is_final() {
        return Ok((d, Resume::Nothing));
    }
    let snap = s.snapshot()?;
    delivery::fence(&d, state::claim(&snap, &d.issue)?.as_ref())?;
    let definition = s.base_dir().join(&d.workflow);
    let plan = workflow::plan(s, &definition.display().to_string())?;
    let run = match &d.workflow_run {
        Some(r) => state::run(&snap, r)?,
        None => None,
    };
    let action = match run {
        None => Resume::Start(plan),
        Some(run) if run.status == RunStatus::Succeeded => Resume::Finish(run),
        Some(run) => {
            let resume = workflow::resume_plan(s, &run.id)?;
            if resume.selected.is_empty() {
                Resume::Finish(run)
            } else {
                Resume::Continue(plan, Box::new(resume))
            }
        }
    };
    Ok((d, action))
}

/// `delivery resume --execute`: continue from the recorded phase.
pub fn resume(s: &Session, d: &Delivery, action: Resume, how: &Execution) -> Result<Delivered> {
    match action {
        Resume::Nothing => Ok(Delivered {
            delivery: d.clone(),
            claim: None,
            run: None,
        }),
        Resume::Start(plan) => {
            workflow::refuse_unless_allowed(&plan.refusals, how)?;
            run_and_finish(s, d, &plan, None, how)
        }
        Resume::Continue(plan, resume) => {
            workflow::refuse_unless_allowed(&resume.refusals, how)?;
            run_and_finish(s, d, &plan, Some(*resume), how)
        }
        Resume::Finish(run) => {
            let mut done = finish(s, d, outcome_of(&run))?;
            done.run = Some(run);
            Ok(done)
        }
    }
}

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
        for f in findings.iter_mut().filter(|f| f.check == "delivery.claim") {
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
            return Ok(Outcome::Unchanged(()));
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
        Ok(Outcome::Write(change, ()))
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
