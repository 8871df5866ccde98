//! What the daemon reports: `daemon summary` (the metrics snapshots in the
//! state's history, summarized over a window, with the last reconcile
//! report) and doctor's daemon checks.

use super::*;

/// What `daemon summary` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Summarized {
    pub summary: metrics::Summary,
    /// What the last pass on this machine that committed did
    /// (`.git/baton/reconcile-last.json`).
    pub report: Option<Report>,
    /// The last tick on this machine (committed or not).
    pub last_tick: Option<TickRecord>,
    /// Versions of the snapshot in history that do not parse (left out).
    pub unreadable: usize,
}

/// `daemon summary --window`: the versions of `metrics/snapshot.json` in
/// the state's history (only the commits that changed it are read), newest
/// first back to the window's baseline, summarized as of `now` over
/// `window`. The walk ends at the first snapshot taken at or before the
/// window's start: that one is the baseline, and whatever is older cannot
/// change the summary, so a long history costs nothing.
pub fn summary(s: &Session, window: Span) -> Result<Summarized> {
    let snap = s.snapshot()?;
    let tip = snap.commit().ok_or_else(|| s.store.no_state())?;
    let window_start = window.before(s.now);
    let mut history = Vec::new();
    let mut unreadable = 0;
    s.store.walk_touching(tip, metrics::snapshot::PATH, |commit| {
        let bytes = s.store.snapshot_at(Some(commit))?.read(metrics::snapshot::PATH)?;
        match bytes.map(|b| metrics::MetricsSnapshot::decode(&b)) {
            Some(Ok(snapshot)) => {
                let baseline = snapshot.taken_at <= window_start;
                history.push(snapshot);
                return Ok(!baseline);
            }
            Some(Err(_)) => unreadable += 1,
            // The commit deleted it.
            None => {}
        }
        Ok(true)
    })?;
    Ok(Summarized {
        summary: metrics::summarize(&history, s.now, window),
        report: local::last_report(&s.store),
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
