//! The operations layer: every user-visible operation as one function that
//! runs a transaction — read the state, decide with a subsystem's pure
//! functions, commit with compare-and-swap, publish — and returns a typed
//! result (what changed, the commit, what was published or lost).
//!
//! The CLI parses arguments and renders these results; delivery, the daemon
//! and learn compose the same functions. Subsystem modules stay pure, and the
//! store never learns what a claim is: this layer is where they meet.
//!
//! One file per subsystem, like cargo's `ops/`: [`claims`], [`pool`],
//! [`workflow`], [`delivery`], [`repo`] (init, log, config), [`sync`],
//! [`doctor`] and [`learn`]; [`fetched`] brings in what a plain `git fetch`
//! brought, [`hooks`] writes the git hooks, [`latest`] picks the run a
//! resume without `--run-id` means, [`index`] is the machine-local read
//! index the listings read through; [`verify`] finds state files this baton
//! cannot parse for the hook, sync and doctor's quarantine.

pub mod claims;
pub mod daemon;
pub mod delivery;
pub mod doctor;
pub mod fetched;
pub mod hooks;
pub mod index;
pub mod latest;
pub mod learn;
pub mod pool;
mod refusals;
pub mod repo;
pub mod reservations;
pub mod sync;
pub mod verify;
pub mod workflow;

#[cfg(test)]
mod tests;

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use gix::ObjectId;

use crate::clock::{self, Timestamp};
use crate::config::Config;
use crate::error::code;
use crate::error::{Error, Result};
use crate::ids::Actor;
use crate::state;
use crate::store::{Snapshot, Store, Update};

/// What every operation needs: the store, who acts, and when; the shared
/// policy, read once per command.
pub struct Session {
    pub store: Store,
    /// The directory baton runs in (`-C`), for relative paths.
    pub dir: PathBuf,
    pub now: Timestamp,
    actor_flag: Option<String>,
    config: OnceCell<Config>,
}

/// A write that landed in the local state, nothing published yet: what
/// [`Session::commit`] returns. Publishing it is a separate step
/// ([`Session::publish`]), whose failure cannot take back what landed.
#[derive(Debug)]
pub struct Committed<T> {
    /// The operation's own result (the claim as it is now, the agents spawned, ...).
    pub value: T,
    /// The state commit it made; `None` when there was nothing to change.
    pub commit: Option<ObjectId>,
}

impl<T> Committed<T> {
    /// As an operation's result that publishes nothing.
    pub fn local(self) -> Applied<T> {
        Applied {
            value: self.value,
            commit: self.commit,
            published: None,
            not_published: None,
        }
    }
}

/// Where the acting actor came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorSource {
    /// `--actor`.
    Flag,
    /// `BATON_ACTOR`.
    Env,
    /// The git identity: `user.email` or `user.name`.
    Git(&'static str),
    /// `$USER` (`%USERNAME%`).
    User,
}

impl ActorSource {
    pub fn describe(self) -> String {
        match self {
            ActorSource::Flag => "the --actor flag".to_owned(),
            ActorSource::Env => "the BATON_ACTOR environment variable".to_owned(),
            ActorSource::Git(key) => format!("git config {key}"),
            ActorSource::User => "$USER (no BATON_ACTOR and no git identity)".to_owned(),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            ActorSource::Flag => "flag",
            ActorSource::Env => "env",
            ActorSource::Git(_) => "git",
            ActorSource::User => "user",
        }
    }
}

/// What a write operation did: what landed, and what publishing it did.
#[derive(Debug)]
pub struct Applied<T> {
    /// The operation's own result (the claim as it is now, the agents spawned, ...).
    pub value: T,
    /// The state commit it made; `None` when there was nothing to change.
    pub commit: Option<ObjectId>,
    /// What publishing did, when the operation published (`--sync`, `sync.auto`).
    pub published: Option<sync::Report>,
    /// Why publishing failed: the write landed here, the remote has not
    /// seen it (exit 3; `baton sync` publishes it later).
    pub not_published: Option<Error>,
}

/// The actor from `--actor` or `BATON_ACTOR`, the sources that need no
/// repository; `None` when neither is given.
pub fn actor_given(flag: Option<&str>) -> Option<Result<(Actor, ActorSource)>> {
    if let Some(a) = flag {
        return Some(
            Actor::parse(a)
                .map(|actor| (actor, ActorSource::Flag))
                .map_err(Error::from),
        );
    }
    match std::env::var("BATON_ACTOR") {
        Ok(a) if !a.is_empty() => Some(
            Actor::parse(&a)
                .map_err(|e| Error::from(e).context("BATON_ACTOR"))
                .map(|actor| (actor, ActorSource::Env)),
        ),
        _ => None,
    }
}

