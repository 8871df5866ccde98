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
//! later), each deflated at the speed git uses for loose objects. Like git,
//! the files are written under temporary names and renamed, the index last:
//! readers find packs by their index, so they never see half a pack.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use gix::objs::Kind;
use gix::zlib::stream::deflate::{Compress, FlushCompress};
use gix::zlib::{Compression, Status};
use gix::ObjectId;

/// The largest offset a 4-byte index entry holds; larger ones go to the
/// index's 8-byte table.
const SMALL_OFFSET_LIMIT: u64 = 0x8000_0000;

/// One object to pack: its id, kind and uncompressed content.
pub struct Entry<'a> {
    pub id: ObjectId,
    pub kind: Kind,
    pub data: &'a [u8],
}

/// Write `entries` as `pack-<checksum>.pack` and `.idx` in `pack_dir`
/// (`.git/objects/pack`), together with the entries of the packs in `merge`
/// (see [`merge`]), which are then deleted. Returns the index's path.
/// Entries are SHA-1 objects; duplicates are written once.
pub fn write(pack_dir: &Path, entries: &[Entry<'_>], merge: &[PathBuf]) -> io::Result<PathBuf> {
    let mut compress = Compress::new(Compression::BEST_SPEED);
    let mut packed = Vec::with_capacity(entries.len());
    for entry in entries {
        let mut raw = Vec::with_capacity(entry.data.len() / 2 + 16);
        entry_header(&mut raw, entry.kind, entry.data.len() as u64);
        deflate(&mut compress, entry.data, &mut raw)?;
        packed.push(Packed {
            id: entry.id,
            crc: crc32fast::hash(&raw),
            raw: raw.into(),
        });
    }
    let contents = read_packs(merge)?;
    packed.extend(entries_of(&contents)?);
    let written = assemble(pack_dir, packed)?;
    remove_packs(merge, &written)?;
    Ok(written)
}

/// Combine packs this process wrote (`.idx` paths, in `pack_dir`) into one,
/// then delete them. Their entries are copied as they are: baton's packs
/// hold whole objects, so no entry refers to another by its offset. A pack
/// with deltas is refused (and left alone).
pub fn merge(pack_dir: &Path, indices: &[PathBuf]) -> io::Result<PathBuf> {
    write(pack_dir, &[], indices)
}

/// Each pack's index and data.
fn read_packs(indices: &[PathBuf]) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    indices
        .iter()
        .map(|index| Ok((std::fs::read(index)?, std::fs::read(index.with_extension("pack"))?)))
        .collect()
}

/// The entries of packs read by [`read_packs`], as they sit in them.
fn entries_of(contents: &[(Vec<u8>, Vec<u8>)]) -> io::Result<Vec<Packed<'_>>> {
    let mut packed = Vec::new();
    for (index, pack) in contents {
        for (id, crc, offset) in read_index(index)? {
            packed.push((id, crc, offset, pack.as_slice()));
        }
    }
    // Entry i of a pack ends where the next one (by offset) starts.
    packed.sort_by_key(|&(_, _, offset, pack)| (pack.as_ptr() as usize, offset));
    let mut entries = Vec::with_capacity(packed.len());
    for (i, &(id, crc, offset, pack)) in packed.iter().enumerate() {
        let end = match packed.get(i + 1) {
            Some(&(_, _, next, next_pack)) if std::ptr::eq(next_pack, pack) => next,
            _ => (pack.len() as u64)
                .checked_sub(20)
                .ok_or_else(|| corrupt("pack shorter than its checksum"))?,
        };
        let raw = pack
            .get(offset as usize..end as usize)
            .ok_or_else(|| corrupt("an index offset lies outside its pack"))?;
        if matches!(raw.first().map(|b| (b >> 4) & 0x7), Some(6 | 7) | None) {
            return Err(io::Error::other(
                "the pack has deltas; only baton's own packs are merged",
            ));
        }
        entries.push(Packed {
            id,
            crc,
            raw: raw.into(),
        });
    }
    Ok(entries)
}

