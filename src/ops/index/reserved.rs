//! `claims/` once more, for the reservation checks (docs/reservations.md):
//! per claim only what the pre-commit hook, the edit-tool hook and
//! `claims who` need — holder, state, lease and reserved patterns — in a
//! file of its own, so a check reads a few bytes per claim that reserves
//! nothing instead of the listing's whole rows.

use chrono::DateTime;

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
