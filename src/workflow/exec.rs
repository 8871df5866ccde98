//! Running steps: argv executed directly (never through a shell), each step
//! in its own process group so a timeout or a stop ends everything it
//! started, output streamed live with a `[step]` prefix, retries with a
//! doubling backoff, up to `jobs` independent steps at once.
//!
//! An attempt watches its own process: its pipes, its exit, its timeout
//! and a stop (SIGTERM to its group, SIGKILL after [`STOP_GRACE`]). So with
//! `jobs` 1 the runner runs each step on its own thread, as `make` does —
//! one wake-up when the step ends — and only with more jobs do steps run
//! on the threads of a [`Crew`], which hand their outcomes back.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::def::{Definition, Step, Upstreams};
use super::ledger::{decide, Attempt, Readiness, Run, StepStatus};
use crate::clock::{self, Span, MAX_SPAN};
use crate::error::{Error, Result};
use crate::os::{self, spawn};
use crate::redact::{self, SecretNames};

/// How much output an attempt keeps in the ledger.
pub const OUTPUT_TAIL: usize = 4096;

/// How long stopped steps get between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// How long to wait for output pipes after a step's process is gone
/// (a daemonized grandchild may hold them open forever).
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// How long a killed step (timed out, or stopped and past `STOP_GRACE`) may
/// take to be seen gone before its attempt is given up on: a process stuck
/// in the kernel, or one whose end cannot be observed, must not hold the run.
const KILL_GRACE: Duration = Duration::from_secs(5);

/// The longest an attempt's loop waits on its pipes before it looks at the
/// process, the clock and the stop flag again.
const POLL_CAP: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Copy)]
pub enum Sink {
    Stdout,
    Stderr,
}

impl Sink {
    fn write_line(self, prefix: &str, line: &[u8]) {
        let mut buf = Vec::with_capacity(prefix.len() + line.len() + 1);
        buf.extend_from_slice(prefix.as_bytes());
        buf.extend_from_slice(&crate::term::line_bytes(line));
        if !line.ends_with(b"\n") {
            buf.push(b'\n');
        }
        // One write per line under the stream's lock: parallel steps never interleave mid-line.
        let _ = match self {
            Sink::Stdout => std::io::stdout().lock().write_all(&buf),
            Sink::Stderr => std::io::stderr().lock().write_all(&buf),
        };
    }
}

pub struct Options {
    pub jobs: usize,
    /// Where steps run: the work tree's root, wherever baton was started
    /// (`-C` included), so relative paths in `run` mean the same for a run
    /// and its resume.
    pub dir: PathBuf,
    pub default_timeout: Span,
    pub sink: Sink,
    /// `workflow.secret_env`: a step's env values under these names are redacted.
    pub secret_names: SecretNames,
}

/// How an attempt's process ended, as far as the runner could tell.
#[derive(Default)]
struct End {
    /// Its exit status, when `waitpid` reported one.
    status: Option<std::process::ExitStatus>,
    timed_out: bool,
    /// Why its end was seen without a status (`waitpid` failed: ECHILD when SIGCHLD is ignored).
    lost: Option<std::io::Error>,
    /// Killed, but never seen to end within the grace: the attempt stopped waiting.
    abandoned: bool,
}

/// What a step's attempts came to.
struct StepOutcome {
    attempts: Vec<Attempt>,
    status: StepStatus,
}

