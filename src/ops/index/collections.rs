//! The directories the index keeps rows of, and how each row is stored:
//! claims field by field (there may be 100 000 of them, read on every
//! listing), run summaries and delivery rows as JSON (tens to hundreds).

use std::cmp::Ordering;

use chrono::DateTime;

use super::{Collection, Dec, Enc};
use crate::claims::{self, Claim, ClaimState, Row, RowRef};
use crate::delivery::{self, Delivery};
use crate::error::Result;
use crate::ids::{Actor, AgentId, ClaimId};
use crate::state;
use crate::store::{Entry, Snapshot};
use crate::workflow::ledger::{self, Run};
use crate::workflow::summary::Summary;

/// `claims/`: a [`claims::Row`] per claim.
pub struct Claims;

impl Collection for Claims {
    const NAME: &'static str = "claims";
    const DIR: &'static str = claims::DIR;
    type Row = Row;

    fn read(snap: &Snapshot<'_>, entry: &Entry) -> Result<Vec<u8>> {
        state::read_toml_entry(snap, entry)
    }

    fn parse(path: &str, bytes: &[u8]) -> Result<Row> {
        state::parse_toml(path, bytes, |c: &Claim| c.schema).map(|c| Row::of(&c))
    }

    fn encode(row: &Row, out: &mut Enc) {
        out.str(row.id.as_str());
        out.u8(ClaimState::ALL.iter().position(|s| *s == row.state).unwrap_or(0) as u8);
        out.str(&row.owner.to_string());
        out.opt_str(row.agent.as_ref().map(AgentId::as_str));
        out.opt_str(row.handoff_to.as_ref().map(ToString::to_string).as_deref());
        out.u64(row.generation);
        out.i64(row.updated_at.timestamp());
        out.str(&row.json);
    }

    /// Natural id order, as `claims list` shows them, so a listing's sort
    /// finds its rows already in order (one comparison a row instead of
    /// ~17 at 100 000 claims). A file that does not parse sorts by its path.
    fn order(a: (&str, Option<&Row>), b: (&str, Option<&Row>)) -> Ordering {
        let (ka, kb) = (a.1.map_or(a.0, |r| r.id.as_str()), b.1.map_or(b.0, |r| r.id.as_str()));
        claims::natural_cmp(ka, kb).then_with(|| a.0.cmp(b.0))
    }

    fn decode(input: &mut Dec<'_>) -> Option<Row> {
        let row = Claims::decode_ref(input)?;
        Some(Row {
            id: ClaimId::parse(row.id).ok()?,
            state: row.state,
            owner: Actor::parse(row.owner).ok()?,
            agent: match row.agent {
                Some(a) => Some(AgentId::parse(a).ok()?),
                None => None,
            },
            handoff_to: match row.handoff_to {
                Some(a) => Some(Actor::parse(a).ok()?),
                None => None,
            },
            generation: row.generation,
            updated_at: row.updated_at,
            json: row.json.to_owned(),
        })
    }
}

impl Claims {
    /// A row as [`Collection::decode`] reads it, borrowed from the file's
    /// bytes and not checked again (its checksum was).
    pub fn decode_ref<'a>(input: &mut Dec<'a>) -> Option<RowRef<'a>> {
        Some(RowRef {
            id: input.str()?,
            state: *ClaimState::ALL.get(usize::from(input.u8()?))?,
            owner: input.str()?,
            agent: input.opt_str()?,
            handoff_to: input.opt_str()?,
            generation: input.u64()?,
            updated_at: DateTime::from_timestamp(input.i64()?, 0)?,
            json: input.str()?,
        })
    }
}

/// `runs/workflow/`: a [`Summary`] per run ledger.
pub struct Runs;

impl Collection for Runs {
    const NAME: &'static str = "runs";
    const DIR: &'static str = ledger::DIR;
    type Row = Summary;

    fn read(snap: &Snapshot<'_>, entry: &Entry) -> Result<Vec<u8>> {
        state::read_entry(snap, entry)
    }

    fn parse(path: &str, bytes: &[u8]) -> Result<Summary> {
        state::parse_json(path, bytes, |r: &Run| r.schema).map(|r| Summary::of(&r))
    }

    fn encode(row: &Summary, out: &mut Enc) {
        out.str(&serde_json::to_string(row).unwrap_or_default());
    }

    fn decode(input: &mut Dec<'_>) -> Option<Summary> {
        serde_json::from_str(input.str()?).ok()
    }
}

/// `runs/delivery/`: a [`delivery::row::Row`] per delivery ledger.
pub struct Deliveries;

impl Collection for Deliveries {
    const NAME: &'static str = "deliveries";
    const DIR: &'static str = delivery::DIR;
    type Row = delivery::row::Row;

    fn read(snap: &Snapshot<'_>, entry: &Entry) -> Result<Vec<u8>> {
        state::read_entry(snap, entry)
    }

    fn parse(path: &str, bytes: &[u8]) -> Result<Self::Row> {
        state::parse_json(path, bytes, |d: &Delivery| d.schema).map(|d| delivery::row::Row::of(&d))
    }

    fn encode(row: &Self::Row, out: &mut Enc) {
        out.str(&serde_json::to_string(row).unwrap_or_default());
    }

    fn decode(input: &mut Dec<'_>) -> Option<Self::Row> {
        serde_json::from_str(input.str()?).ok()
    }
}
