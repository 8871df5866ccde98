//! The read index against a full read on random histories: after any
//! sequence of writes (claims, run and delivery ledgers, files that do not
//! parse, deletions) on two clones, syncs between them (merges), deleted
//! and corrupted index files, every answer through the index is the one a
//! full read of the state gives: the same records in the same order, the
//! same rows, the same errors.

use crate::testing::git;

use proptest::prelude::*;

use super::{rows, strict_rows, with_claim_rows, Claims, Collection, Deliveries, Runs};
use crate::claims::{self, Claim, ClaimState, Row, RowRef};
use crate::delivery::{self, Delivery};
use crate::error::Result;
use crate::ops::{repo, sync, Session};
use crate::state;
use crate::store::{Change, Message, Update};
use crate::workflow::ledger::{self, Run};
use crate::workflow::summary::Summary;

#[derive(Debug, Clone)]
enum Write {
    /// A claim file as baton writes it.
    Claim {
        state: u8,
        owner: u8,
        agent: bool,
        to: bool,
    },
    /// A claim file that does not parse.
    Garbage,
    /// A claim written by a newer baton.
    Newer,
    Run {
        status: u8,
        steps: u8,
    },
    Delivery {
        phase: u8,
    },
    Delete,
}

#[derive(Debug, Clone)]
enum Op {
    Write {
        side: u8,
        id: u8,
        what: Write,
    },
    /// Both sides sync through the remote: a merge when both wrote.
    Sync,
    DeleteIndex(u8),
    /// Cut the claims index short, flip one of its bytes, or overwrite it.
    CorruptIndex {
        side: u8,
        how: u8,
        at: u16,
    },
    Check(u8),
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        6 => (0..6u8, 0..3u8, any::<bool>(), any::<bool>())
            .prop_map(|(state, owner, agent, to)| Write::Claim { state, owner, agent, to }),
        1 => Just(Write::Garbage),
        1 => Just(Write::Newer),
        2 => (0..5u8, 0..4u8).prop_map(|(status, steps)| Write::Run { status, steps }),
        2 => (0..3u8).prop_map(|phase| Write::Delivery { phase }),
        2 => Just(Write::Delete),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..2u8, 0..12u8, write()).prop_map(|(side, id, what)| Op::Write { side, id, what }),
        2 => Just(Op::Sync),
        1 => (0..2u8).prop_map(Op::DeleteIndex),
        1 => (0..2u8, 0..3u8, any::<u16>()).prop_map(|(side, how, at)| Op::CorruptIndex { side, how, at }),
        4 => (0..2u8).prop_map(Op::Check),
    ]
}

fn claim_file(id: u8, what: &Write) -> (String, Option<Vec<u8>>) {
    let cid = crate::ids::ClaimId::parse(&format!("T-{id}")).unwrap();
    let path = claims::path(&cid);
    let bytes = match what {
        Write::Claim {
            state,
            owner,
            agent,
            to,
        } => {
            let state = claims::ClaimState::ALL[usize::from(*state)];
            let mut text = format!("schema = 1\nid = \"T-{id}\"\nstate = \"{state}\"\nowner = \"human:o{owner}\"\n");
            if *agent {
                text.push_str("agent = \"rev-1\"\nrole = \"rev\"\n");
            }
            text.push_str(
                "generation = 3\ncreated_at = \"2026-01-01T00:00:00Z\"\nupdated_at = \"2026-01-02T00:00:00Z\"\n",
            );
            if *to {
                text.push_str("handoff_to = \"agent:x\"\nnote = \"a \\\"quoted\\\"\\nline\"\n");
            }
            Some(text.into_bytes())
        }
        Write::Garbage => Some(b"schema = 1\nid = [".to_vec()),
        Write::Newer => Some(format!("schema = 9\nid = \"T-{id}\"\n").into_bytes()),
        Write::Delete => None,
        _ => unreachable!("not a claim write"),
    };
    (path, bytes)
}

