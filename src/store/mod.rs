//! The git store: one ref, `refs/baton/state`, whose commits hold the whole
//! shared state as files (DESIGN §1). This module owns reading files out of a
//! state commit, writing a new commit that changes a few of them, and moving
//! the ref with compare-and-swap. It knows TOML and JSON, never what a claim is.
//!
//! A write is: read the tip, let the caller compute changes from the files it
//! loads (a pure function), write only the blobs and trees on the changed
//! paths, then update the ref expecting the tip that was read. When the ref
//! moved or is locked, the whole thing is re-run, so the caller's
//! preconditions are checked again against the newer state.

pub mod behind;
pub mod codec;
pub mod message;
pub mod pack;
pub mod remote;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gix::bstr::ByteSlice;
use gix::objs::tree::EntryKind;
use gix::refs::transaction::{Change as RefChange, LogChange, PreviousValue, RefEdit, RefLog};
use gix::refs::Target;
use gix::ObjectId;

use crate::error::{Error, Result, ResultExt};
pub use message::Message;

/// The one ref that holds all shared state.
pub const STATE_REF: &str = "refs/baton/state";

/// The line that marks the pre-commit hook `baton init --hooks` writes.
pub const HOOK_MARKER: &str = "# installed by baton init --hooks";

/// How long a writer keeps retrying a moved or locked ref before giving up.
const WRITE_BUDGET: Duration = Duration::from_secs(10);

/// Memory for decoded pack entries, see [`DeltaBaseCache`].
const DELTA_BASE_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Decoded pack entries by pack offset, so resolving a delta chain can stop
/// at an object decoded before instead of inflating the whole chain again.
/// After `git gc` claim files are deltas of one another (chains up to 50
/// deep); without this, listing 10k claims inflates each chain from scratch.
/// (gix has LRU caches for this behind its `max-performance` feature, which
/// baton does not enable.) When full, it starts over.
struct DeltaBaseCache {
    entries: std::collections::HashMap<(u32, u64), (gix::objs::Kind, usize, Vec<u8>)>,
    bytes: usize,
    cap: usize,
}

impl DeltaBaseCache {
    fn new(cap: usize) -> Self {
        DeltaBaseCache {
            entries: Default::default(),
            bytes: 0,
            cap,
        }
    }
}

impl gix::odb::pack::cache::DecodeEntry for DeltaBaseCache {
    fn put(&mut self, pack_id: u32, offset: u64, data: &[u8], kind: gix::objs::Kind, compressed_size: usize) {
        if data.len() > self.cap / 4 {
            return;
        }
        if self.bytes + data.len() > self.cap {
            self.entries.clear();
            self.bytes = 0;
        }
        let old = self
            .entries
            .insert((pack_id, offset), (kind, compressed_size, data.to_vec()));
        self.bytes += data.len();
        if let Some((_, _, old)) = old {
            self.bytes -= old.len();
        }
    }

    fn get(&mut self, pack_id: u32, offset: u64, out: &mut Vec<u8>) -> Option<(gix::objs::Kind, usize)> {
        let (kind, compressed_size, data) = self.entries.get(&(pack_id, offset))?;
        out.clear();
        out.extend_from_slice(data);
        Some((*kind, *compressed_size))
    }
}

/// An opened repository with the state ref.
pub struct Store {
    repo: gix::Repository,
    /// Objects are written to memory (for a pack), not to the object database.
    in_memory: bool,
    /// The objects of the last chain this handle packed: the next chain
    /// usually builds on its tip, and finds the trees it edits here instead
    /// of searching every pack on disk.
    kept: std::cell::RefCell<gix::odb::memory::Storage>,
}

/// A read-only view of one state commit (or of no state at all).
pub struct Snapshot<'r> {
    repo: &'r gix::Repository,
    commit: Option<ObjectId>,
    tree: ObjectId,
}

/// Files to write and delete in one operation, and the commit message.
#[derive(Debug, Default, Clone)]
pub struct Change {
    writes: Vec<(String, Content)>,
    deletes: Vec<String>,
    /// Paths that must not exist yet: the write is refused otherwise.
    creates: Vec<String>,
    /// Blobs stored with the commit but placed nowhere in its tree.
    unplaced: Vec<Vec<u8>>,
    pub message: Message,
}

