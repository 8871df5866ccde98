//! The typed view of a state snapshot: where each subsystem's files live and
//! how they load, schema-checked, and what this baton makes of any one file
//! ([`verify`]: parses, written by a newer baton, broken, or not its to
//! judge). The operations layer reads state through here, so the store
//! (files in commits) and the subsystems (claims, agents, runs, policy)
//! never have to know about each other.

use crate::claims::{self, Claim};
use crate::codec;
use crate::config::{self, Config};
use crate::delivery::{self, Delivery};
use crate::error::{Error, Result};
use crate::ids::{AgentId, ClaimId, RunId};
use crate::learn::stats::{self, CommandStats, RouteStats};
use crate::pool::{self, Agent};
use crate::store::{Entry, EntryKind, Snapshot};
use crate::workflow::ledger::{self, Run};

pub use crate::broken::Broken;

pub fn config(snap: &Snapshot<'_>) -> Result<Config> {
    match snap.read(config::PATH)? {
        Some(bytes) => Config::parse(config::PATH, &bytes),
        None => Ok(Config::default()),
    }
}

/// `learn/commands.toml`: the command outcome statistics (empty when absent).
pub fn command_stats(snap: &Snapshot<'_>) -> Result<CommandStats> {
    match snap.read(stats::COMMANDS_PATH)? {
        Some(bytes) => CommandStats::parse(&bytes),
        None => Ok(CommandStats::default()),
    }
}

/// Only the tables of `families` in `learn/commands.toml`: what judging one
/// line needs, without parsing the whole file (see [`CommandStats::partial`]).
pub fn command_stats_of(snap: &Snapshot<'_>, families: &[String]) -> Result<CommandStats> {
    if families.is_empty() {
        return Ok(CommandStats::default());
    }
    match snap.read(stats::COMMANDS_PATH)? {
        Some(bytes) => CommandStats::partial(&bytes, families),
        None => Ok(CommandStats::default()),
    }
}

/// `learn/routes.toml`: delivery outcomes per pool role (empty when absent).
pub fn route_stats(snap: &Snapshot<'_>) -> Result<RouteStats> {
    match snap.read(stats::ROUTES_PATH)? {
        Some(bytes) => RouteStats::parse(&bytes),
        None => Ok(RouteStats::default()),
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

/// Every delivery that parses, newest first, and the ledgers that do not
/// (or are no file at all: a symlink, a `..` entry of a fetched tree): one
/// bad ledger must not hide the others.
pub fn readable_deliveries(snap: &Snapshot<'_>) -> Result<(Vec<Delivery>, Vec<Broken>)> {
    let (mut ledgers, broken) = load_all_json::<Delivery>(snap, delivery::DIR, |d| d.schema)?;
    ledgers.sort_by(|a, b| b.0.cmp(&a.0));
    Ok((ledgers.into_iter().map(|(_, d)| d).collect(), broken))
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
/// set aside (doctor reports them; other commands refuse on the first). A
/// file that cannot even be read — a gitlink, a symlink, an object missing
/// from the object database — is set aside too, never an error of its own.
pub fn load_all<T>(snap: &Snapshot<'_>, dir: &str, schema_of: impl Fn(&T) -> u32 + Sync) -> Result<Loaded<T>>
where
    T: serde::de::DeserializeOwned + Send,
{
    let blobs: Vec<(String, Result<Vec<u8>>)> = snap
        .files_under(dir)?
        .into_iter()
        .map(|entry| {
            let bytes = read_toml_entry(snap, &entry);
            (entry.path, bytes)
        })
        .collect();
    let parsed = parallel(&blobs, |(path, bytes)| {
        let value = bytes
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|b| decode_checked(path, b, codec::decode_toml::<T>, &schema_of));
        (path.clone(), value)
    });
    Ok(split(parsed))
}

/// The bytes of a file where only `.toml` files belong (claims, agents).
pub fn read_toml_entry(snap: &Snapshot<'_>, entry: &Entry) -> Result<Vec<u8>> {
    if entry.path.ends_with(".toml") {
        read_entry(snap, entry)
    } else {
        Err(codec::corrupt(&entry.path, "only .toml files belong here").into())
    }
}

/// One file of a directory [`load_all`] reads, parsed exactly as it would
/// parse it (for readers that take files one by one: the daemon's
/// incremental pass).
pub fn load_toml_entry<T: serde::de::DeserializeOwned>(
    snap: &Snapshot<'_>,
    entry: &Entry,
    schema_of: impl Fn(&T) -> u32,
) -> Result<T> {
    read_toml_entry(snap, entry).and_then(|b| decode_checked(&entry.path, &b, codec::decode_toml::<T>, schema_of))
}

/// A TOML file's bytes (from [`read_toml_entry`]) parsed exactly as
/// [`load_all`] parses them, wherever they were read.
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    path: &str,
    bytes: &[u8],
    schema_of: impl Fn(&T) -> u32,
) -> Result<T> {
    decode_checked(path, bytes, codec::decode_toml::<T>, schema_of)
}

/// A JSON record's bytes (from [`read_entry`]) parsed exactly as [`load_all_json`] parses them.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    path: &str,
    bytes: &[u8],
    schema_of: impl Fn(&T) -> u32,
) -> Result<T> {
    decode_checked(path, bytes, codec::decode_json::<T>, schema_of)
}

/// One record of a directory [`load_all_json`] reads, parsed exactly as it would parse it.
pub fn load_json_entry<T: serde::de::DeserializeOwned>(
    snap: &Snapshot<'_>,
    entry: &Entry,
    schema_of: impl Fn(&T) -> u32,
) -> Result<T> {
    read_entry(snap, entry).and_then(|b| decode_checked(&entry.path, &b, codec::decode_json::<T>, schema_of))
}

/// `f` over `items`, on up to 8 threads when there are many: parsing
/// dominates at 10k claims.
pub fn parallel<I: Sync, O: Send>(items: &[I], f: impl Fn(&I) -> O + Sync) -> Vec<O> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let chunk = items.len().div_ceil(threads).max(256);
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<O>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("parser thread panicked"))
            .collect()
    })
}

