//! The quiet tick: the head a pass that changed nothing leaves in
//! `.git/baton/daemon-head.json` ([`Head`]), and the tick that follows it
//! without reading the view — same state tree, nothing due yet, the runs
//! it saw running here still alive, no learn journal waiting.

use super::{local_path, read_json, write_json};
use crate::daemon::{Head, Report};
use crate::error::{Error, Result};
use crate::ops::{learn, Session};
use crate::store::Store;

const HEAD_FILE: &str = "daemon-head.json";

/// The report of a quiet tick now, when the head the last pass left says
/// this tick would decide what it decided; `None`: a pass must run (any
/// doubt, an unreadable head or state included, is a pass).
pub(super) fn quiet(s: &Session) -> Option<Report> {
    let head: Head = read_json(&local_path(&s.store, HEAD_FILE))?.ok()?;
    if learn::journal_waiting(&s.store) {
        return None;
    }
    let tip = s.store.tip().ok()??;
    let tree = s.store.tree_of(tip).ok()?;
    let host = crate::os::hostname();
    head.quiet(&tree.to_string(), s.now, &host, crate::os::process_alive)
        .then(|| head.quiet_report(s.now, Some(tip.to_string())))
}

/// Keep the head of a pass that changed nothing; after one that committed
/// there is none (its tree is no longer the tip's).
pub(super) fn keep(store: &Store, head: Option<&Head>) -> Result<()> {
    let path = local_path(store, HEAD_FILE);
    match head {
        Some(head) => write_json(&path, head),
        None => match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(format!("removing {}", path.display()), e)),
        },
    }
}
