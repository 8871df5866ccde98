//! Writing state: a [`Change`] (files to write and delete, and the commit
//! message) becomes a commit on top of the state that was read, and the ref
//! moves to it with compare-and-swap (docs/storage.md).
//!
//! A write is: read the tip, let the caller compute changes from the files it
//! loads (a pure function), write only the blobs and trees on the changed
//! paths, then update the ref expecting the tip that was read. When the ref
//! moved or is locked, the whole thing is re-run, so the caller's
//! preconditions are checked again against the newer state.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use gix::objs::tree::EntryKind;
use gix::refs::transaction::{Change as RefChange, LogChange, PreviousValue, RefEdit, RefLog};
use gix::refs::Target;
use gix::ObjectId;

use super::fsync::Components;
use super::staging::Sink;
use super::{pack, HeldLock, Message, Snapshot, Store, STATE_REF};
use crate::codec;
use crate::error::code;
use crate::error::{Error, Result, ResultExt};

/// How long a writer keeps retrying a moved or locked ref before giving up.
const WRITE_BUDGET: Duration = Duration::from_secs(10);

/// Files to write and delete in one operation, and the commit message.
#[derive(Debug, Default, Clone)]
pub struct Change {
    writes: Vec<(String, Content)>,
    deletes: Vec<String>,
    /// Paths that must not exist yet: the write is refused otherwise.
    creates: Vec<String>,
    pub message: Message,
}

/// A file's new content: bytes to write, or a blob that already exists (merges).
#[derive(Debug, Clone)]
enum Content {
    Bytes(Vec<u8>),
    Blob(ObjectId),
}

/// The update an operation asks of [`Store::update`], decided after looking
/// at the state: write nothing, one commit, or a chain of commits; each
/// with the operation's own result.
pub enum Update<T> {
    /// Nothing to write (an idempotent repeat, a read): no commit.
    Unchanged(T),
    /// Write this change as one commit.
    Write(Change, T),
    /// Write these changes as a chain of commits, one each, that lands at
    /// once: history keeps every change, the ref moves one time.
    WriteEach(Vec<Change>, T),
}

impl<T> Update<T> {
    /// The commits it asks for, in order (none when unchanged), and the
    /// operation's result.
    pub fn into_changes(self) -> (Vec<Change>, T) {
        match self {
            Update::Unchanged(value) => (Vec::new(), value),
            Update::Write(change, value) => (vec![change], value),
            Update::WriteEach(changes, value) => (changes, value),
        }
    }
}

/// An [`Update`] as the retry loop handles it: the changes owned, or
/// borrowed from a caller that lands the same changes whatever the state.
enum Plan<'c, T> {
    Unchanged(T),
    Chain(Cow<'c, [Change]>, T),
}

impl<T> From<Update<T>> for Plan<'static, T> {
    fn from(update: Update<T>) -> Self {
        match update {
            Update::Unchanged(value) => Plan::Unchanged(value),
            Update::Write(change, value) => Plan::Chain(Cow::Owned(vec![change]), value),
            Update::WriteEach(changes, value) if changes.is_empty() => Plan::Unchanged(value),
            Update::WriteEach(changes, value) => Plan::Chain(Cow::Owned(changes), value),
        }
    }
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

/// Why a ref did not move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefError {
    /// Another writer holds a lock the update needs: the ref's own or
    /// `packed-refs.lock` (see [`Store::lock_paths`]). `lock` is the lock
    /// file found in the way (`None` when it was gone by the time it was
    /// looked for); `why` is gix's account.
    Locked { lock: Option<HeldLock>, why: String },
    /// The ref is no longer at the value the caller read.
    Moved,
    /// Anything else: I/O, permissions, an invalid name.
    Io(String),
}

impl std::error::Error for RefError {}

impl std::fmt::Display for RefError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefError::Locked { lock: Some(lock), .. } => write!(f, "{lock}"),
            RefError::Locked { lock: None, why } | RefError::Io(why) => f.write_str(why),
            RefError::Moved => f.write_str("the ref moved meanwhile"),
        }
    }
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

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.deletes.is_empty()
    }

    /// About how much memory the change holds: the bytes of its files.
    pub fn size(&self) -> usize {
        let files: usize = self
            .writes
            .iter()
            .map(|(path, content)| {
                path.len()
                    + match content {
                        Content::Bytes(bytes) => bytes.len(),
                        Content::Blob(_) => 20,
                    }
            })
            .sum();
        files + self.message.summary.len()
    }
}

