use super::check::{self, Facts};
use super::*;
use crate::claims::{Claim, ClaimState};
use crate::finding::Severity;
use crate::pool::Agent;
use crate::testing::{self, at, T0};
use crate::{claims, pool};

fn claim(id: &str, state: ClaimState, agent: Option<&str>, updated: &str, lease: Option<&str>) -> Claim {
    Claim {
        created_at: at(updated),
        updated_at: at(updated),
        lease_until: lease.map(at),
        ..claims::fixtures::claim(id, state, agent)
    }
}

fn agent(id: &str, status: AgentStatus) -> Agent {
    pool::fixtures::agent(id, "rev", 1, status, T0)
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
    let policy = claims::Policy::default();
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
    assert!(!candidates.contains(&crate::claims::path(&testing::claim_id("done"))));
    assert!(!candidates.contains(&crate::claims::path(&testing::claim_id("fresh"))));
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

fn tick(outcome: TickEnd, wall: &str) -> TickRecord {
    TickRecord {
        at: at(wall),
        wall: at(wall),
        duration_ms: 3,
        outcome,
        commit: None,
        error: (outcome == TickEnd::Failed).then(|| "lock held".to_owned()),
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

    let recent = tick(TickEnd::Unchanged, "2026-01-01T00:59:30Z");
    assert_eq!(
        check::ticks(&facts(Some(file.clone()), Some(42), Some(&recent)))[0].severity,
        Severity::Ok
    );
    let late = tick(TickEnd::Unchanged, "2026-01-01T00:50:00Z");
    assert_eq!(
        check::ticks(&facts(Some(file.clone()), Some(42), Some(&late)))[0].severity,
        Severity::Warn
    );
    // Not running: an old tick is not late.
    assert_eq!(check::ticks(&facts(None, None, Some(&late)))[0].severity, Severity::Ok);
    let failed = tick(TickEnd::Failed, "2026-01-01T00:59:30Z");
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

fn secs(base: &str, offset: i64) -> Timestamp {
    at(base) + chrono::Duration::seconds(offset)
}

proptest::proptest! {
    /// `claim_due` is exactly when `claims::expiries` first acts on a claim
    /// (whole seconds, as claims are written).
    #[test]
    fn a_claim_comes_due_exactly_when_expiries_acts_on_it(
        state in proptest::sample::select(ClaimState::ALL.to_vec()),
        updated in 0..400_000i64,
        lease in proptest::option::of(0..400_000i64),
        stale in 1..200_000u64,
        handoff in 1..200_000u64,
        now in 0..600_000i64,
    ) {
        let base = "2026-01-01T00:00:00Z";
        let mut c = claim("P-1", state, None, base, None);
        c.updated_at = secs(base, updated);
        c.lease_until = lease.map(|l| secs(base, l));
        let policy = claims::Policy {
            stale_after: Span::parse(&format!("{stale}s")).unwrap(),
            handoff_timeout: Span::parse(&format!("{handoff}s")).unwrap(),
            ..claims::Policy::default()
        };
        let now = secs(base, now);
        let acts = !crate::claims::expiries(std::slice::from_ref(&c), now, &policy, None).is_empty();
        let due = head::claim_due(&view::ClaimEntry::of(&c), &policy);
        proptest::prop_assert_eq!(acts, due.is_some_and(|d| d <= now), "due {:?} now {}", due, now);
    }

    /// An active agent's heartbeat goes stale exactly at the due time
    /// `next_due` counts for it.
    #[test]
    fn a_heartbeat_comes_due_exactly_when_the_agent_stops_being_healthy(
        beat in 0..400_000i64,
        timeout in 1..200_000u64,
        now in 0..600_000i64,
    ) {
        let base = "2026-01-01T00:00:00Z";
        let mut a = agent("rev-1", AgentStatus::Active);
        a.last_heartbeat = Some(secs(base, beat));
        let timeout = Span::parse(&format!("{timeout}s")).unwrap();
        let policy = claims::Policy::default();
        let deadlines = head::Deadlines {
            claims: &policy,
            heartbeat_timeout: Some(timeout),
            snapshot_taken: None,
            snapshot_every: Span::parse("1h").unwrap(),
            full_at: at("2099-01-01T00:00:00Z"),
            full_every: Span::parse("1h").unwrap(),
        };
        let due = head::next_due(&view_of(&[], &[a.clone()]), &deadlines);
        let now = secs(base, now);
        proptest::prop_assert_eq!(crate::pool::is_healthy(&a, now, Some(timeout)), now < due);
    }
}

#[test]
fn the_earliest_due_time_wins_and_done_claims_and_idle_agents_never_come_due() {
    let policy = claims::Policy::default(); // stale 48h, handoff 24h
    let claims = [
        claim("done", ClaimState::Completed, None, "2025-01-01T00:00:00Z", None),
        claim("held", ClaimState::Active, None, "2026-01-01T00:00:00Z", None),
    ];
    let agents = [agent("rev-1", AgentStatus::Draining)];
    let mut d = head::Deadlines {
        claims: &policy,
        heartbeat_timeout: Some(Span::parse("1h").unwrap()),
        snapshot_taken: Some(at("2026-01-01T00:00:00Z")),
        snapshot_every: Span::parse("30d").unwrap(),
        full_at: at("2026-01-01T00:00:00Z"),
        full_every: Span::parse("30d").unwrap(),
    };
    let v = view_of(&claims, &agents);
    assert_eq!(
        head::next_due(&v, &d),
        at("2026-01-03T00:00:00Z"),
        "the held claim's stale-after"
    );
    d.snapshot_every = Span::parse("1d").unwrap();
    assert_eq!(head::next_due(&v, &d), at("2026-01-02T00:00:00Z"), "the snapshot");
    d.full_every = Span::parse("1h").unwrap();
    assert_eq!(head::next_due(&v, &d), at("2026-01-01T01:00:00Z"), "the full pass");
}

#[test]
fn a_head_is_quiet_only_on_its_tree_and_host_between_its_time_and_its_due_time_with_its_runs_alive() {
    let mut r = report(at("2026-01-01T00:00:00Z"), Mode::Incremental, None, Some("c0".into()));
    r.checked.read = 3;
    r.reported.push(Finding::warn(
        "daemon.claims",
        "1 held claim(s) on draining agent rev-2: A-2",
    ));
    let h = Head {
        version: head::VERSION,
        tree: "t1".into(),
        at: at("2026-01-01T00:00:00Z"),
        due: at("2026-01-01T02:00:00Z"),
        host: "h".into(),
        running: vec![7],
        report: r.clone(),
    };
    let now = at("2026-01-01T01:00:00Z");
    let alive = |pid: u32| pid == 7;
    assert!(h.quiet("t1", now, "h", alive));
    assert!(h.quiet("t1", h.at, "h", alive));
    assert!(!h.quiet("t2", now, "h", alive), "another tree");
    assert!(!h.quiet("t1", now, "other", alive), "another host");
    assert!(
        !h.quiet("t1", at("2025-12-31T23:59:59Z"), "h", alive),
        "a clock set back"
    );
    assert!(!h.quiet("t1", h.due, "h", alive), "due");
    assert!(!h.quiet("t1", now, "h", |_| false), "its run's process is gone");
    let old = Head {
        version: head::VERSION + 1,
        ..h.clone()
    };
    assert!(!old.quiet("t1", now, "h", alive));
    let q = h.quiet_report(now, Some("c1".into()));
    assert_eq!(
        (q.at, q.mode, q.base.as_deref(), q.checked.read),
        (now, Mode::Quiet, Some("c1"), 0)
    );
    assert_eq!(q.reported, r.reported);
    assert_eq!(q.summary(), "nothing changed, 1 reported");
}

#[test]
fn a_report_says_what_the_learn_step_did() {
    let mut r = report(at("2026-01-01T00:00:00Z"), Mode::Incremental, None, None);
    r.learn = Some(LearnStep {
        outcomes: 2,
        decisions: 5,
        files: 1,
        ..LearnStep::default()
    });
    assert_eq!(r.summary(), "learn journal folded (2 outcome(s), 5 decision(s))");
    r.learn = Some(LearnStep {
        compacted: 10,
        ..LearnStep::default()
    });
    assert_eq!(r.summary(), "learn statistics compacted (10 famil(ies) dropped)");
    let back = Report::decode(&serde_json::to_vec(&r).unwrap()).unwrap();
    assert_eq!(back.learn, r.learn);
}

#[test]
fn the_view_keeps_the_learn_statistics_it_is_given_and_lets_them_go() {
    let mut v = view_of(&[], &[]);
    assert!(v.learn_decisions().is_empty());
    let entry = LearnEntry {
        decisions: [("high".to_owned(), 2)].into_iter().collect(),
        families: 3,
    };
    v.record(crate::learn::stats::COMMANDS_PATH, Record::Learn(entry.clone()));
    assert_eq!(v.learn.as_ref(), Some(&entry));
    assert_eq!(v.learn_decisions()["high"], 2);
    v.record(crate::learn::stats::COMMANDS_PATH, Record::Broken("bad".into()));
    assert!(v.learn.is_none() && v.broken.contains_key(crate::learn::stats::COMMANDS_PATH));
    v.record(crate::learn::stats::COMMANDS_PATH, Record::Gone);
    assert!(v.learn.is_none() && v.broken.is_empty());
    assert_eq!(Kind::of("learn/routes.toml"), None);
}
