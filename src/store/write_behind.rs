//! Write-behind: changes queued by a busy caller land from a background
//! thread, so the caller does not wait for the disk between one piece of
//! work and the next.
//!
//! The first change (a run's start) lands before the thread starts, on the
//! caller's own thread. A caller may queue what a change is made from
//! instead of the change ([`WriteBehind::push_with`]): the writer makes it,
//! in its place in the queue, off the caller's thread. Every queued change
//! still becomes its own commit,
//! in queue order. What the thread gathers within [`GATHER`] of a change
//! lands together: one chain of commits in one pack, one compare-and-swap
//! ([`Store::write_each_packed`]). Each pack is synced before the ref
//! points at it, a fixed cost of milliseconds, so a burst of fast steps
//! pays for a few packs instead of one per step; a change queued alone
//! lands moments after it was queued. The queue holds at most
//! [`QUEUE_BYTES`]: a caller that queues faster than the writer lands waits.
//!
//! The changes must not depend on the state they land on (a workflow run's
//! ledger file, which only its runner writes): a moved ref is simply
//! retried on the new tip.
//!
//! Packs are cheap to write and expensive to have many of (every reader
//! searches each one; gix sizes its table of packs when it opens a
//! repository). So past [`MAX_OWN_PACKS`] the writer merges its own packs,
//! geometrically, which keeps a long run at a handful of packs and copies
//! each object only a few times; its last write takes in what is left, so a
//! run leaves one pack. When it starts, it folds the newest of earlier
//! runs' packs ([`super::fold`]), so runs do not leave a pack each. Merging copies the packed entries as they are,
//! without inflating. `git gc` may fold the writer's packs meanwhile (see
//! docs/storage.md): nothing here depends on them staying.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::fsync::Durability;
use super::{pack, Change, Snapshot, Store, Update};
use crate::error::code;
use crate::error::{Error, Result};

/// How many bytes of changes may wait for the writer; a caller queueing
/// faster than the writer lands waits for room. Each change holds a whole
/// file (a 1,000-step run's ledger is ~100 KiB), so an unbounded queue
/// behind a slower writer would grow with the square of the number of
/// steps. Large enough that such a run lands in a few dozen batches (each
/// batch is a pack, synced: a fixed cost of milliseconds).
const QUEUE_BYTES: usize = 6 << 20;

/// How long the writer gathers changes after the first of a batch before
/// landing them: every batch is a pack synced to the disk (milliseconds on
/// a busy disk, and a few files created and deleted), so a burst of fast
/// steps is better landed in few batches than in one per step; a run
/// that ends within this of its first result lands everything with its
/// end, in one pack. A result lands this much later at most.
const GATHER: Duration = Duration::from_millis(250);

/// A handle the writer opened longer ago than this is opened again before
/// its first batch: `git gc` may have replaced packs meanwhile.
const FRESH: Duration = Duration::from_secs(1);

/// More packs than this of the writer's own, and it merges some (see
/// [`OwnPacks::add`]); fewer are left as they are until its last write
/// takes them all in.
const MAX_OWN_PACKS: usize = 8;

/// The writer of one burst; `R` is what its last write decides and
/// returns ([`WriteBehind::finish_with`]), as [`Store::update`] returns
/// what its operation decides.
pub struct WriteBehind<R> {
    queue: Option<mpsc::Sender<Queued<R>>>,
    room: Arc<Room>,
    /// The writer thread; it returns what the last write decided, or
    /// nothing when the queue closed without a last write (the caller gave up).
    worker: Option<JoinHandle<Result<Option<R>>>>,
}

/// The bytes queued and not yet taken by the writer.
#[derive(Default)]
struct Room {
    queued: Mutex<usize>,
    freed: Condvar,
    /// The writer is waiting for the next change (not making, building or
    /// landing one).
    idle: AtomicBool,
}

