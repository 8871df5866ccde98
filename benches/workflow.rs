//! `cargo bench --bench workflow` (`make bench`): the workflow engine's own
//! cost. A definition of 20 `true` steps run with `baton workflow run
//! --execute` (release binary), side by side in the same loop with `make -s`
//! running the same 20 `true` commands (20 chained targets, one recipe line
//! each). Reports median and p95 wall time of each, the ratio (target ≤ 1.5×
//! make, issue 20; it was ≤ 2.5×) and the engine overhead per step, `(baton wall − Σ the steps' own
//! durations from the ledger) / 20` (target ≤ 5 ms at p50). Prints PASS/FAIL;
//! it is a report, so it exits 0 unless the harness itself fails. See
//! docs/performance.md, "Workflow engine".
//!
//! All runs go to one repository, as in real use, so the state grows by 22
//! commits (start, one per step result, end) per run; the report prints the
//! state's commit count before and after, and the medians of the first and
//! the last quarter of the runs so a trend would show.
//!
//! Then, to show where baton's time goes, a breakdown measured separately:
//! process start + definition + policy (the dry run); a run of 20
//! checkpoint steps (everything but the processes); the run's 22 ledger
//! commits written in-process, one by one as loose objects (`Store::update`)
//! and queued at once to the write-behind writer the runner uses (packed);
//! 20 spawns of `true` with a plain `Command` (the steps' floor) and 20 the
//! way the runner spawns (`baton::os::spawn`: own process group,
//! `PR_SET_PDEATHSIG`, a vfork-style start; both pipes read on the spawning
//! thread; the 20 on the harness's own thread, as the runner runs a
//! sequence on its own thread with `--jobs 1`).
//!
//! What syncing costs: the same 20-step run with `GIT_TEST_FSYNC=0` (git's
//! switch, which baton honours), so the difference of the medians is what
//! making the run's packs durable adds to it; and with
//! `core.fsyncMethod=batch` (each file written out, one flush per pack).
//!
//! Long runs: a definition of 1,000 and one of 2,000 checkpoint steps, each
//! in a fresh repository: wall time and peak RSS of the baton process (from
//! `wait4`), the median of 3 runs (target for 1,000: ≤ 1.5 s and ≤ 64 MB;
//! the cost per step must not grow with the number of steps, beyond the
//! ledger file each commit rewrites).
//!
//! Before the main loop the harness runs `sync(1)`, so the write-back of
//! what earlier benchmarks wrote does not land inside the measured runs
//! (it slowed a run's syncs by milliseconds, and make syncs nothing).
//!
//! Environment: `BATON_BIN` (default: the release binary cargo built for this
//! bench), `BATON_WF_BENCH_RUNS` (measured runs, default 20, after 2
//! warmups), `BATON_BENCH_DIR` (where the repositories go, default the system
//! temp dir; the filesystem matters: on ext4 most of a commit is creating
//! loose-object files).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use baton::store::write_behind::WriteBehind;
use baton::store::{Change, Message, Store, Update};
use serde_json::Value;

#[path = "support/mod.rs"]
mod support;
use support::{baton_bin, command, env_number, load_average, ms, output, timed, Res};

const STEPS: usize = 20;
const WARMUPS: usize = 2;
const DEFAULT_RUNS: usize = 20;
const RATIO_TARGET: f64 = 1.5;
const OVERHEAD_TARGET_MS: f64 = 5.0;
/// Commits per run: the start, one per step result, the end.
const COMMITS_PER_RUN: usize = STEPS + 2;
const ACTOR: &str = "agent:bench";
/// The long runs: numbers of checkpoint steps, and how many runs of each.
const LONG_RUNS: [usize; 2] = [1000, 2000];
const LONG_REPEATS: usize = 3;
const LONG_TIME_TARGET_S: f64 = 1.5;
const LONG_RSS_TARGET_MB: f64 = 64.0;

/// The first argument that makes this binary the small process that
/// starts a measured command (see [`wall_and_peak_rss`]).
const MEASURE: &str = "--measure-child";

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == MEASURE) {
        std::process::exit(match measure_child(&args[2..]) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("{e}");
                1
            }
        });
    }
    if let Err(e) = run() {
        eprintln!("bench harness failed: {e}");
        std::process::exit(2);
    }
}

