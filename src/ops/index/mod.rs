//! The machine-local read index: for each directory of records the listing
//! commands read (claims, workflow runs, deliveries), one file under
//! `.git/baton/index/` holding every record's row (what listing filters,
//! sorts and shows), keyed by the id of that directory's tree in the state.
//!
//! - For a tree already indexed the rows come from the file: no claim,
//!   ledger or tree below the directory is read.
//! - For another tree the file is brought up to it from the tree diff
//!   (`Store::tree_changes_under`): only the records that changed are read
//!   and parsed, the others are kept.
//! - A missing, unreadable or corrupt file (a checksum covers it), one
//!   written by another baton version, or one whose tree cannot be read any
//!   more is rebuilt from a full read.
//!
//! It is a cache: rows are made by the same functions either way
//! ([`crate::claims::Row::of`], ...), a file that does not parse is
//! remembered as broken and its error is worked out again from the state
//! when it is asked for, and writing the index is best effort (a read-only
//! repository just reads everything each time). Deleting it changes no
//! answer; `baton doctor` checks it and `--fix` drops one that is corrupt or
//! disagrees with the state.

mod codec;
mod collections;
mod listing;
mod reserved;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use gix::ObjectId;

pub use codec::{Dec, Enc};
pub use collections::{Claims, Deliveries, Runs};
pub use listing::with_claim_rows;
pub use reserved::{held_file, held_file_in, write_held, HeldFile, HeldKey, Reserved, Skimmed};

use crate::doctor::IndexStanding as Standing;
use crate::error::Result;
use crate::state;
use crate::store::{Entry, Snapshot, Store};

