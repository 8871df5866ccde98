use super::*;
use crate::error::{code, Error};
use crate::testing::{actor, at};

/// A refusal as the user meets it: its code, message and exit code are
/// given where it becomes the user's error (`ops::refusals`).
trait AsUser {
    fn user(self) -> Error;
}

impl AsUser for Refusal {
    fn user(self) -> Error {
        Error::from(self)
    }
}

fn id() -> ClaimId {
    ClaimId::parse("T-1").unwrap()
}

fn ctx<'a>(a: &'a Actor, policy: &'a Policy) -> Ctx<'a> {
    Ctx {
        actor: a,
        now: at("2026-01-01T00:00:00Z"),
        policy,
    }
}

fn claimed(by: &Actor, policy: &Policy) -> Claim {
    claim(None, &id(), &ctx(by, policy), &ClaimRequest::default(), || {
        Ok::<_, Refusal>(None)
    })
    .unwrap()
    .claim
}

#[test]
fn shard_path_is_sha1_prefix() {
    // `printf T-42 | sha1sum` = ae25d54f...: the layout the git-plumbing
    // baseline uses too, and the one every stored claim already has.
    let p = path(&ClaimId::parse("T-42").unwrap());
    assert_eq!(p, "claims/ae/T-42.toml");
    assert_eq!(
        path(&ClaimId::parse("bench-00000").unwrap()),
        "claims/a6/bench-00000.toml"
    );
}

#[test]
fn claim_repeat_by_owner_is_a_no_op_and_others_are_refused() {
    let policy = Policy::default();
    let (alice, bob) = (actor("agent:alice"), actor("agent:bob"));
    let c = claimed(&alice, &policy);
    assert_eq!(c.generation, 1);
    let again = claim(
        Some(c.clone()),
        &id(),
        &ctx(&alice, &policy),
        &ClaimRequest::default(),
        || Ok::<_, Refusal>(None),
    )
    .unwrap();
    assert!(!again.changed);
    let err = claim(
        Some(c.clone()),
        &id(),
        &ctx(&bob, &policy),
        &ClaimRequest::default(),
        || Ok::<_, Refusal>(None),
    )
    .unwrap_err()
    .user();
    assert_eq!(err.code, code::CLAIM_HELD);
    assert!(err.message().contains("agent:alice"));
    let forced = ClaimRequest {
        force: Force(Some("alice is away".into())),
        ..Default::default()
    };
    let taken = claim(Some(c), &id(), &ctx(&bob, &policy), &forced, || Ok::<_, Refusal>(None)).unwrap();
    assert_eq!(taken.claim.owner, bob);
    assert_eq!(taken.claim.generation, 2);
    assert_eq!(taken.forced.as_deref(), Some("alice is away"));
}

#[test]
fn handoff_accept_bumps_generation_and_reject_returns() {
    let policy = Policy::default();
    let (alice, bob, carol) = (actor("agent:alice"), actor("human:bob"), actor("human:carol"));
    let c = claimed(&alice, &policy);
    let pending = handoff(Some(&c), &id(), &ctx(&alice, &policy), &bob, Some("over to you".into()))
        .unwrap()
        .claim;
    assert_eq!(pending.state, ClaimState::HandoffPending);
    assert_eq!(
        accept(Some(&pending), &id(), &ctx(&carol, &policy), None)
            .unwrap_err()
            .user()
            .code,
        code::NOT_HANDOFF_TARGET
    );
    assert_eq!(
        handoff(Some(&pending), &id(), &ctx(&alice, &policy), &carol, None)
            .unwrap_err()
            .user()
            .code,
        code::WRONG_STATE
    );
    let accepted = accept(Some(&pending), &id(), &ctx(&bob, &policy), None).unwrap().claim;
    assert_eq!(
        (accepted.owner.clone(), accepted.generation, accepted.handoff_to.clone()),
        (bob.clone(), 2, None)
    );
    let rejected = reject(Some(&pending), &id(), &ctx(&bob, &policy), "not mine")
        .unwrap()
        .claim;
    assert_eq!(
        (rejected.owner, rejected.state, rejected.generation),
        (alice, ClaimState::Active, 1)
    );
    assert_eq!(rejected.reason.as_deref(), Some("not mine"));
}