/// A hermetic command (see `support::command`) that `make` is not steered by either.
fn cmd(program: &Path, dir: &Path) -> Command {
    let mut c = command(program, dir);
    c.env("BATON_ACTOR", ACTOR)
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        // cargo runs benches with its LD_LIBRARY_PATH, which every dynamically
        // linked step (`true`) would search first: not what users have.
        .env_remove("LD_LIBRARY_PATH");
    c
}

fn git(dir: &Path, args: &[&str]) -> Res<String> {
    let mut c = cmd(Path::new("git"), dir);
    c.args(args);
    timed(c, &format!("git {}", args.join(" "))).map(|(out, _)| out.trim().to_owned())
}

/// The `q` quantile (nearest rank) of `xs`.
fn quantile(xs: &[f64], q: f64) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn filesystem(dir: &Path) -> String {
    let out = Command::new("df").arg("-T").arg(dir).output();
    out.ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .nth(1)
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .unwrap_or_else(|| "unknown".into())
}

/// 20 `true` steps (`bench`), or 20 checkpoints without `run` (`checkpoints`).
fn definition(name: &str, run: bool) -> String {
    let mut text = format!("name = \"{name}\"\n");
    for i in 1..=STEPS {
        text.push_str(&format!("[[steps]]\nid = \"s{i}\"\n"));
        if run {
            text.push_str("run = [\"true\"]\n");
        }
    }
    text
}

/// 20 targets, each one recipe line `true`, chained so they run in order.
fn makefile() -> String {
    let targets: Vec<String> = (1..=STEPS).map(|i| format!("s{i}")).collect();
    let mut text = format!(".PHONY: all {}\nall: s{STEPS}\n", targets.join(" "));
    for i in 1..=STEPS {
        let dep = if i > 1 { format!(" s{}", i - 1) } else { String::new() };
        text.push_str(&format!("s{i}:{dep}\n\ttrue\n"));
    }
    text
}

/// A git repository with `baton init`, the definition and the Makefile.
fn prepare(baton: &Path, dir: &Path) -> Res<()> {
    std::fs::create_dir_all(dir.join(".baton/workflows")).map_err(|e| e.to_string())?;
    git(dir, &["init", "-q"])?;
    let mut c = cmd(baton, dir);
    c.args(["-q", "init"]);
    timed(c, "baton init")?;
    for (name, run) in [("bench", true), ("checkpoints", false)] {
        std::fs::write(dir.join(format!(".baton/workflows/{name}.toml")), definition(name, run))
            .map_err(|e| e.to_string())?;
    }
    std::fs::write(dir.join("Makefile"), makefile()).map_err(|e| e.to_string())?;
    Ok(())
}

/// One measured baton run: wall time and the sum of its steps' own durations.
struct BatonRun {
    wall: Duration,
    steps_ms: f64,
    record: Value,
}

fn baton_run(baton: &Path, dir: &Path) -> Res<BatonRun> {
    let mut c = cmd(baton, dir);
    c.args(["--json", "workflow", "run", "bench", "--execute"]);
    let (out, wall) = timed(c, "baton workflow run bench --execute")?;
    let doc: Value = serde_json::from_str(&out).map_err(|e| format!("baton printed no JSON ({e}): {out}"))?;
    let record = doc["run"].clone();
    if record["status"] != "succeeded" {
        return Err(format!("the run did not succeed: {record}"));
    }
    let steps = record["steps"].as_array().ok_or("no steps in the run record")?;
    if steps.len() != STEPS {
        return Err(format!("{} steps recorded, expected {STEPS}", steps.len()));
    }
    let steps_ms = steps
        .iter()
        .flat_map(|s| s["attempts"].as_array().into_iter().flatten())
        .map(|a| a["duration_ms"].as_f64().unwrap_or(0.0))
        .sum();
    Ok(BatonRun { wall, steps_ms, record })
}

fn make_run(dir: &Path) -> Res<Duration> {
    let mut c = cmd(Path::new("make"), dir);
    c.arg("-s");
    timed(c, "make -s").map(|(_, wall)| wall)
}

