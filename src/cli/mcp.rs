//! `baton mcp` (serve MCP on stdio, [`crate::mcp`]) and `baton mcp install
//! <client>`: arguments, and the rendering of what the install did.

use clap::Subcommand;
use serde::Serialize;

use super::output::Output;
use crate::error::Result;
use crate::ids::Actor;
use crate::mcp::install::{Client, Launch};
use crate::mcp::{self, Place};
use crate::ops::Session;

#[derive(Debug, clap::Args)]
pub struct McpArgs {
    /// The actor when neither --actor nor BATON_ACTOR names one (default: agent:mcp); `mcp install` sets it to agent:<client>.
    #[arg(long, value_name = "ACTOR", value_parser = super::typed(Actor::parse))]
    pub default_actor: Option<Actor>,
    #[command(subcommand)]
    pub command: Option<McpCommand>,
}

#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// Write or merge the client's project MCP entry for `baton mcp` (claude, codex, gemini, opencode).
    Install {
        /// The MCP client: claude, codex, gemini or opencode.
        #[arg(value_parser = Client::parse)]
        client: Client,
        /// The path of the baton the client starts.
        #[arg(long, default_value = "baton", value_name = "PATH")]
        baton: String,
        /// The actor the server acts as when the agent's environment sets no BATON_ACTOR (default: agent:<client>).
        #[arg(long = "as", value_name = "ACTOR", value_parser = super::typed(Actor::parse))]
        as_actor: Option<Actor>,
        /// Replace a different `baton` entry.
        #[arg(long)]
        force: bool,
    },
}

/// `mcp install --json`: the file, whether it changed, and what the entry runs.
#[derive(Serialize)]
struct Installed<'a> {
    path: &'a str,
    changed: bool,
    added: &'a [String],
    notes: &'a [String],
    command: &'a str,
    args: Vec<String>,
}

/// `baton mcp`: serve until the client closes stdin. `-C` and `--actor` as given.
pub fn run(dir: Option<&std::path::Path>, actor: Option<&str>, args: &McpArgs) -> Result<Output> {
    match &args.command {
        None => {
            let env = std::env::var("BATON_ACTOR").ok();
            let place = Place {
                dir: dir.map(std::path::Path::to_path_buf),
                actor: mcp::actor(actor, env.as_deref(), args.default_actor.as_ref())?,
            };
            mcp::serve(place)?;
            // The protocol had stdout: nothing more is printed there.
            Ok(Output::raw(String::new()))
        }
        Some(McpCommand::Install {
            client,
            baton,
            as_actor,
            force,
        }) => {
            let launch = Launch {
                baton: baton.clone(),
                actor: as_actor.clone().unwrap_or(Launch::default_for(*client).actor),
            };
            let done = mcp::install_entry(&Session::open(dir, actor)?, *client, &launch, *force)?;
            let mut text = if done.changed {
                format!(
                    "installed the baton MCP server in {} ({})",
                    done.path,
                    done.added.join(", ")
                )
            } else {
                format!("the baton MCP server is already installed in {}", done.path)
            };
            for note in &done.notes {
                text.push_str(&format!("\nnote: {note}"));
            }
            let document = Installed {
                path: done.path,
                changed: done.changed,
                added: &done.added,
                notes: &done.notes,
                command: &launch.baton,
                args: launch.args(),
            };
            Ok(Output::new(crate::messages::value(&document), text))
        }
    }
}
