//! The local journal of the learn guard (`.git/baton/learn/journal.jsonl`):
//! `post-command` appends an outcome and `pre-command` a decision, each one
//! `write` on an `O_APPEND` descriptor, so concurrent writers never
//! interleave within a line and no writer waits for the state ref. A fold
//! takes the journal aside and commits what it read (see [`take`]).
//!
//! How no entry is ever lost or counted twice:
//!
//! - A writer holds a shared `flock` on the journal while it writes, and
//!   writes only when the descriptor it holds is still the file at the
//!   journal's path (else a fold renamed it meanwhile: it opens the new one).
//! - A fold takes the journal's exclusive `flock` (waiting for the writers
//!   in flight), renames it to a unique `journal-folding-*.jsonl`, reads it,
//!   commits, then deletes it, holding the lock until the end. A writer that
//!   opened the old file before the rename finds it renamed once it gets its
//!   lock, so its entry goes to the new journal.
//! - A fold that died leaves its aside file unlocked (`flock` ends with the
//!   process). The next fold takes it over: if the history names it in a
//!   `Baton-Journal` trailer, it was committed and is only deleted; else it
//!   is folded again.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::code;
use crate::error::{Error, Result};
use crate::learn::stats::{parse_journal, JournalEntry, JournalRead};
use crate::os::lock::{FileLock, Mode};
use crate::store::Store;

/// The journal new entries go to.
const LIVE: &str = "journal.jsonl";
/// Journals taken aside by a fold: `journal-folding-<pid>-<nanos>-<hex>.jsonl`.
const FOLDING: &str = "journal-folding-";
const SUFFIX: &str = ".jsonl";
/// How often a writer reopens the journal when folds keep renaming it.
const APPEND_ATTEMPTS: usize = 20;

/// `.git/baton/learn` (the common git directory, shared by worktrees).
pub fn dir(store: &Store) -> PathBuf {
    store.git_dir().join("baton").join("learn")
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::io(format!("{what} {}", path.display()), e)
}

/// Whether the open `file` is still the file at `path`.
fn still_at(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

/// Append one entry to the journal in `dir` with a single write.
pub fn append(dir: &Path, entry: &JournalEntry) -> Result<()> {
    let line = entry.to_line();
    let path = dir.join(LIVE);
    for _ in 0..APPEND_ATTEMPTS {
        let file = match OpenOptions::new().append(true).create(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(|e| io("creating", dir, e))?;
                continue;
            }
            Err(e) => return Err(io("opening", &path, e)),
        };
        let file = FileLock::wait(file, Mode::Shared).map_err(|e| io("locking", &path, e))?;
        if !still_at(file.file(), &path) {
            continue;
        }
        // One write of a small line on an O_APPEND descriptor lands whole.
        let mut f = file.file();
        return f.write_all(line.as_bytes()).map_err(|e| io("appending to", &path, e));
    }
    Err(Error::failed(
        code::JOURNAL_BUSY,
        format!(
            "{} was taken aside {APPEND_ATTEMPTS} times while appending",
            path.display()
        ),
    )
    .with_hint("folds are running back to back; retry the command"))
}

/// One journal file: its name and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalFile {
    pub name: String,
    pub bytes: u64,
    pub modified: Option<std::time::SystemTime>,
}