#[test]
fn owner_only_transitions() {
    let policy = Policy::default();
    let (alice, bob) = (actor("agent:alice"), actor("agent:bob"));
    let c = claimed(&alice, &policy);
    for err in [
        park(Some(&c), &id(), &ctx(&bob, &policy), ClaimState::Paused, None).unwrap_err(),
        resume(Some(&c), &id(), &ctx(&bob, &policy)).unwrap_err(),
        renew(Some(&c), &id(), &ctx(&bob, &policy), None).unwrap_err(),
        release(Some(&c), &id(), &ctx(&bob, &policy), &Force(None)).unwrap_err(),
        handoff(Some(&c), &id(), &ctx(&bob, &policy), &bob, None).unwrap_err(),
    ] {
        let err = err.user();
        assert_eq!(err.code, code::NOT_OWNER);
        assert_eq!(err.exit_code(), 1);
    }
    let paused = park(Some(&c), &id(), &ctx(&alice, &policy), ClaimState::Paused, None)
        .unwrap()
        .claim;
    let blocked = park(
        Some(&paused),
        &id(),
        &ctx(&alice, &policy),
        ClaimState::Blocked,
        Some("waiting".into()),
    )
    .unwrap()
    .claim;
    assert_eq!(blocked.state, ClaimState::Blocked);
    let active = resume(Some(&blocked), &id(), &ctx(&alice, &policy)).unwrap().claim;
    assert_eq!(active.state, ClaimState::Active);
    let done = release(Some(&active), &id(), &ctx(&alice, &policy), &Force(None))
        .unwrap()
        .claim;
    assert_eq!(done.state, ClaimState::Completed);
    assert_eq!(
        release(Some(&done), &id(), &ctx(&alice, &policy), &Force(None))
            .unwrap_err()
            .user()
            .code,
        code::WRONG_STATE
    );
    let again = claim(Some(done), &id(), &ctx(&bob, &policy), &ClaimRequest::default(), || {
        Ok::<_, Refusal>(None)
    })
    .unwrap()
    .claim;
    assert_eq!((again.owner, again.generation), (bob, 2));
}

#[test]
fn the_holder_claiming_a_lapsed_lease_renews_the_holding() {
    let policy = Policy {
        default_lease: Some(Span::parse("2h").unwrap()),
        ..Default::default()
    };
    let alice = actor("agent:alice");
    let mut c = claimed(&alice, &policy);
    c.state = ClaimState::Paused;
    let later = Ctx {
        actor: &alice,
        now: at("2026-01-01T03:00:00Z"),
        policy: &policy,
    };
    let req = ClaimRequest {
        lease: Some(Span::parse("1h").unwrap()),
        ..Default::default()
    };
    let renewed = claim(Some(c.clone()), &id(), &later, &req, || -> Result<_, Refusal> {
        panic!("no new assignment")
    })
    .unwrap();
    assert!(renewed.changed);
    assert_eq!(renewed.claim.lease_until, Some(at("2026-01-01T04:00:00Z")));
    assert_eq!(renewed.claim.updated_at, later.now);
    // The holding goes on: same generation, state and start.
    assert_eq!(renewed.claim.generation, c.generation);
    assert_eq!(renewed.claim.state, ClaimState::Paused);
    assert_eq!(renewed.claim.created_at, c.created_at);
    assert!(renewed.summary.contains("renew lapsed T-1"), "{}", renewed.summary);
    // Without a lease asked for, the policy's default applies.
    let again = claim(Some(c), &id(), &later, &ClaimRequest::default(), || {
        Ok::<_, Refusal>(None)
    })
    .unwrap();
    assert_eq!(again.claim.lease_until, Some(at("2026-01-01T05:00:00Z")));
}

#[test]
fn leases_lapse_and_expiry_follows_policy() {
    let policy = Policy {
        default_lease: Some(Span::parse("2h").unwrap()),
        ..Default::default()
    };
    let alice = actor("agent:alice");
    let c = claimed(&alice, &policy);
    assert_eq!(c.lease_until, Some(at("2026-01-01T02:00:00Z")));
    assert!(!lease_lapsed(&c, at("2026-01-01T01:59:59Z")));
    assert!(lease_lapsed(&c, at("2026-01-01T02:00:00Z")));
    let bob = actor("agent:bob");
    let later = Ctx {
        actor: &bob,
        now: at("2026-01-01T03:00:00Z"),
        policy: &policy,
    };
    let taken = claim(Some(c.clone()), &id(), &later, &ClaimRequest::default(), || {
        Ok::<_, Refusal>(None)
    })
    .unwrap();
    assert_eq!(taken.claim.owner, bob);

    let e = expiries(std::slice::from_ref(&c), at("2026-01-01T03:00:00Z"), &policy, None);
    assert_eq!(e[0].cause, ExpiryCause::LeaseLapsed);
    assert_eq!(e[0].claim.state, ClaimState::Expired);

    let plain = claimed(&alice, &Policy::default());
    assert!(expiries(
        std::slice::from_ref(&plain),
        at("2026-01-02T23:00:00Z"),
        &Policy::default(),
        None
    )
    .is_empty());
    assert_eq!(
        expiries(
            std::slice::from_ref(&plain),
            at("2026-01-03T00:00:00Z"),
            &Policy::default(),
            None
        )
        .len(),
        1
    );
    assert_eq!(
        expiries(
            std::slice::from_ref(&plain),
            at("2026-01-01T01:00:00Z"),
            &Policy::default(),
            Some(Span::parse("1h").unwrap())
        )
        .len(),
        1
    );
    let pending = handoff(Some(&plain), &id(), &ctx(&alice, &Policy::default()), &bob, None)
        .unwrap()
        .claim;
    let back = expiries(&[pending], at("2026-01-02T00:00:00Z"), &Policy::default(), None);
    assert_eq!(back[0].cause, ExpiryCause::HandoffTimedOut);
    assert_eq!(
        (back[0].claim.state, back[0].claim.owner.clone()),
        (ClaimState::Active, alice)
    );
}