/// A file's new content: bytes to write, or a blob that already exists (merges).
#[derive(Debug, Clone)]
pub enum Content {
    Bytes(Vec<u8>),
    Blob(ObjectId),
}

/// One path whose versions differ between the two sides of a merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    pub path: String,
    pub base: Option<ObjectId>,
    pub local: Option<ObjectId>,
    pub remote: Option<ObjectId>,
}

/// What an operation decided after looking at the state.
pub enum Outcome<T> {
    /// Nothing to write (an idempotent repeat, a read): no commit.
    Unchanged(T),
    /// Write this change as one commit.
    Write(Change, T),
    /// Write these changes as a chain of commits, one each, that lands at
    /// once: history keeps every change, the ref moves one time.
    WriteEach(Vec<Change>, T),
}

/// Where a write puts its new objects.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Objects {
    /// A file per object, as git does for single commits.
    Loose,
    /// One pack for the whole write (see [`pack`]): two files, however many
    /// objects; with the objects of these earlier packs, which it replaces.
    Packed(Vec<PathBuf>),
}

/// The result of a write: the value the operation returned and the new commit, if any.
#[derive(Debug)]
pub struct Written<T> {
    pub value: T,
    pub commit: Option<ObjectId>,
    /// How many times the ref had moved under us before this write landed.
    pub retries: u32,
    /// The index of the pack the new objects went into, when packed.
    pub pack: Option<PathBuf>,
}

/// One commit of the state history, as `baton log` shows it.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub id: ObjectId,
    pub message: Message,
    pub author: String,
    /// Commit time, seconds since the epoch.
    pub time: i64,
    pub parents: Vec<ObjectId>,
}

impl Change {
    pub fn new(message: Message) -> Self {
        Change {
            message,
            ..Default::default()
        }
    }

    pub fn put(&mut self, path: String, bytes: Vec<u8>) -> &mut Self {
        self.writes.push((path, Content::Bytes(bytes)));
        self
    }

    /// Place an existing blob at `path` (a merge taking one side's version).
    pub fn put_blob(&mut self, path: String, blob: ObjectId) -> &mut Self {
        self.writes.push((path, Content::Blob(blob)));
        self
    }

    pub fn put_toml<T: serde::Serialize>(&mut self, path: String, value: &T) -> Result<&mut Self> {
        let bytes = codec::encode_toml(&path, value)?;
        Ok(self.put(path, bytes))
    }

    pub fn put_json<T: serde::Serialize>(&mut self, path: String, value: &T) -> Result<&mut Self> {
        let bytes = codec::encode_json(&path, value)?;
        Ok(self.put(path, bytes))
    }

    pub fn delete(&mut self, path: String) -> &mut Self {
        self.deletes.push(path);
        self
    }

    /// Refuse the write if `path` exists on the state it would land on.
    pub fn expect_absent(&mut self, path: String) -> &mut Self {
        self.creates.push(path);
        self
    }

    /// Store `bytes` as a blob with this commit, outside its tree (machine
    /// -local: it is not pushed); returns the blob's id.
    pub fn keep_blob(&mut self, bytes: Vec<u8>) -> Result<ObjectId> {
        let id = gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, &bytes)
            .git_context(|| "hashing a blob".into())?;
        self.unplaced.push(bytes);
        Ok(id)
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.deletes.is_empty()
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.writes
            .iter()
            .map(|(p, _)| p.as_str())
            .chain(self.deletes.iter().map(String::as_str))
    }
}

impl Store {
    /// Open the repository containing `dir` (like git, searching upwards).
    pub fn discover(dir: &Path) -> Result<Store> {
        let repo = gix::discover(dir).map_err(|e| {
            Error::environment(
                "not_a_repository",
                format!("{} is not in a git repository ({e})", dir.display()),
            )
            .with_hint("run baton inside a git repository, or pass -C <path>; `git init` creates one")
        })?;
        Ok(Store::with_caches(repo))
    }

    /// Open the repository at `git_dir` again, for another thread: a gix
    /// repository (built without its `parallel` feature) stays on the
    /// thread that opened it.
    pub fn open(git_dir: &Path) -> Result<Store> {
        let repo = gix::open(git_dir).git_context(|| format!("opening the repository at {}", git_dir.display()))?;
        Ok(Store::with_caches(repo))
    }

