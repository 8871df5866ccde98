//! Workflow operations (docs/workflows.md): locate and validate definitions in
//! the work tree, plan (dry run), execute with a run ledger, resume, stop,
//! and read runs back.
//!
//! An executed run records its start (landed before any step runs), then
//! one commit per step result, from a write-behind writer (see
//! [`crate::store::write_behind`]) so no step waits for the disk;
//! everything has landed before the run returns. When the writer fails,
//! the run stops as for SIGTERM and its end is recorded directly.
//!
//! Resuming a run is the `resume` module (`ops/workflow/resume.rs`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{index, Session};
use crate::clock::Timestamp;
use crate::error::{Error, Kind, Result};
use crate::ids::{RunId, WorkflowName};
use crate::learn::rules::RuleSet;
use crate::os;
use crate::redact::SecretNames;
use crate::state;
use crate::store::write_behind::{Decide, WriteBehind};
use crate::store::{message, Change, Message, Snapshot, Store, Update};
use crate::workflow::def::{self, Definition, Format};
use crate::workflow::exec::{self, Sink};
use crate::workflow::ledger::{self, DefinitionRef, Run, RunStatus};
pub use crate::workflow::named;
use crate::workflow::policy::{self, Refusal};
use crate::workflow::summary::Summary;
use crate::workflow::{self, DEFINITIONS_DIR, TEMPLATES};

/// How long `workflow stop` waits for the runner to record the stop.
mod resume;
pub use resume::{resume, resume_plan, ResumePlan};

const STOP_WAIT: Duration = Duration::from_secs(15);

/// A definition as read: where from (for people and the ledger) and its text.
#[derive(Debug, Clone)]
pub struct Located {
    pub display: String,
    pub text: String,
}

/// How `run` and `resume` go about executing.
#[derive(Debug, Clone, Copy)]
pub struct Execution {
    /// Up to this many independent ready steps at once.
    pub jobs: usize,
    /// Run even commands that `workflow.allow` or the risk guard refuse.
    pub allow_risk: bool,
    /// Where step output streams.
    pub sink: Sink,
}

/// What a dry run shows: the definition, and what policy would refuse.
#[derive(Debug, Clone)]
pub struct Plan {
    pub located: Located,
    pub def: Definition,
    pub refusals: Vec<Refusal>,
}

/// How a stop came about.
#[derive(Debug, Clone)]
pub enum Stopped {
    /// The runner stopped its steps and recorded the stop.
    ByRunner(Run),
    /// The runner was gone: the stop was recorded here.
    RunnerGone(Run),
}

/// `<file|name>`: an existing file path, else `.baton/workflows/<name>.toml|.json`.
pub fn locate(s: &Session, workflow: &str) -> Result<Located> {
    let as_path = s.dir.join(workflow);
    let path = if as_path.is_file() {
        as_path
    } else {
        named_definition(s, workflow)?
    };
    let text = std::fs::read_to_string(&path).map_err(|source| workflow::Unreadable::Io {
        path: path.clone(),
        source,
    })?;
    // Relative to the work tree, whichever way the two were spelled (`-C
    // sub`, symlinks): that is the path a resume finds it at again.
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let full = canonical(&path);
    let display = full
        .strip_prefix(canonical(&s.base_dir()))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| full.display().to_string());
    Ok(Located { display, text })
}

fn named_definition(s: &Session, workflow: &str) -> Result<PathBuf> {
    let name = WorkflowName::parse(workflow).map_err(|_| workflow::Refusal::NotANameOrFile(workflow.to_owned()))?;
    let dir = s.base_dir().join(DEFINITIONS_DIR);
    ["toml", "json"]
        .iter()
        .map(|ext| dir.join(format!("{name}.{ext}")))
        .find(|p| p.is_file())
        .ok_or_else(|| workflow::Refusal::NoWorkflow(name.clone()).into())
}

/// Locate and validate a definition (exit 2 with every problem listed).
pub fn validate(s: &Session, workflow: &str) -> Result<(Located, Definition)> {
    let located = locate(s, workflow)?;
    let def = def::parse(&located.display, &located.text, Format::of(&located.display))?;
    Ok((located, def))
}

/// The plan of a run: nothing runs, nothing is recorded.
pub fn plan(s: &Session, workflow: &str) -> Result<Plan> {
    let (located, def) = validate(s, workflow)?;
    let (allow, rules) = guard(s)?;
    let refusals = policy::check(def.steps.iter(), &allow, &rules);
    Ok(Plan { located, def, refusals })
}

