//! A delivery as `delivery status` lists it: the table's fields, and the
//! ledger as `--json` prints it. Kept in the machine-local read index
//! (`ops::index`), so listing deliveries parses no ledger that did not
//! change since the last listing.

use serde::{Deserialize, Serialize};

use super::{Delivery, Phase};
use crate::clock::Timestamp;
use crate::ids::{Actor, ClaimId, RunId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub id: RunId,
    pub issue: ClaimId,
    pub phase: Phase,
    pub owner: Actor,
    pub workflow_run: Option<RunId>,
    pub updated_at: Timestamp,
    /// The whole ledger as one pretty-printed JSON document.
    pub json: String,
}

impl Row {
    pub fn of(d: &Delivery) -> Row {
        let json = serde_json::to_value(d)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_default();
        Row {
            id: d.id.clone(),
            issue: d.issue.clone(),
            phase: d.phase,
            owner: d.owner.clone(),
            workflow_run: d.workflow_run.clone(),
            updated_at: d.updated_at,
            json,
        }
    }
}
