//! `baton workflow ...`: locate and validate definitions, dry-run plans,
//! execute with a run ledger in the state, resume, stop, inspect.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::Subcommand;
use serde_json::json;

use super::output::table;
use super::{doctor, Output, Session};
use crate::clock::format_timestamp;
use crate::config::WorkflowPolicy;
use crate::error::{Error, Result};
use crate::ids::{RunId, WorkflowName};
use crate::os;
use crate::state;
use crate::store::behind::WriteBehind;
use crate::store::{codec, message, Change, Message, Outcome, Snapshot};
use crate::workflow::def::{self, Definition, Format};
use crate::workflow::exec::{self, Sink};
use crate::workflow::ledger::{self, DefinitionRef, Run, RunStatus, StepStatus};
use crate::workflow::redact::SecretNames;
use crate::workflow::{policy, template_description, DEFINITIONS_DIR, TEMPLATES};

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
        /// The run, as `workflow list` shows it (wf-YYYYMMDDTHHMMSSZ-xxxxxx).
        #[arg(long, value_parser = RunId::parse)]
        run_id: RunId,
        #[command(flatten)]
        how: Execution,
    },
    /// Stop a running run: its steps are killed and it is marked stopped.
    Stop {
        /// The run, as `workflow list` shows it (wf-YYYYMMDDTHHMMSSZ-xxxxxx).
        #[arg(long, value_parser = RunId::parse)]
        run_id: RunId,
    },
    /// A run's steps and attempts (default: the latest run).
    Status {
        /// The run to show (default: the latest).
        #[arg(long, value_parser = RunId::parse)]
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
    execute: bool,
    /// Run up to N independent ready steps at once.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Run even commands that workflow.allow or the risk guard refuse.
    #[arg(long)]
    allow_risk: bool,
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

pub fn run(s: &Session, cmd: &WorkflowCommand) -> Result<Output> {
    match cmd {
        WorkflowCommand::Run { workflow, how } => run_workflow(s, workflow, how),
        WorkflowCommand::Resume { run_id, how } => resume(s, run_id, how),
        WorkflowCommand::Stop { run_id } => stop(s, run_id),
        WorkflowCommand::Status { run_id } => status(s, run_id.as_ref()),
        WorkflowCommand::List { limit } => list(s, *limit),
        WorkflowCommand::Validate { workflow } => validate(s, workflow),
        WorkflowCommand::Template(TemplateCommand::List) => template_list(),
        WorkflowCommand::Template(TemplateCommand::Init { name, force }) => template_init(s, name, *force),
        WorkflowCommand::Doctor(args) => doctor::run_for(s, &["workflow"], args),
    }
}

/// A definition as read: where from (for people and the ledger) and its text.
pub struct Located {
    pub display: String,
    pub text: String,
}

fn base_dir(s: &Session) -> PathBuf {
    s.store
        .work_dir()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| s.dir.clone())
}

/// `<file|name>`: an existing file path, else `.baton/workflows/<name>.toml|.json`.
pub fn locate(s: &Session, workflow: &str) -> Result<Located> {
    let as_path = s.dir.join(workflow);
    let path = if as_path.is_file() {
        as_path
    } else {
        let name = WorkflowName::parse(workflow).map_err(|_| {
            Error::invalid(
                "no_workflow",
                format!("{workflow:?} is neither a file nor a workflow name"),
            )
            .with_hint(format!(
                "pass a definition file, or a name of {DEFINITIONS_DIR}/<name>.toml"
            ))
        })?;
        let dir = base_dir(s).join(DEFINITIONS_DIR);
        ["toml", "json"]
            .iter()
            .map(|ext| dir.join(format!("{name}.{ext}")))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                Error::invalid("no_workflow", format!("no workflow named {name} in {DEFINITIONS_DIR}/"))
                    .with_hint("`baton workflow template init <template>` creates one; `baton workflow template list` shows templates")
            })?
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::invalid("unreadable_workflow", format!("cannot read {}: {e}", path.display()))
            .with_hint("check the path")
    })?;
    let display = path
        .strip_prefix(base_dir(s))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string());
    Ok(Located { display, text })
}

