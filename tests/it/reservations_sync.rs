//! Reservations across machines (docs/reservations.md, Sync): two clones
//! reserve overlapping paths offline on different claims, then sync; the
//! reservation published first wins and the loser is told.

use crate::sync_support::{self, Clone, Net};
use serde_json::Value;

const ALICE: &str = "agent:alice";
const BOB: &str = "agent:bob";

fn who(c: &Clone, path: &str) -> Vec<String> {
    c.run(BOB, &["claims", "who", path]).ok()["paths"][0]["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h: &Value| format!("{} {}", h["claim"].as_str().unwrap(), h["holder"].as_str().unwrap()))
        .collect()
}

#[test]
fn overlapping_reservations_made_offline_go_to_the_first_publisher() {
    let net = Net::new();
    let (a, b) = (net.joined("a"), net.joined("b"));
    a.run(ALICE, &["claims", "claim", "T-1", "--paths", "src/store/"]).ok();
    b.run(BOB, &["claims", "claim", "T-2", "--paths", "src/store/mod.rs", "docs/"])
        .ok();
    a.run(ALICE, &["sync"]).ok();

    let merged = b.run(BOB, &["sync"]).ok();
    let lost = merged["lost_reservations"].as_array().unwrap();
    assert_eq!(lost.len(), 1, "{merged}");
    assert_eq!(lost[0]["claim"], "T-2");
    assert_eq!(lost[0]["pattern"], "src/store/mod.rs");
    assert_eq!(lost[0]["theirs"], "T-1");
    assert_eq!(lost[0]["holder"], ALICE);
    // Bob keeps his claim and what did not overlap.
    assert_eq!(who(&b, "src/store/mod.rs"), [format!("T-1 {ALICE}")]);
    assert_eq!(who(&b, "docs/a.md"), [format!("T-2 {BOB}")]);
    let text = b.run_text(BOB, &["claims", "status", "T-2"]);
    assert!(text.ok_text().contains("docs"), "{}", text.describe());
    let file = b.git(&[
        "show",
        &format!("{}:{}", sync_support::STATE_REF, sync_support::claim_path("T-2")),
    ]);
    assert!(!file.contains("src/store") && file.contains("docs"), "{file}");
    let msg = b.git(&["log", "-1", "--format=%B", sync_support::STATE_REF]);
    assert!(
        msg.contains("Baton-Subject: claim/T-2") && msg.contains("src/store/mod.rs"),
        "{msg}"
    );

    // Both sides agree once synced again; nothing more is lost.
    let again = a.run(ALICE, &["sync"]).ok();
    assert!(again["lost_reservations"].as_array().unwrap().is_empty(), "{again}");
    assert_eq!(who(&a, "src/store/mod.rs"), [format!("T-1 {ALICE}")]);
    assert_eq!(who(&a, "docs/x"), [format!("T-2 {BOB}")]);
}

#[test]
fn a_claim_with_sync_is_told_its_paths_were_lost() {
    let net = Net::new();
    let (a, b) = (net.joined("a"), net.joined("b"));
    b.run(BOB, &["claims", "claim", "T-2"]).ok();
    a.run(ALICE, &["claims", "claim", "T-1", "--paths", "src/"]).ok();
    a.run(ALICE, &["sync"]).ok();
    // Bob reserves offline (his claim was published; the paths were not).
    b.run(BOB, &["claims", "reserve", "T-2", "--paths", "src/x.rs"]).ok();
    let merged = b.run(BOB, &["sync"]).ok();
    assert_eq!(merged["lost_reservations"][0]["pattern"], "src/x.rs", "{merged}");
    assert!(who(&b, "src/x.rs") == [format!("T-1 {ALICE}")]);
}
