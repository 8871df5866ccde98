//! Actors a state has seen, and the close matches of one it has not: a
//! handoff to `human:bob` when the state knows `human:bob@example.com` is
//! most likely a typo, and the claim would wait for someone who never comes.

use std::collections::BTreeSet;

use super::Claim;
use crate::ids::Actor;

/// Everyone the claims name (owners and handoff targets) plus `others`
/// (the pool's agents).
pub fn seen<'a>(
    claims: impl IntoIterator<Item = &'a Claim>,
    others: impl IntoIterator<Item = Actor>,
) -> BTreeSet<Actor> {
    let mut out: BTreeSet<Actor> = others.into_iter().collect();
    for c in claims {
        out.insert(c.owner.clone());
        if let Some(to) = &c.handoff_to {
            out.insert(to.clone());
        }
    }
    out
}

/// The seen actors `actor` is probably a slip of: the same name up to an
/// email domain or letter case, the other kind (`human:` / `agent:`), or a
/// name one or two edits away. Closest first.
pub fn close_matches(actor: &Actor, seen: &BTreeSet<Actor>) -> Vec<Actor> {
    let key = |a: &Actor| a.name().split('@').next().unwrap_or("").to_ascii_lowercase();
    let mine = key(actor);
    let within = if mine.chars().count() >= 5 { 2 } else { 1 };
    let mut found: Vec<(usize, bool, &Actor)> = seen
        .iter()
        .filter(|a| *a != actor)
        .filter_map(|a| {
            let distance = edit_distance(&mine, &key(a));
            (distance <= within).then_some((distance, a.kind() != actor.kind(), a))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, _, a)| a.clone()).take(3).collect()
}

/// Levenshtein distance, for short names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actors(list: &[&str]) -> BTreeSet<Actor> {
        list.iter().map(|a| Actor::parse(a).unwrap()).collect()
    }

    #[test]
    fn close_matches_name_the_likely_slip() {
        let seen = actors(&[
            "human:bob@example.com",
            "human:alice",
            "agent:rev-1",
            "agent:bob",
            "human:robert",
        ]);
        let m = |a: &str| -> Vec<String> {
            close_matches(&Actor::parse(a).unwrap(), &seen)
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(m("human:bob"), ["human:bob@example.com", "agent:bob"]);
        assert_eq!(m("human:alcie"), ["human:alice"]);
        assert_eq!(m("agent:rev-2"), ["agent:rev-1"]);
        assert!(m("human:zed").is_empty());
        assert!(m("human:alice").is_empty(), "an actor is no slip of itself");
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(edit_distance("ab", "ab"), 0);
    }
}
