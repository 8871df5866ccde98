//! `claims/` once more, for the reservation checks (docs/reservations.md):
//! per claim only what the pre-commit hook, the edit-tool hook and
//! `claims who` need — holder, state, lease and reserved patterns — in a
//! file of its own, so a check reads a few bytes per claim that reserves
//! nothing instead of the listing's whole rows.

use std::path::{Path, PathBuf};

use gix::ObjectId;

use super::{Collection, Dec, Enc};
use crate::claims::reservations::{Holder, Mode, Pattern, Reservation};
use crate::claims::{self, Claim, ClaimState};
use crate::error::Result;
use crate::ids::{Actor, ClaimId};
use crate::state;
use crate::store::{Entry, Snapshot};

/// `claims/`: a claim's [`Holder`], `None` for one that reserves nothing.
pub struct Reserved;

impl Collection for Reserved {
    const NAME: &'static str = "reservations";
    const DIR: &'static str = claims::DIR;
    type Row = Option<Holder>;

    fn read(snap: &Snapshot<'_>, entry: &Entry) -> Result<Vec<u8>> {
        state::read_toml_entry(snap, entry)
    }

    fn parse(path: &str, bytes: &[u8]) -> Result<Option<Holder>> {
        state::parse_toml(path, bytes, |c: &Claim| c.schema).map(|c| Holder::of(&c))
    }

    fn encode(row: &Option<Holder>, out: &mut Enc) {
        let Some(h) = row else {
            out.u8(0);
            return;
        };
        out.u8(1);
        out.str(h.claim.as_str());
        out.u8(ClaimState::ALL.iter().position(|s| *s == h.state).unwrap_or(0) as u8);
        out.str(&h.owner.to_string());
        out.u64(h.generation);
        out.opt_time(h.lease_until);
        out.u64(h.reservations.len() as u64);
        for r in &h.reservations {
            out.str(r.pattern.as_str());
            out.u8(matches!(r.mode, Mode::Shared) as u8);
        }
    }

    fn decode(input: &mut Dec<'_>) -> Option<Option<Holder>> {
        if input.u8()? == 0 {
            return Some(None);
        }
        let claim = ClaimId::parse(input.str()?).ok()?;
        let state = *ClaimState::ALL.get(usize::from(input.u8()?))?;
        let owner = Actor::parse(input.str()?).ok()?;
        let generation = input.u64()?;
        let lease_until = input.opt_time()?;
        let count = usize::try_from(input.u64()?).ok()?;
        let mut reservations = Vec::with_capacity(count.min(claims::reservations::PER_CLAIM_MAX));
        for _ in 0..count {
            let pattern = Pattern::from_index(input.str()?)?;
            let mode = match input.u8()? {
                0 => Mode::Exclusive,
                1 => Mode::Shared,
                _ => return None,
            };
            reservations.push(Reservation { pattern, mode });
        }
        Some(Some(Holder {
            claim,
            owner,
            state,
            generation,
            lease_until,
            reservations,
        }))
    }
}

/// The holders that reserve something, for one `claims/` tree, in a file
/// of their own (`index/reservations-held`): the hooks run on every commit
/// and edit, and at 10 000 claims of which 1 000 reserve, reading these
/// rows alone skips decoding 9 000 empty ones. Rebuilt from the index
/// above whenever the tree differs; a cache like the rest. Its header also
/// names the state commit it was last read for, so the edit hook can
/// trust it for the tip without opening the repository
/// ([`crate::store::quick`]).
pub fn held_file(store: &crate::store::Store) -> PathBuf {
    held_file_in(store.git_dir())
}

/// [`held_file`] of the common git directory `git_dir`.
pub fn held_file_in(git_dir: &Path) -> PathBuf {
    git_dir.join("baton").join("index").join("reservations-held")
}

/// 2: the header names the commit too.
const HELD_MAGIC: &str = "baton-reservations-held/2";

/// Which held file a reader wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldKey {
    /// The one for this `claims/` tree.
    Tree(ObjectId),
    /// The one last read for this state commit.
    Commit(ObjectId),
}

/// A held file as read: its header's tree and commit, and its body.
pub struct HeldFile {
    data: Vec<u8>,
    body_at: usize,
    pub tree: ObjectId,
    pub commit: Option<ObjectId>,
}

