//! The reconcile view: what a tick needs to know of every claim, agent, run
//! and delivery, and of the learn statistics, small enough to keep between ticks (in
//! `.git/baton/daemon-index.json`) and to bring up to date from the files
//! that changed since the tree it was made of. A full pass makes it from
//! every file; an incremental pass updates it path by path with
//! [`View::record`]; both end in the same view for the same tree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::claims::{self, Claim, ClaimState};
use crate::clock::Timestamp;
use crate::delivery::{self, Delivery, Phase};
use crate::ids::{AgentId, ClaimId, Role, RunId};
use crate::learn::stats;
use crate::metrics::Tally;
use crate::pool::{self, Agent, AgentStatus};
use crate::workflow::ledger::{self, Run, RunStatus, StepStatus};

/// The layout of the kept view; another version is rebuilt by a full pass.
pub const VERSION: u32 = 3;

/// The directory each kind of record lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Claim,
    Agent,
    Run,
    Delivery,
    /// `learn/commands.toml`.
    Learn,
}

impl Kind {
    /// The kind of file at `path`, `None` for files the view does not track.
    pub fn of(path: &str) -> Option<Kind> {
        let under = |dir: &str| path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'));
        if under(claims::DIR) {
            Some(Kind::Claim)
        } else if under(pool::DIR) {
            Some(Kind::Agent)
        } else if under(ledger::DIR) {
            Some(Kind::Run)
        } else if under(delivery::DIR) {
            Some(Kind::Delivery)
        } else if path == stats::COMMANDS_PATH {
            Some(Kind::Learn)
        } else {
            None
        }
    }
}

/// One claim: its state, agent, and the times that alone can change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimEntry {
    pub id: ClaimId,
    pub state: ClaimState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentId>,
    /// `updated_at`, whole seconds since the epoch, rounded down.
    pub updated: i64,
    /// `lease_until`, likewise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<i64>,
    /// How many paths it reserves (docs/reservations.md).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reservations: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ClaimEntry {
    pub fn of(c: &Claim) -> ClaimEntry {
        ClaimEntry {
            id: c.id.clone(),
            state: c.state,
            agent: c.agent.clone(),
            updated: c.updated_at.timestamp(),
            lease: c.lease_until.map(|t| t.timestamp()),
            reservations: c.reservations.len() as u64,
        }
    }
}

/// One agent, as health and load need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentEntry {
    pub id: AgentId,
    pub role: Role,
    pub capacity: u32,
    pub status: AgentStatus,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heartbeat: Option<Timestamp>,
}

impl AgentEntry {
    pub fn of(a: &Agent) -> AgentEntry {
        AgentEntry {
            id: a.id.clone(),
            role: a.role.clone(),
            capacity: a.capacity,
            status: a.status,
            created_at: a.created_at,
            last_heartbeat: a.last_heartbeat,
        }
    }

    /// The agent as the pool's functions take it (without unknown fields).
    pub fn agent(&self) -> Agent {
        Agent {
            schema: crate::codec::SCHEMA,
            id: self.id.clone(),
            role: self.role.clone(),
            capacity: self.capacity,
            status: self.status,
            created_at: self.created_at,
            last_heartbeat: self.last_heartbeat,
            extra: Default::default(),
        }
    }
}

/// One workflow run: its status, where it runs, and its step counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEntry {
    pub id: RunId,
    pub status: RunStatus,
    pub host: String,
    /// Steps whose final status is failed.
    pub failed: u64,
    /// Attempts beyond the first, over its steps.
    pub retries: u64,
}

impl RunEntry {
    pub fn of(r: &Run) -> RunEntry {
        RunEntry {
            id: r.id.clone(),
            status: r.status,
            host: r.host.clone(),
            failed: r.steps.iter().filter(|s| s.status == StepStatus::Failed).count() as u64,
            retries: r.steps.iter().map(|s| s.attempts.len().saturating_sub(1) as u64).sum(),
        }
    }
}

/// One delivery: its phase (open ones are read whole when checked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryEntry {
    pub id: RunId,
    pub phase: Phase,
}

/// The learn statistics (`learn/commands.toml`), as the metrics snapshot and
/// compaction need them: the risk decisions by level, how many families.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnEntry {
    /// `low`, `medium`, `high` (the map the metrics take as `learn.decisions.*`).
    pub decisions: BTreeMap<String, u64>,
    pub families: usize,
}

