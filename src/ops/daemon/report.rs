//! What the daemon reports: `daemon summary` (the metrics snapshots in the
//! state's history, summarized over a window, with the last reconcile
//! report) and doctor's daemon checks.

use super::*;

/// What `daemon summary` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Summarized {
    pub summary: metrics::Summary,
    /// `reconcile/last.json`: what the last committing pass did.
    pub report: Option<Report>,
    /// The last tick on this machine (committed or not).
    pub last_tick: Option<TickRecord>,
    /// Versions of the snapshot in history that do not parse (left out).
    pub unreadable: usize,
}

/// `daemon summary --window`: every version of `metrics/snapshot.json` in
/// the state's history (only the commits that changed it are read), summarized
/// as of `now` over `window`.
pub fn summary(s: &Session, window: Span) -> Result<Summarized> {
    let snap = s.snapshot()?;
    let tip = snap.commit().ok_or_else(|| s.store.no_state())?;
    let mut history = Vec::new();
    let mut unreadable = 0;
    for commit in s.store.commits_touching(tip, metrics::snapshot::PATH)? {
        let bytes = s.store.snapshot_at(Some(commit))?.read(metrics::snapshot::PATH)?;
        match bytes.map(|b| metrics::Snapshot::decode(&b)) {
            Some(Ok(snapshot)) => history.push(snapshot),
            Some(Err(_)) => unreadable += 1,
            // The commit deleted it.
            None => {}
        }
    }
    let report = match snap.read(daemon::REPORT_PATH)? {
        Some(bytes) => Some(Report::decode(&bytes)?),
        None => None,
    };
    Ok(Summarized {
        summary: metrics::summarize(&history, s.now, window),
        report,
        last_tick: last_tick(&s.store),
        unreadable,
    })
}

/// Doctor's daemon checks: the pid file against its lock, the last tick's
/// age and errors. `fix` removes a stale pid file.
pub fn doctor(s: &Session, fix: bool) -> Vec<Finding> {
    let (pid_file, holder, interval) = lifecycle::facts(s);
    let last = last_tick(&s.store);
    let facts = check::Facts {
        pid_file,
        holder,
        last_tick: last.as_ref(),
        now: wall_now(),
        interval,
    };
    let (mut process, fixable) = check::process(&facts);
    if fix && fixable {
        // Checked again right before: a daemon starting now would hold it.
        let pid_path = local_path(&s.store, PID_FILE);
        if proc::lock_holder(&pid_path).ok().flatten().is_none() && std::fs::remove_file(&pid_path).is_ok() {
            process.fixed = true;
        }
    }
    let mut out = vec![process];
    out.extend(check::ticks(&facts));
    out
}
