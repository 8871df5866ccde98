//! The daemon process: `daemon run` (the tick loop, in the foreground),
//! `daemon start` (the same loop, detached, with its output appended to
//! `.git/baton/daemon.log`), `daemon stop` and `daemon status`.
//!
//! The running daemon holds a lock on the git directory itself
//! (`os::daemon::RepoLock`: a second daemon for the same repository cannot
//! take it, even when `.git/baton` was deleted under the first) and
//! `.git/baton/daemon.pid` under a lock of its own (`os::daemon::PidLock`:
//! which process it is, for `status` and `stop`; a pid file nobody holds is
//! stale, however its process ended). A daemon whose pid file was deleted
//! writes it again within [`LOOK_EVERY`].

use std::io::{BufRead, Seek};

use super::*;
use crate::error::code;
use crate::os::daemon::RepoLock;
use crate::os::{self, SIGKILL, SIGTERM};

/// How `daemon run` runs.
#[derive(Debug, Clone, Default)]
pub struct RunArgs {
    /// Tick at this interval (else `daemon.interval`, read at each tick).
    pub interval: Option<Span>,
    /// The actor the reconcile commits are made as.
    pub actor: Option<String>,
}

/// Why `daemon run` ended (each a clean exit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunEnd {
    /// SIGTERM or SIGINT.
    Signal,
    /// The repository (its `.git`) is gone.
    RepositoryGone,
    /// The baton binary was replaced or deleted (an upgrade): a service
    /// manager starts the new one.
    BinaryReplaced,
    /// Its pid file was deleted and another process holds the new one.
    PidFileTaken,
}

impl RunEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            RunEnd::Signal => "stopped by a signal",
            RunEnd::RepositoryGone => "the repository is gone",
            RunEnd::BinaryReplaced => "the baton binary was replaced",
            RunEnd::PidFileTaken => "its pid file was deleted and another process took it",
        }
    }
}

/// One line of the daemon's log (stderr: the log file when started
/// detached, the journal under systemd).
fn log(line: &str) {
    eprintln!(
        "{} baton daemon[{}]: {line}",
        clock::format_timestamp(&wall_now()),
        std::process::id()
    );
}

/// `daemon run`: hold the pid file, then tick every interval until a
/// signal, a deleted repository or a replaced binary ends it. Signals only
/// set a flag, so a tick (and its commit) always completes; between ticks
/// the daemon sleeps in poll(2) and wakes at once on a signal.
pub fn run(dir: &Path, args: &RunArgs) -> Result<RunEnd> {
    let first = Session::open(Some(dir), args.actor.as_deref())?;
    first.snapshot()?;
    let git_dir = first.store.git_dir().to_path_buf();
    let pid_path = local_path(&first.store, PID_FILE);
    std::fs::create_dir_all(git_dir.join("baton")).map_err(|e| Error::io("creating .git/baton", e))?;
    let _repo_lock = RepoLock::acquire(&git_dir)
        .map_err(|e| Error::io(format!("locking {}", git_dir.display()), e))?
        .ok_or_else(|| already_running(&pid_path))?;
    let mut lock = PidLock::acquire(&pid_path)
        .map_err(|e| Error::io(format!("locking {}", pid_path.display()), e))?
        .ok_or_else(|| already_running(&pid_path))?;
    let sleeper = Sleeper::new().map_err(|e| Error::io("installing the signal handlers", e))?;
    let exe = ExeIdentity::current().map_err(|e| Error::io("reading the baton binary", e))?;
    let pid_file = PidFile {
        pid: std::process::id(),
        started_at: wall_now(),
        interval: args.interval,
    };
    let content = serde_json::to_vec(&pid_file).map_err(|e| Error::io("encoding the pid file", e))?;
    lock.write(&content)
        .map_err(|e| Error::io(format!("writing {}", pid_path.display()), e))?;
    drop(first);
    log(&format!("started for {}", dir.display()));
    let mut held = Held {
        git_dir: &git_dir,
        sleeper: &sleeper,
        exe: &exe,
        pid: &mut lock,
        content: &content,
    };
    let end = tick_loop(dir, args, &mut held);
    if git_dir.exists() {
        let _ = lock.remove();
    }
    log(&format!("exiting: {}", end.as_str()));
    Ok(end)
}