fn load_definition(located: &Located) -> Result<Definition> {
    def::parse(&located.display, &located.text, Format::of(&located.display))
}

/// The workflow policy (`workflow.allow`, the default timeout); the
/// defaults in a repository without state, where dry runs still work.
fn workflow_policy(snap: &Snapshot<'_>) -> Result<WorkflowPolicy> {
    Ok(match snap.commit() {
        Some(_) => state::config(snap)?.workflow,
        None => WorkflowPolicy::default(),
    })
}

fn plan_text(def: &Definition, selected: &BTreeSet<usize>, refusals: &[policy::Refusal]) -> String {
    let mut rows = vec![["#", "STEP", "WHEN", "DEPENDS ON", "RETRY", "TIMEOUT", "RUN"]
        .map(String::from)
        .to_vec()];
    for (n, &i) in def.order.iter().filter(|i| selected.contains(i)).enumerate() {
        let s = &def.steps[i];
        rows.push(vec![
            (n + 1).to_string(),
            s.id.to_string(),
            serde_json::to_value(s.when)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            match &s.depends_on {
                None => "(all before)".into(),
                Some(d) if d.is_empty() => "-".into(),
                Some(d) => d.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
            },
            s.retry.to_string(),
            s.timeout.map(|t| t.to_string()).unwrap_or_else(|| "default".into()),
            s.run
                .as_ref()
                .map(|r| r.join(" "))
                .unwrap_or_else(|| "(checkpoint)".into()),
        ]);
    }
    let mut text = table(&rows);
    for r in refusals {
        text.push_str(&format!("refused: step {}: `{}`: {}\n", r.step, r.command, r.reason));
    }
    text
}

fn policy_error(refusals: &[policy::Refusal]) -> Error {
    let list: Vec<String> = refusals
        .iter()
        .map(|r| format!("step {}: `{}`: {}", r.step, r.command, r.reason))
        .collect();
    Error::refused(
        "policy",
        format!("refused before anything ran:\n  {}", list.join("\n  ")),
    )
    .with_hint("change the command or workflow.allow, or run anyway with --allow-risk")
}

fn sink(s: &Session) -> Sink {
    // With --json, stdout carries one document: step output goes to stderr.
    if s.json {
        Sink::Stderr
    } else {
        Sink::Stdout
    }
}

fn stop_flag() -> Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, flag.clone()).map_err(|e| Error::io("installing signal handlers", e))?;
    }
    Ok(flag)
}

/// Write the run record as one operation.
fn record(s: &Session, run: &Run, summary: &str) -> Result<()> {
    let change = record_change(run, summary)?;
    s.store.update(&run.actor, |_| Ok(Outcome::Write(change.clone(), ())))?;
    Ok(())
}

/// The commit that records `run` as it is now.
fn record_change(run: &Run, summary: &str) -> Result<Change> {
    let msg = Message::new(format!("workflow: {} {summary}", run.id))
        .trailer(message::OP, "workflow.record")
        .trailer(message::SUBJECT, format!("run/{}", run.id))
        .trailer(message::ACTOR, &run.actor);
    let mut change = Change::new(msg);
    change.put_json(ledger::path(&run.id), run)?;
    Ok(change)
}

