//! What the benchmark harnesses share: the binary under test, counts from
//! the environment, a hermetic command, running one that must succeed
//! (with its wall time), order statistics, milliseconds, and the machine's
//! load.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub type Res<T> = Result<T, String>;

/// `program` in `dir` with a hermetic environment: neither the machine's
/// nor the user's git config, identity or locale may change what is
/// measured, and no inherited baton or git-location setting applies.
pub fn command(program: &Path, dir: &Path) -> Command {
    let mut c = Command::new(program);
    c.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@localhost")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@localhost")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .env_remove("BATON_NOW")
        .env_remove("BATON_ACTOR")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
    c
}

/// Median, 95th percentile (nearest rank), minimum and maximum of a sample.
pub struct Stats {
    pub p50: Duration,
    pub p95: Duration,
    pub min: Duration,
    pub max: Duration,
}

impl Stats {
    pub fn of(samples: &[Duration]) -> Stats {
        let mut s = samples.to_vec();
        s.sort();
        let n = s.len();
        let p50 = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2
        };
        Stats {
            p50,
            p95: s[(n * 95).div_ceil(100).max(1) - 1],
            min: s[0],
            max: s[n - 1],
        }
    }
}

/// Run to completion (no stdin), fail on a non-zero exit; stdout and wall time.
pub fn timed(mut c: Command, what: &str) -> Res<(String, Duration)> {
    c.stdin(Stdio::null());
    let t0 = Instant::now();
    let out = c.output().map_err(|e| format!("{what}: cannot start: {e}"))?;
    let wall = t0.elapsed();
    if !out.status.success() {
        return Err(format!(
            "{what}: {}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((String::from_utf8_lossy(&out.stdout).into_owned(), wall))
}

/// Run to completion, fail on a non-zero exit, return stdout.
pub fn output(c: Command, what: &str) -> Res<String> {
    timed(c, what).map(|(out, _)| out)
}

/// `git args` in `dir` (hermetic, as [`command`]); its output, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> Res<String> {
    let mut c = command(Path::new("git"), dir);
    c.args(args);
    output(c, &format!("git {}", args.join(" "))).map(|s| s.trim().to_owned())
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `/proc/loadavg`'s first three fields: a busy machine makes every number slower.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The baton binary under test: `BATON_BIN`, else the release binary cargo
/// built for this bench; absolute, so it runs from any directory.
pub fn baton_bin() -> Res<PathBuf> {
    let bin = std::env::var_os("BATON_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_baton")));
    bin.canonicalize().map_err(|e| format!("{}: {e}", bin.display()))
}

/// A positive count from the environment variable `name`, else `default`.
pub fn env_number(name: &str, default: usize) -> Res<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(format!("{name} must be a positive number, not {v:?}")),
        Err(_) => Ok(default),
    }
}

/// Feed `stream` (a `git fast-import` stream ending in `done`) to `git`, a
/// command already set up with the repository and its environment.
pub fn fast_import(mut git: Command, stream: &[u8]) -> Res<()> {
    use std::io::Write;
    git.args(["fast-import", "--quiet", "--done"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = git.spawn().map_err(|e| format!("git fast-import: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(stream)
        .map_err(|e| format!("feeding git fast-import: {e}"))?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "git fast-import: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}
