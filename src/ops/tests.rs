//! Operations on real temporary repositories, called as delivery, the
//! daemon and learn will call them: no binary in between.

use crate::error::code;
use std::path::Path;

use super::pool::Wanted;
use super::{claims, pool, repo, sync, Session};
use crate::claims::ClaimRequest;
use crate::ids::{ClaimId, Role};
use crate::ops::claims::ClaimArgs;
use crate::ops::sync::Action;
use crate::testing::{git, repository};

fn session(dir: &Path, actor: &str) -> Session {
    Session::open(Some(dir), Some(actor)).expect("opening the repository")
}

fn claim_args(role: &str) -> ClaimArgs {
    ClaimArgs {
        request: ClaimRequest::default(),
        wanted: Wanted {
            role: Some(Role::parse(role).unwrap()),
            agent: None,
        },
        sync: false,
    }
}

#[test]
fn pool_capacity_is_never_given_twice_under_contention() {
    let root = tempfile::tempdir().unwrap();
    let dir = repository(root.path(), "r");
    let admin = session(&dir, "human:admin");
    repo::init(&admin, &repo::InitArgs::default()).unwrap();
    pool::spawn(&admin, &Role::parse("rev").unwrap(), 3, 1).unwrap();

    // Eight claimants race for three agents of capacity one: each opens
    // its own session (a repository handle stays on its thread).
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let dir = dir.clone();
                scope.spawn(move || {
                    let s = session(&dir, &format!("agent:w{i}"));
                    let id = ClaimId::parse(&format!("T-{i}")).unwrap();
                    claims::claim(&s, &id, &claim_args("rev"))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut assigned: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|a| a.value.claim.agent.as_ref().unwrap().to_string())
        .collect();
    assigned.sort();
    assert_eq!(assigned, ["rev-1", "rev-2", "rev-3"], "each agent once");
    for refused in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(refused.code, code::NO_CAPACITY, "{}", refused.message());
    }
    // And the pool agrees: every agent at 1/1.
    let health = pool::health(&admin, None).unwrap();
    assert!(health.iter().all(|h| h.load == 1 && h.capacity == 1), "{health:?}");
}

#[test]
fn writes_publish_only_when_sync_auto_has_its_remote() {
    let root = tempfile::tempdir().unwrap();
    let dir = repository(root.path(), "r");
    let s = session(&dir, "human:dana");
    repo::init(&s, &repo::InitArgs::default()).unwrap();
    assert_eq!(sync::auto_remote(&s).unwrap(), None, "sync.auto is off by default");
    // --sync names the configured remote whatever sync.auto says.
    assert_eq!(sync::publish_target(&s, true).unwrap().as_deref(), Some("origin"));

    repo::config_set(&s, "sync.auto", "true").unwrap();
    let s = session(&dir, "human:dana");
    assert_eq!(sync::auto_remote(&s).unwrap(), None, "no remote named origin yet");

    let bare = root.path().join("remote.git");
    git(root.path(), &["init", "-q", "--bare", bare.to_str().unwrap()]);
    git(&dir, &["remote", "add", "origin", bare.to_str().unwrap()]);
    let s = session(&dir, "human:dana");
    assert_eq!(sync::auto_remote(&s).unwrap().as_deref(), Some("origin"));

    let id = ClaimId::parse("T-1").unwrap();
    let claimed = claims::claim(&s, &id, &ClaimArgs::default()).unwrap();
    let report = claimed.published.expect("a claim under sync.auto publishes");
    assert_eq!(report.action, Action::Pushed);
    assert_eq!(report.tip, s.store.tip().unwrap().unwrap().to_string());
    // A repeat changes nothing and commits nothing; a write that commits
    // publishes too.
    let released = claims::release(&s, &id, &Default::default()).unwrap();
    assert!(released.commit.is_some());
    assert!(released.published.is_some());
}

