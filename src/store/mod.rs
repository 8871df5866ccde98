//! The git store: one ref, `refs/baton/state`, whose commits hold the whole
//! shared state as files (docs/storage.md). It knows TOML and JSON, commits, trees
//! and refs, never what a claim is.
//!
//! One file per storage concept, like jj's `lib/src`: [`read`] (the tip and
//! snapshots of one commit), [`mod@write`] (changes, commits, compare-and-swap),
//! [`history`] (log walks, ancestry), [`diff`] (what differs between trees),
//! [`remote`] (fetch and push through the `git` binary), [`pack`] and
//! [`write_behind`] (packed writes for bursts of commits), [`chain`] (a
//! burst's commits built while the writer waits for more), `fold` (which
//! earlier packs a run's last write takes in), [`quick`] (the
//! state tip without opening the repository, for the edit hook), `staging` (where
//! a packed write builds its chain in memory), [`fsync`] (what
//! reaches the disk before a ref points at it), [`message`] (commit
//! messages and trailers), and the object cache (`cache`).

mod cache;
pub mod chain;
pub mod diff;
mod fold;
pub mod fsync;
pub mod history;
pub mod message;
pub mod pack;
pub mod quick;
pub mod read;
pub mod remote;
mod staging;
pub mod write;
pub mod write_behind;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use gix::bstr::ByteSlice;

use crate::error::{code, Error, Result, ResultExt};
pub use diff::Divergence;
pub use history::HistoryEntry;
pub use message::Message;
pub use read::{Entry, EntryKind, Snapshot};
pub use write::{Change, RefError, Update, Written};

/// The one ref that holds all shared state.
pub const STATE_REF: &str = "refs/baton/state";

/// A ref lock older than this was left by a crashed writer: no writer
/// holds one for more than a moment.
pub const STALE_LOCK: Duration = Duration::from_secs(60);

/// An opened repository with the state ref.
pub struct Store {
    repo: gix::Repository,
    /// The objects of the last chain this handle packed: the next chain
    /// usually builds on its tip, and finds the trees it edits there instead
    /// of searching every pack on disk.
    staging: staging::Staging,
    /// What to sync before a ref points at new objects (`core.fsync`).
    durability: fsync::Durability,
}

impl Store {
    /// Open the repository containing `dir` (like git, searching upwards).
    pub fn discover(dir: &Path) -> Result<Store> {
        let repo = gix::discover(dir).map_err(|source| NotARepository {
            dir: dir.to_owned(),
            source: Box::new(source),
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
            .set_pack_cache(|| Box::new(cache::DeltaBaseCache::new(cache::DELTA_BASE_CACHE_BYTES)));
        let durability = {
            let config = repo.config_snapshot();
            let value = |key: &str| config.string(key).map(|v| v.to_str_lossy().into_owned());
            fsync::Durability::from_config(
                value("core.fsync").as_deref(),
                value("core.fsyncMethod").as_deref(),
                std::env::var("GIT_TEST_FSYNC").ok().as_deref(),
            )
        };
        Store {
            repo,
            staging: Default::default(),
            durability,
        }
    }

    /// The same repository opened afresh (a handle that never looked at
    /// packs deleted since), keeping the objects this one kept.
    pub fn reopen(self) -> Result<Store> {
        let mut fresh = Store::open(self.repo.path())?;
        fresh.staging = self.staging;
        Ok(fresh)
    }

    /// The `.git` directory of this repository (for another handle or thread to open it).
    pub fn path(&self) -> &Path {
        self.repo.path()
    }

    /// `.git` (the common one, for worktrees): where refs and machine-local files live.
    pub fn git_dir(&self) -> &Path {
        self.repo.common_dir()
    }

    pub fn work_dir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// The lock files git and gix take while moving the state ref: its own
    /// (`refs/baton/state.lock`) and, once refs were packed (`git
    /// pack-refs`, `git gc`), `packed-refs.lock`, which gix takes to read
    /// the packed value consistently. (Reflogs are appended without a lock.)
    pub fn lock_paths(&self) -> Vec<PathBuf> {
        self.ref_lock_paths(STATE_REF)
    }

    fn ref_lock_paths(&self, name: &str) -> Vec<PathBuf> {
        vec![
            self.git_dir().join(format!("{name}.lock")),
            self.git_dir().join("packed-refs.lock"),
        ]
    }

    /// The first of the locks moving `name` needs that exists, with its age.
    fn held_lock(&self, name: &str) -> Option<HeldLock> {
        self.ref_lock_paths(name).into_iter().find_map(|path| {
            let modified = std::fs::metadata(&path).ok()?.modified().ok();
            let age = modified
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .unwrap_or_default();
            Some(HeldLock { path, age })
        })
    }

    /// A value from the repository's git configuration (`user.email`).
    pub fn config_string(&self, key: &str) -> Option<String> {
        let config = self.repo.config_snapshot();
        config.string(key).map(|v| v.to_str_lossy().into_owned())
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

    /// Run `git` in this repository (transport, gc, fsck): the one place baton shells out.
    ///
    /// It runs where `git -C` would put it: in the work tree's root (the git
    /// directory of a bare repository), not in baton's own current
    /// directory, so what git resolves relative to where it runs — a remote
    /// URL such as `../shared.git`, a pathspec — means the same as for git.
    pub fn git(&self) -> std::process::Command {
        // Absolute, so that changing directory does not change what they name.
        let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let git_dir = absolute(self.repo.git_dir());
        let mut cmd = std::process::Command::new("git");
        cmd.arg("--git-dir").arg(&git_dir);
        match self.repo.workdir().map(absolute) {
            Some(w) => cmd.arg("--work-tree").arg(&w).current_dir(&w),
            None => cmd.current_dir(&git_dir),
        };
        cmd
    }

    /// The names of the configured git remotes.
    pub fn remote_names(&self) -> Vec<String> {
        self.repo.remote_names().iter().map(|n| n.to_string()).collect()
    }
}

/// No git repository contains the directory baton runs in: what gix
/// found, kept as the source.
#[derive(Debug, thiserror::Error)]
#[error("{} is not in a git repository ({source})", dir.display())]
pub struct NotARepository {
    pub dir: PathBuf,
    // Boxed: gix's discovery error is large, and this travels in `Result`s.
    source: Box<gix::Error>,
}

impl From<NotARepository> for Error {
    fn from(e: NotARepository) -> Error {
        Error::environment(code::NOT_A_REPOSITORY, e.to_string())
            .with_hint("run baton inside a git repository, or pass -C <path>; `git init` creates one")
            .with_source(e)
    }
}

/// A lock file in the way of a ref update, and how old it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldLock {
    pub path: PathBuf,
    pub age: Duration,
}

impl HeldLock {
    /// Older than [`STALE_LOCK`]: left behind, not held.
    pub fn is_stale(&self) -> bool {
        self.age >= STALE_LOCK
    }
}

impl std::fmt::Display for HeldLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} exists ({}s old)", self.path.display(), self.age.as_secs())
    }
}

/// Now, in the local time zone, as `gix::date::Time::now_local_or_utc` has
/// it but without loading the whole time zone database (chrono reads only
/// `TZ` or `/etc/localtime`).
fn now() -> gix::date::Time {
    let now = chrono::Local::now();
    gix::date::Time::new(now.timestamp(), now.offset().local_minus_utc())
}