/// What decides whether a step may run: `workflow.allow`, and the learn
/// risk guard with the repository's `[learn]` rules (both fail closed: a
/// pattern or rule that does not compile refuses the run, exit 2).
fn guard(s: &Session) -> Result<(policy::Allow, RuleSet)> {
    let config = s.config()?;
    Ok((
        policy::Allow::new(&config.workflow.allow)?,
        RuleSet::from_policy(&config.learn)?,
    ))
}

/// `workflow run --execute`: record the run, run every step, return the
/// run as it ended (`succeeded`, `failed` or `stopped`).
pub fn run(s: &Session, workflow: &str, how: &Execution) -> Result<Run> {
    let plan = plan(s, workflow)?;
    refuse_unless_allowed(&plan.refusals, how)?;
    let id = fresh_id(s, "wf", ledger::path)?;
    run_as(s, &plan, id, how)
}

/// A run id (`<prefix>-<time>-<hex>`) whose ledger, at `path_of(id)`, is not in the state yet.
pub fn fresh_id(s: &Session, prefix: &str, path_of: impl Fn(&RunId) -> String) -> Result<RunId> {
    let snap = s.snapshot()?;
    loop {
        let id = RunId::generate(prefix, &s.now);
        if snap.read(&path_of(&id))?.is_none() {
            return Ok(id);
        }
    }
}

/// Run `plan` as the run `id` (a delivery names its run before it starts).
pub fn run_as(s: &Session, plan: &Plan, id: RunId, how: &Execution) -> Result<Run> {
    run_wrapped(s, plan, id, how, Wrap::none()).map(|(run, ())| run)
}

/// Commits an operation that wraps a run lands with it (a delivery's
/// phases): `before` in the compare-and-swap of the run's start record,
/// ahead of it; `after` in the one of its end record, behind it. Each is
/// decided on the state it lands on, so a precondition it checks holds
/// where it lands. They are their own commits; they only share the ref's
/// moves (and the packs) of the run. `before` decides a `B` (a delivery's
/// phase as it landed), which `after` is given; `after` decides the `A`
/// the run returns with (its final phase).
pub struct Wrap<'a, B, A> {
    pub before: Before<'a, B>,
    pub after: After<B, A>,
}

/// What lands ahead of a run's start record, decided on the state it lands on.
pub type Before<'a, B> = Box<dyn FnMut(&Snapshot<'_>) -> Result<Update<B>> + 'a>;

/// What lands behind a run's end record (the run as it ended, and what
/// `before` decided), decided on the state it lands on, from the writer's
/// thread.
pub type After<B, A> = Box<dyn FnMut(&Snapshot<'_>, &Run, &B) -> Result<Update<A>> + Send>;

impl Wrap<'static, (), ()> {
    /// Nothing around the run.
    pub fn none() -> Self {
        Wrap {
            before: Box::new(|_| Ok(Update::Unchanged(()))),
            after: Box::new(|_, _, ()| Ok(Update::Unchanged(()))),
        }
    }
}

/// [`run_as`], with `wrap`'s commits landing with the start and the end;
/// the run, and what `wrap.after` decided.
pub fn run_wrapped<B: Send + 'static, A: Send + 'static>(
    s: &Session,
    plan: &Plan,
    id: RunId,
    how: &Execution,
    wrap: Wrap<'_, B, A>,
) -> Result<(Run, A)> {
    refuse_unless_allowed(&plan.refusals, how)?;
    let actor = s.actor()?.to_string();
    let mut start = Change::new(
        Message::new(format!("workflow: {id} started ({})", plan.def.name))
            .trailer(message::OP, "workflow.start")
            .trailer(message::SUBJECT, format!("run/{id}"))
            .trailer(message::ACTOR, &actor),
    );
    // Exactly what ran, by the git blob id of its bytes (what `git
    // hash-object` says of the file): resume runs the file only while it
    // still has this id. Nothing is written to the object database.
    let definition = DefinitionRef {
        path: plan.located.display.clone(),
        blob: s.store.blob_id(plan.located.text.as_bytes())?.to_string(),
    };
    let run = Run::new(
        id.clone(),
        &plan.def,
        definition,
        os::hostname(),
        std::process::id(),
        actor,
        s.now,
    );
    let path = ledger::path(&id);
    start.expect_absent(path.clone()).put_json(path, &run)?;
    let all: BTreeSet<usize> = (0..plan.def.steps.len()).collect();
    execute(s, &plan.def, run, &all, how, Some(start), wrap)
}

/// Refused before anything runs, unless `--allow-risk`.
pub fn refuse_unless_allowed(refusals: &[Refusal], how: &Execution) -> Result<()> {
    if refusals.is_empty() || how.allow_risk {
        return Ok(());
    }
    Err(workflow::Refusal::Policy(refusals.to_vec()).into())
}

