//! `cargo bench --bench startup` (`make bench`): what a dependency costs every
//! other command. Runs `baton --version` and `baton claims claim` with the
//! baton under test and with a baton built before the change
//! (`BATON_BEFORE`), interleaved run by run so load from other processes
//! hits both alike, and prints wall time (median, p95), minor page faults
//! per process and the binaries' sizes, with the ratio after/before.
//! Target (issue 22): p50 within 5% of before the MCP dependency. A report:
//! exits 0 unless the harness itself fails; without `BATON_BEFORE` it says
//! so and measures nothing. See docs/performance.md, "MCP dependency".
//!
//! Environment:
//! - `BATON_BEFORE`: the baton binary to compare with (required to measure).
//! - `BATON_BIN`: the baton under test (default: the release binary cargo built).
//! - `BATON_BENCH_RUNS`: measured rounds (default 60; 5 warmups come first).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/mod.rs"]
mod support;
use support::{baton_bin, command, env_number, load_average, ms, output, Res, Stats};

const WARMUPS: usize = 5;
const ACTOR: &str = "agent:bench";

fn main() {
    if let Err(e) = run() {
        eprintln!("bench harness failed: {e}");
        std::process::exit(2);
    }
}

/// One binary's samples.
#[derive(Default)]
struct Samples {
    version: Vec<Duration>,
    version_faults: Vec<i64>,
    claim: Vec<Duration>,
    claim_faults: Vec<i64>,
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
    let faults = child_faults();
    let t = Instant::now();
    let out = c.output().map_err(|e| format!("{what}: {e}"))?;
    let took = t.elapsed();
    if !out.status.success() {
        return Err(format!("{what} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok((took, child_faults() - faults))
}

fn baton(bin: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut c = command(bin, dir);
    c.env("BATON_ACTOR", ACTOR).args(args);
    c
}

/// A repository with `baton init` done by `bin`.
fn repository(bin: &Path, root: &Path, name: &str) -> Res<PathBuf> {
    let repo = root.join(name);
    std::fs::create_dir(&repo).map_err(|e| e.to_string())?;
    let mut git = command(Path::new("git"), &repo);
    git.args(["init", "-q"]);
    output(git, "git init")?;
    output(baton(bin, &repo, &["-q", "init"]), "baton init")?;
    Ok(repo)
}

fn run() -> Res<()> {
    let Some(before) = std::env::var_os("BATON_BEFORE").map(PathBuf::from) else {
        println!("startup benchmark: skipped, set BATON_BEFORE to a baton built before the change to compare with");
        return Ok(());
    };
    let before = before
        .canonicalize()
        .map_err(|e| format!("{}: {e}", before.display()))?;
    let after = baton_bin()?;
    let runs = env_number("BATON_BENCH_RUNS", 60)?;
    let root = tempfile::Builder::new()
        .prefix("baton-bench-startup-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .map_err(|e| e.to_string())?;
    let bins = [("before", before), ("after", after)];
    let repos = [
        repository(&bins[0].1, root.path(), "before")?,
        repository(&bins[1].1, root.path(), "after")?,
    ];
    println!("startup benchmark: baton --version and claims claim, before and after");
    for (name, bin) in &bins {
        let size = std::fs::metadata(bin).map_err(|e| e.to_string())?.len();
        println!("  {name:<6} {} ({:.2} MB)", bin.display(), size as f64 / 1e6);
    }
    println!(
        "  {WARMUPS} warmups + {runs} measured rounds, interleaved; load average at start: {}",
        load_average()
    );
    let mut samples: [Samples; 2] = Default::default();
    for round in 0..WARMUPS + runs {
        // Alternate which binary goes first, so neither always follows the other.
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for &i in &order {
            let (bin, repo) = (&bins[i].1, &repos[i]);
            let (t_version, f_version) = measured(baton(bin, repo, &["--version"]), "baton --version")?;
            let id = format!("S-{round}");
            let (t_claim, f_claim) = measured(baton(bin, repo, &["-q", "claims", "claim", &id]), "baton claims claim")?;
            if round >= WARMUPS {
                let s = &mut samples[i];
                s.version.push(t_version);
                s.version_faults.push(f_version);
                s.claim.push(t_claim);
                s.claim_faults.push(f_claim);
            }
        }
    }
    println!();
    println!(
        "{:<22} {:>10} {:>10} {:>8} {:>10} {:>10} {:>12} {:>12}  target",
        "command", "p50 before", "p50 after", "ratio", "p95 before", "p95 after", "faults before", "faults after"
    );
    let median = |v: &[i64]| {
        let mut v = v.to_vec();
        v.sort();
        v[v.len() / 2]
    };
    let rows = [
        (
            "baton --version",
            &samples[0].version,
            &samples[1].version,
            &samples[0].version_faults,
            &samples[1].version_faults,
        ),
        (
            "baton claims claim",
            &samples[0].claim,
            &samples[1].claim,
            &samples[0].claim_faults,
            &samples[1].claim_faults,
        ),
    ];
    for (name, b, a, fb, fa) in rows {
        let (b, a) = (Stats::of(b), Stats::of(a));
        let ratio = ms(a.p50) / ms(b.p50);
        println!(
            "{name:<22} {:>8.2}ms {:>8.2}ms {:>8.3} {:>8.2}ms {:>8.2}ms {:>12} {:>12}  {} (p50 within 5%)",
            ms(b.p50),
            ms(a.p50),
            ratio,
            ms(b.p95),
            ms(a.p95),
            median(fb),
            median(fa),
            if ratio <= 1.05 { "PASS" } else { "FAIL" }
        );
    }
    println!();
    println!("load average at end: {}", load_average());
    Ok(())
}
