//! Compare-and-swap on the state ref (docs/storage.md) with real processes:
//! racing claimants of one id get exactly one winner; writers of different
//! ids all land, one commit each, nothing lost.

use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::Instant;

use crate::common::{exe, hermetic, Repo};
use serde_json::Value;

const WRITERS: usize = 8;

/// `baton -C <repo> --json claims claim <id>` as `actor`, not yet waited for.
fn spawn_claim(repo: &Repo, actor: &str, id: &str) -> Child {
    let mut cmd = Command::new(exe());
    hermetic(&mut cmd)
        .env("BATON_ACTOR", actor)
        .arg("-C")
        .arg(repo.path())
        .args(["--json", "claims", "claim", id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().expect("spawning baton")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not one JSON document ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn racing_claimants_of_one_id_get_exactly_one_winner() {
    let repo = Repo::new();
    // Start all processes before waiting for any, so they really race.
    let children: Vec<(String, Child)> = (0..WRITERS)
        .map(|i| {
            let actor = format!("agent:racer-{i}");
            let child = spawn_claim(&repo, &actor, "ONE");
            (actor, child)
        })
        .collect();
    let results: Vec<(String, Output)> = children
        .into_iter()
        .map(|(actor, child)| (actor, child.wait_with_output().expect("waiting")))
        .collect();

    let winners: Vec<&String> = results
        .iter()
        .filter(|(_, out)| out.status.code() == Some(0))
        .map(|(actor, _)| actor)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one claimant wins: {:?}",
        results
            .iter()
            .map(|(a, o)| (a, o.status.code(), String::from_utf8_lossy(&o.stderr)))
            .collect::<Vec<_>>()
    );
    let winner = winners[0].clone();
    for (actor, out) in &results {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        let doc = json_of(out);
        if *actor == winner {
            assert_eq!(doc["changed"], true);
            assert_eq!(doc["claim"]["owner"], winner.as_str());
            continue;
        }
        assert_eq!(out.status.code(), Some(1), "{actor}: {stderr}");
        assert_eq!(doc["error"]["code"], "claim_held", "{actor}: {doc}");
        assert!(
            doc["error"]["message"].as_str().unwrap().contains(winner.as_str()),
            "the refusal names the winner: {doc}"
        );
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains("\nhint: "), "{stderr}");
    }

    // One claim commit on top of init; the ref holds the winner.
    assert_eq!(repo.commit_count(), 2);
    let claim = repo.claim("ONE");
    assert_eq!(claim["owner"], winner.as_str());
    assert_eq!(claim["generation"], 1);
    assert!(repo.tip_message().contains("Baton-Generation: 1"));
}

#[test]
fn parallel_writers_of_distinct_ids_all_land_one_commit_each() {
    const PER_WRITER: usize = 25;
    let repo = Repo::new();
    let started = Instant::now();
    let failures: Vec<String> = thread::scope(|s| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let repo = &repo;
                s.spawn(move || {
                    let actor = format!("agent:writer-{w}");
                    let mut failures = Vec::new();
                    // Each writer claims its ids one after the other; the
                    // writers run at the same time.
                    for i in 0..PER_WRITER {
                        let id = format!("W{w}-{i}");
                        let out = spawn_claim(repo, &actor, &id).wait_with_output().expect("waiting");
                        if out.status.code() != Some(0) {
                            failures.push(format!(
                                "{actor} {id}: exit {:?}: {}",
                                out.status.code(),
                                String::from_utf8_lossy(&out.stderr)
                            ));
                        } else if json_of(&out)["changed"] != true {
                            failures.push(format!("{actor} {id}: no commit"));
                        }
                    }
                    failures
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("writer thread"))
            .collect()
    });
    let elapsed = started.elapsed();
    assert!(failures.is_empty(), "failed claims: {failures:#?}");

    let claims = repo.claims();
    assert_eq!(claims.len(), WRITERS * PER_WRITER, "every claim landed");
    for c in &claims {
        let id = c["id"].as_str().unwrap();
        let w = id[1..].split('-').next().unwrap();
        assert_eq!(c["owner"], format!("agent:writer-{w}"), "{c}");
        assert_eq!(c["state"], "active");
        assert_eq!(c["generation"], 1);
    }
    let mut ids: Vec<&str> = claims.iter().map(|c| c["id"].as_str().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len(), WRITERS * PER_WRITER, "no duplicates");

    // One commit per claim on top of init, in one straight line.
    assert_eq!(repo.commit_count(), 1 + WRITERS * PER_WRITER);
    assert_eq!(
        repo.git(&["rev-list", "--merges", "--count", crate::common::STATE_REF]),
        "0"
    );
    // The reflog saw every move.
    let reflog = repo.git(&["reflog", "show", "--format=%H", crate::common::STATE_REF]);
    assert_eq!(reflog.lines().count(), 1 + WRITERS * PER_WRITER);

    repo.git(&["fsck", "--no-progress"]);
    let doctor = repo.run("human:ops", &["doctor"]);
    doctor.ok();
    eprintln!("{} claims by {WRITERS} writers in {elapsed:?}", WRITERS * PER_WRITER);
}

#[test]
fn racing_claimants_of_many_ids_get_one_winner_per_id() {
    // Every writer tries every id, in a different order: contention on both
    // the ref and the claims. Each id must end up with exactly one owner.
    const IDS: usize = 6;
    let repo = Repo::new();
    let wins: Vec<Vec<String>> = thread::scope(|s| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let repo = &repo;
                s.spawn(move || {
                    let actor = format!("agent:racer-{w}");
                    let mut won = Vec::new();
                    for k in 0..IDS {
                        let id = format!("R-{}", (k + w) % IDS);
                        let out = spawn_claim(repo, &actor, &id).wait_with_output().expect("waiting");
                        let doc = json_of(&out);
                        match out.status.code() {
                            Some(0) => won.push(id),
                            Some(1) => assert_eq!(doc["error"]["code"], "claim_held", "{doc}"),
                            other => panic!("{actor} {id}: exit {other:?}: {doc}"),
                        }
                    }
                    won
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("racer thread")).collect()
    });
    let mut all: Vec<String> = wins.iter().flatten().cloned().collect();
    all.sort();
    let expected: Vec<String> = {
        let mut v: Vec<String> = (0..IDS).map(|k| format!("R-{k}")).collect();
        v.sort();
        v
    };
    assert_eq!(all, expected, "each id won exactly once");
    assert_eq!(repo.commit_count(), 1 + IDS);
    for (w, ids) in wins.iter().enumerate() {
        for id in ids {
            assert_eq!(repo.claim(id)["owner"], format!("agent:racer-{w}"));
        }
    }
}
