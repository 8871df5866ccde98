//! Validated identifiers. Every id that ever becomes part of a path in the
//! state tree goes through one of these newtypes first (docs/command-handbook.md, Conventions), so no
//! path is ever built from unvalidated input.

use std::fmt;
use std::str::FromStr;

/// An identifier not of its documented form. The message is its
/// `Display`; the code and the hint (the form) are given where it becomes
/// the user's error (`ops::refusals`). `given` is the input as shown:
/// shortened, so an error line stays one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// A claim id, agent id, role or workflow name (`what`) not of [`ID_FORM`].
    #[error("invalid {what} {given:?}")]
    Id { what: &'static str, given: String },
    /// Not of [`RUN_ID_FORM`].
    #[error("invalid run id {given:?}")]
    RunId { given: String },
    /// Not of [`ACTOR_FORM`].
    #[error("invalid actor {given:?}")]
    Actor { given: String },
}

impl Invalid {
    /// The accepted form, as a refusal's hint or a problem's note shows it
    /// ("claim ids are ...").
    pub fn form(&self) -> String {
        match self {
            Invalid::Id { what, .. } => format!("{what}s are {ID_FORM}"),
            Invalid::RunId { .. } => format!("run ids are {RUN_ID_FORM}"),
            Invalid::Actor { .. } => format!("actors are {ACTOR_FORM}"),
        }
    }
}

type Result<T, E = Invalid> = std::result::Result<T, E>;

/// The allowed form, said once so every refusal shows the same thing.
pub const ID_FORM: &str = "1-128 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit, without `..`";

const ID_MAX: usize = 128;

fn check_id(what: &'static str, s: &str) -> Result<()> {
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
        Err(Invalid::Id {
            what,
            given: truncate_for_display(s),
        })
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
            type Err = Invalid;
            fn from_str(s: &str) -> Result<Self> {
                Self::parse(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        serde_via_str!($name);
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

id_newtype!(
    /// A workflow step id (`test`), unique within its definition.
    StepId,
    "step id"
);
id_newtype!(
    /// A workflow name (`ship`): `.baton/workflows/<name>.toml`.
    WorkflowName,
    "workflow name"
);

/// A run id, `wf-<yyyymmddTHHMMSSZ>-<6 hex>` (docs/command-handbook.md, Conventions); it names a ledger
/// file, so its exact form is checked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(String);

pub const RUN_ID_FORM: &str = "`<prefix>-<yyyymmdd>T<hhmmss>Z-<6 hex digits>`, e.g. wf-20260131T120000Z-0a1b2c";

impl RunId {
    pub fn parse(s: &str) -> Result<RunId> {
        let ok = (|| {
            let (prefix, rest) = s.split_once('-')?;
            let (stamp, hex) = rest.rsplit_once('-')?;
            let b = stamp.as_bytes();
            let stamp_ok = b.len() == 16
                && b[8] == b'T'
                && b[15] == b'Z'
                && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit);
            let hex_ok = hex.len() == 6 && hex.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
            let prefix_ok = (2..=8).contains(&prefix.len()) && prefix.bytes().all(|c| c.is_ascii_lowercase());
            (stamp_ok && hex_ok && prefix_ok).then_some(())
        })()
        .is_some();
        if ok {
            Ok(RunId(s.to_owned()))
        } else {
            Err(Invalid::RunId {
                given: truncate_for_display(s),
            })
        }
    }

    /// A fresh id for a run starting at `t`.
    pub fn generate(prefix: &str, t: &chrono::DateTime<chrono::Utc>) -> RunId {
        RunId(format!(
            "{prefix}-{}-{:06x}",
            t.format("%Y%m%dT%H%M%SZ"),
            fastrand::u32(..0x0100_0000)
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `yyyy/mm/dd` of the run's start, for the ledger's dated directories.
    pub fn date_path(&self) -> String {
        let stamp = &self.0[self.0.find('-').map_or(0, |i| i + 1)..];
        format!("{}/{}/{}", &stamp[..4], &stamp[4..6], &stamp[6..8])
    }
}

impl FromStr for RunId {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

serde_via_str!(RunId);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who acts: a human or an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActorKind {
    Human,
    Agent,
}

/// An actor, `human:<name>` or `agent:<name>` (docs/command-handbook.md, Conventions).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Actor {
    kind: ActorKind,
    name: String,
}

pub const ACTOR_FORM: &str = "`human:<name>` or `agent:<name>`, the name 1-128 characters from A-Z a-z 0-9 . _ @ + -";

impl Actor {
    pub fn parse(s: &str) -> Result<Self> {
        let invalid = || Invalid::Actor {
            given: truncate_for_display(s),
        };
        let (kind, name) = s.split_once(':').ok_or_else(invalid)?;
        let kind = match kind {
            "human" => ActorKind::Human,
            "agent" => ActorKind::Agent,
            _ => return Err(invalid()),
        };
        let name_ok = !name.is_empty()
            && name.len() <= ID_MAX
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@' | b'+'));
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
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

serde_via_str!(Actor);

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ActorKind::Human => "human",
            ActorKind::Agent => "agent",
        };
        write!(f, "{kind}:{}", self.name)
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
            assert!(matches!(err, Invalid::Id { what: "claim id", .. }), "{bad:?}");
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
        assert_eq!(Actor::human_from_local("Jo Doe").to_string(), "human:Jo-Doe");
    }

    #[test]
    fn run_ids_have_one_form() {
        let t = crate::clock::parse_timestamp("2026-01-31T12:00:00Z").unwrap();
        let id = RunId::generate("wf", &t);
        assert!(id.as_str().starts_with("wf-20260131T120000Z-"));
        assert_eq!(RunId::parse(id.as_str()).unwrap(), id);
        assert_eq!(id.date_path(), "2026/01/31");
        for bad in [
            "wf-x",
            "../wf-20260131T120000Z-0a1b2c",
            "wf-20260131T120000Z-0A1B2C",
            "wf-20260131T120000Z-0a1b2c/x",
        ] {
            assert!(RunId::parse(bad).is_err(), "{bad}");
        }
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
