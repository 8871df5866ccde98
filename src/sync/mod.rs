//! The per-path merge policy of sync (docs/sync.md), as one table that later
//! subsystems extend, and the pure resolution of one diverged path from its
//! base, local and remote versions.

mod policy;
pub mod reservations;

use serde_json::Value as Json;

use crate::claims::Claim;
use crate::clock::{format_timestamp, parse_timestamp};
use crate::pool::Agent;

pub use policy::Policy;

/// How a path changed on both sides is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Claims: the remote version wins (it was published first); the local
    /// loser is reported by name.
    Claim,
    /// Run and delivery ledgers: ids are unique, so both sides' files are
    /// kept; the same ledger changed on both sides keeps the remote's.
    Ledger,
    /// Agents: the remote version wins; the local loser is reported by name,
    /// like a lost claim (two machines spawning one id is the usual cause).
    Agent,
    /// Config, reconcile report: the remote wins, reported.
    RemoteWins,
    /// Metrics snapshot: the one with the newer `taken_at`.
    NewerSnapshot,
    /// Learn statistics: numeric counters merged as base + both deltas.
    Counters,
}

/// Path prefix -> rule; the first match wins, anything else is `RemoteWins`.
pub const RULES: &[(&str, Rule)] = &[
    ("claims/", Rule::Claim),
    ("runs/workflow/", Rule::Ledger),
    ("runs/delivery/", Rule::Ledger),
    ("agents/", Rule::Agent),
    ("config.toml", Rule::RemoteWins),
    ("metrics/snapshot.json", Rule::NewerSnapshot),
    ("reconcile/", Rule::RemoteWins),
    ("learn/", Rule::Counters),
];

pub fn rule_for(path: &str) -> Rule {
    RULES
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map_or(Rule::RemoteWins, |(_, rule)| *rule)
}

/// The versions of one file (absent = does not exist on that side).
#[derive(Debug, Clone, Copy)]
pub struct Versions<'a> {
    pub base: Option<&'a [u8]>,
    pub local: Option<&'a [u8]>,
    pub remote: Option<&'a [u8]>,
}

/// Which version the merge keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Local,
    Remote,
    Merged(Vec<u8>),
}

/// A local claim change that did not survive the merge.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LostClaim {
    pub id: String,
    /// What this side had: `active by agent:alice`.
    pub yours: String,
    /// The remote's holder, when the remote claim is held.
    pub holder: Option<String>,
    /// The remote claim's state (`absent` when the remote has none).
    pub now: String,
}

impl LostClaim {
    pub fn message(&self) -> String {
        match &self.holder {
            Some(holder) => format!("{} is now held by {holder}; your claim was not published", self.id),
            None => format!(
                "{} is now {}; your change ({}) was not published",
                self.id, self.now, self.yours
            ),
        }
    }
}

/// A local agent record that did not survive the merge.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LostAgent {
    pub id: String,
    /// Both sides created it: two agents were given one id.
    pub spawned_twice: bool,
    /// This side's record: `role builder, capacity 1, active, created ...`.
    pub yours: String,
    /// The remote's record, which the merge kept.
    pub kept: String,
}

impl LostAgent {
    pub fn message(&self) -> String {
        let id = &self.id;
        if self.spawned_twice {
            format!(
                "agent {id} was spawned on both sides: the remote's ({}) is kept, yours ({}) was not published; \
                 claims assigned to {id} on either side now count against the one kept",
                self.kept, self.yours
            )
        } else {
            format!(
                "agent {id} changed on both sides: the remote's version ({}) is kept, your change ({}) was not published",
                self.kept, self.yours
            )
        }
    }
}

/// A change of this side that another machine's, published first, won
/// over: refused after the publish (`claim_lost`, `paths_lost`,
/// `agent_lost`). The message is what was lost; the code and hint are
/// given where it becomes the user's error (`ops::refusals`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Lost {
    #[error("{}", .0.message())]
    Claim(LostClaim),
    #[error("{}", .0.message())]
    Reservation(reservations::LostReservation),
    /// An agent spawned here (for `role`) whose id the remote's took.
    #[error("{}", .lost.message())]
    Agent { lost: LostAgent, role: crate::ids::Role },
}

