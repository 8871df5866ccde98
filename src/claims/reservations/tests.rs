use crate::error::code;
use std::path::Path;

use proptest::prelude::*;

use super::*;

fn p(s: &str) -> Pattern {
    Pattern::parse(s).unwrap()
}

fn r(s: &str, mode: Mode) -> Reservation {
    Reservation { pattern: p(s), mode }
}

fn holder(id: &str, owner: &str, res: &[Reservation]) -> Holder {
    Holder {
        claim: ClaimId::parse(id).unwrap(),
        owner: Actor::parse(owner).unwrap(),
        state: ClaimState::Active,
        generation: 1,
        lease_until: None,
        reservations: res.to_vec(),
    }
}

#[test]
fn patterns_are_validated_and_normalised() {
    assert_eq!(p("src/store/").as_str(), "src/store");
    assert_eq!(p("./docs/*.md").as_str(), "docs/*.md");
    for bad in [
        "",
        "/",
        ".",
        "/etc/passwd",
        "../x",
        "a/../b",
        "a//b",
        "a\\b",
        "src/**x",
        "a\u{7}",
        "[",
    ] {
        let e = crate::error::Error::from(Pattern::parse(bad).unwrap_err());
        assert_eq!(e.code, code::INVALID_PATTERN, "{bad:?}");
        assert!(!e.hint.is_empty());
    }
}

/// The overlap rule as a table: (a, b, do they overlap).
#[test]
fn overlap_table() {
    let table = [
        // literal paths and directory prefixes: exact
        ("src/store", "src/store", true),
        ("src/store", "src/store/mod.rs", true),
        ("src/store/mod.rs", "src/store", true),
        ("src/store", "src/storefront", false),
        ("src/a.rs", "src/b.rs", false),
        ("docs", "src", false),
        // a literal against a wildcard: exact per segment
        ("docs/*.md", "docs/sync.md", true),
        ("docs/*.md", "docs/sync.rs", false),
        ("docs/*.md", "docs", true),
        ("docs/*.md", "src/lib.rs", false),
        ("src/*", "src/a/b.rs", true),
        ("src/*/mod.rs", "src/store/mod.rs", true),
        ("src/*/mod.rs", "src/store/read.rs", false),
        ("src/**", "src/a/b/c.rs", true),
        ("src/**", "docs/x.md", false),
        ("**/*.rs", "docs/x.md", true), // conservative from ** on
        // two wildcards: disjoint heads or tails, else conservatively yes
        ("docs/*.md", "docs/*.rs", false),
        ("docs/a*", "docs/b*", false),
        ("docs/*.md", "docs/s*", true),
        ("docs/*.md", "docs/**", true),
        ("src/*.rs", "docs/*.rs", false),
    ];
    for (a, b, want) in table {
        assert_eq!(overlap(&p(a), &p(b)), want, "{a} vs {b}");
        assert_eq!(overlap(&p(b), &p(a)), want, "{b} vs {a} (symmetric)");
    }
}

/// Exclusive/shared × overlapping/disjoint.
#[test]
fn conflict_table() {
    use Mode::{Exclusive as X, Shared as S};
    let table = [
        (X, X, "src/store", "src/store/mod.rs", true),
        (X, S, "src/store", "src/store/mod.rs", true),
        (S, X, "src/store", "src/store/mod.rs", true),
        (S, S, "src/store", "src/store/mod.rs", false),
        (X, X, "src/store", "docs", false),
        (X, S, "src/store", "docs", false),
        (S, X, "src/store", "docs", false),
        (S, S, "src/store", "docs", false),
    ];
    for (ma, mb, a, b, want) in table {
        assert_eq!(conflicts(&r(a, ma), &r(b, mb)), want, "{a} {ma} vs {b} {mb}");
    }
}

#[test]
fn conflicts_name_the_other_claim_and_skip_our_own() {
    let others = vec![
        holder("T-1", "agent:alice", &[r("src/store/", Mode::Exclusive)]),
        holder("T-2", "agent:bob", &[r("docs/*.md", Mode::Shared)]),
    ];
    let me = ClaimId::parse("T-3").unwrap();
    let found = conflicts_with(&me, &[r("src/store/mod.rs", Mode::Shared)], &others);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].claim.as_str(), "T-1");
    assert_eq!(found[0].holder.to_string(), "agent:alice");
    let e = crate::error::Error::from(refusal(&me, &found));
    assert_eq!(e.code, code::PATHS_RESERVED);
    assert!(e.message().contains("T-1") && e.message().contains("agent:alice") && e.message().contains("src/store"));
    // Its own claim never conflicts with itself.
    assert!(conflicts_with(&others[0].claim, &[r("src/**", Mode::Exclusive)], &others[..1]).is_empty());
    assert!(conflicts_with(&me, &[r("docs/x.md", Mode::Shared)], &others).is_empty());
}

