//! Comparing state trees: which paths differ between two sides, with their
//! version at the merge base (sync's 3-way merge reads only what differs),
//! and which files one tree adds or changes over another (what the
//! pre-commit hook and sync verify). Only subtrees whose ids differ are read,
//! so the cost follows the number of changes, not the size of the state.

use gix::bstr::ByteSlice;
use gix::objs::tree::EntryMode;
use gix::ObjectId;

use super::{Entry, Store};
use crate::error::{Result, ResultExt};

/// One path whose versions differ between the two sides of a merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    pub path: String,
    pub base: Option<ObjectId>,
    pub local: Option<ObjectId>,
    pub remote: Option<ObjectId>,
}

impl Store {
    /// The paths whose versions differ between `local` and `remote` trees, with
    /// their version in `base` too. Only subtrees whose ids differ are read, so
    /// the cost follows the number of changes, not the size of the state.
    pub fn three_way(&self, base: Option<ObjectId>, local: ObjectId, remote: ObjectId) -> Result<Vec<Divergence>> {
        let mut out = Vec::new();
        self.three_way_at("", base, Some(local), Some(remote), &mut out)?;
        Ok(out)
    }

    /// The entries of a tree as `(name, is a tree, id)`.
    fn tree_entries(&self, tree: Option<ObjectId>) -> Result<Vec<(String, bool, ObjectId)>> {
        Ok(self
            .tree_entries_with_mode(tree)?
            .into_iter()
            .map(|(name, mode, id)| (name, mode.is_tree(), id))
            .collect())
    }

    fn tree_entries_with_mode(&self, tree: Option<ObjectId>) -> Result<Vec<(String, EntryMode, ObjectId)>> {
        let Some(id) = tree else {
            return Ok(Vec::new());
        };
        let tree = self.repo.find_tree(id).git_context(|| format!("reading tree {id}"))?;
        let decoded = tree.decode().git_context(|| format!("decoding tree {id}"))?;
        Ok(decoded
            .entries
            .iter()
            .map(|e| (e.filename.to_str_lossy().into_owned(), e.mode, e.oid.to_owned()))
            .collect())
    }

    /// The files (every non-tree entry) of tree `new` that tree `old` does
    /// not have as they are: added, or changed in content or kind. Without
    /// `old`, every file of `new`.
    pub fn changed_files(&self, old: Option<ObjectId>, new: ObjectId) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        self.changed_files_at("", old, new, &mut out)?;
        Ok(out)
    }

    /// Every file (non-tree entry) that differs between trees `old` and
    /// `new`: `Some(entry)` as it is in `new` (added or changed in content
    /// or kind), `None` when `new` no longer has it. Only subtrees whose ids
    /// differ are read.
    pub fn tree_changes(&self, old: ObjectId, new: ObjectId) -> Result<Vec<(String, Option<Entry>)>> {
        let mut out = Vec::new();
        self.tree_changes_at("", Some(old), Some(new), &mut out)?;
        Ok(out)
    }

    /// As [`Store::tree_changes`], for two versions of the tree at `dir`
    /// (paths are given from the root, under `dir`).
    pub fn tree_changes_under(&self, dir: &str, old: ObjectId, new: ObjectId) -> Result<Vec<(String, Option<Entry>)>> {
        let mut out = Vec::new();
        self.tree_changes_at(dir, Some(old), Some(new), &mut out)?;
        Ok(out)
    }

    fn tree_changes_at(
        &self,
        prefix: &str,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
        out: &mut Vec<(String, Option<Entry>)>,
    ) -> Result<()> {
        if old == new {
            return Ok(());
        }
        let before = self.tree_entries_with_mode(old)?;
        let after = self.tree_entries_with_mode(new)?;
        let path_of = |name: &str| {
            if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}/{name}")
            }
        };
        let find = |side: &[(String, EntryMode, ObjectId)], name: &str, tree: bool| {
            side.iter()
                .find(|(n, m, _)| n == name && m.is_tree() == tree)
                .map(|(_, m, id)| (*m, *id))
        };
        for (name, mode, id) in &after {
            let path = path_of(name);
            let was = find(&before, name, mode.is_tree());
            if mode.is_tree() {
                self.tree_changes_at(&path, was.map(|(_, id)| id), Some(*id), out)?;
            } else if was != Some((*mode, *id)) {
                out.push((path.clone(), Some(Entry::new(path, *id, *mode))));
            }
        }
        for (name, mode, id) in &before {
            if find(&after, name, mode.is_tree()).is_some() {
                continue;
            }
            let path = path_of(name);
            if mode.is_tree() {
                self.tree_changes_at(&path, Some(*id), None, out)?;
            } else {
                out.push((path, None));
            }
        }
        Ok(())
    }

    fn changed_files_at(&self, prefix: &str, old: Option<ObjectId>, new: ObjectId, out: &mut Vec<Entry>) -> Result<()> {
        if old == Some(new) {
            return Ok(());
        }
        let before = self.tree_entries_with_mode(old)?;
        for (name, mode, id) in self.tree_entries_with_mode(Some(new))? {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let was = before
                .iter()
                .find(|(n, m, _)| *n == name && m.is_tree() == mode.is_tree())
                .map(|(_, m, id)| (*m, *id));
            if mode.is_tree() {
                self.changed_files_at(&path, was.map(|(_, id)| id), id, out)?;
            } else if was != Some((mode, id)) {
                out.push(Entry::new(path, id, mode));
            }
        }
        Ok(())
    }

    fn three_way_at(
        &self,
        prefix: &str,
        base: Option<ObjectId>,
        local: Option<ObjectId>,
        remote: Option<ObjectId>,
        out: &mut Vec<Divergence>,
    ) -> Result<()> {
        if local == remote {
            return Ok(());
        }
        let sides = [
            self.tree_entries(base)?,
            self.tree_entries(local)?,
            self.tree_entries(remote)?,
        ];
        let names: std::collections::BTreeSet<&str> = sides.iter().flatten().map(|(n, _, _)| n.as_str()).collect();
        for name in names {
            let path = if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}/{name}")
            };
            let find = |side: &[(String, bool, ObjectId)], want_tree: bool| {
                side.iter()
                    .find(|(n, is_tree, _)| n == name && *is_tree == want_tree)
                    .map(|(_, _, id)| *id)
            };
            let trees = [find(&sides[0], true), find(&sides[1], true), find(&sides[2], true)];
            if trees[1] != trees[2] {
                self.three_way_at(&path, trees[0], trees[1], trees[2], out)?;
            }
            let blobs = [find(&sides[0], false), find(&sides[1], false), find(&sides[2], false)];
            if blobs[1] != blobs[2] {
                out.push(Divergence {
                    path,
                    base: blobs[0],
                    local: blobs[1],
                    remote: blobs[2],
                });
            }
        }
        Ok(())
    }

    /// The tree of a commit.
    pub fn tree_of(&self, commit: ObjectId) -> Result<ObjectId> {
        let c = self
            .repo
            .find_commit(commit)
            .git_context(|| format!("reading commit {commit}"))?;
        Ok(c.tree_id()
            .git_context(|| format!("reading the tree of {commit}"))?
            .detach())
    }
}
