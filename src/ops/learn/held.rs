//! The claims an agent holds, found cheaply for `claims.none`: claims are
//! sharded by their id, not by who holds them, so finding an actor's claims
//! means reading every claim file (tens of milliseconds at 10 000 claims).
//! A machine-local index, `.git/baton/learn/held-<sha1 of the actor>`,
//! remembers which claim files the actor held at a state commit; the next
//! call reads only the claim files changed since (the tree diff skips every
//! shard that did not change) and the remembered ones, and always decides
//! from the claim files as they are at the tip.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gix::ObjectId;

use crate::claims::{self, Claim};
use crate::error::Result;
use crate::ids::Actor;
use crate::learn::judge::Lease;
use crate::store::{Snapshot, Store};

/// The leases of the held ones among `claims`, as the judge's `claims.none`
/// sees them.
pub fn leases(claims: &[Claim]) -> impl Iterator<Item = Lease<'_>> {
    claims.iter().filter(|c| c.state.is_held()).map(|c| Lease {
        id: &c.id,
        holder: &c.owner,
        until: c.lease_until,
    })
}

/// What the index remembers: the commit, and the claim files held then.
struct Index {
    commit: ObjectId,
    paths: BTreeSet<String>,
}

fn index_path(dir: &Path, actor: &Actor) -> PathBuf {
    let digest = crate::codec::sha1_hex(&actor.to_string());
    dir.join(format!("held-{digest}"))
}

/// Written by this version of baton only: another may read claims differently.
fn read_index(path: &Path) -> Option<Index> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let (commit, version) = lines.next()?.split_once(' ')?;
    if version != env!("CARGO_PKG_VERSION") {
        return None;
    }
    Some(Index {
        commit: ObjectId::from_hex(commit.as_bytes()).ok()?,
        paths: lines.map(str::to_owned).collect(),
    })
}

/// Best effort: without the index, the next call scans all claims again.
fn write_index(path: &Path, index: &Index) {
    let mut text = format!("{} {}\n", index.commit, env!("CARGO_PKG_VERSION"));
    for p in &index.paths {
        text.push_str(p);
        text.push('\n');
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&tmp, text))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// The claim in `bytes` when `actor` holds it. The text is searched for the
/// actor first, so other actors' claims are never parsed; a file that does
/// not parse is no claim (doctor reports it).
fn held_in(path: &str, bytes: &[u8], actor: &Actor, needle: &[u8]) -> Option<Claim> {
    if !bytes.windows(needle.len()).any(|w| w == needle) {
        return None;
    }
    crate::codec::decode_toml::<Claim>(path, bytes)
        .ok()
        .filter(|c| c.is_held_by(actor))
}

/// The claims `actor` holds in `snap` (its tip), using and updating the index in `dir`.
pub fn held_claims(store: &Store, snap: &Snapshot<'_>, dir: &Path, actor: &Actor) -> Result<Vec<Claim>> {
    let needle = format!("\"{actor}\"").into_bytes();
    let Some(tip) = snap.commit() else {
        return Ok(Vec::new());
    };
    let path = index_path(dir, actor);
    let index = read_index(&path);
    let unchanged_since = index.as_ref().map(|i| (i.commit, i.paths.clone()));
    let known = index.and_then(|index| {
        let old = store.tree_of(index.commit).ok()?;
        let changed = store.changed_files(Some(old), snap.tree()).ok()?;
        Some((index.paths, changed))
    });
    let candidates: BTreeSet<String> = match known {
        Some((mut paths, changed)) => {
            let under = format!("{}/", claims::DIR);
            for entry in changed.iter().filter(|e| e.path.starts_with(&under)) {
                let holds = snap
                    .read_blob(entry.id)
                    .ok()
                    .and_then(|b| held_in(&entry.path, &b, actor, &needle))
                    .is_some();
                if holds {
                    paths.insert(entry.path.clone());
                } else {
                    paths.remove(&entry.path);
                }
            }
            paths
        }
        None => snap
            .files_under(claims::DIR)?
            .into_iter()
            .filter(|e| {
                snap.read_blob(e.id)
                    .ok()
                    .and_then(|b| held_in(&e.path, &b, actor, &needle))
                    .is_some()
            })
            .map(|e| e.path)
            .collect(),
    };
    // Decided from the files as they are now (one the index names may be gone).
    let mut held = Vec::new();
    let mut paths = BTreeSet::new();
    for p in candidates {
        if let Some(claim) = snap.read(&p)?.and_then(|b| held_in(&p, &b, actor, &needle)) {
            held.push(claim);
            paths.insert(p);
        }
    }
    if unchanged_since != Some((tip, paths.clone())) {
        write_index(&path, &Index { commit: tip, paths });
    }
    Ok(held)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::ClaimState;
    use crate::ids::ClaimId;
    use crate::learn::judge::ClaimContext;

    #[test]
    fn held_claims_become_leases_and_the_rest_are_left_out() {
        let alice = Actor::parse("agent:alice").unwrap();
        let now = crate::clock::parse_timestamp("2026-01-02T00:00:00Z").unwrap();
        let claim = |id: &str, state: ClaimState, lease: Option<&str>| Claim {
            schema: 1,
            id: ClaimId::parse(id).unwrap(),
            state,
            owner: alice.clone(),
            agent: None,
            role: None,
            generation: 1,
            created_at: now,
            updated_at: now,
            lease_until: lease.map(|t| crate::clock::parse_timestamp(t).unwrap()),
            handoff_to: None,
            handoff_note: None,
            reason: None,
            note: None,
            delivery: None,
            reservations: Vec::new(),
            extra: Default::default(),
        };
        let claims = [
            claim("T-1", ClaimState::Active, Some("2026-01-01T00:00:00Z")),
            claim("T-2", ClaimState::Active, None),
            claim("T-3", ClaimState::Completed, None),
        ];
        let ctx = ClaimContext::from_leases(&alice, leases(&claims), now).unwrap();
        assert_eq!(ctx.live, [ClaimId::parse("T-2").unwrap()]);
        assert_eq!(ctx.lapsed, [ClaimId::parse("T-1").unwrap()]);
        let human = Actor::parse("human:bob").unwrap();
        assert!(ClaimContext::from_leases(&human, leases(&claims), now).is_none());
    }
}