#[test]
fn the_index_says_who_reserves_a_path() {
    let index = Index::new(vec![
        holder("T-1", "agent:alice", &[r("src/store", Mode::Exclusive)]),
        holder(
            "T-2",
            "agent:bob",
            &[r("docs/*.md", Mode::Shared), r("src/**/mod.rs", Mode::Shared)],
        ),
    ]);
    let who = |path| -> Vec<String> {
        index
            .who(path)
            .into_iter()
            .map(|h| format!("{} {}", h.claim, h.pattern))
            .collect()
    };
    assert_eq!(who("src/store/mod.rs"), ["T-1 src/store", "T-2 src/**/mod.rs"]);
    assert_eq!(who("src/store"), ["T-1 src/store"]);
    assert_eq!(who("docs/sync.md"), ["T-2 docs/*.md"]);
    assert!(who("docs/sub/x.rs").is_empty());
    assert!(who("src/storefront/x.rs").is_empty());
}

#[test]
fn paths_are_normalised_against_the_root() {
    let root = Path::new("/repo");
    let n = |path: &str, cwd: &str| normalise(Path::new(path), Path::new(cwd), root);
    assert_eq!(n("/repo/src/lib.rs", "/elsewhere").as_deref(), Some("src/lib.rs"));
    assert_eq!(n("lib.rs", "/repo/src").as_deref(), Some("src/lib.rs"));
    assert_eq!(n("../docs/./x.md", "/repo/src").as_deref(), Some("docs/x.md"));
    assert_eq!(n("/repository/x", "/"), None);
    assert_eq!(n("../../etc/passwd", "/repo/src"), None);
    assert_eq!(n("/repo", "/"), None);
}

#[test]
fn adding_replaces_the_mode_of_a_pattern_already_there() {
    let now = add(
        &[r("a", Mode::Exclusive)],
        &[r("a", Mode::Shared), r("b", Mode::Exclusive)],
    )
    .unwrap();
    assert_eq!(now, [r("a", Mode::Shared), r("b", Mode::Exclusive)]);
    let many: Vec<Reservation> = (0..=PER_CLAIM_MAX)
        .map(|i| r(&format!("f{i}"), Mode::Exclusive))
        .collect();
    assert_eq!(
        crate::error::Error::from(add(&[], &many).unwrap_err()).code,
        code::TOO_MANY_PATTERNS
    );
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_owned()),
        Just("b".to_owned()),
        Just("ab".to_owned()),
        Just("*".to_owned()),
        Just("a*".to_owned()),
        Just("*b".to_owned()),
        Just("?".to_owned()),
        Just("**".to_owned()),
    ]
}

fn path_of(segs: &[String]) -> String {
    segs.join("/")
}

proptest! {
    /// Sound: whenever one concrete path is covered by both patterns, they
    /// are said to overlap (the rule may only err towards "overlap").
    #[test]
    fn overlap_never_misses_a_shared_path(
        a in prop::collection::vec(segment(), 1..4),
        b in prop::collection::vec(segment(), 1..4),
        path in prop::collection::vec(prop_oneof![Just("a"), Just("b"), Just("ab"), Just("ba")], 1..5),
    ) {
        let (a, b) = (path_of(&a), path_of(&b));
        let (Ok(pa), Ok(pb)) = (Pattern::parse(&a), Pattern::parse(&b)) else { return Ok(()); };
        let path = path.join("/");
        let ia = Index::new(vec![holder("A", "agent:a", &[Reservation { pattern: pa.clone(), mode: Mode::Exclusive }])]);
        let ib = Index::new(vec![holder("B", "agent:b", &[Reservation { pattern: pb.clone(), mode: Mode::Exclusive }])]);
        if !ia.who(&path).is_empty() && !ib.who(&path).is_empty() {
            prop_assert!(overlap(&pa, &pb), "{a} and {b} both cover {path}");
        }
    }
}

proptest! {
    /// `may_cover` never rules out a reservation `who` reports, so an
    /// index of only the holders it keeps answers as the whole one: the
    /// same hits, in the same order.
    #[test]
    fn an_index_of_what_may_cover_answers_as_the_whole(
        pats in prop::collection::vec((prop::collection::vec(segment(), 1..4), any::<bool>(), 0u8..3), 1..10),
        path in prop::collection::vec(prop_oneof![Just("a"), Just("b"), Just("ab"), Just("ba")], 1..5),
    ) {
        let path = path.join("/");
        let holders: Vec<Holder> = pats
            .iter()
            .enumerate()
            .filter_map(|(i, (segs, shared, owner))| {
                let pattern = Pattern::parse(&path_of(segs)).ok()?;
                let mode = if *shared { Mode::Shared } else { Mode::Exclusive };
                Some(holder(&format!("T-{i}"), &format!("agent:o{owner}"), &[Reservation { pattern, mode }]))
            })
            .collect();
        for h in &holders {
            let alone = Index::new(vec![h.clone()]);
            if !alone.who(&path).is_empty() {
                prop_assert!(may_cover(h.reservations[0].pattern.as_str(), &path), "{} covers {path}", h.reservations[0].pattern);
            }
        }
        let kept: Vec<Holder> = holders
            .iter()
            .filter(|h| h.reservations.iter().any(|r| may_cover(r.pattern.as_str(), &path)))
            .cloned()
            .collect();
        prop_assert_eq!(Index::new(kept).who(&path), Index::new(holders).who(&path));
    }
}