/// A file of the state as the view takes it in.
#[derive(Debug, Clone)]
pub enum Record {
    Claim(Claim),
    Agent(Agent),
    Run(Run),
    Delivery(Delivery),
    Learn(LearnEntry),
    /// It is there but does not parse: why.
    Broken(String),
    /// It is not there (any more).
    Gone,
}

/// What a tick knows of the state at one tree, by path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct View {
    pub version: u32,
    /// The state tree it is of (hex object id).
    pub tree: String,
    /// The `now` of the last full pass, which made it from every file.
    pub full_at: Timestamp,
    /// Stored as a sorted list (see [`sorted`]): 10k claims load in one bulk build.
    #[serde(default, with = "sorted")]
    pub claims: BTreeMap<String, ClaimEntry>,
    #[serde(default)]
    pub agents: BTreeMap<String, AgentEntry>,
    #[serde(default)]
    pub runs: BTreeMap<String, RunEntry>,
    #[serde(default)]
    pub deliveries: BTreeMap<String, DeliveryEntry>,
    /// `learn/commands.toml` when it is there and parses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learn: Option<LearnEntry>,
    /// Files that are there but do not parse, with why.
    #[serde(default)]
    pub broken: BTreeMap<String, String>,
}

impl View {
    /// An empty view of `tree`, as a full pass made at `now` starts it.
    pub fn new(tree: String, full_at: Timestamp) -> View {
        View {
            version: VERSION,
            tree,
            full_at,
            claims: BTreeMap::new(),
            agents: BTreeMap::new(),
            runs: BTreeMap::new(),
            deliveries: BTreeMap::new(),
            learn: None,
            broken: BTreeMap::new(),
        }
    }

    /// Take in the file at `path` as it is now.
    pub fn record(&mut self, path: &str, record: Record) {
        self.claims.remove(path);
        self.agents.remove(path);
        self.runs.remove(path);
        self.deliveries.remove(path);
        self.broken.remove(path);
        if Kind::of(path) == Some(Kind::Learn) {
            self.learn = None;
        }
        let path = path.to_owned();
        match record {
            Record::Claim(c) => {
                self.claims.insert(path, ClaimEntry::of(&c));
            }
            Record::Agent(a) => {
                self.agents.insert(path, AgentEntry::of(&a));
            }
            Record::Run(r) => {
                self.runs.insert(path, RunEntry::of(&r));
            }
            Record::Delivery(d) => {
                self.deliveries.insert(
                    path,
                    DeliveryEntry {
                        id: d.id.clone(),
                        phase: d.phase,
                    },
                );
            }
            Record::Learn(entry) => self.learn = Some(entry),
            Record::Broken(why) => {
                self.broken.insert(path, why);
            }
            Record::Gone => {}
        }
    }

    /// The claims and runs, counted for the metrics snapshot.
    pub fn tally(&self) -> Tally {
        let mut tally = Tally::default();
        for c in self.claims.values() {
            tally.add_claim(c.state, c.agent.as_ref());
            tally.add_reservations(c.state, c.reservations);
        }
        for r in self.runs.values() {
            tally.add_run(r.status, r.failed, r.retries);
        }
        tally
    }

    /// Every agent with where it was found, as the pool's checks take them.
    pub fn pool(&self) -> Vec<(String, Agent)> {
        self.agents.iter().map(|(p, a)| (p.clone(), a.agent())).collect()
    }

    /// Delivery ledgers by phase name.
    pub fn delivery_phases(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for d in self.deliveries.values() {
            *out.entry(d.phase.as_str().to_owned()).or_insert(0) += 1;
        }
        out
    }

    /// Risk decisions by level, for the metrics snapshot (none without statistics).
    pub fn learn_decisions(&self) -> BTreeMap<String, u64> {
        self.learn.as_ref().map(|l| l.decisions.clone()).unwrap_or_default()
    }

    /// How many files of each kind it holds (broken ones aside).
    pub fn counts(&self) -> [usize; 4] {
        [
            self.claims.len(),
            self.agents.len(),
            self.runs.len(),
            self.deliveries.len(),
        ]
    }
}

/// A map stored as a list of `[key, value]` pairs in key order, read back
/// with one bulk build instead of an insert (and its key comparisons) per
/// entry: reading the kept view is most of a quiet tick at 10k claims.
mod sorted {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<V: Serialize, S: Serializer>(map: &BTreeMap<String, V>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, V: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, V>, D::Error> {
        let pairs: Vec<(String, V)> = Vec::deserialize(d)?;
        // Written in key order, so the sort inside is one pass; any order still reads right.
        Ok(pairs.into_iter().collect())
    }
}
