//! The `--json` documents, as typed structs (as cargo's `machine_message.rs`):
//! a document's keys, their order and when a key is left out are the
//! struct's, checked by the compiler instead of spelled in `json!` literals
//! (tests/it/json_shapes.rs holds them to what programs read). Commands not
//! listed here still build their document in their own module. The MCP
//! tools answer with the same documents where they do what a command does
//! (`mcp/results.rs` holds only what a tool alone returns).

use std::borrow::Cow;
use std::path::Path;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::claims::{Claim, ClaimState, ExpiryCause, Transition};
use crate::clock::Timestamp;
use crate::config::Setting;
use crate::daemon::{Report, TickRecord};
use crate::delivery::Delivery;
use crate::finding::Finding;
use crate::ids::{Actor, ClaimId, RunId};
use crate::learn::stats::JournalEntry;
use crate::ops::delivery::{Claiming, Delivered, Plan};
use crate::ops::Applied;
use crate::pool::{Agent, Health};
use crate::workflow::def::Definition;
use crate::workflow::ledger::{Run, RunStatus};
use crate::workflow::policy::Refusal;
use crate::workflow::summary::{StepCounts, Summary as RunSummary};

/// A document as the [`Value`] an `Output` carries (`published` may add
/// `sync` or `not_published` to it).
pub fn value(doc: &impl Serialize) -> Value {
    // Every document has string keys only, so it always serializes.
    serde_json::to_value(doc).expect("a --json document serializes")
}

/// A commit as documents name it: its full id, or `null` when nothing was written.
pub fn commit_id(id: &Option<gix::ObjectId>) -> Option<String> {
    id.as_ref().map(ToString::to_string)
}

/// `claims claim|handoff|accept|...`: what a transition did.
#[derive(Serialize)]
pub struct ClaimChanged<'a> {
    pub op: &'a str,
    pub changed: bool,
    pub commit: Option<String>,
    pub claim: &'a Claim,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub warnings: &'a [String],
}

impl<'a> ClaimChanged<'a> {
    /// What transition `op` did, as every claims command and MCP tool says it.
    pub fn of(op: &'a str, applied: &'a Applied<Transition>) -> Self {
        ClaimChanged {
            op,
            changed: applied.commit.is_some(),
            commit: commit_id(&applied.commit),
            claim: &applied.value.claim,
            warnings: &applied.value.warnings,
        }
    }
}

/// `claims status <id>`.
#[derive(Serialize)]
pub struct ClaimShown<'a> {
    pub claim: &'a Claim,
}

/// `claims verify`: the claim is current (a stale one is refused).
#[derive(Serialize)]
pub struct ClaimCurrent<'a> {
    pub current: bool,
    pub claim: &'a Claim,
}

/// `claims expire [--apply]`.
#[derive(Serialize)]
pub struct Expired<'a> {
    pub applied: bool,
    pub commit: Option<String>,
    pub expired: Vec<ExpiredClaim<'a>>,
}

#[derive(Serialize)]
pub struct ExpiredClaim<'a> {
    pub id: &'a ClaimId,
    pub cause: ExpiryCause,
    pub claim: &'a Claim,
}

/// `claims status`: counts by state, the actor's claims, handoffs offered to it.
#[derive(Serialize)]
pub struct ClaimsSummary<'a> {
    pub counts: Counts<'a>,
    pub actor: &'a Actor,
    /// Each held claim as its row printed it.
    pub mine: Vec<Value>,
    pub offered: &'a [Claim],
}

impl<'a> ClaimsSummary<'a> {
    /// The document of `claims status` without an id (and of the MCP tool
    /// `status` without one).
    pub fn of(summary: &'a crate::ops::claims::Summary) -> Self {
        ClaimsSummary {
            counts: Counts(&summary.counts),
            actor: &summary.actor,
            mine: summary.mine.iter().map(|r| read_back(&r.json)).collect(),
            offered: &summary.offered,
        }
    }
}

/// A row's document, which the index keeps as printed JSON, read back for
/// the few rows a summary or listing holds.
fn read_back(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or_default()
}

/// Claims per state, as an object in the order of the states.
pub struct Counts<'a>(pub &'a [(ClaimState, usize)]);

impl Serialize for Counts<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (state, n) in self.0 {
            map.serialize_entry(&state.to_string(), n)?;
        }
        map.end()
    }
}

/// `pool spawn`.
#[derive(Serialize)]
pub struct Spawned<'a> {
    pub agents: &'a [Agent],
    pub commit: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `pool heartbeat|drain|retire|...`.
#[derive(Serialize)]
pub struct AgentChanged<'a> {
    pub op: &'a str,
    pub changed: bool,
    pub commit: Option<String>,
    pub agent: &'a Agent,
}

/// `pool list|health`.
#[derive(Serialize)]
pub struct Agents<'a> {
    pub agents: &'a [Health],
}

