//! Doctor's gathering: load what each subsystem's checks need, collect the
//! store's own facts (lock, reflog, objects, hook, remote standing) for
//! [`crate::doctor`] to judge, and apply `--fix` where a fix is safe.

use std::collections::BTreeSet;
use std::time::SystemTime;

use super::{hooks, sync, verify, Session};
use crate::claims::{self, Claim};
use crate::config::Config;
use crate::doctor;
use crate::doctor::future::{self, Stamp};
use crate::error::{Error, Result};
use crate::finding::{Finding, Severity};
use crate::pool::{self, Agent};
use crate::state;
use crate::store::{message, Change, Message, Snapshot, Store, Update, STATE_REF};
use crate::workflow::ledger::{self, Run};
use crate::workflow::{check, DEFINITIONS_DIR};

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
        Some(s) => Err(doctor::UnknownSubsystem(s.clone()).into()),
    }
}

/// The pre-commit checks: cheap, independent of the number of claims (the
/// state files are parsed only where they changed since the last run).
pub fn hook(s: &Session) -> Result<Vec<Finding>> {
    let store = &s.store;
    let mut out = staged_definitions(store)?;
    let tip = match store.tip() {
        Ok(tip) => tip,
        Err(e) => {
            out.push(doctor::unreadable_ref(STATE_REF, &e.message()));
            return Ok(out);
        }
    };
    let Some(tip) = tip else {
        out.push(Finding::ok(
            "store.ref",
            "no baton state in this repository; nothing to check",
        ));
        return Ok(out);
    };
    let snap = match store.snapshot_at(Some(tip)) {
        Ok(snap) => snap,
        Err(e) => {
            out.push(doctor::unreadable_ref(STATE_REF, &dangling(tip, &e)));
            return Ok(out);
        }
    };
    match state::config(&snap) {
        Ok(_) => out.push(Finding::ok("store.ref", format!("state {}", tip.to_hex_with_len(10)))),
        Err(e) => out.push(doctor::file_problem("store.files", crate::config::PATH, &e)),
    }
    out.extend(verify::hook_findings(store, &snap));
    out.extend(super::reservations::hook_findings(s, &snap));
    out.extend(lock_checks(store, false));
    Ok(out)
}

/// Why a state ref that resolves cannot be read.
fn dangling(tip: gix::ObjectId, e: &Error) -> String {
    format!("it points at {tip}, which cannot be read ({})", e.message())
}

/// A gathering step that failed on what is in the store (a missing object,
/// a tree that cannot be read) becomes a finding of `check`, and doctor goes
/// on with what it has: doctor is the tool that must work on broken state.
fn gathered<T: Default>(out: &mut Vec<Finding>, check: &str, result: Result<T>) -> T {
    result.unwrap_or_else(|e| {
        out.push(Finding::error(check, e.message()).hint(e.hint));
        T::default()
    })
}

