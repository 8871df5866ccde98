//! The daemon's machine-local files under `.git/baton/`: never in the
//! state, never synced. The pid file and the log (the process), the kept
//! view and its head (incremental and quiet ticks), the last tick, and the
//! report of the last pass here that committed.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::daemon::{Report, TickRecord, View};
use crate::error::{Error, Result};
use crate::store::Store;

/// The daemon's files under `.git/baton/`.
pub const PID_FILE: &str = "daemon.pid";
pub const LOG_FILE: &str = "daemon.log";
pub(super) const VIEW_FILE: &str = "daemon-index.json";
pub(super) const TICK_FILE: &str = "daemon-tick.json";

/// `.git/baton/<name>`: machine-local, never in the state.
pub fn local_path(store: &Store, name: &str) -> PathBuf {
    store.git_dir().join("baton").join(name)
}

/// What the last pass on this machine that committed checked, changed and
/// reported (`daemon summary`'s "last reconcile report"). Machine-local: two
/// machines that both run a daemon would otherwise rewrite one shared file
/// on every committing pass, and every sync between them would be a
/// conflict over it; what a pass changed is in its commit for everyone.
pub(super) const REPORT_FILE: &str = "reconcile-last.json";

/// The report of the last committing pass on this machine, if it can be read.
pub fn last_report(store: &Store) -> Option<Report> {
    let bytes = std::fs::read(local_path(store, REPORT_FILE)).ok()?;
    Report::decode(&bytes).ok()
}

/// The view kept by the last tick here; `None` when there is none or it
/// cannot be read (the next pass is then full).
pub(super) fn read_view(store: &Store) -> Option<View> {
    let bytes = std::fs::read(local_path(store, VIEW_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Write a machine-local JSON file whole: a temporary file, then rename.
pub(super) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::io_says("writing a daemon file", "no directory"))?;
    // Only `.git/baton` itself is made: were the repository deleted meanwhile,
    // creating its parents would bring a `.git` back to life.
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io(format!("creating {}", dir.display()), e)),
    }
    let bytes = serde_json::to_vec(value).map_err(|e| Error::io("encoding a daemon file", e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io("writing a daemon file", e))?;
    std::io::Write::write_all(&mut tmp, &bytes).map_err(|e| Error::io("writing a daemon file", e))?;
    tmp.persist(path)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e.error))?;
    Ok(())
}

pub(super) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<std::result::Result<T, String>> {
    let bytes = std::fs::read(path).ok()?;
    Some(serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
}

/// The last tick recorded on this machine.
pub fn last_tick(store: &Store) -> Option<TickRecord> {
    read_json(&local_path(store, TICK_FILE))?.ok()
}
