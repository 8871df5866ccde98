//! Writing a batch of new objects as one pack file and its index, instead of
//! one loose file per object.
//!
//! A state commit is a blob, the trees on its path and the commit: five to
//! eight objects, each a new file when written loose. Creating a file is
//! what a write costs on most disks (allocating an inode, journaling the
//! directory entry), far more than the bytes. A pack holds any number of
//! objects in two files, so a writer with many commits to land (a workflow
//! run recording a burst of step results) pays for two files per batch, not
//! eight per commit.
//!
//! The format is git's pack version 2 with an index version 2
//! (gitformat-pack(5)): whole objects only, no deltas (`git gc` makes deltas
//! later), each deflated at the speed git uses for loose objects, or, up to
//! 1 KiB, in zlib's stored blocks ([`STORED_UP_TO`]). Like git,
//! the files are written under temporary names, synced and renamed, the
//! index last: readers find packs by their index, so they never see half a
//! pack. Packs are written as a stream: merging packs copies their entries
//! from file to file, so memory holds the entries' places, not their bytes.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use gix::objs::Kind;
use gix::zlib::stream::deflate::{Compress, FlushCompress};
use gix::zlib::{Compression, Status};
use gix::ObjectId;

use super::fsync::{Components, Durability};

/// The largest offset a 4-byte index entry holds; larger ones go to the
/// index's 8-byte table.
const SMALL_OFFSET_LIMIT: u64 = 0x8000_0000;

/// One object to pack: its id, kind and uncompressed content.
pub struct Entry<'a> {
    pub id: ObjectId,
    pub kind: Kind,
    pub data: &'a [u8],
}

/// A pack [`write()`] put in place.
pub struct Written {
    /// Its index (`.idx`): readers find packs by it.
    pub index: PathBuf,
    /// The `.keep` protecting it from `git gc` until a ref reaches its
    /// objects; `None` when another process keeps it already.
    pub keep: Option<Keep>,
}