impl HeldFile {
    /// The file at `path` when its header is this version's for `key` and
    /// its body is whole (its checksum).
    pub fn read(path: &Path, key: HeldKey) -> Option<HeldFile> {
        let data = std::fs::read(path).ok()?;
        let newline = data.iter().position(|&b| b == b'\n')?;
        let line = std::str::from_utf8(&data[..newline]).ok()?;
        let fields: Vec<&str> = line.split(' ').collect();
        let [magic, version, tree, commit, crc] = fields[..] else {
            return None;
        };
        if magic != HELD_MAGIC || version != env!("CARGO_PKG_VERSION") {
            return None;
        }
        let tree = ObjectId::from_hex(tree.as_bytes()).ok()?;
        let commit = match commit {
            "-" => None,
            hex => Some(ObjectId::from_hex(hex.as_bytes()).ok()?),
        };
        let wanted = match key {
            HeldKey::Tree(key) => tree == key,
            HeldKey::Commit(key) => commit == Some(key),
        };
        if !wanted || u32::from_str_radix(crc, 16).ok()? != crc32fast::hash(&data[newline + 1..]) {
            return None;
        }
        Some(HeldFile {
            body_at: newline + 1,
            data,
            tree,
            commit,
        })
    }

    fn body(&self) -> &[u8] {
        &self.data[self.body_at..]
    }

    /// Every holder, as written.
    pub fn holders(&self) -> Option<Vec<Holder>> {
        let mut input = Dec(self.body());
        let count = usize::try_from(input.u64()?).ok()?;
        let mut out = Vec::with_capacity(count.min(input.0.len()));
        for _ in 0..count {
            out.push(Reserved::decode(&mut input)??);
        }
        input.is_empty().then_some(out)
    }

    /// The same file stamped with another state commit (of the same
    /// `claims/` tree), best effort as every index write.
    pub fn restamp(&self, store: &crate::store::Store, commit: ObjectId) {
        write_held_body(store, self.tree, Some(commit), self.body());
    }

    /// The holders read without building them all: each row's patterns
    /// are looked at in place and only the rows with a pattern `covers`
    /// keeps are decoded (the edit hook asks about one or two paths;
    /// building all 1 000 rows was most of its time, docs/performance.md).
    /// `None` when [`HeldFile::holders`] would find no rows: the caller
    /// falls back to the full read. Every row's layout, state and lease are
    /// checked as the full decode checks them; the names in rows not kept
    /// are not parsed (the checksum vouches for what this baton wrote).
    pub fn skim(&self, now: crate::clock::Timestamp, covers: impl Fn(&str) -> bool) -> Option<Skimmed> {
        let mut input = Dec(self.body());
        let count = usize::try_from(input.u64()?).ok()?;
        let mut out = Skimmed {
            any_active: false,
            holders: Vec::new(),
        };
        for _ in 0..count {
            let row = input.0;
            if input.u8()? != 1 {
                return None;
            }
            input.bytes()?;
            let state = *ClaimState::ALL.get(usize::from(input.u8()?))?;
            input.bytes()?;
            input.u64()?;
            let lease_until = input.opt_time()?;
            let patterns = usize::try_from(input.u64()?).ok()?;
            let mut kept = false;
            for _ in 0..patterns {
                let pattern = input.str()?;
                if input.u8()? > 1 {
                    return None;
                }
                kept = kept || covers(pattern);
            }
            // As `Holder::is_active`.
            let active = state.is_held() && lease_until.is_none_or(|until| until > now);
            out.any_active |= active && patterns > 0;
            if kept && active {
                let mut whole = Dec(&row[..row.len() - input.0.len()]);
                out.holders.push(Reserved::decode(&mut whole)??);
            }
        }
        input.is_empty().then_some(out)
    }
}

/// What [`HeldFile::skim`] found.
pub struct Skimmed {
    /// Some reservation is active at `now` (the full set is not empty).
    pub any_active: bool,
    /// The active holders with a pattern `covers` kept, whole, in the
    /// file's order (the order [`HeldFile::holders`] gives).
    pub holders: Vec<Holder>,
}

/// Best effort, as every index write: `holders` for tree `key`, read for
/// state commit `commit`.
pub fn write_held(store: &crate::store::Store, key: ObjectId, commit: Option<ObjectId>, holders: &[Holder]) {
    let mut body = Enc::default();
    body.u64(holders.len() as u64);
    for h in holders {
        Reserved::encode(&Some(h.clone()), &mut body);
    }
    write_held_body(store, key, commit, &body.0);
}

fn write_held_body(store: &crate::store::Store, key: ObjectId, commit: Option<ObjectId>, body: &[u8]) {
    if !store.git_dir().is_dir() {
        return;
    }
    let commit = commit.map_or_else(|| "-".to_owned(), |c| c.to_string());
    let mut data = format!(
        "{HELD_MAGIC} {} {key} {commit} {:08x}\n",
        env!("CARGO_PKG_VERSION"),
        crc32fast::hash(body)
    )
    .into_bytes();
    data.extend_from_slice(body);
    let path = held_file(store);
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&tmp, &data))
        .and_then(|()| std::fs::rename(&tmp, &path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}
