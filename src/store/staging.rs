//! Staging: where a packed write builds its chain of commits before it
//! lands as one pack (see [`super::pack`]). The chain's objects go to
//! memory, not to the object database; what the next chain needs of them
//! (its tip commit and the trees the tip wrote) stays with the store
//! handle, because the next chain usually edits exactly those trees.
//!
//! A write names where its objects go with a [`Sink`]: the object
//! database (loose files), or a [`Staged`] chain in memory, where each new
//! object is also deflated for the pack as it is made.

use std::cell::RefCell;
use std::collections::HashSet;

use gix::odb::memory::Storage;
use gix::ObjectId;

use super::pack;
use crate::error::{Error, Result, ResultExt};

/// The objects the last packed chain of a store handle left for the next
/// one to build on (empty until a packed write landed).
#[derive(Default)]
pub(super) struct Staging {
    carried: RefCell<Storage>,
}

impl Staging {
    /// Start a chain: a handle of `repo` whose writes go to memory, on top
    /// of the objects carried from the last chain.
    pub(super) fn begin(&self, repo: &gix::Repository) -> Staged {
        let carried = self.carried.take();
        let carried_ids = carried.keys().copied().collect();
        let mut repo = repo.clone();
        repo.objects.set_object_memory(carried);
        Staged {
            repo,
            carried_ids,
            packing: Default::default(),
        }
    }

    /// Keep what the next chain needs of `objects`, a chain whose tip is `tip`.
    pub(super) fn carry(&self, objects: Storage, tip: ObjectId) {
        self.carried.replace(tip_objects(objects, tip));
    }

    /// Drop what was carried: a chain built on it never landed, and another
    /// attempt must not leave those objects out of its pack.
    pub(super) fn forget(&self) {
        self.carried.take();
    }

    /// What was carried, for another handle of the same repository to build on.
    pub(super) fn hand_over(&self) -> Staging {
        Staging {
            carried: RefCell::new(self.carried.take()),
        }
    }

    /// The tree of `commit`, when it is a carried commit (not yet readable
    /// from a handle that has not seen its pack).
    pub(super) fn tree_of(&self, commit: ObjectId) -> Option<ObjectId> {
        let carried = self.carried.borrow();
        let (_, data) = carried.get(&commit)?;
        let tree = gix::objs::CommitRef::from_bytes(data, commit.kind()).ok()?.tree();
        Some(tree)
    }
}

/// A chain being built in memory.
pub(super) struct Staged {
    repo: gix::Repository,
    /// What was carried in: already in a pack, not to be written again.
    carried_ids: HashSet<ObjectId>,
    packing: RefCell<Packing>,
}

/// The chain's new objects, deflated for its pack as they were made.
#[derive(Default)]
struct Packing {
    deflater: pack::Deflater,
    prepared: HashSet<ObjectId>,
    entries: Vec<pack::Prepared>,
}

impl Staged {
    pub(super) fn target(&self) -> Sink<'_> {
        Sink::Memory(self)
    }

    /// Keep `data`, an object `put` just wrote, for the pack, deflated now:
    /// once, and not when it was carried in (it is in a pack already).
    fn prepare(&self, id: ObjectId, kind: gix::objs::Kind, data: &[u8]) -> Result<()> {
        let mut packing = self.packing.borrow_mut();
        if self.carried_ids.contains(&id) || !packing.prepared.insert(id) {
            return Ok(());
        }
        let entry = packing
            .deflater
            .prepare(&pack::Entry { id, kind, data })
            .map_err(|e| Error::io("deflating a state object", e))?;
        packing.entries.push(entry);
        Ok(())
    }

    /// The objects the chain wrote (not those carried in), and the same
    /// deflated for its pack.
    pub(super) fn into_new_objects(mut self) -> (Storage, Vec<pack::Prepared>) {
        let mut memory = self.repo.objects.take_object_memory().unwrap_or_default();
        memory.retain(|id, _| !self.carried_ids.contains(id));
        (memory, self.packing.into_inner().entries)
    }
}

/// Where a write's new objects go, and where it reads the trees it edits.
#[derive(Clone, Copy)]
pub(super) enum Sink<'r> {
    /// The object database: a loose file per object, unless it has it.
    Database(&'r gix::Repository),
    /// A staged chain in memory, straight away (nothing to look up: a
    /// duplicate in a pack is harmless).
    Memory(&'r Staged),
}

impl<'r> Sink<'r> {
    pub(super) fn repo(self) -> &'r gix::Repository {
        match self {
            Sink::Database(repo) => repo,
            Sink::Memory(staged) => &staged.repo,
        }
    }

    pub(super) fn put_object<T: gix::objs::WriteTo>(self, object: &T, what: &str) -> Result<ObjectId> {
        match self {
            Sink::Memory(staged) => {
                let mut data = Vec::with_capacity(object.size() as usize);
                object.write_to(&mut data).git_context(|| what.into())?;
                self.put(staged, object.kind(), &data).map_err(|e| e.context(what))
            }
            Sink::Database(repo) => Ok(repo.write_object(object).git_context(|| what.into())?.detach()),
        }
    }

    pub(super) fn put_blob(self, bytes: &[u8]) -> Result<ObjectId> {
        match self {
            Sink::Memory(staged) => self.put(staged, gix::objs::Kind::Blob, bytes),
            Sink::Database(repo) => Ok(repo.write_blob(bytes).git_context(|| "writing a blob".into())?.detach()),
        }
    }

    fn put(self, staged: &Staged, kind: gix::objs::Kind, data: &[u8]) -> Result<ObjectId> {
        let id =
            gix::objs::Write::write_buf(&staged.repo.objects, kind, data).git_context(|| "writing an object".into())?;
        staged.prepare(id, kind, data)?;
        Ok(id)
    }
}

/// Of a packed chain's objects, what the next chain needs: its tip commit
/// and the trees of the tip's tree that were new (the next chain edits
/// them). Not the blobs, nor the commits and trees before the tip: a long
/// run's writer would otherwise carry every batch's ledger copies.
fn tip_objects(mut memory: gix::odb::memory::Storage, tip: ObjectId) -> gix::odb::memory::Storage {
    let mut keep = vec![tip];
    let mut pending: Vec<ObjectId> = memory
        .get(&tip)
        .and_then(|(_, data)| gix::objs::CommitRef::from_bytes(data, tip.kind()).ok())
        .map(|commit| vec![commit.tree()])
        .unwrap_or_default();
    while let Some(tree) = pending.pop() {
        let Some((gix::objs::Kind::Tree, data)) = memory.get(&tree) else {
            continue;
        };
        keep.push(tree);
        if let Ok(decoded) = gix::objs::TreeRef::from_bytes(data, tree.kind()) {
            pending.extend(
                decoded
                    .entries
                    .iter()
                    .filter(|e| e.mode.is_tree())
                    .map(|e| e.oid.to_owned()),
            );
        }
    }
    let keep: std::collections::HashSet<ObjectId> = keep.into_iter().collect();
    memory.retain(|id, _| keep.contains(id));
    memory
}
