//! Fixtures shared by the unit tests of every module (test builds only):
//! times, actors and ids from literals, and plain git on a throwaway
//! repository. It uses only the leaf modules, so any module's tests may use
//! it without an import up the layer order (docs/architecture.md); fixtures
//! of a subsystem's own types are its `fixtures` module (`claims::fixtures`,
//! `pool::fixtures`). A fixture used by one test module stays in that module.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::clock::{parse_timestamp, Timestamp};
use crate::ids::{Actor, ClaimId};

/// The fixed time the fixtures start at.
pub const T0: &str = "2026-01-01T00:00:00Z";

/// An RFC 3339 literal as a timestamp.
pub fn at(t: &str) -> Timestamp {
    parse_timestamp(t).unwrap()
}

/// [`T0`] as a timestamp.
pub fn t0() -> Timestamp {
    at(T0)
}

/// `kind:name` as an actor.
pub fn actor(s: &str) -> Actor {
    Actor::parse(s).unwrap()
}

/// A claim id literal.
pub fn claim_id(s: &str) -> ClaimId {
    ClaimId::parse(s).unwrap()
}

/// Runs plain git in `dir` with no system or global config; fails the
/// test on a non-zero exit.
pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args(args)
        .output()
        .expect("running git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh repository `root/name` with a local identity (the test
/// process's global git config may say anything).
pub fn repository(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q"]);
    git(&dir, &["config", "user.email", "ops@example.com"]);
    git(&dir, &["config", "user.name", "ops"]);
    dir
}

/// Damages a machine-local file the way a crash or a bad disk might, as a
/// property test draws it: `how` 0 cuts it at `at`, 1 flips the bits `flip`
/// of the byte at `at`, anything else replaces it with `garbage`. A file
/// that is not there is left alone.
pub fn damage(path: &Path, how: u8, at: u16, flip: u8, garbage: &[u8]) {
    let Ok(mut data) = std::fs::read(path) else {
        return;
    };
    let n = usize::from(at) % data.len().max(1);
    match how {
        0 => data.truncate(n),
        1 => {
            if let Some(b) = data.get_mut(n) {
                *b ^= flip;
            }
        }
        _ => data = garbage.to_vec(),
    }
    std::fs::write(path, data).unwrap();
}
