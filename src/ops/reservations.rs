//! Path reservations (docs/reservations.md) as operations: reserving and
//! releasing paths on a held claim (refused when another claim's
//! reservation meets them, or taken over with `--force --reason`),
//! `claims who`, and the checks the pre-commit hook and the agents'
//! edit-tool hooks run. The rules are [`crate::claims::reservations`]'s;
//! this module loads the claims (through the read index) and commits.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::claims::{subject, transition_forcing};
use super::index::{HeldFile, HeldKey};
use super::{index, Applied, Session};
use crate::claims::reservations::{self as rules, Conflict, Hit, Holder, Index, Mode, Pattern, Reservation};
use crate::claims::{self, Claim, Transition};
use crate::clock::Timestamp;
use crate::error::code;
use crate::error::{Error, Result};
use crate::ids::{Actor, ClaimId};
use crate::state;
use crate::store::{message, Change, Snapshot, Store};

/// Every claim's reservations in `snap` (held or not), through the read
/// index. A claim file that does not parse reserves nothing here: the
/// checks that run on every commit and edit must not stop on it (doctor
/// and `claims list` report it).
pub fn holders(store: &Store, snap: &Snapshot<'_>) -> Result<Vec<Holder>> {
    let key = snap.subtree(claims::DIR)?;
    let file = key.and_then(|k| HeldFile::read(&index::held_file(store), HeldKey::Tree(k)));
    if let Some((file, held)) = file.and_then(|f| f.holders().map(|h| (f, h))) {
        stamp(store, &file, snap);
        return Ok(held);
    }
    let held: Vec<Holder> = index::rows::<index::Reserved>(store, snap)?
        .into_iter()
        .filter_map(|(_, row)| row.ok().flatten())
        .collect();
    if let Some(key) = key {
        index::write_held(store, key, snap.commit(), &held);
    }
    Ok(held)
}

/// The held file, read for `snap`'s tree, names `snap`'s commit from now
/// on: the next edit hook on this tip finds it without opening the
/// repository ([`edit_verdict_quick`]).
fn stamp(store: &Store, file: &HeldFile, snap: &Snapshot<'_>) {
    if let Some(commit) = snap.commit().filter(|c| file.commit != Some(*c)) {
        file.restamp(store, commit);
    }
}

/// The reservations that count at `now`, compiled for matching.
pub fn active_index(store: &Store, snap: &Snapshot<'_>, now: Timestamp) -> Result<Index> {
    Ok(Index::new(rules::active(holders(store, snap)?, now)))
}

/// The active reservations that may cover `paths` (repository-relative),
/// compiled for matching; `None` when no reservation is active at all.
/// For these paths the index answers as [`active_index`]'s does — the same
/// hits in the same order — but only the claims with a pattern that may
/// cover one of them are built (a check of one edited file at 1 000 held
/// reservations builds one or two, not all).
pub fn covering_index(store: &Store, snap: &Snapshot<'_>, now: Timestamp, paths: &[String]) -> Result<Option<Index>> {
    let covers = |pattern: &str| paths.iter().any(|p| rules::may_cover(pattern, p));
    let file = snap
        .subtree(claims::DIR)?
        .and_then(|k| HeldFile::read(&index::held_file(store), HeldKey::Tree(k)));
    let skimmed = file.and_then(|f| {
        let skimmed = f.skim(now, covers)?;
        stamp(store, &f, snap);
        Some(skimmed)
    });
    let Some(skimmed) = skimmed else {
        let index = active_index(store, snap, now)?;
        return Ok((!index.is_empty()).then_some(index));
    };
    Ok(skimmed.any_active.then(|| Index::new(skimmed.holders)))
}

/// What `claims reserve` asks for.
#[derive(Debug, Clone, Default)]
pub struct ReserveArgs {
    pub paths: Vec<Reservation>,
    pub release: Vec<Pattern>,
    /// `--force --reason`: take overlapping paths from other claims.
    pub force: Option<String>,
}

/// `claims reserve <id> --paths … [--shared] [--release-paths …]`: the
/// holder adds and drops reserved patterns of its held claim.
pub fn reserve(s: &Session, id: &ClaimId, args: &ReserveArgs) -> Result<Applied<Transition>> {
    if args.paths.is_empty() && args.release.is_empty() {
        return Err(crate::claims::Invalid::NothingToReserve(id.clone()).into());
    }
    transition_forcing(s, id, "claims.reserve", true, args.force.as_deref(), |_, c, ctx| {
        rules::reserve(c.as_ref(), id, ctx, &args.paths, &args.release).map_err(Error::from)
    })
}

