//! The refusals of operations on workflow runs, typed: the message is the
//! refusal's `Display`; the code, exit code and hint are given where it
//! becomes the user's error (`ops::refusals`). Not to be confused with
//! [`super::policy::Refusal`], one step's command the
//! policy refuses: a run refused for those carries them in [`Refusal::Policy`].

use std::path::PathBuf;

use super::ledger::RunStatus;
use super::{policy, DEFINITIONS_DIR};
use crate::ids::{RunId, WorkflowName};

/// Why an operation on a run (or a definition) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No run has this id (`no_run`).
    #[error("there is no run {0}")]
    NoRun(RunId),
    /// No run at all yet (`no_run`).
    #[error("no workflow has run yet")]
    NoRunYet,
    /// A resume without `--run-id`, and the actor (as the ledger names it)
    /// has no run that ended short of success (`nothing_to_resume`).
    #[error("{0} has no failed, stopped or interrupted run")]
    NothingToResume(String),
    /// `stop` of a run that ended (`run_not_running`).
    #[error("run {id} is {}, not running", status.as_str())]
    NotRunning { id: RunId, status: RunStatus },
    /// `stop` of a run whose runner is on another host (`run_elsewhere`);
    /// `host` is already one printable line.
    #[error("run {id} runs on host {host}")]
    StopElsewhere { id: RunId, host: String },
    /// A resume of a run running on another host (`run_elsewhere`).
    #[error("run {id} is running on host {host} (pid {pid})")]
    RunningElsewhere { id: RunId, host: String, pid: u32 },
    /// A resume of a run a live runner here runs (`run_active`).
    #[error("run {id} is running (pid {pid})")]
    Active { id: RunId, pid: u32 },
    /// The run changed between a resume's plan and its start (`run_changed`).
    #[error("run {0} changed while this resume was being planned")]
    Changed(RunId),
    /// Steps whose commands the policy refuses, and no `--allow-risk` (`policy`).
    #[error("refused before anything ran:\n  {}", policy_list(.0))]
    Policy(Vec<policy::Refusal>),
    /// The definition a run recorded is not in this work tree (`definition_missing`).
    #[error("run {id} ran {path} (blob {blob}), which is not in this work tree")]
    DefinitionMissing { id: RunId, path: String, blob: String },
    /// The definition's blob is not the one the run ran (`definition_changed`).
    #[error("{path} is blob {now} in this work tree, but run {id} ran blob {blob}")]
    DefinitionChanged {
        id: RunId,
        path: String,
        now: String,
        blob: String,
    },
    /// The definition's steps are not the ledger's (`definition_changed`).
    #[error("the definition of run {0} no longer matches its ledger")]
    LedgerMismatch(RunId),
    /// The recorded definition path is not one a resume may read (`definition_path`).
    #[error("run {id} records its definition at {path:?}, which {why}")]
    DefinitionPath { id: RunId, path: String, why: String },
    /// `<file|name>` that is neither an existing file nor a workflow name (`no_workflow`).
    #[error("{0:?} is neither a file nor a workflow name")]
    NotANameOrFile(String),
    /// No definition of that name (`no_workflow`).
    #[error("no workflow named {0} in {DEFINITIONS_DIR}/")]
    NoWorkflow(WorkflowName),
    /// `template init` of a template baton does not ship (`no_template`).
    #[error("there is no template {0:?}")]
    NoTemplate(String),
    /// `template init` onto an existing file without `--force` (`exists`).
    #[error("{} already exists", .0.display())]
    TemplateExists(PathBuf),
    /// The runner did not record a stop in time (`stop_timeout`).
    #[error("run {id} (pid {pid}) did not stop within {secs}s")]
    StopTimeout { id: RunId, pid: u32, secs: u64 },
}

fn policy_list(refusals: &[policy::Refusal]) -> String {
    let list: Vec<String> = refusals
        .iter()
        .map(|r| format!("step {}: `{}`: {}", r.step, r.command, r.reason))
        .collect();
    list.join("\n  ")
}

/// A definition file that cannot be read as text (`unreadable_workflow`):
/// the failure is the source, shown after the message.
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A recorded definition (a resume) that is not UTF-8.
    #[error("{path} is not UTF-8")]
    NotUtf8 {
        path: String,
        #[source]
        source: std::string::FromUtf8Error,
    },
}
