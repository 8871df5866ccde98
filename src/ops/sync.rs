//! Sync between machines (docs/sync.md): fetch the remote's state with git,
//! then fast-forward, push, or merge and push; never force. The merge is
//! 3-way from the merge base and per path, by the policy table of
//! [`crate::sync`]. Also the publishing decision of every write: `--sync`
//! and `sync.auto`.

use gix::ObjectId;
use serde::Serialize;

mod failure;

pub use failure::Failure;

use super::Session;
use crate::error::code;
use crate::error::{Error, Result};
use crate::store::remote::{tracking_ref, PushError};
use crate::store::write::stale_lock;
use crate::store::{message, Change, Divergence, Message, RefError, Store, STATE_REF};
use crate::sync::reservations::LostReservation;
use crate::sync::{self as policy, Decision, LostAgent, LostClaim, Note, Versions};

/// How many times a sync fetches and retries when the remote keeps moving.
const ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Both sides were equal.
    UpToDate,
    /// This clone had no state and took the remote's.
    Adopted,
    /// Local was behind: moved to the remote's tip.
    FastForward,
    /// Local was ahead: pushed.
    Pushed,
    /// Both had moved: merged, then pushed.
    Merged,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub remote: String,
    pub action: Action,
    /// Local claim changes the merge did not keep.
    pub lost: Vec<LostClaim>,
    /// Local agent records the merge did not keep (an id spawned on both sides).
    pub lost_agents: Vec<LostAgent>,
    /// Local path reservations overlapping ones published first.
    pub lost_reservations: Vec<LostReservation>,
    /// Other paths where both sides changed and the remote's version was kept.
    pub remote_won: Vec<String>,
    pub tip: String,
    /// Fetch/push rounds needed (more than one when the remote moved meanwhile).
    pub rounds: u32,
}

/// `--remote`, else `sync.remote` from the state, else `origin`.
pub fn remote_name(s: &Session, explicit: Option<&str>) -> Result<String> {
    match explicit {
        Some(r) => Ok(r.to_owned()),
        None => Ok(s.config()?.sync.remote.clone()),
    }
}

/// Whether writes publish right away: `sync.auto` with its remote configured.
pub fn auto_remote(s: &Session) -> Result<Option<String>> {
    let config = s.config()?;
    let present = s.store.remote_names().contains(&config.sync.remote);
    Ok((config.sync.auto && present).then(|| config.sync.remote.clone()))
}

/// Where a write that may publish goes: `--sync` names the configured
/// remote (which must exist), else `sync.auto` decides.
pub fn publish_target(s: &Session, explicit: bool) -> Result<Option<String>> {
    if explicit {
        return remote_name(s, None).map(Some);
    }
    auto_remote(s)
}

/// `baton sync`: bring local and remote state together and publish the result.
pub fn run(s: &Session, remote: Option<&str>) -> Result<Report> {
    let remote = remote_name(s, remote)?;
    // This machine's learn outcomes are published with the rest. Best
    // effort: a journal that cannot be folded stays (doctor reports it).
    if super::learn::journal_waiting(&s.store) {
        let _ = super::learn::fold_journal(s);
    }
    sync(&s.store, &remote, &s.actor()?.to_string())
}

/// What earlier rounds of one sync did, carried into the report.
#[derive(Default)]
struct Progress {
    merged: bool,
    lost: Vec<LostClaim>,
    lost_agents: Vec<LostAgent>,
    lost_reservations: Vec<LostReservation>,
    remote_won: Vec<String>,
}

impl Progress {
    /// The action to report: a merge in an earlier round is what happened.
    fn action(&self, this_round: Action) -> Action {
        if self.merged {
            Action::Merged
        } else {
            this_round
        }
    }

    fn note(&mut self, notes: Vec<Note>) {
        for n in notes {
            match n {
                Note::Lost(l) if !self.lost.contains(&l) => self.lost.push(l),
                Note::LostAgent(a) if !self.lost_agents.iter().any(|k| k.id == a.id) => self.lost_agents.push(a),
                Note::RemoteWon(p) if !self.remote_won.contains(&p) => self.remote_won.push(p),
                Note::LostReservation(r) if !self.lost_reservations.contains(&r) => self.lost_reservations.push(r),
                _ => {}
            }
        }
    }
}

