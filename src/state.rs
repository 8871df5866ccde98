//! The typed view of a state snapshot: where each subsystem's files live and
//! how they load, schema-checked. The operations layer reads state through
//! here, so the store (files in commits) and the subsystems (claims, agents,
//! runs, policy) never have to know about each other.

use crate::claims::{self, Claim};
use crate::codec;
use crate::config::{self, Config};
use crate::delivery::{self, Delivery};
use crate::error::Result;
use crate::ids::{AgentId, ClaimId, RunId};
use crate::pool::{self, Agent};
use crate::store::Snapshot;
use crate::workflow::ledger::{self, Run};

/// A file that is in the tree but does not parse, for doctor to report.
#[derive(Debug, Clone)]
pub struct Broken {
    pub path: String,
    pub error: crate::error::Error,
}

pub fn config(snap: &Snapshot<'_>) -> Result<Config> {
    match snap.read(config::PATH)? {
        Some(bytes) => Config::parse(config::PATH, &bytes),
        None => Ok(Config::default()),
    }
}

pub fn claim(snap: &Snapshot<'_>, id: &ClaimId) -> Result<Option<Claim>> {
    load_one(snap, &claims::path(id), |c: &Claim| c.schema)
}

pub fn agent(snap: &Snapshot<'_>, id: &AgentId) -> Result<Option<Agent>> {
    load_one(snap, &pool::path(id), |a: &Agent| a.schema)
}

/// One workflow run's ledger.
pub fn run(snap: &Snapshot<'_>, id: &RunId) -> Result<Option<Run>> {
    let path = ledger::path(id);
    let run: Option<Run> = snap.load_json(&path)?;
    if let Some(r) = &run {
        codec::check_schema(&path, r.schema)?;
    }
    Ok(run)
}

/// Every workflow run, newest first (run ids sort by start time), refusing
/// if any ledger does not parse.
pub fn all_runs(snap: &Snapshot<'_>) -> Result<Vec<Run>> {
    let (mut runs, broken) = load_all_json::<Run>(snap, ledger::DIR, |r| r.schema)?;
    runs.sort_by(|a, b| b.0.cmp(&a.0));
    strict((runs, broken))
}

/// One delivery ledger.
pub fn delivery(snap: &Snapshot<'_>, id: &RunId) -> Result<Option<Delivery>> {
    let path = delivery::path(id);
    let ledger: Option<Delivery> = snap.load_json(&path)?;
    if let Some(d) = &ledger {
        codec::check_schema(&path, d.schema)?;
    }
    Ok(ledger)
}

/// Every delivery, newest first, refusing if any ledger does not parse.
pub fn all_deliveries(snap: &Snapshot<'_>) -> Result<Vec<Delivery>> {
    let (mut ledgers, broken) = load_all_json::<Delivery>(snap, delivery::DIR, |d| d.schema)?;
    ledgers.sort_by(|a, b| b.0.cmp(&a.0));
    strict((ledgers, broken))
}

/// One TOML file, refused when it is of another schema.
fn load_one<T: serde::de::DeserializeOwned>(
    snap: &Snapshot<'_>,
    path: &str,
    schema_of: impl Fn(&T) -> u32,
) -> Result<Option<T>> {
    let value: Option<T> = snap.load_toml(path)?;
    if let Some(v) = &value {
        codec::check_schema(path, schema_of(v))?;
    }
    Ok(value)
}

/// Files that parsed, as `(path, value)`, and those that did not.
pub type Loaded<T> = (Vec<(String, T)>, Vec<Broken>);

/// Every file under `dir` parsed as `T`, with the files that did not parse
/// set aside (doctor reports them; other commands refuse on the first).
pub fn load_all<T>(snap: &Snapshot<'_>, dir: &str, schema_of: impl Fn(&T) -> u32 + Sync) -> Result<Loaded<T>>
where
    T: serde::de::DeserializeOwned + Send,
{
    let files = snap.files_under(dir)?;
    let mut blobs = Vec::with_capacity(files.len());
    for (path, id) in files {
        if !path.ends_with(".toml") {
            let error = codec::corrupt(&path, "only .toml files belong here");
            blobs.push((path, Err(error)));
            continue;
        }
        let bytes = snap.read_blob(id)?;
        blobs.push((path, Ok(bytes)));
    }
    // Parsing dominates at 10k claims; spread it over the cores.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let chunk = blobs.len().div_ceil(threads).max(256);
    let parsed: Vec<Vec<(String, Result<T>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = blobs
            .chunks(chunk)
            .map(|part| {
                let schema_of = &schema_of;
                s.spawn(move || {
                    part.iter()
                        .map(|(path, bytes)| {
                            let value = bytes.as_ref().map_err(Clone::clone).and_then(|b: &Vec<u8>| {
                                let v: T = codec::decode_toml(path, b)?;
                                codec::check_schema(path, schema_of(&v))?;
                                Ok(v)
                            });
                            (path.clone(), value)
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("parser thread panicked"))
            .collect()
    });
    let mut ok = Vec::new();
    let mut broken = Vec::new();
    for (path, value) in parsed.into_iter().flatten() {
        match value {
            Ok(v) => ok.push((path, v)),
            Err(error) => broken.push(Broken { path, error }),
        }
    }
    Ok((ok, broken))
}

/// All claims, refusing (exit 3, naming the file) if any does not parse.
pub fn all_claims(snap: &Snapshot<'_>) -> Result<Vec<Claim>> {
    strict(load_all::<Claim>(snap, claims::DIR, |c| c.schema)?)
}

/// All agents, refusing if any does not parse.
pub fn all_agents(snap: &Snapshot<'_>) -> Result<Vec<Agent>> {
    strict(load_all::<Agent>(snap, pool::DIR, |a| a.schema)?)
}

fn strict<T>((ok, broken): Loaded<T>) -> Result<Vec<T>> {
    if let Some(b) = broken.first() {
        return Err(b.error.clone());
    }
    Ok(ok.into_iter().map(|(_, v)| v).collect())
}

/// Every `.json` record under `dir` (run ledgers), with the ones that do not
/// parse set aside; sequential, as ledgers are few and small.
pub fn load_all_json<T: serde::de::DeserializeOwned>(
    snap: &Snapshot<'_>,
    dir: &str,
    schema_of: impl Fn(&T) -> u32,
) -> Result<Loaded<T>> {
    let mut ok = Vec::new();
    let mut broken = Vec::new();
    for (path, id) in snap.files_under(dir)? {
        let parsed = codec::decode_json::<T>(&path, &snap.read_blob(id)?)
            .and_then(|v| codec::check_schema(&path, schema_of(&v)).map(|()| v));
        match parsed {
            Ok(v) => ok.push((path, v)),
            Err(error) => broken.push(Broken { path, error }),
        }
    }
    Ok((ok, broken))
}
