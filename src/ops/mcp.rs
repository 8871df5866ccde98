//! `mcp install <client>`: write or merge the client's project MCP entry in
//! this work tree ([`crate::mcp::install`] decides the content).

use super::learn::write_whole;
use super::Session;
use crate::error::{Error, Result};
use crate::learn::hooks::Install;
use crate::mcp::install::{self, Client, Launch};

/// Read the client's file, merge, and write it whole (then renamed, so a
/// client reading it never sees half a file) when it changed.
pub fn install(s: &Session, client: Client, launch: &Launch, force: bool) -> Result<Install> {
    let root = s.store.work_dir().ok_or_else(|| {
        Error::environment(
            "no_work_tree",
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