fn run_workflow(s: &Session, workflow: &str, how: &Execution) -> Result<Output> {
    let located = locate(s, workflow)?;
    let def = load_definition(&located)?;
    // One read of the state for the policy and the run id.
    let snap = s.store.snapshot_at(s.store.tip()?)?;
    let workflow_policy = workflow_policy(&snap)?;
    let refusals = policy::check(def.steps.iter(), &policy::Allow::new(&workflow_policy.allow)?);
    let all: BTreeSet<usize> = (0..def.steps.len()).collect();
    if !how.execute {
        let mut text = format!(
            "plan of {} ({}), dry run: nothing runs, nothing is recorded\n",
            def.name, located.display
        );
        text.push_str(&plan_text(&def, &all, &refusals));
        text.push_str("add --execute to run it");
        return Ok(Output::new(
            json!({"dry_run": true, "workflow": def, "order": order_ids(&def), "refused": refusals}),
            text,
        ));
    }
    if !refusals.is_empty() && !how.allow_risk {
        return Err(policy_error(&refusals));
    }
    let actor = s.actor()?.to_string();
    if snap.commit().is_none() {
        return Err(s.store.no_state());
    }
    let id = loop {
        let id = RunId::generate("wf", &s.now);
        if snap.read(&ledger::path(&id))?.is_none() {
            break id;
        }
    };
    let msg = Message::new(format!("workflow: {id} started ({})", def.name))
        .trailer(message::OP, "workflow.start")
        .trailer(message::SUBJECT, format!("run/{id}"))
        .trailer(message::ACTOR, &actor);
    let mut start = Change::new(msg);
    // The definition as it ran, for resume: a blob kept beside the state, not in it.
    let blob = start.keep_blob(located.text.clone().into_bytes())?;
    let definition = DefinitionRef {
        path: located.display.clone(),
        blob: blob.to_string(),
    };
    let run = Run::new(
        id.clone(),
        &def,
        definition,
        os::hostname(),
        std::process::id(),
        actor,
        s.now,
    );
    let path = ledger::path(&id);
    start.expect_absent(path.clone()).put_json(path, &run)?;
    execute_run(s, &def, run, &all, how.jobs, &workflow_policy, start)
}

fn order_ids(def: &Definition) -> Vec<String> {
    def.order.iter().map(|&i| def.steps[i].id.to_string()).collect()
}

/// Record `start` (the run's start or resumption), then run its `selected` steps.
fn execute_run(
    s: &Session,
    def: &Definition,
    mut run: Run,
    selected: &BTreeSet<usize>,
    jobs: usize,
    workflow_policy: &WorkflowPolicy,
    start: Change,
) -> Result<Output> {
    let opts = exec::Options {
        jobs,
        dir: base_dir(s),
        default_timeout: workflow_policy.default_timeout,
        sink: sink(s),
        secret_names: SecretNames::new(&workflow_policy.secret_env)?,
    };
    let stop = stop_flag()?;
    // The start and the step results land from a writer thread while the
    // steps run: a burst of fast steps costs one pack per batch, not a
    // commit's worth of files per step, and no step waits for the disk. Each
    // is still its own commit, in order; all have landed before the command
    // returns. (A runner killed meanwhile loses the results not yet landed:
    // those steps show as not done, and resume runs them again.)
    let mut ledger = WriteBehind::start(&s.store, &run.actor);
    ledger.push(start)?;
    let stopped = exec::execute(def, &mut run, selected, &opts, &stop, |run, summary| {
        ledger.push(record_change(run, &summary)?)
    })?;
    run.conclude(def, stopped, crate::clock::now()?);
    ledger.push(record_change(&run, run.status.as_str())?)?;
    ledger.finish()?;
    let code = if run.status == RunStatus::Succeeded { 0 } else { 1 };
    Ok(Output::new(json!({ "run": run }), describe_run(&run)).exit(code))
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
            r.reason.clone().unwrap_or_default(),
        ]);
    }
    format!(
        "run {} of {}: {} (started {} on {} pid {})\n{}",
        run.id,
        run.workflow,
        run.status.as_str(),
        format_timestamp(&run.started_at),
        run.host,
        run.pid,
        table(&rows)
    )
}

fn load_run(s: &Session, id: &RunId) -> Result<Run> {
    load_run_from(&s.store.snapshot()?, id)
}

fn load_run_from(snap: &Snapshot<'_>, id: &RunId) -> Result<Run> {
    let path = ledger::path(id);
    let run: Run = snap.load_json(&path)?.ok_or_else(|| {
        Error::refused("no_run", format!("there is no run {id}")).with_hint("`baton workflow list` shows recent runs")
    })?;
    codec::check_schema(&path, run.schema)?;
    Ok(run)
}

