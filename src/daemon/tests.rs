use super::check::{self, Facts};
use super::*;
use crate::claims::{Claim, ClaimState};
use crate::clock::parse_timestamp;
use crate::finding::Severity;
use crate::ids::{Actor, ClaimId};
use crate::pool::Agent;

fn at(t: &str) -> Timestamp {
    parse_timestamp(t).unwrap()
}

fn claim(id: &str, state: ClaimState, agent: Option<&str>, updated: &str, lease: Option<&str>) -> Claim {
    Claim {
        schema: SCHEMA,
        id: ClaimId::parse(id).unwrap(),
        state,
        owner: Actor::parse("agent:alice").unwrap(),
        agent: agent.map(|a| AgentId::parse(a).unwrap()),
        role: None,
        generation: 1,
        created_at: at(updated),
        updated_at: at(updated),
        lease_until: lease.map(at),
        handoff_to: (state == ClaimState::HandoffPending).then(|| Actor::parse("agent:bob").unwrap()),
        handoff_note: None,
        reason: None,
        note: None,
        delivery: None,
        extra: Default::default(),
    }
}

fn agent(id: &str, status: AgentStatus) -> Agent {
    Agent {
        schema: SCHEMA,
        id: AgentId::parse(id).unwrap(),
        role: crate::ids::Role::parse("rev").unwrap(),
        capacity: 1,
        status,
        created_at: at("2026-01-01T00:00:00Z"),
        last_heartbeat: Some(at("2026-01-01T00:00:00Z")),
        extra: Default::default(),
    }
}

fn view_of(claims: &[Claim], agents: &[Agent]) -> View {
    let mut v = View::new("t".into(), at("2026-01-01T00:00:00Z"));
    for c in claims {
        v.record(&crate::claims::path(&c.id), Record::Claim(c.clone()));
    }
    for a in agents {
        v.record(&crate::pool::path(&a.id), Record::Agent(a.clone()));
    }
    v
}

#[test]
fn a_pass_is_full_without_a_view_when_asked_periodically_and_when_the_clock_went_back() {
    let every = Span::parse("1h").unwrap();
    let v = View::new("t".into(), at("2026-01-01T00:00:00Z"));
    let now = at("2026-01-01T00:30:00Z");
    assert_eq!(full_because(None, false, now, every), Some(FullBecause::NoView));
    assert_eq!(full_because(Some(&v), false, now, every), None);
    assert_eq!(full_because(Some(&v), true, now, every), Some(FullBecause::Asked));
    assert_eq!(
        full_because(Some(&v), false, at("2026-01-01T01:00:00Z"), every),
        Some(FullBecause::Periodic)
    );
    assert_eq!(
        full_because(Some(&v), false, at("2025-12-31T00:00:00Z"), every),
        Some(FullBecause::ClockBack)
    );
    let mut old = v.clone();
    old.version = view::VERSION + 1;
    assert_eq!(full_because(Some(&old), false, now, every), Some(FullBecause::NoView));
}

#[test]
fn expiry_candidates_include_every_claim_expiries_would_touch() {
    let policy = ClaimsPolicy::default();
    let claims = [
        claim("stale", ClaimState::Active, None, "2026-01-01T00:00:00Z", None),
        claim("fresh", ClaimState::Active, None, "2026-01-03T00:00:00Z", None),
        claim(
            "lapsed",
            ClaimState::Paused,
            None,
            "2026-01-03T00:00:00Z",
            Some("2026-01-03T01:00:00Z"),
        ),
        claim(
            "handoff",
            ClaimState::HandoffPending,
            None,
            "2026-01-02T00:00:00Z",
            None,
        ),
        claim("done", ClaimState::Completed, None, "2025-01-01T00:00:00Z", None),
    ];
    let now = at("2026-01-03T02:00:00Z");
    let v = view_of(&claims, &[]);
    let candidates = expiry_candidates(&v, now, &policy);
    let expiring = crate::claims::expiries(&claims, now, &policy, None);
    for e in &expiring {
        assert!(candidates.contains(&crate::claims::path(&e.claim.id)), "{}", e.claim.id);
    }
    assert_eq!(expiring.len(), 3);
    assert!(!candidates.contains(&crate::claims::path(&ClaimId::parse("done").unwrap())));
    assert!(!candidates.contains(&crate::claims::path(&ClaimId::parse("fresh").unwrap())));
}

#[test]
fn claims_on_drained_retired_and_unknown_agents_are_flagged_once_per_agent() {
    let t = "2026-01-01T00:00:00Z";
    let claims = [
        claim("A-1", ClaimState::Active, Some("rev-1"), t, None),
        claim("A-2", ClaimState::Active, Some("rev-2"), t, None),
        claim("A-3", ClaimState::Blocked, Some("rev-2"), t, None),
        claim("A-4", ClaimState::Active, Some("rev-3"), t, None),
        claim("A-5", ClaimState::Paused, Some("ghost-1"), t, None),
        claim("A-6", ClaimState::Completed, Some("ghost-2"), t, None),
    ];
    let agents = [
        agent("rev-1", AgentStatus::Active),
        agent("rev-2", AgentStatus::Draining),
        agent("rev-3", AgentStatus::Retired),
    ];
    let flags = flag_claims(&view_of(&claims, &agents));
    let messages: Vec<&str> = flags.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("draining agent rev-2: A-2, A-3")));
    assert!(messages.iter().any(|m| m.contains("retired agent rev-3: A-4")));
    assert!(messages.iter().any(|m| m.contains("ghost-1, which is not in the pool")));
    assert!(flags.iter().all(|f| f.severity == Severity::Warn && !f.hint.is_empty()));
}

