//! Delivery (docs/delivery.md): one flow that claims an issue, runs a workflow
//! and finishes the claim — released on success (or handed off), kept with
//! its owner on failure. The ledger (`runs/delivery/yyyy/mm/dd/<id>.json`)
//! records each phase; every phase is one commit that changes the claim and
//! the ledger together, so after any crash they agree.
//!
//! Pure: the transitions take the delivery and the claim as loaded and
//! return both as they become (or a refusal); `ops::delivery` commits them.
//! Every phase after the first checks the delivery's holding (owner and
//! generation) against the claim first: a claim that moved on stops the
//! delivery instead of being acted on.

pub mod check;
mod refusal;
pub mod row;

pub use refusal::Refusal;

use serde::{Deserialize, Serialize};

pub use crate::claims::DeliveryPhase as Phase;
use crate::claims::{self, Claim, Ctx, DeliveryMark, Force, Holding};
use crate::clock::Timestamp;
use crate::codec::SCHEMA;
use crate::ids::{Actor, AgentId, ClaimId, Role, RunId};

pub const DIR: &str = "runs/delivery";

/// The prefix of delivery run ids (`dl-<yyyymmddTHHMMSSZ>-<6 hex>`).
pub const ID_PREFIX: &str = "dl";

pub fn path(id: &RunId) -> String {
    format!("{DIR}/{}/{id}.json", id.date_path())
}

/// One entry of the ledger's phase history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseRecord {
    pub phase: Phase,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One delivery ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub schema: u32,
    pub id: RunId,
    /// The claim this delivery acts on.
    pub issue: ClaimId,
    /// The workflow definition, as located (repository-relative when inside the work tree).
    pub workflow: String,
    pub phase: Phase,
    /// The holding the delivery acts for.
    pub owner: Actor,
    pub generation: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// On success, offer the claim to this actor instead of releasing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff_to: Option<Actor>,
    /// The workflow run of the `running` phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_run: Option<RunId>,
    /// Why it failed, stopped or was abandoned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub started_at: Timestamp,
    pub updated_at: Timestamp,
    pub phases: Vec<PhaseRecord>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// What a new delivery is for.
#[derive(Debug, Clone)]
pub struct Request {
    pub id: RunId,
    pub issue: ClaimId,
    pub workflow: String,
    pub handoff_to: Option<Actor>,
    pub note: Option<String>,
}

/// A phase's commit: the claim as it becomes (`None`: untouched, the claim
/// is not the delivery's any more) and the ledger.
#[derive(Debug, Clone)]
pub struct PhaseCommit {
    pub claim: Option<Claim>,
    pub delivery: Delivery,
    /// The commit message's first line.
    pub summary: String,
}

impl Delivery {
    pub fn holding(&self) -> Holding {
        Holding {
            owner: self.owner.clone(),
            generation: self.generation,
        }
    }

    fn enter(&mut self, phase: Phase, now: Timestamp, reason: Option<String>) {
        self.phase = phase;
        self.updated_at = now;
        self.reason.clone_from(&reason);
        self.phases.push(PhaseRecord { phase, at: now, reason });
    }

    /// The next phase may follow only from an unfinished delivery.
    fn require_open(&self, what: &'static str) -> Result<(), Refusal> {
        if self.phase.is_final() {
            return Err(Refusal::Finished {
                id: self.id.clone(),
                phase: self.phase,
                what,
            });
        }
        Ok(())
    }

    /// The phase's commit; the claim, when it changes, records the phase.
    fn step(self, mut claim: Option<Claim>, verb: &str) -> PhaseCommit {
        if let Some(c) = &mut claim {
            c.delivery = Some(DeliveryMark {
                id: self.id.clone(),
                phase: self.phase,
            });
        }
        let summary = format!("delivery: {} {verb} ({})", self.id, self.issue);
        PhaseCommit {
            claim,
            delivery: self,
            summary,
        }
    }
}

