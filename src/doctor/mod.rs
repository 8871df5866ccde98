//! Doctor (docs/command-handbook.md, `doctor`): the judgement of what the store looks like — a
//! lock left behind, objects piling up, no reflog, no hook, foreign entries
//! in the state tree, files that do not parse (or that a newer baton wrote),
//! a state ref that points at nothing, files set aside in quarantine, where
//! local state stands against the remote. Pure functions from facts to [`Finding`]s; the
//! operations layer (`ops::doctor`) gathers the facts, runs every
//! subsystem's own checks and applies fixes.

pub mod future;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

pub use crate::broken::file_problem;
use crate::broken::Broken;
use crate::finding::Finding;

/// The subsystems doctor knows, in report order.
pub const SUBSYSTEMS: &[&str] = &[
    "store", "claims", "pool", "workflow", "delivery", "sync", "daemon", "learn",
];

/// `doctor --subsystem` names one doctor does not know (`unknown_subsystem`);
/// the hint (the list) is given where it becomes the user's error (`ops::refusals`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("doctor knows no subsystem {0:?}")]
pub struct UnknownSubsystem(pub String);

/// Top-level entries the state tree may hold (docs/storage.md).
const KNOWN_TOP_LEVEL: &[&str] = &[
    "config.toml",
    "claims",
    "agents",
    "runs",
    "metrics",
    "reconcile",
    "learn",
    // Files `doctor --fix` set aside because they do not parse.
    "quarantine",
];

/// A lock older than this is left over from a crashed writer (the write
/// path gives up on such a lock at once).
pub const STALE_LOCK: Duration = crate::store::STALE_LOCK;

/// Loose objects past which `git gc --auto` would pack (git's `gc.auto` default).
const LOOSE_OBJECTS_GC: u64 = 6700;

/// Packs past which `git gc --auto` would repack (git's `gc.autoPackLimit`
/// default). Workflow runs add one pack each.
const PACKS_GC: u64 = 50;

/// A ref lock that exists, `age` old: young, a write in progress; old, stale.
pub fn lock(path: &Path, age: Duration) -> Finding {
    if age < STALE_LOCK {
        return Finding::warn(
            "store.lock",
            format!(
                "{} exists ({}s old): a write is in progress",
                path.display(),
                age.as_secs()
            ),
        )
        .hint("run doctor again in a minute; a lock older than that is stale");
    }
    Finding::error(
        "store.lock",
        format!(
            "stale ref lock {} ({}s old), left by a crashed writer",
            path.display(),
            age.as_secs()
        ),
    )
    .hint("`baton doctor --fix` removes it")
}

pub fn no_lock() -> Finding {
    Finding::ok("store.lock", "no ref lock held")
}

/// Packs kept (`.keep`) by baton processes, `(keep file, pid)`, whose
/// process is gone: a writer keeps its pack only until the ref points at
/// it, so such a keep was left by a killed writer and would keep `git gc`
/// away from the pack for ever.
pub fn orphaned_keeps(keeps: &[(std::path::PathBuf, u32)]) -> Vec<Finding> {
    if keeps.is_empty() {
        return vec![Finding::ok(
            "store.keep",
            "no pack kept by a baton process that is gone",
        )];
    }
    keeps
        .iter()
        .map(|(path, pid)| {
            Finding::error(
                "store.keep",
                format!(
                    "{} was left by baton pid {pid}, which is gone: git gc never folds that pack",
                    path.display()
                ),
            )
            .hint("`baton doctor --fix` removes the keep (the pack stays; git gc folds it)")
        })
        .collect()
}

/// Top-level entries of the state tree that docs/storage.md does not name.
pub fn unknown_entries<'a>(paths: impl IntoIterator<Item = &'a str>) -> Vec<Finding> {
    let unknown: BTreeSet<&str> = paths
        .into_iter()
        .map(|p| p.split('/').next().unwrap_or(""))
        .filter(|top| !KNOWN_TOP_LEVEL.contains(top))
        .collect();
    unknown
        .into_iter()
        .map(|top| {
            Finding::warn(
                "store.files",
                format!("unexpected entry {top} at the top of the state tree"),
            )
            .hint("a newer baton may have written it; otherwise remove it in a state commit")
            .at(top)
        })
        .collect()
}

pub fn reflog(exists: bool, state_ref: &str) -> Finding {
    if exists {
        Finding::ok("store.reflog", "reflog is kept for the state ref")
    } else {
        Finding::warn("store.reflog", format!("no reflog for {state_ref}")).hint("the next baton write creates it")
    }
}

