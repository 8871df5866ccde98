//! Write-behind: changes queued by a busy caller land from a background
//! thread, so the caller does not wait for the disk between one piece of
//! work and the next.
//!
//! Every queued change still becomes its own commit, in queue order. What
//! the thread finds waiting when it is free lands together: one chain of
//! commits in one pack, one compare-and-swap ([`Store::update_packed`] with
//! [`Outcome::WriteEach`]). A caller that queues faster than the disk
//! writes pays for a file pair per batch instead of a handful of files per
//! commit; one that queues slowly gets each change landed alone, moments
//! after it was queued.
//!
//! The changes must not depend on the state they land on (a workflow run's
//! ledger file, which only its runner writes): a moved ref is simply
//! retried on the new tip.
//!
//! Packs are cheap to write and expensive to have many of (every reader
//! searches each one; gix sizes its table of packs when it opens a
//! repository). So the writer merges its own packs as it goes, geometrically
//! (a pack is merged into the one before it while that one is no more than
//! twice its size), which keeps a long run at a handful of packs and copies
//! each object only a few times; at the end it merges what is left into
//! one. Merging copies the packed entries as they are, without inflating.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

use super::{pack, Change, Outcome, Store};
use crate::error::{Error, Result};

pub struct WriteBehind {
    queue: Option<mpsc::Sender<Queued>>,
    worker: Option<JoinHandle<Result<()>>>,
}

enum Queued {
    Change(Change),
    /// Nothing follows: the batch with this lands as the writer's one pack.
    Finish,
}

impl WriteBehind {
    /// Start the writer thread; its commits are authored by `actor`.
    pub fn start(store: &Store, actor: &str) -> WriteBehind {
        let (queue, pending) = mpsc::channel::<Queued>();
        let git_dir = store.repo.path().to_owned();
        let actor = actor.to_owned();
        let mut packs = OwnPacks {
            dir: store.pack_dir(),
            packs: Vec::new(),
        };
        let worker = std::thread::spawn(move || {
            let mut store: Option<Store> = None;
            let mut finished = false;
            while !finished {
                let Ok(first) = pending.recv() else { break };
                let mut batch = Vec::new();
                for queued in std::iter::once(first).chain(pending.try_iter()) {
                    match queued {
                        Queued::Change(change) => batch.push(change),
                        Queued::Finish => finished = true,
                    }
                }
                if batch.is_empty() {
                    continue;
                }
                // Opened afresh for each batch: a repository handle that has
                // loaded a pack this writer then merged away must not look
                // for objects again (gix can panic when it re-reads a pack
                // directory whose packs were replaced under it).
                let fresh = match store.take() {
                    Some(used) => used.reopen()?,
                    None => Store::open(&git_dir)?,
                };
                // The last batch's pack takes in all the others: one write, one pack.
                let merge = if finished { packs.take_all() } else { Vec::new() };
                let written = fresh.update_packed(&actor, &merge, |_| Ok(Outcome::WriteEach(batch.clone(), ())))?;
                if let Some(index) = written.pack {
                    packs.add(index);
                }
                store = Some(fresh);
            }
            packs.merge_all();
            Ok(())
        });
        WriteBehind {
            queue: Some(queue),
            worker: Some(worker),
        }
    }

    /// Queue `change`. Fails with the writer's error once a write has failed.
    pub fn push(&mut self, change: Change) -> Result<()> {
        let sent = self
            .queue
            .as_ref()
            .is_some_and(|queue| queue.send(Queued::Change(change)).is_ok());
        if sent {
            return Ok(());
        }
        // The writer ended, which it only does after an error: report it.
        self.finish_inner().and(Err(Error::failed(
            "state_writer_stopped",
            "the state writer stopped before all changes were written",
        )
        .with_hint("run `baton doctor` to see the state")))
    }

    /// Wait until everything queued has landed.
    pub fn finish(mut self) -> Result<()> {
        if let Some(queue) = &self.queue {
            let _ = queue.send(Queued::Finish);
        }
        self.finish_inner()
    }

    fn finish_inner(&mut self) -> Result<()> {
        self.queue = None;
        match self.worker.take().map(JoinHandle::join) {
            None => Ok(()),
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(
                Error::failed("state_writer_panicked", "the state writer thread panicked")
                    .with_hint("run `baton doctor` to see what landed; please report this"),
            ),
        }
    }
}

/// The packs this writer made that are still on disk, oldest first, with
/// their sizes.
struct OwnPacks {
    dir: PathBuf,
    packs: Vec<(PathBuf, u64)>,
}

/// Merging is housekeeping: when it fails (a full disk), the packs stay as
/// they are, which git reads just as well, and the writer goes on.
impl OwnPacks {
    fn add(&mut self, index: PathBuf) {
        if self.packs.iter().any(|(known, _)| *known == index) {
            return;
        }
        let size = pack::size(&index);
        self.packs.push((index, size));
        while let [.., (_, older), (_, newer)] = self.packs[..] {
            if older > newer.saturating_mul(2) || !self.merge_last(2) {
                break;
            }
        }
    }

    fn take_all(&mut self) -> Vec<PathBuf> {
        self.packs.drain(..).map(|(index, _)| index).collect()
    }

    fn merge_all(&mut self) {
        if self.packs.len() > 1 {
            self.merge_last(self.packs.len());
        }
    }

    fn merge_last(&mut self, n: usize) -> bool {
        let from: Vec<PathBuf> = self.packs[self.packs.len() - n..]
            .iter()
            .map(|(p, _)| p.clone())
            .collect();
        match pack::merge(&self.dir, &from) {
            Ok(merged) => {
                self.packs.truncate(self.packs.len() - n);
                let size = pack::size(&merged);
                self.packs.push((merged, size));
                true
            }
            Err(_) => false,
        }
    }
}

impl Drop for WriteBehind {
    /// Whatever was queued still lands when the caller gives up early.
    fn drop(&mut self) {
        let _ = self.finish_inner();
    }
}