/// What a running daemon holds and watches between ticks.
struct Held<'a> {
    git_dir: &'a Path,
    sleeper: &'a Sleeper,
    exe: &'a ExeIdentity,
    pid: &'a mut PidLock,
    /// What its pid file says.
    content: &'a [u8],
}

impl Held<'_> {
    /// Why the daemon must end now, if it must: a signal, the repository
    /// gone, the binary replaced, its pid file taken by another process. A
    /// pid file deleted under it (`rm -rf .git/baton`) is written again.
    fn look(&mut self) -> Option<RunEnd> {
        if self.sleeper.stopped() {
            return Some(RunEnd::Signal);
        }
        if repository_gone(self.git_dir) {
            return Some(RunEnd::RepositoryGone);
        }
        if self.exe.replaced() {
            return Some(RunEnd::BinaryReplaced);
        }
        if !self.pid.in_place() {
            // Only `.git/baton` itself: its parents are the repository's.
            let _ = std::fs::create_dir(self.git_dir.join("baton"));
            match self.pid.restore(self.content) {
                Ok(true) => log("the pid file was deleted: written again"),
                Ok(false) => return Some(RunEnd::PidFileTaken),
                Err(e) => log(&format!("the pid file was deleted and cannot be written again: {e}")),
            }
        }
        None
    }
}

fn tick_loop(dir: &Path, args: &RunArgs, held: &mut Held<'_>) -> RunEnd {
    loop {
        if let Some(end) = held.look() {
            return end;
        }
        // A fresh handle each tick: `git gc` replaces packs under a long-lived one.
        let interval = match Session::open(Some(dir), args.actor.as_deref()) {
            Ok(s) => {
                let interval = args.interval.or_else(|| s.config().ok().map(|c| c.daemon.interval));
                match tick(&s, false, Some(held.sleeper.flag())) {
                    Ok(t) if t.outcome == TickEnd::Changed => log(&format!(
                        "tick: {} (commit {})",
                        t.report.summary(),
                        t.commit.map(|c| c.to_hex_with_len(10).to_string()).unwrap_or_default()
                    )),
                    Ok(_) => {}
                    Err(e) => log(&format!("tick failed: {}", e.message())),
                }
                interval
            }
            Err(e) if repository_gone(held.git_dir) => {
                log(&format!("cannot open the repository: {}", e.message()));
                return RunEnd::RepositoryGone;
            }
            Err(e) => {
                log(&format!("cannot open the repository: {}", e.message()));
                None
            }
        };
        let interval = interval.map_or(Duration::from_secs(60), |i| i.as_std().max(Duration::from_secs(1)));
        proc::release_memory();
        if let Some(end) = idle(held, interval) {
            return end;
        }
    }
}

/// How often a sleeping daemon looks whether its repository or binary is
/// gone, and whether its pid file is still there: a long interval must not
/// keep a daemon of a deleted repository, nor leave `status` and `stop`
/// without the pid file for long. Each look is a few `stat`s.
const LOOK_EVERY: Duration = Duration::from_secs(5);

/// Sleep `interval` (waking at once on a signal), looking at the
/// repository, the binary and the pid file every [`LOOK_EVERY`] on the way.
fn idle(held: &mut Held<'_>, interval: Duration) -> Option<RunEnd> {
    let until = Instant::now() + interval;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if held.sleeper.sleep(left.min(LOOK_EVERY)) {
            return Some(RunEnd::Signal);
        }
        if left <= LOOK_EVERY {
            return None;
        }
        if let Some(end) = held.look() {
            return Some(end);
        }
    }
}

fn already_running(pid_path: &Path) -> Error {
    crate::daemon::Refusal::Running {
        pid: proc::lock_holder(pid_path).ok().flatten(),
        again_secs: LOOK_EVERY.as_secs(),
    }
    .into()
}

/// What `daemon start` did.
#[derive(Debug, Clone, Serialize)]
pub struct Started {
    pub pid: u32,
    /// The pid of a stale pid file it replaced.
    pub replaced_stale: Option<u32>,
    pub log: PathBuf,
    /// `--interval`, when given (else `daemon.interval` applies at each tick).
    pub interval: Option<Span>,
}

/// How long `daemon start` waits for the daemon to hold its pid file.
const START_WAIT: Duration = Duration::from_secs(10);