/// Record `start` (the run's start; a resume has recorded its own), then
/// run its `selected` steps; the run, and what `wrap.after` decided.
fn execute<B: Send + 'static, A: Send + 'static>(
    s: &Session,
    def: &Definition,
    mut run: Run,
    selected: &BTreeSet<usize>,
    how: &Execution,
    start: Option<Change>,
    wrap: Wrap<'_, B, A>,
) -> Result<(Run, A)> {
    let Wrap { mut before, mut after } = wrap;
    let policy: &crate::workflow::Policy = &s.config()?.workflow;
    let opts = exec::Options {
        jobs: how.jobs,
        dir: s.base_dir(),
        default_timeout: policy.default_timeout,
        secret_names: SecretNames::new(&policy.secret_env)?,
        sink: how.sink,
    };
    let stop = os::stop_on_signals().map_err(|e| Error::io("installing signal handlers", e))?;
    // The start lands first (a resume has landed its own): if it cannot,
    // nothing runs. The step results
    // then land from a writer thread while the steps run: a burst of fast
    // steps costs one pack per batch, not a commit's worth of files per
    // step, and no step waits for the disk. Each is still its own commit,
    // in order; all have landed before the command returns. (A runner
    // killed meanwhile loses the results not yet landed: those steps show
    // as not done, and resume runs them again.) A writer that fails raises
    // `stop`: the steps stop as for SIGTERM, since their results would be lost.
    let first = |snap: &Snapshot<'_>| {
        let (mut chain, value) = before(snap)?.into_changes();
        chain.extend(start.clone());
        Ok(Update::WriteEach(chain, value))
    };
    let (mut writer, wrapped) =
        WriteBehind::start(&s.store, &run.actor, first, stop.clone()).map_err(|e| match e.kind {
            // A refusal of the wrapping operation says what it refused.
            Kind::Environment => e.context(format!(
                "run {} did not start, no step ran: recording its start failed",
                run.id
            )),
            _ => e,
        })?;
    os::crash_point("workflow.started");
    // Each result's ledger is encoded on the writer's thread, while the
    // next step runs: a copy of the run is what the runner hands over.
    let executed = exec::execute(def, &mut run, selected, &opts, &stop, |run, summary| {
        let run = run.clone();
        writer.push_with(run.encoded_size_hint(), Box::new(move || record_change(&run, &summary)))
    });
    // A run whose steps could not all run (an error) ends stopped.
    let stopped = !matches!(executed, Ok(false));
    run.conclude(def, stopped, crate::clock::now()?);
    os::crash_point("workflow.ending");
    let landed = match record_change(&run, run.status.as_str()).and_then(|end| writer.push(end)) {
        Ok(()) => {
            let ended = run.clone();
            let last: Decide<A> = Box::new(move |snap| after(snap, &ended, &wrapped));
            writer.finish_with(last)
        }
        // What was queued still lands; the writer's own failure, if it
        // failed, is the one to tell.
        Err(e) => writer.close().and(Err(e)),
    };
    match (executed, landed) {
        (Ok(_), Ok(decided)) => Ok((run, decided)),
        // The end landed: the ledger is right, only the error is left to tell.
        (Err(e), Ok(_)) => Err(e),
        (executed, Err(writer_error)) => Err(record_end_directly(s, &run, executed.err().unwrap_or(writer_error))),
    }
}