fn ledger_file(id: u8, what: &Write) -> (String, Vec<u8>) {
    let run_id = |prefix: &str| {
        crate::ids::RunId::parse(&format!("{prefix}-2026010{}T000000Z-00000{id:x}", id % 3 + 1)).unwrap()
    };
    match what {
        Write::Run { status, steps } => {
            let id = run_id("wf");
            let status = ["running", "succeeded", "failed", "stopped", "interrupted"][usize::from(*status)];
            let steps: Vec<_> = (0..*steps)
                .map(|n| {
                    let step = ["pending", "succeeded", "failed", "skipped"][usize::from(n % 4)];
                    serde_json::json!({"id": format!("s{n}"), "status": step})
                })
                .collect();
            let run = serde_json::json!({"schema": 1, "id": id, "workflow": "w", "definition": {"path": "w.toml", "blob": "0"},
                "status": status, "host": "h", "pid": 1, "actor": "human:a", "started_at": "2026-01-01T00:00:00Z", "steps": steps});
            (ledger::path(&id), serde_json::to_vec_pretty(&run).unwrap())
        }
        Write::Delivery { phase } => {
            let id = run_id("dl");
            let phase = ["claimed", "running", "failed"][usize::from(*phase)];
            let d = serde_json::json!({"schema": 1, "id": id, "issue": "T-1", "workflow": "w", "phase": phase, "owner": "human:a",
                "generation": 1, "started_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
                "phases": [{"phase": phase, "at": "2026-01-01T00:00:00Z"}], "later": {"x": 1.5}});
            (delivery::path(&id), serde_json::to_vec_pretty(&d).unwrap())
        }
        _ => unreachable!("not a ledger write"),
    }
}

fn apply_write(s: &Session, id: u8, what: &Write) {
    let mut change = Change::new(Message::new("test: write"));
    match what {
        Write::Run { .. } | Write::Delivery { .. } => {
            let (path, bytes) = ledger_file(id, what);
            change.put(path, bytes);
        }
        _ => match claim_file(id, what) {
            (path, Some(bytes)) => {
                change.put(path, bytes);
            }
            (path, None) => {
                change.delete(path);
            }
        },
    }
    let _ = s.store.update("human:test", |_| {
        let missing = change.is_empty();
        Ok(if missing {
            Update::Unchanged(())
        } else {
            Update::Write(change.clone(), ())
        })
    });
}

type Answer<R> = Vec<(String, std::result::Result<R, (crate::error::Code, String)>)>;

fn answer<R>(rows: Vec<(String, Result<R>)>) -> Answer<R> {
    rows.into_iter()
        .map(|(p, r)| (p, r.map_err(|e| (e.code, e.message().into_owned()))))
        .collect()
}