/// Run the `selected` steps of `def`, recording into `run` and calling
/// `record` after each step result. Returns whether the run was stopped.
///
/// A result `record` fails to take stops the run as a signal would (the
/// running steps are ended, no other starts); that error is returned once
/// they are gone, `run` holding where they got to.
pub fn execute(
    def: &Definition,
    run: &mut Run,
    selected: &BTreeSet<usize>,
    opts: &Options,
    stop: &Arc<AtomicBool>,
    mut record: impl FnMut(&Run, String) -> Result<()>,
) -> Result<bool> {
    let upstream = def.upstreams();
    let mut unrecorded: Option<Error> = None;
    let mut record = |run: &Run, summary: String| {
        if unrecorded.is_none() {
            if let Err(e) = record(run, summary) {
                stop.store(true, Ordering::SeqCst);
                unrecorded = Some(e);
            }
        }
    };
    let (tx, rx) = mpsc::channel::<(usize, StepOutcome)>();
    let mut runner = Runner {
        def,
        readiness: Readiness::new(&upstream, &run.steps),
        upstream,
        selected,
        opts,
        stop,
        crew: Crew::new(tx),
        running: BTreeSet::new(),
    };
    loop {
        // Each attempt ends its own process on a stop; the runner only
        // starts nothing new and waits for those running to come back.
        runner.start_ready(run, &mut record);
        if runner.running.is_empty() {
            break;
        }
        match rx.recv() {
            Ok((i, outcome)) => runner.settle(i, outcome, run, &mut record),
            Err(mpsc::RecvError) => break,
        }
    }
    runner.crew.dismiss();
    match unrecorded {
        Some(e) => Err(e),
        None => Ok(stop.load(Ordering::SeqCst)),
    }
}

/// The state of one [`execute`]: which steps run, and how a stop is going.
struct Runner<'a> {
    def: &'a Definition,
    upstream: Upstreams<'a>,
    readiness: Readiness,
    selected: &'a BTreeSet<usize>,
    opts: &'a Options,
    stop: &'a Arc<AtomicBool>,
    /// The threads the steps' attempts run on when more than one may run at once.
    crew: Crew,
    /// The steps whose attempts are running on the crew.
    running: BTreeSet<usize>,
}

impl Runner<'_> {
    /// Decide every step whose upstream is settled, in execution order:
    /// skip it, reach it (a checkpoint), or start it while a job is free.
    fn start_ready(&mut self, run: &mut Run, record: &mut impl FnMut(&Run, String)) {
        let mut progressed = true;
        while progressed {
            progressed = false;
            for &i in &self.def.order {
                // Stopped (a signal, `workflow stop`, a writer that failed):
                // nothing more is decided or started.
                if self.stop.load(Ordering::SeqCst) {
                    return;
                }
                let ready = self.selected.contains(&i)
                    && !self.running.contains(&i)
                    && run.steps[i].status == StepStatus::Pending
                    && self.readiness.is_settled(&self.upstream, i, &run.steps);
                if !ready {
                    continue;
                }
                let step = &self.def.steps[i];
                match decide(step.when, &self.upstream.of(i), &run.steps) {
                    Err((cause, reason)) => {
                        let r = &mut run.steps[i];
                        r.status = StepStatus::Skipped;
                        r.skip = Some(cause);
                        r.reason = Some(reason.clone());
                        record(run, format!("step {} skipped: {reason}", step.id));
                        progressed = true;
                    }
                    Ok(()) if step.run.is_none() => {
                        let r = &mut run.steps[i];
                        r.status = StepStatus::Succeeded;
                        r.skip = None;
                        r.reason = Some("checkpoint reached".into());
                        record(run, format!("step {} reached", step.id));
                        progressed = true;
                    }
                    Ok(()) if self.opts.jobs <= 1 => {
                        // One step at a time: it runs here, on the runner's thread.
                        let outcome = self.worker(i, run).run_guarded();
                        self.settle(i, outcome, run, record);
                        progressed = true;
                    }
                    Ok(()) if self.running.len() < self.opts.jobs => {
                        let worker = self.worker(i, run);
                        self.crew.start(worker, self.running.len());
                        self.running.insert(i);
                    }
                    Ok(()) => {}
                }
            }
        }
    }

    /// What runs step `i`'s attempts, numbered on from those `run` has.
    fn worker(&self, i: usize, run: &Run) -> Worker {
        let step = &self.def.steps[i];
        Worker {
            index: i,
            step: step.clone(),
            first_attempt: run.steps[i].attempts.len() as u32 + 1,
            timeout: step.timeout.unwrap_or(self.opts.default_timeout),
            secrets: self.opts.secret_names.values(&step.env),
            dir: self.opts.dir.clone(),
            sink: self.opts.sink,
            stop: self.stop.clone(),
        }
    }

    /// Step `i` ended: its attempts and status go into the run, and are recorded.
    fn settle(&mut self, i: usize, outcome: StepOutcome, run: &mut Run, record: &mut impl FnMut(&Run, String)) {
        self.running.remove(&i);
        let r = &mut run.steps[i];
        let tries = outcome.attempts.len();
        r.attempts.extend(outcome.attempts);
        r.status = outcome.status;
        r.skip = None;
        r.reason = None;
        let id = &self.def.steps[i].id;
        record(
            run,
            format!("step {id} {} ({tries} attempt(s))", outcome.status.as_str()),
        );
    }
}

