//! `workflow resume`: what resuming a run would re-run, and re-running it
//! in the same run.
//!
//! A resume trusts nothing of the ledger but its step results: it runs the
//! definition file of this work tree at the recorded repository-relative
//! path, only when its blob id is the recorded one, under the policy as it
//! is now; and it takes the run with a compare-and-swap on its status, so of
//! two resumes at once exactly one executes.

use std::collections::BTreeSet;
use std::path::{Component, Path};

use super::{execute, get, guard, named, no_run, record_change, refuse_unless_allowed, Execution, Session, Wrap};
use crate::error::{Error, Result};
use crate::ids::RunId;
use crate::os;
use crate::state;
use crate::store::Update;
use crate::workflow::def::{self, Definition, Format};
use crate::workflow::ledger::{self, Run, RunStatus, StepStatus};
use crate::workflow::policy::{self, Refusal};
use crate::workflow::{self, DEFINITIONS_DIR};

/// What resuming a run would do.
#[derive(Debug, Clone)]
pub struct ResumePlan {
    pub run: Run,
    pub def: Definition,
    /// The steps it re-runs (indices into the definition); empty: nothing to resume.
    pub selected: BTreeSet<usize>,
    pub refusals: Vec<Refusal>,
}

/// What resuming `id` would re-run, and what policy says of it.
pub fn resume_plan(s: &Session, id: &RunId) -> Result<ResumePlan> {
    let run = get(s, id)?;
    refuse_if_active(&run)?;
    let def = recorded_definition(s, &run)?;
    let selected = ledger::resume_set(&def, &run);
    let (allow, rules) = guard(s)?;
    let refusals = policy::check(selected.iter().map(|&i| &def.steps[i]), &allow, &rules);
    Ok(ResumePlan {
        run,
        def,
        selected,
        refusals,
    })
}

/// Refuse to take over a run some process is running: a live runner on this
/// host, or any runner on another host (whether it lives cannot be told
/// from here). A runner on this host that died may be taken over.
fn refuse_if_active(run: &Run) -> Result<()> {
    if run.status != RunStatus::Running {
        return Ok(());
    }
    let id = &run.id;
    if run.host != os::hostname() {
        // The host is text from the state: one line, whatever it holds.
        let host = crate::term::field(&run.host);
        return Err(workflow::Refusal::RunningElsewhere {
            id: id.clone(),
            host: host.into_owned(),
            pid: run.pid,
        }
        .into());
    }
    if os::process_alive(run.pid) {
        return Err(workflow::Refusal::Active {
            id: id.clone(),
            pid: run.pid,
        }
        .into());
    }
    Ok(())
}

/// The definition that ran, read from this work tree at the recorded
/// path — only a named workflow, `.baton/workflows/<name>.toml` — and only
/// while its blob id is the recorded one: a ledger from another clone can
/// name a definition, never supply one.
fn recorded_definition(s: &Session, run: &Run) -> Result<Definition> {
    let recorded = &run.definition;
    let base = s.base_dir();
    if named(&recorded.path).is_none() {
        return Err(outside(
            run,
            &format!("is not a named workflow of this repository ({DEFINITIONS_DIR}/<name>.toml)"),
        ));
    }
    let relative =
        inside_work_tree(&recorded.path).ok_or_else(|| outside(run, "is not a path inside the work tree"))?;
    let file = base.join(relative);
    let bytes = match std::fs::read(&file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(workflow::Refusal::DefinitionMissing {
                id: run.id.clone(),
                path: recorded.path.clone(),
                blob: recorded.blob.clone(),
            }
            .into())
        }
        Err(e) => return Err(Error::io(format!("reading {}", file.display()), e)),
    };
    // A symlink on the way must not lead out of the work tree.
    let resolved = std::fs::canonicalize(&file).map_err(|e| Error::io(format!("resolving {}", file.display()), e))?;
    let root = std::fs::canonicalize(&base).map_err(|e| Error::io(format!("resolving {}", base.display()), e))?;
    if !resolved.starts_with(&root) {
        return Err(outside(run, "leads out of the work tree (a symbolic link)"));
    }
    let now = s.store.blob_id(&bytes)?.to_string();
    if now != recorded.blob {
        return Err(workflow::Refusal::DefinitionChanged {
            id: run.id.clone(),
            path: recorded.path.clone(),
            now,
            blob: recorded.blob.clone(),
        }
        .into());
    }
    let text = String::from_utf8(bytes).map_err(|source| workflow::Unreadable::NotUtf8 {
        path: recorded.path.clone(),
        source,
    })?;
    let def = def::parse(&recorded.path, &text, Format::of(&recorded.path))?;
    if def.steps.iter().map(|s| &s.id).ne(run.steps.iter().map(|r| &r.id)) {
        return Err(workflow::Refusal::LedgerMismatch(run.id.clone()).into());
    }
    Ok(def)
}