fn run() -> Res<()> {
    // For the in-process spawns of the breakdown, which inherit this
    // process's environment (see `cmd`). Single-threaded still.
    std::env::remove_var("LD_LIBRARY_PATH");
    let baton = baton_bin()?;
    let runs = env_number("BATON_WF_BENCH_RUNS", DEFAULT_RUNS)?;
    let root = std::env::var_os("BATON_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let tmp = tempfile::Builder::new()
        .prefix("baton-wf-bench-")
        .tempdir_in(&root)
        .map_err(|e| format!("temp dir in {}: {e}", root.display()))?;
    let repo = tmp.path().join("repo");
    prepare(&baton, &repo)?;

    let (version, _) = timed(
        {
            let mut c = cmd(&baton, &repo);
            c.arg("--version");
            c
        },
        "baton --version",
    )?;
    let (make_version, _) = timed(
        {
            let mut c = cmd(Path::new("make"), &repo);
            c.arg("--version");
            c
        },
        "make --version",
    )?;
    println!("workflow engine benchmark");
    println!("  baton: {} ({})", baton.display(), version.trim());
    println!("  make:  {}", make_version.lines().next().unwrap_or("?"));
    println!(
        "  {} cores; {WARMUPS} warmups + {runs} measured runs each, interleaved; wall time per process",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "  repository under {} ({}); load average at start: {}",
        root.display(),
        filesystem(&root),
        load_average()
    );
    let commits_before: usize = git(&repo, &["rev-list", "--count", "refs/baton/state"])?
        .parse()
        .map_err(|e| format!("{e}"))?;
    // What the benchmarks before this one wrote (`make bench` runs them in
    // a row) reaches the disk now, not during the measured runs: a run's
    // syncs would otherwise wait behind another benchmark's write-back.
    let settled = Command::new("sync").status().is_ok_and(|s| s.success());
    println!(
        "  disk write-back settled before measuring (sync(1)): {}",
        if settled { "yes" } else { "no, sync(1) failed" }
    );

    // The main loop: make and baton alternate which goes first.
    let mut make_ms = Vec::new();
    let mut baton_ms = Vec::new();
    let mut overhead_ms = Vec::new();
    let mut steps_ms = Vec::new();
    let mut last_record = Value::Null;
    for i in 0..WARMUPS + runs {
        let (m, b) = if i % 2 == 0 {
            let m = make_run(&repo)?;
            (m, baton_run(&baton, &repo)?)
        } else {
            let b = baton_run(&baton, &repo)?;
            (make_run(&repo)?, b)
        };
        if i >= WARMUPS {
            make_ms.push(ms(m));
            baton_ms.push(ms(b.wall));
            steps_ms.push(b.steps_ms);
            overhead_ms.push((ms(b.wall) - b.steps_ms) / STEPS as f64);
        }
        last_record = b.record;
    }
    let commits_after: usize = git(&repo, &["rev-list", "--count", "refs/baton/state"])?
        .parse()
        .map_err(|e| format!("{e}"))?;

    // The breakdown. Spawns first, while this process is small (the
    // in-process commits below grow it; gix caches).
    let mut spawn_ms = Vec::new();
    let mut runner_spawn_ms = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        for _ in 0..STEPS {
            spawn_plain()?;
        }
        spawn_ms.push(ms(t0.elapsed()));
        // On this thread, as the runner runs a sequence on its own with --jobs 1.
        let t0 = Instant::now();
        (0..STEPS).try_for_each(|_| spawn_like_the_runner())?;
        runner_spawn_ms.push(ms(t0.elapsed()));
    }

    let mut dry_ms = Vec::new();
    for _ in 0..runs {
        let mut c = cmd(&baton, &repo);
        c.args(["-q", "workflow", "run", "bench"]);
        dry_ms.push(ms(timed(c, "baton workflow run bench (dry run)")?.1));
    }
    let mut checkpoints_ms = Vec::new();
    for _ in 0..runs {
        let mut c = cmd(&baton, &repo);
        c.args(["-q", "workflow", "run", "checkpoints", "--execute"]);
        checkpoints_ms.push(ms(timed(c, "baton workflow run checkpoints --execute")?.1));
    }
    // The same run without syncing, and with `core.fsyncMethod=batch`
    // (given through git's GIT_CONFIG_COUNT, which gix reads too).
    let mut unsynced_ms = Vec::new();
    let mut batch_ms = Vec::new();
    for _ in 0..runs {
        let mut c = cmd(&baton, &repo);
        c.args(["-q", "workflow", "run", "bench", "--execute"])
            .env("GIT_TEST_FSYNC", "0");
        unsynced_ms.push(ms(timed(c, "baton workflow run bench --execute (GIT_TEST_FSYNC=0)")?.1));
        let mut c = cmd(&baton, &repo);
        c.args(["-q", "workflow", "run", "bench", "--execute"])
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "core.fsyncMethod")
            .env("GIT_CONFIG_VALUE_0", "batch");
        batch_ms.push(ms(timed(
            c,
            "baton workflow run bench --execute (core.fsyncMethod=batch)",
        )?
        .1));
    }
    let (commit_ms, behind_ms) = commit_cost(&repo, &last_record, runs)?;
    let (b50, b95) = (median(&baton_ms), quantile(&baton_ms, 0.95));
    let (m50, m95) = (median(&make_ms), quantile(&make_ms, 0.95));
    let ratio = b50 / m50;
    let (o50, o95) = (median(&overhead_ms), quantile(&overhead_ms, 0.95));
    let quarter = (runs / 4).max(1);
    println!();
    println!("{:<52} {:>9} {:>9}", "20 `true` steps, wall time", "median", "p95");
    println!("{:<52} {:>7.1}ms {:>7.1}ms", "make -s", m50, m95);
    println!("{:<52} {:>7.1}ms {:>7.1}ms", "baton workflow run --execute", b50, b95);
    println!(
        "{:<52} {:>7.1}ms {:>7.1}ms",
        "  of which the steps' own durations (ledger, Σ)",
        median(&steps_ms),
        quantile(&steps_ms, 0.95)
    );
    println!(
        "{:<52} {:>7.2}ms {:>7.2}ms",
        "engine overhead per step (wall − Σ steps) / 20", o50, o95
    );
    println!(
        "  state: {commits_before} -> {commits_after} commits over the {} runs; baton median of the first {quarter} runs {:.1}ms, of the last {quarter} {:.1}ms",
        WARMUPS + runs,
        median(&baton_ms[..quarter]),
        median(&baton_ms[baton_ms.len() - quarter..])
    );
    println!();
    println!("where baton's time goes (medians, measured separately):");
    let dry = median(&dry_ms);
    let checkpoints = median(&checkpoints_ms);
    let commit = median(&commit_ms);
    let behind = median(&behind_ms);
    let spawn = median(&spawn_ms);
    let runner_spawn = median(&runner_spawn_ms);
    let commits_total = commit * COMMITS_PER_RUN as f64;
    let row = |label: String, value: f64| println!("  {label:<66} {value:>7.1}ms");
    row("process start + definition + policy (dry run)".into(), dry);
    row(
        format!("run of {STEPS} checkpoint steps (no processes; start + {COMMITS_PER_RUN} commits)"),
        checkpoints,
    );
    println!(
        "  {:<66} {:>7.1}ms  ({:.2}ms each, p95 {:.2}ms)",
        format!("{COMMITS_PER_RUN} ledger commits one by one, loose (Store::update)"),
        commits_total,
        commit,
        quantile(&commit_ms, 0.95)
    );
    println!(
        "  {:<66} {:>7.1}ms  (p95 {:.1}ms)",
        format!("{COMMITS_PER_RUN} ledger commits queued at once to the runner's writer"),
        behind,
        quantile(&behind_ms, 0.95)
    );
    row(
        format!("{STEPS} spawns of `true`, plain Command (piped, waited)"),
        spawn,
    );
    row(
        format!("{STEPS} spawns of `true` the runner's way (pgroup + PDEATHSIG, polled)"),
        runner_spawn,
    );
    row(
        "rest: baton − checkpoint run − runner-style spawns (noisy)".into(),
        b50 - checkpoints - runner_spawn,
    );
    let unsynced = median(&unsynced_ms);
    let batch = median(&batch_ms);
    row("the same run without syncing (GIT_TEST_FSYNC=0)".into(), unsynced);
    row("the same run with core.fsyncMethod=batch".into(), batch);
    row(
        "syncing the run's packs: baton − unsynced (noisy)".into(),
        b50 - unsynced,
    );
    println!();
    let long = long_runs(&baton, tmp.path())?;
    println!();
    let ratio_ok = ratio <= RATIO_TARGET;
    let overhead_ok = o50 <= OVERHEAD_TARGET_MS;
    println!(
        "{} ratio baton/make at the median: {ratio:.2}x (target <= {RATIO_TARGET}x)",
        if ratio_ok { "PASS" } else { "FAIL" }
    );
    println!(
        "{} engine overhead per step at p50: {o50:.2}ms (target <= {OVERHEAD_TARGET_MS}ms)",
        if overhead_ok { "PASS" } else { "FAIL" }
    );
    let (seconds, rss_mb) = long;
    let long_ok = seconds <= LONG_TIME_TARGET_S && rss_mb <= LONG_RSS_TARGET_MB;
    println!(
        "{} {} checkpoint steps: {seconds:.2}s (target <= {LONG_TIME_TARGET_S}s), peak RSS {rss_mb:.1} MB (target <= {LONG_RSS_TARGET_MB} MB)",
        if long_ok { "PASS" } else { "FAIL" },
        LONG_RUNS[0]
    );
    println!("load average at end: {}", load_average());
    Ok(())
}

