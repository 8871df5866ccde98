//! What the three benchmark harnesses share: running a command that must
//! succeed (with its wall time), milliseconds, and the machine's load.
#![allow(dead_code)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub type Res<T> = Result<T, String>;

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

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `/proc/loadavg`'s first three fields: a busy machine makes every number slower.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
