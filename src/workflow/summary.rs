//! A run's summary: what `workflow list` shows and what finding the latest
//! run needs, without the steps' attempts and output. Kept in the
//! machine-local read index (`ops::index`), so listing 200 runs of 500
//! steps reads 200 small records instead of every ledger.

use serde::{Deserialize, Serialize};

use super::ledger::{Run, RunStatus, StepStatus};
use crate::clock::Timestamp;
use crate::ids::RunId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub id: RunId,
    pub workflow: String,
    pub status: RunStatus,
    pub host: String,
    pub started_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    pub steps: StepCounts,
}

/// How many of a run's steps are in each status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepCounts {
    pub total: usize,
    pub pending: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub skipped: usize,
    pub stopped: usize,
}

impl Summary {
    pub fn of(run: &Run) -> Summary {
        let mut steps = StepCounts {
            total: run.steps.len(),
            ..StepCounts::default()
        };
        for s in &run.steps {
            let n = match s.status {
                StepStatus::Pending => &mut steps.pending,
                StepStatus::Succeeded => &mut steps.succeeded,
                StepStatus::Failed => &mut steps.failed,
                StepStatus::Skipped => &mut steps.skipped,
                StepStatus::Stopped => &mut steps.stopped,
            };
            *n += 1;
        }
        Summary {
            id: run.id.clone(),
            workflow: run.workflow.clone(),
            status: run.status,
            host: run.host.clone(),
            started_at: run.started_at,
            finished_at: run.finished_at,
            steps,
        }
    }
}