impl Store {
    /// Run `op` against the current state and commit what it returns, with
    /// compare-and-swap on the ref; re-run it whenever the ref moved meanwhile.
    /// Fails with "no state" unless the state exists.
    pub fn update<T>(&self, actor: &str, mut op: impl FnMut(&Snapshot<'_>) -> Result<Update<T>>) -> Result<Written<T>> {
        self.update_with(actor, false, Objects::Loose, |snap| op(snap).map(Plan::from))
    }

    /// Land `changes` as a chain of commits, one each, on whatever the state
    /// is (they must not depend on it: a moved ref is simply retried), with
    /// the new objects written as one pack, which also takes in the objects
    /// of the packs in `merge` (packs this process wrote, see
    /// [`pack::merge`]); those are then deleted.
    /// Like [`Store::update`], with the new objects written as one pack
    /// (see [`Store::write_each_packed`]) that also takes in the packs in `merge`.
    pub fn update_packed<T>(
        &self,
        actor: &str,
        merge: &[PathBuf],
        mut op: impl FnMut(&Snapshot<'_>) -> Result<Update<T>>,
    ) -> Result<Written<T>> {
        self.update_with(actor, false, Objects::Packed(merge.to_vec()), |snap| {
            op(snap).map(Plan::from)
        })
    }

    pub fn write_each_packed(&self, actor: &str, merge: &[PathBuf], changes: &[Change]) -> Result<Written<()>> {
        self.update_with(actor, false, Objects::Packed(merge.to_vec()), |_| {
            Ok(Plan::Chain(Cow::Borrowed(changes), ()))
        })
    }

    /// Like [`Store::update`], but also runs on a repository without state (for `init`).
    pub fn update_or_create<T>(
        &self,
        actor: &str,
        mut op: impl FnMut(&Snapshot<'_>) -> Result<Update<T>>,
    ) -> Result<Written<T>> {
        self.update_with(actor, true, Objects::Loose, |snap| op(snap).map(Plan::from))
    }

    /// The retry loop: read, decide, write, compare-and-swap; again while
    /// the ref moved or is locked, within [`WRITE_BUDGET`].
    ///
    /// A packed write keeps its pack (`.keep`) from before the ref may
    /// point at it until the ref does: a `git gc` or `git repack -a -d`
    /// meanwhile would otherwise delete a pack no ref reaches yet.
    fn update_with<'c, T>(
        &self,
        actor: &str,
        may_create: bool,
        mut objects: Objects,
        mut op: impl FnMut(&Snapshot<'_>) -> Result<Plan<'c, T>>,
    ) -> Result<Written<T>> {
        let started = Instant::now();
        let mut retries = 0u32;
        // The keep of the last pack this loop wrote; dropping it releases the pack.
        let mut keep: Option<pack::Keep> = None;
        loop {
            let snap = self.snapshot_at(self.tip()?)?;
            if snap.commit.is_none() && !may_create {
                return Err(self.no_state());
            }
            let (changes, value) = match op(&snap)? {
                Plan::Chain(changes, value) => (changes, value),
                Plan::Unchanged(value) => {
                    return Ok(Written {
                        value,
                        commit: None,
                        retries,
                        pack: None,
                    })
                }
            };
            refuse_existing(&snap, &changes)?;
            let (new, written) = self.write_chain(&snap, &changes, actor, &objects)?;
            let pack = written.map(|written| {
                // The packs merged are gone now, their objects in this one;
                // an earlier attempt's pack among them needs no keep, unless
                // this attempt came out the same pack (its keep is that one).
                let same =
                    matches!(&objects, Objects::Packed(merged) if merged == std::slice::from_ref(&written.index));
                if written.keep.is_some() || !same {
                    keep = written.keep;
                }
                objects = Objects::Packed(vec![written.index.clone()]);
                written.index
            });
            let err = match self.compare_and_swap(snap.commit, new, &chain_summary(&changes)) {
                Ok(()) => {
                    drop(keep);
                    return Ok(Written {
                        value,
                        commit: Some(new),
                        retries,
                        pack,
                    });
                }
                Err(err) => err,
            };
            // What this attempt kept in memory never landed: another attempt
            // must not leave those objects out of its pack.
            self.staging.forget();
            match err {
                RefError::Io(why) => return Err(Error::git_says(format!("updating {STATE_REF}"), why)),
                RefError::Locked { lock: Some(lock), .. } if lock.is_stale() => return Err(stale_lock(&lock)),
                err if started.elapsed() >= WRITE_BUDGET => return Err(self.gave_up(&err, retries)),
                _ => {
                    retries += 1;
                    backoff(retries);
                }
            }
        }
    }

    /// Why a write stopped retrying.
    fn gave_up(&self, last: &RefError, retries: u32) -> Error {
        match last {
            RefError::Locked { .. } => Error::environment(
                code::LOCK_HELD,
                format!("{STATE_REF} stayed locked for {}s: {last}", WRITE_BUDGET.as_secs()),
            )
            .with_hint(
                "if no baton or git process is running, the lock was left behind: \
                 `baton doctor --fix` removes it once it is a minute old",
            ),
            _ => Error::failed(
                code::CONTENTION,
                format!("{STATE_REF} kept moving; gave up after {retries} retries"),
            )
            .with_hint("other writers are very busy; retry the command"),
        }
    }

    /// Write `changes` as a chain of commits on top of `snap`, one per change;
    /// returns the last, and the pack when packed. Packed, the chain is built
    /// in memory (each commit's trees read from the one before) and lands as
    /// one pack, synced and kept.
    fn write_chain(
        &self,
        snap: &Snapshot<'_>,
        changes: &[Change],
        actor: &str,
        objects: &Objects,
    ) -> Result<(ObjectId, Option<pack::Written>)> {
        let Objects::Packed(merge) = objects else {
            return Ok((
                self.write_commits(Sink::Database(&self.repo), snap, changes, actor)?,
                None,
            ));
        };
        // Built in memory, on top of the objects the last packed chain kept
        // (the next chain usually edits the trees its tip wrote).
        let staged = self.staging.begin(&self.repo);
        let tip = self.write_commits(staged.target(), snap, changes, actor)?;
        let (memory, entries) = staged.into_new_objects();
        let written = pack::write_prepared(&self.pack_dir(), entries, merge, &self.durability)
            .map_err(|e| Error::io("writing the state objects as a pack", e))?;
        self.staging.carry(memory, tip);
        Ok((tip, Some(written)))
    }

    /// The commits of a chain, one per change, each on the one before.
    fn write_commits(&self, to: Sink<'_>, snap: &Snapshot<'_>, changes: &[Change], actor: &str) -> Result<ObjectId> {
        let mut parent = snap.commit;
        let mut base_tree = snap.tree;
        for change in changes {
            let tree = self.write_tree_to(to, base_tree, change)?;
            let parents: Vec<ObjectId> = parent.into_iter().collect();
            parent = Some(self.commit_object_to(to, tree, &parents, &change.message, actor)?);
            base_tree = tree;
        }
        parent.ok_or_else(|| Error::git_says("writing the state", "no change to write"))
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
        self.write_tree_to(Sink::Database(&self.repo), base, change)
    }

    pub(super) fn write_tree_to(&self, to: Sink<'_>, base: ObjectId, change: &Change) -> Result<ObjectId> {
        let mut editor = to
            .repo()
            .edit_tree(base)
            .git_context(|| "reading the state tree".into())?
            .detach();
        let protect = self.protect_options();
        for (path, content) in &change.writes {
            let blob = content_blob(to, path, content)?;
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
        editor.write(|tree| to.put_object(tree, "writing the state tree"))
    }

    /// Whether a change may place a file at `path`: every name component
    /// passes the rules [`Store::write_tree`] checks. A fetched tree can hold
    /// names these refuse (`..`, `.git`); such a file can only be removed.
    pub fn can_place(&self, path: &str) -> bool {
        let protect = self.protect_options();
        path.split('/')
            .all(|c| gix::validate::path::component(c.into(), None, protect).is_ok())
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
        self.commit_object_to(Sink::Database(&self.repo), tree, parents, message, actor)
    }

    pub(super) fn commit_object_to(
        &self,
        to: Sink<'_>,
        tree: ObjectId,
        parents: &[ObjectId],
        message: &Message,
        actor: &str,
    ) -> Result<ObjectId> {
        let time = super::now();
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
        to.put_object(&commit, "writing the state commit")
    }

    /// Store bytes as a blob.
    pub fn write_blob(&self, bytes: &[u8]) -> Result<ObjectId> {
        Sink::Database(&self.repo).put_blob(bytes)
    }

    /// Move the state ref from `old` to `new`, failing if it is no longer at `old`.
    /// The reflog is always written.
    pub fn compare_and_swap(&self, old: Option<ObjectId>, new: ObjectId, summary: &str) -> Result<(), RefError> {
        self.move_ref(STATE_REF, old, new, &format!("baton: {summary}"))
    }

    /// With `core.fsync` naming `reference`, push the ref file `name` gix
    /// just wrote (and its reflog) to the disk, as git would have before
    /// moving on. (gix writes refs without syncing, as git's default does.)
    fn sync_ref(&self, name: &str) -> std::io::Result<()> {
        if !self.durability.components.contains(Components::REFERENCE) {
            return Ok(());
        }
        for file in [self.git_dir().join(name), self.git_dir().join("logs").join(name)] {
            match std::fs::File::open(&file) {
                Ok(f) => self.durability.sync_file(Components::REFERENCE, &f)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
            if let Some(dir) = file.parent() {
                self.durability.sync_dir(Components::REFERENCE, dir)?;
            }
        }
        Ok(())
    }

    /// Compare-and-swap any ref (remote-tracking updates in sync use it too).
    pub fn move_ref(&self, ref_name: &str, old: Option<ObjectId>, new: ObjectId, reflog: &str) -> Result<(), RefError> {
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
            name: ref_name.try_into().map_err(|e| RefError::Io(format!("{e}")))?,
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
            .map_err(|e| {
                if e.is_conflict() {
                    RefError::Moved
                } else if e.is_retryable() {
                    RefError::Locked {
                        lock: self.held_lock(ref_name),
                        why: e.to_string(),
                    }
                } else {
                    RefError::Io(e.to_string())
                }
            })?;
        self.sync_ref(ref_name)
            .map_err(|e| RefError::Io(format!("{ref_name} moved, but syncing it to the disk failed: {e}")))
    }
}

/// The refusal for a lock left behind: waiting for it is pointless.
pub(crate) fn stale_lock(lock: &HeldLock) -> Error {
    Error::environment(
        code::LOCK_HELD,
        format!("cannot move {STATE_REF}: {lock}, left by a crashed writer"),
    )
    .with_hint("`baton doctor --fix` removes a stale lock (check first that no git or baton process is running)")
}

/// The blob a change puts at `path`: written now, or checked to exist.
fn content_blob(to: Sink<'_>, path: &str, content: &Content) -> Result<ObjectId> {
    match content {
        Content::Bytes(bytes) => to.put_blob(bytes).map_err(|e| e.context(format!("writing {path}"))),
        Content::Blob(id) if to.repo().has_object(id) => Ok(*id),
        Content::Blob(id) => Err(Error::git_says(
            "writing the state tree",
            format!("the object {id} at \"{path}\" could not be found"),
        )),
    }
}

/// Refuse a write whose new files already exist on the state it would land on.
pub(super) fn refuse_existing(snap: &Snapshot<'_>, changes: &[Change]) -> Result<()> {
    for path in changes.iter().flat_map(|c| &c.creates) {
        if snap.read(path)?.is_some() {
            return Err(
                Error::refused(code::EXISTS, format!("{path} already exists in the state"))
                    .with_hint("retry: a fresh name is picked each time"),
            );
        }
    }
    Ok(())
}

/// The reflog line of a chain: its last commit's summary, and how many came before.
pub(super) fn chain_summary(changes: &[Change]) -> String {
    match changes {
        [one] => one.message.summary.clone(),
        [.., last] => format!("{} (and {} earlier commit(s))", last.message.summary, changes.len() - 1),
        [] => String::new(),
    }
}

/// Sleep a little, more with each retry, with jitter so racing writers spread out.
fn backoff(retry: u32) {
    let ceiling_ms = (1u64 << retry.min(6)).min(50);
    let ms = fastrand::u64(1..=ceiling_ms.max(1));
    std::thread::sleep(Duration::from_millis(ms) + Duration::from_micros(fastrand::u64(0..1000)));
}
