//! Repository-level operations: `init` (the first state commit, the fetch
//! refspec, adopting a remote's existing state, the pre-commit hook), the
//! state history for `log`, and `config get|set`.

use std::path::{Path, PathBuf};

use gix::ObjectId;

use super::{sync, Applied, Session};
use crate::config::{self, Config};
use crate::error::{Error, Result};
use crate::state;
use crate::store::remote::refspec;
use crate::store::{message, Change, HistoryEntry, Message, Outcome, Store, STATE_REF};

/// The line that marks the pre-commit hook `baton init --hooks` writes.
pub const HOOK_MARKER: &str = "# installed by baton init --hooks";

/// What `init` asks for.
#[derive(Debug, Clone, Default)]
pub struct InitArgs {
    /// Install the pre-commit hook.
    pub hooks: bool,
    /// The remote to add the fetch refspec to and adopt state from (default: `sync.remote`).
    pub remote: Option<String>,
}

/// What `init` did.
#[derive(Debug, Clone)]
pub struct Initialized {
    /// The first state commit was made here.
    pub created: bool,
    /// The remote's existing state was adopted instead.
    pub adopted: bool,
    pub tip: ObjectId,
    /// The remote, when it is configured.
    pub remote: Option<String>,
    /// The baton fetch refspec of the remote, and whether it was added now
    /// (`None`: no such remote).
    pub refspec: Option<(String, bool)>,
    /// The hook's path, and whether it was installed now (`false`: it already was).
    pub hook: Option<(PathBuf, bool)>,
    /// Things worth saying that are not failures (a remote that could not be reached).
    pub notes: Vec<String>,
}

/// `baton init`: idempotent. In a clone whose remote already has state, it
/// joins that history instead of starting a second one.
pub fn init(s: &Session, args: &InitArgs) -> Result<Initialized> {
    let actor = s.actor()?;
    let remote = match &args.remote {
        Some(r) => r.clone(),
        None => sync::remote_name(s, None)?,
    };
    let has_remote = s.store.remote_names().contains(&remote);
    let mut notes = Vec::new();
    let refspec = if has_remote {
        Some((refspec(&remote), s.store.ensure_refspec(&remote)?))
    } else {
        None
    };
    let adopted = has_remote && s.store.tip()?.is_none() && adopt(&s.store, &remote, &mut notes)?;
    let written = s.store.update_or_create(&actor.to_string(), |snap| {
        if snap.commit().is_some() {
            return Ok(Outcome::Unchanged(false));
        }
        let msg = Message::new("init: baton state")
            .trailer(message::OP, "init")
            .trailer(message::ACTOR, actor.to_string());
        let mut change = Change::new(msg);
        change.put_toml(config::PATH.to_owned(), &Config::default())?;
        Ok(Outcome::Write(change, true))
    })?;
    let hook = if args.hooks {
        Some(install_hook(&s.store)?)
    } else {
        None
    };
    let tip = s.store.tip()?.ok_or_else(|| s.store.no_state())?;
    Ok(Initialized {
        created: written.value,
        adopted,
        tip,
        remote: has_remote.then_some(remote),
        refspec,
        hook,
        notes,
    })
}

/// Take the remote's state as ours when it has some; a remote that cannot
/// be reached is noted, not fatal: `baton sync` merges later.
pub fn adopt(store: &Store, remote: &str, notes: &mut Vec<String>) -> Result<bool> {
    match store.fetch_state(remote) {
        Ok(Some(theirs)) => Ok(store
            .move_ref(STATE_REF, None, theirs, &format!("baton: init adopts {remote}"))
            .is_ok()),
        Ok(None) => Ok(false),
        Err(e) => {
            notes.push(format!(
                "could not fetch from {remote} ({}); starting new state, `baton sync` merges later",
                e.message
            ));
            Ok(false)
        }
    }
}

/// Where git looks for the pre-commit hook (honours core.hooksPath).
pub fn hook_path(store: &Store) -> PathBuf {
    let fallback = store.git_dir().join("hooks").join("pre-commit");
    let Ok(out) = store
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
        store.work_dir().unwrap_or(store.git_dir()).join(p)
    }
}

/// Whether the pre-commit hook runs `baton doctor --hook`.
pub fn hook_installed(store: &Store) -> bool {
    std::fs::read_to_string(hook_path(store)).is_ok_and(|t| t.contains(HOOK_MARKER))
}

