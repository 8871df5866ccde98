//! The tick's decisions on a view, inside the compare-and-swap: claims
//! that expire, runs interrupted on this host, deliveries that stopped, the
//! learn step, what is only reported, the metrics snapshot; the one change
//! (and its commit message) that records them, or the head of a pass that
//! changed nothing.

use super::*;

/// What a pass decided: the change to commit (if any), the view after it,
/// and, when it changes nothing, the head a quiet tick may follow.
pub(super) struct Decided {
    pub change: Option<Change>,
    pub post: Option<View>,
    pub head: Option<Head>,
}

/// Decide on the view: expiries, interrupted runs, stopped deliveries, the
/// learn step, reports, the metrics snapshot; the one change that commits
/// them, or the head of a pass that changed nothing.
pub(super) fn decide(
    s: &Session,
    snap: &Snapshot<'_>,
    view: &View,
    taken: Option<&Taken>,
    report: &mut Report,
) -> Result<Decided> {
    let config = state::config(snap)?;
    let now = s.now;
    let mut change = Change::default();
    let mut post: Option<View> = None;
    let mut changed_view = |path: &str, record: Record| {
        post.get_or_insert_with(|| view.clone()).record(path, record);
    };

    let (expired_now, tick) = expire_claims(snap, view, now, &config.claims, &mut change, report, &mut changed_view)?;

    // Workflow runs on this host whose process is gone: interrupted.
    let host = crate::os::hostname();
    let here = load_at(snap, &daemon::running_here(view, &host), run_at);
    let (_, dead) = crate::workflow::check::check_runs(&here, &host, crate::os::process_alive);
    let interrupted = crate::ops::workflow::put_interrupted(snap, &dead, now, &mut change)?;
    for run in &interrupted {
        report.changed.push(Changed {
            kind: ChangeKind::Interrupted,
            subject: format!("run/{}", run.id),
            detail: format!("process {} on {} is gone", run.pid, run.host),
        });
        changed_view(&ledger::path(&run.id), Record::Run(run.clone()));
    }

    // Deliveries, against the claims and runs as this pass leaves them.
    let stopped = reconcile_deliveries(snap, view, &expired_now, &interrupted, now, &mut change, report)?;
    for d in stopped {
        changed_view(&delivery::path(&d.id), Record::Delivery(d));
    }

    if let Some(stats) = learn_step(snap, view, taken, &mut change, report) {
        changed_view(learn_stats::COMMANDS_PATH, Record::Learn(learn_entry(&stats)));
    }

    // Reported only.
    let after = post.as_ref().unwrap_or(view);
    report.reported.extend(daemon::flag_claims(after));
    report
        .reported
        .extend(daemon::pool_reports(after, now, config.pool.heartbeat_timeout));
    report.reported.extend(daemon::broken_report(view));

    let SnapshotStep { previous, due } = due_snapshot(snap, after, &config, now, tick, report)?;
    if change.is_empty() && due.is_none() {
        let head = Head {
            version: head::VERSION,
            tree: snap.tree().to_string(),
            at: now,
            due: head::next_due(view, &deadlines(&config, previous, view.full_at)),
            host,
            running: here.iter().map(|(_, r)| r.pid).collect(),
            report: report.clone(),
        };
        return Ok(Decided {
            change: None,
            post,
            head: Some(head),
        });
    }
    if let Some((next, why)) = due {
        report.snapshot = Some(why);
        change.put_json(metrics::snapshot::PATH.to_owned(), &next)?;
    }
    change.message = tick_message(report, &s.actor()?.to_string(), taken);
    Ok(Decided {
        change: Some(change),
        post,
        head: None,
    })
}

/// The times a head's due time counts from: the policies, the snapshot in
/// the state (taken at `previous`), the view's last full pass.
fn deadlines(config: &crate::config::Config, previous: Option<Timestamp>, full_at: Timestamp) -> Deadlines<'_> {
    Deadlines {
        claims: &config.claims,
        heartbeat_timeout: config.pool.heartbeat_timeout,
        snapshot_taken: previous,
        snapshot_every: config.daemon.snapshot_every,
        full_at,
        full_every: config.daemon.full_every,
    }
}

/// Claims: stale ones expire, timed-out handoffs return to their owner.
/// Returns the claims as expired, and what the snapshot counts of it.
fn expire_claims(
    snap: &Snapshot<'_>,
    view: &View,
    now: Timestamp,
    policy: &crate::claims::Policy,
    change: &mut Change,
    report: &mut Report,
    changed_view: &mut impl FnMut(&str, Record),
) -> Result<(BTreeMap<ClaimId, Claim>, metrics::Tick)> {
    let mut expired_now: BTreeMap<ClaimId, Claim> = BTreeMap::new();
    let mut tick = metrics::Tick::default();
    for (path, claim) in load_at(snap, &daemon::expiry_candidates(view, now, policy), claim_at) {
        for e in claims::expiries(&[claim], now, policy, None) {
            match e.cause {
                claims::ExpiryCause::HandoffTimedOut => tick.handoffs_returned += 1,
                _ => tick.expired += 1,
            }
            report
                .changed
                .push(daemon::expiry_change(e.claim.id.as_str(), e.cause, e.claim.state));
            change.put_toml(path.clone(), &e.claim)?;
            changed_view(&path, Record::Claim(e.claim.clone()));
            expired_now.insert(e.claim.id.clone(), e.claim);
        }
    }
    Ok((expired_now, tick))
}

