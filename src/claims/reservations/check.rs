//! Reservation invariants for doctor (docs/reservations.md, Doctor): pure
//! checks over the loaded claims.

use super::{active, left_on_a_gone_claim, overlaps, Holder};
use crate::claims::Claim;
use crate::clock::Timestamp;
use crate::finding::Finding;

const CHECK: &str = "claims.reservations";

/// Overlapping reservations of held claims (a merge of states written by
/// batons that did not check them, or a takeover of a claim's holder), and
/// reservations left on claims that are gone.
pub fn check(claims: &[(String, Claim)], now: Timestamp) -> Vec<Finding> {
    let mut out = Vec::new();
    let holders = active(claims.iter().filter_map(|(_, c)| Holder::of(c)), now);
    for (c, ours) in overlaps(&holders) {
        out.push(
            Finding::warn(
                CHECK,
                format!("{ours} and {} reserve overlapping paths: {}", c.claim, c.message()),
            )
            .hint(format!(
                "one of them drops the pattern: `baton claims reserve {ours} --release-paths {}` (run by its holder)",
                c.pattern
            )),
        );
    }
    for (path, c) in claims.iter().filter(|(_, c)| left_on_a_gone_claim(c)) {
        out.push(
            Finding::warn(
                CHECK,
                format!(
                    "{} is {} but its file still lists {} reservation(s); they count for nothing",
                    c.id,
                    c.state,
                    c.reservations.len()
                ),
            )
            .hint("an older baton released it; they go when the claim is next claimed or rewritten")
            .at(path),
        );
    }
    if out.is_empty() && !holders.is_empty() {
        let n: usize = holders.iter().map(|h| h.reservations.len()).sum();
        out.push(Finding::ok(
            CHECK,
            format!(
                "{n} active reservation(s) on {} claim(s), none overlapping",
                holders.len()
            ),
        ));
    }
    out
}
