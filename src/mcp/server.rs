//! The server loop of `baton mcp`, and how an operation's outcome becomes a
//! tool result: its JSON document as `structuredContent` (and as text, for
//! clients that read only `content`), or — refused, invalid, failed — a
//! result with `isError: true` carrying the CLI's `error:` and `hint:`
//! lines, and in `structuredContent` the same `{"error": {code, message,
//! hint}}` as `--json` plus the exit code the CLI would have used.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{tool_handler, ServerHandler, ServiceExt};
use serde_json::Value;

use super::Place;
use crate::error::code;
use crate::error::{Error, Result};
use crate::ops::Session;

/// The MCP server: where it acts, and its tools.
#[derive(Clone)]
pub struct Baton {
    place: Arc<Place>,
    tool_router: ToolRouter<Baton>,
}

impl Baton {
    pub fn new(place: Place) -> Baton {
        Baton {
            place: Arc::new(place),
            tool_router: Baton::claims_tools() + Baton::learn_tools() + Baton::delivery_tools(),
        }
    }

    /// The names of the tools, in the order `tools/list` gives them.
    pub fn tool_names(&self) -> Vec<String> {
        self.tool_router
            .list_all()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect()
    }

    /// Run one operation on a session opened for this call, off the
    /// protocol thread (operations block on git and the file system).
    pub(super) async fn call<F>(&self, op: F) -> CallToolResult
    where
        F: FnOnce(&Session) -> Result<Value> + Send + 'static,
    {
        self.blocking(move |place| op(&open(place)?)).await
    }

    /// [`Baton::call`] for an operation that also answers outside a git
    /// repository (`check_command`, with the built-in rules): `None` there.
    pub(super) async fn call_anywhere<F>(&self, op: F) -> CallToolResult
    where
        F: FnOnce(Option<&Session>) -> Result<Value> + Send + 'static,
    {
        self.blocking(move |place| match open(place) {
            Ok(s) => op(Some(&s)),
            Err(e) if e.is::<crate::store::NotARepository>() => op(None),
            Err(e) => Err(e),
        })
        .await
    }

    async fn blocking<F>(&self, op: F) -> CallToolResult
    where
        F: FnOnce(&Place) -> Result<Value> + Send + 'static,
    {
        let place = Arc::clone(&self.place);
        let ran = tokio::task::spawn_blocking(move || op(&place)).await;
        match ran {
            Ok(Ok(value)) => CallToolResult::structured(value),
            Ok(Err(e)) => refusal(&e),
            Err(e) => refusal(
                &Error::failed(code::TOOL_FAILED, "the tool stopped before it answered")
                    .caused_by(e)
                    .with_hint("this is a bug in baton; the state is as the last landed commit left it (`baton log`)"),
            ),
        }
    }
}

/// The session of one tool call: the repository as it is now, the actor
/// of the server.
fn open(place: &Place) -> Result<Session> {
    let mut s = Session::open(place.dir.as_deref(), Some(&place.actor.to_string()))?;
    // As the CLI's claims, pool and delivery commands do: see what a plain
    // `git fetch` brought. Best effort, as there; doctor says why not.
    let _ = crate::ops::fetched::adopt(&mut s);
    Ok(s)
}

/// A refusal as a tool result: the CLI's lines as text, its `--json` error
/// document (with the exit code) as structured content, `isError: true`.
pub fn refusal(e: &Error) -> CallToolResult {
    let mut text = format!("error: {}", crate::term::lines(&e.message()));
    if !e.hint.is_empty() {
        text.push_str(&format!("\nhint: {}", crate::term::lines(&e.hint)));
    }
    let mut document = e.to_json();
    document["exit_code"] = e.exit_code().into();
    let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
    result.structured_content = Some(document);
    result
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Baton {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("baton", env!("CARGO_PKG_VERSION")))
            .with_instructions(format!(
                "baton coordinates work on this repository as {}: claim an issue before working on it \
                 (`claim`, with the `paths` you will edit; `who` says who reserves a path), release it when done, hand it off with `handoff`; `status` shows your claims \
                 and the handoffs offered to you; `check_command` judges a shell command's risk before you run it.",
                self.place.actor
            ))
    }
}

/// Serve on stdin/stdout until the client closes them.
pub async fn run(place: Place) -> Result<()> {
    let running = Baton::new(place).serve(rmcp::transport::stdio()).await.map_err(|e| {
        Error::environment(code::MCP_START, "starting the MCP session")
            .caused_by(e)
            .with_hint(
                "baton mcp speaks MCP on stdin/stdout: start it from an MCP client (`baton mcp install <client>`)",
            )
    })?;
    running.waiting().await.map_err(|e| {
        Error::environment(code::MCP_SESSION, "the MCP session ended abnormally")
            .caused_by(e)
            .with_hint("see the client's MCP log")
    })?;
    Ok(())
}