/// The learn step: this machine's journal (`taken`) folded into
/// `learn/commands.toml`, or the statistics compacted on their own when
/// they grew past [`learn_ops::MAX_FAMILIES`] (a merge of two clones' files
/// can leave them so). The statistics it writes into `change`, if any. A
/// statistics file that does not parse is reported, not fatal: the journal
/// waits for a fold after doctor's fix.
fn learn_step(
    snap: &Snapshot<'_>,
    view: &View,
    taken: Option<&Taken>,
    change: &mut Change,
    report: &mut Report,
) -> Option<CommandStats> {
    let done = match taken {
        Some(taken) => learn_ops::fold_into(snap, taken, change).map(|(f, stats)| {
            let step = LearnStep {
                outcomes: f.outcomes,
                decisions: f.decisions,
                skipped: f.skipped,
                files: f.files,
                compacted: f.compacted,
            };
            Some((step, stats))
        }),
        None if view
            .learn
            .as_ref()
            .is_some_and(|l| l.families > learn_ops::MAX_FAMILIES) =>
        {
            learn_ops::compact_into(snap, change).map(|done| {
                done.map(|(dropped, stats)| {
                    let step = LearnStep {
                        compacted: dropped,
                        ..LearnStep::default()
                    };
                    (step, stats)
                })
            })
        }
        None => Ok(None),
    };
    match done {
        Ok(done) => done.map(|(step, stats)| {
            report.learn = Some(step);
            stats
        }),
        Err(e) => {
            report.reported.push(
                Finding::warn("daemon.learn", format!("the learn statistics were not updated: {}", e.message()))
                    .hint("`baton learn doctor` names the problem (`--fix` quarantines a file that does not parse); this machine's journal waits for the next fold")
                    .at(learn_stats::COMMANDS_PATH),
            );
            None
        }
    }
}

/// Open deliveries checked as `delivery doctor` checks them, against the
/// claims and runs as this pass leaves them; a claim that moved on is
/// recorded stopped (as `delivery doctor --fix` does), other drift reported.
fn reconcile_deliveries(
    snap: &Snapshot<'_>,
    view: &View,
    expired_now: &BTreeMap<ClaimId, Claim>,
    interrupted: &[Run],
    now: Timestamp,
    change: &mut Change,
    report: &mut Report,
) -> Result<Vec<Delivery>> {
    let open = load_at(snap, &daemon::open_deliveries(view), delivery_at);
    if open.is_empty() {
        return Ok(Vec::new());
    }
    let mut claims_now: BTreeMap<ClaimId, Claim> = BTreeMap::new();
    let mut runs_now: BTreeMap<RunId, Run> = BTreeMap::new();
    for (_, d) in &open {
        let claim = match expired_now.get(&d.issue) {
            Some(c) => Some(c.clone()),
            None => state::claim(snap, &d.issue).ok().flatten(),
        };
        claims_now.extend(claim.map(|c| (c.id.clone(), c)));
        if let Some(id) = &d.workflow_run {
            let run = match interrupted.iter().find(|r| &r.id == id) {
                Some(r) => Some(r.clone()),
                None => state::run(snap, id).ok().flatten(),
            };
            runs_now.extend(run.map(|r| (r.id.clone(), r)));
        }
    }
    let (findings, fixes) = delivery::check::check(&open, &claims_now, &runs_now);
    let stopped = crate::ops::delivery::put_stopped(snap, &fixes, now, change)?;
    for d in &stopped {
        report.changed.push(Changed {
            kind: ChangeKind::DeliveryStopped,
            subject: format!("delivery/{}", d.id),
            detail: d.reason.clone().unwrap_or_default(),
        });
    }
    report.reported.extend(
        findings
            .into_iter()
            .filter(|f| f.severity != Severity::Ok && f.check != "delivery.claim"),
    );
    Ok(stopped)
}

/// The reconcile commit's message: what it did, every subject it touched,
/// and the journal files it folded (`taken`, when the learn step folded it).
fn tick_message(report: &Report, actor: &str, taken: Option<&Taken>) -> Message {
    let mut msg = Message::new(format!("daemon: reconcile: {}", report.summary()))
        .trailer(message::OP, "daemon.tick")
        .trailer(message::ACTOR, actor);
    for c in &report.changed {
        msg = msg.trailer(message::SUBJECT, &c.subject);
    }
    if report.learn.is_some() {
        msg = msg.trailer(message::SUBJECT, learn_stats::COMMANDS_PATH);
    }
    if report.snapshot.is_some() {
        msg = msg.trailer(message::SUBJECT, "metrics/snapshot");
    }
    match taken {
        Some(taken) if report.learn.is_some_and(|l| l.files > 0) => learn_ops::journal_trailers(msg, taken),
        _ => msg,
    }
}
