//! Starting a workflow step: argv executed directly, in its own process
//! group, stdin from /dev/null, stdout and stderr into pipes, and — on
//! Linux — killed by the kernel if the runner dies (`PR_SET_PDEATHSIG`), so
//! a SIGKILLed runner leaves no step behind.
//!
//! std's `Command` can ask for the death signal only through `pre_exec`,
//! which makes it `fork` the runner, copying its page tables, instead of
//! using `posix_spawn`'s `vfork`-style start; in a runner whose writer
//! thread is busy at the same time, that doubled a short step's cost. So on
//! Linux this module does what glibc's `posix_spawn` does, plus the one
//! `prctl`: `clone(CLONE_VM | CLONE_VFORK)` onto a stack of its own, with
//! every signal blocked around it; the child, which shares the runner's
//! memory until it execs, only makes system calls on data prepared
//! beforehand (no allocation, no locks, no unwinding). Elsewhere, std
//! spawns the step (its own process group; no death signal).
//!
//! [`exit_fd`] gives the runner a descriptor to `poll` for the step's exit
//! beside its pipes (a pidfd), so it need not sleep and look again.

use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

/// A started step: its pid (also its process group) and its output pipes.
pub struct Spawned {
    pub pid: u32,
    pub stdout: File,
    pub stderr: File,
}

/// Start `argv` in `dir` with the runner's environment plus `env`.
pub fn spawn(argv: &[String], env: &BTreeMap<String, String>, dir: &Path) -> io::Result<Spawned> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    let mut vars: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| k.to_str().is_none_or(|k| !env.contains_key(k)))
        .collect();
    vars.extend(env.iter().map(|(k, v)| (k.into(), v.into())));
    let search = vars.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.clone());
    let path = resolve(OsStr::new(program), search.as_deref(), dir)?;
    imp::spawn(&path, program, args, &vars, dir)
}

/// A descriptor that becomes readable when the step `pid` (a child not
/// yet reaped) has exited, for `poll` beside its pipes: `pidfd_open(2)`
/// on Linux 5.3 and later; `None` elsewhere, or when the kernel has none.
pub fn exit_fd(pid: u32) -> Option<std::os::fd::OwnedFd> {
    imp::exit_fd(pid)
}

/// The exit status, if the step has exited (it is reaped then).
pub fn try_wait(pid: u32) -> io::Result<Option<ExitStatus>> {
    wait_pid(pid, libc::WNOHANG)
}

/// Wait for the step to exit and reap it.
pub fn wait(pid: u32) -> io::Result<ExitStatus> {
    loop {
        match wait_pid(pid, 0) {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

fn wait_pid(pid: u32, flags: libc::c_int) -> io::Result<Option<ExitStatus>> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut status = 0;
    // SAFETY: waitpid on a child this process started; `status` is a valid out pointer.
    match unsafe { libc::waitpid(pid, &mut status, flags) } {
        0 => Ok(None),
        -1 => Err(io::Error::last_os_error()),
        _ => Ok(Some(ExitStatus::from_raw(status))),
    }
}

/// The file `program` names: itself when it has a slash, else the first
/// executable file of that name on `search` (the step's `PATH`), as
/// `execvp` would find it from `dir` (where the step runs: relative
/// entries, and an empty one meaning "here", are taken from there).
fn resolve(program: &OsStr, search: Option<&OsStr>, dir: &Path) -> io::Result<PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(program));
    }
    let search = search.unwrap_or(OsStr::new("/usr/local/bin:/usr/bin:/bin"));
    for entry in std::env::split_paths(search) {
        let candidate = dir.join(entry).join(program);
        let Ok(c) = CString::new(candidate.as_os_str().as_bytes()) else {
            continue;
        };
        // SAFETY: access(2) on a valid NUL-terminated path.
        let executable = unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0;
        if executable && candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(io::Error::new(io::ErrorKind::NotFound, "not found on PATH"))
}

#[cfg(target_os = "linux")]
mod imp {
    use super::*;
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::sync::atomic::{AtomicI32, Ordering};