/// One directory of records the index keeps rows of.
pub trait Collection {
    /// The index file's name under `.git/baton/index/`.
    const NAME: &'static str;
    /// The records' directory in the state tree.
    const DIR: &'static str;
    type Row: Send;
    /// A record's bytes, read as the full read reads them.
    fn read(snap: &Snapshot<'_>, entry: &Entry) -> Result<Vec<u8>>;
    /// A record's row, parsed as the full read parses it.
    fn parse(path: &str, bytes: &[u8]) -> Result<Self::Row>;
    fn encode(row: &Self::Row, out: &mut Enc);
    fn decode(input: &mut Dec<'_>) -> Option<Self::Row>;
    /// The order of the items in the file, and so of the rows handed out
    /// (`row` is `None` for a record that does not parse): by path, unless
    /// the collection keeps the order its listing shows.
    fn order(a: (&str, Option<&Self::Row>), b: (&str, Option<&Self::Row>)) -> Ordering {
        a.0.cmp(b.0)
    }
}

/// One record as the index keeps it: its path, and its row (`None`: it does
/// not parse; the error is worked out again when asked for).
struct Item<R> {
    path: String,
    row: Option<R>,
}

/// Where the index files live.
pub fn dir(store: &Store) -> PathBuf {
    store.git_dir().join("baton").join("index")
}

fn file<C: Collection>(store: &Store) -> PathBuf {
    dir(store).join(C::NAME)
}

/// Every record of `C` in `snap`, in tree order: its row, or why it does
/// not parse (exactly the error the full read gives).
pub fn rows<C: Collection>(store: &Store, snap: &Snapshot<'_>) -> Result<Vec<(String, Result<C::Row>)>> {
    let mut items = items::<C>(store, snap)?;
    items.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(items
        .into_iter()
        .map(|item| {
            let row = match item.row {
                Some(row) => Ok(row),
                None => broken::<C>(snap, &item.path),
            };
            (item.path, row)
        })
        .collect())
}

/// Every record's row in the collection's order, refusing as
/// `state::all_claims` and its kin do: on the first record in tree order
/// that does not parse.
pub fn strict_rows<C: Collection>(store: &Store, snap: &Snapshot<'_>) -> Result<Vec<C::Row>> {
    resolve::<C>(snap, items::<C>(store, snap)?)
}

/// `items`' rows, those remembered as not parsing read again in path
/// order (tree order): the first that still does not parse is the error.
fn resolve<C: Collection>(snap: &Snapshot<'_>, mut items: Vec<Item<C::Row>>) -> Result<Vec<C::Row>> {
    let mut unparsed: Vec<usize> = (0..items.len()).filter(|&i| items[i].row.is_none()).collect();
    unparsed.sort_by(|&a, &b| items[a].path.cmp(&items[b].path));
    for i in unparsed {
        items[i].row = Some(broken::<C>(snap, &items[i].path)?);
    }
    Ok(items.into_iter().filter_map(|item| item.row).collect())
}

/// `items` in the collection's order.
fn sort<C: Collection>(items: &mut [Item<C::Row>]) {
    items.sort_by(|a, b| C::order((&a.path, a.row.as_ref()), (&b.path, b.row.as_ref())));
}

/// A record remembered as not parsing, read again: its error (or its row,
/// when it reads now — a missing object that was fetched since).
fn broken<C: Collection>(snap: &Snapshot<'_>, path: &str) -> Result<C::Row> {
    let entry = snap
        .entry(path)?
        .ok_or_else(|| crate::codec::corrupt(path, "it is not a file in the state tree"))?;
    C::read(snap, &entry).and_then(|bytes| C::parse(path, &bytes))
}

/// The index's items for `snap`: read, brought up to date, or rebuilt
/// (and written back when they changed).
fn items<C: Collection>(store: &Store, snap: &Snapshot<'_>) -> Result<Vec<Item<C::Row>>> {
    let Some(key) = snap.subtree(C::DIR)? else {
        return Ok(Vec::new());
    };
    let path = file::<C>(store);
    refresh::<C>(store, snap, key, &path, read::<C>(&path))
}

/// `indexed` (what the file at `path` held, if it read) as the items of
/// tree `key`: kept when it is that tree's, else brought up to date or
/// rebuilt, and written back.
fn refresh<C: Collection>(
    store: &Store,
    snap: &Snapshot<'_>,
    key: ObjectId,
    path: &Path,
    indexed: Option<(ObjectId, Vec<Item<C::Row>>)>,
) -> Result<Vec<Item<C::Row>>> {
    let items = match indexed {
        Some((indexed, items)) if indexed == key => return Ok(items),
        Some((indexed, items)) => match update::<C>(store, snap, indexed, key, items) {
            Ok(items) => items,
            Err(_) => build::<C>(snap)?,
        },
        None => build::<C>(snap)?,
    };
    write::<C>(store, path, key, &items);
    Ok(items)
}

/// Every record read and parsed (records are read on this thread, which
/// holds the snapshot, and parsed on several).
fn build<C: Collection>(snap: &Snapshot<'_>) -> Result<Vec<Item<C::Row>>> {
    let read: Vec<(String, Result<Vec<u8>>)> = snap
        .files_under(C::DIR)?
        .into_iter()
        .map(|entry| {
            let bytes = C::read(snap, &entry);
            (entry.path, bytes)
        })
        .collect();
    let mut items = state::parallel(&read, |(path, bytes)| Item {
        path: path.clone(),
        row: bytes.as_ref().ok().and_then(|b| C::parse(path, b).ok()),
    });
    sort::<C>(&mut items);
    Ok(items)
}

/// `items`, indexed at tree `old`, brought up to tree `new`: only the
/// records the diff names are read.
fn update<C: Collection>(
    store: &Store,
    snap: &Snapshot<'_>,
    old: ObjectId,
    new: ObjectId,
    mut items: Vec<Item<C::Row>>,
) -> Result<Vec<Item<C::Row>>> {
    let mut changes = store.tree_changes_under(C::DIR, old, new)?;
    changes.sort_by(|a, b| a.0.cmp(&b.0));
    // Merged by path (already so unless the collection keeps another order).
    items.sort_by(|a, b| a.path.cmp(&b.path));
    let mut out = Vec::with_capacity(items.len() + changes.len());
    let mut kept = items.into_iter().peekable();
    for (path, entry) in changes {
        while let Some(item) = kept.next_if(|item| item.path < path) {
            out.push(item);
        }
        kept.next_if(|item| item.path == path);
        if let Some(entry) = entry {
            let row = C::read(snap, &entry).and_then(|b| C::parse(&path, &b)).ok();
            out.push(Item { path, row });
        }
    }
    out.extend(kept);
    sort::<C>(&mut out);
    Ok(out)
}

/// Names the layout too: bumped when rows are stored differently, so a
/// file from a build of the same version with the old layout is rebuilt
/// (2: a claim's JSON indented for its place in the list).
const MAGIC: &str = "baton-index/2";

/// The first line: what wrote it, for which tree, and the body's checksum and length.
fn header<C: Collection>(key: ObjectId, body: &[u8]) -> String {
    format!(
        "{MAGIC} {} {} {key} {:08x} {}\n",
        C::NAME,
        env!("CARGO_PKG_VERSION"),
        crc32fast::hash(body),
        body.len()
    )
}

fn encode<C: Collection>(items: &[Item<C::Row>]) -> Vec<u8> {
    let mut out = Enc::default();
    out.u64(items.len() as u64);
    let mut row_bytes = Enc::default();
    for item in items {
        out.str(&item.path);
        match &item.row {
            None => out.u8(0),
            Some(row) => {
                out.u8(1);
                row_bytes.0.clear();
                C::encode(row, &mut row_bytes);
                out.bytes(&row_bytes.0);
            }
        }
    }
    out.0
}

/// The index file's tree and items; `None` when it is missing, corrupt, or
/// written by another version of baton (which may make rows differently).
fn read<C: Collection>(path: &Path) -> Option<(ObjectId, Vec<Item<C::Row>>)> {
    decode::<C>(&read_file(path)?)
}

/// An index file's bytes, if it can be read: mapped, so a listing of
/// 100 000 claims reads the page cache in place instead of copying ~30 MB
/// into fresh memory first.
fn read_file(path: &Path) -> Option<Bytes> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: index files are only ever replaced whole (written to a
    // temporary file, then renamed over: `write`) or removed, never
    // written in place, so the mapped file does not change while it is
    // read; a file that is not what was written fails its checksum.
    match unsafe { memmap2::Mmap::map(&file) } {
        Ok(map) => Some(Bytes::Mapped(map)),
        // An empty file cannot be mapped; read whatever is there.
        Err(_) => std::fs::read(path).ok().map(Bytes::Read),
    }
}

/// An index file's contents, mapped or read.
enum Bytes {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(map) => map,
            Bytes::Read(data) => data,
        }
    }
}

