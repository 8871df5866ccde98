//! The typed view of a state snapshot: where each subsystem's files live and
//! how they load. This is the one place that joins the store (files in
//! commits) with the subsystems (claims, agents, policy), so neither has to
//! know about the other.

use crate::claims::{self, Claim};
use crate::config::{self, Config};
use crate::error::Result;
use crate::ids::{AgentId, ClaimId};
use crate::pool::{self, Agent};
use crate::store::{codec, Snapshot};

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
    let path = claims::path(id);
    let claim: Option<Claim> = snap.load_toml(&path)?;
    if let Some(c) = &claim {
        codec::check_schema(&path, c.schema)?;
    }
    Ok(claim)
}

pub fn agent(snap: &Snapshot<'_>, id: &AgentId) -> Result<Option<Agent>> {
    let path = pool::path(id);
    let agent: Option<Agent> = snap.load_toml(&path)?;
    if let Some(a) = &agent {
        codec::check_schema(&path, a.schema)?;
    }
    Ok(agent)
}

/// Files that parsed, as `(path, value)`, and those that did not.
pub type Loaded<T> = (Vec<(String, T)>, Vec<Broken>);

/// Below this many files, [`load_all`] parses on the calling thread: starting
/// threads would cost more than it saves.
const PARALLEL_MIN: usize = 256;

/// Files handed from the reader to a parser thread at a time.
const BATCH: usize = 64;

/// Every file under `dir` parsed as `T`, with the files that did not parse
/// set aside (doctor reports them; other commands refuse on the first).
/// Both lists are in tree order.
pub fn load_all<T>(
    snap: &Snapshot<'_>,
    dir: &str,
    schema_of: impl Fn(&T) -> u32 + Sync,
) -> Result<Loaded<T>>
where
    T: serde::de::DeserializeOwned + Send,
{
    let files = snap.files_under(dir)?;
    let read = |path: &str, id| -> Result<Result<Vec<u8>>> {
        if !path.ends_with(".toml") {
            return Ok(Err(codec::corrupt(path, "only .toml files belong here")));
        }
        // A blob that cannot be read fails the whole load, as before parsing.
        snap.read_blob(id).map(Ok)
    };
    let parse = |path: &str, bytes: Result<Vec<u8>>| -> Result<T> {
        let v: T = codec::decode_toml(path, &bytes?)?;
        codec::check_schema(path, schema_of(&v))?;
        Ok(v)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    if files.len() < PARALLEL_MIN || threads == 1 {
        let mut parsed = Vec::with_capacity(files.len());
        for (path, id) in files {
            let bytes = read(&path, id)?;
            let value = parse(&path, bytes);
            parsed.push((path, value));
        }
        return Ok(split(parsed));
    }

    // At 10k claims reading the blobs (inflating pack deltas) and parsing
    // them cost about the same. The object database handle is not `Send`, so
    // this thread reads, in batches, while the others parse.
    type Batch = Vec<(usize, String, Result<Vec<u8>>)>;
    let count = files.len();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(threads * 4);
    let rx = std::sync::Mutex::new(rx);
    let (read_result, parsed) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (rx, parse) = (&rx, &parse);
                s.spawn(move || {
                    let mut out = Vec::new();
                    loop {
                        // The lock is only held while waiting for the next batch.
                        let next = rx
                            .lock()
                            .map_err(|_| ())
                            .and_then(|r| r.recv().map_err(|_| ()));
                        let Ok(batch) = next else { break };
                        for (i, path, bytes) in batch {
                            let value = parse(&path, bytes);
                            out.push((i, path, value));
                        }
                    }
                    out
                })
            })
            .collect();
        let read_result = (|| -> Result<()> {
            let mut batch = Vec::with_capacity(BATCH);
            for (i, (path, id)) in files.into_iter().enumerate() {
                let bytes = read(&path, id)?;
                batch.push((i, path, bytes));
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    if tx.send(full).is_err() {
                        break;
                    }
                }
            }
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
            Ok(())
        })();
        drop(tx);
        let mut slots: Vec<Option<(String, Result<T>)>> = (0..count).map(|_| None).collect();
        for w in workers {
            for (i, path, value) in w.join().expect("parser thread panicked") {
                slots[i] = Some((path, value));
            }
        }
        (read_result, slots)
    });
    read_result?;
    Ok(split(parsed.into_iter().flatten().collect()))
}

/// Parsed files into the good ones and the broken ones, keeping their order.
fn split<T>(parsed: Vec<(String, Result<T>)>) -> Loaded<T> {
    let mut ok = Vec::with_capacity(parsed.len());
    let mut broken = Vec::new();
    for (path, value) in parsed {
        match value {
            Ok(v) => ok.push((path, v)),
            Err(error) => broken.push(Broken { path, error }),
        }
    }
    (ok, broken)
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
