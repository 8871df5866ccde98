//! Two clones that both run a daemon, syncing through a bare remote: the
//! reconcile report is kept on the machine whose pass made it, so their
//! syncs never have a conflict over it and each keeps its own.

// Not every helper of the sync tests is used here.
#[allow(unused_imports)]
use crate::sync_support::Net;

#[test]
fn two_clones_that_both_tick_sync_without_a_conflict_and_keep_their_reports() {
    let net = Net::new();
    let a = net.joined("a");
    let b = net.joined("b");
    // Each clone's daemon commits a pass (its first snapshot at least).
    for (clone, claim) in [(&a, "A-1"), (&b, "B-1")] {
        clone.run("agent:x", &["claims", "claim", claim]).ok();
        let ticked = clone.run("human:ops", &["daemon", "tick"]).ok();
        assert_eq!(ticked["outcome"], "changed", "{ticked}");
    }
    assert_eq!(a.run("human:ops", &["sync"]).ok()["action"], "pushed");
    let merged = b.run("human:ops", &["sync"]).ok();
    assert_eq!(merged["action"], "merged", "{merged}");
    assert_eq!(merged["remote_won"], serde_json::json!([]), "{merged}");
    assert_eq!(a.run("human:ops", &["sync"]).ok()["action"], "fast_forward");

    // Both tick again and sync again: still nothing to resolve.
    for (clone, claim) in [(&a, "A-2"), (&b, "B-2")] {
        clone.run("agent:x", &["claims", "claim", claim]).ok();
        let ticked = clone.run("human:ops", &["daemon", "tick", "--full"]).ok();
        assert_eq!(ticked["outcome"], "changed", "{ticked}");
    }
    a.run("human:ops", &["sync"]).ok();
    let again = b.run("human:ops", &["sync"]).ok();
    assert_eq!(again["remote_won"], serde_json::json!([]), "{again}");

    // Each machine's summary shows the report of its own last committing pass.
    for clone in [&a, &b] {
        let summary = clone.run("human:ops", &["daemon", "summary"]).ok();
        assert!(summary["report"].is_object(), "{summary}");
        let last = clone.run("human:ops", &["daemon", "status"]).ok();
        assert_eq!(summary["report"]["at"], last["last_tick"]["report"]["at"], "{summary}");
    }
}