/// How one fetch-decide-publish round ended.
enum Round {
    Done(Action, ObjectId),
    /// A local writer moved the ref meanwhile, or holds its lock (`Some`:
    /// the lock, for the message if it never goes): fetch and decide again.
    Again(Option<RefError>),
    /// The remote refused the push (it moved): fetch and decide again.
    Rejected(String),
}

/// The local state ref did not move: another writer moved it or holds its
/// lock (try again), or it cannot move — a lock left behind by a crashed
/// writer, an I/O error — which is said as what it is (exit 3), not as a
/// remote that kept moving.
fn not_moved(err: RefError) -> Result<Round> {
    match err {
        RefError::Moved => Ok(Round::Again(None)),
        RefError::Locked { lock: Some(lock), .. } if lock.is_stale() => Err(stale_lock(&lock)),
        locked @ RefError::Locked { .. } => Ok(Round::Again(Some(locked))),
        io @ RefError::Io(_) => Err(Failure::Io(io).into()),
    }
}

/// A write landed as `commit`, and publishing it to `remote` failed with
/// `why`: "landed here, not published" (exit 3, `not_published`), with
/// what failed and how to publish it later. The commit is not undone: it
/// is this machine's state, and the next sync publishes it.
pub fn not_published(why: Error, commit: Option<ObjectId>, remote: &str) -> Error {
    let landed = match commit {
        Some(c) => format!("landed here as {}", c.to_hex_with_len(10)),
        None => "landed here".to_owned(),
    };
    let mut hint = format!("run `baton sync` to publish it once {remote} can be reached");
    if !why.hint.is_empty() {
        hint = format!("{}; {hint}", why.hint);
    }
    Error::environment(
        code::NOT_PUBLISHED,
        format!("{landed}, not published to {remote}: {}", why.message()),
    )
    .with_hint(hint)
}

/// Bring local and remote state together and publish the result.
pub fn sync(store: &Store, remote: &str, actor: &str) -> Result<Report> {
    store.require_remote(remote)?;
    let mut progress = Progress::default();
    let mut last_rejection = String::new();
    let mut last_lock = None;
    for round in 1..=ATTEMPTS {
        match one_round(store, remote, actor, &mut progress)? {
            Round::Done(action, tip) => {
                progress.lost_agents.sort_by(|a, b| a.id.cmp(&b.id));
                return Ok(Report {
                    remote: remote.to_owned(),
                    action,
                    lost: progress.lost,
                    lost_agents: progress.lost_agents,
                    lost_reservations: progress.lost_reservations,
                    remote_won: progress.remote_won,
                    tip: tip.to_string(),
                    rounds: round,
                });
            }
            Round::Again(lock) => last_lock = lock,
            Round::Rejected(why) => {
                last_rejection = why;
                last_lock = None;
            }
        }
    }
    let remote = remote.to_owned();
    Err(match last_lock {
        Some(lock) => Failure::Lock { remote, lock },
        None => Failure::Rejected {
            remote,
            attempts: ATTEMPTS,
            last: last_rejection,
        },
    }
    .into())
}

