//! Path reservations on claims (docs/reservations.md): the pattern dialect,
//! the overlap rule between two patterns, the conflict rule between
//! exclusive and shared reservations, and a compiled set answering "who
//! reserves this path". Pure: callers load the claims and store the result.
//!
//! A pattern is a repository-relative, `/`-separated path or glob. A
//! pattern covers the paths it matches *and everything under them* (as a
//! git pathspec covers a directory's files): `src/store` covers
//! `src/store/mod.rs`, `src/*` covers `src/a/b.rs`. In globs `*`, `?` and
//! `[...]` stay within one path segment and `**` (a whole segment) spans
//! any number of them.

use std::collections::HashMap;

use globset::{GlobBuilder, GlobMatcher};
use serde::{Deserialize, Serialize};

use super::{require, require_owner, Claim, ClaimState, Ctx, Invalid, Refusal, Transition};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::ids::{Actor, ClaimId};

/// The longest pattern accepted.
pub const PATTERN_MAX: usize = 1024;
/// The most patterns one claim may reserve.
pub const PER_CLAIM_MAX: usize = 256;

/// A validated reservation pattern (see the module doc for the dialect).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Pattern(String);

const META: &[char] = &['*', '?', '[', ']', '{', '}'];

impl Pattern {
    /// Parse a pattern as typed: a trailing `/` (a directory) and a leading
    /// `./` are dropped; absolute paths, `..`, empty segments, backslashes
    /// and control characters are refused.
    pub fn parse(raw: &str) -> std::result::Result<Pattern, Invalid> {
        let bad = |why: String| Invalid::Pattern {
            given: shorten(raw),
            why,
        };
        let s = syntax(raw).map_err(bad)?;
        let pattern = Pattern(s.to_owned());
        if pattern.is_glob() {
            glob(s).map_err(|e| bad(e.kind().to_string()))?;
        }
        Ok(pattern)
    }