/// Definitions of many checkpoint steps (no `depends_on`: each step's
/// upstream is every step before it), run in a fresh repository each;
/// prints wall time and peak RSS; returns the first size's medians
/// (seconds, MB).
fn long_runs(baton: &Path, root: &Path) -> Res<(f64, f64)> {
    println!("long runs of checkpoint steps (fresh repository each; median of {LONG_REPEATS} runs):");
    let mut first = None;
    for steps in LONG_RUNS {
        let dir = root.join(format!("long-{steps}"));
        std::fs::create_dir_all(dir.join(".baton/workflows")).map_err(|e| e.to_string())?;
        git(&dir, &["init", "-q"])?;
        let mut c = cmd(baton, &dir);
        c.args(["-q", "init"]);
        timed(c, "baton init")?;
        let mut text = String::from("name = \"long\"\n");
        for i in 1..=steps {
            text.push_str(&format!("[[steps]]\nid = \"s{i}\"\n"));
        }
        std::fs::write(dir.join(".baton/workflows/long.toml"), text).map_err(|e| e.to_string())?;
        let mut wall = Vec::new();
        let mut rss = Vec::new();
        for _ in 0..LONG_REPEATS {
            let mut c = cmd(baton, &dir);
            c.args(["-q", "workflow", "run", "long", "--execute"]);
            let (took, peak_kb) = wall_and_peak_rss(c, "baton workflow run long --execute")?;
            wall.push(took.as_secs_f64());
            rss.push(peak_kb as f64 / 1024.0);
        }
        let (w, r) = (median(&wall), median(&rss));
        println!(
            "  {steps:>5} checkpoint steps: {w:>6.2}s wall ({:.2} ms per step), peak RSS {r:>5.1} MB (max {:.1})",
            w * 1000.0 / steps as f64,
            rss.iter().copied().fold(0.0, f64::max)
        );
        first.get_or_insert((w, r));
    }
    first.ok_or_else(|| "no long runs".into())
}

