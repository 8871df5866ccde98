//! The edit hook's and `claims who`'s narrow read ([`covering_index`])
//! against the full one ([`active_index`]) on random states in a real
//! repository: random claims (held or not, leases run out or not) with
//! random patterns, random paths, with the held file missing, written, and
//! corrupted — the same standing (hits, in the same order) every time.

use proptest::prelude::*;

use super::{active_index, covering_index, edit_verdict, edit_verdict_quick, standing};
use crate::claims::reservations::{Mode, Pattern, Reservation};
use crate::claims::{self, Claim, ClaimState};
use crate::ids::Actor;
use crate::ops::{index, repo, Session};
use crate::store::{Change, Message, Update};
use crate::testing::{claim_id, repository};

const SEGMENTS: [&str; 8] = ["a", "b", "ab", "x.md", "*", "a*", "*.md", "**"];
const PATH_SEGMENTS: [&str; 5] = ["a", "b", "ab", "x.md", "c"];

#[derive(Debug, Clone)]
struct Spec {
    state: u8,
    owner: u8,
    /// 0: no lease, 1: run out, 2: running.
    lease: u8,
    patterns: Vec<(Vec<u8>, bool)>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0u8..6,
        0u8..3,
        0u8..3,
        prop::collection::vec((prop::collection::vec(0u8..8, 1..4), any::<bool>()), 0..4),
    )
        .prop_map(|(state, owner, lease, patterns)| Spec {
            state,
            owner,
            lease,
            patterns,
        })
}

fn owner(n: u8) -> Actor {
    Actor::parse(&format!("agent:o{n}")).unwrap()
}

fn write_claims(s: &Session, specs: &[Spec]) {
    let mut change = Change::new(Message::new("test: claims"));
    for (i, spec) in specs.iter().enumerate() {
        let mut reservations: Vec<Reservation> = Vec::new();
        for (segs, shared) in &spec.patterns {
            let raw: Vec<&str> = segs.iter().map(|&k| SEGMENTS[usize::from(k)]).collect();
            let Ok(pattern) = Pattern::parse(&raw.join("/")) else {
                continue;
            };
            if reservations.iter().all(|r| r.pattern != pattern) {
                let mode = if *shared { Mode::Shared } else { Mode::Exclusive };
                reservations.push(Reservation { pattern, mode });
            }
        }
        let hour = chrono::Duration::hours(1);
        let claim = Claim {
            schema: 1,
            id: claim_id(&format!("T-{i}")),
            state: ClaimState::ALL[usize::from(spec.state)],
            owner: owner(spec.owner),
            agent: None,
            role: None,
            generation: 1,
            created_at: s.now,
            updated_at: s.now,
            lease_until: match spec.lease {
                0 => None,
                1 => Some(s.now - hour),
                _ => Some(s.now + hour),
            },
            handoff_to: None,
            handoff_note: None,
            reason: None,
            note: None,
            delivery: None,
            reservations,
            extra: Default::default(),
        };
        change.put_toml(claims::path(&claim.id), &claim).unwrap();
    }
    s.store
        .update("human:test", |_| Ok(Update::Write(change.clone(), ())))
        .unwrap();
}

/// The standing and every path's hits, through the full read and the
/// narrow one: equal, and the narrow one is `None` exactly when nothing
/// is active.
fn same_answers(s: &Session, paths: &[String]) {
    let snap = s.snapshot().unwrap();
    let full = active_index(&s.store, &snap, s.now).unwrap();
    let narrow = covering_index(&s.store, &snap, s.now, paths).unwrap();
    assert_eq!(narrow.is_none(), full.is_empty(), "nothing active, for both");
    let Some(narrow) = narrow else { return };
    for path in paths {
        assert_eq!(narrow.who(path), full.who(path), "who {path}");
    }
    for n in 0..3 {
        let actor = owner(n);
        let (a, b) = (standing(&narrow, &actor, paths), standing(&full, &actor, paths));
        assert_eq!(
            serde_json::to_value(a).unwrap(),
            serde_json::to_value(b).unwrap(),
            "standing of {actor}"
        );
    }
}

/// The edit hook's verdict without opening the repository, when it gives
/// one, is the full path's; after a full read stamped the held file with
/// the tip it does give one (unless git's environment is set; `stamped` is
/// false too when there are no claims, hence no held file).
fn same_verdicts(dir: &std::path::Path, paths: &[String], stamped: bool) {
    let cwd = std::path::absolute(dir).unwrap();
    let typed: Vec<String> = paths
        .iter()
        .map(|p| cwd.join(p).to_string_lossy().into_owned())
        .chain(["../elsewhere/x.rs".to_owned()])
        .collect();
    let plain = !std::env::vars_os().any(|(k, _)| crate::store::quick::moves_the_repository(k.as_encoded_bytes()));
    for n in 0..3 {
        let actor = owner(n).to_string();
        let s = Session::open(Some(dir), Some(&actor)).unwrap();
        let quick = edit_verdict_quick(dir, Some(&actor), &typed);
        assert!(quick.is_some() || !(stamped && plain), "the stamped held file is used");
        let full = serde_json::to_value(edit_verdict(&s, &typed, &cwd).unwrap()).unwrap();
        if let Some(quick) = quick {
            assert_eq!(
                serde_json::to_value(quick.unwrap()).unwrap(),
                full,
                "verdict for {actor}"
            );
        }
    }
}

fn corrupt(s: &Session, how: u8, at: u16) {
    crate::testing::damage(&index::held_file(&s.store), how, at, 0x01, b"baton-reservations-held");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn the_narrow_read_answers_as_the_full_one(
        specs in prop::collection::vec(spec(), 0..12),
        paths in prop::collection::vec(prop::collection::vec(0usize..5, 1..4), 1..4),
        how in 0u8..3,
        at in any::<u16>(),
    ) {
        let root = tempfile::tempdir().unwrap();
        let dir = repository(root.path(), "r");
        let s = Session::open(Some(&dir), Some("human:test")).unwrap();
        repo::init(&s, &repo::InitArgs::default()).unwrap();
        write_claims(&s, &specs);
        let paths: Vec<String> = paths
            .iter()
            .map(|p| p.iter().map(|&k| PATH_SEGMENTS[k]).collect::<Vec<_>>().join("/"))
            .collect();
        // No held file; then the one the full read wrote; then a corrupt one.
        let _ = std::fs::remove_dir_all(index::dir(&s.store));
        same_verdicts(&dir, &paths, false);
        same_answers(&s, &paths);
        same_answers(&s, &paths);
        same_verdicts(&dir, &paths, !specs.is_empty());
        corrupt(&s, how, at);
        same_verdicts(&dir, &paths, false);
        same_answers(&s, &paths);
        same_answers(&s, &paths);
        same_verdicts(&dir, &paths, !specs.is_empty());
    }
}
