//! The delivery tools of `baton mcp`: `delivery_start` (the plan, or with
//! `execute` the whole delivery, as `baton delivery start`) and
//! `delivery_status` (one delivery, or the recent ones), on the
//! [`crate::ops::delivery`] functions those commands call. Step output goes
//! to the server's stderr: stdout carries the protocol.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::claims::published;
use super::results;
use super::server::Baton;
use crate::clock::Span;
use crate::delivery::Phase;
use crate::error::code;
use crate::error::{Error, Result};
use crate::ids::{Actor, AgentId, ClaimId, Role, RunId};
use crate::messages;
use crate::ops::delivery::{self as op, Delivered, StartArgs};
use crate::ops::pool::Wanted;
use crate::ops::workflow::Execution;
use crate::workflow::exec::Sink;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct StartInput {
    /// The issue to claim (a claim id).
    pub issue: String,
    /// A workflow name of .baton/workflows/ (or its path there).
    pub workflow: String,
    /// Assign the least-loaded healthy pool agent of this role.
    pub role: Option<String>,
    /// Assign this pool agent.
    pub agent: Option<String>,
    /// On success, hand the claim off to this actor instead of releasing it.
    pub handoff_to: Option<String>,
    /// Lease of the claim (e.g. 2h).
    pub lease: Option<String>,
    /// A note kept on the claim and the delivery.
    pub note: Option<String>,
    /// Publish the claim before any step runs.
    #[serde(default)]
    pub sync: bool,
    /// Run it; without this, the plan only (nothing is claimed, nothing runs).
    #[serde(default)]
    pub execute: bool,
    /// Run up to this many independent ready steps at once (default 1).
    pub jobs: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct StatusInput {
    /// The delivery (dl-YYYYMMDDTHHMMSSZ-xxxxxx); without it, the recent deliveries.
    pub run_id: Option<String>,
    /// How many recent deliveries to list (default 20).
    pub limit: Option<usize>,
}

fn parsed<T, E>(raw: Option<&str>, parse: impl Fn(&str) -> std::result::Result<T, E>) -> Result<Option<T>>
where
    Error: From<E>,
{
    raw.map(|raw| parse(raw).map_err(Error::from)).transpose()
}

/// A delivery after `start`: failed or stopped is a refusal, as the CLI's exit 1 is.
fn delivered(d: &Delivered) -> Result<Value> {
    let l = &d.delivery;
    let why = l.reason.as_deref().unwrap_or("no reason recorded");
    match l.phase {
        Phase::Failed => Err(Error::failed(
            code::DELIVERY_FAILED,
            format!("delivery {} of {} failed: {why}", l.id, l.issue),
        )
        .with_hint(format!(
            "fix the cause, then resume it: `baton delivery resume --run-id {} --execute`; or, fixed by other means, `baton delivery close --run-id {}`",
            l.id, l.id
        ))),
        Phase::Stopped => Err(Error::failed(
            code::DELIVERY_STOPPED,
            format!("delivery {} of {} stopped: {why}", l.id, l.issue),
        )
        .with_hint(format!("the claim moved on; see the `status` tool for {}", l.issue))),
        _ => Ok(results::value(&results::Delivered {
            described: messages::DeliveryShown::of(d),
            published: published(&d.published, &d.not_published),
        })),
    }
}

#[tool_router(router = delivery_tools, vis = "pub(super)")]
impl Baton {
    /// Claim an issue, run its workflow, then release the claim (or hand it off); the plan only unless `execute`.
    #[tool]
    async fn delivery_start(&self, Parameters(input): Parameters<StartInput>) -> CallToolResult {
        self.call(move |s| {
            let args = StartArgs {
                issue: ClaimId::parse(&input.issue)?,
                workflow: input.workflow,
                wanted: Wanted {
                    role: parsed(input.role.as_deref(), Role::parse)?,
                    agent: parsed(input.agent.as_deref(), AgentId::parse)?,
                },
                handoff_to: parsed(input.handoff_to.as_deref(), Actor::parse)?,
                lease: parsed(input.lease.as_deref(), Span::parse)?,
                note: input.note,
                generation: None,
                sync: input.sync,
            };
            if !input.execute {
                return Ok(messages::value(&messages::DeliveryPlan::of(&op::plan(s, &args)?)));
            }
            let how = Execution {
                jobs: input.jobs.unwrap_or(1).max(1),
                // An agent's delivery runs what policy allows, never more.
                allow_risk: false,
                sink: Sink::Stderr,
            };
            delivered(&op::start(s, &args, &how)?)
        })
        .await
    }

    /// One delivery with its phase, claim and workflow run; without `run_id`, the recent deliveries.
    #[tool]
    async fn delivery_status(&self, Parameters(input): Parameters<StatusInput>) -> CallToolResult {
        self.call(move |s| match input.run_id {
            Some(raw) => Ok(messages::value(&messages::DeliveryShown::of(&op::status(
                s,
                &RunId::parse(&raw)?,
            )?))),
            None => {
                let (deliveries, unreadable) = op::list(s, input.limit.unwrap_or(20))?;
                Ok(messages::value(&messages::Deliveries::of(&deliveries, &unreadable)))
            }
        })
        .await
    }
}
