//! Gathering for doctor: load what each subsystem's checks need from the
//! store, add the store's own checks (ref, lock, reflog, objects, hook), and
//! apply `--fix` where a fix is safe.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use crate::claims::{self, Claim};
use crate::clock::Timestamp;
use crate::config::Config;
use crate::doctor::Finding;
use crate::error::Result;
use crate::pool::{self, Agent};
use crate::state::{self, Broken};
use crate::store::{message, Change, Message, Outcome, Snapshot, Store, STATE_REF};

pub struct Options {
    /// Subsystems to check; empty = all.
    pub subsystems: Vec<String>,
    pub fix: bool,
    pub now: Timestamp,
    /// Who commits fixes (marking dead runs interrupted).
    pub actor: String,
}

impl Options {
    fn wants(&self, name: &str) -> bool {
        self.subsystems.is_empty() || self.subsystems.iter().any(|s| s == name)
    }
}

/// Top-level entries the state tree may hold (DESIGN §1.1).
const KNOWN_TOP_LEVEL: &[&str] = &[
    "config.toml",
    "claims",
    "agents",
    "runs",
    "metrics",
    "reconcile",
    "learn",
];

/// A lock older than this is left over from a crashed writer.
const STALE_LOCK: Duration = Duration::from_secs(60);

/// Loose objects past which `git gc --auto` would pack (git's `gc.auto` default).
const LOOSE_OBJECTS_GC: u64 = 6700;

/// Packs past which `git gc --auto` would repack (git's `gc.autoPackLimit`
/// default). Workflow runs add one pack each.
const PACKS_GC: u64 = 50;

/// The pre-commit checks: cheap, independent of the number of claims.
pub fn hook(store: &Store) -> Result<Vec<Finding>> {
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
    out.extend(lock_check(store, false));
    Ok(out)
}

/// Every check of the chosen subsystems.
pub fn full(store: &Store, opts: &Options) -> Result<Vec<Finding>> {
    let snap = store.snapshot()?;
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
        out.extend(store_checks(store, &snap, opts)?);
    }
    if opts.wants("claims") {
        out.extend(broken(&broken_claims, "claims.files"));
        let agent_ids: BTreeSet<_> = agents.iter().map(|(_, a)| a.id.clone()).collect();
        let mut found = claims::check::check(&claims, &agent_ids, opts.now, &config.claims);
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
        out.extend(broken(&broken_agents, "pool.files"));
        let loads = pool::loads(claims.iter().map(|(_, c)| c));
        out.extend(pool::check(&agents, &loads, opts.now, config.pool.heartbeat_timeout));
    }
    if opts.wants("workflow") {
        out.extend(workflow_checks(store, &snap, opts)?);
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
        return Ok(vec![if remotes.is_empty() {
            Finding::ok("sync.remote", "no git remote: state is local only")
        } else {
            Finding::warn(
                "sync.remote",
                format!("sync.remote is {remote:?}, which is not a git remote"),
            )
            .hint(format!("baton config set sync.remote {}", remotes[0]))
        }]);
    }
    let mut out = vec![if store.has_refspec(remote)? {
        Finding::ok("sync.refspec", format!("{remote} fetches refs/baton/*"))
    } else {
        Finding::warn(
            "sync.refspec",
            format!("{remote} has no fetch refspec for refs/baton/*"),
        )
        .hint("`baton init` adds it; `baton sync` works without it")
    }];
    match crate::sync::standing(store, remote)? {
        None => out.push(
            Finding::warn("sync.standing", format!("the state was never exchanged with {remote}"))
                .hint("run `baton sync` to publish it"),
        ),
        Some(st) => {
            out.push(
                match (st.ahead, st.behind) {
                    (0, 0) => Finding::ok("sync.standing", format!("in step with {remote} as of the last fetch")),
                    (a, 0) => Finding::warn(
                        "sync.standing",
                        format!("{a} operation(s) not yet published to {remote}"),
                    ),
                    (0, b) => Finding::warn(
                        "sync.standing",
                        format!("{b} operation(s) of {remote} not yet taken in"),
                    ),
                    (a, b) => Finding::warn(
                        "sync.standing",
                        format!("diverged from {remote}: {a} local, {b} remote operation(s)"),
                    ),
                }
                .hint("run `baton sync`"),
            );
            if !st.unpublished_claims.is_empty() {
                let shown: Vec<&str> = st.unpublished_claims.iter().take(10).map(String::as_str).collect();
                let more = st.unpublished_claims.len().saturating_sub(shown.len());
                let more = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
                out.push(
                    Finding::warn(
                        "sync.unpublished",
                        format!("claims not yet published: {}{more}", shown.join(", ")),
                    )
                    .hint("they count only once published: run `baton sync`"),
                );
            }
        }
    }
    Ok(out)
}