/// Patterns typed on the command line (or given to a tool), in `mode`.
pub fn parse_patterns(raw: &[String], mode: Mode) -> Result<Vec<Reservation>> {
    raw.iter()
        .map(|p| {
            Ok(Reservation {
                pattern: Pattern::parse(p)?,
                mode,
            })
        })
        .collect()
}

/// Checks a claim transition's new reservations against every other active
/// claim's, inside the compare-and-swap: refused naming the overlap, or
/// with `force`, the overlapping patterns are taken from the other claims
/// (returned, to be written in the same commit).
pub(super) fn guard(
    store: &Store,
    snap: &Snapshot<'_>,
    now: Timestamp,
    before: &[Reservation],
    transition: &mut Transition,
    force: Option<&str>,
) -> Result<Vec<Claim>> {
    let new: Vec<Reservation> = transition
        .claim
        .reservations
        .iter()
        .filter(|r| !before.contains(r))
        .cloned()
        .collect();
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let id = transition.claim.id.clone();
    let others = rules::active(holders(store, snap)?, now);
    let found = rules::conflicts_with(&id, &new, &others);
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let Some(reason) = force else {
        return Err(rules::refusal(&id, &found).into());
    };
    transition.forced = Some(reason.to_owned());
    take_over(snap, now, &found, transition)
}

/// The other claims with the patterns of `found` taken off them.
fn take_over(
    snap: &Snapshot<'_>,
    now: Timestamp,
    found: &[Conflict],
    transition: &mut Transition,
) -> Result<Vec<Claim>> {
    let mut taken: Vec<Claim> = Vec::new();
    for c in found {
        if !taken.iter().any(|t| t.id == c.claim) {
            match state::claim(snap, &c.claim)? {
                Some(claim) => taken.push(claim),
                None => continue,
            }
        }
        if let Some(claim) = taken.iter_mut().find(|t| t.id == c.claim) {
            claim.reservations.retain(|r| r.pattern != c.theirs);
            claim.updated_at = now;
        }
        transition.warnings.push(format!(
            "took {} ({}) from {} held by {}",
            c.theirs, c.their_mode, c.claim, c.holder
        ));
    }
    Ok(taken)
}

/// The other claims a forced reservation changed, into its commit.
pub(super) fn put_taken(change: &mut Change, taken: &[Claim]) -> Result<()> {
    for claim in taken {
        change.message = std::mem::take(&mut change.message).trailer(message::SUBJECT, subject(&claim.id));
        change.put_toml(claims::path(&claim.id), claim)?;
    }
    Ok(())
}

/// Who reserves one path.
#[derive(Debug, Clone, Serialize)]
pub struct Who {
    /// Repository-relative.
    pub path: String,
    pub reservations: Vec<Hit>,
}

/// A path typed relative to `cwd` (or absolute), as a repository-relative
/// path; refused when it is outside the work tree.
pub fn repo_path(s: &Session, raw: &Path, cwd: &Path) -> Result<String> {
    let root = root(s)?;
    rules::normalise(raw, cwd, &root).ok_or_else(|| {
        crate::claims::Invalid::OutsideRepository {
            path: raw.to_path_buf(),
            root: root.clone(),
        }
        .into()
    })
}

/// The work tree's root, absolute.
pub fn root(s: &Session) -> Result<PathBuf> {
    let base = s.base_dir();
    std::path::absolute(&base).map_err(|e| Error::io("resolving the repository root", e))
}

/// `claims who <path>…`: the active reservations covering each
/// (repository-relative) path.
pub fn who(s: &Session, paths: &[String]) -> Result<Vec<Who>> {
    let snap = s.snapshot()?;
    let index = covering_index(&s.store, &snap, s.now, paths)?;
    Ok(paths
        .iter()
        .map(|p| Who {
            path: p.clone(),
            reservations: index.as_ref().map(|i| i.who(p)).unwrap_or_default(),
        })
        .collect())
}

/// A path someone else's reservation keeps from `actor`.
#[derive(Debug, Clone, Serialize)]
pub struct Blocked {
    pub path: String,
    pub hit: Hit,
}

/// How an actor's write to some paths stands against the reservations.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Standing {
    /// Under another actor's exclusive reservation.
    pub exclusive: Vec<Blocked>,
    /// Under another actor's shared reservation only.
    pub shared: Vec<Blocked>,
    /// Of the paths above, those the actor holds no reservation on at all.
    pub unclaimed: Vec<String>,
}