/// `daemon start`: `daemon run` in a new session, detached from the
/// terminal, its output appended to `.git/baton/daemon.log`; returns once it
/// holds the pid file. A live daemon is refused; a stale pid file replaced.
pub fn start(s: &Session, interval: Option<Span>, actor: Option<&str>) -> Result<Started> {
    s.snapshot()?;
    let pid_path = local_path(&s.store, PID_FILE);
    // The directory lock also finds a daemon whose pid file was deleted.
    let held =
        proc::lock_holder(&pid_path).ok().flatten().is_some() || RepoLock::held(s.store.git_dir()).unwrap_or(false);
    if held {
        return Err(already_running(&pid_path));
    }
    let replaced_stale = remove_stale(&pid_path);
    let log_path = local_path(&s.store, LOG_FILE);
    std::fs::create_dir_all(s.store.git_dir().join("baton")).map_err(|e| Error::io("creating .git/baton", e))?;
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| Error::io(format!("opening {}", log_path.display()), e))?;
    let log_start = log_file.metadata().map(|m| m.len()).unwrap_or(0);
    let err_file = log_file
        .try_clone()
        .map_err(|e| Error::io("opening the daemon log", e))?;
    let exe = std::env::current_exe().map_err(|e| Error::io("finding the baton binary", e))?;
    let dir = std::path::absolute(s.base_dir()).unwrap_or_else(|_| s.base_dir());
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("-C").arg(&dir).args(["daemon", "run"]);
    if let Some(i) = interval {
        cmd.arg("--interval").arg(i.to_string());
    }
    if let Some(a) = actor {
        cmd.arg("--actor").arg(a);
    }
    cmd.stdin(std::process::Stdio::null()).stdout(log_file).stderr(err_file);
    let mut child = proc::detach(&mut cmd)
        .spawn()
        .map_err(|e| Error::io("starting the daemon", e))?;
    let deadline = Instant::now() + START_WAIT;
    loop {
        // Held is not enough: the daemon locks the file before it writes its
        // pid there, and whoever reads the file after `start` returns must
        // find it written.
        let holds = proc::lock_holder(&pid_path).ok().flatten() == Some(child.id());
        let written = || read_json::<PidFile>(&pid_path).and_then(|r| r.ok()).map(|p| p.pid) == Some(child.id());
        if holds && written() {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Error::failed(
                code::DAEMON_FAILED,
                format!(
                    "the daemon exited at once ({status}): {}",
                    log_tail(&log_path, log_start)
                ),
            )
            .with_hint(format!("see {}", log_path.display())));
        }
        if Instant::now() >= deadline {
            return Err(Error::failed(
                code::DAEMON_FAILED,
                format!("the daemon (pid {}) did not take its pid file within 10s", child.id()),
            )
            .with_hint(format!("see {}; `baton daemon stop` ends it", log_path.display())));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(Started {
        pid: child.id(),
        replaced_stale,
        log: log_path,
        interval,
    })
}

/// Remove a pid file that no live daemon holds; the pid it named.
fn remove_stale(pid_path: &Path) -> Option<u32> {
    if !pid_path.exists() {
        return None;
    }
    let pid = read_json::<PidFile>(pid_path).and_then(|r| r.ok()).map(|p| p.pid);
    std::fs::remove_file(pid_path).ok()?;
    Some(pid.unwrap_or(0))
}

/// What the daemon wrote to its log since `from`, on one line.
fn log_tail(path: &Path, from: u64) -> String {
    let Ok(mut file) = std::fs::File::open(path) else {
        return "no log".into();
    };
    let _ = file.seek(std::io::SeekFrom::Start(from));
    let lines: Vec<String> = std::io::BufReader::new(file).lines().map_while(|l| l.ok()).collect();
    let tail: Vec<&str> = lines.iter().rev().take(4).rev().map(String::as_str).collect();
    if tail.is_empty() {
        "it wrote nothing".into()
    } else {
        tail.join(" / ")
    }
}

/// What `daemon stop` did.
#[derive(Debug, Clone, Serialize)]
pub struct Stopped {
    pub was_running: bool,
    pub pid: Option<u32>,
    /// It did not end within the wait after SIGTERM and was sent SIGKILL.
    pub killed: bool,
    pub waited_ms: u64,
    /// The pid of a stale pid file it removed (no daemon was running).
    pub stale_removed: Option<u32>,
}

