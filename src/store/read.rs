//! Reading state: the tip of the state ref, a [`Snapshot`] of one state
//! commit, and the files in it. Reads touch only the trees on the path to
//! what they load, so their cost does not grow with the size of the state.

use gix::bstr::ByteSlice;
use gix::ObjectId;

use super::{Store, STATE_REF};
use crate::codec;
use crate::error::code;
use crate::error::{Error, Result, ResultExt};

/// What a non-tree entry of a state tree is. baton writes only files; the
/// others come from hand-made commits or other tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Symlink,
    /// A submodule commit: no object of this repository to read.
    Gitlink,
}

impl EntryKind {
    fn of(mode: gix::objs::tree::EntryMode) -> EntryKind {
        if mode.is_commit() {
            EntryKind::Gitlink
        } else if mode.is_link() {
            EntryKind::Symlink
        } else {
            EntryKind::File
        }
    }
}

/// One non-tree entry of a state tree: its path, object id and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub id: ObjectId,
    pub kind: EntryKind,
}

impl Entry {
    pub(super) fn new(path: String, id: ObjectId, mode: gix::objs::tree::EntryMode) -> Entry {
        Entry {
            path,
            id,
            kind: EntryKind::of(mode),
        }
    }
}

/// A read-only view of one state commit (or of no state at all).
pub struct Snapshot<'r> {
    pub(super) repo: &'r gix::Repository,
    pub(super) commit: Option<ObjectId>,
    pub(super) tree: ObjectId,
}

impl Store {
    /// The tip of the state ref, if there is state.
    pub fn tip(&self) -> Result<Option<ObjectId>> {
        self.resolve(STATE_REF)
    }

    /// Resolve any ref to the commit it points at (for remote-tracking refs too).
    pub fn resolve(&self, name: &str) -> Result<Option<ObjectId>> {
        let reference = self
            .repo
            .try_find_reference(name)
            .git_context(|| format!("reading {name}"))?;
        let Some(mut reference) = reference else {
            return Ok(None);
        };
        // baton's refs point at commits: no need to read the object to peel it.
        if let Some(id) = reference.target().try_id() {
            return Ok(Some(id.to_owned()));
        }
        let id = reference.peel_to_id().git_context(|| format!("resolving {name}"))?;
        Ok(Some(id.detach()))
    }

    /// The refusal every command gives on a repository without state,
    /// with how to get some.
    pub fn no_state(&self) -> Error {
        let remotes = self.remote_names();
        let err = Error::environment(
            code::NO_STATE,
            format!("this repository has no baton state ({STATE_REF} does not exist)"),
        );
        if remotes.is_empty() {
            err.with_hint("run `baton init` to start tracking state here")
        } else {
            err.with_hint(format!(
                "the state may exist on the remote: run `baton sync` to fetch it (remote {}), or `baton init` to start fresh",
                remotes.join(", ")
            ))
        }
    }

    /// The state as of the tip; an error saying how to get state when there is none.
    pub fn snapshot(&self) -> Result<Snapshot<'_>> {
        let snap = self.snapshot_at(self.tip()?)?;
        if snap.commit.is_none() {
            return Err(self.no_state());
        }
        Ok(snap)
    }

    /// The state at `commit`, or an empty state for `None`.
    pub fn snapshot_at(&self, commit: Option<ObjectId>) -> Result<Snapshot<'_>> {
        let kept_tree = commit.and_then(|id| self.staging.tree_of(id));
        let tree = match commit {
            Some(_) if kept_tree.is_some() => kept_tree.expect("checked"),
            Some(id) => {
                let commit = self
                    .repo
                    .find_commit(id)
                    .git_context(|| format!("reading state commit {id}"))?;
                commit
                    .tree_id()
                    .git_context(|| format!("reading the tree of {id}"))?
                    .detach()
            }
            None => ObjectId::empty_tree(self.repo.object_hash()),
        };
        Ok(Snapshot {
            repo: &self.repo,
            commit,
            tree,
        })
    }
    /// The git blob id of `bytes`, as `git hash-object` computes it, without
    /// writing anything.
    pub fn blob_id(&self, bytes: &[u8]) -> Result<ObjectId> {
        gix::objs::compute_hash(self.repo.object_hash(), gix::objs::Kind::Blob, bytes)
            .git_context(|| "hashing a blob".into())
    }

    /// A blob's bytes, if the object database has it.
    pub fn find_blob(&self, id: ObjectId) -> Result<Option<Vec<u8>>> {
        match self
            .repo
            .try_find_object(id)
            .git_context(|| format!("reading object {id}"))?
        {
            Some(obj) if obj.kind == gix::object::Kind::Blob => Ok(Some(obj.data.clone())),
            _ => Ok(None),
        }
    }
}