fn one_round(store: &Store, remote: &str, actor: &str, progress: &mut Progress) -> Result<Round> {
    let theirs = store.fetch_state(remote)?;
    let local = match (store.tip()?, theirs) {
        (None, None) => {
            return Err(Error::environment(
                code::NO_STATE,
                format!("neither this repository nor {remote} has baton state"),
            )
            .with_hint("run `baton init` to start, then `baton sync` to publish"))
        }
        (None, Some(r)) => {
            let adopted = store.move_ref(STATE_REF, None, r, &format!("baton: sync adopt {remote}"));
            return match adopted {
                Ok(()) => Ok(Round::Done(Action::Adopted, r)),
                Err(e) => not_moved(e),
            };
        }
        (Some(l), _) => l,
    };
    // What this round publishes: the local tip as read, or a merge.
    let pushing = match theirs {
        None => local,
        Some(r) if r == local => return Ok(Round::Done(progress.action(Action::UpToDate), local)),
        Some(r) if store.is_ancestor(local, r)? => {
            let moved = store.move_ref(
                STATE_REF,
                Some(local),
                r,
                &format!("baton: sync fast-forward to {remote}"),
            );
            return match moved {
                Ok(()) => Ok(Round::Done(progress.action(Action::FastForward), r)),
                Err(e) => not_moved(e),
            };
        }
        Some(r) if store.is_ancestor(r, local)? => local,
        Some(r) => {
            let (commit, notes) = merge_commit(store, local, r, remote, actor)?;
            if let Err(e) = store.compare_and_swap(Some(local), commit, "sync merge") {
                return not_moved(e);
            }
            progress.merged = true;
            progress.note(notes);
            commit
        }
    };
    // What another machine cannot parse must not reach it; what a newer
    // baton wrote may (it is not corrupt).
    super::verify::refuse_unparsable(store, remote, theirs, pushing)?;
    publish(store, remote, pushing, theirs, progress)
}

/// Push `pushing` to the remote, never forced.
fn publish(
    store: &Store,
    remote: &str,
    pushing: ObjectId,
    theirs: Option<ObjectId>,
    progress: &Progress,
) -> Result<Round> {
    match store.push_state(remote, pushing) {
        Ok(()) => {
            // git moves the remote-tracking ref on push only when the
            // remote's fetch refspec maps refs/baton/* (baton init adds
            // it; a clone that joined with `baton sync` has none). Without
            // this, doctor would keep calling published claims
            // unpublished until the next fetch. A failed move (a
            // concurrent fetch got there first) is harmless.
            let tracking = tracking_ref(remote);
            if store.resolve(&tracking)? != Some(pushing) {
                let _ = store.move_ref(&tracking, theirs, pushing, "baton: sync push");
            }
            Ok(Round::Done(progress.action(Action::Pushed), pushing))
        }
        Err(PushError::Unreachable(why)) => Err(Failure::Unreachable {
            remote: remote.to_owned(),
            why,
        }
        .into()),
        Err(PushError::Interrupted(why)) => Err(crate::store::remote::interrupted(remote, "pushing to", &why)),
        Err(PushError::Rejected(why)) => Ok(Round::Rejected(why)),
    }
}

/// Merge `remote_tip` into `local_tip`: a commit whose first parent is the
/// remote tip, second the local one, and whose tree applies the policy.
pub fn merge_commit(
    store: &Store,
    local_tip: ObjectId,
    remote_tip: ObjectId,
    remote: &str,
    actor: &str,
) -> Result<(ObjectId, Vec<Note>)> {
    let base = store.merge_base(local_tip, remote_tip)?;
    let base_tree = base.map(|b| store.tree_of(b)).transpose()?;
    let (local_tree, remote_tree) = (store.tree_of(local_tip)?, store.tree_of(remote_tip)?);
    let mut divergences = store.three_way(base_tree, local_tree, remote_tree)?;
    divergences.extend(counted_alike(store, base, local_tip, remote_tip)?);
    let snap = store.snapshot_at(Some(remote_tip))?;
    let read = |id: Option<ObjectId>| id.map(|id| snap.read_blob(id)).transpose();

    let mut change = Change::default();
    let mut notes = Vec::new();
    let (mut from_local, mut from_remote) = (0usize, 0usize);
    // Claims whose local version is kept: their new reservations are
    // checked against the published ones below.
    let mut kept_claims = Vec::new();
    for d in &divergences {
        let both_changed = d.local != d.base && d.remote != d.base;
        // Content matters only where both sides changed; elsewhere identity decides.
        let version = |x: Option<ObjectId>| -> Result<Option<Vec<u8>>> {
            if both_changed {
                read(x)
            } else {
                Ok(x.map(|id| id.as_bytes().to_vec()))
            }
        };
        let (b, l, r) = (version(d.base)?, version(d.local)?, version(d.remote)?);
        let versions = Versions {
            base: b.as_deref(),
            local: l.as_deref(),
            remote: r.as_deref(),
        };
        let (decision, note) = policy::resolve(&d.path, versions);
        match decision {
            Decision::Remote => from_remote += 1,
            Decision::Local => {
                from_local += 1;
                if let (Some(local), policy::Rule::Claim) = (d.local, policy::rule_for(&d.path)) {
                    kept_claims.push((d.path.clone(), local, d.base));
                }
                match d.local {
                    Some(id) => change.put_blob(d.path.clone(), id),
                    None => change.delete(d.path.clone()),
                };
            }
            Decision::Merged(bytes) => {
                from_local += 1;
                change.put(d.path.clone(), bytes);
            }
        }
        notes.extend(note);
    }
    notes.extend(agents_spawned_alike(store, base, local_tip, remote_tip)?);
    notes.extend(reservations_published_first(store, &snap, &kept_claims, &mut change)?);
    change.message = merge_message(remote, actor, &notes, from_local, from_remote);
    let tree = store.write_tree(remote_tree, &change)?;
    let commit = store.write_commit_object(tree, &[remote_tip, local_tip], &change.message, actor)?;
    Ok((commit, notes))
}

