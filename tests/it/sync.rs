//! `baton sync` between clones of a real bare repository (docs/sync.md), driven through the built binary: merges keep distinct
//! claims, contested claims go to whoever published first and the loser is
//! told, concurrent syncing converges, rejected and unreachable remotes leave
//! local state intact, fresh clones adopt the remote state, `sync.auto`
//! publishes, and `doctor sync` tells unpublished work apart from published.

use std::collections::{BTreeMap, BTreeSet};

use crate::sync_support::{claim_path, files_at, sh_quote, Clone, Net, STATE_REF};
use serde_json::Value;

const ALICE: &str = "agent:alice";
const BOB: &str = "agent:bob";

fn action(v: &Value) -> &str {
    v["action"].as_str().unwrap_or_default()
}

fn lost_ids(v: &Value) -> Vec<String> {
    v["lost"]
        .as_array()
        .unwrap_or_else(|| panic!("no lost array: {v}"))
        .iter()
        .map(|l| l["id"].as_str().expect("lost id").to_owned())
        .collect()
}

fn parents(c: &Clone, commit: &str) -> Vec<String> {
    c.git(&["rev-list", "--parents", "-n", "1", commit])
        .split_whitespace()
        .skip(1)
        .map(str::to_owned)
        .collect()
}

/// Two clones that share the remote's state: `a` initialised and published it,
/// `b` joined it.
fn two_clones() -> (Net, Clone, Clone) {
    let net = Net::new();
    let a = net.joined("a");
    let b = net.joined("b");
    (net, a, b)
}

// 1. Distinct claims on both sides all survive a round of syncs.
#[test]
fn distinct_claims_on_both_clones_survive_a_sync_round() {
    let (net, a, b) = two_clones();
    for id in ["A-1", "A-2"] {
        a.run(ALICE, &["claims", "claim", id]).ok();
    }
    for id in ["B-1", "B-2"] {
        b.run(BOB, &["claims", "claim", id]).ok();
    }
    let b_before = b.tip().unwrap();

    let pushed = a.run(ALICE, &["sync"]).ok();
    assert_eq!(action(&pushed), "pushed", "{pushed}");
    assert_eq!(net.tip(), a.tip(), "A's sync did not publish");
    let a_published = a.tip().unwrap();

    let merged = b.run(BOB, &["sync"]).ok();
    assert_eq!(action(&merged), "merged", "{merged}");
    assert!(lost_ids(&merged).is_empty(), "nothing was contested: {merged}");
    assert_eq!(merged["tip"].as_str(), net.tip().as_deref());
    // The published line of history stays first: remote tip, then local tip.
    assert_eq!(
        parents(&b, merged["tip"].as_str().unwrap()),
        vec![a_published.clone(), b_before],
        "merge parents are (remote, local)"
    );

    let caught_up = a.run(ALICE, &["sync"]).ok();
    assert_eq!(action(&caught_up), "fast_forward", "{caught_up}");

    let all: Vec<String> = ["A-1", "A-2", "B-1", "B-2"].map(String::from).to_vec();
    assert_eq!(a.listed(), all);
    assert_eq!(b.listed(), all);
    assert_eq!(a.tip(), b.tip());
    assert_eq!(a.tip(), net.tip());
    let claims = net.claims();
    assert_eq!(claims["A-1"].owner, ALICE);
    assert_eq!(claims["B-2"].owner, BOB);
    for (id, c) in &claims {
        assert_eq!(c.path, claim_path(id), "claims are sharded by sha1(id)");
    }

    // A further round changes nothing.
    for c in [&a, &b] {
        let again = c.run(ALICE, &["sync"]).ok();
        assert_eq!(action(&again), "up_to_date", "{again}");
    }
    assert_eq!(a.tip(), net.tip());
}