/// Phase `claimed`: the ledger of a new delivery acting on `claim` (just
/// claimed, or a holding the caller already had), and the claim marked with it.
pub fn open(req: Request, claim: &Claim, now: Timestamp) -> PhaseCommit {
    let mut claim = claim.clone();
    claim.updated_at = now;
    let delivery = Delivery {
        schema: SCHEMA,
        id: req.id,
        issue: req.issue,
        workflow: req.workflow,
        phase: Phase::Claimed,
        owner: claim.owner.clone(),
        generation: claim.generation,
        agent: claim.agent.clone(),
        role: claim.role.clone(),
        handoff_to: req.handoff_to,
        workflow_run: None,
        reason: None,
        note: req.note,
        started_at: now,
        updated_at: now,
        phases: vec![PhaseRecord {
            phase: Phase::Claimed,
            at: now,
            reason: None,
        }],
        extra: Default::default(),
    };
    delivery.step(Some(claim), "claimed")
}

/// The claim, if it is still this delivery's holding; the refusal says who
/// holds it now.
pub fn fence<'c>(delivery: &Delivery, claim: Option<&'c Claim>) -> std::result::Result<&'c Claim, claims::Moved> {
    claims::verify(claim, &delivery.issue, &delivery.holding())
}

/// One delivery per claim: refused while `claim` (as it is before this
/// delivery takes it) carries `marked`, the delivery its mark names, and
/// that delivery is unfinished and still acts for the claim's holding —
/// whoever asks, its owner included (two starts at once would run the
/// workflow twice). A mark whose delivery ended, or whose holding the claim
/// has moved on from, is history.
pub fn one_per_claim(claim: &Claim, marked: Option<&Delivery>) -> Result<(), Refusal> {
    let Some(d) = marked else { return Ok(()) };
    if d.phase.is_final() || d.issue != claim.id || fence(d, Some(claim)).is_err() {
        return Ok(());
    }
    Err(Refusal::Active {
        claim: claim.id.clone(),
        delivery: d.id.clone(),
        phase: d.phase,
        owner: d.owner.clone(),
    })
}

/// Phase `running`: the workflow run `run` is (about to be) under way.
pub fn running(
    delivery: &Delivery,
    claim: Option<&Claim>,
    run: &RunId,
    now: Timestamp,
) -> Result<PhaseCommit, Refusal> {
    delivery.require_open("run")?;
    if delivery.phase == Phase::Running && delivery.workflow_run.as_ref() == Some(run) {
        return Err(Refusal::AlreadyRunning {
            id: delivery.id.clone(),
            run: run.clone(),
        });
    }
    let mut claim = fence(delivery, claim)?.clone();
    claim.updated_at = now;
    let mut next = delivery.clone();
    next.workflow_run = Some(run.clone());
    next.enter(Phase::Running, now, None);
    Ok(next.step(Some(claim), &format!("running {run}")))
}

/// The workflow run ended well: release the claim (`closed`), or offer it
/// to `handoff_to` (`handed_off`).
pub fn succeeded(delivery: &Delivery, claim: Option<&Claim>, now: Timestamp) -> Result<PhaseCommit, Refusal> {
    delivery.require_open("finished")?;
    let current = fence(delivery, claim)?;
    let policy = claims::Policy::default();
    let ctx = owner_ctx(delivery, now, &policy);
    let mut next = delivery.clone();
    match &delivery.handoff_to {
        Some(to) => {
            let note = Some(format!("delivery {} succeeded", delivery.id));
            let t = claims::handoff(Some(current), &delivery.issue, &ctx, to, note)?;
            next.enter(Phase::HandedOff, now, None);
            Ok(next.step(Some(t.claim), &format!("handed off to {to}")))
        }
        None => {
            let t = claims::release(Some(current), &delivery.issue, &ctx, &Force::default())?;
            next.enter(Phase::Closed, now, None);
            Ok(next.step(Some(t.claim), "closed"))
        }
    }
}