    /// A pattern as the read index stored it (written from a parsed one):
    /// its form is checked again, its glob is compiled where it is used.
    pub fn from_index(s: &str) -> Option<Pattern> {
        (syntax(s).ok()? == s).then(|| Pattern(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Has wildcards (else it is a literal path: itself and what is under it).
    pub fn is_glob(&self) -> bool {
        self.0.contains(META)
    }

    fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl TryFrom<String> for Pattern {
    type Error = Invalid;
    fn try_from(s: String) -> std::result::Result<Pattern, Invalid> {
        Pattern::parse(&s)
    }
}

impl From<Pattern> for String {
    fn from(p: Pattern) -> String {
        p.0
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The pattern's form, normalised (see [`Pattern::parse`]), or why not.
fn syntax(raw: &str) -> std::result::Result<&str, String> {
    let mut s = raw.strip_prefix("./").unwrap_or(raw);
    while let Some(rest) = s.strip_suffix('/') {
        s = rest;
    }
    if s.is_empty() || s == "." {
        return Err("it names no path (to reserve everything, use **)".into());
    }
    if s.len() > PATTERN_MAX {
        return Err(format!("it is longer than {PATTERN_MAX} bytes"));
    }
    if s.starts_with('/') {
        return Err("it is absolute; patterns are relative to the repository root".into());
    }
    if s.contains('\\') {
        return Err("backslashes are not allowed; separate segments with /".into());
    }
    if s.chars().any(char::is_control) {
        return Err("it contains control characters".into());
    }
    for seg in s.split('/') {
        match seg {
            "" => return Err("it has an empty segment (//)".into()),
            "." | ".." => return Err("it has a . or .. segment".into()),
            _ if seg.contains("**") && seg != "**" => return Err("** must be a whole segment, as in src/**/x".into()),
            _ => {}
        }
    }
    Ok(s)
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

fn glob(pattern: &str) -> std::result::Result<GlobMatcher, globset::Error> {
    Ok(GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(false)
        .build()?
        .compile_matcher())
}

/// Exclusive keeps every other claim's reservation off the paths; shared
/// admits other shared reservations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Exclusive,
    Shared,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Exclusive => "exclusive",
            Mode::Shared => "shared",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reserved pattern of a claim (`[[reservations]]` in the claim file).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Reservation {
    pub pattern: Pattern,
    #[serde(default)]
    pub mode: Mode,
}

/// Can one path be covered by both patterns? Exact when both are literal
/// (equal, or one a directory prefix of the other) and when one segment is
/// literal and the other a wildcard segment; conservative (it may say yes
/// where no path exists) for two wildcard segments and from a `**` on.
pub fn overlap(a: &Pattern, b: &Pattern) -> bool {
    // A pattern covers what is under what it matches: compare the common
    // depth only; a shorter pattern covers whatever the longer adds.
    for (x, y) in a.segments().zip(b.segments()) {
        if x == "**" || y == "**" {
            return true;
        }
        if !segments_may_meet(x, y) {
            return false;
        }
    }
    true
}

/// Can one path segment match both segment patterns?
fn segments_may_meet(x: &str, y: &str) -> bool {
    let (x_glob, y_glob) = (x.contains(META), y.contains(META));
    match (x_glob, y_glob) {
        (false, false) => x == y,
        (true, false) => glob(x).is_ok_and(|g| g.is_match(y)),
        (false, true) => glob(y).is_ok_and(|g| g.is_match(x)),
        // Any match starts with the literal head and ends with the literal
        // tail of each: incompatible heads or tails cannot meet.
        (true, true) => {
            let (hx, hy) = (head(x), head(y));
            let (tx, ty) = (tail(x), tail(y));
            (hx.starts_with(hy) || hy.starts_with(hx)) && (tx.ends_with(ty) || ty.ends_with(tx))
        }
    }
}

fn head(seg: &str) -> &str {
    seg.find(META).map_or(seg, |i| &seg[..i])
}

fn tail(seg: &str) -> &str {
    seg.rfind(META).map_or(seg, |i| &seg[i + 1..])
}

/// Do two reservations of different claims conflict? Exclusive meets
/// anything overlapping; shared meets shared freely.
pub fn conflicts(a: &Reservation, b: &Reservation) -> bool {
    !(a.mode == Mode::Shared && b.mode == Mode::Shared) && overlap(&a.pattern, &b.pattern)
}

/// A claim's reservations as the checks see them: who holds them, in
/// which state. Made from a claim file (or the read index's row of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub claim: ClaimId,
    pub owner: Actor,
    pub state: ClaimState,
    pub generation: u64,
    pub lease_until: Option<Timestamp>,
    pub reservations: Vec<Reservation>,
}

impl Holder {
    /// The claim's reservations; `None` when it reserves nothing.
    pub fn of(claim: &Claim) -> Option<Holder> {
        (!claim.reservations.is_empty()).then(|| Holder {
            claim: claim.id.clone(),
            owner: claim.owner.clone(),
            state: claim.state,
            generation: claim.generation,
            lease_until: claim.lease_until,
            reservations: claim.reservations.clone(),
        })
    }

    /// Reservations count while their claim is held and its lease runs.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.state.is_held() && self.lease_until.is_none_or(|until| until > now)
    }
}

/// Only the holders whose reservations count at `now`.
pub fn active(holders: impl IntoIterator<Item = Holder>, now: Timestamp) -> Vec<Holder> {
    holders.into_iter().filter(|h| h.is_active(now)).collect()
}

/// One reservation refused because another claim's meets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The pattern asked for.
    pub pattern: Pattern,
    pub mode: Mode,
    /// The other claim, its holder, and its pattern that meets ours.
    pub claim: ClaimId,
    pub holder: Actor,
    pub theirs: Pattern,
    pub their_mode: Mode,
}

impl Conflict {
    pub fn message(&self) -> String {
        format!(
            "{} ({}) overlaps {} reserved {} by {} on {}",
            self.pattern, self.mode, self.theirs, self.their_mode, self.holder, self.claim
        )
    }
}

/// Every conflict between `wanted` (for claim `id`) and the reservations of
/// the other active claims.
pub fn conflicts_with(id: &ClaimId, wanted: &[Reservation], others: &[Holder]) -> Vec<Conflict> {
    let mut out = Vec::new();
    for h in others.iter().filter(|h| &h.claim != id) {
        for theirs in &h.reservations {
            for ours in wanted.iter().filter(|ours| conflicts(ours, theirs)) {
                out.push(Conflict {
                    pattern: ours.pattern.clone(),
                    mode: ours.mode,
                    claim: h.claim.clone(),
                    holder: h.owner.clone(),
                    theirs: theirs.pattern.clone(),
                    their_mode: theirs.mode,
                });
            }
        }
    }
    out
}

/// The refusal of a reservation that meets other claims' (exit 1).
pub fn refusal(id: &ClaimId, conflicts: &[Conflict]) -> Refusal {
    Refusal::PathsReserved {
        id: id.clone(),
        conflicts: conflicts.to_vec(),
    }
}

/// `wanted` merged into `current`: a pattern already there takes the new
/// mode; the others are appended in order. Refused past [`PER_CLAIM_MAX`].
pub fn add(current: &[Reservation], wanted: &[Reservation]) -> Result<Vec<Reservation>, Refusal> {
    let mut out = current.to_vec();
    for w in wanted {
        match out.iter_mut().find(|r| r.pattern == w.pattern) {
            Some(r) => r.mode = w.mode,
            None => out.push(w.clone()),
        }
    }
    if out.len() > PER_CLAIM_MAX {
        return Err(Refusal::TooManyPatterns {
            max: PER_CLAIM_MAX,
            asked: out.len(),
        });
    }
    Ok(out)
}

/// `claims reserve --paths/--release-paths` (and the holder's repeat
/// `claims claim --paths`): the owner adds and drops patterns of its held
/// claim. Conflicts with other claims are checked by the caller, which
/// sees them ([`conflicts_with`]).
pub fn reserve(
    existing: Option<&Claim>,
    id: &ClaimId,
    ctx: &Ctx<'_>,
    wanted: &[Reservation],
    released: &[Pattern],
) -> Result<Transition, Refusal> {
    let current = require(existing, id)?;
    require_owner(current, ctx, "reserve paths for")?;
    let kept: Vec<Reservation> = current
        .reservations
        .iter()
        .filter(|r| !released.contains(&r.pattern))
        .cloned()
        .collect();
    let now = add(&kept, wanted)?;
    if now == current.reservations {
        return Ok(Transition::unchanged(
            current.clone(),
            format!("claims: {id} already reserves that"),
        ));
    }
    let mut claim = current.clone();
    claim.reservations = now;
    claim.updated_at = ctx.now;
    let list = |rs: &mut dyn Iterator<Item = String>| rs.collect::<Vec<_>>().join(" ");
    let mut parts = Vec::new();
    if !wanted.is_empty() {
        parts.push(format!(
            "reserve {}",
            list(&mut wanted.iter().map(|r| r.pattern.to_string()))
        ));
    }
    if !released.is_empty() {
        parts.push(format!(
            "release {}",
            list(&mut released.iter().map(ToString::to_string))
        ));
    }
    Ok(Transition::changed(
        claim,
        format!("claims: {} on {id} by {}", parts.join(", "), ctx.actor),
    ))
}

/// A reservation found on a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    pub claim: ClaimId,
    pub holder: Actor,
    pub pattern: Pattern,
    pub mode: Mode,
}

/// The active reservations, indexed once for matching: literal patterns in
/// a map looked up by each of a path's prefixes (a pattern covers what is
/// under a match); wildcard patterns bucketed by their literal directory
/// (`src/**/mod.rs` under `src`), each compiled the first time a path under
/// that directory asks, so a check pays only for the globs that can match
/// the paths it asks about — not for compiling all of them.
pub struct Index {
    holders: Vec<Holder>,
    /// Literal pattern -> (holder, reservation) positions.
    literal: HashMap<String, Vec<(usize, usize)>>,
    /// Literal directory of a glob ("" for the root) -> its globs.
    globs: HashMap<String, Vec<LazyGlob>>,
    glob_count: usize,
}

/// A wildcard pattern, compiled on first use.
struct LazyGlob {
    at: (usize, usize),
    matcher: std::cell::OnceCell<Option<GlobMatcher>>,
}

/// The segments of a glob before the first one with a wildcard.
fn literal_dir(pattern: &str) -> &str {
    let mut end = 0;
    for (i, seg) in pattern.split('/').enumerate() {
        if seg.contains(META) {
            break;
        }
        end = if i == 0 { seg.len() } else { end + 1 + seg.len() };
    }
    &pattern[..end]
}

impl Index {
    pub fn new(holders: Vec<Holder>) -> Index {
        let mut literal: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        let mut globs: HashMap<String, Vec<LazyGlob>> = HashMap::new();
        let mut glob_count = 0;
        for (h, holder) in holders.iter().enumerate() {
            for (r, res) in holder.reservations.iter().enumerate() {
                if res.pattern.is_glob() {
                    globs
                        .entry(literal_dir(res.pattern.as_str()).to_owned())
                        .or_default()
                        .push(LazyGlob {
                            at: (h, r),
                            matcher: std::cell::OnceCell::new(),
                        });
                    glob_count += 1;
                } else {
                    literal.entry(res.pattern.0.clone()).or_default().push((h, r));
                }
            }
        }
        Index {
            holders,
            literal,
            globs,
            glob_count,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.literal.is_empty() && self.glob_count == 0
    }

    /// How many reservations it holds.
    pub fn len(&self) -> usize {
        self.holders.iter().map(|h| h.reservations.len()).sum()
    }

    pub fn holders(&self) -> &[Holder] {
        &self.holders
    }

    /// Every reservation covering `path` (repository-relative, `/`-separated).
    pub fn who(&self, path: &str) -> Vec<Hit> {
        let mut found: Vec<(usize, usize)> = Vec::new();
        let prefixes: Vec<&str> = prefixes(path).collect();
        for prefix in &prefixes {
            if let Some(at) = self.literal.get(*prefix) {
                found.extend(at);
            }
        }
        if self.glob_count > 0 {
            // A glob can match `path` or one of its ancestors only when its
            // literal directory is an ancestor of `path` (or the root).
            for dir in std::iter::once("").chain(prefixes.iter().copied()) {
                for g in self.globs.get(dir).into_iter().flatten() {
                    let matcher = g.matcher.get_or_init(|| {
                        let (h, r) = g.at;
                        glob(self.holders[h].reservations[r].pattern.as_str()).ok()
                    });
                    if let Some(m) = matcher {
                        if prefixes.iter().any(|p| m.is_match(p)) {
                            found.push(g.at);
                        }
                    }
                }
            }
        }
        found.sort_unstable();
        found.dedup();
        found
            .into_iter()
            .map(|(h, r)| {
                let holder = &self.holders[h];
                let res = &holder.reservations[r];
                Hit {
                    claim: holder.claim.clone(),
                    holder: holder.owner.clone(),
                    pattern: res.pattern.clone(),
                    mode: res.mode,
                }
            })
            .collect()
    }
}

/// Can `pattern` cover `path` as [`Index::who`] matches them? A cheap
/// test on the text alone, to pick the few reservations worth building an
/// [`Index`] of: true for every pattern `who` would report on `path` (a
/// literal one that is `path` or one of its directories; a glob whose
/// literal directory is the root, `path` or one of its directories), and
/// maybe for others, which `who` then rules out.
pub fn may_cover(pattern: &str, path: &str) -> bool {
    // One pass over the common prefix (the hook asks this of every held
    // pattern): `may_cover` is the literal directory (the segments before
    // the first wildcard; all of a literal pattern) being `path` or one of
    // its directories, as `literal_dir` and `Index::who` have it.
    let is_meta = |b: &u8| META.contains(&char::from(*b));
    let (p, q) = (pattern.as_bytes(), path.as_bytes());
    for (i, b) in p.iter().enumerate() {
        if is_meta(b) {
            // Everything before matched: the literal directory ends at a `/`
            // both share, or is the root.
            return true;
        }
        if q.get(i) != Some(b) {
            // A mismatch inside the literal directory rules it out, one in
            // the segment of the first wildcard does not.
            return p[i..].iter().take_while(|&&c| c != b'/').any(is_meta);
        }
    }
    q.get(p.len()).is_none_or(|&b| b == b'/')
}

/// `a/b/c` -> `a`, `a/b`, `a/b/c`.
fn prefixes(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/')
        .map(move |(i, _)| &path[..i])
        .chain(std::iter::once(path))
}

/// A path as a reservation check sees it: relative to the repository root,
/// `/`-separated, without `.` or `..`; `None` when it leaves the
/// repository (reservations say nothing about it) or names the root.
pub fn normalise(path: &std::path::Path, cwd: &std::path::Path, root: &std::path::Path) -> Option<String> {
    use std::path::Component;
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let mut parts: Vec<std::ffi::OsString> = Vec::new();
    for c in joined.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => parts.clear(),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop();
            }
            Component::Normal(s) => parts.push(s.to_owned()),
        }
    }
    let mut root_parts = Vec::new();
    for c in root.components() {
        match c {
            Component::Normal(s) => root_parts.push(s.to_owned()),
            Component::ParentDir => {
                root_parts.pop();
            }
            _ => {}
        }
    }
    if parts.len() <= root_parts.len() || parts[..root_parts.len()] != root_parts[..] {
        return None;
    }
    let rel: Vec<&str> = parts[root_parts.len()..]
        .iter()
        .map(|p| p.to_str())
        .collect::<Option<_>>()?;
    Some(rel.join("/"))
}

/// Pairs of active claims whose reservations conflict (a merge of two
/// machines' states can bring them in): each pair once.
pub fn overlaps(holders: &[Holder]) -> Vec<(Conflict, ClaimId)> {
    let mut out = Vec::new();
    for (i, a) in holders.iter().enumerate() {
        for found in conflicts_with(&a.claim, &a.reservations, &holders[i + 1..]) {
            out.push((found, a.claim.clone()));
        }
    }
    out
}

/// Is `claim` gone (completed or expired) while its file still lists
/// reservations (an older baton released it, keeping the field it did not
/// know)? They count for nothing: doctor says so.
pub fn left_on_a_gone_claim(claim: &Claim) -> bool {
    !claim.reservations.is_empty() && !claim.state.is_held()
}

pub mod check;
#[cfg(test)]
mod tests;
