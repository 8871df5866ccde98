//! `baton workflow ...`: arguments, and the rendering of plans, runs and
//! templates; [`crate::ops::workflow`] does the work.

use std::collections::BTreeSet;

use clap::Subcommand;

use super::doctor;
use super::output::{safe, table, Output};
use crate::clock::format_timestamp;
use crate::error::Result;
use crate::ids::RunId;
use crate::messages;
use crate::ops::workflow::{self as op, Stopped};
use crate::ops::Session;
use crate::workflow::def::Definition;
use crate::workflow::exec::Sink;
use crate::workflow::ledger::{Run, RunStatus};
use crate::workflow::policy::Refusal;
use crate::workflow::summary::Summary;
use crate::workflow::{template_description, TEMPLATES};

#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// Show the plan of a workflow; with --execute, run it and record the run.
    Run {
        /// A definition file, or a name in .baton/workflows/.
        workflow: String,
        #[command(flatten)]
        how: Execution,
    },
    /// Re-run the failed, stopped, interrupted or failure-skipped steps of a run, and everything downstream.
    Resume {
        /// The run, as `workflow list` shows it (wf-YYYYMMDDTHHMMSSZ-xxxxxx); default: your latest failed, stopped or interrupted run.
        #[arg(long, value_parser = super::typed(RunId::parse))]
        run_id: Option<RunId>,
        #[command(flatten)]
        how: Execution,
    },
    /// Stop a running run: its steps are killed and it is marked stopped.
    Stop {
        /// The run, as `workflow list` shows it (wf-YYYYMMDDTHHMMSSZ-xxxxxx).
        #[arg(long, value_parser = super::typed(RunId::parse))]
        run_id: RunId,
    },
    /// A run's steps and attempts (default: the latest run).
    Status {
        /// The run to show (default: the latest).
        #[arg(long, value_parser = super::typed(RunId::parse))]
        run_id: Option<RunId>,
    },
    /// Recent runs, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Check a definition; every problem is listed with its step.
    Validate {
        /// A definition file, or a name in .baton/workflows/.
        workflow: String,
    },
    /// Workflow templates shipped with baton.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Workflow checks (same as `baton doctor workflow`): definitions valid, runs whose process died.
    Doctor(doctor::SubsystemDoctorArgs),
}

/// How `run` and `resume` go about it.
#[derive(Debug, clap::Args)]
pub struct Execution {
    /// Run the steps (default: a dry run that records nothing).
    #[arg(long)]
    pub(super) execute: bool,
    /// Run up to N independent ready steps at once.
    #[arg(long, default_value_t = 1)]
    pub(super) jobs: usize,
    /// Run even commands that workflow.allow or the risk guard refuse.
    #[arg(long)]
    pub(super) allow_risk: bool,
}

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// List the templates.
    List,
    /// Write a template to .baton/workflows/<name>.toml.
    Init {
        name: String,
        /// Overwrite an existing definition.
        #[arg(long)]
        force: bool,
    },
}