/// `doctor` and `<subsystem> doctor`.
#[derive(Serialize)]
pub struct Checked<'a> {
    pub ok: bool,
    pub findings: &'a [Finding],
}

/// `whoami`.
#[derive(Serialize)]
pub struct WhoAmI<'a> {
    pub actor: &'a Actor,
    pub source: &'a str,
    pub from: String,
}

/// `man --dir`.
#[derive(Serialize)]
pub struct ManPages<'a> {
    pub dir: String,
    pub pages: &'a [String],
}

/// `init [--hooks]`.
#[derive(Serialize)]
pub struct Initialized<'a> {
    pub created: bool,
    pub adopted: bool,
    pub commit: String,
    pub remote: Option<&'a str>,
    /// Whether the baton fetch refspec was added now (`null`: no remote).
    pub refspec_added: Option<bool>,
    /// The first hook's path (kept from before `hooks` listed them all).
    pub hook: Option<String>,
    pub hooks: Option<HooksInstalled<'a>>,
}

#[derive(Serialize)]
pub struct HooksInstalled<'a> {
    pub installed: Vec<HookInstalled<'a>>,
    pub fallback: &'a str,
}

#[derive(Serialize)]
pub struct HookInstalled<'a> {
    pub hook: &'a str,
    pub path: String,
    pub new: bool,
}

/// `log`, `claims log`, …: the state history, newest first.
#[derive(Serialize)]
pub struct Log {
    pub entries: Vec<LogEntry>,
}

#[derive(Serialize)]
pub struct LogEntry {
    pub commit: String,
    pub time: String,
    pub author: String,
    pub summary: String,
    /// Every trailer is an array, one value or many: a reader never has to
    /// tell a string from a list.
    pub trailers: Trailers,
}

/// Trailers by key in the order first seen, each with all its values.
pub struct Trailers(pub Vec<(String, Vec<String>)>);

impl Trailers {
    pub fn of(pairs: &[(String, String)]) -> Trailers {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for (k, v) in pairs {
            match out.iter_mut().find(|(key, _)| key == k) {
                Some((_, values)) => values.push(v.clone()),
                None => out.push((k.clone(), vec![v.clone()])),
            }
        }
        Trailers(out)
    }
}

impl Serialize for Trailers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (key, values) in &self.0 {
            map.serialize_entry(key, values)?;
        }
        map.end()
    }
}

/// `config list`.
#[derive(Serialize)]
pub struct Settings<'a> {
    pub settings: &'a [Setting],
}

/// `config set`.
#[derive(Serialize)]
pub struct ConfigSet<'a> {
    pub key: &'a str,
    pub value: &'a str,
    pub changed: bool,
    pub commit: Option<String>,
}

/// `learn hooks install <agent>`.
#[derive(Serialize)]
pub struct AgentHooksInstalled<'a> {
    pub path: &'a str,
    pub changed: bool,
    pub added: &'a [String],
    pub notes: &'a [String],
}

/// `learn post-command`: the journal entry written.
#[derive(Serialize)]
pub struct Recorded<'a> {
    pub recorded: &'a JournalEntry,
}

/// `daemon run`: why the daemon ended.
#[derive(Serialize)]
pub struct DaemonStopped<'a, T: Serialize> {
    pub stopped: &'a T,
}

/// `daemon summary [--svg <path>]`.
#[derive(Serialize)]
pub struct DaemonSummary<'a> {
    pub summary: &'a crate::metrics::Summary,
    pub report: &'a Option<Report>,
    pub last_tick: &'a Option<TickRecord>,
    pub unreadable: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub svg: Option<&'a Path>,
}

/// `workflow run|status|stop|resume` of one run: the run record.
#[derive(Serialize)]
pub struct RunShown<'a> {
    pub run: &'a Run,
}

/// `workflow resume` of a run with nothing left to run.
#[derive(Serialize)]
pub struct NothingToResume<'a> {
    pub run: &'a Run,
    pub resumed: bool,
}

/// `workflow run` without `--execute`: the plan.
#[derive(Serialize)]
pub struct RunPlan<'a> {
    pub dry_run: bool,
    pub workflow: &'a Definition,
    pub order: Vec<String>,
    pub refused: &'a [Refusal],
}

/// `workflow resume` without `--execute`: the steps that would run.
#[derive(Serialize)]
pub struct ResumePlan<'a> {
    pub dry_run: bool,
    pub run_id: &'a RunId,
    pub steps: Vec<String>,
    pub refused: &'a [Refusal],
}

/// `workflow validate`.
#[derive(Serialize)]
pub struct Valid<'a> {
    pub valid: bool,
    pub workflow: &'a str,
    pub order: Vec<String>,
}

/// `workflow list`: the runs' summaries, `finished_at` before `host` as
/// always printed (the stored summary orders them the other way).
#[derive(Serialize)]
pub struct Runs<'a> {
    pub runs: Vec<RunListed<'a>>,
}

