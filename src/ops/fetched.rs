//! Plain `git fetch` is honest: the state a plain fetch brought in (through
//! the refspec `baton init` adds, into `refs/remotes/<remote>/baton/state`)
//! is what baton commands see. When the local state is behind it, the local
//! ref is fast-forwarded (compare-and-swap); when both moved, the command
//! says so and that `baton sync` merges them. Nothing here touches the
//! network.
//!
//! Cost: with no remote-tracking state, or one equal to the local tip, this
//! is one ref read per git remote. A fetched tip already judged (local was
//! ahead of it) is remembered in `.git/baton/fetch-seen`, so the ancestry
//! walk runs once per fetch, not once per command.

use std::path::PathBuf;

use gix::ObjectId;

use super::Session;
use crate::claims::Claim;
use crate::error::Result;
use crate::ids::ClaimId;
use crate::state;
use crate::store::remote::tracking_ref;
use crate::store::{Store, STATE_REF};

/// What adopting the fetched state did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adopted {
    /// This clone had no state: it took the fetched one.
    Took { remote: String, tip: ObjectId },
    /// The local state was behind: fast-forwarded to the fetched one.
    FastForward {
        remote: String,
        from: ObjectId,
        to: ObjectId,
    },
    /// Both moved since they last met: `baton sync` merges them.
    Diverged { remote: String },
}

impl Adopted {
    /// One line for people: what happened, and what to do when anything.
    pub fn describe(&self) -> String {
        match self {
            Adopted::Took { remote, .. } => {
                format!("note: took the baton state fetched from {remote}")
            }
            Adopted::FastForward { remote, .. } => {
                format!("note: caught up with the baton state fetched from {remote} (fast-forward)")
            }
            Adopted::Diverged { remote } => format!(
                "warning: the baton state fetched from {remote} differs from the local one (both changed); \
                 run `baton sync` to merge them"
            ),
        }
    }
}

/// The marker of the last fetched tip judged "local is ahead": nothing to adopt.
fn seen_path(store: &Store) -> PathBuf {
    store.git_dir().join("baton").join("fetch-seen")
}

fn seen(store: &Store, remote: &str, theirs: ObjectId) -> bool {
    std::fs::read_to_string(seen_path(store)).is_ok_and(|t| t.trim() == format!("{remote} {theirs}"))
}

/// Best effort: without the marker the next command judges again.
fn remember(store: &Store, remote: &str, theirs: ObjectId) {
    let path = seen_path(store);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(path, format!("{remote} {theirs}\n"));
}

/// The configured sync remote's fetched state tip, when it differs from the local tip.
fn fetched_tip(s: &Session, local: Option<ObjectId>) -> Result<Option<(String, ObjectId)>> {
    let remotes = s.store.remote_names();
    // The common cases, without reading the shared config: no remote, or
    // nothing fetched that the local state does not already have.
    let mut differs = false;
    for r in &remotes {
        if let Some(theirs) = s.store.resolve(&tracking_ref(r))? {
            differs |= Some(theirs) != local;
        }
    }
    if !differs {
        return Ok(None);
    }
    let remote = s.config()?.sync.remote.clone();
    if !remotes.contains(&remote) {
        return Ok(None);
    }
    Ok(s.store
        .resolve(&tracking_ref(&remote))?
        .filter(|t| Some(*t) != local)
        .map(|t| (remote, t)))
}

/// Bring a plainly fetched state in: adopt it or fast-forward to it (CAS),
/// or report that it diverged. `None` when there is nothing to say.
pub fn adopt(s: &mut Session) -> Result<Option<Adopted>> {
    let local = s.store.tip()?;
    let Some((remote, theirs)) = fetched_tip(s, local)? else {
        return Ok(None);
    };
    let Some(local) = local else {
        let took = s
            .store
            .move_ref(STATE_REF, None, theirs, &format!("baton: adopt fetched {remote}"));
        s.config = std::cell::OnceCell::new();
        return Ok(took.is_ok().then_some(Adopted::Took { remote, tip: theirs }));
    };
    if seen(&s.store, &remote, theirs) {
        return Ok(None);
    }
    if s.store.is_ancestor(local, theirs)? {
        let moved = s.store.move_ref(
            STATE_REF,
            Some(local),
            theirs,
            &format!("baton: fast-forward to fetched {remote}"),
        );
        // The policy read to find the remote was the old state's.
        s.config = std::cell::OnceCell::new();
        // A writer that moved the ref meanwhile wins; the next command looks again.
        return Ok(moved.is_ok().then_some(Adopted::FastForward {
            remote,
            from: local,
            to: theirs,
        }));
    }
    if s.store.is_ancestor(theirs, local)? {
        remember(&s.store, &remote, theirs);
        return Ok(None);
    }
    Ok(Some(Adopted::Diverged { remote }))
}

/// A claim as the last fetch of the sync remote has it, for refusals that
/// would otherwise tell the user to claim work someone else holds there.
pub fn fetched_claim(s: &Session, id: &ClaimId) -> Result<Option<(String, Claim)>> {
    let remote = s.config()?.sync.remote.clone();
    let Some(theirs) = s.store.resolve(&tracking_ref(&remote))? else {
        return Ok(None);
    };
    let snap = s.store.snapshot_at(Some(theirs))?;
    Ok(state::claim(&snap, id)?.map(|c| (remote, c)))
}
