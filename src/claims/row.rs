//! A claim as listings see it: the fields `claims list` and `claims status`
//! filter, sort and show, and the claim as `--json` prints it. Rows come
//! from the machine-local read index (`ops::index`) or straight from the
//! claim files; either way they are made by [`Row::of`], so what a listing
//! shows is decided by one function whatever supplied the rows.
//!
//! [`RowRef`] is the same row borrowed from the bytes of an index file:
//! listing 100 000 claims then allocates nothing per claim. What a filter
//! asks of either is the [`Listed`] trait, so one filter serves both.

use super::{Claim, ClaimState};
use crate::clock::Timestamp;
use crate::ids::{Actor, ActorKind, AgentId, ClaimId};

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: ClaimId,
    pub state: ClaimState,
    pub owner: Actor,
    pub agent: Option<AgentId>,
    pub handoff_to: Option<Actor>,
    pub generation: u64,
    pub updated_at: Timestamp,
    /// The whole claim as `serde_json` pretty-prints it, every line moved
    /// right by four spaces: exactly as it sits in the list of
    /// `--json claims list`, so that document is these texts joined (kept so
    /// listing thousands of claims never parses, serializes or re-indents
    /// them again).
    pub json: String,
}

/// A [`Row`] borrowed from an index file's bytes: the actors as the text
/// [`Actor`]'s `Display` gives, the time in seconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowRef<'a> {
    pub id: &'a str,
    pub state: ClaimState,
    pub owner: &'a str,
    pub agent: Option<&'a str>,
    pub handoff_to: Option<&'a str>,
    pub generation: u64,
    pub updated_at: Timestamp,
    /// As [`Row::json`].
    pub json: &'a str,
}

/// What a listing's filter and order ask of a row, owned or borrowed.
pub trait Listed {
    fn id(&self) -> &str;
    fn state(&self) -> ClaimState;
    fn owner_is(&self, actor: &Actor) -> bool;
    fn agent_is(&self, agent: &AgentId) -> bool;
    fn handoff_to_is(&self, actor: &Actor) -> bool;
}

impl Row {
    pub fn of(claim: &Claim) -> Row {
        // Through a `Value`, as `json!` would put it into a document.
        let json = serde_json::to_value(claim)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_default();
        Row {
            id: claim.id.clone(),
            state: claim.state,
            owner: claim.owner.clone(),
            agent: claim.agent.clone(),
            handoff_to: claim.handoff_to.clone(),
            generation: claim.generation,
            updated_at: claim.updated_at,
            json: list_item(&json),
        }
    }

    /// As [`Claim::is_held_by`].
    pub fn is_held_by(&self, actor: &Actor) -> bool {
        self.state.is_held() && &self.owner == actor
    }
}

/// A pretty-printed JSON document as it sits in a list under one key of a
/// pretty-printed document: every line moved right by four spaces, as
/// `to_string_pretty` indents (`cli::output::json_join` joins such items).
pub fn list_item(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 4 * (1 + json.bytes().filter(|&b| b == b'\n').count()));
    for (n, line) in json.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        out.push_str("    ");
        out.push_str(line);
    }
    out
}

/// Whether `text` is how `actor` prints (`kind:name`, its `Display`),
/// without printing it: a filter compares every row.
fn is_actor(text: &str, actor: &Actor) -> bool {
    let kind = match actor.kind() {
        ActorKind::Human => "human",
        ActorKind::Agent => "agent",
    };
    text.split_once(':')
        .is_some_and(|(k, name)| k == kind && name == actor.name())
}

impl Listed for Row {
    fn id(&self) -> &str {
        self.id.as_str()
    }
    fn state(&self) -> ClaimState {
        self.state
    }
    fn owner_is(&self, actor: &Actor) -> bool {
        &self.owner == actor
    }
    fn agent_is(&self, agent: &AgentId) -> bool {
        self.agent.as_ref() == Some(agent)
    }
    fn handoff_to_is(&self, actor: &Actor) -> bool {
        self.handoff_to.as_ref() == Some(actor)
    }
}

impl Listed for RowRef<'_> {
    fn id(&self) -> &str {
        self.id
    }
    fn state(&self) -> ClaimState {
        self.state
    }
    fn owner_is(&self, actor: &Actor) -> bool {
        is_actor(self.owner, actor)
    }
    fn agent_is(&self, agent: &AgentId) -> bool {
        self.agent == Some(agent.as_str())
    }
    fn handoff_to_is(&self, actor: &Actor) -> bool {
        self.handoff_to.is_some_and(|t| is_actor(t, actor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A borrowed row's actor text matches exactly the actors an owned
        /// row's `Actor` equals, so one filter lists the same either way.
        #[test]
        fn actor_text_matches_as_actors_compare(
            a in "(human|agent):[a-z.@+_-]{1,4}", b in "(human|agent):[a-z.@+_-]{1,4}",
        ) {
            let (x, y) = (Actor::parse(&a).unwrap(), Actor::parse(&b).unwrap());
            prop_assert_eq!(is_actor(&x.to_string(), &y), x == y);
            prop_assert_eq!(is_actor(&a, &y), x == y);
        }
    }
}