#[test]
fn a_view_takes_files_in_and_out_and_counts_like_the_loaded_state() {
    let t = "2026-01-01T00:00:00Z";
    let claims = [
        claim("A-1", ClaimState::Active, Some("rev-1"), t, None),
        claim("A-2", ClaimState::Completed, Some("rev-1"), t, None),
    ];
    let mut v = view_of(&claims, &[agent("rev-1", AgentStatus::Active)]);
    assert_eq!(v.tally(), crate::metrics::Tally::of(&claims, &[]));
    let path = crate::claims::path(&claims[0].id);
    v.record(&path, Record::Broken("bad".into()));
    assert!(!v.claims.contains_key(&path));
    assert_eq!(broken_report(&v).map(|f| f.severity), Some(Severity::Warn));
    v.record(&path, Record::Gone);
    assert!(v.broken.is_empty() && broken_report(&v).is_none());
    assert_eq!(v.counts(), [1, 1, 0, 0]);
}

fn tick(outcome: Outcome, wall: &str) -> TickRecord {
    TickRecord {
        at: at(wall),
        wall: at(wall),
        duration_ms: 3,
        outcome,
        commit: None,
        error: (outcome == Outcome::Failed).then(|| "lock held".to_owned()),
        warnings: Vec::new(),
        report: None,
    }
}

#[test]
fn doctor_judges_the_pid_file_by_its_lock_and_the_last_tick_by_its_age() {
    let file = PidFile {
        pid: 42,
        started_at: at("2026-01-01T00:00:00Z"),
        interval: None,
    };
    fn facts(pid_file: Option<PidFile>, holder: Option<u32>, last: Option<&TickRecord>) -> Facts<'_> {
        Facts {
            pid_file: pid_file.map(Ok),
            holder,
            last_tick: last,
            now: at("2026-01-01T01:00:00Z"),
            interval: Span::parse("60s").unwrap(),
        }
    }
    assert_eq!(check::process(&facts(None, None, None)).0.severity, Severity::Ok);
    assert_eq!(
        check::process(&facts(Some(file.clone()), Some(42), None)).0.severity,
        Severity::Ok
    );
    let (stale, fixable) = check::process(&facts(Some(file.clone()), None, None));
    assert_eq!((stale.severity, fixable), (Severity::Warn, true));
    assert_eq!(
        check::process(&facts(Some(file.clone()), Some(7), None)).0.severity,
        Severity::Warn
    );

    let recent = tick(Outcome::Unchanged, "2026-01-01T00:59:30Z");
    assert_eq!(
        check::ticks(&facts(Some(file.clone()), Some(42), Some(&recent)))[0].severity,
        Severity::Ok
    );
    let late = tick(Outcome::Unchanged, "2026-01-01T00:50:00Z");
    assert_eq!(
        check::ticks(&facts(Some(file.clone()), Some(42), Some(&late)))[0].severity,
        Severity::Warn
    );
    // Not running: an old tick is not late.
    assert_eq!(check::ticks(&facts(None, None, Some(&late)))[0].severity, Severity::Ok);
    let failed = tick(Outcome::Failed, "2026-01-01T00:59:30Z");
    assert!(check::ticks(&facts(None, None, Some(&failed)))
        .iter()
        .any(|f| f.severity == Severity::Error && f.message.contains("lock held")));
    assert_eq!(
        check::ticks(&facts(Some(file), Some(42), None))[0].severity,
        Severity::Warn
    );
}

#[test]
fn a_report_says_what_changed_in_one_line_and_keeps_unknown_fields() {
    let mut r = report(at("2026-01-01T00:00:00Z"), Mode::Full, Some(FullBecause::Asked), None);
    assert_eq!(r.summary(), "nothing changed");
    r.changed.push(expiry_change(
        "T-1",
        crate::claims::ExpiryCause::Stale,
        ClaimState::Expired,
    ));
    r.changed.push(expiry_change(
        "T-2",
        crate::claims::ExpiryCause::HandoffTimedOut,
        ClaimState::Active,
    ));
    r.snapshot = Some(Due::Changed);
    assert_eq!(
        r.summary(),
        "1 claim(s) expired, 1 handoff(s) returned, metrics snapshot (changed)"
    );
    let mut json: serde_json::Value = serde_json::to_value(&r).unwrap();
    json["later"] = serde_json::json!(1);
    let back = Report::decode(serde_json::to_string(&json).unwrap().as_bytes()).unwrap();
    assert_eq!(back.extra.get("later"), Some(&serde_json::json!(1)));
    assert_eq!(back.changed, r.changed);
}