// 2. A contested claim goes to the side that published first; the other side is told.
#[test]
fn contested_claim_goes_to_the_first_publisher_and_the_loser_is_told() {
    let (net, a, b) = two_clones();
    for id in ["T-42", "T-43"] {
        a.run(ALICE, &["claims", "claim", id]).ok();
        b.run(BOB, &["claims", "claim", id]).ok();
    }
    b.run(BOB, &["claims", "claim", "B-only"]).ok();
    assert_eq!(action(&a.run(ALICE, &["sync"]).ok()), "pushed");

    let text = b.run_text(BOB, &["sync"]);
    let out = text.ok_text();
    for id in ["T-42", "T-43"] {
        let line = format!("lost: {id} is now held by {ALICE}; your claim was not published");
        assert!(out.lines().any(|l| l == line), "missing {line:?}: {}", text.describe());
    }
    let claims = b.claims();
    assert_eq!(claims["T-42"].owner, ALICE, "the remote's claim holds");
    assert_eq!(claims["T-43"].owner, ALICE);
    assert_eq!(claims["B-only"].owner, BOB, "uncontested claims survive");
    assert_eq!(b.tip(), net.tip(), "the merge was published");

    // The merge commit names the losers.
    let msg = b.git(&["log", "-1", "--format=%B", STATE_REF]);
    assert!(msg.contains("Baton-Subject: claim/T-42"), "{msg}");
    assert!(
        msg.contains("T-42 is now held by agent:alice; your claim was not published"),
        "{msg}"
    );

    // --json carries "lost": [...] with the holder.
    let (net, a, b) = two_clones();
    a.run(ALICE, &["claims", "claim", "J-1"]).ok();
    b.run(BOB, &["claims", "claim", "J-1"]).ok();
    a.run(ALICE, &["sync"]).ok();
    let merged = b.run(BOB, &["sync"]).ok();
    assert_eq!(action(&merged), "merged");
    assert_eq!(lost_ids(&merged), vec!["J-1"], "{merged}");
    assert_eq!(merged["lost"][0]["holder"], ALICE, "{merged}");
    assert_eq!(net.claims()["J-1"].owner, ALICE);
    // The winner's view does not change when it syncs again.
    let a_after = a.run(ALICE, &["sync"]).ok();
    assert!(lost_ids(&a_after).is_empty(), "{a_after}");
    assert_eq!(a.claims()["J-1"].owner, ALICE);
}

#[test]
fn claims_verify_fences_the_loser_of_a_sync_merge() {
    // Both clones hold J-1 at generation 1; the remote keeps alice's. A
    // holding is owner and generation together: bob's is fenced although
    // the generation is the same.
    let (_net, a, b) = two_clones();
    a.run(ALICE, &["claims", "claim", "J-1"]).ok();
    b.run(BOB, &["claims", "claim", "J-1"]).ok();
    b.run(BOB, &["claims", "verify", "J-1", "--generation", "1"]).ok();
    a.run(ALICE, &["sync"]).ok();
    b.run(BOB, &["sync"]).ok();
    let fenced = b.run(BOB, &["claims", "verify", "J-1", "--generation", "1"]);
    assert_eq!(fenced.code, 1, "{}", fenced.describe());
    assert_eq!(fenced.json()["error"]["code"], "claim_moved");
    assert!(
        fenced.stderr.contains(ALICE),
        "the holder is named: {}",
        fenced.describe()
    );
    b.run(ALICE, &["claims", "verify", "J-1", "--generation", "1"]).ok();
}

#[test]
fn claim_with_sync_is_refused_when_the_remote_already_holds_it() {
    let (net, a, b) = two_clones();
    let won = a.run(ALICE, &["claims", "claim", "S-1", "--sync"]).ok();
    assert_eq!(won["claim"]["owner"], ALICE);
    assert_eq!(net.claims()["S-1"].owner, ALICE, "published right away");

    let before = b.tip();
    let refused = b.run(BOB, &["claims", "claim", "S-1", "--sync"]);
    let e = refused.err(1, "claim_held");
    assert!(e["message"].as_str().unwrap().contains(ALICE), "holder named: {e}");
    assert_ne!(b.tip(), before, "B took in the remote state");
    assert_eq!(b.tip(), net.tip());
    assert_eq!(b.claims()["S-1"].owner, ALICE);
    assert_eq!(net.claims()["S-1"].owner, ALICE);
}

