//! Fixtures shared by the unit tests of every module (test builds only):
//! times, actors and ids from literals, a claim and a pool agent as their
//! files would hold them, and plain git on a throwaway repository. A
//! fixture used by one test module stays in that module.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::claims::{Claim, ClaimState};
use crate::clock::{parse_timestamp, Timestamp};
use crate::codec::SCHEMA;
use crate::ids::{Actor, AgentId, ClaimId, Role};
use crate::pool::{Agent, AgentStatus};

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

/// A claim held by `agent:alice` since [`T0`] at generation 1 (offered to
/// `agent:bob` when `handoff_pending`), on pool agent `agent` if given;
/// tests set other fields with struct update syntax.
pub fn claim(id: &str, state: ClaimState, agent: Option<&str>) -> Claim {
    Claim {
        schema: SCHEMA,
        id: claim_id(id),
        state,
        owner: actor("agent:alice"),
        agent: agent.map(|a| AgentId::parse(a).unwrap()),
        role: None,
        generation: 1,
        created_at: t0(),
        updated_at: t0(),
        lease_until: None,
        handoff_to: (state == ClaimState::HandoffPending).then(|| actor("agent:bob")),
        handoff_note: None,
        reason: None,
        note: None,
        delivery: None,
        extra: Default::default(),
    }
}

/// A pool agent registered at [`T0`] that last beat at `heartbeat`.
pub fn agent(id: &str, role: &str, capacity: u32, status: AgentStatus, heartbeat: &str) -> Agent {
    Agent {
        schema: SCHEMA,
        id: AgentId::parse(id).unwrap(),
        role: Role::parse(role).unwrap(),
        capacity,
        status,
        created_at: t0(),
        last_heartbeat: Some(at(heartbeat)),
        extra: Default::default(),
    }
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