fn resume(s: &Session, id: &RunId, how: &Execution) -> Result<Output> {
    let snap = s.store.snapshot()?;
    let mut run = load_run_from(&snap, id)?;
    if run.status == RunStatus::Running && run.host == os::hostname() && os::process_alive(run.pid) {
        return Err(
            Error::refused("run_active", format!("run {id} is still running (pid {})", run.pid))
                .with_hint(format!("wait for it, or stop it: baton workflow stop --run-id {id}")),
        );
    }
    // The exact definition that ran, from its blob; the file only if the blob is gone.
    let blob = gix::ObjectId::from_hex(run.definition.blob.as_bytes()).ok();
    let text = match blob.map(|b| s.store.find_blob(b)).transpose()?.flatten() {
        Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        None => locate(s, &run.definition.path)?.text,
    };
    let def = def::parse(&run.definition.path, &text, Format::of(&run.definition.path))?;
    if def.steps.iter().map(|s| &s.id).ne(run.steps.iter().map(|r| &r.id)) {
        return Err(Error::refused(
            "definition_changed",
            format!("the definition of run {id} no longer matches its ledger"),
        )
        .with_hint("start a new run with `baton workflow run`"));
    }
    let selected = ledger::resume_set(&def, &run);
    if selected.is_empty() {
        return Ok(Output::new(
            json!({"run": run, "resumed": false}),
            format!("run {id} has nothing to resume ({})", run.status.as_str()),
        ));
    }
    let workflow_policy = workflow_policy(&snap)?;
    let refusals = policy::check(
        selected.iter().map(|&i| &def.steps[i]),
        &policy::Allow::new(&workflow_policy.allow)?,
    );
    if !how.execute {
        let mut text = format!("resume plan of run {id}, dry run: nothing runs, nothing is recorded\n");
        text.push_str(&plan_text(&def, &selected, &refusals));
        text.push_str("add --execute to run it");
        let steps: Vec<String> = def
            .order
            .iter()
            .filter(|i| selected.contains(i))
            .map(|&i| def.steps[i].id.to_string())
            .collect();
        return Ok(Output::new(
            json!({"dry_run": true, "run_id": id, "steps": steps, "refused": refusals}),
            text,
        ));
    }
    if !refusals.is_empty() && !how.allow_risk {
        return Err(policy_error(&refusals));
    }
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
    execute_run(s, &def, run, &selected, how.jobs, &workflow_policy, resumed)
}

fn stop(s: &Session, id: &RunId) -> Result<Output> {
    let run = load_run(s, id)?;
    if run.status != RunStatus::Running {
        return Err(Error::refused(
            "run_not_running",
            format!("run {id} is {}, not running", run.status.as_str()),
        )
        .with_hint(format!("see it with: baton workflow status --run-id {id}")));
    }
    if run.host != os::hostname() {
        return Err(
            Error::refused("run_elsewhere", format!("run {id} runs on host {}", run.host))
                .with_hint(format!("run `baton workflow stop --run-id {id}` on {}", run.host)),
        );
    }
    if os::process_alive(run.pid) {
        // The runner stops its steps and records `stopped` itself.
        os::signal_process(run.pid, os::SIGTERM);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let now = load_run(s, id)?;
            if now.status != RunStatus::Running {
                return Ok(Output::new(
                    json!({"run": now}),
                    format!("stopped run {id}: {}", now.status.as_str()),
                ));
            }
        }
        return Err(Error::failed(
            "stop_timeout",
            format!("run {id} (pid {}) did not stop within 15s", run.pid),
        )
        .with_hint(format!(
            "kill it (`kill -9 {}`), then `baton workflow doctor --fix`",
            run.pid
        )));
    }
    // The runner is gone: record the stop ourselves.
    let mut run = run;
    run.status = RunStatus::Stopped;
    run.finished_at = Some(s.now);
    record(s, &run, "stopped (runner was gone)")?;
    Ok(Output::new(
        json!({"run": run}),
        format!("run {id} was not alive; marked stopped"),
    ))
}