/// The journal files in `dir`: the live one and any taken aside, by name.
pub fn files(dir: &Path) -> Result<Vec<JournalFile>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("reading", dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name == LIVE || (name.starts_with(FOLDING) && name.ends_with(SUFFIX))) {
            continue;
        }
        let meta = entry.metadata().ok();
        out.push(JournalFile {
            name,
            bytes: meta.as_ref().map_or(0, |m| m.len()),
            modified: meta.and_then(|m| m.modified().ok()),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Every entry not folded yet (the live journal and any taken aside). With
/// `families`, only the outcomes of those families are parsed (the others
/// are skipped by a text search, so a long journal costs little).
pub fn pending(dir: &Path, families: Option<&[String]>) -> Result<JournalRead> {
    let needles: Option<Vec<String>> = families.map(|fs| {
        fs.iter()
            .map(|f| format!("\"family\":{}", serde_json::Value::String(f.clone())))
            .collect()
    });
    let mut out = JournalRead::default();
    for file in files(dir)? {
        let path = dir.join(&file.name);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            // Folded and deleted since the listing.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io("reading", &path, e)),
        };
        let read = match &needles {
            None => parse_journal(&text),
            Some(needles) => parse_journal(&lines_with(&text, needles)),
        };
        out.entries.extend(read.entries);
        out.skipped += read.skipped;
    }
    Ok(out)
}

/// The lines of `text` that contain one of `needles` (never empty: each is
/// `"family":<name>`), each once, in order: one substring search of the
/// whole text per needle, so the lines of other families cost nothing but
/// the search.
fn lines_with(text: &str, needles: &[String]) -> String {
    let mut starts: Vec<usize> = needles
        .iter()
        .flat_map(|n| {
            // memmem, not `str::match_indices`: std's two-way search cost
            // about 3 instructions a byte of the journal, once per family.
            // A match of a (non-empty, UTF-8) needle starts on a char boundary.
            memchr::memmem::find_iter(text.as_bytes(), n.as_bytes())
                .map(|at| text[..at].rfind('\n').map_or(0, |nl| nl + 1))
        })
        .collect();
    starts.sort_unstable();
    starts.dedup();
    let mut out = String::new();
    for start in starts {
        let end = text[start..].find('\n').map_or(text.len(), |nl| start + nl);
        out.push_str(&text[start..end]);
        out.push('\n');
    }
    out
}

/// The size of the live journal (0 when there is none).
pub fn live_bytes(dir: &Path) -> u64 {
    std::fs::metadata(dir.join(LIVE)).map_or(0, |m| m.len())
}

/// Journal files a fold holds (exclusively locked) until it has committed them.
pub struct Taken {
    files: Vec<(PathBuf, FileLock)>,
    /// Their names, for the commit's `Baton-Journal` trailers.
    pub names: Vec<String>,
    pub read: JournalRead,
}

impl Taken {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The entries are in the state now: delete the files, then unlock.
    pub fn committed(self) -> Result<()> {
        for (path, _file) in &self.files {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("removing", path, e)),
            }
        }
        Ok(())
    }
}

/// A name no other fold can pick: pid, time and randomness.
fn aside_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{FOLDING}{}-{nanos}-{:08x}{SUFFIX}",
        std::process::id(),
        fastrand::u32(..)
    )
}

fn read_all(file: &mut File, path: &Path) -> Result<String> {
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(|e| io("reading", path, e))?;
    Ok(text)
}

/// Take every journal a fold may fold: files left aside by a fold that died
/// (those `committed` says are in the state already are only deleted), then
/// the live journal, renamed aside under its exclusive lock.
pub fn take(dir: &Path, committed: impl Fn(&str) -> Result<bool>) -> Result<Taken> {
    let mut taken = Taken {
        files: Vec::new(),
        names: Vec::new(),
        read: JournalRead::default(),
    };
    for file in files(dir)?.into_iter().filter(|f| f.name != LIVE) {
        let path = dir.join(&file.name);
        let Ok(handle) = File::open(&path) else { continue };
        // Locked: a live fold has it (or is about to delete it).
        let Ok(Some(mut handle)) = FileLock::try_lock(handle, Mode::Exclusive) else {
            continue;
        };
        if !still_at(handle.file(), &path) {
            continue;
        }
        if committed(&file.name)? {
            std::fs::remove_file(&path).map_err(|e| io("removing", &path, e))?;
            continue;
        }
        let text = read_all(handle.file_mut(), &path)?;
        keep(&mut taken, path, file.name, handle, &text);
    }
    let live = dir.join(LIVE);
    let handle = match File::open(&live) {
        Ok(h) => h,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(taken),
        Err(e) => return Err(io("opening", &live, e)),
    };
    let mut handle = FileLock::wait(handle, Mode::Exclusive).map_err(|e| io("locking", &live, e))?;
    let empty = handle.file().metadata().map_or(true, |m| m.len() == 0);
    // Another fold renamed it while this one waited: that fold has it.
    if empty || !still_at(handle.file(), &live) {
        return Ok(taken);
    }
    let name = aside_name();
    let aside = dir.join(&name);
    std::fs::rename(&live, &aside).map_err(|e| io("taking aside", &live, e))?;
    let text = read_all(handle.file_mut(), &aside)?;
    keep(&mut taken, aside, name, handle, &text);
    Ok(taken)
}