/// The race `--sync` exists for: another machine publishes the same claim
/// after our pre-claim sync and before our push. A client-side pre-push hook
/// in B makes A publish exactly then (once), so B's first push is rejected,
/// B merges, and the claim is reported lost.
#[test]
fn claim_with_sync_loses_a_race_published_in_between() {
    let (net, a, b) = two_clones();
    a.run(ALICE, &["claims", "claim", "R-1"]).ok(); // local only, for now
    let marker = net.root.path().join("raced");
    b.hook(
        "pre-push",
        &format!(
            "#!/bin/sh\ncat >/dev/null\nif [ ! -e {m} ]; then\n  : > {m}\n  \
             unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE\n  \
             git -C {a} push -q origin refs/baton/state:refs/baton/state >&2 || exit 1\nfi\nexit 0\n",
            m = sh_quote(&marker),
            a = sh_quote(&a.dir),
        ),
    );
    let lost = b.run(BOB, &["claims", "claim", "R-1", "--sync"]);
    assert!(marker.exists(), "the race was not staged: {}", lost.describe());
    let e = lost.err(1, "claim_lost");
    assert_eq!(
        e["message"],
        "R-1 is now held by agent:alice; your claim was not published",
        "{}",
        lost.describe()
    );
    assert_eq!(net.claims()["R-1"].owner, ALICE);
    assert_eq!(b.claims()["R-1"].owner, ALICE);
    assert_eq!(b.tip(), net.tip(), "the merge itself was published");
    // A sees nothing lost.
    let a_sync = a.run(ALICE, &["sync"]).ok();
    assert!(lost_ids(&a_sync).is_empty(), "{a_sync}");
    assert_eq!(a.tip(), net.tip());
}

// 3. Concurrent syncing converges.
#[test]
fn clones_syncing_concurrently_converge() {
    const ROUNDS: usize = 8;
    let (net, a, b) = two_clones();
    let contested: BTreeSet<String> = (0..ROUNDS).map(|i| format!("C-{i}")).collect();

    let work = |clone: &Clone, side: &str, actor: &str| -> (Vec<String>, Vec<String>) {
        let mut mine = Vec::new();
        let mut lost = Vec::new();
        for i in 0..ROUNDS {
            let id = format!("{side}-{i}");
            clone.run(actor, &["claims", "claim", &id]).ok();
            mine.push(id);
            // The contested one may already be held by the other side (after a merge).
            let c = clone.run(actor, &["claims", "claim", &format!("C-{i}")]);
            if c.code != 0 {
                c.err(1, "claim_held");
            }
            let s = clone.run(actor, &["sync"]);
            match s.code {
                0 => lost.extend(lost_ids(&s.json())),
                // Could not publish in its rounds: allowed under contention, never exit 3.
                1 => {
                    s.err(1, "not_published");
                }
                _ => panic!("sync failed: {}", s.describe()),
            }
        }
        (mine, lost)
    };
    let ((mine_a, lost_a), (mine_b, lost_b)) = std::thread::scope(|scope| {
        let ta = scope.spawn(|| work(&a, "A", ALICE));
        let tb = scope.spawn(|| work(&b, "B", BOB));
        (ta.join().unwrap(), tb.join().unwrap())
    });

    for (c, actor) in [(&a, ALICE), (&b, BOB), (&a, ALICE)] {
        let s = c.run(actor, &["sync"]).ok();
        for id in lost_ids(&s) {
            assert!(contested.contains(&id), "lost a distinct claim {id}: {s}");
        }
    }
    for id in lost_a.iter().chain(&lost_b) {
        assert!(contested.contains(id), "lost a distinct claim {id}");
    }
    assert_eq!(a.tip(), b.tip(), "tips differ after a final sync on each");
    assert_eq!(a.tip(), net.tip());
    let claims = a.claims();
    for id in mine_a.iter().chain(&mine_b) {
        let c = claims.get(id).unwrap_or_else(|| panic!("claim {id} was lost"));
        let owner = if id.starts_with('A') { ALICE } else { BOB };
        assert_eq!(c.owner, owner, "{id}");
        assert_eq!(c.state, "active", "{id}");
    }
    for id in &contested {
        let c = claims.get(id).unwrap_or_else(|| panic!("contested {id} vanished"));
        assert_eq!(c.state, "active");
        assert!(c.owner == ALICE || c.owner == BOB, "{id}: {c:?}");
        assert_eq!(c.generation, 1, "{id} was claimed exactly once: {c:?}");
    }
    assert_eq!(claims.len(), 3 * ROUNDS);
    // Both sides agree on every holder, and the state is sound.
    assert_eq!(b.claims(), claims);
    for (c, actor) in [(&a, ALICE), (&b, BOB)] {
        let doctor = c.run(actor, &["doctor", "claims"]);
        assert_eq!(doctor.ok()["ok"], true, "{}", doctor.describe());
    }
}