/// `daemon stop`: SIGTERM, wait up to `wait` for it to let go of its pid
/// file; SIGKILL after that (said so), and remove the file it left. A
/// daemon whose pid file was deleted is waited for until it wrote it again.
pub fn stop(s: &Session, wait: Duration) -> Result<Stopped> {
    let pid_path = local_path(&s.store, PID_FILE);
    let started = Instant::now();
    let mut holder = proc::lock_holder(&pid_path).map_err(|e| Error::io("reading the pid file", e))?;
    if holder.is_none() && RepoLock::held(s.store.git_dir()).unwrap_or(false) {
        // A daemon runs whose pid file was deleted: it writes it again at its next look.
        let deadline = Instant::now() + LOOK_EVERY + Duration::from_secs(2);
        while holder.is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            holder = proc::lock_holder(&pid_path).ok().flatten();
        }
    }
    let Some(pid) = holder else {
        return Ok(Stopped {
            was_running: false,
            pid: None,
            killed: false,
            waited_ms: 0,
            stale_removed: remove_stale(&pid_path),
        });
    };
    os::signal_process(pid, SIGTERM);
    let mut killed = false;
    if !proc::wait_released(&pid_path, wait) {
        killed = true;
        os::signal_process(pid, SIGKILL);
        if !proc::wait_released(&pid_path, Duration::from_secs(5)) {
            return Err(Error::failed(
                code::DAEMON_UNSTOPPABLE,
                format!("the daemon (pid {pid}) still runs after SIGKILL"),
            )
            .with_hint(format!("check the process with `ps -p {pid}`")));
        }
    }
    // A daemon that stopped cleanly removed it; a killed one could not.
    let _ = std::fs::remove_file(&pid_path);
    Ok(Stopped {
        was_running: true,
        pid: Some(pid),
        killed,
        waited_ms: started.elapsed().as_millis() as u64,
        stale_removed: None,
    })
}

/// What `daemon status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// A daemon runs for this repository (`pid` is `None` while it has not
    /// yet written a pid file deleted under it again).
    pub running: bool,
    pub pid: Option<u32>,
    pub started_at: Option<Timestamp>,
    pub uptime_secs: Option<i64>,
    /// The interval it ticks at: its `--interval`, else `daemon.interval`.
    pub interval: Span,
    /// A pid file no live daemon holds: the pid it names.
    pub stale_pid: Option<u32>,
    pub last_tick: Option<TickRecord>,
    pub log: PathBuf,
}

/// `daemon status`.
pub fn status(s: &Session) -> Result<Status> {
    let pid_path = local_path(&s.store, PID_FILE);
    let holder = proc::lock_holder(&pid_path).map_err(|e| Error::io("reading the pid file", e))?;
    let file = read_json::<PidFile>(&pid_path).and_then(|r| r.ok());
    let config_interval = s.config()?.daemon.interval;
    // A daemon whose pid file was deleted still holds the git directory.
    let running = holder.is_some() || RepoLock::held(s.store.git_dir()).unwrap_or(false);
    let started_at = file.as_ref().filter(|_| holder.is_some()).map(|f| f.started_at);
    Ok(Status {
        running,
        pid: holder,
        started_at,
        uptime_secs: started_at.map(|t| (wall_now() - t).num_seconds().max(0)),
        interval: file
            .as_ref()
            .filter(|_| holder.is_some())
            .and_then(|f| f.interval)
            .unwrap_or(config_interval),
        stale_pid: match (holder.is_some(), pid_path.exists()) {
            (false, true) => Some(file.map_or(0, |f| f.pid)),
            _ => None,
        },
        last_tick: last_tick(&s.store),
        log: local_path(&s.store, LOG_FILE),
    })
}

/// The facts doctor judges (`daemon::check`), read from `.git/baton/`.
pub(super) fn facts(s: &Session) -> (Option<std::result::Result<PidFile, String>>, Option<u32>, Span) {
    let pid_path = local_path(&s.store, PID_FILE);
    let holder = proc::lock_holder(&pid_path).ok().flatten();
    let file = read_json::<PidFile>(&pid_path);
    let interval = file
        .as_ref()
        .and_then(|f| f.as_ref().ok())
        .and_then(|f| f.interval)
        .or_else(|| s.config().ok().map(|c| c.daemon.interval))
        .unwrap_or_else(|| Span::from_secs(60));
    (file, holder, interval)
}

/// A git directory always has `HEAD`: without it the repository is gone
/// (a directory of the same name left behind does not count).
fn repository_gone(git_dir: &Path) -> bool {
    !git_dir.join("HEAD").exists()
}