/// The local claims kept by the merge, against the reservations the
/// remote published first (`snap`): each loses the new patterns that
/// overlap them (docs/reservations.md, Sync). Only read when a kept claim
/// reserves something.
fn reservations_published_first(
    store: &Store,
    snap: &crate::store::Snapshot<'_>,
    kept: &[(String, ObjectId, Option<ObjectId>)],
    change: &mut Change,
) -> Result<Vec<Note>> {
    let parse = |id: ObjectId| -> Option<crate::claims::Claim> {
        let bytes = snap.read_blob(id).ok()?;
        toml::from_str(std::str::from_utf8(&bytes).ok()?).ok()
    };
    let mut local = Vec::new();
    for (path, id, base) in kept {
        if let Some(claim) = parse(*id).filter(|c| !c.reservations.is_empty()) {
            local.push((path, claim, base.and_then(parse)));
        }
    }
    if local.is_empty() {
        return Ok(Vec::new());
    }
    let ours: Vec<&crate::claims::Claim> = local.iter().map(|(_, c, _)| c).collect();
    let published: Vec<crate::claims::reservations::Holder> = super::reservations::holders(store, snap)?
        .into_iter()
        .filter(|h| !ours.iter().any(|c| c.id == h.claim))
        .collect();
    let mut notes = Vec::new();
    for (path, claim, base) in &local {
        if let Some((kept, lost)) = policy::reservations::settle(claim, base.as_ref(), &published) {
            change.put_toml((*path).clone(), &kept)?;
            notes.extend(lost.into_iter().map(Note::LostReservation));
        }
    }
    Ok(notes)
}

/// Counter files (the learn statistics) both sides changed to the same
/// bytes: the tree diff sees nothing to merge, yet each side counted events
/// of its own (two machines that each saw two failures of one command), so
/// both deltas are added like any other counters, never one side dropped.
fn counted_alike(store: &Store, base: Option<ObjectId>, local: ObjectId, remote: ObjectId) -> Result<Vec<Divergence>> {
    let mut out = Vec::new();
    let dirs = policy::RULES
        .iter()
        .filter(|(_, rule)| *rule == policy::Rule::Counters)
        .map(|(prefix, _)| prefix.trim_end_matches('/'));
    for dir in dirs {
        let files = |commit: Option<ObjectId>| -> Result<std::collections::BTreeMap<String, ObjectId>> {
            let snap = store.snapshot_at(commit)?;
            Ok(snap.files_under(dir)?.into_iter().map(|e| (e.path, e.id)).collect())
        };
        let (ours, theirs, before) = (files(Some(local))?, files(Some(remote))?, files(base)?);
        for (path, id) in ours {
            if theirs.get(&path) == Some(&id) && before.get(&path) != Some(&id) {
                out.push(Divergence {
                    base: before.get(&path).copied(),
                    local: Some(id),
                    remote: Some(id),
                    path,
                });
            }
        }
    }
    Ok(out)
}