/// Write `entries` as `pack-<checksum>.pack` and `.idx` in `pack_dir`
/// (`.git/objects/pack`), together with the entries of the packs in `merge`
/// (see [`merge`]), which are then deleted. The new pack is synced (as
/// `sync` says) and kept (see [`Keep`]) before it is renamed into place.
/// Entries are SHA-1 objects; duplicates are written once.
///
/// A merge input that is gone was folded away by `git gc` or `git repack`,
/// whose pack now holds its objects: it is skipped, as is one that cannot
/// be read as baton's own (left alone), so the write never fails because
/// of a file another process may delete.
pub fn write(pack_dir: &Path, entries: &[Entry<'_>], merge: &[PathBuf], sync: &Durability) -> io::Result<Written> {
    let mut deflater = Deflater::new();
    let prepared = entries
        .iter()
        .map(|entry| deflater.prepare(entry))
        .collect::<io::Result<Vec<_>>>()?;
    write_prepared(pack_dir, prepared, merge, sync)
}

/// One object as it goes into a pack (its entry header and deflated
/// content), made by [`Deflater::prepare`] ahead of [`write_prepared`]: a
/// writer that builds its objects while it waits for more (the workflow
/// runner's write-behind) deflates each as it comes, not all at the end.
pub struct Prepared {
    id: ObjectId,
    crc: u32,
    raw: Vec<u8>,
}

/// Deflates objects for a pack, at the speed git uses for loose objects,
/// with one zlib stream reset between objects (not allocated for each).
pub struct Deflater(Option<Compress>);

thread_local! {
    /// The deflater a thread last let go of, for its next one: making one
    /// allocates and clears zlib's window and hash tables (hundreds of KiB,
    /// fresh pages each time), about a tenth of a millisecond, and every
    /// chain of commits (a workflow run's start, each batch of its results)
    /// deflates with one.
    static SPARE: std::cell::RefCell<Option<Compress>> = const { std::cell::RefCell::new(None) };
}

impl Default for Deflater {
    fn default() -> Self {
        Deflater::new()
    }
}

impl Drop for Deflater {
    fn drop(&mut self) {
        let spare = self.0.take();
        // A thread that is exiting has no spare to keep.
        let _ = SPARE.try_with(|slot| *slot.borrow_mut() = spare);
    }
}

/// Objects this small are stored in their zlib stream as they are, not
/// compressed: a state commit's commit object and most of its trees are a
/// few hundred bytes, mostly object ids, which deflating barely shrinks,
/// while each deflate resets the stream's 64 KiB hash table.
const STORED_UP_TO: usize = 1024;

impl Deflater {
    /// A deflater; its zlib stream is made (or the thread's spare taken)
    /// when an object first needs one.
    pub fn new() -> Self {
        Deflater(None)
    }

    fn stream(&mut self) -> &mut Compress {
        self.0.get_or_insert_with(|| {
            let spare = SPARE.try_with(|slot| slot.borrow_mut().take()).ok().flatten();
            spare.unwrap_or_else(|| Compress::new(Compression::BEST_SPEED))
        })
    }

    pub fn prepare(&mut self, entry: &Entry<'_>) -> io::Result<Prepared> {
        let mut raw = Vec::with_capacity(entry.data.len() / 2 + 16);
        entry_header(&mut raw, entry.kind, entry.data.len() as u64);
        if entry.data.len() <= STORED_UP_TO {
            stored(entry.data, &mut raw);
        } else {
            deflate(self.stream(), entry.data, &mut raw)?;
        }
        Ok(Prepared {
            id: entry.id,
            crc: crc32fast::hash(&raw),
            raw,
        })
    }
}

/// [`write()`], with the entries deflated already.
pub fn write_prepared(
    pack_dir: &Path,
    entries: Vec<Prepared>,
    merge: &[PathBuf],
    sync: &Durability,
) -> io::Result<Written> {
    let mut packed: Vec<Packed<'_>> = entries
        .into_iter()
        .map(|p| Packed {
            id: p.id,
            crc: p.crc,
            raw: Raw::Memory(p.raw),
        })
        .collect();
    let inputs = open_packs(merge);
    for input in &inputs {
        packed.extend(input.entries());
    }
    let written = assemble(pack_dir, packed, sync, true)?;
    remove_packs(inputs.iter().map(|i| &i.index), &written.index)?;
    Ok(written)
}

/// Combine packs this process wrote (`.idx` paths, in `pack_dir`) into one,
/// synced, then delete them; `None` when none of them could be merged.
/// Their entries are copied as they are: baton's packs hold whole objects,
/// so no entry refers to another by its offset. A pack that is gone (`git
/// gc` folded it) or has deltas is skipped. The merged pack holds objects
/// a ref reaches already, so it is not kept.
pub fn merge(pack_dir: &Path, indices: &[PathBuf], sync: &Durability) -> io::Result<Option<PathBuf>> {
    let inputs = open_packs(indices);
    if inputs.is_empty() {
        return Ok(None);
    }
    let packed = inputs.iter().flat_map(Input::entries).collect();
    let written = assemble(pack_dir, packed, sync, false)?;
    remove_packs(inputs.iter().map(|i| &i.index), &written.index)?;
    Ok(Some(written.index))
}

/// A pack to merge: its index's path, the open pack file (readable even if
/// deleted meanwhile) and where each entry sits in it.
struct Input {
    index: PathBuf,
    file: File,
    /// (id, CRC-32, offset, length) of each entry.
    located: Vec<(ObjectId, u32, u64, u64)>,
}

impl Input {
    fn entries(&self) -> impl Iterator<Item = Packed<'_>> {
        self.located.iter().map(|&(id, crc, offset, len)| Packed {
            id,
            crc,
            raw: Raw::Pack {
                file: &self.file,
                offset,
                len,
            },
        })
    }
}