/// A local writer racing `baton sync` in the same clone: sync goes round
/// again instead of losing the write.
#[test]
fn local_writes_racing_sync_in_the_same_clone_are_kept() {
    const WRITES: usize = 12;
    let (net, a, b) = two_clones();
    b.run(BOB, &["claims", "claim", "B-0"]).ok();
    b.run(BOB, &["sync"]).ok();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..WRITES {
                a.run(ALICE, &["claims", "claim", &format!("W-{i}")]).ok();
            }
        });
        scope.spawn(|| {
            for i in 0..4 {
                let s = a.run(ALICE, &["sync"]);
                assert!(s.code == 0 || s.code == 1, "{}", s.describe());
                b.run(BOB, &["claims", "claim", &format!("B-{}", i + 1)]).ok();
                b.run(BOB, &["sync"]).ok();
            }
        });
    });
    a.run(ALICE, &["sync"]).ok();
    b.run(BOB, &["sync"]).ok();
    a.run(ALICE, &["sync"]).ok();
    assert_eq!(a.tip(), net.tip());
    assert_eq!(b.tip(), net.tip());
    let claims = net.claims();
    for i in 0..WRITES {
        assert_eq!(claims[&format!("W-{i}")].owner, ALICE, "W-{i}");
    }
    for i in 0..5 {
        assert_eq!(claims[&format!("B-{i}")].owner, BOB, "B-{i}");
    }
}

// 4. A remote hook that refuses pushes.
fn reject_first_push_hook(net: &Net) -> std::path::PathBuf {
    let marker = net.root.path().join("first-push-refused");
    net.hook(
        "pre-receive",
        &format!(
            "#!/bin/sh\ncat >/dev/null\nif [ ! -e {m} ]; then\n  : > {m}\n  \
             echo 'busy, try again' >&2\n  exit 1\nfi\nexit 0\n",
            m = sh_quote(&marker)
        ),
    );
    marker
}

#[test]
fn a_push_refused_once_by_a_hook_is_retried_or_clearly_reported() {
    let (net, a, _b) = two_clones();
    a.run(ALICE, &["claims", "claim", "H-1"]).ok();
    let local = a.tip();
    let remote_before = net.tip();
    let marker = reject_first_push_hook(&net);

    let s = a.run(ALICE, &["sync"]);
    assert!(marker.exists(), "the hook never ran: {}", s.describe());
    assert_eq!(a.tip(), local, "local state is intact either way");
    assert!(a.claims().contains_key("H-1"));
    match s.code {
        0 => {
            let v = s.json();
            assert_eq!(action(&v), "pushed", "{v}");
            assert!(v["rounds"].as_u64().unwrap() >= 2, "retried: {v}");
            assert_eq!(net.tip(), local, "published after the retry");
            assert_eq!(net.claims()["H-1"].owner, ALICE);
        }
        _ => {
            s.err(1, "not_published");
            assert_eq!(net.tip(), remote_before);
        }
    }
}