/// `path` as a relative path that stays inside the work tree: no root, no
/// `..`, not into `.git`; `None` otherwise.
fn inside_work_tree(path: &str) -> Option<&Path> {
    let p = Path::new(path);
    let plain = p
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    let mut names = p.components().filter_map(|c| match c {
        Component::Normal(name) => Some(name),
        _ => None,
    });
    let into_git = names
        .next()
        .is_none_or(|first| first.to_string_lossy().eq_ignore_ascii_case(".git"));
    (plain && !into_git && !path.contains('\0')).then_some(p)
}

fn outside(run: &Run, why: &str) -> Error {
    workflow::Refusal::DefinitionPath {
        id: run.id.clone(),
        path: run.definition.path.clone(),
        why: why.to_owned(),
    }
    .into()
}

/// `workflow resume --execute`: re-run the plan's steps in the same run.
///
/// The run is taken with a compare-and-swap before any step starts: inside
/// the transaction it must still be as the plan read it and not running,
/// so of two resumes at once exactly one records itself and executes; the
/// other is refused (`run_active`, naming the winner's pid).
pub fn resume(s: &Session, plan: ResumePlan, how: &Execution) -> Result<Run> {
    refuse_unless_allowed(&plan.refusals, how)?;
    let ResumePlan {
        run: planned,
        def,
        selected,
        ..
    } = plan;
    let mut run = planned.clone();
    for &i in &selected {
        let r = &mut run.steps[i];
        r.status = StepStatus::Pending;
        r.skip = None;
        r.reason = None;
    }
    run.status = RunStatus::Running;
    run.host = os::hostname();
    run.pid = std::process::id();
    run.finished_at = None;
    run.resumed_at.push(s.now);
    run.actor = s.actor()?.to_string();
    let resumed = record_change(&run, &format!("resumed ({} step(s))", selected.len()))?;
    s.store.update(&run.actor, |snap| {
        let current = state::run(snap, &run.id)?.ok_or_else(|| no_run(&run.id))?;
        refuse_if_active(&current)?;
        if current != planned {
            return Err(workflow::Refusal::Changed(run.id.clone()).into());
        }
        Ok(Update::Write(resumed.clone(), ()))
    })?;
    execute(s, &def, run, &selected, how, None, Wrap::none()).map(|(run, ())| run)
}

#[cfg(test)]
mod tests {
    use super::{inside_work_tree, named};

    #[test]
    fn only_named_workflows_of_the_work_tree_are_resumed() {
        for ok in [".baton/workflows/ship.toml", ".baton/workflows/ship.json"] {
            assert_eq!(named(ok).map(|n| n.to_string()).as_deref(), Some("ship"), "{ok}");
        }
        for bad in [
            "ci/ship.toml",
            "/elsewhere/evil.toml",
            ".baton/workflows/../../evil.toml",
            ".baton/workflows/sub/ship.toml",
            ".baton/workflows/ship.sh",
            ".baton/workflows/.toml",
            "./.baton/workflows/ship.toml",
            ".baton/workflowsx/ship.toml",
        ] {
            assert!(named(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn only_plain_relative_paths_inside_the_work_tree_are_read() {
        for ok in [".baton/workflows/ship.toml", "ci/ship.toml", "./ship.toml"] {
            assert!(inside_work_tree(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "/etc/passwd",
            "../outside.toml",
            ".baton/../../outside.toml",
            ".git/hooks/pre-commit",
            ".GIT/config",
            "a\0b",
        ] {
            assert!(inside_work_tree(bad).is_none(), "{bad:?}");
        }
    }
}
