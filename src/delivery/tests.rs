use crate::error::{code, Error};
use std::collections::BTreeMap;

use super::check::{check, Fix};
use super::*;
use crate::claims::{ClaimRequest, ClaimState};
use crate::testing::{actor, at};

fn issue() -> ClaimId {
    ClaimId::parse("T-1").unwrap()
}

fn claimed_by(owner: &str) -> Claim {
    let policy = claims::Policy::default();
    let a = actor(owner);
    let ctx = Ctx {
        actor: &a,
        now: at("2026-01-01T00:00:00Z"),
        policy: &policy,
    };
    claims::claim(None, &issue(), &ctx, &ClaimRequest::default(), || {
        Ok::<_, claims::Refusal>(None)
    })
    .unwrap()
    .claim
}

fn request(handoff_to: Option<&str>) -> Request {
    Request {
        id: RunId::parse("dl-20260101T000000Z-abcdef").unwrap(),
        issue: issue(),
        workflow: ".baton/workflows/ship.toml".into(),
        handoff_to: handoff_to.map(actor),
        note: None,
    }
}

fn run_id() -> RunId {
    RunId::parse("wf-20260101T000001Z-000001").unwrap()
}

#[test]
fn a_delivery_runs_then_closes_and_releases_the_claim() {
    let now = at("2026-01-01T00:00:00Z");
    let opened = open(request(None), &claimed_by("agent:alice"), now);
    let claim = opened.claim.unwrap();
    assert_eq!(
        claim.delivery.as_ref().map(|m| (&m.id, m.phase)),
        Some((&opened.delivery.id, Phase::Claimed))
    );
    assert_eq!(opened.delivery.phase, Phase::Claimed);
    assert_eq!(opened.delivery.generation, claim.generation);

    let run = running(&opened.delivery, Some(&claim), &run_id(), now).unwrap();
    assert_eq!(run.delivery.phase, Phase::Running);
    assert_eq!(run.delivery.workflow_run, Some(run_id()));
    let claim = run.claim.unwrap();

    let done = succeeded(&run.delivery, Some(&claim), now).unwrap();
    assert_eq!(done.delivery.phase, Phase::Closed);
    assert_eq!(done.claim.unwrap().state, ClaimState::Completed);
    let phases: Vec<Phase> = done.delivery.phases.iter().map(|p| p.phase).collect();
    assert_eq!(phases, [Phase::Claimed, Phase::Running, Phase::Closed]);
}

#[test]
fn success_with_a_handoff_leaves_the_claim_pending_for_the_receiver() {
    let now = at("2026-01-01T00:00:00Z");
    let opened = open(request(Some("human:dana")), &claimed_by("agent:alice"), now);
    let run = running(&opened.delivery, opened.claim.as_ref(), &run_id(), now).unwrap();
    let done = succeeded(&run.delivery, run.claim.as_ref(), now).unwrap();
    assert_eq!(done.delivery.phase, Phase::HandedOff);
    let claim = done.claim.unwrap();
    assert_eq!(claim.state, ClaimState::HandoffPending);
    assert_eq!(claim.handoff_to, Some(actor("human:dana")));
    assert_eq!(claim.owner, actor("agent:alice"), "the owner keeps it until accepted");
}

#[test]
fn failure_keeps_the_claim_and_close_or_abandon_release_it() {
    let now = at("2026-01-01T00:00:00Z");
    let opened = open(request(None), &claimed_by("agent:alice"), now);
    let failed_step = failed(&opened.delivery, opened.claim.as_ref(), "step test failed", now).unwrap();
    let claim = failed_step.claim_again();
    assert_eq!(claim.state, ClaimState::Active);
    assert!(claim.reason.as_deref().unwrap().contains("step test failed"));
    assert_eq!(failed_step.delivery.phase, Phase::Failed);

    let closed = close(&failed_step.delivery, Some(&claim), now).unwrap();
    assert_eq!(closed.delivery.phase, Phase::Closed);
    assert_eq!(closed.claim.unwrap().state, ClaimState::Completed);

    let abandoned = abandon(&failed_step.delivery, Some(&claim), "not needed", now).unwrap();
    assert_eq!(abandoned.delivery.phase, Phase::Abandoned);
    assert_eq!(abandoned.delivery.reason.as_deref(), Some("not needed"));
    // Closing is only for a failure; a finished delivery takes nothing more.
    assert_eq!(
        Error::from(close(&opened.delivery, opened.claim.as_ref(), now).unwrap_err()).code,
        code::WRONG_PHASE
    );
    assert_eq!(
        Error::from(abandon(&closed.delivery, None, "again", now).unwrap_err()).code,
        code::DELIVERY_FINISHED
    );
}

impl PhaseCommit {
    /// The claim of a step, for chaining in tests.
    fn claim_again(&self) -> Claim {
        self.claim.clone().unwrap()
    }
}

