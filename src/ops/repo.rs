//! Repository-level operations: `init` (the first state commit, the fetch
//! refspec, adopting a remote's existing state, the git hooks), the
//! state history for `log`, and `config get|set`.

use gix::ObjectId;

use super::{sync, Applied, Session};
use crate::config::{self, Config};
use crate::error::Result;
use crate::state;
use crate::store::remote::refspec;
use crate::store::{message, Change, HistoryEntry, Message, Store, Update, STATE_REF};

/// What `init` asks for.
#[derive(Debug, Clone, Default)]
pub struct InitArgs {
    /// Install the git hooks (pre-commit, pre-push).
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
    /// The hooks, when asked for (`--hooks`).
    pub hooks: Option<super::hooks::Hooks>,
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
            return Ok(Update::Unchanged(false));
        }
        let msg = Message::new("init: baton state")
            .trailer(message::OP, "init")
            .trailer(message::ACTOR, actor.to_string());
        let mut change = Change::new(msg);
        change.put_toml(config::PATH.to_owned(), &Config::default())?;
        Ok(Update::Write(change, true))
    })?;
    let hooks = if args.hooks {
        Some(super::hooks::install(&s.store)?)
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
        hooks,
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
                e.message()
            ));
            Ok(false)
        }
    }
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
    Ok(state::config(&s.snapshot()?)?.setting(key)?)
}

/// `config list`: every key.
pub fn config_list(s: &Session) -> Result<Vec<config::Setting>> {
    Ok(state::config(&s.snapshot()?)?.settings()?)
}

/// `config set KEY VALUE`: one commit, none when the value is already so.
pub fn config_set(s: &Session, key: &str, value: &str) -> Result<Applied<String>> {
    let actor = s.actor()?;
    s.apply(|snap| {
        let current = state::config(snap)?;
        let next = current.with(key, value)?;
        if next.get(key)? == current.get(key)? {
            return Ok(Update::Unchanged(next.get(key)?));
        }
        let msg = Message::new(format!("config: set {key} = {value}"))
            .trailer(message::OP, "config.set")
            .trailer(message::SUBJECT, format!("config/{key}"))
            .trailer(message::ACTOR, actor.to_string());
        let mut change = Change::new(msg);
        change.put_toml(config::PATH.to_owned(), &next)?;
        Ok(Update::Write(change, next.get(key)?))
    })
}