/// Loose objects and packs as `git count-objects` counted them (`None`: it failed).
pub fn objects(counted: Option<(u64, u64)>) -> Finding {
    match counted {
        Some((loose, packs)) if loose > LOOSE_OBJECTS_GC || packs > PACKS_GC => {
            Finding::warn("store.objects", format!("{loose} loose objects, {packs} pack(s)"))
                .hint("`baton doctor --fix` runs `git gc --auto`")
        }
        Some((loose, packs)) => Finding::ok("store.objects", format!("{loose} loose objects, {packs} pack(s)")),
        None => Finding::warn("store.objects", "could not count objects (`git count-objects` failed)"),
    }
}

pub fn hook(installed: bool) -> Finding {
    if installed {
        Finding::ok("store.hook", "pre-commit hook runs baton doctor --hook")
    } else {
        Finding::warn("store.hook", "no pre-commit hook runs baton doctor --hook")
            .hint("install it with `baton init --hooks`")
    }
}

/// What doctor finds of one index file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexStanding {
    /// There is none (it is built on first use).
    Missing,
    /// It reads back and agrees with the state, or is of an older tree
    /// (brought up to date on next use).
    Sound,
    /// It does not read back (corrupt, or written by another baton).
    Unreadable,
    /// It is of the current tree but its rows differ from a full read.
    Disagrees,
}

/// The machine-local read index (`ops::index`): one finding per file that
/// does not read back or disagrees with the state (`fixed`: removed, so it
/// is rebuilt on next use), or one saying all are sound.
pub fn read_index(files: &[(std::path::PathBuf, IndexStanding, bool)]) -> Vec<Finding> {
    use IndexStanding as Standing;
    let mut out: Vec<Finding> = files
        .iter()
        .filter_map(|(path, standing, fixed)| {
            let what = match standing {
                Standing::Unreadable => "does not read back (corrupt, or written by another version of baton)",
                Standing::Disagrees => "disagrees with the state it says it indexes",
                Standing::Missing | Standing::Sound => return None,
            };
            let mut f = Finding::warn(
                "store.index",
                format!(
                    "read index {} {what}: listings rebuild it from the state",
                    path.display()
                ),
            )
            .hint("`baton doctor --fix` removes it (it is a cache; the next listing builds it again)");
            f.fixed = *fixed;
            Some(f)
        })
        .collect();
    if out.is_empty() {
        let built = files.iter().filter(|(_, s, _)| *s == Standing::Sound).count();
        out.push(Finding::ok(
            "store.index",
            format!("read index: {built} of {} file(s) built, all sound", files.len()),
        ));
    }
    out
}

/// State files that did not parse, as findings of `check`.
pub fn broken(files: &[Broken], check: &str) -> Vec<Finding> {
    files.iter().map(|b| file_problem(check, &b.path, &b.error)).collect()
}

/// The state ref cannot be read, or points at a commit that cannot be (a
/// dangling ref).
pub fn unreadable_ref(state_ref: &str, why: &str) -> Finding {
    Finding::error("store.ref", format!("{state_ref} cannot be read: {why}")).hint(format!(
        "point it at the last good commit of `git reflog {state_ref}` (`git update-ref {state_ref} <commit>`), \
         or delete it (`git update-ref -d {state_ref}`) and `baton sync` to take the remote's state"
    ))
}

/// Files `doctor --fix` set aside under `quarantine/`: someone should look.
pub fn quarantined(count: usize) -> Option<Finding> {
    (count > 0).then(|| {
        Finding::warn(
            "store.quarantine",
            format!("{count} state file(s) set aside in quarantine/ because they did not parse"),
        )
        .hint("see them with `git log --stat refs/baton/state -- quarantine`; restore a fixed version with a state commit, or delete them")
        .at("quarantine")
    })
}

/// What doctor knows of the remote without touching the network.
pub struct Remote<'a> {
    pub name: &'a str,
    /// Every configured git remote.
    pub remotes: &'a [String],
    pub has_refspec: bool,
    /// Operations local has that the last fetched remote state has not, and
    /// the reverse; `None` when the state was never exchanged.
    pub standing: Option<Standing<'a>>,
}

pub struct Standing<'a> {
    pub ahead: usize,
    pub behind: usize,
    pub unpublished_claims: &'a [String],
}