/// The threads attempts run on, kept from one step to the next: a run of
/// many short steps starts as many threads as steps run at once, not one
/// per step (each costs a stack mapped and unmapped, and its signal stack).
struct Crew {
    /// Where the next step's worker goes; `None` once dismissed.
    jobs: Option<mpsc::Sender<Worker>>,
    queue: Arc<Mutex<mpsc::Receiver<Worker>>>,
    /// Where workers send their step's outcome.
    done: mpsc::Sender<(usize, StepOutcome)>,
    /// How many threads were started (each takes the next worker when idle).
    threads: usize,
}

impl Crew {
    fn new(done: mpsc::Sender<(usize, StepOutcome)>) -> Crew {
        let (jobs, queue) = mpsc::channel();
        Crew {
            jobs: Some(jobs),
            queue: Arc::new(Mutex::new(queue)),
            done,
            threads: 0,
        }
    }

    /// Run `worker` on an idle thread, starting one when all `busy` are taken.
    fn start(&mut self, worker: Worker, busy: usize) {
        if self.threads <= busy {
            let (queue, done) = (self.queue.clone(), self.done.clone());
            self.threads += 1;
            std::thread::spawn(move || loop {
                // The lock is held only while waiting for the next worker.
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                let Ok(worker) = next else { return };
                let outcome = worker.run_guarded();
                if done.send((worker.index, outcome)).is_err() {
                    return;
                }
            });
        }
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(worker);
        }
    }

    /// No more steps: the threads, all idle by now, end on their own. They
    /// are not waited for: the run's end is recorded meanwhile.
    fn dismiss(&mut self) {
        self.jobs = None;
    }
}

/// Whether step `pid` has ended (it is reaped then, its status in `end`).
fn reap(pid: u32, end: &mut End) -> bool {
    match spawn::try_wait(pid) {
        Ok(Some(status)) => {
            end.status = Some(status);
            true
        }
        Ok(None) => false,
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => false,
        // ECHILD: reaped by someone else (SIGCHLD ignored), so it has
        // ended; any other error cannot get better by asking again.
        Err(e) => {
            end.lost = Some(e);
            true
        }
    }
}

struct Worker {
    index: usize,
    step: Step,
    first_attempt: u32,
    timeout: Span,
    /// Values of the step's own secret-looking env entries, redacted from its record.
    secrets: Vec<String>,
    dir: PathBuf,
    sink: Sink,
    stop: Arc<AtomicBool>,
}