#[test]
fn a_hook_that_always_refuses_fails_with_exit_1_and_keeps_local_state() {
    let (net, a, b) = two_clones();
    net.hook(
        "pre-receive",
        "#!/bin/sh\ncat >/dev/null\necho 'pushes are closed' >&2\nexit 1\n",
    );
    a.run(ALICE, &["claims", "claim", "K-1"]).ok();
    let local = a.tip();
    let remote = net.tip();

    let text = a.run_text(ALICE, &["sync"]);
    assert_eq!(text.code, 1, "{}", text.describe());
    assert!(text.stderr.contains("error: "), "{}", text.describe());
    assert!(text.stderr.contains("hint: "), "{}", text.describe());
    let e = a.run(ALICE, &["sync"]).err(1, "not_published");
    assert!(e["hint"].as_str().unwrap().contains("local state is intact"), "{e}");
    assert_eq!(a.tip(), local, "local ref unchanged");
    assert_eq!(net.tip(), remote, "remote unchanged");
    assert_eq!(a.claims()["K-1"].owner, ALICE);

    // Diverged: the merge is kept locally (both sides' claims), nothing published.
    b.run(BOB, &["claims", "claim", "K-2"]).ok();
    // Let A's claim reach the remote by lifting the hook for one push.
    net.remove_hook("pre-receive");
    a.run(ALICE, &["sync"]).ok();
    net.hook("pre-receive", "#!/bin/sh\ncat >/dev/null\nexit 1\n");
    let remote = net.tip();
    b.run(BOB, &["sync"]).err(1, "not_published");
    assert_eq!(net.tip(), remote);
    let b_claims = b.claims();
    assert_eq!(b_claims["K-2"].owner, BOB, "local claim kept");
    assert_eq!(b_claims["K-1"].owner, ALICE, "merged remote claim");

    // Once the remote accepts again, the same state goes out.
    net.remove_hook("pre-receive");
    let s = b.run(BOB, &["sync"]).ok();
    assert_eq!(action(&s), "pushed", "the merge was already made: {s}");
    assert_eq!(net.claims()["K-2"].owner, BOB);
}

// 5. Unreachable remotes.
#[test]
fn an_unreachable_remote_exits_3_and_leaves_local_state_alone() {
    let (net, a, _b) = two_clones();
    a.run(ALICE, &["claims", "claim", "U-1"]).ok();
    let local = a.tip();
    let missing = net.root.path().join("no-such-remote.git");
    a.git(&["remote", "set-url", "origin", missing.to_str().unwrap()]);

    let text = a.run_text(ALICE, &["sync"]);
    assert_eq!(text.code, 3, "{}", text.describe());
    assert!(
        text.stderr.lines().any(|l| l.starts_with("hint: ")),
        "{}",
        text.describe()
    );
    a.run(ALICE, &["sync"]).err(3, "remote_unreachable");
    assert_eq!(a.tip(), local, "local ref unchanged");

    // claim --sync cannot see the remote: refused before anything is written.
    a.run(ALICE, &["claims", "claim", "U-2", "--sync"])
        .err(3, "remote_unreachable");
    assert_eq!(a.tip(), local);
    assert!(!a.claims().contains_key("U-2"));

    // Fetch works but push cannot reach its URL: still exit 3, local intact.
    a.git(&["remote", "set-url", "origin", net.bare.to_str().unwrap()]);
    a.git(&["remote", "set-url", "--push", "origin", missing.to_str().unwrap()]);
    a.run(ALICE, &["sync"]).err(3, "remote_unreachable");
    assert_eq!(a.tip(), local);
    assert!(!net.claims().contains_key("U-1"));
}

#[test]
fn a_remote_name_that_does_not_exist_exits_3() {
    let (_net, a, _b) = two_clones();
    let local = a.tip();
    let e = a.run(ALICE, &["sync", "--remote", "nosuch"]).err(3, "no_remote");
    assert!(e["message"].as_str().unwrap().contains("nosuch"), "{e}");
    assert_eq!(a.tip(), local);
    // sync.remote naming a remote git does not have: the same refusal.
    a.run(ALICE, &["config", "set", "sync.remote", "upstream"]).ok();
    let local = a.tip();
    a.run(ALICE, &["sync"]).err(3, "no_remote");
    assert_eq!(a.tip(), local);
}

// 6. Fresh clones.
#[test]
fn a_fresh_clone_is_told_to_sync_and_sync_adopts_the_remote_state() {
    let net = Net::new();
    let a = net.joined("a");
    a.run(ALICE, &["claims", "claim", "F-1", "--sync"]).ok();

    let fresh = net.clone("fresh");
    assert_eq!(fresh.tip(), None);
    let refused = fresh.run_text(BOB, &["claims", "list"]);
    assert_eq!(refused.code, 3, "{}", refused.describe());
    let hint = refused
        .stderr
        .lines()
        .find(|l| l.starts_with("hint: "))
        .unwrap_or_else(|| panic!("no hint: {}", refused.describe()));
    assert!(hint.contains("baton sync"), "{hint}");
    fresh.run(BOB, &["claims", "list"]).err(3, "no_state");

    let adopted = fresh.run(BOB, &["sync"]).ok();
    assert_eq!(action(&adopted), "adopted", "{adopted}");
    assert_eq!(fresh.tip(), net.tip());
    assert_eq!(fresh.listed(), vec!["F-1"]);
}

