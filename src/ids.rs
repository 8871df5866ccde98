//! Validated identifiers. Every id that ever becomes part of a path in the
//! state tree goes through one of these newtypes first (DESIGN §1.4), so no
//! path is ever built from unvalidated input.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// The allowed form, said once so every refusal shows the same thing.
pub const ID_FORM: &str =
    "1-128 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit, without `..`";

const ID_MAX: usize = 128;

fn check_id(what: &str, s: &str) -> Result<()> {
    let bytes = s.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= ID_MAX
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !s.contains("..");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "invalid_id",
            format!("invalid {what} {:?}", truncate_for_display(s)),
        )
        .with_hint(format!("{what}s are {ID_FORM}")))
    }
}

/// Long or hostile input is shown shortened, so an error line stays one line.
fn truncate_for_display(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if s.chars().count() > 60 {
        out.push('…');
    }
    out
}

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self> {
                check_id($what, s)?;
                Ok(Self(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::parse(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(|e| serde::de::Error::custom(e.message))
            }
        }
    };
}

id_newtype!(
    /// The id of a claim: a ticket, an issue, a piece of work (`T-42`).
    ClaimId,
    "claim id"
);
id_newtype!(
    /// The id of a pool agent (`reviewer-3`).
    AgentId,
    "agent id"
);
id_newtype!(
    /// A pool role (`reviewer`); agent ids are derived from it, so it has the id form.
    Role,
    "role"
);

/// Who acts: a human or an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActorKind {
    Human,
    Agent,
}

/// An actor, `human:<name>` or `agent:<name>` (DESIGN §1.4).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Actor {
    kind: ActorKind,
    name: String,
}

pub const ACTOR_FORM: &str =
    "`human:<name>` or `agent:<name>`, the name 1-128 characters from A-Z a-z 0-9 . _ @ + -";

impl Actor {
    pub fn parse(s: &str) -> Result<Self> {
        let invalid = || {
            Error::invalid(
                "invalid_actor",
                format!("invalid actor {:?}", truncate_for_display(s)),
            )
            .with_hint(format!("actors are {ACTOR_FORM}"))
        };
        let (kind, name) = s.split_once(':').ok_or_else(invalid)?;
        let kind = match kind {
            "human" => ActorKind::Human,
            "agent" => ActorKind::Agent,
            _ => return Err(invalid()),
        };
        let name_ok = !name.is_empty()
            && name.len() <= ID_MAX
            && name.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@' | b'+')
            });
        if !name_ok {
            return Err(invalid());
        }
        Ok(Actor {
            kind,
            name: name.to_owned(),
        })
    }

    /// A human actor from a free-form local name (git email, `$USER`), with
    /// characters outside the actor form replaced, so a fallback never fails.
    pub fn human_from_local(raw: &str) -> Self {
        let mut name: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+') {
                    c
                } else {
                    '-'
                }
            })
            .take(ID_MAX)
            .collect();
        if name.is_empty() {
            name.push_str("unknown");
        }
        Actor {
            kind: ActorKind::Human,
            name,
        }
    }

    pub fn kind(&self) -> ActorKind {
        self.kind
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pool agent this actor is, when it is an agent whose name has the agent id form.
    pub fn as_agent_id(&self) -> Option<AgentId> {
        match self.kind {
            ActorKind::Agent => AgentId::parse(&self.name).ok(),
            ActorKind::Human => None,
        }
    }
}

impl FromStr for Actor {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ActorKind::Human => "human",
            ActorKind::Agent => "agent",
        };
        write!(f, "{kind}:{}", self.name)
    }
}

impl Serialize for Actor {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Actor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Actor::parse(&s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_the_documented_form() {
        for ok in ["T-42", "a", "A.b_c-9", &"x".repeat(128)] {
            assert!(ClaimId::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn ids_refuse_everything_else() {
        for bad in [
            "",
            "../x",
            "a/b",
            "a b",
            "-a",
            ".a",
            "a..b",
            "a\0b",
            "é",
            &"x".repeat(129),
        ] {
            let err = ClaimId::parse(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn actors_round_trip() {
        let a = Actor::parse("agent:alice").unwrap();
        assert_eq!(a.to_string(), "agent:alice");
        assert_eq!(a.as_agent_id().unwrap().as_str(), "alice");
        assert!(Actor::parse("robot:x").is_err());
        assert!(Actor::parse("human:").is_err());
        assert!(Actor::parse("human:a b").is_err());
        assert_eq!(
            Actor::human_from_local("Jo Doe").to_string(),
            "human:Jo-Doe"
        );
    }

    proptest::proptest! {
        #[test]
        fn accepted_ids_are_safe_path_components(s in "\\PC{0,140}") {
            if let Ok(id) = ClaimId::parse(&s) {
                proptest::prop_assert!(!id.as_str().contains('/'));
                proptest::prop_assert!(!id.as_str().contains(".."));
                proptest::prop_assert!(!id.as_str().starts_with('.'));
                proptest::prop_assert!(id.as_str().len() <= 128);
            }
        }
    }
}
