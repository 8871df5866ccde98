//! Doctor's gathering: load what each subsystem's checks need, collect the
//! store's own facts (lock, reflog, objects, hook, remote standing) for
//! [`crate::doctor`] to judge, and apply `--fix` where a fix is safe.

use std::collections::BTreeSet;
use std::time::SystemTime;

use super::{repo, sync, Session};
use crate::claims::{self, Claim};
use crate::config::Config;
use crate::doctor;
use crate::error::{Error, Result};
use crate::finding::{Finding, Severity};
use crate::pool::{self, Agent};
use crate::state;
use crate::store::{message, Change, Message, Outcome, Snapshot, Store, STATE_REF};
use crate::workflow::{check, ledger, DEFINITIONS_DIR};

/// What to check, and whether to repair.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Subsystems to check; empty = all.
    pub subsystems: Vec<String>,
    pub fix: bool,
}

impl Options {
    fn wants(&self, name: &str) -> bool {
        self.subsystems.is_empty() || self.subsystems.iter().any(|s| s == name)
    }
}

/// Refuse subsystems doctor does not know (exit 2).
pub fn check_subsystems(names: &[String]) -> Result<()> {
    match names.iter().find(|s| !doctor::SUBSYSTEMS.contains(&s.as_str())) {
        None => Ok(()),
        Some(s) => Err(
            Error::invalid("unknown_subsystem", format!("doctor knows no subsystem {s:?}"))
                .with_hint(format!("subsystems: {}", doctor::SUBSYSTEMS.join(", "))),
        ),
    }
}

/// The pre-commit checks: cheap, independent of the number of claims.
pub fn hook(s: &Session) -> Result<Vec<Finding>> {
    let store = &s.store;
    let mut out = staged_definitions(store)?;
    let Some(tip) = store.tip()? else {
        out.push(Finding::ok(
            "store.ref",
            "no baton state in this repository; nothing to check",
        ));
        return Ok(out);
    };
    let snap = store.snapshot_at(Some(tip))?;
    match state::config(&snap) {
        Ok(_) => out.push(Finding::ok("store.ref", format!("state {}", tip.to_hex_with_len(10)))),
        Err(e) => out.push(
            Finding::error("store.files", e.message)
                .hint(e.hint)
                .at(crate::config::PATH),
        ),
    }
    out.extend(lock_checks(store, false));
    Ok(out)
}

/// Every check of the chosen subsystems.
pub fn full(s: &Session, opts: &Options) -> Result<Vec<Finding>> {
    // Who commits fixes, resolved first: a bad actor fails before any check.
    let actor = s.actor()?.to_string();
    let store = &s.store;
    let snap = s.snapshot()?;
    let mut out = Vec::new();
    let config = match state::config(&snap) {
        Ok(c) => c,
        Err(e) => {
            out.push(
                Finding::error("store.files", e.message)
                    .hint(e.hint)
                    .at(crate::config::PATH),
            );
            Config::default()
        }
    };
    let (claims, broken_claims) = state::load_all::<Claim>(&snap, claims::DIR, |c| c.schema)?;
    let (agents, broken_agents) = state::load_all::<Agent>(&snap, pool::DIR, |a| a.schema)?;
    if opts.wants("store") {
        out.extend(store_checks(store, &snap, opts.fix)?);
    }
    if opts.wants("claims") {
        out.extend(doctor::broken(&broken_claims, "claims.files"));
        let agent_ids: BTreeSet<_> = agents.iter().map(|(_, a)| a.id.clone()).collect();
        let mut found = claims::check::check(&claims, &agent_ids, s.now, &config.claims);
        found.extend(claims::check::check_generations(&generation_trail(store, &snap)?));
        if found.is_empty() && broken_claims.is_empty() {
            found.push(Finding::ok(
                "claims.invariants",
                format!("{} claim(s), invariants hold", claims.len()),
            ));
        }
        out.extend(found);
    }
    if opts.wants("pool") {
        out.extend(doctor::broken(&broken_agents, "pool.files"));
        let loads = pool::loads(claims.iter().map(|(_, c)| c));
        out.extend(pool::check(&agents, &loads, s.now, config.pool.heartbeat_timeout));
    }
    if opts.wants("workflow") {
        out.extend(workflow_checks(s, &snap, opts.fix.then_some(actor.as_str()))?);
    }
    if opts.wants("sync") {
        out.extend(sync_checks(store, &config.sync.remote)?);
    }
    Ok(out)
}