impl Standing {
    pub fn is_clear(&self) -> bool {
        self.exclusive.is_empty() && self.shared.is_empty()
    }
}

/// Where `actor` stands writing `paths`: its own reservations pass; a path
/// another actor reserves exclusively is blocked (unless the actor also
/// holds a reservation on it — a handoff left both), one reserved shared
/// by others only is to be asked about.
pub fn standing(index: &Index, actor: &Actor, paths: &[String]) -> Standing {
    let mut out = Standing::default();
    for path in paths {
        let hits = index.who(path);
        if hits.is_empty() || hits.iter().any(|h| &h.holder == actor) {
            continue;
        }
        out.unclaimed.push(path.clone());
        let (exclusive, shared): (Vec<Hit>, Vec<Hit>) = hits.into_iter().partition(|h| h.mode == Mode::Exclusive);
        match exclusive.into_iter().next() {
            Some(hit) => out.exclusive.push(Blocked {
                path: path.clone(),
                hit,
            }),
            None => out.shared.extend(shared.into_iter().take(1).map(|hit| Blocked {
                path: path.clone(),
                hit,
            })),
        }
    }
    out
}

/// The line naming a blocked path: `src/x.rs is reserved exclusive by
/// agent:alice (T-1, src/**)`.
pub fn describe(b: &Blocked) -> String {
    format!(
        "{} is reserved {} by {} ({}, pattern {})",
        b.path, b.hit.mode, b.hit.holder, b.hit.claim, b.hit.pattern
    )
}

/// What to ask of the holder.
pub fn ask_hint(b: &Blocked, actor: &Actor) -> String {
    format!(
        "ask {} to hand off {} (`baton claims handoff {} --to {actor}`, run by them) or to release those paths",
        b.hit.holder, b.hit.claim, b.hit.claim
    )
}

