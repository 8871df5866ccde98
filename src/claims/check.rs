//! Claims invariants for doctor (docs/command-handbook.md, `doctor`): pure checks over loaded claims,
//! the pool's agent ids and the generation trail in history.

use std::collections::{BTreeMap, BTreeSet};

use super::Policy;
use super::{lease_lapsed, path, Claim, ClaimState};
use crate::clock::{format_timestamp, Timestamp};
use crate::finding::Finding;
use crate::ids::AgentId;

/// Check every loaded claim (`(path it was found at, claim)`).
pub fn check(claims: &[(String, Claim)], agents: &BTreeSet<AgentId>, now: Timestamp, policy: &Policy) -> Vec<Finding> {
    let mut out = Vec::new();
    let stale_before = policy.stale_after.before(now);
    for (found_at, c) in claims {
        let expected = path(&c.id);
        if found_at != &expected {
            out.push(
                Finding::error(
                    "claims.layout",
                    format!("{found_at} holds claim {} which belongs at {expected}", c.id),
                )
                .hint("move the file to its shard path or delete it in a state commit")
                .at(found_at),
            );
        }
        if c.generation == 0 {
            out.push(
                Finding::error("claims.generation", format!("claim {} has generation 0", c.id))
                    .hint("generations start at 1; the file was not written by baton")
                    .at(found_at),
            );
        }
        match (c.state, &c.handoff_to) {
            (ClaimState::HandoffPending, None) => out.push(
                Finding::error(
                    "claims.handoff",
                    format!("claim {} is handoff_pending without handoff_to", c.id),
                )
                .hint(
                    "the owner can release it, or `baton claims expire --apply` returns it after handoff_timeout"
                        .to_string(),
                )
                .at(found_at),
            ),
            (s, Some(to)) if s != ClaimState::HandoffPending => out.push(
                Finding::warn(
                    "claims.handoff",
                    format!("claim {} is {s} but still names handoff_to {to}", c.id),
                )
                .at(found_at),
            ),
            _ => {}
        }
        if let Some(agent) = &c.agent {
            if c.state.is_held() && !agents.contains(agent) {
                out.push(
                    Finding::error(
                        "claims.agent",
                        format!("claim {} is assigned to agent {agent}, which is not in the pool", c.id),
                    )
                    .hint("release it, or spawn the agent: baton pool spawn --role <role>".to_string())
                    .at(found_at),
                );
            }
        }
        if lease_lapsed(c, now) {
            let until = c.lease_until.map(|t| format_timestamp(&t)).unwrap_or_default();
            out.push(
                Finding::warn("claims.lease", format!("claim {} lease ran out at {until}", c.id))
                    .hint("the owner can `baton claims renew`; `baton claims expire --apply` expires it")
                    .at(found_at),
            );
        } else if c.state.is_held() && c.state != ClaimState::HandoffPending && c.updated_at <= stale_before {
            out.push(
                Finding::warn(
                    "claims.stale",
                    format!("claim {} untouched since {}", c.id, format_timestamp(&c.updated_at)),
                )
                .hint("`baton claims expire --apply` expires stale claims")
                .at(found_at),
            );
        }
    }
    out
}

/// Generations per claim must never go down along history. `trail` is the
/// `(claim id, generation)` of each commit that recorded one, newest first.
pub fn check_generations(trail: &[(String, u64)]) -> Vec<Finding> {
    let mut newer: BTreeMap<&str, u64> = BTreeMap::new();
    let mut out = Vec::new();
    for (id, generation) in trail {
        if let Some(&later) = newer.get(id.as_str()) {
            if later < *generation {
                out.push(
                    Finding::error(
                        "claims.generation",
                        format!("claim {id} went from generation {generation} down to {later} in history"),
                    )
                    .hint("a state commit was written by hand or rewritten; inspect `baton claims log` for it"),
                );
            }
        }
        newer.insert(id, *generation);
    }
    out
}
