//! How hard the files baton writes itself are pushed to the disk: git's
//! `core.fsync` (which kinds of files) and `core.fsyncMethod` (how), read
//! the way git reads them, so a repository gets from baton the durability
//! it gets from git.
//!
//! git's default syncs packs and their indexes but not loose objects or
//! refs; baton writes packs itself (`pack.rs`), so it syncs them, and the
//! pack directory after renaming them into place, before the ref may point
//! at their objects. Loose objects are written by gix (never synced, as in
//! git's default); a ref moved by gix is synced afterwards only when
//! `core.fsync` names `reference`.

use std::fs::File;
use std::io;
use std::path::Path;

/// The kinds of files `core.fsync` names, as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Components(u16);

impl Components {
    pub const NONE: Components = Components(0);
    pub const LOOSE_OBJECT: Components = Components(1 << 0);
    pub const PACK: Components = Components(1 << 1);
    pub const PACK_METADATA: Components = Components(1 << 2);
    pub const COMMIT_GRAPH: Components = Components(1 << 3);
    pub const INDEX: Components = Components(1 << 4);
    pub const REFERENCE: Components = Components(1 << 5);
    pub const OBJECT_MAP: Components = Components(1 << 6);
    pub const DIFF_HUNKS: Components = Components(1 << 7);

    const OBJECTS: Components = Components(Self::LOOSE_OBJECT.0 | Self::PACK.0);
    const DERIVED_METADATA: Components = Components(Self::PACK_METADATA.0 | Self::COMMIT_GRAPH.0 | Self::DIFF_HUNKS.0);
    /// git's default: objects and derived metadata, but not loose objects.
    pub const DEFAULT: Components = Components((Self::OBJECTS.0 | Self::DERIVED_METADATA.0) & !Self::LOOSE_OBJECT.0);
    const COMMITTED: Components = Components(Self::OBJECTS.0 | Self::REFERENCE.0);
    const ADDED: Components = Components(Self::COMMITTED.0 | Self::INDEX.0);
    const ALL: Components = Components(0xff);

    /// git's names for components and aggregates (`git help config`, core.fsync).
    const NAMES: &'static [(&'static str, Components)] = &[
        ("loose-object", Self::LOOSE_OBJECT),
        ("pack", Self::PACK),
        ("pack-metadata", Self::PACK_METADATA),
        ("commit-graph", Self::COMMIT_GRAPH),
        ("index", Self::INDEX),
        ("reference", Self::REFERENCE),
        ("object-map", Self::OBJECT_MAP),
        ("diff-hunks", Self::DIFF_HUNKS),
        ("objects", Self::OBJECTS),
        ("derived-metadata", Self::DERIVED_METADATA),
        ("default", Self::DEFAULT),
        ("committed", Self::COMMITTED),
        ("added", Self::ADDED),
        ("all", Self::ALL),
    ];

    pub fn contains(self, other: Components) -> bool {
        self.0 & other.0 == other.0
    }

    /// A `core.fsync` value, as git parses it: a comma-separated list
    /// applied to the default; `none` clears what came before, `-name`
    /// removes, unknown names are ignored (git warns about them).
    pub fn parse(value: &str) -> Components {
        let (mut current, mut positive, mut negative) = (Self::DEFAULT.0, 0u16, 0u16);
        for token in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if token == "none" {
                current = 0;
                continue;
            }
            let (negated, name) = match token.strip_prefix('-') {
                Some(name) => (true, name),
                None => (false, token),
            };
            if let Some((_, bits)) = Self::NAMES.iter().find(|(n, _)| *n == name) {
                if negated {
                    negative |= bits.0;
                } else {
                    positive |= bits.0;
                }
            }
        }
        Components((current & !negative) | positive)
    }
}

/// How a file is pushed out (`core.fsyncMethod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `fsync` (git's default): each file reaches the disk, its cache
    /// flushed, then the directory the same way.
    Fsync,
    /// `writeout-only`: the data is handed to the disk, its cache not
    /// flushed; the directory is not synced.
    WriteoutOnly,
    /// `batch`: each file is only written out, then one full flush (the
    /// directory's fsync) makes them durable together — git's method for
    /// loose objects, applied here to the files of a pack. On Linux file
    /// systems with a journal (ext4, xfs, btrfs) the directory's fsync
    /// commits the journal and flushes the disk's cache, covering the data
    /// written out before it.
    Batch,
}

