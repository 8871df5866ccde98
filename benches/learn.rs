//! `cargo bench --bench learn` (`make bench`): wall time per invocation of
//! the release `baton` binary for the learn guard's hot path, as whole
//! processes, side by side with the process start of `baton --version` in
//! the same rounds: `learn pre-command` on a repository whose
//! `learn/commands.toml` holds 10 000 recorded outcomes (a push, a
//! pipeline, a line with interpreter code, and two 60 KiB lines: one of
//! about 1 500 commands, one a here-doc writing a file), and
//! `learn post-command`. Prints a table and PASS/FAIL per target; a report,
//! so it exits 0 unless the harness itself fails. See docs/performance.md.
//!
//! Environment:
//! - `BATON_BIN`: the baton binary (default: the one cargo built for this bench).
//! - `BATON_BENCH_RUNS`: measured runs per cell (default 40; 3 warmups come first).
//! - `BATON_BENCH_OUTCOMES`: outcomes in the statistics (default 10 000).
//! - `BATON_BENCH_DIR`: where the repository is created (default cargo's `target/tmp`).
//! - `BATON_BASELINE_BIN`: another baton build (say, of `main`) measured in
//!   the same rounds, each cell right after the same cell of `BATON_BIN`, in
//!   its own repository prepared the same way: a before/after whose ratio
//!   holds on a busy machine.
//! - `BATON_BENCH_KEEP=1`: keep the repository (its path is printed), to
//!   profile one cell by hand (`valgrind --tool=callgrind baton learn ...`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use baton::clock::parse_timestamp;
use baton::learn::stats::{fold, CommandEnd, CommandStats, JournalEntry};

#[path = "support/mod.rs"]
mod support;
use support::{baton_bin, command, env_number, git, load_average, ms, output, timed, Res, Stats};

const WARMUPS: usize = 3;
const DEFAULT_RUNS: usize = 40;
const DEFAULT_OUTCOMES: usize = 10_000;
/// Families the outcomes are spread over (plus the ones the cells use).
const FAMILIES: usize = 200;
const ACTOR: &str = "human:bench";

/// Targets: (cell, p50 at most, in milliseconds).
const TARGETS: &[(&str, f64)] = &[
    ("pre-command push", 3.0),
    ("pre-command pipeline", 3.0),
    ("pre-command interpreter", 3.0),
    ("pre-command 60k commands", 15.0),
    ("pre-command 60k here-doc", 15.0),
    ("post-command", 5.0),
];

/// A line with interpreter code: inline Python that deletes and runs a
/// shell string, then a Node one-liner, in a list.
const INTERPRETER_LINE: &str = "python3 -c 'import os, shutil; shutil.rmtree(\"build\", ignore_errors=True); \
     os.system(\"make -j4 test\")' && node -e 'require(\"child_process\").execSync(\"npm run lint\")'";

/// Just under 60 KiB of `&&`-chained commands (about 1 500 of them).
fn many_commands() -> String {
    let mut line = String::from("cd app");
    let mut i = 0;
    while line.len() < 60 * 1024 - 64 {
        line.push_str(&format!(" && printf '%s\\n' item{i} >> list.txt"));
        i += 1;
    }
    line
}

/// Just under 60 KiB of a file written through a quoted here-doc.
fn here_doc() -> String {
    let mut line = String::from("cat > src/generated.rs <<'EOF'\n");
    let mut i = 0;
    while line.len() < 60 * 1024 - 64 {
        line.push_str(&format!(
            "pub const ITEM_{i}: &str = \"value {i} with $HOME and `ticks`\";\n"
        ));
        i += 1;
    }
    line.push_str("EOF");
    line
}

fn main() {
    if let Err(e) = run() {
        eprintln!("bench harness failed: {e}");
        std::process::exit(2);
    }
}

struct Cell {
    name: &'static str,
    args: Vec<String>,
    samples: Vec<Duration>,
    /// The same cell run by `BATON_BASELINE_BIN`, when given.
    baseline: Vec<Duration>,
}

/// A binary under test and the repository it runs in.
struct Subject {
    baton: PathBuf,
    repo: PathBuf,
}

fn cells() -> Vec<Cell> {
    let cell = |name, args: &[&str]| Cell {
        name,
        args: args.iter().map(|s| s.to_string()).collect(),
        samples: Vec::new(),
        baseline: Vec::new(),
    };
    let commands = many_commands();
    let doc = here_doc();
    vec![
        cell("--version", &["--version"]),
        cell(
            "pre-command push",
            &["learn", "pre-command", "--command", "git push origin main"],
        ),
        cell(
            "pre-command pipeline",
            &[
                "learn",
                "pre-command",
                "--command",
                "cd app && npm ci && npm test -- --coverage 2>&1 | tee test.log",
            ],
        ),
        cell(
            "pre-command interpreter",
            &["learn", "pre-command", "--command", INTERPRETER_LINE],
        ),
        cell(
            "pre-command 60k commands",
            &["learn", "pre-command", "--command", &commands],
        ),
        cell("pre-command 60k here-doc", &["learn", "pre-command", "--command", &doc]),
        cell(
            "post-command",
            &[
                "learn",
                "post-command",
                "--command",
                "cargo test --workspace",
                "--exit-code",
                "0",
                "--duration",
                "1200ms",
            ],
        ),
    ]
}

