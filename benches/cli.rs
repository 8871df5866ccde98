//! `cargo bench --bench cli` (`make bench`): wall time per invocation of the
//! release `baton` binary at 0, 100, 10 000 and 100 000 existing claims, side
//! by side with the git-plumbing baseline script doing the same claim on a
//! repository with the same claims, and `baton --version` beside
//! `git --version`. Prints a table and PASS/FAIL per target; it is a
//! report, so it exits 0 unless the harness itself fails. See
//! docs/performance.md.
//!
//! Environment:
//! - `BATON_BIN`: the baton binary (default: the one cargo built for this bench,
//!   `target/release/baton`).
//! - `BATON_BASELINE`: the baseline script (default
//!   `../shared/bench/git-plumbing-claim.sh` relative to the package).
//! - `BATON_BENCH_RUNS`: measured runs per cell (default 40; 3 warmups come first).
//! - `BATON_BENCH_SIZES`: comma-separated claim counts (default `0,100,10000,100000`).
//! - `BATON_BENCH_DIR`: where the repositories are created (default: cargo's
//!   `target/tmp`); the filesystem and its recent churn matter for the
//!   commands that create files (the claims).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/mod.rs"]
mod support;
use support::{command, fast_import, load_average, ms, output, timed, Res, Stats};

const WARMUPS: usize = 3;
const DEFAULT_RUNS: usize = 40;
const DEFAULT_SIZES: &[usize] = &[0, 100, 10_000, 100_000];
const ACTOR: &str = "agent:bench";
/// The claim every read command looks at (added to the reads copy, see `prepare_reads`).
const PROBE: &str = "probe-0";

fn main() {
    if let Err(e) = run() {
        eprintln!("bench harness failed: {e}");
        std::process::exit(2);
    }
}

/// Everything needed to run commands: the binaries and a clean environment.
struct Env {
    baton: PathBuf,
    baseline: PathBuf,
}

impl Env {
    fn cmd(&self, program: &Path, dir: &Path) -> Command {
        let mut c = command(program, dir);
        c.env("BATON_ACTOR", ACTOR);
        c
    }

    fn git(&self, dir: &Path, args: &[&str]) -> Res<String> {
        let mut c = self.cmd(Path::new("git"), dir);
        c.args(args);
        output(c, &format!("git {}", args.join(" ")))
    }

    fn baton(&self, dir: &Path, args: &[&str]) -> Res<String> {
        let mut c = self.cmd(&self.baton, dir);
        c.args(args);
        output(c, &format!("baton {}", args.join(" ")))
    }
}