/// Delete the packs behind `indices`, except `kept` (when a merge came out
/// identical to one of them).
fn remove_packs(indices: &[PathBuf], kept: &Path) -> io::Result<()> {
    for index in indices.iter().filter(|index| index.as_path() != kept) {
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

/// One entry as it sits in a pack: header and deflated data.
struct Packed<'a> {
    id: ObjectId,
    crc: u32,
    raw: std::borrow::Cow<'a, [u8]>,
}

/// Write the pack and its index under temporary names, then rename them.
fn assemble(pack_dir: &Path, mut entries: Vec<Packed<'_>>) -> io::Result<PathBuf> {
    entries.sort_by_key(|e| e.id);
    entries.dedup_by(|a, b| a.id == b.id);
    let (pack, located) = encode_pack(&entries)?;
    let checksum: [u8; 20] = pack[pack.len() - 20..].try_into().expect("a pack ends in its checksum");
    let index = encode_index(&located, &checksum);

    let name = format!("pack-{}", hex(&checksum));
    let pack_path = pack_dir.join(format!("{name}.pack"));
    let index_path = pack_dir.join(format!("{name}.idx"));
    if index_path.exists() {
        // The same objects were packed before: the pack is already complete.
        return Ok(index_path);
    }
    std::fs::create_dir_all(pack_dir)?;
    persist(pack_dir, &pack, &pack_path)?;
    persist(pack_dir, &index, &index_path)?;
    Ok(index_path)
}

/// Write `bytes` to a temporary file in `dir`, then rename it to `path`.
/// Pack files are read-only, as git leaves them.
fn persist(dir: &Path, bytes: &[u8], path: &Path) -> io::Result<()> {
    let mut file = tempfile::Builder::new()
        .prefix("tmp_baton_")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o444))
        .tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Where an object sits in the pack, and the CRC-32 of its packed bytes.
struct Located {
    id: ObjectId,
    offset: u64,
    crc: u32,
}

fn encode_pack(entries: &[Packed<'_>]) -> io::Result<(Vec<u8>, Vec<Located>)> {
    let mut pack = Vec::with_capacity(12 + entries.iter().map(|e| e.raw.len()).sum::<usize>() + 20);
    pack.extend_from_slice(b"PACK");
    pack.extend_from_slice(&2u32.to_be_bytes());
    let count = u32::try_from(entries.len()).map_err(|_| io::Error::other("too many objects for one pack"))?;
    pack.extend_from_slice(&count.to_be_bytes());
    let mut located = Vec::with_capacity(entries.len());
    for entry in entries {
        located.push(Located {
            id: entry.id,
            offset: pack.len() as u64,
            crc: entry.crc,
        });
        pack.extend_from_slice(&entry.raw);
    }
    let checksum = sha1(&pack);
    pack.extend_from_slice(&checksum);
    Ok((pack, located))
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
fn encode_index(located: &[Located], pack_checksum: &[u8; 20]) -> Vec<u8> {
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
    let own = sha1(&index);
    index.extend_from_slice(&own);
    index
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

fn sha1(bytes: &[u8]) -> [u8; 20] {
    sha1_smol::Sha1::from(bytes).digest().bytes()
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

    #[test]
    fn written_and_merged_packs_are_read_by_git() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q"]);
        let pack_dir = dir.path().join(".git/objects/pack");
        let big = "x".repeat(70_000); // sizes past one header byte and one deflate block
        let blobs: Vec<_> = ["one", "two", big.as_str(), "one"].iter().map(|t| blob(t)).collect();
        fn entry((id, data): &(ObjectId, Vec<u8>)) -> Entry<'_> {
            Entry {
                id: *id,
                kind: Kind::Blob,
                data,
            }
        }
        let first = write(&pack_dir, &[entry(&blobs[0]), entry(&blobs[1])], &[]).unwrap();
        let second = write(&pack_dir, &[entry(&blobs[2]), entry(&blobs[3])], &[]).unwrap();
        let merged = merge(&pack_dir, &[first.clone(), second.clone()]).unwrap();
        assert!(!first.exists() && !second.exists() && merged.exists());
        let verify = git(dir.path(), &["verify-pack", "-v", merged.to_str().unwrap()]);
        assert!(verify.contains(": ok"), "{verify}");
        assert!(verify.contains("non delta: 3 objects"), "{verify}");
        for (id, data) in &blobs {
            assert_eq!(
                git(dir.path(), &["cat-file", "blob", &id.to_string()]).as_bytes(),
                &data[..]
            );
        }
        // Merging into a pack with a new batch, as a run's last write does.
        let last = write(&pack_dir, &[entry(&blob("three"))], std::slice::from_ref(&merged)).unwrap();
        assert!(!merged.exists());
        let verify = git(dir.path(), &["verify-pack", "-v", last.to_str().unwrap()]);
        assert!(verify.contains("non delta: 4 objects"), "{verify}");
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