#[test]
fn unknown_fields_survive_a_rewrite() {
    let text = "schema = 1\nid = \"T-1\"\nstate = \"active\"\nowner = \"agent:a\"\ngeneration = 1\n\
                created_at = \"2026-01-01T00:00:00Z\"\nupdated_at = \"2026-01-01T00:00:00Z\"\nfuture = \"kept\"\n";
    let c: Claim = toml::from_str(text).unwrap();
    assert!(toml::to_string(&c).unwrap().contains("future = \"kept\""));
}

#[test]
fn generation_going_down_is_found() {
    let trail = vec![("T-1".to_string(), 1), ("T-1".to_string(), 2), ("T-1".to_string(), 1)];
    assert_eq!(check::check_generations(&trail).len(), 1);
    let fine = vec![("T-1".to_string(), 3), ("T-1".to_string(), 2), ("T-2".to_string(), 9)];
    assert!(check::check_generations(&fine).is_empty());
}

mod state_machine {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Claim(usize),
        Handoff(usize, usize),
        Accept(usize),
        Reject(usize),
        Pause(usize),
        Resume(usize),
        Release(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..3usize).prop_map(Op::Claim),
            (0..3usize, 0..3usize).prop_map(|(a, b)| Op::Handoff(a, b)),
            (0..3usize).prop_map(Op::Accept),
            (0..3usize).prop_map(Op::Reject),
            (0..3usize).prop_map(Op::Pause),
            (0..3usize).prop_map(Op::Resume),
            (0..3usize).prop_map(Op::Release),
        ]
    }

    proptest! {
        /// Whatever sequence of operations: generation never goes down, it goes up
        /// exactly when the owner changes, and handoff fields exist only in handoff_pending.
        #[test]
        fn invariants_hold(ops in proptest::collection::vec(op(), 1..40)) {
            let policy = Policy::default();
            let actors = [actor("agent:a"), actor("agent:b"), actor("human:c")];
            let mut state: Option<Claim> = None;
            for op in ops {
                let prev = state.clone();
                let result = match &op {
                    Op::Claim(a) => claim(state.clone(), &id(), &ctx(&actors[*a], &policy), &ClaimRequest::default(), || Ok::<_, Refusal>(None)),
                    Op::Handoff(a, b) => handoff(state.as_ref(), &id(), &ctx(&actors[*a], &policy), &actors[*b], None),
                    Op::Accept(a) => accept(state.as_ref(), &id(), &ctx(&actors[*a], &policy), None),
                    Op::Reject(a) => reject(state.as_ref(), &id(), &ctx(&actors[*a], &policy), "no"),
                    Op::Pause(a) => park(state.as_ref(), &id(), &ctx(&actors[*a], &policy), ClaimState::Paused, None),
                    Op::Resume(a) => resume(state.as_ref(), &id(), &ctx(&actors[*a], &policy)),
                    Op::Release(a) => release(state.as_ref(), &id(), &ctx(&actors[*a], &policy), &Force(None)),
                };
                if let Ok(step) = result {
                    let new = step.claim;
                    if let Some(p) = &prev {
                        prop_assert!(new.generation >= p.generation);
                        let owner_changed = p.owner != new.owner || (!p.state.is_held() && new.state.is_held());
                        prop_assert_eq!(new.generation > p.generation, owner_changed);
                    }
                    prop_assert_eq!(new.handoff_to.is_some(), new.state == ClaimState::HandoffPending);
                    state = Some(new);
                } else {
                    prop_assert_eq!(&state, &prev);
                }
            }
        }
    }
}