impl Worker {
    /// [`Worker::run`]; a bug in it fails the step instead of ending the run.
    fn run_guarded(&self) -> StepOutcome {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run())).unwrap_or(StepOutcome {
            attempts: Vec::new(),
            status: StepStatus::Failed,
        })
    }

    fn run(&self) -> StepOutcome {
        let mut attempts = Vec::new();
        for n in 0..=self.step.retry {
            if n > 0 {
                // retry_backoff, doubling each attempt; a stop cuts the wait short.
                let wait = (self.step.retry_backoff.as_std())
                    .saturating_mul(1u32 << (n - 1).min(16))
                    .min(MAX_SPAN);
                let until = Instant::now().checked_add(wait);
                let tick = Duration::from_millis(20);
                while until.is_none_or(|u| Instant::now() < u) && !self.stop.load(Ordering::SeqCst) {
                    std::thread::sleep(until.map_or(tick, |u| tick.min(u.saturating_duration_since(Instant::now()))));
                }
            }
            if self.stop.load(Ordering::SeqCst) {
                return StepOutcome {
                    attempts,
                    status: StepStatus::Stopped,
                };
            }
            let attempt = self.attempt(self.first_attempt + n);
            let ok = attempt.exit_code == Some(0);
            attempts.push(attempt);
            if self.stop.load(Ordering::SeqCst) && !ok {
                return StepOutcome {
                    attempts,
                    status: StepStatus::Stopped,
                };
            }
            if ok {
                return StepOutcome {
                    attempts,
                    status: StepStatus::Succeeded,
                };
            }
        }
        StepOutcome {
            attempts,
            status: StepStatus::Failed,
        }
    }

    fn attempt(&self, number: u32) -> Attempt {
        let argv = self.step.run.as_ref().expect("workers run command steps");
        let started_at = clock::now().unwrap_or_else(|_| chrono::Utc::now());
        let t0 = Instant::now();
        let prefix = format!("[{}] ", self.step.id);
        let child = match spawn::spawn(argv, &self.step.env, &self.dir) {
            Ok(child) => child,
            Err(e) => {
                let message = format!("cannot run {:?}: {e}", argv[0]);
                self.sink.write_line(&prefix, message.as_bytes());
                return Attempt {
                    number,
                    started_at,
                    duration_ms: t0.elapsed().as_millis() as u64,
                    exit_code: None,
                    timed_out: false,
                    output: message,
                };
            }
        };
        let mut tail = Vec::<u8>::new();
        let end = self.watch(child.pid, [child.stdout, child.stderr], t0, &prefix, &mut tail);
        let mut output = redact::tail(&tail, OUTPUT_TAIL, &self.secrets);
        let note = match &end {
            End { timed_out: true, .. } => Some(format!(
                "[baton] timed out after {}; process group killed",
                self.timeout
            )),
            End { abandoned: true, .. } => {
                Some("[baton] the step's process was killed but never seen to end; given up on".to_owned())
            }
            End { lost: Some(e), .. } => Some(format!(
                "[baton] the step ended but its exit status was lost (waitpid: {e}); counted as failed"
            )),
            _ => None,
        };
        if let Some(note) = note {
            self.sink.write_line(&prefix, note.as_bytes());
            output.push_str(&note);
        }
        Attempt {
            number,
            started_at,
            duration_ms: t0.elapsed().as_millis() as u64,
            exit_code: if end.timed_out || end.abandoned {
                None
            } else {
                end.status.and_then(|status| status.code())
            },
            timed_out: end.timed_out,
            output,
        }
    }

    /// Stream both pipes as they become readable, notice the exit, enforce
    /// the timeout, end the step's group on a stop (SIGTERM, then SIGKILL
    /// after [`STOP_GRACE`]), and give up on a killed process that is never
    /// seen to end: all of the attempt on one thread, this one.
    fn watch(&self, pid: u32, pipes: [File; 2], t0: Instant, prefix: &str, tail: &mut Vec<u8>) -> End {
        // Readable once the process has exited: its end is seen at once,
        // also when its pipes closed just before it became reapable.
        let mut exit = spawn::exit_fd(pid);
        let mut exit_ready = false;
        let mut pipes = pipes.map(Some);
        let mut partial: [Vec<u8>; 2] = Default::default();
        // No deadline when the timeout does not fit the clock (one stored before bounds existed).
        let deadline = t0.checked_add(self.timeout.as_std());
        let mut end = End::default();
        // When the exit was seen, and when killing began (the timeout's SIGKILL, or a stop).
        let mut exited_at: Option<Instant> = None;
        let mut killing_since: Option<(Instant, Duration)> = None;
        // When a stop was seen, and whether its SIGKILL went out.
        let mut stopping_since: Option<Instant> = None;
        let mut stop_killed = false;
        let mut idle = Duration::ZERO;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            if exited_at.is_none() && reap(pid, &mut end) {
                // The group may still hold the pipes (a step that backgrounded work): end it.
                os::signal_group(pid, os::SIGKILL);
                exited_at = Some(Instant::now());
            }
            let open = pipes.iter().any(Option::is_some);
            match exited_at {
                Some(_) if !open => break,
                Some(at) if at.elapsed() >= PIPE_GRACE => break,
                Some(_) => {}
                None => {
                    if !end.timed_out && deadline.is_some_and(|d| Instant::now() >= d) {
                        end.timed_out = true;
                        os::signal_group(pid, os::SIGKILL);
                        killing_since = Some((Instant::now(), KILL_GRACE));
                    }
                    if stopping_since.is_none() && killing_since.is_none() && self.stop.load(Ordering::SeqCst) {
                        // Gracefully first: the step may trap SIGTERM and clean up.
                        os::signal_group(pid, os::SIGTERM);
                        stopping_since = Some(Instant::now());
                        killing_since = Some((Instant::now(), STOP_GRACE + KILL_GRACE));
                    }
                    if !stop_killed && stopping_since.is_some_and(|since| since.elapsed() >= STOP_GRACE) {
                        stop_killed = true;
                        os::signal_group(pid, os::SIGKILL);
                    }
                    if killing_since.is_some_and(|(since, grace)| since.elapsed() >= grace) {
                        end.abandoned = true;
                        break;
                    }
                }
            }
            if exit_ready && exited_at.is_none() {
                // Readable, yet not reapable (a tracer holds it): polling it
                // again would spin, so back off as without one.
                exit = None;
            }
            // Until it is reaped, its exit descriptor is watched with the pipes.
            let exit_fd = exit.as_ref().filter(|_| exited_at.is_none()).map(|fd| fd.as_raw_fd());
            if !open && exit_fd.is_none() {
                // The step closed its output but runs on, and its exit
                // cannot be waited for with the pipes: look again soon,
                // backing off so a long run costs nothing while a short exit
                // is seen at once.
                std::thread::sleep(idle);
                idle = (idle * 2).clamp(Duration::from_micros(50), Duration::from_millis(20));
                continue;
            }
            let fds: Vec<Option<std::os::fd::RawFd>> = pipes
                .iter()
                .map(|p| p.as_ref().map(|p| p.as_raw_fd()))
                .chain([exit_fd])
                .collect();
            let wait = match (exited_at, deadline) {
                (Some(at), _) => PIPE_GRACE.saturating_sub(at.elapsed()),
                (None, Some(d)) if !end.timed_out => d.saturating_duration_since(Instant::now()),
                _ => POLL_CAP,
            };
            // Capped: a step whose output is held open by something it
            // started is noticed as exited within this.
            let ready = os::poll_readable(&fds, wait.min(POLL_CAP)).unwrap_or_else(|_| vec![true; 3]);
            // The exit descriptor needs no reading: the loop reaps at its top.
            exit_ready = exit_fd.is_some() && ready.get(2).copied().unwrap_or(false);
            for (i, ready) in ready.into_iter().take(2).enumerate() {
                if ready {
                    self.read_pipe(&mut pipes[i], &mut partial[i], &mut buf, prefix, tail);
                }
            }
        }
        end
    }

    /// Read what one ready pipe has, streaming its complete lines; at its
    /// end, the unfinished last line too, and the pipe is closed.
    fn read_pipe(
        &self,
        pipe: &mut Option<File>,
        partial: &mut Vec<u8>,
        buf: &mut [u8],
        prefix: &str,
        tail: &mut Vec<u8>,
    ) {
        let Some(open) = pipe.as_mut() else {
            return;
        };
        match open.read(buf) {
            Ok(0) | Err(_) => {
                *pipe = None;
                if !partial.is_empty() {
                    self.emit(prefix, partial, tail);
                    partial.clear();
                }
            }
            Ok(n) => {
                partial.extend_from_slice(&buf[..n]);
                while let Some(newline) = partial.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = partial.drain(..=newline).collect();
                    self.emit(prefix, &line, tail);
                }
            }
        }
    }

    /// Stream one line of a step's output and keep it for the ledger's tail.
    fn emit(&self, prefix: &str, line: &[u8], tail: &mut Vec<u8>) {
        self.sink.write_line(prefix, line);
        tail.extend_from_slice(line);
        let excess = tail.len().saturating_sub(OUTPUT_TAIL * 2);
        tail.drain(..excess);
    }
}
