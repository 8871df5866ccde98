//! `cargo bench --bench delivery` (`make bench`): what a delivery adds to a
//! workflow run. In one repository and one loop, alternating: `baton
//! workflow run one --execute` and `baton delivery start --issue D-<n>
//! --workflow one --execute` of the same one-step `true` definition (release
//! binary). The delivery overhead is the difference of the medians (target
//! ≤ 8 ms at p50); both medians and p95s are printed side by side. Prints
//! PASS/FAIL; a report, so it exits 0 unless the harness itself fails. See
//! docs/performance.md, "Delivery".
//!
//! Environment: `BATON_BIN` (default: the release binary cargo built),
//! `BATON_DL_BENCH_RUNS` (measured pairs, default 30, after 3 warmups),
//! `BATON_BENCH_DIR` (where the repository goes), `BATON_BASELINE_BIN`
//! (another build, e.g. of the commit before a change: measured in the same
//! loop, each binary in a repository of its own, so a busy machine slows
//! both alike and the two overheads compare).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[path = "support/mod.rs"]
mod support;
use support::{baton_bin, command, env_number, load_average, ms, timed, Res, Stats};

const WARMUPS: usize = 3;
const DEFAULT_RUNS: usize = 30;
const OVERHEAD_TARGET_MS: f64 = 8.0;
const ACTOR: &str = "agent:bench";

fn main() {
    if let Err(e) = run() {
        eprintln!("bench harness failed: {e}");
        std::process::exit(2);
    }
}

fn cmd(program: &Path, dir: &Path) -> Command {
    let mut c = command(program, dir);
    c.env("BATON_ACTOR", ACTOR).env_remove("LD_LIBRARY_PATH");
    c
}

fn baton(bin: &Path, dir: &Path, args: &[&str]) -> Res<Duration> {
    let mut c = cmd(bin, dir);
    c.arg("-q").args(args);
    timed(c, &format!("baton {}", args.join(" "))).map(|(_, wall)| wall)
}

/// One binary's repository, with the one-step workflow defined.
fn setup(bin: &Path, root: &Path, name: &str) -> Res<std::path::PathBuf> {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut c = cmd(Path::new("git"), &dir);
    c.args(["init", "-q"]);
    timed(c, "git init")?;
    baton(bin, &dir, &["init"])?;
    std::fs::create_dir_all(dir.join(".baton/workflows")).map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join(".baton/workflows/one.toml"),
        "name = \"one\"\n[[steps]]\nid = \"only\"\nrun = [\"true\"]\n",
    )
    .map_err(|e| e.to_string())?;
    Ok(dir)
}

/// The workflow run and the delivery of one binary, measured.
#[derive(Default)]
struct Pair {
    workflow: Vec<Duration>,
    delivery: Vec<Duration>,
}

impl Pair {
    fn measure(&mut self, bin: &Path, dir: &Path, n: usize) -> Res<()> {
        let issue = format!("D-{n}");
        let w = baton(bin, dir, &["workflow", "run", "one", "--execute"])?;
        let d = baton(
            bin,
            dir,
            &["delivery", "start", "--issue", &issue, "--workflow", "one", "--execute"],
        )?;
        if n >= WARMUPS {
            self.workflow.push(w);
            self.delivery.push(d);
        }
        Ok(())
    }

    /// Print both rows and the overhead; returns the overhead in ms.
    fn report(&self, label: &str) -> f64 {
        let (w, d) = (Stats::of(&self.workflow), Stats::of(&self.delivery));
        println!(
            "{:<46} {:>9.2} {:>9.2}",
            format!("{label}baton workflow run one --execute"),
            ms(w.p50),
            ms(w.p95)
        );
        println!(
            "{:<46} {:>9.2} {:>9.2}",
            format!("{label}baton delivery start --workflow one --execute"),
            ms(d.p50),
            ms(d.p95)
        );
        ms(d.p50) - ms(w.p50)
    }
}

fn run() -> Res<()> {
    let bin = baton_bin()?;
    let baseline = std::env::var_os("BATON_BASELINE_BIN").map(std::path::PathBuf::from);
    let runs = env_number("BATON_DL_BENCH_RUNS", DEFAULT_RUNS)?;
    let root = match std::env::var_os("BATON_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d),
        None => tempfile::tempdir(),
    }
    .map_err(|e| e.to_string())?;
    let dir = setup(&bin, root.path(), "this")?;
    let base_dir = match &baseline {
        Some(b) => Some(setup(b, root.path(), "baseline")?),
        None => None,
    };

    let (mut this, mut base) = (Pair::default(), Pair::default());
    for n in 0..WARMUPS + runs {
        this.measure(&bin, &dir, n)?;
        if let (Some(b), Some(d)) = (&baseline, &base_dir) {
            base.measure(b, d, n)?;
        }
    }
    println!(
        "delivery overhead: one-step `true` workflow, {runs} runs each, alternating (load {})",
        load_average()
    );
    println!("{:<46} {:>9} {:>9}", "", "p50 ms", "p95 ms");
    let overhead = this.report("");
    if baseline.is_some() {
        let before = base.report("baseline: ");
        println!("baseline delivery overhead p50: {before:.2} ms");
    }
    println!(
        "delivery overhead p50: {overhead:.2} ms (target <= {OVERHEAD_TARGET_MS} ms): {}",
        if overhead <= OVERHEAD_TARGET_MS { "PASS" } else { "FAIL" }
    );
    Ok(())
}
