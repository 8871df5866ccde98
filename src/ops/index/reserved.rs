//! `claims/` once more, for the reservation checks (docs/reservations.md):
//! per claim only what the pre-commit hook, the edit-tool hook and
//! `claims who` need — holder, state, lease and reserved patterns — in a
//! file of its own, so a check reads a few bytes per claim that reserves
//! nothing instead of the listing's whole rows.

use std::path::PathBuf;

use chrono::DateTime;
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
        match h.lease_until {
            Some(t) => {
                out.u8(1);
                out.i64(t.timestamp());
                out.u64(u64::from(t.timestamp_subsec_nanos()));
            }
            None => out.u8(0),
        }
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
        let lease_until = match input.u8()? {
            0 => None,
            1 => Some(DateTime::from_timestamp(
                input.i64()?,
                u32::try_from(input.u64()?).ok()?,
            )?),
            _ => return None,
        };
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
/// above whenever the tree differs; a cache like the rest.
pub fn held_file(store: &crate::store::Store) -> PathBuf {
    super::dir(store).join("reservations-held")
}

const HELD_MAGIC: &str = "baton-reservations-held";

/// The holders cached for tree `key`, if the file is for it and reads back.
pub fn read_held(store: &crate::store::Store, key: ObjectId) -> Option<Vec<Holder>> {
    let data = std::fs::read(held_file(store)).ok()?;
    let newline = data.iter().position(|&b| b == b'\n')?;
    let (line, body) = (std::str::from_utf8(&data[..newline]).ok()?, &data[newline + 1..]);
    let fields: Vec<&str> = line.split(' ').collect();
    let [magic, version, tree, crc] = fields[..] else {
        return None;
    };
    if magic != HELD_MAGIC || version != env!("CARGO_PKG_VERSION") || ObjectId::from_hex(tree.as_bytes()).ok()? != key {
        return None;
    }
    if u32::from_str_radix(crc, 16).ok()? != crc32fast::hash(body) {
        return None;
    }
    let mut input = Dec(body);
    let count = usize::try_from(input.u64()?).ok()?;
    let mut out = Vec::with_capacity(count.min(body.len()));
    for _ in 0..count {
        out.push(Reserved::decode(&mut input)??);
    }
    input.is_empty().then_some(out)
}

/// Best effort, as every index write.
pub fn write_held(store: &crate::store::Store, key: ObjectId, holders: &[Holder]) {
    if !store.git_dir().is_dir() {
        return;
    }
    let mut body = Enc::default();
    body.u64(holders.len() as u64);
    for h in holders {
        Reserved::encode(&Some(h.clone()), &mut body);
    }
    let mut data = format!(
        "{HELD_MAGIC} {} {key} {:08x}\n",
        env!("CARGO_PKG_VERSION"),
        crc32fast::hash(&body.0)
    )
    .into_bytes();
    data.extend_from_slice(&body.0);
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