/// Every check of the chosen subsystems.
pub fn full(s: &Session, opts: &Options) -> Result<Vec<Finding>> {
    // Who commits fixes, resolved first: a bad actor fails before any check.
    let actor = s.actor()?.to_string();
    let store = &s.store;
    let tip = match store.tip() {
        Ok(tip) => tip.ok_or_else(|| store.no_state())?,
        Err(e) => return Ok(vec![doctor::unreadable_ref(STATE_REF, &e.message())]),
    };
    let snap = match store.snapshot_at(Some(tip)) {
        Ok(snap) => snap,
        Err(e) => return Ok(vec![doctor::unreadable_ref(STATE_REF, &dangling(tip, &e))]),
    };
    let mut out = Vec::new();
    let config = state::config(&snap).unwrap_or_else(|e| {
        out.push(doctor::file_problem("store.files", crate::config::PATH, &e));
        Config::default()
    });
    let loaded = Loaded::gather(&snap, &mut out);
    let (claims, _) = &loaded.claims;
    let (agents, broken_agents) = &loaded.agents;
    if opts.wants("store") {
        let found = store_checks(store, &snap, opts.fix);
        let found = gathered(&mut out, "store.files", found);
        out.extend(found);
    }
    if opts.wants("claims") {
        let found = claims_checks(s, &snap, &loaded, &config, &mut out);
        out.extend(found);
    }
    if opts.wants("pool") {
        out.extend(doctor::broken(broken_agents, "pool.files"));
        let loads = pool::loads(claims.iter().map(|(_, c)| c));
        out.extend(pool::check(agents, &loads, s.now, config.pool.heartbeat_timeout));
        out.extend(future::check(
            agents.iter().flat_map(|(path, a)| {
                let heartbeat = a.last_heartbeat.map(|at| ("last_heartbeat", at));
                [Some(("created_at", a.created_at)), heartbeat]
                    .into_iter()
                    .flatten()
                    .map(|(field, at)| Stamp {
                        check: "pool.future",
                        what: format!("agent {} {field}", a.id),
                        path,
                        at,
                    })
            }),
            s.now,
        ));
    }
    if opts.wants("workflow") {
        out.extend(future::check(
            loaded.runs.0.iter().flat_map(|(path, r)| {
                let finished = r.finished_at.map(|at| ("finished_at", at));
                [Some(("started_at", r.started_at)), finished]
                    .into_iter()
                    .flatten()
                    .map(|(field, at)| Stamp {
                        check: "workflow.future",
                        what: format!("run {} {field}", r.id),
                        path,
                        at,
                    })
            }),
            s.now,
        ));
        let found = workflow_checks(s, &loaded.runs, opts.fix.then_some(actor.as_str()));
        let found = gathered(&mut out, "workflow.runs", found);
        out.extend(found);
    }
    if opts.wants("delivery") {
        out.extend(super::delivery::check(s, &snap, opts.fix.then_some(actor.as_str()))?);
    }
    if opts.wants("sync") {
        let found = sync_checks(store, &config.sync.remote);
        let found = gathered(&mut out, "sync.standing", found);
        out.extend(found);
    }
    if opts.wants("daemon") {
        out.extend(super::daemon::doctor(s, opts.fix));
    }
    if opts.wants("learn") {
        out.extend(super::learn::check(s, &snap, &config.learn, opts.fix));
    }
    if opts.fix {
        quarantine_broken(s, &actor, opts, &loaded, &mut out);
    }
    Ok(out)
}

/// Claim invariants, the generation trail in history, and files that do not parse.
fn claims_checks(
    s: &Session,
    snap: &Snapshot<'_>,
    loaded: &Loaded,
    config: &Config,
    out: &mut Vec<Finding>,
) -> Vec<Finding> {
    let (claims, broken_claims) = &loaded.claims;
    let agent_ids: BTreeSet<_> = loaded.agents.0.iter().map(|(_, a)| a.id.clone()).collect();
    let mut found = doctor::broken(broken_claims, "claims.files");
    found.extend(claims::check::check(claims, &agent_ids, s.now, &config.claims));
    found.extend(future::check(
        claims.iter().flat_map(|(path, c)| {
            [("created_at", c.created_at), ("updated_at", c.updated_at)].map(|(field, at)| Stamp {
                check: "claims.future",
                what: format!("claim {} {field}", c.id),
                path,
                at,
            })
        }),
        s.now,
    ));
    let trail = gathered(out, "claims.generation", generation_trail(&s.store, snap));
    found.extend(claims::check::check_generations(&trail));
    if found.is_empty() {
        found.push(Finding::ok(
            "claims.invariants",
            format!("{} claim(s), invariants hold", claims.len()),
        ));
    }
    found.extend(claims::reservations::check::check(claims, s.now));
    found
}

/// What doctor loaded of the state: every file that parsed, and those that did not.
struct Loaded {
    claims: state::Loaded<Claim>,
    agents: state::Loaded<Agent>,
    runs: state::Loaded<Run>,
    /// Delivery ledgers that do not parse (the delivery check reports them).
    deliveries: Vec<state::Broken>,
    /// Learn statistics files that do not parse (not those a newer baton wrote).
    learn: Vec<String>,
}

impl Loaded {
    /// Load every subsystem's files; what cannot be read at all is a finding in `out`.
    fn gather(snap: &Snapshot<'_>, out: &mut Vec<Finding>) -> Loaded {
        Loaded {
            claims: gathered(
                out,
                "claims.files",
                state::load_all(snap, claims::DIR, |c: &Claim| c.schema),
            ),
            agents: gathered(
                out,
                "pool.files",
                state::load_all(snap, pool::DIR, |a: &Agent| a.schema),
            ),
            runs: gathered(
                out,
                "workflow.files",
                state::load_all_json(snap, ledger::DIR, |r: &Run| r.schema),
            ),
            deliveries: gathered(
                out,
                "delivery.files",
                state::readable_deliveries(snap).map(|(_, broken)| broken),
            ),
            learn: super::learn::unparsable(snap),
        }
    }
}