#[test]
fn init_in_a_clone_whose_remote_has_state_adopts_it() {
    let net = Net::new();
    let a = net.joined("a");
    a.run(ALICE, &["claims", "claim", "I-1", "--sync"]).ok();

    let c = net.clone("c");
    let init = c.run(BOB, &["init"]).ok();
    assert_eq!(init["adopted"], true, "{init}");
    assert_eq!(init["created"], false, "{init}");
    assert_eq!(init["commit"].as_str(), net.tip().as_deref());
    assert_eq!(c.tip(), net.tip(), "one history, not two");
    assert_eq!(c.listed(), vec!["I-1"]);
    assert!(
        c.git(&["config", "--get-all", "remote.origin.fetch"])
            .contains("+refs/baton/*:refs/remotes/origin/baton/*"),
        "init adds the refspec"
    );
    // Running it again changes nothing.
    let again = c.run(BOB, &["init"]).ok();
    assert_eq!(again["created"], false);
    assert_eq!(c.tip(), net.tip());
}

/// Two machines that ran `baton init` before ever syncing have unrelated
/// histories: sync merges them from an empty base and keeps both sides.
#[test]
fn unrelated_histories_merge_from_an_empty_base() {
    let net = Net::new();
    let a = net.clone("a");
    let b = net.clone("b");
    a.run(ALICE, &["init"]).ok();
    b.run(BOB, &["init"]).ok();
    a.run(ALICE, &["claims", "claim", "X-1"]).ok();
    b.run(BOB, &["claims", "claim", "Y-1"]).ok();
    b.run(BOB, &["claims", "claim", "X-1"]).ok();
    assert_eq!(action(&a.run(ALICE, &["sync"]).ok()), "pushed");
    let merged = b.run(BOB, &["sync"]).ok();
    assert_eq!(action(&merged), "merged", "{merged}");
    assert_eq!(lost_ids(&merged), vec!["X-1"]);
    assert_eq!(action(&a.run(ALICE, &["sync"]).ok()), "fast_forward");
    assert_eq!(a.tip(), b.tip());
    let claims = net.claims();
    assert_eq!(claims["X-1"].owner, ALICE);
    assert_eq!(claims["Y-1"].owner, BOB);
    assert!(files_at(&net.bare, STATE_REF, "config.toml").contains_key("config.toml"));
}

// 7. sync.auto publishes plain writes.
#[test]
fn sync_auto_publishes_a_plain_claim_immediately() {
    let (net, a, b) = two_clones();
    let set = a.run(ALICE, &["config", "set", "sync.auto", "true"]).ok();
    assert_eq!(net.tip(), a.tip(), "the config change itself was published: {set}");

    let out = a.run(ALICE, &["claims", "claim", "P-1"]).ok();
    assert_eq!(out["sync"]["action"], "pushed", "{out}");
    assert_eq!(net.tip(), a.tip());
    let remote = files_at(&net.bare, STATE_REF, "claims");
    assert!(remote.contains_key(&claim_path("P-1")), "{remote:?}");
    assert_eq!(net.claims()["P-1"].owner, ALICE);

    // The policy is shared: B, once synced, publishes its plain writes too.
    b.run(BOB, &["sync"]).ok();
    let out = b.run(BOB, &["claims", "claim", "P-2"]).ok();
    assert_eq!(out["sync"]["action"], "pushed", "{out}");
    assert_eq!(net.claims()["P-2"].owner, BOB);
    // And a contested plain claim is refused across machines.
    let refused = b.run(BOB, &["claims", "claim", "P-1"]);
    let e = refused.err(1, "claim_held");
    assert!(e["message"].as_str().unwrap().contains(ALICE), "{e}");
}