    fn c_string(bytes: &[u8]) -> io::Result<CString> {
        CString::new(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in the command"))
    }

    fn c_strings<B: AsRef<[u8]>>(items: impl Iterator<Item = B>) -> io::Result<Vec<CString>> {
        items.map(|b| c_string(b.as_ref())).collect()
    }

    /// The pointers `execve` takes: one per string, then NULL. Valid while `strings` lives.
    fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
        strings
            .iter()
            .map(|s| s.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect()
    }

    /// A pipe whose ends close on exec, both above the standard descriptors.
    fn pipe() -> io::Result<(File, File)> {
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills the two-element array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just created and are owned by nobody else.
        let (read, write) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
        Ok((above_stdio(read)?, above_stdio(write)?))
    }

    /// `file` moved to a descriptor ≥ 3 (if the runner started with 0–2 closed,
    /// a new pipe could land there, and the child's `dup2` onto itself would
    /// leave it close-on-exec).
    fn above_stdio(file: File) -> io::Result<File> {
        if file.as_raw_fd() > 2 {
            return Ok(file);
        }
        // SAFETY: F_DUPFD_CLOEXEC duplicates a descriptor we own into a new one we then own.
        let fd = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is new and owned by nobody else.
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    pub fn exit_fd(pid: u32) -> Option<std::os::fd::OwnedFd> {
        let pid = libc::pid_t::try_from(pid).ok()?;
        // SAFETY: pidfd_open(2) takes a pid and flags and returns a new
        // descriptor (close-on-exec) or -1; nothing else is touched.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let fd = std::os::fd::RawFd::try_from(fd).ok().filter(|&fd| fd >= 0)?;
        // SAFETY: `fd` is new and owned by nobody else.
        Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
    }

    /// The signals a step's child resets before it unblocks signals and
    /// execs: those this process catches (a handler left in place would run
    /// in the child, which shares the runner's memory until exec), and
    /// SIGPIPE and SIGCHLD, which stay ignored across exec otherwise (the
    /// Rust runtime ignores SIGPIPE, and a step must not inherit that, as
    /// std's `Command` ensures; with SIGCHLD ignored a step's own waits
    /// would all fail). Other ignored signals stay ignored, as with
    /// `posix_spawn`.
    ///
    /// Read once, at the first step a process starts, instead of asking
    /// for every signal's action in every child (64 system calls a step,
    /// glibc's `posix_spawn` way): baton installs its handlers before it
    /// starts steps (`os::stop_on_signals`), and `exec` resets every caught
    /// handler anyway; the reset covers only the moment between unblocking
    /// and `exec`.
    fn caught() -> &'static [libc::c_int] {
        static CAUGHT: std::sync::OnceLock<Vec<libc::c_int>> = std::sync::OnceLock::new();
        CAUGHT.get_or_init(|| {
            (1..=libc::SIGRTMAX())
                .filter(|&signal| signal != libc::SIGKILL && signal != libc::SIGSTOP)
                .filter(|&signal| {
                    if signal == libc::SIGPIPE || signal == libc::SIGCHLD {
                        return true;
                    }
                    // SAFETY: sigaction(2) with a null new action only reads
                    // the current one into a zeroed (valid) struct.
                    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
                    let read = unsafe { libc::sigaction(signal, std::ptr::null(), &mut current) } == 0;
                    read && current.sa_sigaction != libc::SIG_DFL && current.sa_sigaction != libc::SIG_IGN
                })
                .collect()
        })
    }

    /// The child's stack: it runs a few system calls, never Rust code that allocates.
    const CHILD_STACK: usize = 64 * 1024;

    /// Everything the child needs, prepared by the parent: raw pointers into
    /// buffers that outlive the child's use of them (the parent is suspended
    /// until the child execs or exits).
    struct Setup {
        path: *const libc::c_char,
        argv: *const *const libc::c_char,
        envp: *const *const libc::c_char,
        dir: *const libc::c_char,
        stdio: [libc::c_int; 3],
        parent: libc::pid_t,
        /// The signals whose handlers the child resets (see [`caught`]).
        reset: &'static [libc::c_int],
        mask: libc::sigset_t,
        /// errno of the step that failed in the child, 0 if it exec'd.
        error: AtomicI32,
    }

    pub fn spawn(
        path: &Path,
        program: &str,
        args: &[String],
        vars: &[(OsString, OsString)],
        dir: &Path,
    ) -> io::Result<Spawned> {
        let path = c_string(path.as_os_str().as_bytes())?;
        let dir = c_string(dir.as_os_str().as_bytes())?;
        let argv = c_strings(std::iter::once(program.as_bytes()).chain(args.iter().map(|a| a.as_bytes())))?;
        let envp = c_strings(vars.iter().map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes()].concat()))?;
        let (argv_ptrs, envp_ptrs) = (null_terminated(&argv), null_terminated(&envp));

        let stdin = above_stdio(File::open("/dev/null")?)?;
        let (stdout_read, stdout_write) = pipe()?;
        let (stderr_read, stderr_write) = pipe()?;
        let mut stack = vec![0u8; CHILD_STACK];

