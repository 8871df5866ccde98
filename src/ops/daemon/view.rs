//! The daemon's incremental view of the state (see [`View`]): made from
//! every tracked file on a full pass, else brought from the tree it was
//! made of to the tip by parsing only the files that changed between them,
//! as the full pass's loaders parse them.

use super::*;

/// The commit an incremental pass started from, when it moved on from the kept one.
pub(super) fn view_base(snap: &Snapshot<'_>, mode: Mode, kept: &Option<(String, Timestamp)>) -> Option<String> {
    match (mode, kept) {
        (Mode::Incremental, Some(_)) => snap.commit().map(|c| c.to_string()),
        _ => None,
    }
}

/// What a pass had in view, and how many files it parsed.
pub(super) fn checked(view: &View, read: usize) -> daemon::Checked {
    let [claims, agents, runs, deliveries] = view.counts();
    daemon::Checked {
        claims,
        agents,
        runs,
        deliveries,
        read,
    }
}

/// Make `current` the view of `snap`'s tree: from every file when a full
/// pass is due, else from the files that changed since its tree. Returns
/// the mode, why it is full, and how many files were parsed.
pub(super) fn bring_up_to_date(
    store: &Store,
    current: &mut Option<View>,
    snap: &Snapshot<'_>,
    asked: bool,
    now: Timestamp,
) -> Result<(Mode, Option<FullBecause>, usize)> {
    let full_every = state::config(snap)?.daemon.full_every;
    let mut because = daemon::full_because(current.as_ref(), asked, now, full_every);
    if because.is_none() {
        let view = current.as_mut().expect("an incremental pass has a view");
        match advance(store, view, snap) {
            Ok(read) => return Ok((Mode::Incremental, None, read)),
            Err(_) => because = Some(FullBecause::Unreadable),
        }
    }
    let (view, read) = full_view(snap, now)?;
    *current = Some(view);
    Ok((Mode::Full, because, read))
}

/// Every file the view tracks, read and parsed (claims in parallel).
pub fn full_view(snap: &Snapshot<'_>, now: Timestamp) -> Result<(View, usize)> {
    let mut view = View::new(snap.tree().to_string(), now);
    let mut read = 0;
    let take = |view: &mut View, broken: Vec<state::Broken>| {
        for b in broken {
            view.record(&b.path, Record::Broken(b.error.message().into_owned()));
        }
    };
    let (claims, broken) = state::load_all::<Claim>(snap, claims::DIR, |c| c.schema)?;
    read += claims.len() + broken.len();
    take(&mut view, broken);
    for (path, c) in claims {
        view.record(&path, Record::Claim(c));
    }
    let (agents, broken) = state::load_all::<Agent>(snap, crate::pool::DIR, |a| a.schema)?;
    read += agents.len() + broken.len();
    take(&mut view, broken);
    for (path, a) in agents {
        view.record(&path, Record::Agent(a));
    }
    let (runs, broken) = state::load_all_json::<Run>(snap, ledger::DIR, |r| r.schema)?;
    read += runs.len() + broken.len();
    take(&mut view, broken);
    for (path, r) in runs {
        view.record(&path, Record::Run(r));
    }
    let (ledgers, broken) = state::load_all_json::<Delivery>(snap, delivery::DIR, |d| d.schema)?;
    read += ledgers.len() + broken.len();
    take(&mut view, broken);
    for (path, d) in ledgers {
        view.record(&path, Record::Delivery(d));
    }
    if let Some(entry) = snap.entry(learn_stats::COMMANDS_PATH)? {
        read += 1;
        view.record(learn_stats::COMMANDS_PATH, parse(snap, Kind::Learn, &entry));
    }
    Ok((view, read))
}

/// Take into `view` every tracked file that differs between its tree and
/// `snap`'s; returns how many were read.
fn advance(store: &Store, view: &mut View, snap: &Snapshot<'_>) -> Result<usize> {
    let tree = snap.tree();
    if tree.to_hex() == view.tree {
        return Ok(0);
    }
    let old = ObjectId::from_hex(view.tree.as_bytes()).map_err(|e| Error::git("reading the kept view", e))?;
    let mut read = 0;
    for (path, entry) in store.tree_changes(old, tree)? {
        let Some(kind) = Kind::of(&path) else { continue };
        let record = match entry {
            None => Record::Gone,
            Some(entry) => {
                read += 1;
                parse(snap, kind, &entry)
            }
        };
        view.record(&path, record);
    }
    view.tree = tree.to_string();
    Ok(read)
}

/// One tracked file, parsed as the full pass's loaders parse it.
fn parse(snap: &Snapshot<'_>, kind: Kind, entry: &Entry) -> Record {
    let parsed = match kind {
        Kind::Claim => claim_at(snap, entry).map(Record::Claim),
        Kind::Agent => state::load_toml_entry(snap, entry, |a: &Agent| a.schema).map(Record::Agent),
        Kind::Run => run_at(snap, entry).map(Record::Run),
        Kind::Delivery => delivery_at(snap, entry).map(Record::Delivery),
        Kind::Learn => state::load_toml_entry(snap, entry, |c: &CommandStats| c.schema)
            .map(|stats| Record::Learn(learn_entry(&stats))),
    };
    parsed.unwrap_or_else(|e| Record::Broken(e.message().into_owned()))
}

/// What the view keeps of the learn statistics.
pub(super) fn learn_entry(stats: &CommandStats) -> LearnEntry {
    LearnEntry {
        decisions: learn_ops::decisions_of(stats),
        families: stats.families.len(),
    }
}

/// The files at `paths` in `snap`, parsed with `parse` (ones that no
/// longer parse are skipped: the view reports them).
pub(super) fn load_at<T>(
    snap: &Snapshot<'_>,
    paths: &[String],
    parse: impl Fn(&Snapshot<'_>, &Entry) -> Result<T>,
) -> Vec<(String, T)> {
    paths
        .iter()
        .filter_map(|p| {
            let entry = snap.entry(p).ok()??;
            Some((p.clone(), parse(snap, &entry).ok()?))
        })
        .collect()
}

pub(super) fn claim_at(snap: &Snapshot<'_>, entry: &Entry) -> Result<Claim> {
    state::load_toml_entry(snap, entry, |c: &Claim| c.schema)
}

pub(super) fn run_at(snap: &Snapshot<'_>, entry: &Entry) -> Result<Run> {
    state::load_json_entry(snap, entry, |r: &Run| r.schema)
}

pub(super) fn delivery_at(snap: &Snapshot<'_>, entry: &Entry) -> Result<Delivery> {
    state::load_json_entry(snap, entry, |d: &Delivery| d.schema)
}