/// All run records, newest first (ids sort by start time).
fn all_runs(s: &Session) -> Result<Vec<Run>> {
    let snap = s.store.snapshot()?;
    let mut files = snap.files_under(ledger::DIR)?;
    files.sort_by(|a, b| b.0.cmp(&a.0));
    files
        .into_iter()
        .map(|(path, blob)| {
            let run: Run = codec::decode_json(&path, &snap.read_blob(blob)?)?;
            Ok(run)
        })
        .collect()
}

fn status(s: &Session, id: Option<&RunId>) -> Result<Output> {
    let run = match id {
        Some(id) => load_run(s, id)?,
        None => all_runs(s)?.into_iter().next().ok_or_else(|| {
            Error::refused("no_run", "no workflow has run yet")
                .with_hint("start one: baton workflow run <name> --execute")
        })?,
    };
    Ok(Output::new(json!({ "run": run }), describe_run(&run)))
}

fn list(s: &Session, limit: usize) -> Result<Output> {
    let runs: Vec<Run> = all_runs(s)?.into_iter().take(limit).collect();
    let mut rows = vec![["RUN", "WORKFLOW", "STATUS", "STARTED", "HOST"]
        .map(String::from)
        .to_vec()];
    for r in &runs {
        rows.push(vec![
            r.id.to_string(),
            r.workflow.clone(),
            r.status.as_str().into(),
            format_timestamp(&r.started_at),
            r.host.clone(),
        ]);
    }
    let text = if runs.is_empty() {
        "no runs yet\n".to_owned()
    } else {
        table(&rows)
    };
    let items: Vec<_> = runs
        .iter()
        .map(|r| json!({"id": r.id, "workflow": r.workflow, "status": r.status, "started_at": r.started_at, "host": r.host}))
        .collect();
    Ok(Output::new(json!({ "runs": items }), text))
}

fn validate(s: &Session, workflow: &str) -> Result<Output> {
    let located = locate(s, workflow)?;
    let def = load_definition(&located)?;
    let text = format!(
        "{} is valid: workflow {}, {} step(s), order {}",
        located.display,
        def.name,
        def.steps.len(),
        order_ids(&def).join(" -> ")
    );
    Ok(Output::new(
        json!({"valid": true, "workflow": def.name, "order": order_ids(&def)}),
        text,
    ))
}

fn template_list() -> Result<Output> {
    let rows: Vec<Vec<String>> = std::iter::once(vec!["TEMPLATE".to_owned(), "DESCRIPTION".to_owned()])
        .chain(
            TEMPLATES
                .iter()
                .map(|(name, text)| vec![name.to_string(), template_description(text)]),
        )
        .collect();
    let items: Vec<_> = TEMPLATES
        .iter()
        .map(|(name, text)| json!({"name": name, "description": template_description(text)}))
        .collect();
    Ok(Output::new(json!({ "templates": items }), table(&rows)))
}

fn template_init(s: &Session, name: &str, force: bool) -> Result<Output> {
    let (name, text) = TEMPLATES.iter().find(|(n, _)| *n == name).ok_or_else(|| {
        let names: Vec<&str> = TEMPLATES.iter().map(|(n, _)| *n).collect();
        Error::invalid("no_template", format!("there is no template {name:?}"))
            .with_hint(format!("templates: {}", names.join(", ")))
    })?;
    let dir = base_dir(s).join(DEFINITIONS_DIR);
    let path = dir.join(format!("{name}.toml"));
    if path.exists() && !force {
        return Err(Error::refused("exists", format!("{} already exists", path.display()))
            .with_hint("pass --force to overwrite it"));
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    std::fs::write(&path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    Ok(Output::new(
        json!({"template": name, "path": path.display().to_string()}),
        format!("wrote {}; try: baton workflow run {name}", path.display()),
    ))
}
