//! `baton mcp`: baton's operations as tools of an MCP server over stdio
//! (docs/mcp.md), built on the official Rust SDK (`rmcp`), and `baton mcp
//! install`, which writes each client's entry for it.
//!
//! This module owns the server: [`server`] is its loop and the conversion of
//! an operation's result or refusal into a tool result; [`claims`],
//! [`learn`] and [`delivery`] are the tool groups, each tool a thin call of
//! the same [`crate::ops`] function the CLI uses; [`install`] is the pure
//! merge of the clients' files. The async runtime exists only here, built
//! by [`serve`]: every other command starts without it.

pub mod claims;
pub mod delivery;
pub mod install;
pub mod learn;
mod results;
pub mod server;

use std::path::PathBuf;

use crate::error::code;
use crate::error::{Error, Result};
use crate::ids::Actor;
use crate::learn::hooks::Install;
use crate::ops::learn::write_whole;
use crate::ops::Session;
use install::{Client, Launch};

/// Where and as whom the server acts: `-C` and the actor, fixed for the
/// session; each tool call opens the repository afresh (its state and
/// clock as of that call).
#[derive(Debug, Clone)]
pub struct Place {
    pub dir: Option<PathBuf>,
    pub actor: Actor,
}

/// The actor of `baton mcp`: `--actor`, else `BATON_ACTOR`, else the
/// default the client's entry names (`--default-actor`), else `agent:mcp`.
pub fn actor(flag: Option<&str>, env: Option<&str>, default: Option<&Actor>) -> Result<Actor> {
    if let Some(raw) = flag {
        return Actor::parse(raw).map_err(|e| Error::from(e).context("--actor"));
    }
    if let Some(raw) = env.filter(|a| !a.is_empty()) {
        return Actor::parse(raw).map_err(|e| Error::from(e).context("BATON_ACTOR"));
    }
    Ok(default
        .cloned()
        .unwrap_or_else(|| Actor::parse(DEFAULT_ACTOR).expect("the default actor is valid")))
}

/// Who `baton mcp` acts as when nothing names an actor.
pub const DEFAULT_ACTOR: &str = "agent:mcp";

/// Serve MCP on stdin/stdout until the client closes the stream. The
/// runtime is one thread for the protocol; operations run on its blocking
/// pool, as they block on git and the file system.
pub fn serve(place: Place) -> Result<()> {
    // rmcp times requests out: the time driver as well as the I/O one.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the MCP server's runtime", e))?;
    runtime.block_on(server::run(place))
}

/// Read the client's file, merge, and write it whole (then renamed, so a
/// client reading it never sees half a file) when it changed.
/// `mcp install <client>`: the merge is [`install::install`]; this reads and writes the file.
pub fn install_entry(s: &Session, client: Client, launch: &Launch, force: bool) -> Result<Install> {
    let root = s.store.work_dir().ok_or_else(|| {
        Error::environment(
            code::NO_WORK_TREE,
            "this repository has no work tree to install an MCP entry in",
        )
        .with_hint("run it in a clone with a work tree")
    })?;
    let path = root.join(client.path());
    let existing = match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    let done = install::install(client, existing.as_deref(), launch, force)?;
    if done.changed {
        write_whole(&path, &done.content)?;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_actor_comes_from_the_flag_then_the_environment_then_the_entry() {
        let entry = Actor::parse("agent:claude").unwrap();
        let got = |flag, env, default| actor(flag, env, default).map(|a| a.to_string());
        assert_eq!(got(Some("agent:a"), Some("agent:b"), Some(&entry)).unwrap(), "agent:a");
        assert_eq!(got(None, Some("agent:b"), Some(&entry)).unwrap(), "agent:b");
        assert_eq!(got(None, Some(""), Some(&entry)).unwrap(), "agent:claude");
        assert_eq!(got(None, None, None).unwrap(), "agent:mcp");
        let err = actor(None, Some("nobody"), None).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.message().starts_with("BATON_ACTOR: "), "{}", err.message());
    }
}
