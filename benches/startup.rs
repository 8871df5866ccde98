//! `cargo bench --bench startup` (`make bench`): what every baton process
//! pays before its work. Runs `git --version` (the baseline), `baton
//! --version`, two reads (`claims status`, `learn pre-command` of a push)
//! and a write (`claims claim`) with the baton under test — and with a
//! baton built before a change (`BATON_BEFORE`) when given — interleaved
//! run by run so load from other processes hits all alike. Prints wall time
//! (median, p95, minimum), minor page faults per process, the binaries'
//! sizes and, when valgrind is installed, each cell's instruction count
//! (callgrind, one run: it does not depend on the load).
//!
//! Targets: issue 20, `baton --version` p50 no slower than `git --version`;
//! issue 22, with `BATON_BEFORE`, p50 within 5% of before a dependency. A
//! report: exits 0 unless the harness itself fails. See
//! docs/performance.md, "Process start" and "MCP dependency".
//!
//! Environment:
//! - `BATON_BEFORE`: a baton binary to compare with (optional).
//! - `BATON_BIN`: the baton under test (default: the release binary cargo built).
//! - `BATON_BENCH_RUNS`: measured rounds (default 60; 5 warmups come first).
//! - `BATON_BENCH_CALLGRIND=0`: skip the instruction counts.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/mod.rs"]
mod support;
use support::{baton_bin, command, env_number, load_average, ms, output, Res, Stats};

const WARMUPS: usize = 5;
const ACTOR: &str = "agent:bench";

/// The measured commands: a label and baton's arguments (`None`: `git
/// --version`, the baseline). `{round}` is replaced by the round number.
const CELLS: &[(&str, Option<&[&str]>)] = &[
    ("git --version", None),
    ("baton --version", Some(&["--version"])),
    ("baton claims status", Some(&["claims", "status"])),
    (
        "baton learn pre-command",
        Some(&["learn", "pre-command", "--command", "git push origin main"]),
    ),
    ("baton claims claim", Some(&["-q", "claims", "claim", "S-{round}"])),
];

fn main() {
    if let Err(e) = run() {
        eprintln!("bench harness failed: {e}");
        std::process::exit(2);
    }
}

/// One cell's samples for one binary.
#[derive(Default, Clone)]
struct Samples {
    wall: Vec<Duration>,
    faults: Vec<i64>,
}

/// Minor page faults of the children waited for so far.
fn child_faults() -> i64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_minflt
}