/// What a full read of every record gives, as rows.
fn full<T, R>(loaded: state::Loaded<T>, row: impl Fn(&T) -> R) -> Answer<R> {
    let (ok, broken) = loaded;
    let mut out: Answer<R> = ok.iter().map(|(p, v)| (p.clone(), Ok(row(v)))).collect();
    out.extend(
        broken
            .into_iter()
            .map(|b| (b.path, Err((b.error.code, b.error.message().into_owned())))),
    );
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Claims read in tree order, in the order the index keeps them: natural
/// id order (the sort is stable: equal ids stay in tree order, as the
/// index breaks ties by path).
fn in_listing_order(mut all: Vec<Claim>) -> Vec<Claim> {
    all.sort_by(|a, b| claims::natural_cmp(a.id.as_str(), b.id.as_str()));
    all
}

/// A claim row's fields as text, to compare borrowed rows with owned ones.
type Fields = (
    String,
    ClaimState,
    String,
    Option<String>,
    Option<String>,
    u64,
    String,
    String,
);

fn fields(r: &RowRef<'_>) -> Fields {
    (
        r.id.to_owned(),
        r.state,
        r.owner.to_owned(),
        r.agent.map(str::to_owned),
        r.handoff_to.map(str::to_owned),
        r.generation,
        r.updated_at.to_rfc3339(),
        r.json.to_owned(),
    )
}

/// The rows `claims list` borrows: those of the strict full read, or its error.
fn check_borrowed(s: &Session, snap: &crate::store::Snapshot<'_>) {
    let borrowed = with_claim_rows(
        &s.store,
        snap,
        |_| true,
        |rows| rows.iter().map(fields).collect::<Vec<_>>(),
    );
    let full_strict = state::all_claims(snap).map(|c| {
        in_listing_order(c)
            .iter()
            .map(|c| {
                let r = Row::of(c);
                (
                    r.id.to_string(),
                    r.state,
                    r.owner.to_string(),
                    r.agent.as_ref().map(ToString::to_string),
                    r.handoff_to.as_ref().map(ToString::to_string),
                    r.generation,
                    r.updated_at.to_rfc3339(),
                    r.json,
                )
            })
            .collect::<Vec<_>>()
    });
    assert_eq!(
        borrowed.map_err(|e| e.message().into_owned()),
        full_strict.map_err(|e| e.message().into_owned())
    );
}

fn check(s: &Session) {
    let snap = s.store.snapshot().unwrap();
    // First, while the index may be another tree's, missing or corrupt.
    check_borrowed(s, &snap);
    let claims_full = full(
        state::load_all::<Claim>(&snap, claims::DIR, |c| c.schema).unwrap(),
        Row::of,
    );
    assert_eq!(answer(rows::<Claims>(&s.store, &snap).unwrap()), claims_full);
    let runs_full = full(
        state::load_all_json::<Run>(&snap, ledger::DIR, |r| r.schema).unwrap(),
        Summary::of,
    );
    assert_eq!(answer(rows::<Runs>(&s.store, &snap).unwrap()), runs_full);
    let deliveries_full = full(
        state::load_all_json::<Delivery>(&snap, delivery::DIR, |d| d.schema).unwrap(),
        delivery::row::Row::of,
    );
    assert_eq!(answer(rows::<Deliveries>(&s.store, &snap).unwrap()), deliveries_full);
    // The strict answer refuses exactly as the strict full read does.
    let strict = strict_rows::<Claims>(&s.store, &snap).map_err(|e| e.message().into_owned());
    let full_strict = state::all_claims(&snap).map(|c| in_listing_order(c).iter().map(Row::of).collect::<Vec<_>>());
    assert_eq!(strict, full_strict.map_err(|e| e.message().into_owned()));
    // Asked again, the answer comes from the index as written.
    assert_eq!(answer(rows::<Claims>(&s.store, &snap).unwrap()), claims_full);
    check_borrowed(s, &snap);
}

fn corrupt(s: &Session, how: u8, at: u16) {
    crate::testing::damage(&super::file::<Claims>(&s.store), how, at, 0x20, b"not an index");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]
    #[test]
    fn the_index_answers_as_a_full_read(ops in prop::collection::vec(op(), 1..28)) {
        let root = tempfile::tempdir().unwrap();
        let bare = root.path().join("remote.git");
        git(root.path(), &["init", "-q", "--bare", bare.to_str().unwrap()]);
        let mut sides = Vec::new();
        for name in ["a", "b"] {
            let dir = root.path().join(name);
            std::fs::create_dir_all(&dir).unwrap();
            git(&dir, &["init", "-q"]);
            git(&dir, &["config", "user.email", "t@example.com"]);
            git(&dir, &["config", "user.name", "t"]);
            git(&dir, &["remote", "add", "origin", bare.to_str().unwrap()]);
            let s = Session::open(Some(&dir), Some("human:test")).unwrap();
            repo::init(&s, &repo::InitArgs::default()).unwrap();
            if name == "a" {
                sync::run(&s, None).unwrap();
            }
            sides.push(s);
        }
        for op in &ops {
            match op {
                Op::Write { side, id, what } => apply_write(&sides[usize::from(*side)], *id, what),
                Op::Sync => {
                    for s in &sides {
                        // Refused while a file does not parse: the states then stay apart.
                        let _ = sync::run(s, None);
                    }
                }
                Op::DeleteIndex(side) => {
                    let _ = std::fs::remove_dir_all(super::dir(&sides[usize::from(*side)].store));
                }
                Op::CorruptIndex { side, how, at } => corrupt(&sides[usize::from(*side)], *how, *at),
                Op::Check(side) => check(&sides[usize::from(*side)]),
            }
        }
        for s in &sides {
            check(s);
        }
    }
}

#[test]
fn an_index_of_another_tree_is_brought_up_to_date_not_rebuilt() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("r");
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q"]);
    let s = Session::open(Some(&dir), Some("human:test")).unwrap();
    repo::init(&s, &repo::InitArgs::default()).unwrap();
    for id in 0..3 {
        apply_write(
            &s,
            id,
            &Write::Claim {
                state: 0,
                owner: 0,
                agent: false,
                to: false,
            },
        );
    }
    let snap = s.store.snapshot().unwrap();
    assert_eq!(strict_rows::<Claims>(&s.store, &snap).unwrap().len(), 3);
    // A row only the index has: kept while its file did not change, so
    // the next answer came from the index and the diff, not a rebuild.
    let path = super::file::<Claims>(&s.store);
    let (key, mut items) = super::read::<Claims>(&path).unwrap();
    items[0].row.as_mut().unwrap().generation = 99;
    super::write::<Claims>(&s.store, &path, key, &items);
    apply_write(
        &s,
        7,
        &Write::Claim {
            state: 1,
            owner: 1,
            agent: true,
            to: true,
        },
    );
    let snap = s.store.snapshot().unwrap();
    let rows = strict_rows::<Claims>(&s.store, &snap).unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].generation, 99, "the unchanged rows came from the index");
    assert_eq!(Claims::NAME, "claims");
}