/// What resolving one path produced besides the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    Lost(LostClaim),
    LostAgent(LostAgent),
    /// A local reservation overlapping one published first.
    LostReservation(reservations::LostReservation),
    /// Both sides changed this path; the remote's version was kept.
    RemoteWon(String),
}

/// Resolve a path whose local and remote versions differ. Content is needed
/// only when both sides changed it.
pub fn resolve(path: &str, v: Versions<'_>) -> (Decision, Option<Note>) {
    if v.local == v.base {
        return (Decision::Remote, None);
    }
    if v.remote == v.base {
        return (Decision::Local, None);
    }
    match rule_for(path) {
        Rule::Claim => (Decision::Remote, Some(Note::Lost(lost_claim(path, v)))),
        Rule::Agent => (
            Decision::Remote,
            Some(Note::LostAgent(lost_agent(path, v.base.is_none(), v.local, v.remote))),
        ),
        Rule::Ledger | Rule::RemoteWins => (Decision::Remote, Some(Note::RemoteWon(path.to_owned()))),
        Rule::NewerSnapshot => (newer_snapshot(v), None),
        Rule::Counters => match merge_counters(v) {
            Some(bytes) => (Decision::Merged(bytes), None),
            None => (Decision::Remote, Some(Note::RemoteWon(path.to_owned()))),
        },
    }
}

fn parse_claim(bytes: Option<&[u8]>) -> Option<Claim> {
    toml::from_str(std::str::from_utf8(bytes?).ok()?).ok()
}

fn lost_claim(path: &str, v: Versions<'_>) -> LostClaim {
    let id_from_path = path
        .rsplit('/')
        .next()
        .unwrap_or(path)
        .trim_end_matches(".toml")
        .to_owned();
    let local = parse_claim(v.local);
    let remote = parse_claim(v.remote);
    let describe = |c: &Option<Claim>| match c {
        Some(c) => format!("{} by {}", c.state, c.owner),
        None => "absent".to_owned(),
    };
    LostClaim {
        id: local
            .as_ref()
            .or(remote.as_ref())
            .map_or(id_from_path, |c| c.id.to_string()),
        yours: describe(&local),
        holder: remote
            .as_ref()
            .filter(|c| c.state.is_held())
            .map(|c| c.owner.to_string()),
        now: remote.as_ref().map_or("absent".to_owned(), |c| c.state.to_string()),
    }
}

fn lost_agent(path: &str, spawned_twice: bool, local: Option<&[u8]>, remote: Option<&[u8]>) -> LostAgent {
    let parse = |b: Option<&[u8]>| -> Option<Agent> { toml::from_str(std::str::from_utf8(b?).ok()?).ok() };
    let (mine, theirs) = (parse(local), parse(remote));
    let describe = |a: &Option<Agent>, bytes: Option<&[u8]>| match (a, bytes) {
        (Some(a), _) => format!(
            "role {}, capacity {}, {}, created {}",
            a.role,
            a.capacity,
            a.status.as_str(),
            format_timestamp(&a.created_at)
        ),
        (None, None) => "absent".to_owned(),
        (None, Some(_)) => "a record this baton cannot read".to_owned(),
    };
    let id_from_path = path.rsplit('/').next().unwrap_or(path).trim_end_matches(".toml");
    LostAgent {
        id: mine
            .as_ref()
            .or(theirs.as_ref())
            .map_or(id_from_path.to_owned(), |a| a.id.to_string()),
        spawned_twice,
        yours: describe(&mine, local),
        kept: describe(&theirs, remote),
    }
}

/// An agent both sides added with the very same record (spawned in the same
/// second): no version differs, so no merge rule sees it, yet two agents
/// were given one id and both sides' claims now count against it.
pub fn spawned_alike(path: &str, record: &[u8]) -> Note {
    Note::LostAgent(lost_agent(path, true, Some(record), Some(record)))
}

fn taken_at(bytes: Option<&[u8]>) -> Option<chrono::DateTime<chrono::Utc>> {
    let doc: Json = serde_json::from_slice(bytes?).ok()?;
    parse_timestamp(doc.get("taken_at")?.as_str()?).ok()
}