pub fn run(s: &Session, cmd: &WorkflowCommand, json: bool) -> Result<Output> {
    match cmd {
        WorkflowCommand::Run { workflow, how } => run_workflow(s, workflow, how, json),
        WorkflowCommand::Resume { run_id, how } => {
            let id = match run_id {
                Some(id) => id.clone(),
                None => {
                    let id = crate::ops::latest::resumable_run(s)?;
                    eprintln!("resuming {id}, your latest failed, stopped or interrupted run");
                    id
                }
            };
            resume(s, &id, how, json)
        }
        WorkflowCommand::Stop { run_id } => Ok(match op::stop(s, run_id)? {
            Stopped::ByRunner(run) => Output::new(
                messages::value(&messages::RunShown { run: &run }),
                format!("stopped run {run_id}: {}", run.status.as_str()),
            ),
            Stopped::RunnerGone(run) => Output::new(
                messages::value(&messages::RunShown { run: &run }),
                format!("run {run_id} was not alive; marked stopped"),
            ),
        }),
        WorkflowCommand::Status { run_id } => {
            let run = op::status(s, run_id.as_ref())?;
            Ok(Output::new(
                messages::value(&messages::RunShown { run: &run }),
                describe_run(&run),
            ))
        }
        WorkflowCommand::List { limit } => Ok(list(&op::list(s, *limit)?)),
        WorkflowCommand::Validate { workflow } => {
            let (located, def) = op::validate(s, workflow)?;
            let text = format!(
                "{} is valid: workflow {}, {} step(s), order {}",
                located.display,
                def.name,
                def.steps.len(),
                order_ids(&def).join(" -> ")
            );
            Ok(Output::new(
                messages::value(&messages::Valid {
                    valid: true,
                    workflow: &def.name,
                    order: order_ids(&def),
                }),
                text,
            ))
        }
        WorkflowCommand::Template(TemplateCommand::List) => Ok(template_list()),
        WorkflowCommand::Template(TemplateCommand::Init { name, force }) => {
            let (name, path) = op::template_init(s, name, *force)?;
            Ok(Output::new(
                messages::value(&messages::TemplateWritten {
                    template: name,
                    path: path.display().to_string(),
                }),
                format!("wrote {}; try: baton workflow run {name}", path.display()),
            ))
        }
        WorkflowCommand::Doctor(args) => doctor::run_for(s, &["workflow"], args),
    }
}

impl Execution {
    pub(super) fn ops(&self, json: bool) -> op::Execution {
        op::Execution {
            jobs: self.jobs,
            allow_risk: self.allow_risk,
            // With --json, stdout carries one document: step output goes to stderr.
            sink: if json { Sink::Stderr } else { Sink::Stdout },
        }
    }
}

fn run_workflow(s: &Session, workflow: &str, how: &Execution, json: bool) -> Result<Output> {
    if how.execute {
        return Ok(ended(op::run(s, workflow, &how.ops(json))?));
    }
    let plan = op::plan(s, workflow)?;
    let all: BTreeSet<usize> = (0..plan.def.steps.len()).collect();
    let mut text = format!(
        "plan of {} ({}), dry run: nothing runs, nothing is recorded\n",
        safe(&plan.def.name),
        safe(&plan.located.display)
    );
    text.push_str(&plan_text(&plan.def, &all, &plan.refusals));
    text.push_str("add --execute to run it");
    Ok(Output::new(
        messages::value(&messages::RunPlan {
            dry_run: true,
            workflow: &plan.def,
            order: order_ids(&plan.def),
            refused: &plan.refusals,
        }),
        text,
    ))
}

/// A run that ended: its steps, and exit 1 unless it succeeded.
fn ended(run: Run) -> Output {
    let code = if run.status == RunStatus::Succeeded { 0 } else { 1 };
    Output::new(messages::value(&messages::RunShown { run: &run }), describe_run(&run)).exit(code)
}

fn resume(s: &Session, id: &RunId, how: &Execution, json: bool) -> Result<Output> {
    let plan = op::resume_plan(s, id)?;
    if plan.selected.is_empty() {
        let text = format!("run {id} has nothing to resume ({})", plan.run.status.as_str());
        let doc = messages::NothingToResume {
            run: &plan.run,
            resumed: false,
        };
        return Ok(Output::new(messages::value(&doc), text));
    }
    if how.execute {
        return Ok(ended(op::resume(s, plan, &how.ops(json))?));
    }
    let mut text = format!("resume plan of run {id}, dry run: nothing runs, nothing is recorded\n");
    text.push_str(&plan_text(&plan.def, &plan.selected, &plan.refusals));
    text.push_str("add --execute to run it");
    let steps: Vec<String> = plan
        .def
        .order
        .iter()
        .filter(|i| plan.selected.contains(i))
        .map(|&i| plan.def.steps[i].id.to_string())
        .collect();
    Ok(Output::new(
        messages::value(&messages::ResumePlan {
            dry_run: true,
            run_id: id,
            steps,
            refused: &plan.refusals,
        }),
        text,
    ))
}