    fn with_caches(mut repo: gix::Repository) -> Store {
        // The git identity is read when writing (`Store::committer`), not here.
        repo.object_cache_size_if_unset(4 * 1024 * 1024);
        repo.objects
            .set_pack_cache(|| Box::new(DeltaBaseCache::new(DELTA_BASE_CACHE_BYTES)));
        Store {
            repo,
            in_memory: false,
            kept: Default::default(),
        }
    }

    /// The same repository opened afresh (a handle that never looked at
    /// packs deleted since), keeping the objects this one kept.
    pub fn reopen(self) -> Result<Store> {
        let fresh = Store::open(self.repo.path())?;
        fresh.kept.replace(self.kept.take());
        Ok(fresh)
    }

    pub fn repo(&self) -> &gix::Repository {
        &self.repo
    }

    /// `.git` (the common one, for worktrees): where refs and machine-local files live.
    pub fn git_dir(&self) -> &Path {
        self.repo.common_dir()
    }

    pub fn work_dir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// Machine-local, never shared: `.git/baton/`.
    pub fn local_dir(&self) -> PathBuf {
        self.git_dir().join("baton")
    }

    pub fn lock_path(&self) -> PathBuf {
        self.git_dir().join(format!("{STATE_REF}.lock"))
    }

    /// The committer identity of this machine, `Name <email>`.
    pub fn committer_name(&self) -> String {
        let (name, email) = self.committer();
        format!("{name} <{email}>")
    }

    /// This machine's git identity, resolved as gix and git do:
    /// `committer.*` (`GIT_COMMITTER_*`), then `user.*`, then `$EMAIL`; a
    /// machine without one still writes state, as `baton <baton@localhost>`.
    ///
    /// Read from the configuration directly: gix's `Repository::committer()`
    /// also works out a commit time, which loads the whole time zone database
    /// (a walk of /usr/share/zoneinfo, 0.5 ms or more per process).
    fn committer(&self) -> (gix::bstr::BString, gix::bstr::BString) {
        let config = self.repo.config_snapshot();
        let first = |keys: &[&str]| keys.iter().find_map(|k| config.plumbing().string(*k));
        let name = first(&["committer.name", "user.name", "gitoxide.committer.nameFallback"]);
        let email = first(&[
            "committer.email",
            "user.email",
            "gitoxide.user.emailFallback",
            "gitoxide.committer.emailFallback",
        ]);
        (
            name.unwrap_or_else(|| "baton".into()),
            email.unwrap_or_else(|| "baton@localhost".into()),
        )
    }

    /// The time of a reflog entry: `GIT_COMMITTER_DATE` when set, as gix
    /// would take it, else now.
    fn reflog_time(&self) -> gix::date::Time {
        let config = self.repo.config_snapshot();
        config
            .plumbing()
            .string("gitoxide.commit.committerDate")
            .and_then(|date| {
                let date = date.to_str().ok()?;
                gix::date::parse(date, Some(gix::date::Zoned::now())).ok()
            })
            .unwrap_or_else(now)
    }

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
            "no_state",
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
        let kept_tree = commit.and_then(|id| {
            let kept = self.kept.borrow();
            let (_, data) = kept.get(&id)?;
            let tree = gix::objs::CommitRef::from_bytes(data, self.repo.object_hash())
                .ok()?
                .tree();
            Some(tree)
        });
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

