//! What `claims list` shows: the claims a filter keeps, in natural id order
//! (T-2 before T-10), active work unless `--all` or `--state` asks for
//! history, at most `--limit`. One pure function over claim rows, owned
//! ([`super::Row`]) or borrowed from the read index ([`super::RowRef`]), so any
//! source of claims feeds it alike.

use std::cmp::Ordering;

use super::{ClaimState, Listed};
use crate::ids::{Actor, AgentId};

/// Filters of `claims list`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this state (history included: `--state completed` lists completed claims).
    pub state: Option<ClaimState>,
    pub owner: Option<Actor>,
    pub agent: Option<AgentId>,
    /// Only handoffs pending to this actor.
    pub to: Option<Actor>,
    /// Completed and expired claims too (without `state`, only held ones are listed).
    pub all: bool,
    /// At most this many, after sorting.
    pub limit: Option<usize>,
}

impl Filter {
    pub fn matches(&self, c: &impl Listed) -> bool {
        let state = c.state();
        let shown = match self.state {
            Some(s) => state == s,
            None => self.all || state.is_held(),
        };
        shown
            && self.owner.as_ref().is_none_or(|o| c.owner_is(o))
            && self.agent.as_ref().is_none_or(|a| c.agent_is(a))
            && self
                .to
                .as_ref()
                .is_none_or(|t| state == ClaimState::HandoffPending && c.handoff_to_is(t))
    }
}

/// The claims `filter` keeps, sorted naturally by id, cut at its limit.
pub fn select<R: Listed>(claims: impl IntoIterator<Item = R>, filter: &Filter) -> Vec<R> {
    let mut kept: Vec<R> = claims.into_iter().filter(|c| filter.matches(c)).collect();
    kept.sort_by(|a, b| natural_cmp(a.id(), b.id()));
    if let Some(limit) = filter.limit {
        kept.truncate(limit);
    }
    kept
}

/// Ids compared as people read them: runs of digits by their value
/// (`T-2` < `T-10`), everything else character by character; ids that only
/// differ in leading zeros fall back to plain order, so the order is total.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    // Sorting 100 000 ids compares ~1.7 million pairs that share long
    // prefixes: the walk starts where they part, backed up to a character
    // boundary and to the start of a run of digits there. Before that point
    // both split into the same runs and characters, all equal.
    let common = a.bytes().zip(b.bytes()).take_while(|(p, q)| p == q).count();
    let mut start = common;
    while !a.is_char_boundary(start) {
        start -= 1;
    }
    while start > 0 && a.as_bytes()[start - 1].is_ascii_digit() {
        start -= 1;
    }
    walk(a, b, start)
}

/// The natural order of `a` and `b` read from byte `start` on, where both
/// are alike before it and a character and any run of digits begin.
///
/// Byte by byte: digits are ASCII, so a run of them is a run of bytes, and
/// UTF-8 orders like the code points it encodes, so the first differing
/// byte of two characters orders them as the characters do (the walk by
/// characters this replaced is kept in the tests as the reference).
fn walk(a: &str, b: &str, start: usize) -> Ordering {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (start, start);
    loop {
        match (x.get(i), y.get(j)) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) if p.is_ascii_digit() && q.is_ascii_digit() => {
                let (ei, ej) = (digits_end(x, i), digits_end(y, j));
                let (vx, vy) = (trim_zeros(&x[i..ei]), trim_zeros(&y[j..ej]));
                let by_value = vx.len().cmp(&vy.len()).then_with(|| vx.cmp(vy));
                if by_value != Ordering::Equal {
                    return by_value;
                }
                (i, j) = (ei, ej);
            }
            (Some(p), Some(q)) => {
                if p != q {
                    return p.cmp(q);
                }
                (i, j) = (i + 1, j + 1);
            }
        }
    }
}

/// Where the run of ASCII digits starting at `from` ends.
fn digits_end(s: &[u8], from: usize) -> usize {
    s[from..]
        .iter()
        .position(|b| !b.is_ascii_digit())
        .map_or(s.len(), |n| from + n)
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&b| b == b'0').count();
    &digits[zeros..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split_digits(s: &str) -> (&str, &str) {
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        s.split_at(end)
    }

    /// The walk by characters `walk` replaced: the reference order.
    fn walk_chars(a: &str, b: &str) -> Ordering {
        let (mut x, mut y) = (a, b);
        loop {
            match (x.chars().next(), y.chars().next()) {
                (None, None) => return a.cmp(b),
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(p), Some(q)) if p.is_ascii_digit() && q.is_ascii_digit() => {
                    let ((dx, rx), (dy, ry)) = (split_digits(x), split_digits(y));
                    let (vx, vy) = (dx.trim_start_matches('0'), dy.trim_start_matches('0'));
                    let by_value = vx.len().cmp(&vy.len()).then_with(|| vx.cmp(vy));
                    if by_value != Ordering::Equal {
                        return by_value;
                    }
                    (x, y) = (rx, ry);
                }
                (Some(p), Some(q)) => {
                    if p != q {
                        return p.cmp(&q);
                    }
                    (x, y) = (&x[p.len_utf8()..], &y[q.len_utf8()..]);
                }
            }
        }
    }

    #[test]
    fn numbers_compare_by_value() {
        let mut ids = vec!["T-10", "T-2", "T-1", "A-3", "T-02", "T-100", "T-9a", "T-9", "t-1", "T-"];
        ids.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            ids,
            ["A-3", "T-", "T-1", "T-02", "T-2", "T-9", "T-9a", "T-10", "T-100", "t-1"]
        );
    }

    proptest! {
        /// Starting where the ids part gives the order the walk from their
        /// first character gives (ids sharing prefixes, digits, non-ASCII).
        #[test]
        fn skipping_the_common_prefix_keeps_the_order(
            prefix in "[a0-9é-]{0,6}", a in "[a0-9é-]{0,4}", b in "[a0-9é-]{0,4}",
        ) {
            let (a, b) = (format!("{prefix}{a}"), format!("{prefix}{b}"));
            prop_assert_eq!(natural_cmp(&a, &b), walk(&a, &b, 0));
        }

        /// Byte by byte, the order the walk by characters gives (digits,
        /// zeros, characters of one to four bytes).
        #[test]
        fn bytes_order_as_characters_do(a in "[a0-9é€😀ÿ-]{0,8}", b in "[a0-9é€😀ÿ-]{0,8}") {
            prop_assert_eq!(natural_cmp(&a, &b), walk_chars(&a, &b));
            prop_assert_eq!(walk(&a, &b, 0), walk_chars(&a, &b));
        }

        /// A total order: antisymmetric, equal only for equal strings, transitive.
        #[test]
        fn natural_order_is_total(a in "[A-Z0-9-]{0,6}", b in "[A-Z0-9-]{0,6}", c in "[A-Z0-9-]{0,6}") {
            prop_assert_eq!(natural_cmp(&a, &b), natural_cmp(&b, &a).reverse());
            prop_assert_eq!(natural_cmp(&a, &b) == Ordering::Equal, a == b);
            if natural_cmp(&a, &b) != Ordering::Greater && natural_cmp(&b, &c) != Ordering::Greater {
                prop_assert_ne!(natural_cmp(&a, &c), Ordering::Greater);
            }
        }
    }
}
