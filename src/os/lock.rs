//! File locks: BSD `flock(2)` on an open file, the one lock type baton takes
//! on a file it shares with other processes (the learn journal's writers and
//! folds, the daemon's lock on the git directory). The kernel releases it
//! when the file closes, however the process ends; std opens files
//! close-on-exec, so a child process never inherits one.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Whether other holders may share the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Shared,
    Exclusive,
}

impl Mode {
    fn operation(self) -> libc::c_int {
        match self {
            Mode::Shared => libc::LOCK_SH,
            Mode::Exclusive => libc::LOCK_EX,
        }
    }
}

/// An open file with a `flock(2)` lock on it, held until this is dropped
/// (the file closes with it).
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

impl FileLock {
    /// Lock `file`, waiting while another holder's lock conflicts.
    pub fn wait(file: File, mode: Mode) -> io::Result<FileLock> {
        loop {
            match flock(&file, mode.operation()) {
                Ok(()) => return Ok(FileLock { file }),
                // A signal (SIGCHLD of a step, a daemon's wake-up) cut the wait short.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Lock `file` unless another holder's lock conflicts: `Ok(None)` then.
    pub fn try_lock(file: File, mode: Mode) -> io::Result<Option<FileLock>> {
        match flock(&file, mode.operation() | libc::LOCK_NB) {
            Ok(()) => Ok(Some(FileLock { file })),
            Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    pub fn file_mut(&mut self) -> &mut File {
        &mut self.file
    }
}

fn flock(file: &File, operation: libc::c_int) -> io::Result<()> {
    // SAFETY: flock on a descriptor `file` keeps open for the call; no memory is passed.
    if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &std::path::Path) -> File {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap()
    }

    // flock locks belong to open files, so one process can test them.
    #[test]
    fn shared_locks_share_and_an_exclusive_one_excludes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let a = FileLock::wait(open(&path), Mode::Shared).unwrap();
        let b = FileLock::try_lock(open(&path), Mode::Shared).unwrap();
        assert!(b.is_some(), "two shared holders");
        assert!(FileLock::try_lock(open(&path), Mode::Exclusive).unwrap().is_none());
        drop((a, b));
        let x = FileLock::try_lock(open(&path), Mode::Exclusive)
            .unwrap()
            .expect("free once both closed");
        assert!(FileLock::try_lock(open(&path), Mode::Shared).unwrap().is_none());
        drop(x);
        assert!(
            FileLock::try_lock(File::open(dir.path()).unwrap(), Mode::Exclusive)
                .unwrap()
                .is_some(),
            "a directory can be locked too"
        );
    }
}