// 8. doctor sync.
fn findings(doc: &Value) -> BTreeMap<String, (String, String)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_owned(),
                (
                    f["severity"].as_str().unwrap().to_owned(),
                    f["message"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

#[test]
fn doctor_sync_warns_about_unpublished_claims_until_synced() {
    let (_net, a, _b) = two_clones();
    let clean = findings(&a.run(ALICE, &["doctor", "sync"]).ok());
    assert!(
        clean.values().all(|(sev, _)| sev == "ok"),
        "in step after joining: {clean:?}"
    );

    a.run(ALICE, &["claims", "claim", "D-1"]).ok();
    a.run(ALICE, &["claims", "claim", "D-2"]).ok();
    let before = a.run(ALICE, &["doctor", "sync"]).ok();
    let f = findings(&before);
    assert_eq!(f["sync.standing"].0, "warn", "{before}");
    assert!(f["sync.standing"].1.contains("2 operation(s)"), "{before}");
    assert_eq!(f["sync.unpublished"].0, "warn", "{before}");
    assert!(f["sync.unpublished"].1.contains("D-1"), "{before}");
    assert!(f["sync.unpublished"].1.contains("D-2"), "{before}");
    assert_eq!(a.run(ALICE, &["doctor", "sync", "--strict"]).code, 1);

    a.run(ALICE, &["sync"]).ok();
    let after = a.run(ALICE, &["doctor", "sync", "--strict"]).ok();
    let f = findings(&after);
    assert!(f.values().all(|(sev, _)| sev == "ok"), "{after}");
    assert!(!f.contains_key("sync.unpublished"), "{after}");
}

/// A clone that joined with `baton sync` (no fetch refspec): after it
/// publishes, doctor must not call the published claims unpublished.
#[test]
fn doctor_sync_after_publishing_from_a_clone_without_the_refspec() {
    let net = Net::new();
    let a = net.joined("a");
    let c = net.clone("c");
    assert_eq!(action(&c.run(BOB, &["sync"]).ok()), "adopted");
    c.run(BOB, &["claims", "claim", "N-1"]).ok();
    let f = findings(&c.run(BOB, &["doctor", "sync"]).ok());
    assert_eq!(f["sync.unpublished"].0, "warn", "{f:?}");
    assert_eq!(action(&c.run(BOB, &["sync"]).ok()), "pushed");
    assert_eq!(net.claims()["N-1"].owner, BOB);

    let doc = c.run(BOB, &["doctor", "sync"]).ok();
    let f = findings(&doc);
    assert_eq!(f["sync.standing"].0, "ok", "published, so in step: {doc}");
    assert!(!f.contains_key("sync.unpublished"), "{doc}");
    assert_eq!(f["sync.refspec"].0, "warn", "the missing refspec is still reported");
    drop(a);
}

/// A delivery that publishes (`--sync`, `sync.auto`): the claim reaches the
/// remote before any step runs, and a remote holder refuses it first.
#[test]
fn a_published_delivery_claims_on_the_remote_before_any_step_runs() {
    let (net, a, b) = two_clones();
    for clone in [&a, &b] {
        let dir = clone.dir.join(".baton/workflows");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("mark.toml"),
            "name = \"mark\"\n[[steps]]\nid = \"touch\"\nrun = [\"sh\", \"-c\", \"touch ran\"]\n",
        )
        .unwrap();
    }
    a.run(ALICE, &["claims", "claim", "S-1", "--sync"]).ok();
    let args = [
        "delivery",
        "start",
        "--issue",
        "S-1",
        "--workflow",
        "mark",
        "--sync",
        "--execute",
    ];
    let refused = b.run(BOB, &args);
    assert_eq!(refused.code, 1, "{}", refused.describe());
    assert!(
        refused.stderr.contains(ALICE),
        "the remote holder is named: {}",
        refused.describe()
    );
    assert!(
        !b.dir.join("ran").exists(),
        "a step ran although the claim was held elsewhere"
    );

    // Under sync.auto the delivery publishes its claim, then runs, then publishes the end.
    b.run(BOB, &["config", "set", "sync.auto", "true"]).ok();
    let done = b.run(
        BOB,
        &["delivery", "start", "--issue", "S-2", "--workflow", "mark", "--execute"],
    );
    assert_eq!(done.ok()["delivery"]["phase"], "closed", "{}", done.describe());
    assert!(b.dir.join("ran").exists());
    assert_eq!(net.claims()["S-2"].state, "completed", "the end reached the remote");
}