fn newer_snapshot(v: Versions<'_>) -> Decision {
    match (taken_at(v.local), taken_at(v.remote)) {
        (Some(l), Some(r)) if l > r => Decision::Local,
        (Some(_), None) => Decision::Local,
        _ => Decision::Remote,
    }
}

/// base + (local - base) + (remote - base) for every integer but the
/// top-level `schema` (the higher side's); other values from the remote. `None` when a side does not parse as TOML.
fn merge_counters(v: Versions<'_>) -> Option<Vec<u8>> {
    let parse = |b: Option<&[u8]>| -> Option<toml::Value> {
        match b {
            None => Some(toml::Value::Table(Default::default())),
            Some(b) => toml::from_str::<toml::Table>(std::str::from_utf8(b).ok()?)
                .ok()
                .map(toml::Value::Table),
        }
    };
    let (base, local, remote) = (parse(v.base)?, parse(v.local)?, parse(v.remote)?);
    let mut merged = merge_value(Some(&base), Some(&local), Some(&remote))?;
    // `schema` is the file's version, not a count: two sides that created
    // the file independently must not add up to schema 2.
    let version = [&local, &remote]
        .iter()
        .filter_map(|side| side.get("schema").and_then(toml::Value::as_integer))
        .max();
    if let (Some(version), toml::Value::Table(t)) = (version, &mut merged) {
        t.insert("schema".to_owned(), toml::Value::Integer(version));
    }
    toml::to_string(&merged).ok().map(String::into_bytes)
}

