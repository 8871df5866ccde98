//! Reservations across machines (docs/reservations.md, Sync): two
//! machines that reserved overlapping paths offline on *different* claims
//! merge without a file conflict, so the merge checks them: the remote's
//! reservations were published first and win; the local claim keeps its
//! holding but loses the overlapping patterns, and the loser is told, as
//! for a contested claim.

use crate::claims::reservations::{conflicts_with, Holder, Reservation};
use crate::claims::Claim;

/// A local reservation the merge did not keep.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LostReservation {
    /// The local claim and the pattern it loses.
    pub claim: String,
    pub pattern: String,
    /// The published claim, its holder and pattern that won.
    pub theirs: String,
    pub holder: String,
    pub their_pattern: String,
}

impl LostReservation {
    pub fn message(&self) -> String {
        format!(
            "{}: your reservation of {} was not published: {} reserves {} for {}, published first",
            self.claim, self.pattern, self.theirs, self.their_pattern, self.holder
        )
    }
}

/// `local` (as this machine changed it since `base`) against the published
/// claims' reservations: the claim without the new patterns that overlap
/// them, and what it lost; `None` when nothing is lost.
pub fn settle(local: &Claim, base: Option<&Claim>, published: &[Holder]) -> Option<(Claim, Vec<LostReservation>)> {
    if !local.state.is_held() {
        return None;
    }
    let before: &[Reservation] = base.map_or(&[], |b| &b.reservations);
    let new: Vec<Reservation> = local
        .reservations
        .iter()
        .filter(|r| !before.contains(r))
        .cloned()
        .collect();
    if new.is_empty() {
        return None;
    }
    let held: Vec<Holder> = published.iter().filter(|h| h.state.is_held()).cloned().collect();
    let found = conflicts_with(&local.id, &new, &held);
    if found.is_empty() {
        return None;
    }
    let mut kept = local.clone();
    kept.reservations
        .retain(|r| !found.iter().any(|c| c.pattern == r.pattern && new.contains(r)));
    let lost = found
        .into_iter()
        .map(|c| LostReservation {
            claim: local.id.to_string(),
            pattern: c.pattern.to_string(),
            theirs: c.claim.to_string(),
            holder: c.holder.to_string(),
            their_pattern: c.theirs.to_string(),
        })
        .collect();
    Some((kept, lost))
}