/// Remote checks from what was last fetched (doctor never touches the network).
fn sync_checks(store: &Store, remote: &str) -> Result<Vec<Finding>> {
    let remotes = store.remote_names();
    if !remotes.iter().any(|r| r == remote) {
        return Ok(doctor::sync(&doctor::Remote {
            name: remote,
            remotes: &remotes,
            has_refspec: false,
            standing: None,
        }));
    }
    let standing = sync::standing(store, remote)?;
    Ok(doctor::sync(&doctor::Remote {
        name: remote,
        remotes: &remotes,
        has_refspec: store.has_refspec(remote)?,
        standing: standing.as_ref().map(|st| doctor::Standing {
            ahead: st.ahead,
            behind: st.behind,
            unpublished_claims: &st.unpublished_claims,
        }),
    }))
}

/// `(claim id, generation)` of every single-claim commit, newest first.
fn generation_trail(store: &Store, snap: &Snapshot<'_>) -> Result<Vec<(String, u64)>> {
    let mut trail = Vec::new();
    let Some(tip) = snap.commit() else {
        return Ok(trail);
    };
    store.walk_first_parents(tip, |e| {
        let generation = e.message.get(message::GENERATION).and_then(|g| g.parse::<u64>().ok());
        let mut subjects = e.message.all(message::SUBJECT);
        if let (Some(g), Some(subject), None) = (generation, subjects.next(), subjects.next()) {
            if let Some(id) = subject.strip_prefix("claim/") {
                trail.push((id.to_owned(), g));
            }
        }
        true
    })?;
    Ok(trail)
}

fn store_checks(store: &Store, snap: &Snapshot<'_>, fix: bool) -> Result<Vec<Finding>> {
    let tip = snap.commit().ok_or_else(|| store.no_state())?;
    let mut out = vec![Finding::ok(
        "store.ref",
        format!("{STATE_REF} at {}", tip.to_hex_with_len(10)),
    )];
    let files = snap.files_under("")?;
    out.extend(doctor::unknown_entries(files.iter().map(|(p, _)| p.as_str())));
    out.extend(lock_checks(store, fix));
    out.extend(keep_checks(store, fix));
    out.push(doctor::reflog(
        store.git_dir().join("logs").join(STATE_REF).exists(),
        STATE_REF,
    ));
    out.push(objects_check(store, fix));
    out.push(doctor::hook(repo::hook_installed(store)));
    Ok(out)
}

/// The locks a write of the state ref takes (its own and
/// `packed-refs.lock`): each absent, young, or stale (removed with `fix`).
fn lock_checks(store: &Store, fix: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    for lock in store.lock_paths() {
        let Ok(meta) = std::fs::metadata(&lock) else {
            continue;
        };
        let age = meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .unwrap_or_default();
        let mut f = doctor::lock(&lock, age);
        if fix && f.severity == Severity::Error && std::fs::remove_file(&lock).is_ok() {
            f.fixed = true;
        }
        out.push(f);
    }
    if out.is_empty() {
        out.push(doctor::no_lock());
    }
    out
}

/// Packs kept by a baton writer that is gone (the keep names its pid, see
/// `store::pack::Keep`); `fix` removes those keeps.
fn keep_checks(store: &Store, fix: bool) -> Vec<Finding> {
    let mut orphaned = Vec::new();
    for entry in std::fs::read_dir(store.pack_dir()).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "keep") {
            continue;
        }
        let pid = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| text.trim().strip_prefix("baton pid ")?.parse::<u32>().ok());
        if let Some(pid) = pid.filter(|&pid| !crate::os::process_alive(pid)) {
            orphaned.push((path, pid));
        }
    }
    let mut found = doctor::orphaned_keeps(&orphaned);
    if fix {
        for (f, (path, _)) in found.iter_mut().zip(&orphaned) {
            f.fixed = std::fs::remove_file(path).is_ok();
        }
    }
    found
}

