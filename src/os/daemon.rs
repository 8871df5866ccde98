//! What a background daemon needs from the system: a pid file held under a
//! lock for the daemon's whole life (so a stale file is told from a live
//! daemon without trusting the pid in it), a lock on the repository's git
//! directory itself (so two daemons never run for one repository, even when
//! the pid file is deleted under a running one), detaching a child into its own session, sleeping until a
//! deadline or a signal (no polling), noticing that the binary it runs
//! was replaced, and handing memory a tick freed back to the system.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::lock::{FileLock, Mode};

/// A write lock on the whole file, set or tested with fcntl(2): POSIX record
/// locks are released by the kernel when the holder dies (even by SIGKILL),
/// and F_GETLK names the holder's pid.
fn whole_file_lock(kind: libc::c_short) -> libc::flock {
    // SAFETY: flock is a plain C struct; all-zero is a valid value for it.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = kind;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    lock
}

/// The pid file of a running daemon: created, locked and written by it, and
/// held until it ends. Dropping it releases the lock; [`PidLock::remove`]
/// first deletes the file.
pub struct PidLock {
    file: File,
    path: PathBuf,
}

impl PidLock {
    /// Take the pid file at `path`; `Ok(None)` when another process holds it.
    ///
    /// A file that is deleted (or replaced) between opening and locking it is
    /// opened again, so the lock is always on the file at `path`.
    pub fn acquire(path: &Path) -> io::Result<Option<PidLock>> {
        loop {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)?;
            let lock = whole_file_lock(libc::F_WRLCK as libc::c_short);
            // SAFETY: fcntl on an open descriptor with a valid flock struct.
            if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &lock) } != 0 {
                let err = io::Error::last_os_error();
                return match err.raw_os_error() {
                    Some(libc::EACCES) | Some(libc::EAGAIN) => Ok(None),
                    _ => Err(err),
                };
            }
            let same = match std::fs::metadata(path) {
                Ok(now) => {
                    let held = file.metadata()?;
                    now.dev() == held.dev() && now.ino() == held.ino()
                }
                Err(_) => false,
            };
            if same {
                return Ok(Some(PidLock {
                    file,
                    path: path.to_path_buf(),
                }));
            }
        }
    }

    /// Whether the file at its path is still the one it holds: deleting
    /// `.git/baton` (or the file) leaves the lock on a file nobody can find.
    pub fn in_place(&self) -> bool {
        match (std::fs::metadata(&self.path), self.file.metadata()) {
            (Ok(now), Ok(held)) => now.dev() == held.dev() && now.ino() == held.ino(),
            _ => false,
        }
    }

    /// Take the file at its path again, with `content`, after it was deleted
    /// or replaced; `Ok(false)` when another process holds the file there.
    pub fn restore(&mut self, content: &[u8]) -> io::Result<bool> {
        let Some(mut again) = PidLock::acquire(&self.path)? else {
            return Ok(false);
        };
        again.write(content)?;
        // The lost file's lock goes with it.
        *self = again;
        Ok(true)
    }

    /// Replace the file's content (the daemon's pid and start).
    pub fn write(&mut self, content: &[u8]) -> io::Result<()> {
        self.file.set_len(0)?;
        use std::io::Seek;
        self.file.seek(io::SeekFrom::Start(0))?;
        self.file.write_all(content)?;
        self.file.sync_data()
    }

    /// Delete the pid file (when it is still this one), then release the
    /// lock (a clean stop).
    pub fn remove(self) -> io::Result<()> {
        let removed = if self.in_place() {
            std::fs::remove_file(&self.path)
        } else {
            Ok(())
        };
        drop(self.file);
        removed
    }
}

/// An exclusive flock(2) on the repository's git directory, held by the
/// running daemon for its whole life. The pid file can be deleted under a
/// daemon (`rm -rf .git/baton`); the git directory cannot without ending the
/// repository, so this lock is what makes "one daemon per repository" hold.
/// A BSD lock on the directory: independent of the pid file's POSIX lock,
/// released by the kernel however the process ends, and (opened close-on-
/// exec) never inherited by the git processes a tick runs.
pub struct RepoLock {
    _dir: FileLock,
}

impl RepoLock {
    /// Take the lock; `Ok(None)` when another process holds it.
    pub fn acquire(git_dir: &Path) -> io::Result<Option<RepoLock>> {
        let dir = File::open(git_dir)?;
        Ok(FileLock::try_lock(dir, Mode::Exclusive)?.map(|dir| RepoLock { _dir: dir }))
    }

    /// Whether a process (a daemon) holds the lock now. Never call this in
    /// the daemon itself: it would take its own lock a second time.
    pub fn held(git_dir: &Path) -> io::Result<bool> {
        Ok(RepoLock::acquire(git_dir)?.is_none())
    }
}

/// Give the heap a tick freed back to the system before sleeping: the
/// allocator keeps it otherwise, and a full pass over 10 000 claims (parsed
/// on several threads, each with its own arena) leaves twice the idle
/// daemon's resident size behind. glibc only; elsewhere nothing to do.
pub fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; no pointer is touched.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The pid of the process that holds the pid file at `path`, if any.
///
/// Never call this in the process that holds it: POSIX locks are per
/// process, and closing any descriptor of the file would release its lock.
pub fn lock_holder(path: &Path) -> io::Result<Option<u32>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut lock = whole_file_lock(libc::F_WRLCK as libc::c_short);
    // SAFETY: fcntl on an open descriptor with a valid flock struct it may write to.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut lock) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lock.l_type == libc::F_UNLCK as libc::c_short {
        return Ok(None);
    }
    Ok(u32::try_from(lock.l_pid).ok())
}