/// Run `c` to completion (it must succeed): its wall time and its peak
/// resident set in KiB. Linux counts in a child's peak what its parent held
/// when it was started (the child shares the parent's memory until it
/// execs), and this process holds much by now; so `c` is started by a
/// fresh copy of this binary (`--measure-child`), which is small, and
/// which reports what `wait4` says of it.
fn wall_and_peak_rss(c: Command, what: &str) -> Res<(Duration, u64)> {
    let mut measure = Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
    measure.arg(MEASURE).arg(c.get_program()).args(c.get_args());
    for (key, value) in c.get_envs() {
        match value {
            Some(value) => measure.env(key, value),
            None => measure.env_remove(key),
        };
    }
    if let Some(dir) = c.get_current_dir() {
        measure.current_dir(dir);
    }
    let out = output(measure, what)?;
    let mut fields = out.split_whitespace().map(str::parse::<u64>);
    match (fields.next(), fields.next()) {
        (Some(Ok(micros)), Some(Ok(kib))) => Ok((Duration::from_micros(micros), kib)),
        _ => Err(format!("{what}: the measuring process printed {out:?}")),
    }
}

/// `--measure-child <program> <args>...`: run it (output discarded, it
/// must succeed) and print its wall time in µs and its peak RSS in KiB.
fn measure_child(command: &[std::ffi::OsString]) -> Res<()> {
    let (program, args) = command.split_first().ok_or("nothing to measure")?;
    let t0 = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {program:?}: {e}"))?;
    let pid = i32::try_from(child.id()).map_err(|e| e.to_string())?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, writing into the two locals.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = t0.elapsed();
    if reaped != pid {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("{program:?} exited with status {status:#x}"));
    }
    println!("{} {}", wall.as_micros(), usage.ru_maxrss);
    Ok(())
}