/// After the state writer failed: record the run's end with an ordinary
/// write (loose objects, not the writer's packs), so its ledger does not
/// stay `running`; `failure` comes back with what was recorded.
fn record_end_directly(s: &Session, run: &Run, failure: Error) -> Error {
    let summary = format!("{} (its state writer failed)", run.status.as_str());
    // A fresh handle: the session's may have looked at packs the writer
    // merged away since.
    let recorded = record_change(run, &summary)
        .and_then(|end| Store::open(s.store.path())?.update(&run.actor, |_| Ok(Update::Write(end.clone(), ()))));
    let failure = failure.context(format!("run {} stopped: recording its steps failed", run.id));
    match recorded {
        Ok(_) => failure.with_hint(format!(
            "the ledger records the run as {} with the steps done so far; fix the cause, then \
             `baton workflow resume --run-id {} --execute`",
            run.status.as_str(),
            run.id
        )),
        Err(e) => failure.with_hint(format!(
            "its end could not be recorded either ({}); once the cause is fixed, \
             `baton workflow doctor --fix` marks the run interrupted",
            e.message()
        )),
    }
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

/// One run; refused when there is none.
pub fn get(s: &Session, id: &RunId) -> Result<Run> {
    state::run(&s.snapshot()?, id)?.ok_or_else(|| no_run(id))
}

fn no_run(id: &RunId) -> Error {
    workflow::Refusal::NoRun(id.clone()).into()
}

/// The run `id`, or the latest when `None` (found through the read index:
/// only that run's ledger is read).
pub fn status(s: &Session, id: Option<&RunId>) -> Result<Run> {
    match id {
        Some(id) => get(s, id),
        None => {
            let latest = summaries(s)?
                .into_iter()
                .next()
                .ok_or_else(|| Error::from(workflow::Refusal::NoRunYet))?;
            get(s, &latest.id)
        }
    }
}

/// Every run's summary, newest first (by ledger path, as `state::all_runs`
/// orders runs), through the read index; refused when a ledger does not parse.
fn summaries(s: &Session) -> Result<Vec<Summary>> {
    let mut rows = index::strict_rows::<index::Runs>(&s.store, &s.snapshot()?)?;
    rows.reverse();
    Ok(rows)
}

/// Recent runs' summaries, newest first.
pub fn list(s: &Session, limit: usize) -> Result<Vec<Summary>> {
    Ok(summaries(s)?.into_iter().take(limit).collect())
}

/// `workflow stop`: ask the runner to stop (it records `stopped` itself),
/// or record the stop here when the runner is gone.
pub fn stop(s: &Session, id: &RunId) -> Result<Stopped> {
    let run = get(s, id)?;
    if run.status != RunStatus::Running {
        return Err(workflow::Refusal::NotRunning {
            id: id.clone(),
            status: run.status,
        }
        .into());
    }
    if run.host != os::hostname() {
        // The host is text from the state: one line, whatever it holds.
        let host = crate::term::field(&run.host);
        return Err(workflow::Refusal::StopElsewhere {
            id: id.clone(),
            host: host.into_owned(),
        }
        .into());
    }
    if os::process_alive(run.pid) {
        return wait_for_runner(s, run);
    }
    let mut run = run;
    run.status = RunStatus::Stopped;
    run.finished_at = Some(s.now);
    let change = record_change(&run, "stopped (runner was gone)")?;
    s.store.update(&run.actor, |_| Ok(Update::Write(change.clone(), ())))?;
    Ok(Stopped::RunnerGone(run))
}

/// Signal the runner and wait until the ledger says it stopped.
fn wait_for_runner(s: &Session, run: Run) -> Result<Stopped> {
    os::signal_process(run.pid, os::SIGTERM);
    let deadline = Instant::now() + STOP_WAIT;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        let now = get(s, &run.id)?;
        if now.status != RunStatus::Running {
            return Ok(Stopped::ByRunner(now));
        }
    }
    Err(workflow::Refusal::StopTimeout {
        id: run.id,
        pid: run.pid,
        secs: STOP_WAIT.as_secs(),
    }
    .into())
}

/// `workflow template init`: write a shipped template to
/// `.baton/workflows/<name>.toml`; returns the template's name and the path.
pub fn template_init(s: &Session, name: &str, force: bool) -> Result<(&'static str, PathBuf)> {
    let (name, text) = TEMPLATES
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| workflow::Refusal::NoTemplate(name.to_owned()))?;
    let dir = s.base_dir().join(DEFINITIONS_DIR);
    let path = dir.join(format!("{name}.toml"));
    if path.exists() && !force {
        return Err(workflow::Refusal::TemplateExists(path).into());
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    std::fs::write(&path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    Ok((name, path))
}

/// Add to `change` the runs `ids` marked interrupted (their process is gone),
/// as they are in `snap`: only those still `running`; returns them as they
/// become. Doctor's `--fix` and the daemon's reconcile pass both mark runs
/// with it.
pub fn put_interrupted(snap: &Snapshot<'_>, ids: &[RunId], now: Timestamp, change: &mut Change) -> Result<Vec<Run>> {
    let mut out = Vec::new();
    for id in ids {
        let Some(mut run) = state::run(snap, id)? else {
            continue;
        };
        if run.status != RunStatus::Running {
            continue;
        }
        run.status = RunStatus::Interrupted;
        run.finished_at = Some(now);
        change.put_json(ledger::path(id), &run)?;
        out.push(run);
    }
    Ok(out)
}

/// The names of the definitions in `.baton/workflows` (`ship` for
/// `ship.toml`), sorted: what `workflow run <name>` takes.
pub fn definition_names(s: &Session) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(s.base_dir().join(DEFINITIONS_DIR)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let path = e.path();
            let ext = path.extension()?.to_str()?;
            if !matches!(ext, "toml" | "json") || !path.is_file() {
                return None;
            }
            let stem = path.file_stem()?.to_str()?;
            WorkflowName::parse(stem).ok().map(|_| stem.to_owned())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}