fn split<T>(parsed: Vec<(String, Result<T>)>) -> Loaded<T> {
    let mut ok = Vec::new();
    let mut broken = Vec::new();
    for (path, value) in parsed {
        match value {
            Ok(v) => ok.push((path, v)),
            Err(error) => broken.push(Broken { path, error }),
        }
    }
    (ok, broken)
}

/// Decode one file and check its schema.
fn decode_checked<T>(
    path: &str,
    bytes: &[u8],
    decode: impl Fn(&str, &[u8]) -> std::result::Result<T, codec::Corrupt>,
    schema_of: impl Fn(&T) -> u32,
) -> Result<T> {
    let value = decode(path, bytes)?;
    codec::check_schema(path, schema_of(&value))?;
    Ok(value)
}

/// The bytes of a file entry; a gitlink, a symlink or a missing object is
/// a file that does not parse.
pub fn read_entry(snap: &Snapshot<'_>, entry: &Entry) -> Result<Vec<u8>> {
    match entry.kind {
        EntryKind::File => snap.read_blob(entry.id).map_err(|e| {
            codec::corrupt(
                &entry.path,
                format!("its object {} cannot be read ({})", entry.id, e.message()),
            )
            .into()
        }),
        EntryKind::Symlink => Err(codec::corrupt(&entry.path, "it is a symbolic link, not a file").into()),
        EntryKind::Gitlink => Err(codec::corrupt(
            &entry.path,
            format!("it is a gitlink (a submodule entry) to {}, not a file", entry.id),
        )
        .into()),
    }
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
    let parsed = snap
        .files_under(dir)?
        .into_iter()
        .map(|entry| {
            let value = load_json_entry(snap, &entry, &schema_of);
            (entry.path, value)
        })
        .collect();
    Ok(split(parsed))
}

/// What this baton makes of one file of the state tree.
#[derive(Debug, Clone)]
pub enum FileVerdict {
    /// It parses against the schema of where it lives.
    Parses,
    /// A newer baton wrote it (a higher `schema`): left as it is, not corrupt.
    Newer(Error),
    /// It does not parse, or cannot be read as a file.
    Broken(Error),
    /// No schema is known for where it lives (a top-level entry of a later
    /// subsystem, `quarantine/`): not this baton's to judge.
    Unknown,
}

impl FileVerdict {
    fn of(result: Result<()>) -> FileVerdict {
        match result {
            Ok(()) => FileVerdict::Parses,
            Err(e) if e.is::<codec::NewerSchema>() => FileVerdict::Newer(e),
            Err(e) => FileVerdict::Broken(e),
        }
    }
}

/// What the file `entry` of `snap` is to this baton: parsed with the schema
/// of its directory, exactly as the commands that read it would.
pub fn verify(snap: &Snapshot<'_>, entry: &Entry) -> FileVerdict {
    match checker(&entry.path) {
        None => FileVerdict::Unknown,
        Some(check) => FileVerdict::of(read_entry(snap, entry).and_then(|bytes| check(&entry.path, &bytes))),
    }
}

/// The verdicts of many files (in order), parsed in parallel.
pub fn verify_all(snap: &Snapshot<'_>, entries: &[Entry]) -> Vec<FileVerdict> {
    // A snapshot stays on its thread: read here, parse there.
    let read: Vec<(&str, Option<Result<Vec<u8>>>)> = entries
        .iter()
        .map(|e| (e.path.as_str(), checker(&e.path).map(|_| read_entry(snap, e))))
        .collect();
    parallel(&read, |(path, bytes)| match (checker(path), bytes) {
        (Some(check), Some(bytes)) => FileVerdict::of(bytes.clone().and_then(|b| check(path, &b))),
        _ => FileVerdict::Unknown,
    })
}

/// Parses one file's bytes against its schema.
type Check = fn(&str, &[u8]) -> Result<()>;

/// How the files of each place baton reads are checked; `None`: not this
/// baton's to judge.
fn checker(path: &str) -> Option<Check> {
    let under = |dir: &str| path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'));
    if path == config::PATH {
        Some(|p, b| Config::parse(p, b).map(drop))
    } else if under(claims::DIR) {
        Some(|p, b| toml_file::<Claim>(p, b, |c| c.schema))
    } else if under(pool::DIR) {
        Some(|p, b| toml_file::<Agent>(p, b, |a| a.schema))
    } else if under(ledger::DIR) {
        Some(|p, b| decode_checked(p, b, codec::decode_json::<Run>, |r| r.schema).map(drop))
    } else if under(delivery::DIR) {
        Some(|p, b| decode_checked(p, b, codec::decode_json::<Delivery>, |d| d.schema).map(drop))
    } else if path == stats::COMMANDS_PATH {
        Some(|_, b| CommandStats::parse(b).map(drop))
    } else if path == stats::ROUTES_PATH {
        Some(|_, b| RouteStats::parse(b).map(drop))
    } else {
        None
    }
}

fn toml_file<T: serde::de::DeserializeOwned>(path: &str, bytes: &[u8], schema_of: fn(&T) -> u32) -> Result<()> {
    if !path.ends_with(".toml") {
        return Err(codec::corrupt(path, "only .toml files belong here").into());
    }
    decode_checked(path, bytes, codec::decode_toml::<T>, schema_of).map(drop)
}
