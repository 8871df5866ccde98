//! The learn tools of `baton mcp`: `route` (a task's best pool role, as
//! `baton learn route`) and `check_command` (a shell line's risk, as
//! `baton learn pre-command --command`), on the [`crate::ops::learn`]
//! functions those commands call.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::results;
use super::server::Baton;
use crate::ops::learn::{self as op, Input};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RouteInput {
    /// The task, in words.
    pub task: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CheckInput {
    /// The shell line you are about to run.
    pub command: String,
}

#[tool_router(router = learn_tools, vis = "pub(super)")]
impl Baton {
    /// The pool role best suited to a task, with the others ranked.
    #[tool]
    async fn route(&self, Parameters(input): Parameters<RouteInput>) -> CallToolResult {
        self.call(move |s| Ok(results::value(&op::route(s, &input.task)?)))
            .await
    }

    /// Judge a shell command's risk before running it: level (low, medium, high), decision and the reasons.
    #[tool]
    async fn check_command(&self, Parameters(input): Parameters<CheckInput>) -> CallToolResult {
        self.call_anywhere(move |s| {
            let line = Input::Line(input.command);
            let verdict = match s {
                Some(s) => op::pre_command(s, &line)?,
                // Outside a repository the guard still judges, with the built-in rules.
                None => op::pre_command_builtin(&line),
            };
            Ok(results::value(&results::Checked {
                explain: verdict.explain(),
                verdict: &verdict,
            }))
        })
        .await
    }
}