impl Session {
    /// Open the repository around `dir` (default: the current directory) for
    /// `actor` (default: `BATON_ACTOR`, then the git identity).
    pub fn open(dir: Option<&Path>, actor: Option<&str>) -> Result<Session> {
        let dir = match dir {
            Some(d) => d.to_path_buf(),
            None => std::env::current_dir().map_err(|e| Error::io("reading the current directory", e))?,
        };
        if !dir.is_dir() {
            return Err(Error::environment(
                code::NO_SUCH_DIRECTORY,
                format!("cannot change to {}: no such directory", dir.display()),
            )
            .with_hint("pass an existing directory to -C"));
        }
        let now = clock::now()?;
        // Validate --actor up front, so a bad one fails before anything else.
        if let Some(a) = actor {
            Actor::parse(a)?;
        }
        Ok(Session {
            store: Store::discover(&dir)?,
            dir,
            now,
            actor_flag: actor.map(str::to_owned),
            config: OnceCell::new(),
        })
    }

    /// `--actor`, else `BATON_ACTOR`, else `human:<git email or name>`, else `human:$USER`.
    pub fn actor(&self) -> Result<Actor> {
        self.actor_and_source().map(|(actor, _)| actor)
    }

    /// The actor, and where it came from (`baton whoami`).
    pub fn actor_and_source(&self) -> Result<(Actor, ActorSource)> {
        if let Some(found) = actor_given(self.actor_flag.as_deref()) {
            return found;
        }
        for key in ["user.email", "user.name"] {
            if let Some(v) = self.store.config_string(key).filter(|v| !v.is_empty()) {
                return Ok((Actor::human_from_local(&v), ActorSource::Git(key)));
            }
        }
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_default();
        Ok((Actor::human_from_local(&user), ActorSource::User))
    }

    /// The shared policy (`config.toml`) as of the tip, read once; the
    /// defaults in a repository without state.
    pub fn config(&self) -> Result<&Config> {
        if let Some(config) = self.config.get() {
            return Ok(config);
        }
        let config = match self.store.tip()? {
            Some(tip) => state::config(&self.store.snapshot_at(Some(tip))?)?,
            None => Config::default(),
        };
        Ok(self.config.get_or_init(|| config))
    }

    /// The state as of the tip; refused (exit 3, with what to do) without state.
    pub fn snapshot(&self) -> Result<Snapshot<'_>> {
        self.store.snapshot()
    }

    /// Where workflow steps run and definitions live: the work tree's root,
    /// or the directory baton runs in for a bare repository.
    pub fn base_dir(&self) -> PathBuf {
        self.store
            .work_dir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.dir.clone())
    }

    /// Fold the local learn journal when it waits and `committed` landed a
    /// commit, in a commit of its own: a step of its own after
    /// [`Session::commit`], which [`Session::apply`] takes. Best effort: the
    /// operation has landed, and a journal that cannot be folded now stays
    /// as it is (doctor reports it) until the next write.
    pub fn fold_journal<T>(&self, committed: Committed<T>) -> Committed<T> {
        if committed.commit.is_some() && learn::journal_waiting(&self.store) {
            let _ = learn::fold_journal(self);
        }
        committed
    }

    /// Commit what `op` decides as one operation. Nothing else: folding the
    /// learn journal ([`Session::fold_journal`]) and publishing
    /// ([`Session::publish`]) are steps of their own.
    pub fn commit<T>(&self, op: impl FnMut(&Snapshot<'_>) -> Result<Update<T>>) -> Result<Committed<T>> {
        let written = self.store.update(&self.actor()?.to_string(), op)?;
        Ok(Committed {
            value: written.value,
            commit: written.commit,
        })
    }

    /// Publish what landed to `remote` (a sync: fetch, then fast-forward,
    /// push, or merge and push). A failure is part of the result
    /// ([`Applied::not_published`]), not an error: the commit stays landed
    /// and reported.
    pub fn publish<T>(&self, committed: Committed<T>, remote: &str) -> Applied<T> {
        let mut applied = committed.local();
        match self
            .actor()
            .and_then(|actor| sync::sync(&self.store, remote, &actor.to_string()))
        {
            Ok(report) => applied.published = Some(report),
            Err(e) => applied.not_published = Some(sync::not_published(e, applied.commit, remote)),
        }
        applied
    }

    /// A write operation's steps: [`Session::commit`], then
    /// [`Session::fold_journal`], then [`Session::publish`] when `sync.auto`
    /// says so.
    pub fn apply<T>(&self, op: impl FnMut(&Snapshot<'_>) -> Result<Update<T>>) -> Result<Applied<T>> {
        let committed = self.fold_journal(self.commit(op)?);
        if committed.commit.is_some() {
            if let Some(remote) = sync::auto_remote(self)? {
                return Ok(self.publish(committed, &remote));
            }
        }
        Ok(committed.local())
    }
}