/// Loose objects and packs; `fix` runs `git gc --auto`.
fn objects_check(store: &Store, fix: bool) -> Finding {
    let mut f = doctor::objects(count_objects(store));
    if fix {
        let ran = store
            .git()
            .args(["gc", "--auto", "--quiet"])
            .status()
            .is_ok_and(|s| s.success());
        if ran {
            if f.severity != Severity::Ok {
                f.fixed = true;
            }
            f.message.push_str("; ran git gc --auto");
        }
    }
    f
}

/// Loose objects and packs, as `git count-objects` counts them.
fn count_objects(store: &Store) -> Option<(u64, u64)> {
    let out = store.git().args(["count-objects", "-v"]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|n| n.trim().parse().ok())
    };
    Some((field("count: ")?, field("packs: ")?))
}

/// Definitions staged for commit under `.baton/workflows/` must validate (pre-commit).
fn staged_definitions(store: &Store) -> Result<Vec<Finding>> {
    let Some(work) = store.work_dir() else {
        return Ok(Vec::new());
    };
    // From the work tree's root: the pathspec is relative to the current
    // directory, so from a subdirectory (or `.git/`) it would match nothing
    // and staged definitions would pass unchecked.
    let out = store
        .git()
        .current_dir(work)
        .args([
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--diff-filter=ACMR",
            "--",
            DEFINITIONS_DIR,
        ])
        .output()
        .map_err(|e| Error::io("running git diff --cached", e))?;
    let mut files = Vec::new();
    for path in String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .filter(|p| p.ends_with(".toml") || p.ends_with(".json"))
    {
        let shown = store
            .git()
            .args(["show", &format!(":{path}")])
            .output()
            .map_err(|e| Error::io("running git show", e))?;
        files.push((path.to_owned(), String::from_utf8_lossy(&shown.stdout).into_owned()));
    }
    Ok(check::check_definitions(&files))
}

/// Definitions in the working tree, and runs left `running` by a dead process.
/// `fix`: the actor who commits the repairs.
fn workflow_checks(s: &Session, snap: &Snapshot<'_>, fix: Option<&str>) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    if let Some(work) = s.store.work_dir() {
        out.extend(check::check_definitions(&definitions_in(&work.join(DEFINITIONS_DIR))));
    }
    let (runs, broken_runs) = state::load_all_json::<ledger::Run>(snap, ledger::DIR, |r| r.schema)?;
    out.extend(doctor::broken(&broken_runs, "workflow.files"));
    let (mut findings, dead) = check::check_runs(&runs, &crate::os::hostname(), crate::os::process_alive);
    if let (Some(actor), false) = (fix, dead.is_empty()) {
        mark_interrupted(s, actor, &dead)?;
        for f in findings.iter_mut().filter(|f| f.severity == Severity::Error) {
            f.fixed = true;
        }
    }
    out.extend(findings);
    Ok(out)
}

/// The definition files in `dir`, as `(repository-relative path, text)`, sorted.
fn definitions_in(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".toml") || name.ends_with(".json") {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                files.push((format!("{DEFINITIONS_DIR}/{name}"), text));
            }
        }
    }
    files.sort();
    files
}

/// Mark the runs `dead` (still `running`, their process gone) interrupted, in one commit.
fn mark_interrupted(s: &Session, actor: &str, dead: &[crate::ids::RunId]) -> Result<()> {
    s.store.update(actor, |snap| {
        let mut msg = Message::new(format!("workflow: mark {} run(s) interrupted", dead.len()))
            .trailer(message::OP, "workflow.interrupt")
            .trailer(message::ACTOR, actor);
        let mut change = Change::default();
        for id in dead {
            let Some(mut run) = state::run(snap, id)? else {
                continue;
            };
            if run.status != ledger::RunStatus::Running {
                continue;
            }
            run.status = ledger::RunStatus::Interrupted;
            run.finished_at = Some(s.now);
            msg = msg.trailer(message::SUBJECT, format!("run/{id}"));
            change.put_json(ledger::path(id), &run)?;
        }
        if change.is_empty() {
            return Ok(Outcome::Unchanged(()));
        }
        change.message = msg;
        Ok(Outcome::Write(change, ()))
    })?;
    Ok(())
}