/// Run to completion, which must succeed: wall time and minor page faults.
fn measured(mut c: Command, what: &str) -> Res<(Duration, i64)> {
    c.stdin(Stdio::null());
    let faults = child_faults();
    let t = Instant::now();
    let out = c.output().map_err(|e| format!("{what}: {e}"))?;
    let took = t.elapsed();
    if !out.status.success() {
        return Err(format!("{what} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok((took, child_faults() - faults))
}

/// The command of a cell: `git --version`, or `bin` with the cell's arguments.
fn cell_command(bin: &Path, dir: &Path, args: Option<&[&str]>, round: usize) -> Command {
    let Some(args) = args else {
        let mut c = command(Path::new("git"), dir);
        c.arg("--version");
        return c;
    };
    let mut c = command(bin, dir);
    c.env("BATON_ACTOR", ACTOR);
    c.args(args.iter().map(|a| a.replace("{round}", &round.to_string())));
    c
}

/// A repository with `baton init` done by `bin`.
fn repository(bin: &Path, root: &Path, name: &str) -> Res<PathBuf> {
    let repo = root.join(name);
    std::fs::create_dir(&repo).map_err(|e| e.to_string())?;
    let mut git = command(Path::new("git"), &repo);
    git.args(["init", "-q"]);
    output(git, "git init")?;
    let mut init = command(bin, &repo);
    init.env("BATON_ACTOR", ACTOR).args(["-q", "init"]);
    output(init, "baton init")?;
    Ok(repo)
}

/// Instructions of one run under callgrind, or `None` without valgrind.
fn instructions(c: Command) -> Option<u64> {
    let program = c.get_program().to_owned();
    let args: Vec<_> = c.get_args().map(|a| a.to_owned()).collect();
    let mut vg = Command::new("valgrind");
    vg.args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(program)
        .args(args);
    if let Some(dir) = c.get_current_dir() {
        vg.current_dir(dir);
    }
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => vg.env(k, v),
            None => vg.env_remove(k),
        };
    }
    let out = vg.stdin(Stdio::null()).output().ok()?;
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err.lines().find(|l| l.contains("Collected :"))?;
    line.rsplit(' ').next()?.trim().parse().ok()
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

fn run() -> Res<()> {
    let after = baton_bin()?;
    let mut bins = vec![("after", after)];
    if let Some(before) = std::env::var_os("BATON_BEFORE").map(PathBuf::from) {
        let before = before
            .canonicalize()
            .map_err(|e| format!("{}: {e}", before.display()))?;
        bins.insert(0, ("before", before));
    }
    let runs = env_number("BATON_BENCH_RUNS", 60)?;
    let root = tempfile::Builder::new()
        .prefix("baton-bench-startup-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .map_err(|e| e.to_string())?;
    let mut repos = Vec::new();
    for (name, bin) in &bins {
        repos.push(repository(bin, root.path(), name)?);
    }
    println!("startup benchmark: what every baton process pays, beside git --version");
    for (name, bin) in &bins {
        let size = std::fs::metadata(bin).map_err(|e| e.to_string())?.len();
        println!("  {name:<6} {} ({:.2} MB)", bin.display(), size as f64 / 1e6);
    }
    println!(
        "  {WARMUPS} warmups + {runs} measured rounds, interleaved; load average at start: {}",
        load_average()
    );
    // samples[binary][cell]; `git --version` is measured beside each binary.
    let mut samples = vec![vec![Samples::default(); CELLS.len()]; bins.len()];
    for round in 0..WARMUPS + runs {
        // Alternate the order, so no binary always follows the other.
        let order: Vec<usize> = if round % 2 == 0 {
            (0..bins.len()).collect()
        } else {
            (0..bins.len()).rev().collect()
        };
        for &b in &order {
            for (c, (label, args)) in CELLS.iter().enumerate() {
                let cmd = cell_command(&bins[b].1, &repos[b], *args, round);
                let (wall, faults) = measured(cmd, label)?;
                if round >= WARMUPS {
                    samples[b][c].wall.push(wall);
                    samples[b][c].faults.push(faults);
                }
            }
        }
    }
    let callgrind = std::env::var("BATON_BENCH_CALLGRIND").map_or(true, |v| v != "0");
    let median = |v: &[i64]| {
        let mut v = v.to_vec();
        v.sort();
        v[v.len() / 2]
    };
    println!();
    println!(
        "{:<8} {:<24} {:>9} {:>9} {:>9} {:>7} {:>13}",
        "binary", "command", "p50 ms", "p95 ms", "min ms", "faults", "instructions"
    );
    for (b, (name, bin)) in bins.iter().enumerate() {
        for (c, (label, args)) in CELLS.iter().enumerate() {
            let s = Stats::of(&samples[b][c].wall);
            let ir = if callgrind {
                instructions(cell_command(bin, &repos[b], *args, WARMUPS + runs))
            } else {
                None
            };
            println!(
                "{name:<8} {label:<24} {:>9.2} {:>9.2} {:>9.2} {:>7} {:>13}",
                ms(s.p50),
                ms(s.p95),
                ms(s.min),
                median(&samples[b][c].faults),
                ir.map(thousands).unwrap_or_else(|| "-".into()),
            );
        }
    }
    println!();
    println!("targets");
    let p50 = |b: usize, c: usize| ms(Stats::of(&samples[b][c].wall).p50);
    let last = bins.len() - 1;
    let (version, git) = (p50(last, 1), p50(last, 0));
    println!(
        "  {}  baton --version p50 <= git --version p50: {version:.2} ms against {git:.2} ms ({:.2}x)",
        if version <= git { "PASS" } else { "FAIL" },
        version / git
    );
    if bins.len() == 2 {
        for (c, (label, args)) in CELLS.iter().enumerate() {
            if args.is_none() {
                continue;
            }
            let ratio = p50(1, c) / p50(0, c);
            println!(
                "  {}  {label} p50 after / before <= 1.05: {ratio:.3}",
                if ratio <= 1.05 { "PASS" } else { "FAIL" }
            );
        }
    }
    println!();
    println!("load average at end: {}", load_average());
    Ok(())
}