fn broken(files: &[Broken], check: &str) -> Vec<Finding> {
    files
        .iter()
        .map(|b| {
            Finding::error(check, b.error.message.clone())
                .hint(b.error.hint.clone())
                .at(b.path.clone())
        })
        .collect()
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

fn store_checks(store: &Store, snap: &Snapshot<'_>, opts: &Options) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    let tip = snap.commit().expect("full doctor runs on existing state");
    out.push(Finding::ok(
        "store.ref",
        format!("{STATE_REF} at {}", tip.to_hex_with_len(10)),
    ));

    let unknown: Vec<String> = snap
        .files_under("")?
        .into_iter()
        .filter_map(|(p, _)| {
            let top = p.split('/').next().unwrap_or("").to_owned();
            (!KNOWN_TOP_LEVEL.contains(&top.as_str())).then_some(top)
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for top in unknown {
        out.push(
            Finding::warn(
                "store.files",
                format!("unexpected entry {top} at the top of the state tree"),
            )
            .hint("a newer baton may have written it; otherwise remove it in a state commit")
            .at(top),
        );
    }

    out.extend(lock_check(store, opts.fix));

    let reflog = store.git_dir().join("logs").join(STATE_REF);
    out.push(if reflog.exists() {
        Finding::ok("store.reflog", "reflog is kept for the state ref")
    } else {
        Finding::warn("store.reflog", format!("no reflog for {STATE_REF}")).hint("the next baton write creates it")
    });

    out.push(objects_check(store, opts.fix));

    out.push(if store.hook_installed() {
        Finding::ok("store.hook", "pre-commit hook runs baton doctor --hook")
    } else {
        Finding::warn("store.hook", "no pre-commit hook runs baton doctor --hook")
            .hint("install it with `baton init --hooks`")
    });
    Ok(out)
}

fn lock_check(store: &Store, fix: bool) -> Vec<Finding> {
    let lock = store.lock_path();
    let Ok(meta) = std::fs::metadata(&lock) else {
        return vec![Finding::ok("store.lock", "no ref lock held")];
    };
    let age = meta
        .modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .unwrap_or_default();
    if age < STALE_LOCK {
        return vec![Finding::warn(
            "store.lock",
            format!(
                "{} exists ({}s old): a write is in progress",
                lock.display(),
                age.as_secs()
            ),
        )
        .hint("run doctor again in a minute; a lock older than that is stale")];
    }
    let mut f = Finding::error(
        "store.lock",
        format!(
            "stale ref lock {} ({}s old), left by a crashed writer",
            lock.display(),
            age.as_secs()
        ),
    )
    .hint("`baton doctor --fix` removes it");
    if fix && std::fs::remove_file(&lock).is_ok() {
        f.fixed = true;
    }
    vec![f]
}

fn objects_check(store: &Store, fix: bool) -> Finding {
    let mut f = match count_objects(store) {
        Some((loose, packs)) if loose > LOOSE_OBJECTS_GC || packs > PACKS_GC => {
            Finding::warn("store.objects", format!("{loose} loose objects, {packs} pack(s)"))
                .hint("`baton doctor --fix` runs `git gc --auto`")
        }
        Some((loose, packs)) => Finding::ok("store.objects", format!("{loose} loose objects, {packs} pack(s)")),
        None => Finding::warn("store.objects", "could not count objects (`git count-objects` failed)"),
    };
    if fix {
        let ran = store
            .git()
            .args(["gc", "--auto", "--quiet"])
            .status()
            .is_ok_and(|s| s.success());
        if ran {
            if f.severity != crate::doctor::Severity::Ok {
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
            crate::workflow::DEFINITIONS_DIR,
        ])
        .output()
        .map_err(|e| crate::error::Error::io("running git diff --cached", e))?;
    let mut files = Vec::new();
    for path in String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .filter(|p| p.ends_with(".toml") || p.ends_with(".json"))
    {
        let shown = store
            .git()
            .args(["show", &format!(":{path}")])
            .output()
            .map_err(|e| crate::error::Error::io("running git show", e))?;
        files.push((path.to_owned(), String::from_utf8_lossy(&shown.stdout).into_owned()));
    }
    Ok(crate::workflow::check::check_definitions(&files))
}

/// Definitions in the working tree, and runs left `running` by a dead process.
fn workflow_checks(store: &Store, snap: &Snapshot<'_>, opts: &Options) -> Result<Vec<Finding>> {
    use crate::workflow::{check, ledger, DEFINITIONS_DIR};
    let mut out = Vec::new();
    if let Some(work) = store.work_dir() {
        let dir = work.join(DEFINITIONS_DIR);
        let mut files = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".toml") || name.ends_with(".json") {
                    let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                    files.push((format!("{DEFINITIONS_DIR}/{name}"), text));
                }
            }
        }
        files.sort();
        out.extend(check::check_definitions(&files));
    }
    let (runs, broken_runs) = state::load_all_json::<ledger::Run>(snap, ledger::DIR, |r| r.schema)?;
    out.extend(broken(&broken_runs, "workflow.files"));
    let (findings, dead) = check::check_runs(&runs, &crate::os::hostname(), crate::os::process_alive);
    let mut findings = findings;
    if opts.fix && !dead.is_empty() {
        let now = opts.now;
        store.update(&opts.actor, |snap| {
            let mut msg = Message::new(format!("workflow: mark {} run(s) interrupted", dead.len()))
                .trailer(message::OP, "workflow.interrupt")
                .trailer(message::ACTOR, &opts.actor);
            let mut change = Change::default();
            for id in &dead {
                let path = ledger::path(id);
                let Some(mut run) = snap.load_json::<ledger::Run>(&path)? else {
                    continue;
                };
                if run.status != ledger::RunStatus::Running {
                    continue;
                }
                run.status = ledger::RunStatus::Interrupted;
                run.finished_at = Some(now);
                msg = msg.trailer(message::SUBJECT, format!("run/{id}"));
                change.put_json(path, &run)?;
            }
            if change.is_empty() {
                return Ok(Outcome::Unchanged(()));
            }
            change.message = msg;
            Ok(Outcome::Write(change, ()))
        })?;
        for f in findings
            .iter_mut()
            .filter(|f| f.severity == crate::doctor::Severity::Error)
        {
            f.fixed = true;
        }
    }
    out.extend(findings);
    Ok(out)
}
