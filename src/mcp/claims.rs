//! The claims tools of `baton mcp`: `claim`, `release`, `handoff`,
//! `accept`, `status`, `list` and `who`, each a call of the [`crate::ops::claims`]
//! function `baton claims <command>` makes, answering the document
//! `baton --json claims <command>` prints.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::results;
use super::server::Baton;
use crate::claims::reservations::Mode;
use crate::claims::{ClaimRequest, ClaimState, Filter, Force, Transition};
use crate::clock::Span;
use crate::error::code;
use crate::error::{Error, Result};
use crate::ids::{Actor, AgentId, ClaimId, Role};
use crate::messages;
use crate::ops::claims::{self as op, ClaimArgs};
use crate::ops::pool::Wanted;
use crate::ops::reservations as reserve_op;
use crate::ops::Applied;

/// `list` answers at most this many claims unless asked for another limit:
/// a tool result goes into a model's context.
pub const LIST_LIMIT: usize = 100;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ClaimInput {
    /// The claim id (an issue id such as T-42).
    pub id: String,
    /// Assign the least-loaded healthy pool agent of this role.
    pub role: Option<String>,
    /// Assign this pool agent.
    pub agent: Option<String>,
    /// Lease: the claim must be renewed before this runs out (e.g. 2h).
    pub lease: Option<String>,
    /// A note kept on the claim.
    pub note: Option<String>,
    /// Publish right away (sync before and after): the claim counts only once the remote has it.
    #[serde(default)]
    pub sync: bool,
    /// Reserve these paths or globs with the claim (src/store/, docs/*.md, src/**/mod.rs).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Reserve `paths` shared: other shared reservations may overlap them.
    #[serde(default)]
    pub shared: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct WhoInput {
    /// Paths (relative to the repository's work tree, or absolute), inside the repository.
    pub paths: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct IdInput {
    /// The claim id.
    pub id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct HandoffInput {
    /// Your active claim.
    pub id: String,
    /// Who should take it over (`agent:<name>` or `human:<name>`).
    pub to: String,
    /// A note for them.
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct StatusInput {
    /// One claim; without it: counts by state, your claims and the handoffs offered to you.
    pub id: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListInput {
    /// Only claims in this state (active, handoff_pending, paused, blocked, completed, expired).
    pub state: Option<String>,
    /// Only claims this actor owns.
    pub owner: Option<String>,
    /// Only claims assigned to this pool agent.
    pub agent: Option<String>,
    /// Only handoffs pending to this actor.
    pub to: Option<String>,
    /// History too: completed and expired claims.
    #[serde(default)]
    pub all: bool,
    /// At most this many claims (default 100).
    pub limit: Option<usize>,
}

fn parsed<T, E>(raw: Option<&str>, parse: impl Fn(&str) -> std::result::Result<T, E>) -> Result<Option<T>>
where
    Error: From<E>,
{
    raw.map(|raw| parse(raw).map_err(Error::from)).transpose()
}

/// `paths` as typed, `shared` or exclusive, as `claims claim --paths
/// [--shared]` parses them; `shared` without `paths` is refused as the CLI
/// refuses `--shared` without `--paths`.
fn reservations(raw: &[String], shared: bool) -> Result<Vec<crate::claims::reservations::Reservation>> {
    if shared && raw.is_empty() {
        return Err(Error::invalid(code::SHARED_WITHOUT_PATHS, "shared needs paths")
            .with_hint("name the paths or globs to reserve shared in `paths`"));
    }
    reserve_op::parse_patterns(raw, if shared { Mode::Shared } else { Mode::Exclusive })
}

/// A claim transition as `baton --json claims <command>` prints it.
pub fn transition(op_name: &str, applied: &Applied<Transition>) -> Value {
    results::value(&results::Transition {
        changed: messages::ClaimChanged::of(op_name, applied),
        published: published(&applied.published, &applied.not_published),
    })
}

/// What publishing did (`sync`, `sync.auto`), as the CLI's JSON says it: a
/// write that landed here but did not reach the remote carries `not_published`.
pub fn published<'a>(
    report: &'a Option<crate::ops::sync::Report>,
    failure: &'a Option<crate::error::Error>,
) -> results::Published<'a> {
    results::Published {
        sync: report.as_ref(),
        not_published: failure.as_ref().map(crate::error::Error::body),
    }
}

#[tool_router(router = claims_tools, vis = "pub(super)")]
impl Baton {
    /// Claim work (new, completed or expired -> active, owned by you); refused while someone else holds it.
    #[tool]
    async fn claim(&self, Parameters(input): Parameters<ClaimInput>) -> CallToolResult {
        self.call(move |s| {
            let id = ClaimId::parse(&input.id)?;
            let args = ClaimArgs {
                request: ClaimRequest {
                    lease: parsed(input.lease.as_deref(), Span::parse)?,
                    note: input.note,
                    force: Force(None),
                    paths: reservations(&input.paths, input.shared)?,
                },
                wanted: Wanted {
                    role: parsed(input.role.as_deref(), Role::parse)?,
                    agent: parsed(input.agent.as_deref(), AgentId::parse)?,
                },
                sync: input.sync,
            };
            Ok(transition("claims.claim", &op::claim(s, &id, &args)?))
        })
        .await
    }

    /// Finish your claim: -> completed; frees the agent's capacity.
    #[tool]
    async fn release(&self, Parameters(input): Parameters<IdInput>) -> CallToolResult {
        self.call(move |s| {
            let id = ClaimId::parse(&input.id)?;
            Ok(transition("claims.release", &op::release(s, &id, &Force(None))?))
        })
        .await
    }

    /// Offer your active claim to someone else; they take it with `accept`.
    #[tool]
    async fn handoff(&self, Parameters(input): Parameters<HandoffInput>) -> CallToolResult {
        self.call(move |s| {
            let id = ClaimId::parse(&input.id)?;
            let to = Actor::parse(&input.to)?;
            Ok(transition("claims.handoff", &op::handoff(s, &id, &to, input.note)?))
        })
        .await
    }

    /// Accept a handoff offered to you: the claim becomes yours.
    #[tool]
    async fn accept(&self, Parameters(input): Parameters<IdInput>) -> CallToolResult {
        self.call(move |s| {
            let id = ClaimId::parse(&input.id)?;
            Ok(transition("claims.accept", &op::accept(s, &id)?))
        })
        .await
    }

    /// One claim; without an id: counts by state, your claims and the handoffs offered to you.
    #[tool]
    async fn status(&self, Parameters(input): Parameters<StatusInput>) -> CallToolResult {
        self.call(move |s| match input.id {
            Some(raw) => {
                let claim = op::get(s, &ClaimId::parse(&raw)?)?;
                Ok(messages::value(&messages::ClaimShown { claim: &claim }))
            }
            None => {
                let summary = op::summary(s)?;
                Ok(messages::value(&messages::ClaimsSummary::of(&summary)))
            }
        })
        .await
    }

    /// List claims in natural id order (T-2 before T-10): held ones unless `all` or `state`; at most `limit` (100).
    #[tool]
    async fn list(&self, Parameters(input): Parameters<ListInput>) -> CallToolResult {
        self.call(move |s| {
            let limit = input.limit.unwrap_or(LIST_LIMIT);
            let filter = Filter {
                state: parsed(input.state.as_deref(), ClaimState::parse)?,
                owner: parsed(input.owner.as_deref(), Actor::parse)?,
                agent: parsed(input.agent.as_deref(), AgentId::parse)?,
                to: parsed(input.to.as_deref(), Actor::parse)?,
                all: input.all,
                // One more than shown, to say whether there were more.
                limit: Some(limit.saturating_add(1)),
            };
            let (claims, truncated) = op::list(s, &filter, |rows| {
                let claims: Vec<Value> = rows
                    .iter()
                    .take(limit)
                    .map(|r| serde_json::from_str(r.json).unwrap_or_default())
                    .collect();
                (claims, rows.len() > limit)
            })?;
            Ok(results::value(&results::Listed { claims, truncated }))
        })
        .await
    }

    /// Which claims and holders reserve each path (repository-relative, or absolute inside the work tree).
    #[tool]
    async fn who(&self, Parameters(input): Parameters<WhoInput>) -> CallToolResult {
        self.call(move |s| {
            // Relative paths are taken from the work tree's root: the
            // server's directory is wherever its client started it.
            if input.paths.is_empty() {
                return Err(Error::invalid(code::NO_PATHS, "who needs at least one path")
                    .with_hint("name the paths to look up in `paths`"));
            }
            let root = reserve_op::root(s)?;
            let paths = input
                .paths
                .iter()
                .map(|p| reserve_op::repo_path(s, std::path::Path::new(p), &root))
                .collect::<Result<Vec<_>>>()?;
            Ok(results::value(&results::Reserved {
                paths: reserve_op::who(s, &paths)?,
            }))
        })
        .await
    }
}