/// Wait until no process holds the pid file at `path`, up to `timeout`.
/// Returns whether it was released.
pub fn wait_released(path: &Path, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match lock_holder(path) {
            Ok(None) | Err(_) => return true,
            Ok(Some(_)) if Instant::now() >= deadline => return false,
            Ok(Some(_)) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Start `cmd` in a session of its own, without a controlling terminal: it
/// outlives the shell that started it and no terminal signal reaches it.
pub fn detach(cmd: &mut std::process::Command) -> &mut std::process::Command {
    // SAFETY: setsid(2) is async-signal-safe, and nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Sleeps until a deadline or until SIGTERM or SIGINT arrives, whichever is
/// first: a self-pipe the signal handlers write to, read with poll(2), so
/// an idle daemon costs nothing and a stop is immediate.
pub struct Sleeper {
    wake: UnixStream,
    stop: Arc<AtomicBool>,
}

impl Sleeper {
    pub fn new() -> io::Result<Sleeper> {
        let (wake, signalled) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        for signal in [libc::SIGTERM, libc::SIGINT] {
            signal_hook::flag::register(signal, stop.clone())?;
            signal_hook::low_level::pipe::register(signal, signalled.try_clone()?)?;
        }
        Ok(Sleeper { wake, stop })
    }

    /// Whether SIGTERM or SIGINT arrived.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// The flag the signals set, for work that checks it between steps.
    pub fn flag(&self) -> &AtomicBool {
        &self.stop
    }

    /// Sleep up to `duration`; returns early (true) when a signal came.
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        while !self.stopped() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            // Interrupted or woken, the loop looks at the flag and the clock again.
            let _ = super::poll_readable(&[Some(self.wake.as_raw_fd())], left);
            let mut drain = [0u8; 64];
            while matches!((&self.wake).read(&mut drain), Ok(n) if n > 0) {}
        }
        self.stopped()
    }
}

/// What identifies the binary a process runs, to notice it was replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExeIdentity {
    path: PathBuf,
    dev: u64,
    ino: u64,
    mtime: i64,
}

impl ExeIdentity {
    /// This process's binary as it is now.
    pub fn current() -> io::Result<ExeIdentity> {
        let path = std::env::current_exe()?;
        let meta = std::fs::metadata(&path)?;
        Ok(ExeIdentity {
            path,
            dev: meta.dev(),
            ino: meta.ino(),
            mtime: meta.mtime(),
        })
    }

    /// Whether the binary was deleted or replaced since (an upgrade): the
    /// running code is then not what the file on disk would run.
    pub fn replaced(&self) -> bool {
        if let Ok(link) = std::fs::read_link("/proc/self/exe") {
            if link.to_string_lossy().ends_with(" (deleted)") {
                return true;
            }
        }
        match std::fs::metadata(&self.path) {
            Ok(meta) => meta.dev() != self.dev || meta.ino() != self.ino || meta.mtime() != self.mtime,
            Err(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_file_is_written_under_its_lock_and_removed_on_a_clean_stop() {
        // Locks are per process: that another process sees the holder and
        // cannot start a second daemon is tested on the binary (tests/it/daemon.rs).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.pid");
        assert_eq!(lock_holder(&path).unwrap(), None);
        let mut held = PidLock::acquire(&path).unwrap().expect("free");
        held.write(b"{\"pid\": 12345}").unwrap();
        held.write(b"{\"pid\": 1}").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"pid\": 1}");
        held.remove().unwrap();
        assert!(!path.exists());
        assert!(wait_released(&path, Duration::from_millis(10)));
    }

    #[test]
    fn a_pid_file_deleted_under_its_holder_is_noticed_and_restored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.pid");
        let mut held = PidLock::acquire(&path).unwrap().expect("free");
        assert!(held.in_place());
        std::fs::remove_file(&path).unwrap();
        assert!(!held.in_place());
        assert!(held.restore(b"{\"pid\": 7}").unwrap());
        assert!(held.in_place());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"pid\": 7}");
        held.remove().unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn the_repository_lock_is_exclusive_and_released_on_drop() {
        // flock locks belong to open files, so one process can test them.
        let dir = tempfile::tempdir().unwrap();
        let held = RepoLock::acquire(dir.path()).unwrap().expect("free");
        assert!(RepoLock::acquire(dir.path()).unwrap().is_none());
        assert!(RepoLock::held(dir.path()).unwrap());
        drop(held);
        assert!(!RepoLock::held(dir.path()).unwrap());
    }

    #[test]
    fn the_sleeper_sleeps_until_its_deadline_without_a_signal() {
        let sleeper = Sleeper::new().unwrap();
        let start = Instant::now();
        assert!(!sleeper.sleep(Duration::from_millis(50)));
        assert!(start.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn the_running_binary_is_not_replaced() {
        assert!(!ExeIdentity::current().unwrap().replaced());
    }
}