impl Room {
    /// Wait until `size` more bytes fit (any size fits an empty queue), or
    /// `gone` says the writer will never make room.
    fn reserve(&self, size: usize, gone: impl Fn() -> bool) {
        let mut queued = self.queued.lock().unwrap_or_else(|e| e.into_inner());
        while *queued > 0 && *queued + size > QUEUE_BYTES && !gone() {
            queued = self
                .freed
                .wait_timeout(queued, Duration::from_millis(50))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *queued += size;
    }

    fn release(&self, size: usize) {
        let mut queued = self.queued.lock().unwrap_or_else(|e| e.into_inner());
        *queued = queued.saturating_sub(size);
        self.freed.notify_all();
    }
}

/// What a caller decides against the state the last write lands on:
/// changes to land behind everything queued, in the same compare-and-swap
/// (re-run when the ref moved), and its result.
pub type Decide<R> = Box<dyn FnMut(&Snapshot<'_>) -> Result<Update<R>> + Send>;

/// A change the writer makes itself, from what the caller handed over
/// (a workflow run's ledger is encoded on the writer's thread, not the
/// runner's, while the next step runs).
pub type Make = Box<dyn FnOnce() -> Result<Change> + Send>;

enum Queued<R> {
    Change(Change),
    /// A change to make, about this many bytes.
    Make(Make, usize),
    /// Nothing follows: the batch with this lands as the writer's one pack,
    /// followed by what the closure decides on the state it lands on.
    Finish(Decide<R>),
}

impl<R: Send + 'static> WriteBehind<R> {
    /// Land what `first` decides now, on the caller's thread (its commits
    /// are on the ref when this returns: a run's start record lands before
    /// any step runs), and return its result with the writer; then start
    /// the writer thread for the changes that follow; its commits are
    /// authored by `actor`. When the writer stops on an error it raises
    /// `alarm`, so the caller can stop producing work whose record would be
    /// lost; the error itself comes back from [`WriteBehind::push`] or
    /// [`WriteBehind::finish`].
    pub fn start<S>(
        store: &Store,
        actor: &str,
        first: impl FnMut(&Snapshot<'_>) -> Result<Update<S>>,
        alarm: Arc<AtomicBool>,
    ) -> Result<(WriteBehind<R>, S)> {
        let written = store.update_packed(actor, &[], first)?;
        let mut packs = OwnPacks {
            dir: store.pack_dir(),
            git_dir: store.git_dir().to_owned(),
            sync: store.durability,
            packs: Vec::new(),
        };
        if let Some(index) = written.pack {
            packs.add(index);
        }
        // The objects of the start's chain, for the writer's first chain to build on.
        let staging = store.staging.hand_over();
        let (queue, pending) = mpsc::channel::<Queued<R>>();
        let room = Arc::new(Room::default());
        let git_dir = store.repo.path().to_owned();
        let actor = actor.to_owned();
        let freed = room.clone();
        let worker = std::thread::spawn(move || {
            let result = land_queued(&git_dir, &actor, &pending, &freed, &mut packs, staging);
            if result.is_err() {
                alarm.store(true, Ordering::SeqCst);
            }
            result
        });
        let writer = WriteBehind {
            queue: Some(queue),
            room,
            worker: Some(worker),
        };
        Ok((writer, written.value))
    }

    /// Queue `change` (waiting while the queue is full). Fails with the
    /// writer's error once a write has failed.
    pub fn push(&mut self, change: Change) -> Result<()> {
        let size = change.size();
        self.send(Queued::Change(change), size)
    }

    /// Queue the change `make` makes, on the writer's thread, in its place
    /// in the queue, when the writer is idle; `size` is about how many
    /// bytes it will hold (the queue's bound counts that). A change that
    /// cannot be made there fails the writer, as a write that fails does.
    /// When the writer is busy (a burst of changes, a batch landing) the
    /// change is made here: both threads work instead of one.
    pub fn push_with(&mut self, size: usize, make: Make) -> Result<()> {
        if !self.room.idle.load(Ordering::SeqCst) {
            return self.push(make()?);
        }
        self.send(Queued::Make(make, size), size)
    }

    fn send(&mut self, queued: Queued<R>, size: usize) -> Result<()> {
        let worker = self.worker.as_ref();
        self.room.reserve(size, || worker.is_none_or(JoinHandle::is_finished));
        if self.worker.as_ref().is_none_or(JoinHandle::is_finished) {
            return self.stopped();
        }
        let sent = self.queue.as_ref().is_some_and(|queue| queue.send(queued).is_ok());
        if sent {
            return Ok(());
        }
        self.stopped()
    }

    /// The writer ended before being told to finish, which it only does
    /// after an error: that error.
    fn stopped<T>(&mut self) -> Result<T> {
        self.join().and(Err(stopped()))
    }

    /// Wait until everything queued has landed, the last write landing
    /// also what `last` decides on the state it lands on, after everything
    /// queued, in the same compare-and-swap (a delivery's final phase with
    /// its run's end); return what it decided.
    pub fn finish_with(mut self, last: Decide<R>) -> Result<R> {
        if let Some(queue) = &self.queue {
            let _ = queue.send(Queued::Finish(last));
        }
        // No result: the writer stopped (on an error) before it took the last write.
        self.join()?.ok_or_else(stopped)
    }

    /// Give up without a last write: what was queued still lands; how the
    /// writer fared.
    pub fn close(mut self) -> Result<()> {
        self.join().map(drop)
    }

    /// Close the queue and wait for the writer: what its last write
    /// decided, if it took one.
    fn join(&mut self) -> Result<Option<R>> {
        self.queue = None;
        match self.worker.take().map(JoinHandle::join) {
            None => Ok(None),
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(
                Error::failed(code::STATE_WRITER_PANICKED, "the state writer thread panicked")
                    .with_hint("run `baton doctor` to see what landed; please report this"),
            ),
        }
    }
}

impl WriteBehind<()> {
    /// Wait until everything queued has landed.
    pub fn finish(self) -> Result<()> {
        self.finish_with(Box::new(|_| Ok(Update::Unchanged(()))))
    }
}

/// The writer ended before it was told to finish, which it only does
/// after an error.
fn stopped() -> Error {
    Error::failed(
        code::STATE_WRITER_STOPPED,
        "the state writer stopped before all changes were written",
    )
    .with_hint("run `baton doctor` to see the state")
}

/// The writer thread: land what is queued, batch by batch, until told to
/// finish (or the queue is dropped); then leave one pack.
fn land_queued<R>(
    git_dir: &std::path::Path,
    actor: &str,
    pending: &mpsc::Receiver<Queued<R>>,
    room: &Room,
    packs: &mut OwnPacks,
    staging: super::staging::Staging,
) -> Result<Option<R>> {
    // Earlier runs' packs are folded now, while the caller's first steps
    // run on the other core, rather than on the way to the run's end.
    packs.fold_earlier();
    // Opened now, while the caller's work runs, rather than when the
    // first batch is due (for a short run, that is its end).
    let mut store = Store::open(git_dir)?;
    store.staging = staging;
    let mut store = Some(store);
    let opened = std::time::Instant::now();
    let mut used = false;
    let mut decided = None;
    while decided.is_none() {
        room.idle.store(true, Ordering::SeqCst);
        let Ok(first) = pending.recv() else { break };
        room.idle.store(false, Ordering::SeqCst);
        // Opened afresh for each batch after the first: a repository
        // handle that has loaded a pack this writer then merged away must
        // not look for objects again (gix can panic when it re-reads a
        // pack directory whose packs were replaced under it). Nothing was
        // merged before the first; it takes the handle opened above while
        // that is recent.
        let fresh = match store.take() {
            Some(handle) if used || opened.elapsed() > FRESH => handle.reopen()?,
            Some(handle) => handle,
            None => Store::open(git_dir)?,
        };
        used = true;
        // Each change is built into the batch's chain as it arrives, while
        // the caller goes on: at the end only the pack's file, its syncing
        // and the ref are left.
        let mut chain = fresh.begin_chain()?;
        let last = gather(first, pending, room, |change| {
            fresh.extend_chain(&mut chain, change, actor)
        })?;
        let finished = last.is_some();
        // The last batch's pack takes in all the others: one write, one pack.
        let merge = if finished && !packs.git_gc_running() {
            packs.take_all()
        } else {
            Vec::new()
        };
        let pack = match last {
            None => {
                fresh
                    .land_chain(chain, actor, &merge, |_| Ok(Update::Unchanged(())))?
                    .pack
            }
            Some(mut decide) => {
                let written = fresh.land_chain(chain, actor, &merge, |snap| decide(snap))?;
                if written.commit.is_none() {
                    // Nothing landed (nothing queued, nothing decided): the
                    // packs it was to take in are still there, to merge below.
                    merge.into_iter().for_each(|index| packs.add(index));
                }
                decided = Some(written.value);
                written.pack
            }
        };
        if let Some(index) = pack {
            packs.add(index);
        }
        store = Some(fresh);
    }
    packs.merge_all();
    Ok(decided)
}

/// The batch that starts with `first`, each change handed to `take` as it
/// arrives: what arrives within [`GATHER`] of it, up to a queue's worth,
/// or until the caller says it is finished (then `Some`, with what the
/// last write decides). Room is made in the queue as changes are taken.
fn gather<R>(
    first: Queued<R>,
    pending: &mpsc::Receiver<Queued<R>>,
    room: &Room,
    mut take: impl FnMut(Change),
) -> Result<Option<Decide<R>>> {
    let deadline = std::time::Instant::now() + GATHER;
    let mut bytes = 0;
    let mut next = Some(first);
    while let Some(queued) = next.take() {
        let change = match queued {
            Queued::Change(change) => {
                room.release(change.size());
                change
            }
            Queued::Make(make, size) => {
                room.release(size);
                make()?
            }
            Queued::Finish(last) => return Ok(Some(last)),
        };
        bytes += change.size();
        take(change);
        if bytes >= QUEUE_BYTES {
            break;
        }
        // Past the deadline this still takes what is waiting already.
        room.idle.store(true, Ordering::SeqCst);
        next = pending
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .ok();
        room.idle.store(false, Ordering::SeqCst);
    }
    Ok(None)
}

/// The packs this writer made that are still on disk, oldest first, with
/// their sizes.
struct OwnPacks {
    dir: PathBuf,
    /// The common `.git` directory, where `git gc` leaves `gc.pid`.
    git_dir: PathBuf,
    sync: Durability,
    packs: Vec<(PathBuf, u64)>,
}

/// How long git itself trusts a `gc.pid` (`git gc` ignores an older one).
const GC_PID_TRUSTED: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

/// Merging is housekeeping: when it fails (a full disk), the packs stay as
/// they are, which git reads just as well, and the writer goes on. A pack
/// `git gc` folded meanwhile is simply no longer there to merge. While a
/// `git gc` runs, nothing is merged: it lists the packs it folds when it
/// starts (for its cruft pack) and fails when one of them is deleted under
/// it.
impl OwnPacks {
    /// A `git gc` holds `gc.pid` while it runs.
    fn git_gc_running(&self) -> bool {
        std::fs::metadata(self.git_dir.join("gc.pid"))
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age < GC_PID_TRUSTED))
    }