fn decode<C: Collection>(data: &[u8]) -> Option<(ObjectId, Vec<Item<C::Row>>)> {
    let (key, body) = split::<C>(data)?;
    let mut items = Vec::new();
    let complete = walk(body, |path, row| {
        let row = match row {
            None => None,
            Some(mut row) => {
                let decoded = C::decode(&mut row)?;
                row.is_empty().then_some(Some(decoded))?
            }
        };
        items.push(Item {
            path: path.to_owned(),
            row,
        });
        Some(())
    });
    complete.then_some((key, items))
}

/// An index file's tree and body, when its header is this version's for
/// `C` and the body is whole (its length and checksum).
fn split<C: Collection>(data: &[u8]) -> Option<(ObjectId, &[u8])> {
    let newline = data.iter().position(|&b| b == b'\n')?;
    let (line, body) = (std::str::from_utf8(&data[..newline]).ok()?, &data[newline + 1..]);
    let fields: Vec<&str> = line.split(' ').collect();
    let [magic, name, version, key, crc, len] = fields[..] else {
        return None;
    };
    if magic != MAGIC || name != C::NAME || version != env!("CARGO_PKG_VERSION") {
        return None;
    }
    if len.parse::<usize>().ok()? != body.len() || u32::from_str_radix(crc, 16).ok()? != crc32fast::hash(body) {
        return None;
    }
    Some((ObjectId::from_hex(key.as_bytes()).ok()?, body))
}

/// Hands each item of `body` to `each` in order: its path, and its row's
/// bytes (`None`: it does not parse). False when the body is malformed or
/// `each` refuses an item; nothing may follow the last item. (The order of
/// the items is not checked here: the checksum guards what was written,
/// and an update sorts the items by path before merging.)
fn walk<'a>(body: &'a [u8], mut each: impl FnMut(&'a str, Option<Dec<'a>>) -> Option<()>) -> bool {
    let mut input = Dec(body);
    let walked = (|| {
        let count = input.u64()?;
        for _ in 0..count {
            let path = input.str()?;
            let row = match input.u8()? {
                0 => None,
                1 => Some(Dec(input.bytes()?)),
                _ => return None,
            };
            each(path, row)?;
        }
        Some(())
    })();
    walked.is_some() && input.is_empty()
}

/// Best effort: an index that cannot be written is rebuilt next time.
/// Never creates `.git` itself (a repository deleted meanwhile stays gone).
fn write<C: Collection>(store: &Store, path: &Path, key: ObjectId, items: &[Item<C::Row>]) {
    if !store.git_dir().is_dir() {
        return;
    }
    let body = encode::<C>(items);
    let mut data = header::<C>(key, &body).into_bytes();
    data.extend_from_slice(&body);
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&tmp, &data))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// The standing of `C`'s index file against `snap`; with `fix`, a file
/// that is unreadable or disagrees is removed (it is rebuilt on next use).
pub fn check<C: Collection>(store: &Store, snap: &Snapshot<'_>, fix: bool) -> Result<(PathBuf, Standing, bool)> {
    let path = file::<C>(store);
    let Ok(data) = std::fs::read(&path) else {
        return Ok((path, Standing::Missing, false));
    };
    let standing = match decode::<C>(&data) {
        None => Standing::Unreadable,
        Some((key, items)) if Some(key) == snap.subtree(C::DIR)? => {
            let fresh = build::<C>(snap)?;
            if encode::<C>(&items) == encode::<C>(&fresh) {
                Standing::Sound
            } else {
                Standing::Disagrees
            }
        }
        Some(_) => Standing::Sound,
    };
    let fixed =
        fix && matches!(standing, Standing::Unreadable | Standing::Disagrees) && std::fs::remove_file(&path).is_ok();
    Ok((path, standing, fixed))
}

/// The standing of every index file, for doctor.
pub fn check_all(store: &Store, snap: &Snapshot<'_>, fix: bool) -> Result<Vec<(PathBuf, Standing, bool)>> {
    Ok(vec![
        check::<Claims>(store, snap, fix)?,
        check::<Runs>(store, snap, fix)?,
        check::<Deliveries>(store, snap, fix)?,
        check::<Reserved>(store, snap, fix)?,
    ])
}
