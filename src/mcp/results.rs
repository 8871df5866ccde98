//! The documents the tools answer with (their structured content), as
//! typed structs: the same documents `baton --json` prints for the same
//! commands, field for field and in the same order, so a change to one is
//! a change to a type, seen by the compiler and by tests/it/mcp.rs.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::claims::{Assignment, Claim, ClaimState};
use crate::delivery::Delivery;
use crate::error::{Body, Code};
use crate::finding::Finding;
use crate::ids::{Actor, ClaimId};
use crate::learn::judge::Verdict;
use crate::ops::reservations::Who;
use crate::ops::sync::Report;
use crate::workflow::ledger::Run;
use crate::workflow::policy::Refusal;

/// A document as the tool result's structured content.
pub fn value(doc: &impl Serialize) -> Value {
    // Serializing these types cannot fail: no maps with non-string keys,
    // no failing `Serialize` impls.
    serde_json::to_value(doc).unwrap_or_default()
}

/// What publishing a write did (`sync`, `sync.auto`); a write that landed
/// here but did not reach the remote carries `not_published`.
#[derive(Serialize)]
pub struct Published<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<&'a Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_published: Option<Body<'a>>,
}

/// A claim transition, as `baton --json claims <command>` prints it.
#[derive(Serialize)]
pub struct Transition<'a> {
    pub op: &'a str,
    pub changed: bool,
    pub commit: Option<String>,
    pub claim: &'a Claim,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub warnings: &'a [String],
    #[serde(flatten)]
    pub published: Published<'a>,
}

/// `status` without an id: counts by state, the caller's claims (their
/// rows as the index stores them) and the handoffs offered to the caller.
#[derive(Serialize)]
pub struct Summary<'a> {
    pub counts: Counts<'a>,
    pub actor: &'a Actor,
    pub mine: Vec<Value>,
    pub offered: &'a [Claim],
}

/// Claims per state, as an object in the order given.
pub struct Counts<'a>(pub &'a [(ClaimState, usize)]);

impl Serialize for Counts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (state, n) in self.0 {
            map.serialize_entry(state.as_str(), n)?;
        }
        map.end()
    }
}

/// `status` with an id.
#[derive(Serialize)]
pub struct OneClaim {
    pub claim: Claim,
}

/// `list`: at most the limit of rows, and whether there were more.
#[derive(Serialize)]
pub struct Listed {
    pub claims: Vec<Value>,
    pub truncated: bool,
}

/// `who`: each path's reservations.
#[derive(Serialize)]
pub struct Reserved {
    pub paths: Vec<Who>,
}

/// A delivery with what it acted on, as `baton --json delivery status
/// --run-id` prints it.
#[derive(Serialize)]
pub struct Described<'a> {
    pub delivery: &'a Delivery,
    pub claim: &'a Option<Claim>,
    pub run: &'a Option<Run>,
}

/// A delivery after `start`, with what publishing did.
#[derive(Serialize)]
pub struct Delivered<'a> {
    #[serde(flatten)]
    pub described: Described<'a>,
    #[serde(flatten)]
    pub published: Published<'a>,
}

/// `delivery_status` without a run id: the recent deliveries (their rows
/// as the index stores them) and the ledgers that could not be read.
#[derive(Serialize)]
pub struct Deliveries<'a> {
    pub deliveries: Vec<Value>,
    pub unreadable: &'a [Finding],
}

/// What a delivery's plan does with the claim.
#[derive(Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum PlannedClaim<'a> {
    Claim {
        generation: u64,
        agent: Option<String>,
    },
    Held {
        generation: u64,
    },
    Refused {
        code: Code,
        message: std::borrow::Cow<'a, str>,
    },
}

impl PlannedClaim<'_> {
    pub fn claim(generation: u64, agent: Option<&Assignment>) -> Self {
        PlannedClaim::Claim {
            generation,
            agent: agent.map(|a| a.agent.to_string()),
        }
    }
}

/// What a delivery does with the claim when its workflow succeeds.
#[derive(Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Final<'a> {
    Handoff { to: &'a Actor },
    Release,
}

/// `delivery_start` without `execute`: the plan.
#[derive(Serialize)]
pub struct Plan<'a> {
    pub dry_run: bool,
    pub issue: &'a ClaimId,
    pub claim: PlannedClaim<'a>,
    pub workflow: &'a str,
    pub steps: Vec<String>,
    #[serde(rename = "final")]
    pub finally: Final<'a>,
    pub refused: &'a [Refusal],
}

/// `check_command`: the verdict as `baton --json learn pre-command` prints
/// it, with its reasons as one text for a model to read.
#[derive(Serialize)]
pub struct Checked<'a> {
    #[serde(flatten)]
    pub verdict: &'a Verdict,
    pub explain: String,
}