fn keep(taken: &mut Taken, path: PathBuf, name: String, handle: FileLock, text: &str) {
    let read = parse_journal(text);
    taken.read.entries.extend(read.entries);
    taken.read.skipped += read.skipped;
    taken.files.push((path, handle));
    taken.names.push(name);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_timestamp;
    use crate::learn::judge::Level;

    fn decision(level: Level) -> JournalEntry {
        JournalEntry::Decision {
            at: parse_timestamp("2026-01-01T00:00:00Z").unwrap(),
            level,
        }
    }

    #[test]
    fn appended_entries_are_taken_once_and_deleted_when_committed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("learn");
        append(&dir, &decision(Level::Low)).unwrap();
        append(&dir, &decision(Level::High)).unwrap();
        assert_eq!(pending(&dir, None).unwrap().entries.len(), 2);
        let taken = take(&dir, |_| Ok(false)).unwrap();
        assert_eq!(taken.read.entries.len(), 2);
        assert!(taken.names[0].starts_with(FOLDING));
        // Written while the fold holds the aside file: goes to a new journal.
        append(&dir, &decision(Level::Medium)).unwrap();
        assert_eq!(pending(&dir, None).unwrap().entries.len(), 3, "readers see both");
        taken.committed().unwrap();
        let left = take(&dir, |_| Ok(false)).unwrap();
        assert_eq!(left.read.entries, vec![decision(Level::Medium)]);
    }

    #[test]
    fn a_dead_folds_file_is_folded_again_unless_it_was_committed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        append(&dir, &decision(Level::Low)).unwrap();
        let taken = take(&dir, |_| Ok(false)).unwrap();
        let name = taken.names[0].clone();
        drop(taken); // the fold died before it committed
        let again = take(&dir, |_| Ok(false)).unwrap();
        assert_eq!((again.names.clone(), again.read.entries.len()), (vec![name.clone()], 1));
        drop(again); // ... and this one died after it committed
        let done = take(&dir, |n| Ok(n == name)).unwrap();
        assert!(done.is_empty());
        assert!(files(&dir).unwrap().is_empty(), "the committed file is deleted");
    }

    #[test]
    fn a_file_another_fold_holds_is_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        append(&dir, &decision(Level::Low)).unwrap();
        let holding = take(&dir, |_| Ok(false)).unwrap();
        let other = take(&dir, |_| Ok(false)).unwrap();
        assert!(other.is_empty());
        drop(holding);
    }

    #[test]
    fn lines_with_keeps_each_matching_line_once_in_order() {
        let text = "a git push b npm test\nc\nnpm test\ngit push";
        let needles = ["npm test".to_owned(), "git push".to_owned()];
        assert_eq!(
            lines_with(text, &needles),
            "a git push b npm test\nnpm test\ngit push\n"
        );
        assert_eq!(lines_with(text, &["absent".to_owned()]), "");
    }

    proptest::proptest! {
        /// The memmem search keeps the lines std's `match_indices` kept.
        #[test]
        fn lines_with_is_the_std_search(
            text in "([ab\"é:]|\n){0,60}",
            needles in proptest::collection::vec("[ab\"é:\n]{1,3}", 0..4),
        ) {
            let mut starts: Vec<usize> = needles
                .iter()
                .flat_map(|n| text.match_indices(n.as_str()).map(|(at, _)| text[..at].rfind('\n').map_or(0, |nl| nl + 1)))
                .collect();
            starts.sort_unstable();
            starts.dedup();
            let std: String = starts
                .iter()
                .map(|&s| format!("{}\n", &text[s..text[s..].find('\n').map_or(text.len(), |nl| s + nl)]))
                .collect();
            proptest::prop_assert_eq!(lines_with(&text, &needles), std);
        }
    }

    #[test]
    fn pending_reads_only_the_families_asked_for_and_skips_torn_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let at = parse_timestamp("2026-01-01T00:00:00Z").unwrap();
        for line in ["git push origin main", "npm test", "git push"] {
            let e = JournalEntry::for_line(at, line, crate::learn::stats::CommandEnd::Failure, Some(1), None, None);
            append(&dir, &e).unwrap();
        }
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join(LIVE))
            .unwrap()
            .write_all(b"{\"kind\":\"outcome\",\"family\":\"git push\",\"at\":")
            .unwrap();
        let some = pending(&dir, Some(&["git push".to_owned()])).unwrap();
        assert_eq!((some.entries.len(), some.skipped), (2, 1));
        assert_eq!(pending(&dir, Some(&[])).unwrap().entries.len(), 0);
        assert_eq!(pending(&dir, None).unwrap().entries.len(), 3);
    }
}