fn run() -> Res<()> {
    let baton = std::env::var_os("BATON_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_baton")));
    let baseline = std::env::var_os("BATON_BASELINE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/git-plumbing-claim.sh"));
    for p in [&baton, &baseline] {
        if !p.is_file() {
            return Err(format!("{} does not exist", p.display()));
        }
    }
    let baton = baton.canonicalize().map_err(|e| e.to_string())?;
    let baseline = baseline.canonicalize().map_err(|e| e.to_string())?;
    let runs = match std::env::var("BATON_BENCH_RUNS") {
        Ok(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or("BATON_BENCH_RUNS must be a positive number")?,
        Err(_) => DEFAULT_RUNS,
    };
    let sizes: Vec<usize> = match std::env::var("BATON_BENCH_SIZES") {
        Ok(v) => v
            .split(',')
            .map(|s| s.trim().parse::<usize>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("BATON_BENCH_SIZES: {e}"))?,
        Err(_) => DEFAULT_SIZES.to_vec(),
    };

    let env = Env { baton, baseline };

    let version = env.baton(Path::new("."), &["--version"])?;
    let git_version = env.git(Path::new("."), &["--version"])?;
    println!("baton benchmark");
    println!("  baton:    {} ({})", env.baton.display(), version.trim());
    println!("  baseline: {}", env.baseline.display());
    println!("  {}", git_version.trim());
    println!(
        "  {} cores; {WARMUPS} warmups + {runs} measured runs per cell; wall time per process",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // Cargo's scratch dir for benches (`target/tmp`) rather than the system
    // temp dir: on a shared machine `/tmp` sees heavy file churn from other
    // test suites, and ext4 then spends milliseconds per file creation
    // skipping recently freed inodes (see docs/performance.md).
    let work_root = std::env::var_os("BATON_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    std::fs::create_dir_all(&work_root).map_err(|e| format!("creating {}: {e}", work_root.display()))?;
    println!("  repositories under {}", work_root.display());
    println!("  load average at start: {}", load_average());
    println!();

    let started = Instant::now();
    // Kept until the end: deleting thousands of files between sizes would
    // make the next size's file creation slower on some filesystems (ext4
    // skips recently freed inodes), which is not what is being measured.
    let mut dirs = Vec::new();
    let mut sets = Vec::new();
    for &n in &sizes {
        let tmp = tempfile::Builder::new()
            .prefix("baton-bench-")
            .tempdir_in(&work_root)
            .map_err(|e| format!("temp dir in {}: {e}", work_root.display()))?;
        let t = Instant::now();
        let prepared = prepare(&env, tmp.path(), n)?;
        eprintln!(
            "[{n} claims] prepared in {:.1}s ({})",
            t.elapsed().as_secs_f64(),
            describe_repo(&env, &prepared)?
        );
        sets.push(Set::new(&env, tmp.path(), &prepared, n, runs)?);
        dirs.push(tmp);
    }
    // Round-robin: every round runs each cell of each size once, so a burst
    // of load from other processes hits all cells alike instead of whichever
    // happened to be running.
    let t = Instant::now();
    for round in 0..WARMUPS + runs {
        for set in &mut sets {
            set.round(&env, round)?;
        }
    }
    eprintln!(
        "measured {} rounds in {:.1}s",
        WARMUPS + runs,
        t.elapsed().as_secs_f64()
    );
    let mut results = Vec::new();
    for set in &sets {
        results.push(set.finish(&env)?);
    }
    eprintln!("total {:.1}s", started.elapsed().as_secs_f64());
    report(&results);
    println!();
    println!("load average at end: {}", load_average());
    drop(dirs);
    Ok(())
}

/// A repository with `baton init` plus `n` claims in one fast-import commit, packed.
fn prepare(env: &Env, root: &Path, n: usize) -> Res<PathBuf> {
    let repo = root.join("prepared");
    std::fs::create_dir(&repo).map_err(|e| e.to_string())?;
    env.git(&repo, &["init", "-q"])?;
    env.baton(&repo, &["-q", "init"])?;
    if n > 0 {
        seed(env, &repo, n)?;
    }
    // Packed, as a long-lived repository is after `git gc`.
    env.git(&repo, &["gc", "-q", "--prune=now"])?;

    // Check that baton reads the generated files as its own.
    let listed = env.baton(&repo, &["--json", "claims", "list"])?;
    let doc: serde_json::Value = serde_json::from_str(&listed).map_err(|e| format!("claims list --json: {e}"))?;
    let count = doc["claims"].as_array().map_or(0, Vec::len);
    if count != n {
        return Err(format!(
            "baton lists {count} claims after seeding {n}: the layout is off"
        ));
    }
    if n > 0 {
        let status = env.baton(&repo, &["--json", "claims", "status", &seed_id(n - 1)])?;
        let doc: serde_json::Value = serde_json::from_str(&status).map_err(|e| format!("claims status --json: {e}"))?;
        if !status.contains(&seed_id(n - 1)) || !status.contains("active") {
            return Err(format!("unexpected status of a seeded claim: {doc}"));
        }
    }
    Ok(repo)
}

fn seed_id(i: usize) -> String {
    format!("seed-{i:05}")
}

/// `claims/<first 2 hex of sha1(id)>/<id>.toml`, as baton lays claims out.
fn claim_path(id: &str) -> String {
    let digest = baton::codec::sha1_hex(id);
    format!("claims/{}/{id}.toml", &digest[..2])
}

/// Exactly the fields and order `baton claims claim` writes.
fn claim_toml(id: &str, now: &str) -> String {
    format!(
        "schema = 1\nid = \"{id}\"\nstate = \"active\"\nowner = \"{ACTOR}\"\ngeneration = 1\n\
         created_at = \"{now}\"\nupdated_at = \"{now}\"\n"
    )
}

/// One commit on top of the init commit adding `n` claim files, via `git fast-import`.
fn seed(env: &Env, repo: &Path, n: usize) -> Res<()> {
    let parent = env.git(repo, &["rev-parse", "refs/baton/state^{commit}"])?;
    let now = chrono::Utc::now();
    let stamp = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let secs = now.timestamp();
    let message = format!("bench: seed {n} claims\n\nBaton-Op: bench.seed\nBaton-Actor: {ACTOR}\n");
    let mut stream = Vec::with_capacity(n * 256);
    write!(
        stream,
        "commit refs/baton/state\nauthor {ACTOR} <bench@localhost> {secs} +0000\n\
         committer bench <bench@localhost> {secs} +0000\ndata {}\n{message}from {}\n",
        message.len(),
        parent.trim()
    )
    .map_err(|e| e.to_string())?;
    for i in 0..n {
        let id = seed_id(i);
        let body = claim_toml(&id, &stamp);
        write!(
            stream,
            "M 100644 inline {}\ndata {}\n{body}\n",
            claim_path(&id),
            body.len()
        )
        .map_err(|e| e.to_string())?;
    }
    stream.extend_from_slice(b"done\n");

    fast_import(env.cmd(Path::new("git"), repo), &stream)
}

fn describe_repo(env: &Env, repo: &Path) -> Res<String> {
    let counts = env.git(repo, &["count-objects", "-v"])?;
    let field = |k: &str| {
        counts
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    Ok(format!(
        "{} loose objects, {} packed in {} pack(s), {} KiB",
        field("count:"),
        field("in-pack:"),
        field("packs:"),
        field("size-pack:")
    ))
}

/// Measured cells.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cell {
    BatonClaim,
    BaselineClaim,
    Status,
    List,
    JsonList,
    DoctorHook,
    /// Process start: `baton --version` beside `git --version`.
    Version,
    GitVersion,
}

impl Cell {
    const ALL: [Cell; 8] = [
        Cell::BatonClaim,
        Cell::BaselineClaim,
        Cell::Status,
        Cell::List,
        Cell::JsonList,
        Cell::DoctorHook,
        Cell::Version,
        Cell::GitVersion,
    ];

    fn label(self) -> &'static str {
        match self {
            Cell::BatonClaim => "baton claims claim <new>",
            Cell::BaselineClaim => "baseline git-plumbing claim",
            Cell::Status => "baton claims status <id>",
            Cell::List => "baton claims list",
            Cell::JsonList => "baton --json claims list",
            Cell::DoctorHook => "baton doctor --hook",
            Cell::Version => "baton --version",
            Cell::GitVersion => "git --version",
        }
    }
}

struct SizeResult {
    n: usize,
    cells: Vec<(Cell, Stats)>,
}

impl SizeResult {
    fn p50(&self, cell: Cell) -> Option<Duration> {
        self.cells.iter().find(|(c, _)| *c == cell).map(|(_, s)| s.p50)
    }
}

fn copy_repo(from: &Path, to: &Path) -> Res<()> {
    let st = Command::new("cp")
        .arg("-r")
        .arg(from)
        .arg(to)
        .status()
        .map_err(|e| format!("cp -r: {e}"))?;
    if !st.success() {
        return Err(format!("cp -r {} {}: {st}", from.display(), to.display()));
    }
    Ok(())
}

/// The repositories of one size and the samples taken on them.
struct Set {
    n: usize,
    /// `baton claims claim` runs here.
    baton_repo: PathBuf,
    /// The baseline script claims here.
    baseline_repo: PathBuf,
    /// Read commands run here.
    reads_repo: PathBuf,
    samples: Vec<(Cell, Vec<Duration>)>,
}

impl Set {
    /// Separate copies of the prepared repository, so the tools do not affect
    /// each other's repository.
    fn new(env: &Env, root: &Path, prepared: &Path, n: usize, runs: usize) -> Res<Set> {
        let set = Set {
            n,
            baton_repo: root.join("baton"),
            baseline_repo: root.join("baseline"),
            reads_repo: root.join("reads"),
            samples: Cell::ALL.iter().map(|c| (*c, Vec::with_capacity(runs))).collect(),
        };
        for r in [&set.baton_repo, &set.baseline_repo, &set.reads_repo] {
            copy_repo(prepared, r)?;
        }
        // One claim (the probe) added by baton, so `status` looks at an
        // existing claim at every size, including 0.
        env.baton(&set.reads_repo, &["-q", "claims", "claim", PROBE])?;
        Ok(set)
    }

    /// Run every cell once; keep the timings after the warmup rounds.
    fn round(&mut self, env: &Env, round: usize) -> Res<()> {
        let n = self.n;
        for cell in Cell::ALL {
            let c = match cell {
                Cell::BatonClaim => {
                    let mut c = env.cmd(&env.baton, &self.baton_repo);
                    c.args(["claims", "claim", &format!("new-{n}-b-{round}")]);
                    c
                }
                Cell::BaselineClaim => {
                    let mut c = env.cmd(&env.baseline, &self.baseline_repo);
                    c.args([format!("new-{n}-g-{round}").as_str(), ACTOR]);
                    c
                }
                Cell::Status => {
                    let mut c = env.cmd(&env.baton, &self.reads_repo);
                    c.args(["claims", "status", PROBE]);
                    c
                }
                Cell::List => {
                    let mut c = env.cmd(&env.baton, &self.reads_repo);
                    c.args(["claims", "list"]);
                    c
                }
                Cell::JsonList => {
                    let mut c = env.cmd(&env.baton, &self.reads_repo);
                    c.args(["--json", "claims", "list"]);
                    c
                }
                Cell::DoctorHook => {
                    let mut c = env.cmd(&env.baton, &self.reads_repo);
                    c.args(["doctor", "--hook"]);
                    c
                }
                Cell::Version => {
                    let mut c = env.cmd(&env.baton, &self.reads_repo);
                    c.arg("--version");
                    c
                }
                Cell::GitVersion => {
                    let mut c = env.cmd(Path::new("git"), &self.reads_repo);
                    c.arg("--version");
                    c
                }
            };
            let (_, t) = timed(c, &format!("{} at {n} claims", cell.label()))?;
            if round >= WARMUPS {
                if let Some((_, s)) = self.samples.iter_mut().find(|(c, _)| *c == cell) {
                    s.push(t);
                }
            }
        }
        Ok(())
    }

    /// Check that both tools landed every claim, then summarize.
    fn finish(&self, env: &Env) -> Res<SizeResult> {
        let n = self.n;
        let rounds = self.samples.first().map_or(0, |(_, s)| s.len()) + WARMUPS;
        for (repo, tag) in [(&self.baton_repo, "b"), (&self.baseline_repo, "g")] {
            let listed = env.baton(repo, &["--json", "claims", "list"])?;
            let doc: serde_json::Value = serde_json::from_str(&listed).map_err(|e| e.to_string())?;
            let claims = doc["claims"].as_array().cloned().unwrap_or_default();
            let new = claims
                .iter()
                .filter(|c| {
                    c["state"] == "active"
                        && c["id"]
                            .as_str()
                            .is_some_and(|id| id.starts_with(&format!("new-{n}-{tag}-")))
                })
                .count();
            if claims.len() != n + rounds || new != rounds {
                return Err(format!(
                    "{} has {} claims ({new} new and active), expected {} ({rounds} new)",
                    repo.display(),
                    claims.len(),
                    n + rounds
                ));
            }
        }
        Ok(SizeResult {
            n,
            cells: self.samples.iter().map(|(c, s)| (*c, Stats::of(s))).collect(),
        })
    }
}

fn report(results: &[SizeResult]) {
    println!();
    println!("wall time per invocation, milliseconds (p50 / p95, min)");
    print!("{:<30}", "command");
    for r in results {
        print!(" | {:>22}", format!("{} claims", r.n));
    }
    println!();
    print!("{:-<30}", "");
    for _ in results {
        print!("-+-{:-<22}", "");
    }
    println!();
    for cell in Cell::ALL {
        print!("{:<30}", cell.label());
        for r in results {
            match r.cells.iter().find(|(c, _)| *c == cell) {
                Some((_, s)) => print!(
                    " | {:>22}",
                    format!("{:.1} / {:.1} ({:.1})", ms(s.p50), ms(s.p95), ms(s.min))
                ),
                None => print!(" | {:>22}", "-"),
            }
        }
        println!();
    }
    println!();

    println!("ratios");
    for r in results {
        if let (Some(b), Some(g)) = (r.p50(Cell::BatonClaim), r.p50(Cell::BaselineClaim)) {
            println!(
                "  baseline claim p50 / baton claim p50 at {:>6} claims: {:>6.1}x",
                r.n,
                g.as_secs_f64() / b.as_secs_f64()
            );
        }
    }
    println!();

    println!("targets");
    let at = |n: usize| results.iter().find(|r| r.n == n);
    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    let line = |name: &str, value: Option<String>, ok: Option<bool>| match (value, ok) {
        (Some(v), Some(ok)) => println!("  {:<4}  {name}: {v}", verdict(ok)),
        _ => println!("  SKIP  {name}: size not measured"),
    };
    let speedup = at(10_000)
        .and_then(|r| Some(r.p50(Cell::BaselineClaim)?.as_secs_f64() / r.p50(Cell::BatonClaim)?.as_secs_f64()));
    line(
        "baseline/baton claim p50 at 10k >= 10x",
        speedup.map(|x| format!("{x:.1}x")),
        speedup.map(|x| x >= 10.0),
    );
    let growth = match (at(10_000), at(0)) {
        (Some(big), Some(empty)) => Some(
            big.p50(Cell::BatonClaim).unwrap_or_default().as_secs_f64()
                / empty.p50(Cell::BatonClaim).unwrap_or_default().as_secs_f64(),
        ),
        _ => None,
    };
    line(
        "baton claim p50 at 10k / at 0 <= 2x",
        growth.map(|x| format!("{x:.2}x")),
        growth.map(|x| x <= 2.0),
    );
    let list = at(10_000).and_then(|r| r.p50(Cell::List));
    line(
        "claims list p50 at 10k <= 100 ms",
        list.map(|d| format!("{:.1} ms", ms(d))),
        list.map(|d| ms(d) <= 100.0),
    );
    let hook = at(10_000).and_then(|r| r.p50(Cell::DoctorHook));
    line(
        "doctor --hook p50 at 10k <= 50 ms",
        hook.map(|d| format!("{:.1} ms", ms(d))),
        hook.map(|d| ms(d) <= 50.0),
    );
    // Issue 20: listing grows far slower than the claims; the hot paths stay flat.
    let ratio = |cell: Cell, big: usize, small: usize| {
        Some(at(big)?.p50(cell)?.as_secs_f64() / at(small)?.p50(cell)?.as_secs_f64())
    };
    for (big, limit) in [(10_000, 4.0), (100_000, 40.0)] {
        let r = ratio(Cell::JsonList, big, 100);
        line(
            &format!("--json claims list p50 at {}k / at 100 <= {limit}x", big / 1000),
            r.map(|x| format!("{x:.2}x")),
            r.map(|x| x <= limit),
        );
    }
    for cell in [Cell::BatonClaim, Cell::Status, Cell::DoctorHook] {
        let r = ratio(cell, 100_000, 0);
        line(
            &format!("{} p50 at 100k / at 0 <= 1.5x", cell.label()),
            r.map(|x| format!("{x:.2}x")),
            r.map(|x| x <= 1.5),
        );
    }
    // Process start, pooled over every size (each round runs both once).
    let pooled = |cell: Cell| {
        let mut all: Vec<Duration> = results
            .iter()
            .flat_map(|r| r.cells.iter().filter(|(c, _)| *c == cell).map(|(_, s)| s.p50))
            .collect();
        all.sort();
        all.get(all.len() / 2).copied()
    };
    let start = pooled(Cell::Version).zip(pooled(Cell::GitVersion));
    line(
        "baton --version p50 <= git --version p50 (median over sizes)",
        start.map(|(b, g)| format!("{:.2} ms against {:.2} ms", ms(b), ms(g))),
        start.map(|(b, g)| b <= g),
    );
}