#[test]
fn init_in_a_clone_adopts_the_remote_state() {
    let root = tempfile::tempdir().unwrap();
    let bare = root.path().join("remote.git");
    git(root.path(), &["init", "-q", "--bare", bare.to_str().unwrap()]);
    let a = repository(root.path(), "a");
    git(&a, &["remote", "add", "origin", bare.to_str().unwrap()]);
    let ann = session(&a, "agent:ann");
    let first = repo::init(&ann, &repo::InitArgs::default()).unwrap();
    assert!(first.created && !first.adopted);
    assert_eq!(first.refspec.as_ref().map(|(_, added)| *added), Some(true));
    sync::run(&ann, None).unwrap();

    let b = repository(root.path(), "b");
    git(&b, &["remote", "add", "origin", bare.to_str().unwrap()]);
    let ben = session(&b, "agent:ben");
    let joined = repo::init(&ben, &repo::InitArgs::default()).unwrap();
    assert!(joined.adopted && !joined.created, "{joined:?}");
    assert_eq!(joined.tip, first.tip, "one history, not two");

    // A remote that cannot be reached is noted, and init starts afresh.
    let c = repository(root.path(), "c");
    git(&c, &["remote", "add", "origin", "/nonexistent/remote.git"]);
    let cy = session(&c, "agent:cy");
    let alone = repo::init(&cy, &repo::InitArgs::default()).unwrap();
    assert!(alone.created && !alone.adopted);
    assert!(
        alone.notes.iter().any(|n| n.contains("could not fetch")),
        "{:?}",
        alone.notes
    );
}

#[test]
fn changed_files_and_their_verdicts_follow_only_what_changed() {
    let root = tempfile::tempdir().unwrap();
    let dir = repository(root.path(), "r");
    let s = session(&dir, "agent:ann");
    repo::init(&s, &repo::InitArgs::default()).unwrap();
    let one = ClaimId::parse("T-1").unwrap();
    claims::claim(&s, &one, &ClaimArgs::default()).unwrap();
    let before = s.store.tree_of(s.store.tip().unwrap().unwrap()).unwrap();
    let two = ClaimId::parse("T-2").unwrap();
    claims::claim(&s, &two, &ClaimArgs::default()).unwrap();
    claims::release(&s, &one, &Default::default()).unwrap();

    let snap = s.store.snapshot().unwrap();
    let changed: Vec<String> = s
        .store
        .changed_files(Some(before), snap.tree())
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    let mut expected = vec![crate::claims::path(&one), crate::claims::path(&two)];
    expected.sort();
    let mut sorted = changed.clone();
    sorted.sort();
    assert_eq!(sorted, expected, "only the two claims changed");
    assert!(s
        .store
        .changed_files(Some(snap.tree()), snap.tree())
        .unwrap()
        .is_empty());
    // Everything, without a base: the config and both claims, all parsing.
    let all = s.store.changed_files(None, snap.tree()).unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(super::verify::problems(&s.store, &snap, None).unwrap().is_empty());
}

/// What the daemon's tick calls: one fold commit (with its trailers), the
/// decisions for the metrics snapshot, nothing to do the second time.
#[test]
fn the_journal_folds_as_the_daemon_calls_it() {
    use super::learn::{self, Ended, Input};
    use crate::learn::stats::CommandEnd;
    let root = tempfile::tempdir().unwrap();
    let dir = repository(root.path(), "r");
    let s = session(&dir, "agent:alice");
    // No state yet: nothing to fold into, the journal waits.
    let ended = Ended {
        command: "cargo test".into(),
        outcome: CommandEnd::Failure,
        exit_code: Some(101),
        duration_ms: Some(40),
    };
    learn::post_command(&s, &ended).unwrap();
    assert!(learn::fold_journal(&s).unwrap().commit.is_none());
    repo::init(&s, &repo::InitArgs::default()).unwrap();
    let verdict = learn::pre_command(&s, &Input::Line("git push -f".into())).unwrap();
    assert_eq!(verdict.exit_code(), 1);
    let folded = learn::fold_journal(&s).unwrap();
    assert!(folded.commit.is_some());
    assert_eq!(
        (folded.value.outcomes, folded.value.decisions, folded.value.files),
        (1, 1, 1)
    );
    let snap = s.store.snapshot().unwrap();
    let decisions = learn::decisions(&snap);
    assert_eq!(decisions["high"], 1);
    assert_eq!(decisions["low"], 0);
    let stats = crate::state::command_stats(&snap).unwrap();
    assert_eq!(stats.family("cargo test").unwrap().failures, 1);
    assert!(learn::fold_journal(&s).unwrap().commit.is_none(), "nothing left");
    assert!(!learn::journal_waiting(&s.store));
}