/// The workflow run failed (or was stopped): the claim stays with its
/// owner, touched, with the reason.
pub fn failed(delivery: &Delivery, claim: Option<&Claim>, why: &str, now: Timestamp) -> Result<PhaseCommit, Refusal> {
    delivery.require_open("marked failed")?;
    let mut claim = fence(delivery, claim)?.clone();
    claim.updated_at = now;
    claim.reason = Some(format!("delivery {} failed: {why}", delivery.id));
    let mut next = delivery.clone();
    next.enter(Phase::Failed, now, Some(why.to_owned()));
    Ok(next.step(Some(claim), "failed"))
}

/// The claim moved on: the delivery stops, the claim is left alone.
pub fn stopped(delivery: &Delivery, why: &str, now: Timestamp) -> PhaseCommit {
    let mut next = delivery.clone();
    next.enter(Phase::Stopped, now, Some(why.to_owned()));
    next.step(None, "stopped")
}

/// `delivery close`: after a failure fixed by other means, release the claim.
pub fn close(delivery: &Delivery, claim: Option<&Claim>, now: Timestamp) -> Result<PhaseCommit, Refusal> {
    if delivery.phase != Phase::Failed {
        return Err(Refusal::NotFailed {
            id: delivery.id.clone(),
            phase: delivery.phase,
        });
    }
    finish_released(
        delivery,
        claim,
        now,
        Phase::Closed,
        Some("closed after a fixed failure".into()),
    )
}

/// `delivery close --abandon`: release the claim and record why.
pub fn abandon(delivery: &Delivery, claim: Option<&Claim>, why: &str, now: Timestamp) -> Result<PhaseCommit, Refusal> {
    delivery.require_open("abandoned")?;
    finish_released(delivery, claim, now, Phase::Abandoned, Some(why.to_owned()))
}

fn finish_released(
    delivery: &Delivery,
    claim: Option<&Claim>,
    now: Timestamp,
    phase: Phase,
    reason: Option<String>,
) -> Result<PhaseCommit, Refusal> {
    let current = fence(delivery, claim)?;
    let policy = claims::Policy::default();
    let ctx = owner_ctx(delivery, now, &policy);
    let t = claims::release(Some(current), &delivery.issue, &ctx, &Force::default())?;
    let mut next = delivery.clone();
    next.enter(phase, now, reason);
    Ok(next.step(Some(t.claim), phase.as_str()))
}

/// `delivery handoff --to`: offer the claim of an unfinished delivery
/// (not while its workflow runs) to someone else.
pub fn handoff(delivery: &Delivery, claim: Option<&Claim>, to: &Actor, now: Timestamp) -> Result<PhaseCommit, Refusal> {
    delivery.require_open("handed off")?;
    if delivery.phase == Phase::Running {
        return Err(Refusal::Running(delivery.id.clone()));
    }
    let current = fence(delivery, claim)?;
    let policy = claims::Policy::default();
    let ctx = owner_ctx(delivery, now, &policy);
    let note = Some(format!("delivery {} handed off", delivery.id));
    let t = claims::handoff(Some(current), &delivery.issue, &ctx, to, note)?;
    let mut next = delivery.clone();
    next.handoff_to = Some(to.clone());
    next.enter(Phase::HandedOff, now, None);
    Ok(next.step(Some(t.claim), &format!("handed off to {to}")))
}

/// The delivery's owner acting on its claim. The claims policy only matters
/// to claiming and renewing (leases), which no phase after the first does.
fn owner_ctx<'a>(delivery: &'a Delivery, now: Timestamp, policy: &'a claims::Policy) -> Ctx<'a> {
    Ctx {
        actor: &delivery.owner,
        now,
        policy,
    }
}

/// Only the delivery's owner acts on it.
pub fn require_owner(delivery: &Delivery, actor: &Actor) -> Result<(), Refusal> {
    if &delivery.owner == actor {
        return Ok(());
    }
    Err(Refusal::NotOwner {
        id: delivery.id.clone(),
        owner: delivery.owner.clone(),
        actor: actor.clone(),
        issue: delivery.issue.clone(),
    })
}

#[cfg(test)]
mod tests;
