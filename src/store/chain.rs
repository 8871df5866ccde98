//! A chain of commits built ahead of its landing: the write-behind writer
//! (`write_behind.rs`) gathers a workflow run's step results for a while
//! before it lands them, and builds each result's commit — its blob, the
//! trees on its path, the commit, each object hashed and deflated for the
//! pack — as the result arrives, while the next step runs. What is left
//! when the batch is due is the pack's file, its syncing and the ref.
//!
//! The chain is built on the tip the state had when it began. If the ref
//! moved meanwhile (another writer), or its compare-and-swap fails, the
//! same changes land the ordinary way ([`Store::update_packed`]), rebuilt
//! on the new tip: they must not depend on the state they land on, as
//! everything the writer lands.

use std::path::PathBuf;

use gix::ObjectId;

use super::staging::Staged;
use super::write::{chain_summary, refuse_existing};
use super::{pack, Change, RefError, Snapshot, Store, Update, Written};
use crate::error::{Error, Result};

/// Commits built in memory on `base`, not landed yet.
pub struct Chain {
    /// The state commit the chain builds on (the tip when it began), and its tree.
    base: Option<ObjectId>,
    base_tree: ObjectId,
    /// The chain's last commit (`base` while it has none) and its tree.
    tip: Option<ObjectId>,
    tree: ObjectId,
    staged: Staged,
    /// The changes built so far, to land the ordinary way if the ref moved.
    changes: Vec<Change>,
    /// A change that could not be built: it is built again (and fails
    /// again, with the ordinary write's error) when the chain lands.
    broken: bool,
}

impl Store {
    /// Begin a chain on the state's tip; fails with "no state" when there is none.
    pub fn begin_chain(&self) -> Result<Chain> {
        let snap = self.snapshot()?;
        Ok(Chain {
            base: snap.commit,
            base_tree: snap.tree,
            tip: snap.commit,
            tree: snap.tree,
            staged: self.staging.begin(&self.repo),
            changes: Vec::new(),
            broken: false,
        })
    }

    /// Build `change` as the chain's next commit, authored by `actor`.
    pub fn extend_chain(&self, chain: &mut Chain, change: Change, actor: &str) {
        if !chain.broken {
            chain.broken = self.build(chain, &change, actor).is_err();
        }
        chain.changes.push(change);
    }

    fn build(&self, chain: &mut Chain, change: &Change, actor: &str) -> Result<()> {
        let tree = self.write_tree_to(chain.staged.target(), chain.tree, change)?;
        let parents: Vec<ObjectId> = chain.tip.into_iter().collect();
        chain.tip = Some(self.commit_object_to(chain.staged.target(), tree, &parents, &change.message, actor)?);
        chain.tree = tree;
        Ok(())
    }