impl Method {
    /// git's names; an unknown one keeps the default, as git does.
    pub fn parse(value: &str) -> Method {
        match value.trim() {
            "writeout-only" => Method::WriteoutOnly,
            "batch" => Method::Batch,
            _ => Method::Fsync,
        }
    }
}

/// What to sync and how, from one repository's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durability {
    pub components: Components,
    pub method: Method,
}

impl Default for Durability {
    fn default() -> Self {
        Durability {
            components: Components::DEFAULT,
            method: Method::Fsync,
        }
    }
}

impl Durability {
    /// From the values of `core.fsync` and `core.fsyncMethod`, and
    /// `GIT_TEST_FSYNC` (git's own switch to turn syncing off, which its test
    /// suite uses: `0`, `false`, `no` or `off` turn it off here too).
    pub fn from_config(fsync: Option<&str>, method: Option<&str>, test_fsync: Option<&str>) -> Durability {
        let off =
            test_fsync.is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "0" | "false" | "no" | "off"));
        Durability {
            components: if off {
                Components::NONE
            } else {
                fsync.map_or(Components::DEFAULT, Components::parse)
            },
            method: method.map_or(Method::Fsync, Method::parse),
        }
    }

    /// Sync a file of `component` that was just written.
    pub fn sync_file(&self, component: Components, file: &File) -> io::Result<()> {
        if !self.components.contains(component) {
            return Ok(());
        }
        if self.method != Method::Fsync && writeout(file).is_ok() {
            return Ok(());
        }
        file.sync_all()
    }

    /// Sync `dir` after renaming files of `component` into it, so the new
    /// names survive a crash along with the data (not with `writeout-only`,
    /// which does not promise that much; with `batch` this is the one full
    /// flush).
    pub fn sync_dir(&self, component: Components, dir: &Path) -> io::Result<()> {
        if !self.components.contains(component) || self.method == Method::WriteoutOnly {
            return Ok(());
        }
        File::open(dir)?.sync_all()
    }
}

/// Start writing a file's dirty pages and wait for them, without a cache
/// flush (what git does for `writeout-only` on Linux).
#[cfg(target_os = "linux")]
fn writeout(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE | libc::SYNC_FILE_RANGE_WRITE | libc::SYNC_FILE_RANGE_WAIT_AFTER;
    // SAFETY: the descriptor belongs to `file`, open for the whole call.
    match unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, flags) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

#[cfg(not(target_os = "linux"))]
fn writeout(_file: &File) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_syncs_packs_and_their_indexes_but_not_loose_objects_or_refs() {
        let d = Durability::from_config(None, None, None);
        assert!(d.components.contains(Components::PACK));
        assert!(d.components.contains(Components::PACK_METADATA));
        assert!(!d.components.contains(Components::LOOSE_OBJECT));
        assert!(!d.components.contains(Components::REFERENCE));
        assert_eq!(d.method, Method::Fsync);
    }

    #[test]
    fn core_fsync_lists_apply_to_the_default_as_git_parses_them() {
        let p = Components::parse;
        assert_eq!(p("none"), Components::NONE);
        assert_eq!(p("none,pack"), Components::PACK);
        assert!(p("committed").contains(Components::REFERENCE));
        assert!(p("reference").contains(Components::PACK), "added to the default");
        assert!(!p("-pack").contains(Components::PACK));
        assert!(p("-pack").contains(Components::PACK_METADATA));
        // A name both added and removed is added: positives apply last.
        assert!(p("-pack, pack").contains(Components::PACK));
        assert_eq!(p("all,-all"), Components::ALL);
        assert_eq!(p("bogus"), Components::DEFAULT, "unknown names are ignored");
        assert_eq!(p(""), Components::DEFAULT);
    }

    #[test]
    fn git_test_fsync_turns_syncing_off_and_methods_parse() {
        assert_eq!(
            Durability::from_config(Some("all"), None, Some("0")).components,
            Components::NONE
        );
        assert_eq!(
            Durability::from_config(None, None, Some("1")).components,
            Components::DEFAULT
        );
        assert_eq!(Method::parse("writeout-only"), Method::WriteoutOnly);
        assert_eq!(Method::parse("batch"), Method::Batch);
        assert_eq!(Method::parse("fsync"), Method::Fsync);
        assert_eq!(Method::parse("nonsense"), Method::Fsync);
    }
}