/// The paths staged for the commit being made, read once
/// (`git diff --cached --name-only -z`: repository-relative, as git
/// stores them, renames as their new path).
pub fn staged(s: &Session) -> Result<Vec<String>> {
    let out = s
        .store
        .git()
        .args(["diff", "--cached", "--name-only", "-z", "--no-renames", "--no-ext-diff"])
        .output()
        .map_err(|e| Error::io("running git diff --cached", e))?;
    if !out.status.success() {
        return Err(Error::environment(
            code::GIT_FAILED,
            format!(
                "git diff --cached failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        )
        .with_hint("check that git works in this repository (`git status`)"));
    }
    Ok(out
        .stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect())
}

/// The most blocked paths a refusal lists one by one.
const LISTED: usize = 10;

/// The pre-commit check (`baton doctor --hook`): the staged paths against
/// every active reservation, as the committer — the actor baton resolves
/// (`baton whoami`). Another actor's exclusive reservation refuses the
/// commit, naming path, claim and holder; a shared one is a warning. No
/// active reservation: nothing is run (not even git).
pub fn hook_findings(s: &Session, snap: &Snapshot<'_>) -> Vec<crate::finding::Finding> {
    use crate::finding::Finding;
    const CHECK: &str = "claims.reservations";
    let index = match active_index(&s.store, snap, s.now) {
        Ok(index) if index.is_empty() => return Vec::new(),
        Ok(index) => index,
        Err(e) => return vec![Finding::error(CHECK, e.message()).hint(e.hint)],
    };
    if s.store.work_dir().is_none() {
        return Vec::new();
    }
    let (actor, paths) = match s.actor().and_then(|a| Ok((a, staged(s)?))) {
        Ok(found) => found,
        Err(e) => return vec![Finding::error(CHECK, e.message()).hint(e.hint)],
    };
    let standing = standing(&index, &actor, &paths);
    let escape = "or commit anyway with `git commit --no-verify`";
    let mut out = Vec::new();
    for b in standing.exclusive.iter().take(LISTED) {
        out.push(
            Finding::error(CHECK, format!("{}; you commit as {actor}", describe(b)))
                .hint(format!("{}, {escape}", ask_hint(b, &actor))),
        );
    }
    if standing.exclusive.len() > LISTED {
        out.push(
            Finding::error(
                CHECK,
                format!(
                    "and {} more staged path(s) reserved exclusively by others",
                    standing.exclusive.len() - LISTED
                ),
            )
            .hint(format!("see them with `baton claims who <path>...`, {escape}")),
        );
    }
    for b in standing.shared.iter().take(LISTED) {
        out.push(
            Finding::warn(CHECK, format!("{} (shared): tell them you change it", describe(b)))
                .hint(ask_hint(b, &actor)),
        );
    }
    if out.is_empty() {
        out.push(Finding::ok(
            CHECK,
            format!(
                "{} staged path(s) clear of {} held reservation(s) for {actor}",
                paths.len(),
                index.len()
            ),
        ));
    }
    out
}

/// No repository: nothing reserved, the edit passes.
pub fn edit_verdict_outside() -> crate::learn::judge::Verdict {
    use crate::learn::judge::{Level, Verdict};
    Verdict {
        level: Level::Low,
        decision: Level::Low.decision(),
        reasons: Vec::new(),
        families: Vec::new(),
    }
}

/// The verdict on an agent's file edit (the edit-tool hooks, `learn
/// pre-command --edit`): `paths` as the payload names them, absolute or
/// relative to `cwd`; those outside the repository are not baton's to
/// judge. Another actor's exclusive reservation -> high (deny), a shared
/// one -> medium (ask), the actor's own or none -> low (pass silently).
pub fn edit_verdict(s: &Session, paths: &[String], cwd: &Path) -> Result<crate::learn::judge::Verdict> {
    let root = root(s)?;
    let paths: Vec<String> = paths
        .iter()
        .filter_map(|p| rules::normalise(Path::new(p), cwd, &root))
        .collect();
    if paths.is_empty() {
        return Ok(edit_verdict_outside());
    }
    let snap = match s.store.tip()? {
        Some(tip) => s.store.snapshot_at(Some(tip))?,
        None => return Ok(edit_verdict_outside()),
    };
    let Some(index) = covering_index(&s.store, &snap, s.now, &paths)? else {
        return Ok(edit_verdict_outside());
    };
    Ok(judged(&index, &s.actor()?, &paths))
}

/// [`edit_verdict`] for the repository around `dir` (also the `cwd` of
/// relative paths), from the state tip's ref file and the held file alone,
/// without opening the repository ([`crate::store::quick`]) — `None`
/// whenever that cannot decide exactly as [`edit_verdict`] would: the
/// repository is not a plain one, the held file is not stamped with the
/// tip (the first edit after each state commit), or the actor would come
/// from the git configuration.
pub fn edit_verdict_quick(
    dir: &Path,
    actor_flag: Option<&str>,
    paths: &[String],
) -> Option<Result<crate::learn::judge::Verdict>> {
    // As `Session::open`: a bad --actor fails first (the full open says how).
    if actor_flag.is_some_and(|a| Actor::parse(a).is_err()) {
        return None;
    }
    let quick = crate::store::quick::tip(dir)?;
    let now = crate::clock::now().ok()?;
    let cwd = std::path::absolute(dir).ok()?;
    let paths: Vec<String> = paths
        .iter()
        .filter_map(|p| rules::normalise(Path::new(p), &cwd, &quick.work_dir))
        .collect();
    if paths.is_empty() {
        return Some(Ok(edit_verdict_outside()));
    }
    let file = HeldFile::read(&index::held_file_in(&quick.common_dir), HeldKey::Commit(quick.tip?))?;
    let skimmed = file.skim(now, |pattern| paths.iter().any(|p| rules::may_cover(pattern, p)))?;
    if !skimmed.any_active {
        return Some(Ok(edit_verdict_outside()));
    }
    let actor = match super::actor_given(actor_flag)? {
        Ok((actor, _)) => actor,
        Err(e) => return Some(Err(e)),
    };
    Some(Ok(judged(&Index::new(skimmed.holders), &actor, &paths)))
}

/// The verdict on `actor` writing `paths` (repository-relative).
fn judged(index: &Index, actor: &Actor, paths: &[String]) -> crate::learn::judge::Verdict {
    use crate::learn::judge::{Level, Reason};
    let standing = standing(index, actor, paths);
    let reason = |b: &Blocked, level: Level| Reason {
        rule: "reservation".into(),
        level,
        command: b.path.clone(),
        why: format!(
            "{}; {actor} holds no reservation on it: {}",
            describe(b),
            ask_hint(b, actor)
        ),
    };
    let mut verdict = edit_verdict_outside();
    verdict
        .reasons
        .extend(standing.exclusive.iter().map(|b| reason(b, Level::High)));
    verdict
        .reasons
        .extend(standing.shared.iter().map(|b| reason(b, Level::Medium)));
    verdict.level = verdict.reasons.iter().map(|r| r.level).max().unwrap_or(Level::Low);
    verdict.decision = verdict.level.decision();
    verdict
}

#[cfg(test)]
mod tests;