impl<'r> Snapshot<'r> {
    /// The commit this snapshot is of, `None` before the first one.
    pub fn commit(&self) -> Option<ObjectId> {
        self.commit
    }

    /// The tree of the state (the empty tree before the first commit).
    pub fn tree(&self) -> ObjectId {
        self.tree
    }

    /// The entry at `path` when it is not a tree; reads only the trees on its path.
    pub fn entry(&self, path: &str) -> Result<Option<Entry>> {
        let tree = self
            .repo
            .find_tree(self.tree)
            .git_context(|| "reading the state tree".into())?;
        let entry = tree
            .lookup_entry_by_path(path)
            .git_context(|| format!("looking up {path}"))?;
        Ok(entry
            .filter(|e| !e.mode().is_tree())
            .map(|e| Entry::new(path.to_owned(), e.object_id(), e.mode())))
    }

    /// The bytes of the file at `path`, if it exists; reads only the trees on its path.
    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let tree = self
            .repo
            .find_tree(self.tree)
            .git_context(|| "reading the state tree".into())?;
        let entry = tree
            .lookup_entry_by_path(path)
            .git_context(|| format!("looking up {path}"))?;
        match entry {
            Some(e) if e.mode().is_blob() => {
                let mut blob = self
                    .repo
                    .find_blob(e.object_id())
                    .git_context(|| format!("reading {path}"))?;
                Ok(Some(blob.take_data()))
            }
            Some(_) => Err(
                Error::environment(code::CORRUPT, format!("{path} is not a file in the state tree"))
                    .with_hint("run `baton doctor` to see what is wrong with the state"),
            ),
            None => Ok(None),
        }
    }

    /// Read a blob by id (after [`Snapshot::files_under`]).
    pub fn read_blob(&self, id: ObjectId) -> Result<Vec<u8>> {
        let mut blob = self.repo.find_blob(id).git_context(|| format!("reading blob {id}"))?;
        Ok(blob.take_data())
    }

    /// The id of the tree at `dir` (`None` when there is none): what the
    /// read index is keyed by.
    pub fn subtree(&self, dir: &str) -> Result<Option<ObjectId>> {
        let root = self
            .repo
            .find_tree(self.tree)
            .git_context(|| "reading the state tree".into())?;
        Ok(root
            .lookup_entry_by_path(dir)
            .git_context(|| format!("looking up {dir}"))?
            .filter(|e| e.mode().is_tree())
            .map(|e| e.object_id()))
    }

    /// Every entry below `dir` that is not a tree (recursively), in tree order.
    pub fn files_under(&self, dir: &str) -> Result<Vec<Entry>> {
        let root = self
            .repo
            .find_tree(self.tree)
            .git_context(|| "reading the state tree".into())?;
        let start = if dir.is_empty() {
            Some(self.tree)
        } else {
            match root
                .lookup_entry_by_path(dir)
                .git_context(|| format!("looking up {dir}"))?
            {
                Some(e) if e.mode().is_tree() => Some(e.object_id()),
                _ => None,
            }
        };
        let mut out = Vec::new();
        if let Some(start) = start {
            self.collect_files(start, dir.trim_end_matches('/'), &mut out)?;
        }
        Ok(out)
    }

    fn collect_files(&self, tree: ObjectId, prefix: &str, out: &mut Vec<Entry>) -> Result<()> {
        let tree = self
            .repo
            .find_tree(tree)
            .git_context(|| format!("reading tree {prefix}"))?;
        let decoded = tree.decode().git_context(|| format!("decoding tree {prefix}"))?;
        for entry in &decoded.entries {
            let name = entry.filename.to_str_lossy();
            let path = if prefix.is_empty() {
                name.into_owned()
            } else {
                format!("{prefix}/{name}")
            };
            if entry.mode.is_tree() {
                self.collect_files(entry.oid.to_owned(), &path, out)?;
            } else {
                out.push(Entry::new(path, entry.oid.to_owned(), entry.mode));
            }
        }
        Ok(())
    }

    /// Load and parse a TOML file; `None` when it does not exist.
    pub fn load_toml<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        match self.read(path)? {
            Some(bytes) => Ok(Some(codec::decode_toml(path, &bytes)?)),
            None => Ok(None),
        }
    }

    /// Load and parse a JSON file; `None` when it does not exist.
    pub fn load_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        match self.read(path)? {
            Some(bytes) => Ok(Some(codec::decode_json(path, &bytes)?)),
            None => Ok(None),
        }
    }
}
