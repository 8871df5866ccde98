//! `cargo bench --bench listing` (`make bench`): `baton workflow list` and
//! `baton workflow status` (the latest run) in a repository with 200 runs of
//! 500 steps beside one with 1 run of 500 steps, interleaved in one loop, so
//! the ratio says whether listing grows with the ledgers. Target (issue 20):
//! `workflow list` at 200 runs ≤ 2× at 1 run. A report: exits 0 unless the
//! harness fails. See docs/performance.md, "Listings".
//!
//! The runs are written with `git fast-import` as ledgers exactly as the
//! runner leaves a finished run (every step succeeded, one attempt each),
//! then packed with `git gc`. Environment: `BATON_BIN`,
//! `BATON_LIST_BENCH_RUNS` (measured rounds, default 30, after 3 warmups),
//! `BATON_BENCH_DIR`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[path = "support/mod.rs"]
mod support;
use support::{baton_bin, command, env_number, fast_import, git, load_average, ms, output, timed, Res, Stats};

const ACTOR: &str = "agent:bench";
const STEPS: usize = 500;
const WARMUPS: usize = 3;

fn main() {
    if let Err(e) = run() {
        eprintln!("bench harness failed: {e}");
        std::process::exit(2);
    }
}

fn run_id(i: usize) -> String {
    format!("wf-20260101T{:02}{:02}{:02}Z-{i:06x}", i / 3600, (i / 60) % 60, i % 60)
}

/// A finished run's ledger, as the runner writes it (pretty JSON).
fn ledger(i: usize) -> String {
    let steps: Vec<serde_json::Value> = (0..STEPS)
        .map(|n| {
            serde_json::json!({"id": format!("s{n}"), "status": "succeeded", "attempts": [
                {"number": 1, "started_at": "2026-01-01T00:00:00Z", "duration_ms": 1, "exit_code": 0, "output": ""}
            ]})
        })
        .collect();
    let run = serde_json::json!({"schema": 1, "id": run_id(i), "workflow": "big",
        "definition": {"path": ".baton/workflows/big.toml", "blob": "0000000000000000000000000000000000000000"},
        "status": "succeeded", "host": "bench", "pid": 1, "actor": ACTOR,
        "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:00:01Z", "steps": steps});
    serde_json::to_string_pretty(&run).unwrap_or_default()
}

/// `git init`, `baton init`, `runs` ledgers in one fast-import commit, `git gc`.
fn prepare(baton: &Path, dir: &Path, runs: usize) -> Res<()> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    git(dir, &["init", "-q"])?;
    let mut c = command(baton, dir);
    c.args(["-q", "init"]).env("BATON_ACTOR", ACTOR);
    timed(c, "baton init")?;
    let parent = git(dir, &["rev-parse", "refs/baton/state^{commit}"])?;
    let mut stream = Vec::new();
    let message = "bench: seed runs\n";
    write!(
        stream,
        "commit refs/baton/state\ncommitter bench <bench@localhost> 1767225600 +0000\ndata {}\n{message}from {}\n",
        message.len(),
        parent.trim()
    )
    .map_err(|e| e.to_string())?;
    for i in 0..runs {
        let body = ledger(i);
        write!(
            stream,
            "M 100644 inline runs/workflow/2026/01/01/{}.json\ndata {}\n{body}\n",
            run_id(i),
            body.len()
        )
        .map_err(|e| e.to_string())?;
    }
    stream.extend_from_slice(b"done\n");
    fast_import(command(Path::new("git"), dir), &stream)?;
    git(dir, &["gc", "-q", "--prune=now"])?;
    // baton reads them as its own: every run listed, 500 steps each.
    let mut c = command(baton, dir);
    c.args(["--json", "workflow", "list", "--limit", "1000"])
        .env("BATON_ACTOR", ACTOR);
    let listed: serde_json::Value = serde_json::from_str(&output(c, "workflow list")?).map_err(|e| e.to_string())?;
    let items = listed["runs"].as_array().cloned().unwrap_or_default();
    if items.len() != runs || items.iter().any(|r| r["steps"]["succeeded"] != STEPS) {
        return Err(format!(
            "baton lists {} runs, expected {runs} of {STEPS} steps",
            items.len()
        ));
    }
    Ok(())
}

fn run() -> Res<()> {
    let baton = baton_bin()?;
    let rounds = env_number("BATON_LIST_BENCH_RUNS", 30)?;
    let root_dir = std::env::var_os("BATON_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    std::fs::create_dir_all(&root_dir).map_err(|e| e.to_string())?;
    let root = tempfile::Builder::new()
        .prefix("baton-list-bench-")
        .tempdir_in(&root_dir)
        .map_err(|e| e.to_string())?;
    println!("baton listing benchmark: {}", baton.display());
    println!("  load average at start: {}", load_average());
    let sizes = [1usize, 200];
    for n in sizes {
        prepare(&baton, &root.path().join(format!("runs-{n}")), n)?;
    }
    let cells: [(&str, &[&str]); 2] = [
        ("workflow list", &["workflow", "list"]),
        ("workflow status (latest)", &["workflow", "status"]),
    ];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); sizes.len() * cells.len()];
    for round in 0..WARMUPS + rounds {
        for (si, n) in sizes.iter().enumerate() {
            for (ci, (label, args)) in cells.iter().enumerate() {
                let mut c = command(&baton, &root.path().join(format!("runs-{n}")));
                c.args(*args).env("BATON_ACTOR", ACTOR);
                let (_, t) = timed(c, label)?;
                if round >= WARMUPS {
                    samples[si * cells.len() + ci].push(t);
                }
            }
        }
    }
    println!();
    println!(
        "{:<28} | {:>22} | {:>22}",
        "ms (p50 / p95, min)", "1 run of 500 steps", "200 runs of 500 steps"
    );
    let mut p50 = Vec::new();
    for (ci, (label, _)) in cells.iter().enumerate() {
        let stats: Vec<Stats> = (0..sizes.len())
            .map(|si| Stats::of(&samples[si * cells.len() + ci]))
            .collect();
        let show = |s: &Stats| format!("{:.2} / {:.2} ({:.2})", ms(s.p50), ms(s.p95), ms(s.min));
        println!("{label:<28} | {:>22} | {:>22}", show(&stats[0]), show(&stats[1]));
        p50.push((stats[0].p50, stats[1].p50));
    }
    println!();
    let (one, many) = p50[0];
    let ratio = many.as_secs_f64() / one.as_secs_f64();
    let verdict = if ratio <= 2.0 { "PASS" } else { "FAIL" };
    println!("{verdict}  workflow list p50 at 200 runs / at 1 run <= 2x: {ratio:.2}x");
    println!("load average at end: {}", load_average());
    Ok(())
}