fn merge_value(
    base: Option<&toml::Value>,
    local: Option<&toml::Value>,
    remote: Option<&toml::Value>,
) -> Option<toml::Value> {
    use toml::Value as V;
    match (base, local, remote) {
        (_, Some(V::Table(l)), Some(V::Table(r))) => {
            let empty = toml::Table::new();
            let b = match base {
                Some(V::Table(b)) => b,
                _ => &empty,
            };
            let mut out = toml::Table::new();
            let keys: std::collections::BTreeSet<&String> = l.keys().chain(r.keys()).collect();
            for k in keys {
                if let Some(v) = merge_value(b.get(k), l.get(k), r.get(k)) {
                    out.insert(k.clone(), v);
                }
            }
            Some(V::Table(out))
        }
        (b, Some(V::Integer(l)), Some(V::Integer(r))) => {
            let b = b.and_then(V::as_integer).unwrap_or(0);
            Some(V::Integer(
                b.saturating_add(l.saturating_sub(b))
                    .saturating_add(r.saturating_sub(b)),
            ))
        }
        (_, l, None) => l.cloned(),
        (_, None, r) => r.cloned(),
        (_, Some(_), Some(r)) => Some(r.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v<'a>(base: Option<&'a str>, local: Option<&'a str>, remote: Option<&'a str>) -> Versions<'a> {
        Versions {
            base: base.map(str::as_bytes),
            local: local.map(str::as_bytes),
            remote: remote.map(str::as_bytes),
        }
    }

    #[test]
    fn one_sided_changes_take_that_side() {
        assert_eq!(
            resolve("claims/aa/T.toml", v(Some("a"), Some("a"), Some("b"))).0,
            Decision::Remote
        );
        assert_eq!(
            resolve("claims/aa/T.toml", v(Some("a"), Some("b"), Some("a"))).0,
            Decision::Local
        );
        assert_eq!(resolve("agents/x.toml", v(None, Some("b"), None)).0, Decision::Local);
    }

    #[test]
    fn contested_claims_go_to_the_remote_and_name_the_loser() {
        let claim = |owner: &str| {
            format!(
                "schema = 1\nid = \"T-42\"\nstate = \"active\"\nowner = \"{owner}\"\ngeneration = 1\n\
                 created_at = \"2026-01-01T00:00:00Z\"\nupdated_at = \"2026-01-01T00:00:00Z\"\n"
            )
        };
        let (mine, theirs) = (claim("agent:alice"), claim("agent:bob"));
        let (decision, note) = resolve("claims/3b/T-42.toml", v(None, Some(&mine), Some(&theirs)));
        assert_eq!(decision, Decision::Remote);
        let Some(Note::Lost(lost)) = note else {
            panic!("no lost claim")
        };
        assert_eq!(
            lost.message(),
            "T-42 is now held by agent:bob; your claim was not published"
        );
    }

    #[test]
    fn counters_add_both_deltas() {
        let merged = resolve(
            "learn/commands.toml",
            v(
                Some("schema = 1\n[cargo]\nok = 10\nfail = 1\n"),
                Some("schema = 1\n[cargo]\nok = 12\nfail = 1\n"),
                Some("schema = 1\n[cargo]\nok = 13\nfail = 2\n[make]\nok = 1\n"),
            ),
        );
        let Decision::Merged(bytes) = merged.0 else {
            panic!("not merged")
        };
        let t: toml::Table = toml::from_str(std::str::from_utf8(&bytes).unwrap()).unwrap();
        assert_eq!(t["cargo"]["ok"].as_integer(), Some(15));
        assert_eq!(t["cargo"]["fail"].as_integer(), Some(2));
        assert_eq!(t["make"]["ok"].as_integer(), Some(1));
        assert_eq!(t["schema"].as_integer(), Some(1));
    }

    #[test]
    fn counter_files_both_sides_created_keep_their_schema() {
        let side = "schema = 1\n[families.\"git push\"]\nfailures = 2\n";
        let merged = resolve("learn/commands.toml", v(None, Some(side), Some(side)));
        let Decision::Merged(bytes) = merged.0 else {
            panic!("not merged")
        };
        let t: toml::Table = toml::from_str(std::str::from_utf8(&bytes).unwrap()).unwrap();
        assert_eq!(t["schema"].as_integer(), Some(1), "a version, not a counter");
        assert_eq!(t["families"]["git push"]["failures"].as_integer(), Some(4));
    }

    #[test]
    fn snapshots_keep_the_newer() {
        let older = r#"{"schema":1,"taken_at":"2026-01-01T00:00:00Z"}"#;
        let newer = r#"{"schema":1,"taken_at":"2026-01-02T00:00:00Z"}"#;
        assert_eq!(
            resolve("metrics/snapshot.json", v(Some("{}"), Some(newer), Some(older))).0,
            Decision::Local
        );
        assert_eq!(
            resolve("metrics/snapshot.json", v(Some("{}"), Some(older), Some(newer))).0,
            Decision::Remote
        );
    }

    #[test]
    fn agents_changed_on_both_sides_name_the_loser() {
        let agent = |capacity: u32| {
            format!(
                "schema = 1\nid = \"builder-1\"\nrole = \"builder\"\ncapacity = {capacity}\nstatus = \"active\"\n\
                 created_at = \"2026-01-01T00:00:00Z\"\n"
            )
        };
        let (mine, theirs) = (agent(1), agent(2));
        let (decision, note) = resolve("agents/builder-1.toml", v(None, Some(&mine), Some(&theirs)));
        assert_eq!(decision, Decision::Remote);
        let Some(Note::LostAgent(lost)) = note else {
            panic!("no lost agent")
        };
        assert!(lost.spawned_twice);
        assert_eq!(lost.id, "builder-1");
        assert!(lost.message().contains("capacity 2") && lost.message().contains("not published"));
        let (_, note) = resolve("agents/builder-1.toml", v(Some(&mine), Some(&theirs), None));
        let Some(Note::LostAgent(lost)) = note else {
            panic!("no lost agent")
        };
        assert!(!lost.spawned_twice);
        assert_eq!(lost.kept, "absent");
        let Note::LostAgent(alike) = spawned_alike("agents/builder-1.toml", mine.as_bytes()) else {
            panic!("not an agent note")
        };
        assert!(alike.spawned_twice && alike.yours == alike.kept);
    }

    #[test]
    fn the_table_routes_paths() {
        assert_eq!(rule_for("claims/ab/T-1.toml"), Rule::Claim);
        assert_eq!(rule_for("agents/rev-1.toml"), Rule::Agent);
        assert_eq!(rule_for("runs/workflow/2026/01/01/wf-x.json"), Rule::Ledger);
        assert_eq!(rule_for("config.toml"), Rule::RemoteWins);
        assert_eq!(rule_for("something/else"), Rule::RemoteWins);
    }
}
