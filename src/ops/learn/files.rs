//! The facts about the files around a line that the guard's delete policy
//! needs (see [`crate::learn::deletes`]): where the line starts, the work
//! tree's root, the home and temporary directories, and which paths git
//! tracks. The index is read only when a recursive delete inside the work
//! tree is actually judged, and at most once per judgement.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use gix::bstr::{BStr, ByteSlice};

use super::Session;
use crate::learn::deletes::Files;

/// Run `judge` with the facts of the work tree around `s.dir`; `None` in a
/// bare repository.
pub(super) fn with_files<T>(s: &Session, judge: impl FnOnce(Option<&Files<'_>>) -> T) -> T {
    let Some(work) = s.store.work_dir() else {
        return judge(None);
    };
    let index_path = s.store.git_dir().join("index");
    let index: OnceCell<Option<gix::index::File>> = OnceCell::new();
    let tracked = |rel: &str| -> bool {
        let loaded = index
            .get_or_init(|| gix::index::File::at(&index_path, gix::hash::Kind::Sha1, false, Default::default()).ok());
        match loaded {
            Some(index) => tracks(index, rel),
            // No index yet (nothing added) tracks nothing; one that cannot be
            // read might track anything: say so (medium), never less.
            None => index_path.exists(),
        }
    };
    let files = Files {
        cwd: real(&s.dir),
        root: real(work),
        home: std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| real(Path::new(&h))),
        temp: temp_dirs(),
        tracked: &tracked,
    };
    judge(Some(&files))
}

/// Does the index hold `rel` or anything under it?
fn tracks(index: &gix::index::File, rel: &str) -> bool {
    if rel.is_empty() {
        return !index.entries().is_empty();
    }
    let path: &BStr = rel.as_bytes().as_bstr();
    if index.entry_by_path(path).is_some() {
        return true;
    }
    let dir = format!("{rel}/");
    index
        .prefixed_entries(dir.as_bytes().as_bstr())
        .is_some_and(|e| !e.is_empty())
}

/// `/tmp`, `/var/tmp` and `$TMPDIR` (last: `$TMPDIR` in a line means it).
fn temp_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = ["/tmp", "/var/tmp"].iter().map(|d| real(Path::new(d))).collect();
    let tmpdir = std::env::var_os("TMPDIR")
        .filter(|t| !t.is_empty())
        .map_or_else(|| real(Path::new("/tmp")), |t| real(Path::new(&t)));
    dirs.push(tmpdir);
    dirs
}

/// The path with symlinks resolved (`/tmp` is `/private/tmp` on macOS), so
/// the work tree, the temporary directories and the operands compare alike.
fn real(path: &Path) -> PathBuf {
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}