#[derive(Serialize)]
pub struct RunListed<'a> {
    pub id: &'a RunId,
    pub workflow: &'a str,
    pub status: RunStatus,
    pub started_at: &'a Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<&'a Timestamp>,
    pub host: &'a str,
    pub steps: &'a StepCounts,
}

impl<'a> From<&'a RunSummary> for RunListed<'a> {
    fn from(r: &'a RunSummary) -> Self {
        RunListed {
            id: &r.id,
            workflow: &r.workflow,
            status: r.status,
            started_at: &r.started_at,
            finished_at: r.finished_at.as_ref(),
            host: &r.host,
            steps: &r.steps,
        }
    }
}

/// `workflow template list`.
#[derive(Serialize)]
pub struct Templates {
    pub templates: Vec<Template>,
}

#[derive(Serialize)]
pub struct Template {
    pub name: &'static str,
    pub description: String,
}

/// `workflow template init`.
#[derive(Serialize)]
pub struct TemplateWritten<'a> {
    pub template: &'a str,
    pub path: String,
}

/// `delivery start` without `--execute`: the plan.
#[derive(Serialize)]
pub struct DeliveryPlan<'a> {
    pub dry_run: bool,
    pub issue: &'a ClaimId,
    pub claim: PlannedClaim<'a>,
    pub workflow: &'a str,
    pub steps: Vec<String>,
    #[serde(rename = "final")]
    pub finally: PlannedEnd<'a>,
    pub refused: &'a [Refusal],
}

impl<'a> DeliveryPlan<'a> {
    /// The document of a plan, as `delivery start` and the MCP tool
    /// `delivery_start` without `execute` return it.
    pub fn of(p: &'a Plan) -> Self {
        let claim = match &p.claiming {
            Claiming::New { generation, agent } => PlannedClaim::Claim {
                generation: *generation,
                agent: agent.as_ref().map(|a| a.agent.to_string()),
            },
            Claiming::Held { generation } => PlannedClaim::Held {
                generation: *generation,
            },
            Claiming::Refused(e) => PlannedClaim::Refused {
                code: e.code,
                message: e.message(),
            },
        };
        DeliveryPlan {
            dry_run: true,
            issue: &p.issue,
            claim,
            workflow: &p.workflow.def.name,
            steps: p
                .workflow
                .def
                .order
                .iter()
                .map(|&i| p.workflow.def.steps[i].id.to_string())
                .collect(),
            finally: match &p.handoff_to {
                Some(to) => PlannedEnd::Handoff { to },
                None => PlannedEnd::Release,
            },
            refused: &p.workflow.refusals,
        }
    }
}

/// What the plan does with the claim first.
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
        code: crate::error::Code,
        message: Cow<'a, str>,
    },
}

/// What the plan does with the claim on success.
#[derive(Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum PlannedEnd<'a> {
    Handoff { to: &'a Actor },
    Release,
}

/// A delivery, the claim and the run it acted on (`delivery status
/// --run-id`, and after every phase).
#[derive(Serialize)]
pub struct DeliveryShown<'a> {
    pub delivery: &'a Delivery,
    pub claim: &'a Option<Claim>,
    pub run: &'a Option<Run>,
}

impl<'a> DeliveryShown<'a> {
    pub fn of(d: &'a Delivered) -> Self {
        DeliveryShown {
            delivery: &d.delivery,
            claim: &d.claim,
            run: &d.run,
        }
    }
}

/// Why a delivery ended badly, added to its document as `error`.
#[derive(Serialize)]
pub struct Failure<'a> {
    pub code: crate::error::Code,
    pub message: &'a str,
    pub hint: &'a str,
}

/// `delivery status`: every ledger's row, and the ledgers that do not parse.
#[derive(Serialize)]
pub struct Deliveries<'a> {
    /// Each ledger as its row printed it.
    pub deliveries: Vec<Value>,
    pub unreadable: &'a [Finding],
}

impl<'a> Deliveries<'a> {
    /// The document of `delivery status` without a run id (and of the MCP
    /// tool `delivery_status` without one).
    pub fn of(rows: &[crate::delivery::row::Row], unreadable: &'a [Finding]) -> Self {
        Deliveries {
            deliveries: rows.iter().map(|d| read_back(&d.json)).collect(),
            unreadable,
        }
    }
}

/// `delivery resume` without `--execute`.
#[derive(Serialize)]
pub struct DeliveryResumePlan<'a> {
    pub dry_run: bool,
    pub delivery: &'a Delivery,
    pub action: String,
    pub steps: Vec<String>,
}

/// `daemon install <manager>`.
#[derive(Serialize)]
pub struct ServiceInstalled<'a> {
    pub manager: &'a str,
    pub path: &'a str,
    pub changed: bool,
    pub actor: String,
    pub baton: String,
    pub repository: String,
    pub next: &'a [String],
}