    /// Track a new pack; past [`MAX_OWN_PACKS`], merge the newest ones
    /// geometrically: as many as it takes for the pack before them to be
    /// more than twice their size together, so each object is copied only
    /// a few times however long the run. (Fewer packs are left as they are:
    /// each merge is a pack synced and files deleted, which on a busy disk
    /// costs more than the last write taking them all in.)
    fn add(&mut self, index: PathBuf) {
        if self.packs.iter().any(|(known, _)| *known == index) {
            return;
        }
        let size = pack::size(&index);
        self.packs.push((index, size));
        while self.packs.len() > MAX_OWN_PACKS {
            let len = self.packs.len();
            let mut n = 2;
            let mut newest: u64 = self.packs[len - 2..].iter().map(|(_, s)| s).sum();
            while n < len && self.packs[len - n - 1].1 <= newest.saturating_mul(2) {
                n += 1;
                newest += self.packs[len - n].1;
            }
            if !self.merge_last(n) {
                break;
            }
        }
    }

    /// Fold the newest packs of earlier writes ([`super::fold`]) into one;
    /// this writer's own packs are left to its last write.
    fn fold_earlier(&self) {
        if self.git_gc_running() {
            return;
        }
        let own: Vec<PathBuf> = self.packs.iter().map(|(p, _)| p.clone()).collect();
        let earlier = super::fold::earlier(&self.dir, &own);
        if !earlier.is_empty() {
            // Housekeeping, as `merge_last`: on failure the packs stay.
            let _ = pack::merge(&self.dir, &earlier, &self.sync);
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
        if self.git_gc_running() {
            return false;
        }
        let from: Vec<PathBuf> = self.packs[self.packs.len() - n..]
            .iter()
            .map(|(p, _)| p.clone())
            .collect();
        match pack::merge(&self.dir, &from, &self.sync) {
            Ok(merged) => {
                self.packs.truncate(self.packs.len() - n);
                if let Some(merged) = merged {
                    let size = pack::size(&merged);
                    self.packs.push((merged, size));
                }
                true
            }
            Err(_) => false,
        }
    }
}

impl<R> Drop for WriteBehind<R> {
    /// Whatever was queued still lands when the caller gives up early
    /// (unwinding from a panic: every other path finishes the writer and
    /// hears how it fared). The queue closes, and the thread is waited for.
    fn drop(&mut self) {
        self.queue = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}