    /// Land `chain`, followed by what `op` decides on the state it lands on
    /// (in the same compare-and-swap), as one pack that also takes in the
    /// packs in `merge`, as [`Store::update_packed`] does with the chain's
    /// changes and `op`'s. Built as it stands when the ref has not moved
    /// since the chain began; rebuilt the ordinary way otherwise.
    pub fn land_chain<T>(
        &self,
        mut chain: Chain,
        actor: &str,
        merge: &[PathBuf],
        mut op: impl FnMut(&Snapshot<'_>) -> Result<Update<T>>,
    ) -> Result<Written<T>> {
        let tip = self.tip()?;
        if tip.is_none() || tip != chain.base || chain.broken {
            return self.land_rebuilt(chain.changes, actor, merge, op);
        }
        // The base's tree is known: looking its commit up again would search
        // the pack directory (the base is usually the writer's own last
        // commit, in a pack this handle has not opened).
        let snap = Snapshot {
            repo: &self.repo,
            commit: tip,
            tree: chain.base_tree,
        };
        let (decided, value) = op(&snap)?.into_changes();
        if chain.changes.is_empty() && decided.is_empty() {
            return Ok(Written {
                value,
                commit: None,
                retries: 0,
                pack: None,
            });
        }
        refuse_existing(&snap, &chain.changes)?;
        refuse_existing(&snap, &decided)?;
        // What `op` decides is decided again should the chain be rebuilt.
        let queued = chain.changes.len();
        for change in decided {
            self.extend_chain(&mut chain, change, actor);
        }
        let (Some(new), false) = (chain.tip, chain.broken) else {
            chain.changes.truncate(queued);
            return self.land_rebuilt(chain.changes, actor, merge, op);
        };
        let (memory, entries) = chain.staged.into_new_objects();
        let written = pack::write_prepared(&self.pack_dir(), entries, merge, &self.durability)
            .map_err(|e| Error::io("writing the state objects as a pack", e))?;
        match self.compare_and_swap(tip, new, &chain_summary(&chain.changes)) {
            Ok(()) => {
                drop(written.keep);
                self.staging.carry(memory, new);
                Ok(Written {
                    value,
                    commit: Some(new),
                    retries: 0,
                    pack: Some(written.index),
                })
            }
            Err(RefError::Io(why)) => Err(Error::git_says(format!("updating {}", super::STATE_REF), why)),
            // Moved or locked: the ordinary write, with its retries, on
            // whatever the tip is now; its pack takes in this one (kept
            // until then).
            Err(_) => {
                self.staging.forget();
                let mut merge = merge.to_vec();
                merge.push(written.index);
                chain.changes.truncate(queued);
                let landed = self.land_rebuilt(chain.changes, actor, &merge, op);
                drop(written.keep);
                landed
            }
        }
    }

    /// `changes`, then what `op` decides, landed the ordinary way.
    fn land_rebuilt<T>(
        &self,
        changes: Vec<Change>,
        actor: &str,
        merge: &[PathBuf],
        mut op: impl FnMut(&Snapshot<'_>) -> Result<Update<T>>,
    ) -> Result<Written<T>> {
        self.update_packed(actor, merge, |snap| {
            let (decided, value) = op(snap)?.into_changes();
            let mut chain = changes.clone();
            chain.extend(decided);
            Ok(Update::WriteEach(chain, value))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Message;

    fn store() -> (tempfile::TempDir, Store) {
        let root = tempfile::tempdir().unwrap();
        let dir = crate::testing::repository(root.path(), "repo");
        let store = Store::discover(&dir).unwrap();
        store
            .update_or_create("agent:t", |_| Ok(Update::Write(change("init", "0"), ())))
            .unwrap();
        (root, store)
    }

    fn change(summary: &str, content: &str) -> Change {
        let mut change = Change::new(Message::new(summary));
        change.put("runs/ledger.json".into(), content.as_bytes().to_vec());
        change
    }

    /// The summaries of the state's commits, newest first, and the ledger's content.
    fn state(store: &Store) -> (Vec<String>, String) {
        let git_dir = store.path().to_owned();
        let fresh = Store::open(&git_dir).unwrap();
        let log = std::process::Command::new("git")
            .args([
                "--git-dir",
                git_dir.to_str().unwrap(),
                "log",
                "--format=%s",
                super::super::STATE_REF,
            ])
            .output()
            .unwrap();
        let summaries = String::from_utf8(log.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        let ledger = fresh.snapshot().unwrap().read("runs/ledger.json").unwrap().unwrap();
        (summaries, String::from_utf8(ledger).unwrap())
    }

    #[test]
    fn a_chain_built_ahead_lands_each_change_as_its_commit_with_what_the_last_write_decides() {
        let (_root, store) = store();
        let mut chain = store.begin_chain().unwrap();
        for i in 1..=3 {
            store.extend_chain(&mut chain, change(&format!("step {i}"), &i.to_string()), "agent:t");
        }
        let written = store
            .land_chain(chain, "agent:t", &[], |snap| {
                // Decided on the state it lands on: the tip before the chain.
                assert_eq!(snap.read("runs/ledger.json").unwrap().unwrap(), b"0");
                Ok(Update::Write(change("end", "4"), 7))
            })
            .unwrap();
        assert_eq!(written.value, 7);
        assert!(written.pack.is_some() && written.commit.is_some());
        let (summaries, ledger) = state(&store);
        assert_eq!(summaries, ["end", "step 3", "step 2", "step 1", "init"]);
        assert_eq!(ledger, "4");
    }

    #[test]
    fn a_chain_whose_base_moved_is_rebuilt_on_the_new_tip_without_loss() {
        let (_root, store) = store();
        let mut chain = store.begin_chain().unwrap();
        store.extend_chain(&mut chain, change("step 1", "1"), "agent:t");
        // Another writer lands meanwhile.
        let other = Store::open(store.path()).unwrap();
        other
            .update("agent:o", |_| {
                let mut c = Change::new(Message::new("elsewhere"));
                c.put("other".into(), b"x".to_vec());
                Ok(Update::Write(c, ()))
            })
            .unwrap();
        store.extend_chain(&mut chain, change("step 2", "2"), "agent:t");
        let mut decided = 0;
        let written = store
            .land_chain(chain, "agent:t", &[], |snap| {
                decided += 1;
                assert!(snap.read("other").unwrap().is_some(), "decided on the moved tip");
                Ok(Update::Write(change("end", "3"), ()))
            })
            .unwrap();
        assert!(written.commit.is_some());
        assert_eq!(decided, 1);
        let (summaries, ledger) = state(&store);
        assert_eq!(summaries, ["end", "step 2", "step 1", "elsewhere", "init"]);
        assert_eq!(ledger, "3");
    }

    #[test]
    fn an_empty_chain_with_nothing_decided_lands_nothing() {
        let (_root, store) = store();
        let chain = store.begin_chain().unwrap();
        let written = store
            .land_chain(chain, "agent:t", &[], |_| Ok(Update::Unchanged("same")))
            .unwrap();
        assert_eq!(written.value, "same");
        assert!(written.commit.is_none() && written.pack.is_none());
        assert_eq!(state(&store).0, ["init"]);
    }
}
