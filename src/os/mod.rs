//! What baton needs from the operating system beyond std: the host name,
//! whether a process is alive, signals to whole process groups, waiting on
//! several pipes at once, stop flags from signals, the SIGCHLD disposition
//! it needs, starting a workflow step ([`spawn`]) and file locks ([`lock`]).

pub mod daemon;
pub mod lock;
pub mod spawn;

/// This machine's host name, as run records store it.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its whole length; gethostname writes at most that.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Whether a process with this pid exists (it may belong to another user).
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Send `signal` to one process.
pub fn signal_process(pid: u32, signal: i32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: plain kill(2) on a pid we recorded.
    pid > 0 && unsafe { libc::kill(pid, signal) } == 0
}

/// Send `signal` to the process group led by `pgid` (a step and everything it started).
pub fn signal_group(pgid: u32, signal: i32) -> bool {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return false;
    };
    // SAFETY: a negative pid addresses the process group; pgid > 0 is checked.
    pgid > 0 && unsafe { libc::kill(-pgid, signal) } == 0
}

/// Wait up to `timeout` until one of `fds` (`None`: skipped) can be read
/// without blocking, or has hung up; returns which can.
pub fn poll_readable(fds: &[Option<std::os::fd::RawFd>], timeout: std::time::Duration) -> std::io::Result<Vec<bool>> {
    let mut polled: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            // poll(2) ignores negative descriptors.
            fd: fd.unwrap_or(-1),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let millis = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: `polled` is a valid array of `polled.len()` pollfd structs for the call's duration.
    let rc = unsafe { libc::poll(polled.as_mut_ptr(), polled.len() as libc::nfds_t, millis) };
    if rc < 0 {
        let err = std::io::Error::last_os_error();
        if err.kind() == std::io::ErrorKind::Interrupted {
            return Ok(vec![false; fds.len()]);
        }
        return Err(err);
    }
    Ok(polled.iter().map(|p| p.revents != 0).collect())
}

/// Crash tests kill the process here when `BATON_CRASH_AT` names this
/// point: a real SIGKILL at a known place (between a run's start and its
/// steps, before its end), for recovery to be tested from.
pub fn crash_point(name: &str) {
    if std::env::var_os("BATON_CRASH_AT").is_some_and(|at| at == name) {
        signal_process(std::process::id(), SIGKILL);
    }
}

/// Set by SIGINT once [`stop_on_signals`] handles it: the command then
/// exits 130 (128 + SIGINT) after recording the stop, as if Ctrl-C had
/// killed it.
static INTERRUPTED: std::sync::OnceLock<std::sync::Arc<std::sync::atomic::AtomicBool>> = std::sync::OnceLock::new();

/// A flag that SIGINT and SIGTERM set, so a runner can stop its steps
/// and record the stop instead of dying mid-write.
pub fn stop_on_signals() -> std::io::Result<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register(signal, flag.clone())?;
    }
    let interrupted = INTERRUPTED.get_or_init(Default::default);
    signal_hook::flag::register(SIGINT, interrupted.clone())?;
    Ok(flag)
}

/// Whether SIGINT (Ctrl-C) stopped a run of this process.
pub fn interrupted() -> bool {
    INTERRUPTED
        .get()
        .is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst))
}

/// Put SIGCHLD back to its default action, as the first thing a process does.
///
/// A parent may have started baton with SIGCHLD ignored (that survives
/// `exec`); then the kernel reaps children itself and `waitpid` can only
/// say ECHILD, so no step's exit status (nor git's, for `Command::output`)
/// could be read. Returns whether it was ignored.
pub fn reset_sigchld() -> bool {
    // SAFETY: sigaction(2) on SIGCHLD with a zeroed (valid) struct: reading
    // the current action, then installing SIG_DFL; no handler is involved.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut current) != 0 {
            return false;
        }
        if current.sa_sigaction != libc::SIG_IGN {
            return false;
        }
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGCHLD, &default, std::ptr::null_mut()) == 0
    }
}

pub use libc::{SIGINT, SIGKILL, SIGTERM};