/// Remote checks from what was last fetched.
pub fn sync(remote: &Remote<'_>) -> Vec<Finding> {
    let name = remote.name;
    if !remote.remotes.iter().any(|r| r == name) {
        return vec![match remote.remotes.first() {
            None => Finding::ok("sync.remote", "no git remote: state is local only"),
            Some(first) => Finding::warn(
                "sync.remote",
                format!("sync.remote is {name:?}, which is not a git remote"),
            )
            .hint(format!("baton config set sync.remote {first}")),
        }];
    }
    let mut out = vec![if remote.has_refspec {
        Finding::ok("sync.refspec", format!("{name} fetches refs/baton/*"))
    } else {
        Finding::warn("sync.refspec", format!("{name} has no fetch refspec for refs/baton/*"))
            .hint("`baton init` adds it; `baton sync` works without it")
    }];
    let Some(st) = &remote.standing else {
        out.push(
            Finding::warn("sync.standing", format!("the state was never exchanged with {name}"))
                .hint("run `baton sync` to publish it"),
        );
        return out;
    };
    out.push(
        match (st.ahead, st.behind) {
            (0, 0) => Finding::ok("sync.standing", format!("in step with {name} as of the last fetch")),
            (a, 0) => Finding::warn("sync.standing", format!("{a} operation(s) not yet published to {name}")),
            (0, b) => Finding::warn("sync.standing", format!("{b} operation(s) of {name} not yet taken in")),
            (a, b) => Finding::warn(
                "sync.standing",
                format!("diverged from {name}: {a} local, {b} remote operation(s)"),
            ),
        }
        .hint("run `baton sync`"),
    );
    if !st.unpublished_claims.is_empty() {
        let shown: Vec<&str> = st.unpublished_claims.iter().take(10).map(String::as_str).collect();
        let more = match st.unpublished_claims.len() - shown.len() {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        out.push(
            Finding::warn(
                "sync.unpublished",
                format!("claims not yet published: {}{more}", shown.join(", ")),
            )
            .hint("they count only once published: run `baton sync`"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;
    use crate::finding::Severity;

    #[test]
    fn a_lock_is_stale_after_a_minute() {
        let p = Path::new(".git/refs/baton/state.lock");
        assert_eq!(lock(p, Duration::from_secs(5)).severity, Severity::Warn);
        assert_eq!(lock(p, Duration::from_secs(61)).severity, Severity::Error);
    }

    #[test]
    fn keeps_of_gone_writers_are_errors() {
        assert_eq!(orphaned_keeps(&[])[0].severity, Severity::Ok);
        let found = orphaned_keeps(&[(std::path::PathBuf::from("pack-1.keep"), 7)]);
        assert_eq!(found[0].severity, Severity::Error);
        assert!(found[0].message.contains("pid 7"), "{}", found[0].message);
    }

    #[test]
    fn only_foreign_top_level_entries_are_reported() {
        let found = unknown_entries(["claims/ab/T-1.toml", "config.toml", "junk/x", "junk/y", "zz"]);
        let tops: Vec<_> = found.iter().filter_map(|f| f.path.as_deref()).collect();
        assert_eq!(tops, ["junk", "zz"]);
    }

    #[test]
    fn a_newer_schema_warns_and_only_broken_files_are_errors() {
        let newer = crate::error::Error::from(codec::check_schema("claims/ab/T.toml", codec::SCHEMA + 1).unwrap_err());
        let f = file_problem("claims.files", "claims/ab/T.toml", &newer);
        assert_eq!(
            (f.severity, f.path.as_deref()),
            (Severity::Warn, Some("claims/ab/T.toml"))
        );
        assert!(f.hint.contains("upgrade baton"));
        let broken = crate::error::Error::from(codec::corrupt("claims/ab/T.toml", "unclosed array"));
        let f = file_problem("claims.files", "claims/ab/T.toml", &broken);
        assert_eq!(f.severity, Severity::Error);
        assert!(f.hint.contains("doctor --fix"), "{}", f.hint);
        // The policy is never set aside: the hint says so.
        let f = file_problem("store.files", crate::config::PATH, &broken);
        assert!(!f.hint.contains("quarantine"), "{}", f.hint);
        assert!(quarantined(0).is_none());
        assert_eq!(quarantined(2).map(|f| f.severity), Some(Severity::Warn));
    }

    #[test]
    fn objects_warn_where_git_gc_auto_would_act() {
        assert_eq!(objects(Some((10, 1))).severity, Severity::Ok);
        assert_eq!(objects(Some((7000, 1))).severity, Severity::Warn);
        assert_eq!(objects(Some((1, 51))).severity, Severity::Warn);
        assert_eq!(objects(None).severity, Severity::Warn);
    }

    #[test]
    fn sync_findings_follow_the_standing() {
        let remotes = ["origin".to_owned()];
        let unpublished = ["T-1".to_owned()];
        let remote = Remote {
            name: "origin",
            remotes: &remotes,
            has_refspec: true,
            standing: Some(Standing {
                ahead: 2,
                behind: 0,
                unpublished_claims: &unpublished,
            }),
        };
        let found = sync(&remote);
        assert!(found
            .iter()
            .any(|f| f.check == "sync.unpublished" && f.message.contains("T-1")));
        let elsewhere = Remote {
            name: "upstream",
            ..remote
        };
        assert_eq!(sync(&elsewhere)[0].check, "sync.remote");
    }
}