fn order_ids(def: &Definition) -> Vec<String> {
    def.order.iter().map(|&i| def.steps[i].id.to_string()).collect()
}

fn plan_text(def: &Definition, selected: &BTreeSet<usize>, refusals: &[Refusal]) -> String {
    let mut rows = vec![["#", "STEP", "WHEN", "DEPENDS ON", "RETRY", "TIMEOUT", "RUN"]
        .map(String::from)
        .to_vec()];
    for (n, &i) in def.order.iter().filter(|i| selected.contains(i)).enumerate() {
        let s = &def.steps[i];
        rows.push(vec![
            (n + 1).to_string(),
            s.id.to_string(),
            s.when.as_str().to_owned(),
            match &s.depends_on {
                None => "(all before)".into(),
                Some(d) if d.is_empty() => "-".into(),
                Some(d) => d.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
            },
            s.retry.to_string(),
            s.timeout.map(|t| t.to_string()).unwrap_or_else(|| "default".into()),
            s.run
                .as_ref()
                .map(|r| safe(&r.join(" ")).into_owned())
                .unwrap_or_else(|| "(checkpoint)".into()),
        ]);
    }
    let mut text = table(&rows);
    for r in refusals {
        text.push_str(&format!(
            "refused: step {}: `{}`: {}\n",
            r.step,
            safe(&r.command),
            safe(&r.reason)
        ));
    }
    text
}

fn describe_run(run: &Run) -> String {
    let mut rows = vec![["STEP", "STATUS", "ATTEMPTS", "EXIT", "NOTE"]
        .map(String::from)
        .to_vec()];
    for r in &run.steps {
        let last = r.attempts.last();
        rows.push(vec![
            r.id.to_string(),
            r.status.as_str().into(),
            r.attempts.len().to_string(),
            last.map(|a| match (a.exit_code, a.timed_out) {
                (_, true) => "timeout".into(),
                (Some(c), _) => c.to_string(),
                (None, _) => "-".into(),
            })
            .unwrap_or_else(|| "-".into()),
            safe(r.reason.as_deref().unwrap_or_default()).into_owned(),
        ]);
    }
    format!(
        "run {} of {}: {} (started {} on {} pid {})\n{}",
        run.id,
        safe(&run.workflow),
        run.status.as_str(),
        format_timestamp(&run.started_at),
        safe(&run.host),
        run.pid,
        table(&rows)
    )
}

fn list(runs: &[Summary]) -> Output {
    let mut rows = vec![["RUN", "WORKFLOW", "STATUS", "STARTED", "HOST"]
        .map(String::from)
        .to_vec()];
    for r in runs {
        rows.push(vec![
            r.id.to_string(),
            safe(&r.workflow).into_owned(),
            r.status.as_str().into(),
            format_timestamp(&r.started_at),
            safe(&r.host).into_owned(),
        ]);
    }
    let text = if runs.is_empty() {
        "no runs yet\n".to_owned()
    } else {
        table(&rows)
    };
    let doc = messages::Runs {
        runs: runs.iter().map(messages::RunListed::from).collect(),
    };
    Output::new(messages::value(&doc), text)
}

fn template_list() -> Output {
    let rows: Vec<Vec<String>> = std::iter::once(vec!["TEMPLATE".to_owned(), "DESCRIPTION".to_owned()])
        .chain(
            TEMPLATES
                .iter()
                .map(|(name, text)| vec![name.to_string(), template_description(text)]),
        )
        .collect();
    let doc = messages::Templates {
        templates: TEMPLATES
            .iter()
            .map(|&(name, text)| messages::Template {
                name,
                description: template_description(text),
            })
            .collect(),
    };
    Output::new(messages::value(&doc), table(&rows))
}