/// The packs of `indices` that are there and baton's own; the others (gone,
/// even between their two files; with deltas; unreadable) are left out.
fn open_packs(indices: &[PathBuf]) -> Vec<Input> {
    indices.iter().filter_map(|index| open_pack(index).ok()).collect()
}

fn open_pack(index: &Path) -> io::Result<Input> {
    let idx = std::fs::read(index)?;
    let file = File::open(index.with_extension("pack"))?;
    let mut located = read_index(&idx)?;
    // Entry i of a pack ends where the next one (by offset) starts.
    located.sort_by_key(|&(_, _, offset)| offset);
    let pack_end = file
        .metadata()?
        .len()
        .checked_sub(20)
        .ok_or_else(|| corrupt("pack shorter than its checksum"))?;
    let mut entries = Vec::with_capacity(located.len());
    for (i, &(id, crc, offset)) in located.iter().enumerate() {
        let end = located.get(i + 1).map_or(pack_end, |&(_, _, next)| next);
        if offset < 12 || end <= offset || end > pack_end {
            return Err(corrupt("an index offset lies outside its pack"));
        }
        let mut first = [0u8; 1];
        file.read_exact_at(&mut first, offset)?;
        if matches!((first[0] >> 4) & 0x7, 6 | 7) {
            return Err(io::Error::other(
                "the pack has deltas; only baton's own packs are merged",
            ));
        }
        entries.push((id, crc, offset, end - offset));
    }
    Ok(Input {
        index: index.to_owned(),
        file,
        located: entries,
    })
}