    /// Run `op` against the current state and commit what it returns, with
    /// compare-and-swap on the ref; re-run it whenever the ref moved meanwhile.
    /// Fails with "no state" unless the state exists.
    pub fn update<T>(&self, actor: &str, op: impl FnMut(&Snapshot<'_>) -> Result<Outcome<T>>) -> Result<Written<T>> {
        self.update_inner(actor, false, Objects::Loose, op)
    }

    /// Like [`Store::update`], with the new objects written as one pack,
    /// which also takes in the objects of the packs in `merge` (packs this
    /// process wrote, see [`pack::merge`]); those are then deleted.
    pub fn update_packed<T>(
        &self,
        actor: &str,
        merge: &[PathBuf],
        op: impl FnMut(&Snapshot<'_>) -> Result<Outcome<T>>,
    ) -> Result<Written<T>> {
        self.update_inner(actor, false, Objects::Packed(merge.to_vec()), op)
    }

    /// Like [`Store::update`], but also runs on a repository without state (for `init`).
    pub fn update_or_create<T>(
        &self,
        actor: &str,
        op: impl FnMut(&Snapshot<'_>) -> Result<Outcome<T>>,
    ) -> Result<Written<T>> {
        self.update_inner(actor, true, Objects::Loose, op)
    }

    fn update_inner<T>(
        &self,
        actor: &str,
        may_create: bool,
        mut objects: Objects,
        mut op: impl FnMut(&Snapshot<'_>) -> Result<Outcome<T>>,
    ) -> Result<Written<T>> {
        let started = Instant::now();
        let mut retries = 0u32;
        let mut unexplained_failures = 0;
        loop {
            let snap = self.snapshot_at(self.tip()?)?;
            if snap.commit.is_none() && !may_create {
                return Err(self.no_state());
            }
            let (changes, value) = match op(&snap)? {
                Outcome::Unchanged(value) => {
                    return Ok(Written {
                        value,
                        commit: None,
                        retries,
                        pack: None,
                    })
                }
                Outcome::Write(change, value) => (vec![change], value),
                Outcome::WriteEach(changes, value) if changes.is_empty() => {
                    return Ok(Written {
                        value,
                        commit: None,
                        retries,
                        pack: None,
                    })
                }
                Outcome::WriteEach(changes, value) => (changes, value),
            };
            for path in changes.iter().flat_map(|c| &c.creates) {
                if snap.read(path)?.is_some() {
                    return Err(Error::refused("exists", format!("{path} already exists in the state"))
                        .with_hint("retry: a fresh name is picked each time"));
                }
            }
            let (new, pack) = self.write_chain(&snap, &changes, actor, &objects)?;
            if let (Objects::Packed(merged), Some(pack)) = (&mut objects, &pack) {
                // Those packs are gone now, their objects in this one.
                *merged = vec![pack.clone()];
            }
            let summary = match &changes[..] {
                [one] => one.message.summary.clone(),
                [.., last] => format!("{} (and {} earlier commit(s))", last.message.summary, changes.len() - 1),
                [] => unreachable!("empty writes return above"),
            };
            match self.compare_and_swap(snap.commit, new, &summary) {
                Ok(()) => {
                    return Ok(Written {
                        value,
                        commit: Some(new),
                        retries,
                        pack,
                    })
                }
                Err(err) => {
                    let moved = self.tip()? != snap.commit;
                    let locked = self.lock_path().exists();
                    if !moved && !locked {
                        unexplained_failures += 1;
                        if unexplained_failures >= 3 {
                            return Err(Error::git(format!("updating {STATE_REF}"), err));
                        }
                    }
                    if started.elapsed() >= WRITE_BUDGET {
                        return Err(if locked && !moved {
                            Error::environment(
                                "lock_held",
                                format!(
                                    "{STATE_REF} stayed locked for {}s ({} exists)",
                                    WRITE_BUDGET.as_secs(),
                                    self.lock_path().display()
                                ),
                            )
                            .with_hint(
                                "if no baton or git process is running, `baton doctor --fix` removes a stale lock",
                            )
                        } else {
                            Error::failed(
                                "contention",
                                format!("{STATE_REF} kept moving; gave up after {retries} retries"),
                            )
                            .with_hint("other writers are very busy; retry the command")
                        });
                    }
                    retries += 1;
                    backoff(retries);
                }
            }
        }
    }

    /// Write `changes` as a chain of commits on top of `snap`, one per change;
    /// returns the last, and the pack's index when packed. Packed, the chain
    /// is built in memory (each commit's trees read from the one before) and
    /// lands as one pack.
    fn write_chain(
        &self,
        snap: &Snapshot<'_>,
        changes: &[Change],
        actor: &str,
        objects: &Objects,
    ) -> Result<(ObjectId, Option<PathBuf>)> {
        let Objects::Packed(merge) = objects else {
            return Ok((self.write_commits(snap, changes, actor)?, None));
        };
        // Built in memory, on top of the objects the last packed chain kept
        // (the next chain usually edits the trees its tip wrote).
        let carried = self.kept.take();
        let carried_ids: std::collections::HashSet<ObjectId> = carried.keys().copied().collect();
        let mut repo = self.repo.clone();
        repo.objects.set_object_memory(carried);
        let mut staged = Store {
            repo,
            in_memory: true,
            kept: Default::default(),
        };
        let tip = staged.write_commits(snap, changes, actor)?;
        let mut memory = staged.repo.objects.take_object_memory().unwrap_or_default();
        memory.retain(|id, _| !carried_ids.contains(id));
        let entries: Vec<pack::Entry<'_>> = memory
            .iter()
            .map(|(id, (kind, data))| pack::Entry {
                id: *id,
                kind: *kind,
                data,
            })
            .collect();
        let pack = pack::write(&self.pack_dir(), &entries, merge)
            .map_err(|e| Error::io("writing the state objects as a pack", e))?;
        drop(entries);
        self.kept.replace(memory);
        Ok((tip, Some(pack)))
    }

    /// The commits of a chain, one per change, each on the one before.
    fn write_commits(&self, snap: &Snapshot<'_>, changes: &[Change], actor: &str) -> Result<ObjectId> {
        let mut parent = snap.commit;
        let mut base_tree = snap.tree;
        for change in changes {
            for blob in &change.unplaced {
                self.write_blob(blob)?;
            }
            let tree = self.write_tree(base_tree, change)?;
            let parents: Vec<ObjectId> = parent.into_iter().collect();
            parent = Some(self.write_commit_object(tree, &parents, &change.message, actor)?);
            base_tree = tree;
        }
        parent.ok_or_else(|| Error::git("writing the state", "no change to write"))
    }

    /// Where the object database keeps its packs (`.git/objects/pack`).
    pub fn pack_dir(&self) -> PathBuf {
        self.repo.objects.store_ref().path().join("pack")
    }

    /// Apply `change` to `base` and write the trees on the changed paths only.
    ///
    /// Only what the change adds is checked: each name component of its paths
    /// (git's rules) and, for a blob written by id, that the object exists.
    /// gix's validating editor would instead look up every entry of every tree
    /// it writes, about 300 lookups for one claim at any size (the `claims`
    /// tree has up to 256 shards), each a `stat` when the object is loose;
    /// the entries a change does not touch come from the existing state tree.
    pub fn write_tree(&self, base: ObjectId, change: &Change) -> Result<ObjectId> {
        let mut editor = self
            .repo
            .edit_tree(base)
            .git_context(|| "reading the state tree".into())?
            .detach();
        let protect = self.protect_options();
        for (path, content) in &change.writes {
            let blob = match content {
                Content::Bytes(bytes) => self
                    .write_blob(bytes)
                    .map_err(|e| e.context(format!("writing {path}")))?,
                Content::Blob(id) => {
                    if !self.repo.has_object(id) {
                        return Err(Error::git(
                            "writing the state tree",
                            format!("the object {id} at \"{path}\" could not be found"),
                        ));
                    }
                    *id
                }
            };
            for component in path.split('/') {
                gix::validate::path::component(component.into(), None, protect)
                    .git_context(|| format!("placing {path} in the state tree"))?;
            }
            editor
                .upsert(path.split('/'), EntryKind::Blob, blob)
                .git_context(|| format!("placing {path} in the state tree"))?;
        }
        for path in &change.deletes {
            editor
                .remove(path.split('/'))
                .git_context(|| format!("removing {path}"))?;
        }
        editor.write(|tree| self.put_object(tree, "writing the state tree"))
    }

    /// The name rules gix applies when it writes a tree: git's defaults
    /// (NTFS always, Windows and HFS on those systems) unless configured.
    fn protect_options(&self) -> gix::validate::path::component::Options {
        let config = self.repo.config_snapshot();
        gix::validate::path::component::Options {
            protect_windows: config.boolean("gitoxide.core.protectWindows").unwrap_or(cfg!(windows)),
            protect_hfs: config.boolean("core.protectHFS").unwrap_or(cfg!(target_os = "macos")),
            protect_ntfs: config.boolean("core.protectNTFS").unwrap_or(true),
        }
    }

    /// Write a commit object (author = actor, committer = this machine's git identity).
    pub fn write_commit_object(
        &self,
        tree: ObjectId,
        parents: &[ObjectId],
        message: &Message,
        actor: &str,
    ) -> Result<ObjectId> {
        let time = now();
        let (name, email) = self.committer();
        let committer = gix::actor::Signature { name, email, time };
        let author = gix::actor::Signature {
            name: actor.into(),
            email: committer.email.clone(),
            time,
        };
        let commit = gix::objs::Commit {
            tree,
            parents: parents.iter().copied().collect(),
            author,
            committer,
            encoding: None,
            message: message.render().into(),
            extra_headers: Vec::new(),
        };
        self.put_object(&commit, "writing the state commit")
    }

    /// Write an object: to memory straight away when packing (nothing to
    /// look up: a duplicate in a pack is harmless), else as a loose file
    /// unless the database has it.
    fn put_object<T: gix::objs::WriteTo>(&self, object: &T, what: &str) -> Result<ObjectId> {
        if self.in_memory {
            return gix::objs::Write::write(&self.repo.objects, object).git_context(|| what.into());
        }
        Ok(self.repo.write_object(object).git_context(|| what.into())?.detach())
    }

    /// Move the state ref from `old` to `new`, failing if it is no longer at `old`.
    /// The reflog is always written.
    pub fn compare_and_swap(
        &self,
        old: Option<ObjectId>,
        new: ObjectId,
        summary: &str,
    ) -> std::result::Result<(), String> {
        self.move_ref(STATE_REF, old, new, &format!("baton: {summary}"))
    }

    /// Compare-and-swap any ref (remote-tracking updates in sync use it too).
    pub fn move_ref(
        &self,
        name: &str,
        old: Option<ObjectId>,
        new: ObjectId,
        reflog: &str,
    ) -> std::result::Result<(), String> {
        let expected = match old {
            Some(old) => PreviousValue::MustExistAndMatch(Target::Object(old)),
            None => PreviousValue::MustNotExist,
        };
        let edit = RefEdit {
            change: RefChange::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: true,
                    message: reflog.replace('\n', " ").into(),
                },
                expected,
                new: Target::Object(new),
            },
            name: name.try_into().map_err(|e| format!("{e}"))?,
            deref: false,
        };
        let (name, email) = self.committer();
        let committer = gix::actor::Signature {
            name,
            email,
            time: self.reflog_time(),
        };
        let mut time = Default::default();
        self.repo
            .edit_references_as([edit], Some(committer.to_ref(&mut time)))
            .map(|_| ())
            .map_err(|e| format!("{e}"))
    }

    /// Visit the state history from `tip`, newest first, until `visit` returns false.
    pub fn walk_history(&self, tip: ObjectId, visit: impl FnMut(HistoryEntry) -> bool) -> Result<()> {
        self.walk(tip, false, visit)
    }

    /// Like [`Store::walk_history`], following only first parents: the
    /// published line of history, through merges taken from the remote.
    pub fn walk_first_parents(&self, tip: ObjectId, visit: impl FnMut(HistoryEntry) -> bool) -> Result<()> {
        self.walk(tip, true, visit)
    }

    fn walk(&self, tip: ObjectId, first_parent: bool, mut visit: impl FnMut(HistoryEntry) -> bool) -> Result<()> {
        let mut platform = self.repo.rev_walk([tip]);
        if first_parent {
            platform = platform.first_parent_only();
        }
        let walk = platform.all().git_context(|| "walking the state history".into())?;
        for info in walk {
            let info = info.git_context(|| "walking the state history".into())?;
            let commit = self
                .repo
                .find_commit(info.id)
                .git_context(|| format!("reading commit {}", info.id))?;
            let decoded = commit.decode().git_context(|| format!("decoding commit {}", info.id))?;
            let author = decoded
                .author()
                .map(|a| a.name.to_str_lossy().into_owned())
                .unwrap_or_default();
            let time = decoded
                .committer()
                .ok()
                .and_then(|c| c.time().ok())
                .map(|t| t.seconds)
                .unwrap_or(0);
            let entry = HistoryEntry {
                id: info.id,
                message: Message::parse(&decoded.message.to_str_lossy()),
                author,
                time,
                parents: decoded.parents().collect(),
            };
            if !visit(entry) {
                break;
            }
        }
        Ok(())
    }

    /// The paths whose versions differ between `local` and `remote` trees, with
    /// their version in `base` too. Only subtrees whose ids differ are read, so
    /// the cost follows the number of changes, not the size of the state.
    pub fn three_way(&self, base: Option<ObjectId>, local: ObjectId, remote: ObjectId) -> Result<Vec<Divergence>> {
        let mut out = Vec::new();
        self.three_way_at("", base, Some(local), Some(remote), &mut out)?;
        Ok(out)
    }

    fn tree_entries(&self, tree: Option<ObjectId>) -> Result<Vec<(String, bool, ObjectId)>> {
        let Some(id) = tree else {
            return Ok(Vec::new());
        };
        let tree = self.repo.find_tree(id).git_context(|| format!("reading tree {id}"))?;
        let decoded = tree.decode().git_context(|| format!("decoding tree {id}"))?;
        Ok(decoded
            .entries
            .iter()
            .map(|e| {
                (
                    e.filename.to_str_lossy().into_owned(),
                    e.mode.is_tree(),
                    e.oid.to_owned(),
                )
            })
            .collect())
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

    /// Store bytes as a blob (a workflow definition the ledger points at).
    pub fn write_blob(&self, bytes: &[u8]) -> Result<ObjectId> {
        if self.in_memory {
            return gix::objs::Write::write_buf(&self.repo.objects, gix::objs::Kind::Blob, bytes)
                .git_context(|| "writing a blob".into());
        }
        Ok(self
            .repo
            .write_blob(bytes)
            .git_context(|| "writing a blob".into())?
            .detach())
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

    /// Run `git` in this repository (transport, gc, fsck): the one place baton shells out.
    pub fn git(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new("git");
        cmd.arg("--git-dir").arg(self.repo.git_dir());
        if let Some(w) = self.repo.workdir() {
            cmd.arg("--work-tree").arg(w);
        }
        cmd
    }

    /// Where git looks for the pre-commit hook (honours core.hooksPath).
    pub fn hook_path(&self) -> PathBuf {
        let fallback = self.git_dir().join("hooks").join("pre-commit");
        let Ok(out) = self
            .git()
            .args(["rev-parse", "--git-path", "hooks/pre-commit"])
            .output()
        else {
            return fallback;
        };
        let rel = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !out.status.success() || rel.is_empty() {
            return fallback;
        }
        let p = PathBuf::from(rel);
        if p.is_absolute() {
            p
        } else {
            self.work_dir().unwrap_or(self.git_dir()).join(p)
        }
    }

    /// Whether the pre-commit hook runs `baton doctor --hook`.
    pub fn hook_installed(&self) -> bool {
        std::fs::read_to_string(self.hook_path()).is_ok_and(|t| t.contains(HOOK_MARKER))
    }

    /// Whether the given remote is configured.
    pub fn remote_names(&self) -> Vec<String> {
        self.repo.remote_names().iter().map(|n| n.to_string()).collect()
    }
}

/// Now, in the local time zone, as `gix::date::Time::now_local_or_utc` has
/// it but without loading the whole time zone database (chrono reads only
/// `TZ` or `/etc/localtime`).
fn now() -> gix::date::Time {
    let now = chrono::Local::now();
    gix::date::Time::new(now.timestamp(), now.offset().local_minus_utc())
}

/// Sleep a little, more with each retry, with jitter so racing writers spread out.
fn backoff(retry: u32) {
    let ceiling_ms = (1u64 << retry.min(6)).min(50);
    let ms = fastrand::u64(1..=ceiling_ms.max(1));
    std::thread::sleep(Duration::from_millis(ms) + Duration::from_micros(fastrand::u64(0..1000)));
}

impl<'r> Snapshot<'r> {
    /// The commit this snapshot is of, `None` before the first one.
    pub fn commit(&self) -> Option<ObjectId> {
        self.commit
    }

    pub fn tree(&self) -> ObjectId {
        self.tree
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
                Error::environment("corrupt_state", format!("{path} is not a file in the state tree"))
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

    /// Every file below `dir` (recursively), as `(path, blob id)`, in tree order.
    pub fn files_under(&self, dir: &str) -> Result<Vec<(String, ObjectId)>> {
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

    fn collect_files(&self, tree: ObjectId, prefix: &str, out: &mut Vec<(String, ObjectId)>) -> Result<()> {
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
                out.push((path, entry.oid.to_owned()));
            }
        }
        Ok(())
    }

    /// Load and parse a TOML file; `None` when it does not exist.
    pub fn load_toml<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        match self.read(path)? {
            Some(bytes) => codec::decode_toml(path, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Load and parse a JSON file; `None` when it does not exist.
    pub fn load_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        match self.read(path)? {
            Some(bytes) => codec::decode_json(path, &bytes).map(Some),
            None => Ok(None),
        }
    }
}