/// Install the pre-commit hook; an existing foreign hook moves to
/// `pre-commit.local` and keeps running first. Returns (path, newly installed).
fn install_hook(store: &Store) -> Result<(PathBuf, bool)> {
    let path = hook_path(store);
    if hook_installed(store) {
        return Ok((path, false));
    }
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let local = dir.join("pre-commit.local");
    if path.exists() {
        if local.exists() {
            return Err(Error::refused(
                "hook_exists",
                format!("{} and {} both exist", path.display(), local.display()),
            )
            .with_hint("merge them by hand, then rerun `baton init --hooks`"));
        }
        std::fs::rename(&path, &local)
            .map_err(|e| Error::io(format!("moving the existing hook to {}", local.display()), e))?;
    }
    std::fs::write(&path, hook_script()).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(format!("making {} executable", path.display()), e))?;
    }
    Ok((path, true))
}

/// The hook: the moved foreign hook first, then this very binary (or
/// `baton` on PATH when it has moved) in `doctor --hook` mode.
fn hook_script() -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "baton".into());
    format!(
        "#!/bin/sh\n{HOOK_MARKER}\n# An existing hook, if any, was moved to pre-commit.local and runs first.\n\
         hook_dir=$(dirname \"$0\")\n\
         if [ -x \"$hook_dir/pre-commit.local\" ]; then \"$hook_dir/pre-commit.local\" \"$@\" || exit $?; fi\n\
         baton_bin='{}'\n\
         [ -x \"$baton_bin\" ] || baton_bin=baton\n\
         exec \"$baton_bin\" doctor --hook\n",
        exe.replace('\'', "")
    )
}

/// Which operations `log` shows.
#[derive(Debug, Clone)]
pub enum LogFilter {
    All,
    /// Operations on this subject (`claim/T-42`); a trailing `/` matches a prefix (`claim/`).
    Subject(String),
    /// Operations whose `Baton-Op` starts with this (`pool.`).
    OpPrefix(String),
}

impl LogFilter {
    fn keeps(&self, m: &Message) -> bool {
        match self {
            LogFilter::All => true,
            LogFilter::Subject(want) if want.ends_with('/') => {
                m.all(message::SUBJECT).any(|x| x.starts_with(want.as_str()))
            }
            LogFilter::Subject(want) => m.all(message::SUBJECT).any(|x| x == want),
            LogFilter::OpPrefix(prefix) => m.get(message::OP).is_some_and(|op| op.starts_with(prefix.as_str())),
        }
    }
}

/// The state history, newest first, keeping what `filter` keeps, at most `limit`.
pub fn log(s: &Session, filter: &LogFilter, limit: Option<usize>) -> Result<Vec<HistoryEntry>> {
    let tip = s.snapshot()?.commit().ok_or_else(|| s.store.no_state())?;
    let mut entries = Vec::new();
    s.store.walk_history(tip, |e| {
        if filter.keeps(&e.message) {
            entries.push(e);
        }
        limit.is_none_or(|l| entries.len() < l)
    })?;
    // The walk keeps the first match before it can stop, so `--limit 0`
    // (nothing, like `git log -n 0`) needs the cut here.
    entries.truncate(limit.unwrap_or(usize::MAX));
    Ok(entries)
}

/// `config get KEY` with its default and where the value comes from.
pub fn config_setting(s: &Session, key: &str) -> Result<config::Setting> {
    state::config(&s.snapshot()?)?.setting(key)
}

/// `config list`: every key.
pub fn config_list(s: &Session) -> Result<Vec<config::Setting>> {
    state::config(&s.snapshot()?)?.settings()
}

/// `config set KEY VALUE`: one commit, none when the value is already so.
pub fn config_set(s: &Session, key: &str, value: &str) -> Result<Applied<String>> {
    let actor = s.actor()?;
    s.apply(|snap| {
        let current = state::config(snap)?;
        let next = current.with(key, value)?;
        if next.get(key)? == current.get(key)? {
            return Ok(Outcome::Unchanged(next.get(key)?));
        }
        let msg = Message::new(format!("config: set {key} = {value}"))
            .trailer(message::OP, "config.set")
            .trailer(message::SUBJECT, format!("config/{key}"))
            .trailer(message::ACTOR, actor.to_string());
        let mut change = Change::new(msg);
        change.put_toml(config::PATH.to_owned(), &next)?;
        Ok(Outcome::Write(change, next.get(key)?))
    })
}