        let mut setup = Setup {
            path: path.as_ptr(),
            argv: argv_ptrs.as_ptr(),
            envp: envp_ptrs.as_ptr(),
            dir: dir.as_ptr(),
            stdio: [stdin.as_raw_fd(), stdout_write.as_raw_fd(), stderr_write.as_raw_fd()],
            // SAFETY: getpid has no preconditions.
            parent: unsafe { libc::getpid() },
            reset: caught(),
            // SAFETY: an all-zero sigset_t is a valid value; it is filled below.
            mask: unsafe { std::mem::zeroed() },
            error: AtomicI32::new(0),
        };
        // SAFETY: signal masks are per thread: block everything here so no
        // handler runs in the child while it shares this memory, and keep
        // the old mask for the child to restore before exec and for us after.
        // The stack pointer is the 16-byte aligned end of `stack`, which
        // lives until after clone returns; with CLONE_VFORK clone returns
        // only once the child has exec'd or exited.
        let pid = unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut setup.mask);
            let top = stack.as_mut_ptr().add(CHILD_STACK);
            let top = top.sub(top as usize % 16);
            let pid = libc::clone(
                child,
                top.cast(),
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                (&mut setup as *mut Setup).cast(),
            );
            libc::pthread_sigmask(libc::SIG_SETMASK, &setup.mask, std::ptr::null_mut());
            pid
        };
        drop((stdin, stdout_write, stderr_write));
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        let error = setup.error.load(Ordering::SeqCst);
        if error != 0 {
            let _ = super::wait(pid as u32);
            return Err(io::Error::from_raw_os_error(error));
        }
        Ok(Spawned {
            pid: pid as u32,
            stdout: stdout_read,
            stderr: stderr_read,
        })
    }

    /// Report errno to the parent and end the child.
    unsafe fn fail(setup: &Setup) -> ! {
        setup.error.store((*libc::__errno_location()).max(1), Ordering::SeqCst);
        libc::_exit(127)
    }

    /// The child, until exec: system calls only.
    extern "C" fn child(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: `arg` is the parent's `Setup`, alive and unchanged while
        // the parent is suspended; every pointer in it is valid and
        // NUL-terminated; the calls below are async-signal-safe.
        unsafe {
            let setup = &*(arg as *const Setup);
            // Handlers live in the shared memory: back to defaults for
            // every signal the runner catches, and for SIGPIPE and SIGCHLD
            // (see [`caught`]).
            for &signal in setup.reset {
                let mut default: libc::sigaction = std::mem::zeroed();
                default.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(signal, &default, std::ptr::null_mut());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                fail(setup);
            }
            // The runner may have died before the request above took effect.
            if libc::getppid() != setup.parent {
                libc::_exit(127);
            }
            if libc::setpgid(0, 0) != 0 {
                fail(setup);
            }
            for (target, &fd) in setup.stdio.iter().enumerate() {
                if libc::dup2(fd, target as libc::c_int) < 0 {
                    fail(setup);
                }
            }
            if libc::chdir(setup.dir) != 0 {
                fail(setup);
            }
            libc::pthread_sigmask(libc::SIG_SETMASK, &setup.mask, std::ptr::null_mut());
            libc::execve(setup.path, setup.argv, setup.envp);
            fail(setup)
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::*;

    pub fn exit_fd(_pid: u32) -> Option<std::os::fd::OwnedFd> {
        None
    }
    use std::os::fd::{FromRawFd, IntoRawFd};
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    pub fn spawn(
        path: &Path,
        program: &str,
        args: &[String],
        vars: &[(OsString, OsString)],
        dir: &Path,
    ) -> io::Result<Spawned> {
        let mut cmd = Command::new(path);
        cmd.arg0(program)
            .args(args)
            .env_clear()
            .envs(vars.iter().map(|(k, v)| (k, v)))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn()?;
        let take = |fd: Option<std::os::fd::RawFd>| -> io::Result<File> {
            let fd = fd.ok_or_else(|| io::Error::other("no pipe"))?;
            // SAFETY: the descriptor was just taken from the child handle, which no longer owns it.
            Ok(unsafe { File::from_raw_fd(fd) })
        };
        let stdout = take(child.stdout.take().map(IntoRawFd::into_raw_fd))?;
        let stderr = take(child.stderr.take().map(IntoRawFd::into_raw_fd))?;
        // Reaped through waitpid by pid; std does not reap on drop.
        Ok(Spawned {
            pid: child.id(),
            stdout,
            stderr,
        })
    }
}