/// Delete the packs behind `indices`, except `kept` (when a merge came out
/// identical to one of them).
fn remove_packs<'p>(indices: impl Iterator<Item = &'p PathBuf>, kept: &Path) -> io::Result<()> {
    for index in indices.filter(|index| index.as_path() != kept) {
        // The index first: readers find packs by their index.
        for path in [index.clone(), index.with_extension("pack")] {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    Ok(())
}

/// The size of the pack behind an index.
pub fn size(index: &Path) -> u64 {
    std::fs::metadata(index.with_extension("pack")).map_or(0, |m| m.len())
}

/// A `pack-<checksum>.keep` this process made (git's `index-pack --keep`
/// convention): while it exists, `git gc` and `git repack` leave the pack
/// alone, so a pack whose objects no ref reaches yet is not pruned between
/// its writing and the ref update. Removed when dropped; one left by a
/// killed process names it (`baton pid <pid>`).
#[derive(Debug)]
pub struct Keep {
    path: PathBuf,
}

impl Keep {
    /// Take the keep file at `path`; `None` when it exists already (someone
    /// else keeps the pack, and will release it).
    fn take(path: PathBuf) -> io::Result<Option<Keep>> {
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path);
        match file {
            Ok(mut file) => {
                let keep = Keep { path };
                file.write_all(format!("baton pid {}\n", std::process::id()).as_bytes())?;
                Ok(Some(keep))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Drop for Keep {
    fn drop(&mut self) {
        // A keep that cannot be removed only keeps a pack longer.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One entry as it goes into a pack: header and deflated data.
struct Packed<'a> {
    id: ObjectId,
    crc: u32,
    raw: Raw<'a>,
}

/// Where an entry's packed bytes are.
enum Raw<'a> {
    /// Deflated just now.
    Memory(Vec<u8>),
    /// In a pack being merged.
    Pack { file: &'a File, offset: u64, len: u64 },
}

/// Write the pack and its index under temporary names, sync them, keep the
/// pack (`keep`), then rename them into place, the index last, and sync the
/// directory: readers find packs by their index, so they never see half a
/// pack, and once this returns the pack survives a crash.
fn assemble(pack_dir: &Path, mut entries: Vec<Packed<'_>>, sync: &Durability, keep: bool) -> io::Result<Written> {
    entries.sort_by_key(|e| e.id);
    entries.dedup_by(|a, b| a.id == b.id);
    std::fs::create_dir_all(pack_dir)?;
    let mut staged_pack = temporary(pack_dir)?;
    let (checksum, located) = stream_pack(staged_pack.as_file_mut(), &entries)?;
    drop(entries);
    let index = encode_index(&located, &checksum)?;

    let name = format!("pack-{}", hex(&checksum));
    let pack_path = pack_dir.join(format!("{name}.pack"));
    let index_path = pack_dir.join(format!("{name}.idx"));
    let keep_path = pack_dir.join(format!("{name}.keep"));
    if index_path.exists() {
        // The same objects were packed before: the pack is already complete.
        let keep = if keep { Keep::take(keep_path)? } else { None };
        return Ok(Written {
            index: index_path,
            keep,
        });
    }
    let staged_index = write_synced(pack_dir, staged_pack.as_file(), &index, sync)?;
    let keep = if keep { Keep::take(keep_path)? } else { None };
    staged_pack.persist(&pack_path).map_err(|e| e.error)?;
    staged_index.persist(&index_path).map_err(|e| e.error)?;
    sync.sync_dir(Components::PACK, pack_dir)?;
    Ok(Written {
        index: index_path,
        keep,
    })
}

/// Sync the pack `file` while the `index` is written to a temporary file
/// in `pack_dir` and synced: both reach the disk before this returns, and
/// on a disk where a sync is a wait of a fraction of a millisecond or more
/// the two waits overlap instead of adding up.
fn write_synced(pack_dir: &Path, file: &File, index: &[u8], sync: &Durability) -> io::Result<tempfile::NamedTempFile> {
    let write_index = || -> io::Result<tempfile::NamedTempFile> {
        let mut staged = temporary(pack_dir)?;
        staged.write_all(index)?;
        sync.sync_file(Components::PACK_METADATA, staged.as_file())?;
        Ok(staged)
    };
    if !sync.components.contains(Components::PACK) {
        return write_index();
    }
    std::thread::scope(|scope| {
        let pack = scope.spawn(|| sync.sync_file(Components::PACK, file));
        let index = write_index();
        pack.join()
            .unwrap_or_else(|_| Err(io::Error::other("syncing the pack panicked")))?;
        index
    })
}

/// A temporary file in `dir`, to be renamed into place. Pack files are
/// read-only, as git leaves them.
fn temporary(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix("tmp_baton_")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o444))
        .tempfile_in(dir)
}

/// Where an object sits in the pack, and the CRC-32 of its packed bytes.
struct Located {
    id: ObjectId,
    offset: u64,
    crc: u32,
}

/// Write a pack of `entries` to `file`: header, entries, checksum. Returns
/// the checksum and where each entry went.
fn stream_pack(file: &mut File, entries: &[Packed<'_>]) -> io::Result<([u8; 20], Vec<Located>)> {
    let count = u32::try_from(entries.len()).map_err(|_| io::Error::other("too many objects for one pack"))?;
    let mut out = Hashing {
        inner: BufWriter::with_capacity(256 * 1024, file),
        hasher: gix::hash::hasher(gix::hash::Kind::Sha1),
        written: 0,
    };
    out.write_all(b"PACK")?;
    out.write_all(&2u32.to_be_bytes())?;
    out.write_all(&count.to_be_bytes())?;
    let mut located = Vec::with_capacity(entries.len());
    let mut buf = vec![0u8; 64 * 1024];
    for entry in entries {
        located.push(Located {
            id: entry.id,
            offset: out.written,
            crc: entry.crc,
        });
        match &entry.raw {
            Raw::Memory(raw) => out.write_all(raw)?,
            Raw::Pack { file, offset, len } => {
                let (mut at, end) = (*offset, offset + len);
                while at < end {
                    let n = ((end - at) as usize).min(buf.len());
                    file.read_exact_at(&mut buf[..n], at)?;
                    out.write_all(&buf[..n])?;
                    at += n as u64;
                }
            }
        }
    }
    let checksum = out.hasher.try_finalize().map_err(io::Error::other)?;
    let checksum: [u8; 20] = checksum.as_bytes().try_into().expect("SHA-1 is 20 bytes");
    out.inner.write_all(&checksum)?;
    out.inner.flush()?;
    Ok((checksum, located))
}

/// A writer that hashes what goes through it and counts it.
struct Hashing<W> {
    inner: W,
    hasher: gix::hash::Hasher,
    written: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// An entry's header: the type in bits 4–6 of the first byte, the size in
/// 4 bits there and 7 bits per following byte, low bits first.
fn entry_header(out: &mut Vec<u8>, kind: Kind, size: u64) {
    let type_bits: u8 = match kind {
        Kind::Commit => 1,
        Kind::Tree => 2,
        Kind::Blob => 3,
        Kind::Tag => 4,
    };
    let mut byte = (type_bits << 4) | (size & 0x0f) as u8;
    let mut rest = size >> 4;
    while rest != 0 {
        out.push(byte | 0x80);
        byte = (rest & 0x7f) as u8;
        rest >>= 7;
    }
    out.push(byte);
}

/// `data` as a zlib stream of stored (uncompressed) deflate blocks
/// (RFC 1950 and 1951): what any inflater, git's included, reads back.
fn stored(data: &[u8], out: &mut Vec<u8>) {
    // CMF: deflate, 32 KiB window; FLG: fastest level, check bits.
    out.extend_from_slice(&[0x78, 0x01]);
    let mut blocks = data.chunks(usize::from(u16::MAX)).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        let last = u8::from(blocks.peek().is_none());
        let len = block.len() as u16;
        out.push(last);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
}

/// zlib's checksum of `data`.
fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    // The most bytes summed before `b` could overflow 32 bits.
    const RUN: usize = 5_552;
    let (mut a, mut b) = (1u32, 0u32);
    for run in data.chunks(RUN) {
        for &byte in run {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

fn deflate(compress: &mut Compress, mut input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    compress.reset();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let (read_before, written_before) = (compress.total_in(), compress.total_out());
        let status = compress
            .compress(input, &mut buf, FlushCompress::Finish)
            .map_err(io::Error::other)?;
        out.extend_from_slice(&buf[..(compress.total_out() - written_before) as usize]);
        input = &input[(compress.total_in() - read_before) as usize..];
        if status == Status::StreamEnd {
            return Ok(());
        }
    }
}

/// Index version 2: fan-out table, sorted ids, CRC-32s, offsets (and the
/// 8-byte table for offsets past 2 GiB), the pack's checksum, its own.
fn encode_index(located: &[Located], pack_checksum: &[u8; 20]) -> io::Result<Vec<u8>> {
    let mut index = Vec::with_capacity(8 + 256 * 4 + located.len() * 28 + 40);
    index.extend_from_slice(INDEX_MAGIC);
    index.extend_from_slice(&2u32.to_be_bytes());
    let mut fanout = [0u32; 256];
    for entry in located {
        fanout[entry.id.as_bytes()[0] as usize] += 1;
    }
    let mut total = 0u32;
    for count in fanout {
        total += count;
        index.extend_from_slice(&total.to_be_bytes());
    }
    for entry in located {
        index.extend_from_slice(entry.id.as_bytes());
    }
    for entry in located {
        index.extend_from_slice(&entry.crc.to_be_bytes());
    }
    let mut large = Vec::new();
    for entry in located {
        let small = if entry.offset < SMALL_OFFSET_LIMIT {
            entry.offset as u32
        } else {
            large.push(entry.offset);
            0x8000_0000 | (large.len() as u32 - 1)
        };
        index.extend_from_slice(&small.to_be_bytes());
    }
    for offset in large {
        index.extend_from_slice(&offset.to_be_bytes());
    }
    index.extend_from_slice(pack_checksum);
    let own = sha1(&index)?;
    index.extend_from_slice(&own);
    Ok(index)
}

const INDEX_MAGIC: &[u8; 4] = b"\xfftOc";

/// The (id, CRC-32, offset) of every object in an index version 2.
fn read_index(index: &[u8]) -> io::Result<Vec<(ObjectId, u32, u64)>> {
    let be32 = |at: usize| -> io::Result<u32> {
        index
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes(b.try_into().expect("four bytes")))
            .ok_or_else(|| corrupt("index truncated"))
    };
    if index.get(..4) != Some(INDEX_MAGIC.as_slice()) || be32(4)? != 2 {
        return Err(corrupt("not a version 2 pack index"));
    }
    let count = be32(8 + 255 * 4)? as usize;
    let ids_at = 8 + 256 * 4;
    let crcs_at = ids_at + count * 20;
    let offsets_at = crcs_at + count * 4;
    let large_at = offsets_at + count * 4;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let id = index
            .get(ids_at + i * 20..ids_at + (i + 1) * 20)
            .ok_or_else(|| corrupt("index truncated"))?;
        let small = be32(offsets_at + i * 4)?;
        let offset = if small & 0x8000_0000 == 0 {
            u64::from(small)
        } else {
            let at = large_at + (small & 0x7fff_ffff) as usize * 8;
            index
                .get(at..at + 8)
                .map(|b| u64::from_be_bytes(b.try_into().expect("eight bytes")))
                .ok_or_else(|| corrupt("index truncated"))?
        };
        out.push((ObjectId::from_bytes_or_panic(id), be32(crcs_at + i * 4)?, offset));
    }
    Ok(out)
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// SHA-1 of a pack or index (gix's hasher: with the CPU's SHA
/// instructions where it has them, twice as fast as the `sha1_smol` crate baton used to link).
fn sha1(bytes: &[u8]) -> io::Result<[u8; 20]> {
    let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
    hasher.update(bytes);
    let id = hasher.try_finalize().map_err(io::Error::other)?;
    Ok(id.as_bytes().try_into().expect("SHA-1 is 20 bytes"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(text: &str) -> (ObjectId, Vec<u8>) {
        let data = text.as_bytes().to_vec();
        let id = gix::objs::compute_hash(gix::hash::Kind::Sha1, Kind::Blob, &data).unwrap();
        (id, data)
    }

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn entry((id, data): &(ObjectId, Vec<u8>)) -> Entry<'_> {
        Entry {
            id: *id,
            kind: Kind::Blob,
            data,
        }
    }

    fn keep_of(index: &Path) -> PathBuf {
        index.with_extension("keep")
    }

    #[test]
    fn stored_streams_inflate_to_their_data() {
        for len in [0usize, 1, 1000, 65_535, 65_536, 140_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let mut stream = Vec::new();
            stored(&data, &mut stream);
            let mut inflated = Vec::new();
            let mut inflate = gix::zlib::Inflate::default();
            let mut out = vec![0u8; len + 64];
            let (status, read, written) = inflate
                .once(&stream, &mut out)
                .unwrap_or_else(|e| panic!("{len} bytes: {e}"));
            inflated.extend_from_slice(&out[..written]);
            assert_eq!(status, gix::zlib::Status::StreamEnd, "{len} bytes");
            assert_eq!(read, stream.len(), "{len} bytes: the whole stream, checksum included");
            assert_eq!(inflated, data, "{len} bytes");
        }
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn written_and_merged_packs_are_read_by_git() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q"]);
        let pack_dir = dir.path().join(".git/objects/pack");
        let sync = Durability::default();
        let big = "x".repeat(70_000); // sizes past one header byte and one deflate block
                                      // Small objects are stored, larger ones deflated: git reads both.
        let middling = "y".repeat(5_000);
        let blobs: Vec<_> = ["one", "two", big.as_str(), "one", middling.as_str()]
            .iter()
            .map(|t| blob(t))
            .collect();
        let first = write(&pack_dir, &[entry(&blobs[0]), entry(&blobs[1])], &[], &sync).unwrap();
        let second = write(
            &pack_dir,
            &[entry(&blobs[2]), entry(&blobs[3]), entry(&blobs[4])],
            &[],
            &sync,
        )
        .unwrap();
        // Kept until released: a gc meanwhile leaves them alone.
        assert!(keep_of(&first.index).exists() && keep_of(&second.index).exists());
        let [first, second] = [first, second].map(|written| written.index.clone());
        assert!(!keep_of(&first).exists(), "dropping the keep releases the pack");
        let merged = merge(&pack_dir, &[first.clone(), second.clone()], &sync)
            .unwrap()
            .unwrap();
        assert!(!first.exists() && !second.exists() && merged.exists());
        assert!(!keep_of(&merged).exists(), "a merge of landed packs is not kept");
        let verify = git(dir.path(), &["verify-pack", "-v", merged.to_str().unwrap()]);
        assert!(verify.contains(": ok"), "{verify}");
        assert!(verify.contains("non delta: 4 objects"), "{verify}");
        for (id, data) in &blobs {
            assert_eq!(
                git(dir.path(), &["cat-file", "blob", &id.to_string()]).as_bytes(),
                &data[..]
            );
        }
        // Merging into a pack with a new batch, as a run's last write does.
        let last = write(
            &pack_dir,
            &[entry(&blob("three"))],
            std::slice::from_ref(&merged),
            &sync,
        )
        .unwrap();
        assert!(!merged.exists());
        let verify = git(dir.path(), &["verify-pack", "-v", last.index.to_str().unwrap()]);
        assert!(verify.contains("non delta: 5 objects"), "{verify}");
    }

    #[test]
    fn merge_inputs_that_are_gone_or_not_ours_are_skipped_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q"]);
        let pack_dir = dir.path().join(".git/objects/pack");
        let sync = Durability::from_config(Some("none"), None, None);
        let (one, two) = (blob("one"), blob("two"));
        let first = write(&pack_dir, &[entry(&one)], &[], &sync).unwrap().index;
        let second = write(&pack_dir, &[entry(&two)], &[], &sync).unwrap().index;
        // What `git repack -a -d` does to a pack it folded: both files gone.
        std::fs::remove_file(&first).unwrap();
        std::fs::remove_file(first.with_extension("pack")).unwrap();
        // A pack that is not a baton pack (a truncated one here) is not merged or deleted.
        let foreign = pack_dir.join("pack-0000000000000000000000000000000000000000.idx");
        std::fs::write(&foreign, b"not an index").unwrap();
        std::fs::write(foreign.with_extension("pack"), b"PACK").unwrap();
        let last = write(
            &pack_dir,
            &[entry(&blob("three"))],
            &[first.clone(), second.clone(), foreign.clone()],
            &sync,
        )
        .unwrap();
        assert!(!second.exists(), "the input that was there is merged and deleted");
        assert!(foreign.exists(), "an input that cannot be merged is left alone");
        let verify = git(dir.path(), &["verify-pack", "-v", last.index.to_str().unwrap()]);
        assert!(verify.contains("non delta: 2 objects"), "{verify}");
        // Nothing left to merge: no empty pack.
        assert!(merge(&pack_dir, &[first], &sync).unwrap().is_none());
    }

    #[test]
    fn entry_header_encodes_type_and_size_little_endian_in_7_bit_groups() {
        let mut out = Vec::new();
        entry_header(&mut out, Kind::Blob, 5);
        assert_eq!(out, [0x35]);
        out.clear();
        entry_header(&mut out, Kind::Commit, 0x123);
        // low nibble 3 with the continuation bit, then 0x12.
        assert_eq!(out, [0x80 | 0x10 | 0x3, 0x12]);
    }
}
