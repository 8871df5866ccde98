//! Workflow checks for doctor: definitions that do not validate, and runs
//! marked running whose process is gone (they become `interrupted`).

use super::def::{self, Format};
use super::ledger::{Run, RunStatus};
use crate::finding::Finding;
use crate::ids::RunId;

/// Check definition files `(path, text)`.
pub fn check_definitions(files: &[(String, String)]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (path, text) in files {
        if let Err(problems) = def::parse_checked(text, Format::of(path)) {
            let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
            out.push(
                Finding::error(
                    "workflow.definition",
                    format!("{path} is not valid: {}", list.join("; ")),
                )
                .hint(format!("fix it; `baton workflow validate {path}` checks again"))
                .at(path.clone()),
            );
        }
    }
    if out.is_empty() && !files.is_empty() {
        out.push(Finding::ok(
            "workflow.definition",
            format!("{} definition(s) valid", files.len()),
        ));
    }
    out
}

/// Runs marked running: dead ones on this host are errors (returned for
/// `--fix`), ones on other hosts cannot be judged from here.
pub fn check_runs(runs: &[(String, Run)], host: &str, alive: impl Fn(u32) -> bool) -> (Vec<Finding>, Vec<RunId>) {
    let mut out = Vec::new();
    let mut dead = Vec::new();
    for (path, run) in runs.iter().filter(|(_, r)| r.status == RunStatus::Running) {
        if run.host != host {
            out.push(
                Finding::warn(
                    "workflow.runs",
                    format!("run {} is marked running on host {}", run.id, run.host),
                )
                .hint(format!("run `baton workflow doctor` on {} to check it", run.host))
                .at(path.clone()),
            );
        } else if !alive(run.pid) {
            dead.push(run.id.clone());
            out.push(
                Finding::error("workflow.runs", format!("run {} is marked running but its process {} is gone", run.id, run.pid))
                    .hint(format!(
                        "`baton workflow doctor --fix` marks it interrupted; then `baton workflow resume --run-id {} --execute`",
                        run.id
                    ))
                    .at(path.clone()),
            );
        }
    }
    if out.is_empty() {
        out.push(Finding::ok(
            "workflow.runs",
            format!("{} run(s), none left running by a dead process", runs.len()),
        ));
    }
    (out, dead)
}