fn run() -> Res<()> {
    let baton = baton_bin()?;
    let baseline = match std::env::var_os("BATON_BASELINE_BIN") {
        Some(b) => Some(
            PathBuf::from(&b)
                .canonicalize()
                .map_err(|e| format!("BATON_BASELINE_BIN {}: {e}", PathBuf::from(&b).display()))?,
        ),
        None => None,
    };
    let runs = env_number("BATON_BENCH_RUNS", DEFAULT_RUNS)?;
    let outcomes = env_number("BATON_BENCH_OUTCOMES", DEFAULT_OUTCOMES)?;
    let keep = std::env::var_os("BATON_BENCH_KEEP").is_some_and(|v| v == "1");
    let work_root = std::env::var_os("BATON_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    std::fs::create_dir_all(&work_root).map_err(|e| format!("creating {}: {e}", work_root.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix("baton-bench-learn-")
        .tempdir_in(&work_root)
        .map_err(|e| e.to_string())?;

    let version = output(baton_cmd(&baton, Path::new("."), &["--version"]), "baton --version")?;
    println!("baton learn benchmark");
    println!("  baton: {} ({})", baton.display(), version.trim());
    if let Some(b) = &baseline {
        let v = output(baton_cmd(b, Path::new("."), &["--version"]), "baseline --version")?;
        println!("  baseline: {} ({})", b.display(), v.trim());
    }
    println!(
        "  {} cores; {WARMUPS} warmups + {runs} measured runs per cell; wall time per process",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("  load average at start: {}", load_average());
    let mut subjects = vec![Subject {
        baton: baton.clone(),
        repo: tmp.path().join("repo"),
    }];
    if let Some(b) = baseline {
        subjects.push(Subject {
            baton: b,
            repo: tmp.path().join("baseline-repo"),
        });
    }
    for subject in &subjects {
        std::fs::create_dir(&subject.repo).map_err(|e| e.to_string())?;
        let t = Instant::now();
        let size = prepare(&subject.baton, &subject.repo, outcomes)?;
        eprintln!(
            "prepared {outcomes} outcomes over {} families ({size} bytes of learn/commands.toml) in {} in {:.1}s",
            FAMILIES + 3,
            subject.repo.display(),
            t.elapsed().as_secs_f64()
        );
    }
    println!();

    let mut cells = cells();
    for round in 0..WARMUPS + runs {
        for cell in &mut cells {
            let args: Vec<&str> = cell.args.iter().map(String::as_str).collect();
            for (i, subject) in subjects.iter().enumerate() {
                let what = format!("{} {}", subject.baton.display(), args.join(" "));
                let (_, wall) = timed(baton_cmd(&subject.baton, &subject.repo, &args), &what)?;
                if round >= WARMUPS {
                    if i == 0 { &mut cell.samples } else { &mut cell.baseline }.push(wall);
                }
            }
        }
    }
    for subject in &subjects {
        check_recorded(&subject.baton, &subject.repo, outcomes, WARMUPS + runs)?;
    }
    report(&cells);
    println!();
    println!("load average at end: {}", load_average());
    if keep {
        let kept = tmp.keep();
        println!("kept the repositories under {}", kept.display());
    }
    Ok(())
}

fn baton_cmd(baton: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut c = command(baton, dir);
    c.env("BATON_ACTOR", ACTOR).args(args);
    c
}

fn git_stdin(dir: &Path, args: &[&str], env: &[(&str, &Path)], input: &[u8]) -> Res<String> {
    let mut c = command(Path::new("git"), dir);
    c.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().map_err(|e| format!("git {}: {e}", args.join(" ")))?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(input)
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `learn/commands.toml` with `outcomes` outcomes, as baton's own fold writes
/// it: spread over [`FAMILIES`] families, plus the families the cells judge.
fn statistics(outcomes: usize) -> Res<Vec<u8>> {
    let at = parse_timestamp("2026-01-01T00:00:00Z").map_err(|e| e.to_string())?;
    let mut names: Vec<String> = (0..FAMILIES).map(|i| format!("tool{i} run")).collect();
    names.extend(["git push", "npm test", "npm ci"].map(String::from));
    let entries: Vec<JournalEntry> = (0..outcomes)
        .map(|i| JournalEntry::Outcome {
            at,
            family: Some(names[i % names.len()].clone()),
            command: names[i % names.len()].clone(),
            outcome: if i % 7 == 0 {
                CommandEnd::Failure
            } else {
                CommandEnd::Success
            },
            exit_code: Some(i32::from(i % 7 == 0)),
            duration_ms: Some(1000),
            actor: None,
        })
        .collect();
    fold(CommandStats::default(), &entries)
        .encode()
        .map_err(|e| e.to_string())
}

/// `git init`, `baton init`, then one state commit adding the statistics
/// (git plumbing on a temporary index), packed. Returns the file's size.
fn prepare(baton: &Path, repo: &Path, outcomes: usize) -> Res<usize> {
    git(repo, &["init", "-q"])?;
    output(baton_cmd(baton, repo, &["-q", "init"]), "baton init")?;
    let bytes = statistics(outcomes)?;
    let index = repo.join(".git").join("bench-index");
    let env: [(&str, &Path); 1] = [("GIT_INDEX_FILE", index.as_path())];
    let tip = git(repo, &["rev-parse", "refs/baton/state"])?;
    let blob = git_stdin(repo, &["hash-object", "-w", "--stdin"], &env, &bytes)?;
    git_stdin(repo, &["read-tree", &tip], &env, b"")?;
    let cacheinfo = format!("100644,{blob},learn/commands.toml");
    git_stdin(repo, &["update-index", "--add", "--cacheinfo", &cacheinfo], &env, b"")?;
    let tree = git_stdin(repo, &["write-tree"], &env, b"")?;
    let commit = git_stdin(repo, &["commit-tree", &tree, "-p", &tip], &env, b"bench: 10k outcomes")?;
    git(repo, &["update-ref", "refs/baton/state", &commit, &tip])?;
    let _ = std::fs::remove_file(&index);
    git(repo, &["gc", "-q", "--prune=now"])?;
    // baton reads them as its own.
    let metrics = output(baton_cmd(baton, repo, &["--json", "learn", "metrics"]), "learn metrics")?;
    let doc: serde_json::Value = serde_json::from_str(&metrics).map_err(|e| e.to_string())?;
    let runs: u64 = doc["families"]
        .as_array()
        .ok_or("no families")?
        .iter()
        .filter_map(|f| f["runs"].as_u64())
        .sum();
    if runs != outcomes as u64 {
        return Err(format!("baton counts {runs} runs after seeding {outcomes}"));
    }
    Ok(bytes.len())
}

/// Every post-command of the rounds is in the journal (nothing was lost),
/// and the statistics still hold the seeded outcomes.
fn check_recorded(baton: &Path, repo: &Path, outcomes: usize, rounds: usize) -> Res<()> {
    let metrics = output(baton_cmd(baton, repo, &["--json", "learn", "metrics"]), "learn metrics")?;
    let doc: serde_json::Value = serde_json::from_str(&metrics).map_err(|e| e.to_string())?;
    let families = doc["families"].as_array().ok_or("no families")?;
    let runs: u64 = families.iter().filter_map(|f| f["runs"].as_u64()).sum();
    let want = (outcomes + rounds) as u64;
    if runs != want {
        return Err(format!("{runs} runs after the rounds, expected {want}"));
    }
    Ok(())
}

fn report(cells: &[Cell]) {
    println!("wall time per invocation, milliseconds");
    println!(
        "{:<24} | {:>8} | {:>8} | {:>8} | {:>12}",
        "command", "p50", "p95", "min", "p50 - version"
    );
    println!("{}", "-".repeat(72));
    let base = Stats::of(&cells[0].samples).p50;
    for c in cells {
        let s = Stats::of(&c.samples);
        println!(
            "{:<24} | {:>8.2} | {:>8.2} | {:>8.2} | {:>12.2}",
            c.name,
            ms(s.p50),
            ms(s.p95),
            ms(s.min),
            ms(s.p50) - ms(base)
        );
    }
    if !cells[0].baseline.is_empty() {
        println!();
        println!("baseline (BATON_BASELINE_BIN) in the same rounds, milliseconds");
        println!(
            "{:<24} | {:>8} | {:>8} | {:>8} | {:>12}",
            "command", "p50", "p95", "min", "p50 ratio"
        );
        println!("{}", "-".repeat(72));
        for c in cells {
            let s = Stats::of(&c.baseline);
            let ratio = ms(Stats::of(&c.samples).p50) / ms(s.p50);
            println!(
                "{:<24} | {:>8.2} | {:>8.2} | {:>8.2} | {:>11.2}x",
                c.name,
                ms(s.p50),
                ms(s.p95),
                ms(s.min),
                ratio
            );
        }
    }
    println!();
    for (name, limit) in TARGETS {
        let Some(c) = cells.iter().find(|c| c.name == *name) else {
            continue;
        };
        let p50 = ms(Stats::of(&c.samples).p50);
        let verdict = if p50 <= *limit { "PASS" } else { "FAIL" };
        println!("{verdict}  {name}: p50 {p50:.2} ms (target <= {limit} ms)");
    }
}