/// Agents both sides added with byte-identical records: no path diverges,
/// so only comparing what each side added since the base finds them. The
/// pool is small: its tree is read whole on each side.
fn agents_spawned_alike(store: &Store, base: Option<ObjectId>, local: ObjectId, remote: ObjectId) -> Result<Vec<Note>> {
    let agents = |commit: Option<ObjectId>| -> Result<std::collections::BTreeMap<String, ObjectId>> {
        let snap = store.snapshot_at(commit)?;
        Ok(snap
            .files_under(crate::pool::DIR)?
            .into_iter()
            .map(|e| (e.path, e.id))
            .collect())
    };
    let (base, ours, theirs) = (agents(base)?, agents(Some(local))?, agents(Some(remote))?);
    let snap = store.snapshot_at(Some(remote))?;
    let mut notes = Vec::new();
    for (path, id) in &ours {
        if !base.contains_key(path) && theirs.get(path) == Some(id) {
            notes.push(policy::spawned_alike(path, &snap.read_blob(*id)?));
        }
    }
    Ok(notes)
}

/// The merge commit's message: what was kept from where, and every loser by name.
fn merge_message(remote: &str, actor: &str, notes: &[Note], from_local: usize, from_remote: usize) -> Message {
    let mut body = Vec::new();
    let mut subjects = Vec::new();
    for n in notes {
        match n {
            Note::Lost(l) => {
                body.push(format!("lost: {}", l.message()));
                subjects.push(format!("claim/{}", l.id));
            }
            Note::LostAgent(a) => {
                body.push(format!("lost: {}", a.message()));
                subjects.push(format!("agent/{}", a.id));
            }
            Note::LostReservation(r) => {
                body.push(format!("lost: {}", r.message()));
                subjects.push(format!("claim/{}", r.claim));
            }
            Note::RemoteWon(p) => body.push(format!("remote kept: {p}")),
        }
    }
    let mut msg = Message::new(format!(
        "sync: merge {remote} state ({from_local} local, {from_remote} remote change(s))"
    ))
    .body(body.join("\n"))
    .trailer(message::OP, "sync.merge")
    .trailer(message::ACTOR, actor);
    for s in subjects {
        msg = msg.trailer(message::SUBJECT, s);
    }
    msg
}

/// Where local stands against the last fetched remote state (no network).
#[derive(Debug, Clone, Serialize)]
pub struct Standing {
    pub ahead: usize,
    pub behind: usize,
    /// Claims changed by local operations the remote has not seen.
    pub unpublished_claims: Vec<String>,
}

pub fn standing(store: &Store, remote: &str) -> Result<Option<Standing>> {
    let (Some(local), Some(theirs)) = (store.tip()?, store.resolve(&tracking_ref(remote))?) else {
        return Ok(None);
    };
    let ahead: std::collections::HashSet<ObjectId> = store.commits_between(local, theirs)?.into_iter().collect();
    let behind = store.commits_between(theirs, local)?.len();
    let mut unpublished = Vec::new();
    if !ahead.is_empty() {
        let mut left = ahead.len();
        store.walk_history(local, |e| {
            if ahead.contains(&e.id) {
                left -= 1;
                if e.message.get(message::OP) != Some("sync.merge") {
                    for s in e.message.all(message::SUBJECT) {
                        if let Some(id) = s.strip_prefix("claim/") {
                            if !unpublished.iter().any(|u| u == id) {
                                unpublished.push(id.to_owned());
                            }
                        }
                    }
                }
            }
            left > 0
        })?;
    }
    Ok(Some(Standing {
        ahead: ahead.len(),
        behind,
        unpublished_claims: unpublished,
    }))
}