/// `--fix`: move the files of the checked subsystems that do not parse to
/// `quarantine/` in one commit, and mark their findings fixed.
fn quarantine_broken(s: &Session, actor: &str, opts: &Options, loaded: &Loaded, out: &mut Vec<Finding>) {
    let mut paths = Vec::new();
    for (subsystem, broken) in [
        ("claims", &loaded.claims.1),
        ("pool", &loaded.agents.1),
        ("workflow", &loaded.runs.1),
        ("delivery", &loaded.deliveries),
    ] {
        if opts.wants(subsystem) {
            let unparsable = broken.iter().filter(|b| !b.error.is::<crate::codec::NewerSchema>());
            paths.extend(unparsable.map(|b| b.path.clone()));
        }
    }
    if opts.wants("learn") {
        paths.extend(loaded.learn.iter().cloned());
    }
    if paths.is_empty() {
        return;
    }
    let set_aside = match verify::quarantine(&s.store, actor, &paths) {
        Ok(done) => done,
        Err(e) => {
            out.push(Finding::error("store.quarantine", format!("could not quarantine: {}", e.message())).hint(e.hint));
            return;
        }
    };
    for done in &set_aside {
        let path = done.path();
        for f in out
            .iter_mut()
            .filter(|f| f.path.as_deref() == Some(path) && f.severity == Severity::Error)
        {
            f.fixed = true;
            f.message.push_str(&match done {
                verify::SetAside::Moved(_) => format!("; moved to {}/{path}", verify::QUARANTINE),
                verify::SetAside::Removed(_) => "; removed".to_owned(),
            });
        }
    }
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

/// `(claim id, generation)` of every commit that changed one claim, newest first.
fn generation_trail(store: &Store, snap: &Snapshot<'_>) -> Result<Vec<(String, u64)>> {
    let mut trail = Vec::new();
    let Some(tip) = snap.commit() else {
        return Ok(trail);
    };
    store.walk_first_parents(tip, |e| {
        let generation = e.message.get(message::GENERATION).and_then(|g| g.parse::<u64>().ok());
        // A delivery phase names its ledger too; one claim per commit is what counts.
        let mut claims = e.message.all(message::SUBJECT).filter_map(|s| s.strip_prefix("claim/"));
        if let (Some(g), Some(id), None) = (generation, claims.next(), claims.next()) {
            trail.push((id.to_owned(), g));
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
    out.extend(doctor::unknown_entries(files.iter().map(|e| e.path.as_str())));
    let quarantined = files
        .iter()
        .filter(|e| e.path.starts_with(&format!("{}/", verify::QUARANTINE)))
        .count();
    out.extend(doctor::quarantined(quarantined));
    out.extend(lock_checks(store, fix));
    out.extend(keep_checks(store, fix));
    out.push(doctor::reflog(
        store.git_dir().join("logs").join(STATE_REF).exists(),
        STATE_REF,
    ));
    out.push(objects_check(store, fix));
    out.push(doctor::hook(hooks::hook_installed(store)));
    out.extend(doctor::read_index(&super::index::check_all(store, snap, fix)?));
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
    if store.work_dir().is_none() {
        return Ok(Vec::new());
    }
    // `Store::git` runs in the work tree's root: the pathspec is relative to
    // the current directory, so from a subdirectory (or `.git/`) it would
    // match nothing and staged definitions would pass unchecked.
    let out = store
        .git()
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
fn workflow_checks(s: &Session, runs: &state::Loaded<Run>, fix: Option<&str>) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    if let Some(work) = s.store.work_dir() {
        out.extend(check::check_definitions(&definitions_in(&work.join(DEFINITIONS_DIR))));
    }
    let (runs, broken_runs) = runs;
    out.extend(doctor::broken(broken_runs, "workflow.files"));
    let (mut findings, dead) = check::check_runs(runs, &crate::os::hostname(), crate::os::process_alive);
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
        let mut change = Change::default();
        let marked = super::workflow::put_interrupted(snap, dead, s.now, &mut change)?;
        if marked.is_empty() {
            return Ok(Update::Unchanged(()));
        }
        let mut msg = Message::new(format!("workflow: mark {} run(s) interrupted", marked.len()))
            .trailer(message::OP, "workflow.interrupt")
            .trailer(message::ACTOR, actor);
        for run in &marked {
            msg = msg.trailer(message::SUBJECT, format!("run/{}", run.id));
        }
        change.message = msg;
        Ok(Update::Write(change, ()))
    })?;
    Ok(())
}