#[test]
fn a_claim_that_moved_on_fences_every_later_phase() {
    let now = at("2026-01-01T00:00:00Z");
    let opened = open(request(None), &claimed_by("agent:alice"), now);
    // Taken over by bob: a new generation.
    let mut taken = opened.claim.clone().unwrap();
    taken.owner = actor("agent:bob");
    taken.generation += 1;
    let err = Error::from(running(&opened.delivery, Some(&taken), &run_id(), now).unwrap_err());
    assert_eq!(err.code, code::CLAIM_MOVED);
    assert!(err.message().contains("agent:bob"), "{}", err.message());
    // Lost in a sync merge: same generation, another owner — fenced too.
    let mut lost = opened.claim.clone().unwrap();
    lost.owner = actor("agent:bob");
    assert_eq!(
        Error::from(succeeded(&opened.delivery, Some(&lost), now).unwrap_err()).code,
        code::CLAIM_MOVED
    );
    // Released by hand: not held any more.
    let mut released = opened.claim.clone().unwrap();
    released.state = ClaimState::Completed;
    assert_eq!(
        Error::from(failed(&opened.delivery, Some(&released), "x", now).unwrap_err()).code,
        code::CLAIM_MOVED
    );
    let stop = stopped(&opened.delivery, "claim moved on", now);
    assert!(stop.claim.is_none(), "a stop leaves someone else's claim alone");
    assert_eq!(stop.delivery.phase, Phase::Stopped);
}

#[test]
fn doctor_finds_drift_between_ledger_claim_and_run() {
    let now = at("2026-01-01T00:00:00Z");
    let opened = open(request(None), &claimed_by("agent:alice"), now);
    let run = running(&opened.delivery, opened.claim.as_ref(), &run_id(), now).unwrap();
    let path = super::path(&run.delivery.id);
    let deliveries = vec![(path, run.delivery.clone())];
    let mut claims = BTreeMap::new();
    claims.insert(issue(), run.claim.clone().unwrap());
    // Running, and its workflow run never started: resume finishes it.
    let (found, fixes) = check(&deliveries, &claims, &BTreeMap::new());
    assert!(found.iter().any(|f| f.check == "delivery.run"), "{found:?}");
    assert!(fixes.is_empty());
    // The claim was force-taken: the fix records the delivery stopped.
    let mut taken = run.claim.clone().unwrap();
    taken.owner = actor("agent:bob");
    taken.generation += 1;
    claims.insert(issue(), taken);
    let (found, fixes) = check(&deliveries, &claims, &BTreeMap::new());
    assert!(found.iter().any(|f| f.check == "delivery.claim"), "{found:?}");
    assert!(matches!(&fixes[..], [Fix::Stop { .. }]), "{fixes:?}");
}

#[test]
fn one_delivery_per_claim_while_it_is_unfinished_and_of_the_holding() {
    let now = at("2026-01-01T00:00:00Z");
    let opened = open(request(None), &claimed_by("agent:alice"), now);
    let claim = opened.claim.clone().unwrap();
    // Unfinished, of the claim's holding: refused, whoever asks next.
    let refused = Error::from(one_per_claim(&claim, Some(&opened.delivery)).unwrap_err());
    assert_eq!(refused.code, code::DELIVERY_ACTIVE);
    assert!(refused.hint.contains("--abandon"), "{}", refused.hint);
    let failed_step = failed(&opened.delivery, Some(&claim), "test (exit 1)", now).unwrap();
    assert!(
        one_per_claim(&claim, Some(&failed_step.delivery)).is_err(),
        "failed is unfinished"
    );
    // Final, missing, or of an earlier holding: history.
    let abandoned = abandon(&opened.delivery, Some(&claim), "no", now).unwrap();
    assert!(one_per_claim(&claim, Some(&abandoned.delivery)).is_ok());
    assert!(one_per_claim(&claim, None).is_ok());
    let mut retaken = claim.clone();
    retaken.owner = actor("agent:bob");
    retaken.generation += 1;
    assert!(one_per_claim(&retaken, Some(&opened.delivery)).is_ok());
}

#[test]
fn doctor_flags_a_ledger_its_claim_does_not_name_and_a_workflow_that_is_not_named() {
    let now = at("2026-01-01T00:00:00Z");
    let opened = open(request(None), &claimed_by("agent:alice"), now);
    let mut claims = BTreeMap::new();
    claims.insert(issue(), opened.claim.clone().unwrap());
    let mut stray = opened.delivery.clone();
    stray.id = RunId::parse("dl-20260101T000000Z-0f0f0f").unwrap();
    stray.workflow = "/elsewhere/evil.toml".into();
    let deliveries = vec![
        (super::path(&opened.delivery.id), opened.delivery.clone()),
        (super::path(&stray.id), stray.clone()),
    ];
    let (found, fixes) = check(&deliveries, &claims, &BTreeMap::new());
    let of = |check: &str| found.iter().filter(|f| f.check == check).collect::<Vec<_>>();
    assert_eq!(of("delivery.mark").len(), 1, "{found:?}");
    assert!(of("delivery.mark")[0].message.contains("0f0f0f"));
    assert_eq!(of("delivery.workflow").len(), 1, "{found:?}");
    assert!(
        matches!(&fixes[..], [Fix::Stop { delivery, .. }] if delivery == &stray.id),
        "{fixes:?}"
    );
}