fn spawn_plain() -> Res<()> {
    let status = Command::new("true")
        .env_remove("LD_LIBRARY_PATH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .status()
        .map_err(|e| format!("true: {e}"))?;
    status.success().then_some(()).ok_or_else(|| "true failed".into())
}

/// One attempt the way `workflow::exec` makes it (called on a worker
/// thread): `baton::os::spawn` (own process group, `PR_SET_PDEATHSIG`,
/// started with `clone(CLONE_VM | CLONE_VFORK)` on Linux), both pipes read
/// on the same thread until they close, then the exit reaped.
fn spawn_like_the_runner() -> Res<()> {
    use std::io::Read;
    let dir = std::env::current_dir().map_err(|e| e.to_string())?;
    let mut child =
        baton::os::spawn::spawn(&["true".to_owned()], &Default::default(), &dir).map_err(|e| format!("true: {e}"))?;
    let mut sink = Vec::new();
    let _ = child.stdout.read_to_end(&mut sink);
    let _ = child.stderr.read_to_end(&mut sink);
    let status = baton::os::spawn::wait(child.pid).map_err(|e| e.to_string())?;
    status.success().then_some(()).ok_or_else(|| "true failed".into())
}

/// The cost of the runner's ledger writes, on a fresh copy of the
/// benchmark's state so the measured repository is not disturbed: `runs`
/// rounds of 22 commits one by one through `Store::update` (loose objects;
/// per commit), and `runs` rounds of 22 commits queued at once to the
/// write-behind writer the runner uses (packed; per round, until all have
/// landed). Each commit puts the run record (as the last measured run left
/// it, with a changing field so every blob is new) at a ledger path.
fn commit_cost(repo: &Path, record: &Value, runs: usize) -> Res<(Vec<f64>, Vec<f64>)> {
    let copy = repo.parent().ok_or("no parent")?.join("commit-cost");
    git(
        repo.parent().ok_or("no parent")?,
        &[
            "clone",
            "-q",
            "--no-local",
            repo.to_str().ok_or("path")?,
            copy.to_str().ok_or("path")?,
        ],
    )?;
    git(&copy, &["fetch", "-q", "origin", "+refs/baton/state:refs/baton/state"])?;
    let store = Store::discover(&copy).map_err(|e| format!("{e:?}"))?;
    let path = "runs/workflow/2026/01/01/wf-20260101T000000Z-bench0.json".to_owned();
    let mut record = record.clone();
    let mut seq = 0u64;
    let mut change = |seq: u64| -> Res<Change> {
        record["bench_seq"] = Value::from(seq);
        let mut change = Change::new(Message::new(format!("workflow: bench step {seq}")));
        change.put_json(path.clone(), &record).map_err(|e| format!("{e:?}"))?;
        Ok(change)
    };
    let mut one_by_one = Vec::with_capacity(runs * COMMITS_PER_RUN);
    let mut queued = Vec::with_capacity(runs);
    for _ in 0..runs {
        for _ in 0..COMMITS_PER_RUN {
            seq += 1;
            let c = change(seq)?;
            let t0 = Instant::now();
            store
                .update(ACTOR, |_| Ok(Update::Write(c.clone(), ())))
                .map_err(|e| format!("commit {seq}: {e:?}"))?;
            one_by_one.push(ms(t0.elapsed()));
        }
        let changes = (0..COMMITS_PER_RUN)
            .map(|_| {
                seq += 1;
                change(seq)
            })
            .collect::<Res<Vec<_>>>()?;
        let t0 = Instant::now();
        // The first lands synchronously, as a run's start does.
        let mut changes = changes.into_iter();
        let first = changes.next().ok_or("no changes")?;
        let (mut writer, ()) = WriteBehind::<()>::start(
            &store,
            ACTOR,
            |_| Ok(Update::Write(first.clone(), ())),
            Default::default(),
        )
        .map_err(|e| format!("{e:?}"))?;
        for c in changes {
            writer.push(c).map_err(|e| format!("{e:?}"))?;
        }
        writer.finish().map_err(|e| format!("{e:?}"))?;
        queued.push(ms(t0.elapsed()));
    }
    Ok((one_by_one, queued))
}
