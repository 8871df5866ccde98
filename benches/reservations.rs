//! `cargo bench --bench reservations` (`make bench`): wall time per
//! invocation of the release `baton` binary for the path-reservation checks
//! (docs/reservations.md), as whole processes, beside two baselines in the
//! same rounds: `git diff --cached --name-only -z` (the staged list the
//! hook reads) and `baton --version` (process start). The repository holds
//! 10 000 claims, 1 000 of them held with one reservation each (literal
//! directories, and every fourth a glob), and 200 staged paths (50 under
//! the committer's own reservations, 150 free). Cells: the pre-commit hook
//! (`doctor --hook`, all of it), the edit-tool hook (`learn pre-command
//! --hook claude` on an Edit payload, free and reserved by another), and
//! `claims who` on 10 paths. Prints a table and PASS/FAIL per target; a
//! report, so it exits 0 unless the harness itself fails. See
//! docs/performance.md.
//!
//! Environment:
//! - `BATON_BIN`: the baton binary (default: the one cargo built for this bench).
//! - `BATON_BENCH_RUNS`: measured runs per cell (default 40; 3 warmups come first).
//! - `BATON_BENCH_CLAIMS`: claims in the state (default 10 000).
//! - `BATON_BENCH_RESERVATIONS`: claims among them reserving a path (default 1 000).
//! - `BATON_BENCH_DIR`: where the repository is created (default cargo's `target/tmp`).
//! - `BATON_BENCH_KEEP=1`: keep the repository (its path is printed), to
//!   profile one cell by hand (`valgrind --tool=callgrind baton learn ...`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use baton::claims::reservations::{Mode, Pattern, Reservation};
use baton::claims::{self, Claim, ClaimState};
use baton::clock::parse_timestamp;
use baton::ids::{Actor, ClaimId};

#[path = "support/mod.rs"]
mod support;
use support::{baton_bin, command, env_number, fast_import, git, load_average, ms, output, Res, Stats};

const WARMUPS: usize = 3;
const DEFAULT_RUNS: usize = 40;
const DEFAULT_CLAIMS: usize = 10_000;
const DEFAULT_RESERVING: usize = 1_000;
const STAGED: usize = 200;
/// Of the staged paths, those under the committer's own reservations.
const STAGED_OWN: usize = 50;
/// The committer, and the holders of the other reservations.
const ACTOR: &str = "agent:bench";
const HOLDERS: usize = 20;

/// Targets: (cell, p50 at most, in milliseconds).
const TARGETS: &[(&str, f64)] = &[
    ("pre-commit hook (doctor --hook)", 15.0),
    ("edit hook, free path", 3.0),
    ("edit hook, reserved path", 3.0),
];

fn main() {
    if let Err(e) = run() {
        eprintln!("bench harness failed: {e}");
        std::process::exit(2);
    }
}

struct Cell {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    samples: Vec<Duration>,
}

/// The reserved pattern of reserving claim `i`, and who holds it: every
/// 20th is the committer's.
fn reservation(i: usize) -> (String, String) {
    let pattern = if i % 4 == 3 {
        format!("docs/area{i}/*.md")
    } else {
        format!("src/mod{i}/")
    };
    let holder = if i.is_multiple_of(HOLDERS) {
        ACTOR.to_owned()
    } else {
        format!("agent:holder{}", i % HOLDERS)
    };
    (pattern, holder)
}

/// A Claude Code `PreToolUse` payload for an `Edit` of `file` in `repo`.
fn edit_payload(repo: &Path, file: &str) -> Vec<u8> {
    serde_json::json!({
        "session_id": "bench",
        "cwd": repo,
        "hook_event_name": "PreToolUse",
        "tool_name": "Edit",
        "tool_input": {"file_path": repo.join(file), "old_string": "a", "new_string": "b"},
    })
    .to_string()
    .into_bytes()
}

fn run() -> Res<()> {
    let baton = baton_bin()?;
    let runs = env_number("BATON_BENCH_RUNS", DEFAULT_RUNS)?;
    let claims = env_number("BATON_BENCH_CLAIMS", DEFAULT_CLAIMS)?;
    let reserving = env_number("BATON_BENCH_RESERVATIONS", DEFAULT_RESERVING)?.min(claims);
    let keep = std::env::var_os("BATON_BENCH_KEEP").is_some_and(|v| v == "1");
    let work_root = std::env::var_os("BATON_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    std::fs::create_dir_all(&work_root).map_err(|e| format!("creating {}: {e}", work_root.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix("baton-bench-reservations-")
        .tempdir_in(&work_root)
        .map_err(|e| e.to_string())?;
    let repo = tmp.path().join("repo");
    std::fs::create_dir(&repo).map_err(|e| e.to_string())?;
    let repo = repo.canonicalize().map_err(|e| e.to_string())?;

    let version = output(baton_cmd(&baton, Path::new("."), &["--version"]), "baton --version")?;
    println!("baton reservations benchmark");
    println!("  baton: {} ({})", baton.display(), version.trim());
    println!(
        "  {} cores; {WARMUPS} warmups + {runs} measured runs per cell; wall time per process",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("  load average at start: {}", load_average());
    let t = Instant::now();
    prepare(&baton, &repo, claims, reserving)?;
    eprintln!(
        "prepared {claims} claims, {reserving} reserving a path, {STAGED} staged paths in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    println!("  {claims} claims, {reserving} active reservations, {STAGED} staged paths ({STAGED_OWN} under the committer's own)");
    println!();

    // Another holder's reserved path, for the edit that is denied.
    let (theirs, _) = reservation(1);
    let reserved_file = format!("{theirs}lib.rs");
    let git = PathBuf::from("git");
    let cell = |name, program: &Path, args: &[&str], stdin: Option<Vec<u8>>| Cell {
        name,
        program: program.to_path_buf(),
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin,
        samples: Vec::new(),
    };
    let who: Vec<String> = (0..10).map(|i| format!("src/mod{i}/x.rs")).collect();
    let mut who_args = vec!["claims", "who"];
    who_args.extend(who.iter().map(String::as_str));
    let mut cells = vec![
        cell(
            "baseline: git diff --cached --name-only -z",
            &git,
            &["diff", "--cached", "--name-only", "-z"],
            None,
        ),
        cell("baseline: baton --version", &baton, &["--version"], None),
        cell("pre-commit hook (doctor --hook)", &baton, &["doctor", "--hook"], None),
        cell(
            "edit hook, free path",
            &baton,
            &["learn", "pre-command", "--hook", "claude"],
            Some(edit_payload(&repo, "lib/free.rs")),
        ),
        cell(
            "edit hook, reserved path",
            &baton,
            &["learn", "pre-command", "--hook", "claude"],
            Some(edit_payload(&repo, &reserved_file)),
        ),
        cell("claims who (10 paths)", &baton, &who_args, None),
    ];
    for round in 0..WARMUPS + runs {
        for cell in &mut cells {
            let (out, wall) = timed(cell, &repo)?;
            if round == 0 {
                check(cell.name, &out)?;
            }
            if round >= WARMUPS {
                cell.samples.push(wall);
            }
        }
    }
    report(&cells);
    println!();
    println!("load average at end: {}", load_average());
    if keep {
        let kept = tmp.keep();
        println!("kept the repository under {}", kept.display());
    }
    Ok(())
}

/// What each cell must say, checked once: the bench measures real answers.
fn check(name: &str, out: &str) -> Res<()> {
    let ok = match name {
        "pre-commit hook (doctor --hook)" => out.contains("staged path(s) clear of"),
        "edit hook, free path" => out.trim().is_empty(),
        "edit hook, reserved path" => out.contains("\"deny\""),
        "claims who (10 paths)" => out.contains("src/mod1/"),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{name} answered something else: {out}"))
    }
}

fn timed(cell: &Cell, repo: &Path) -> Res<(String, Duration)> {
    let mut c = command(&cell.program, repo);
    c.env("BATON_ACTOR", ACTOR)
        .args(&cell.args)
        .stdin(if cell.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let what = format!("{} {}", cell.program.display(), cell.args.join(" "));
    let t0 = Instant::now();
    let mut child = c.spawn().map_err(|e| format!("{what}: {e}"))?;
    if let Some(input) = &cell.stdin {
        child
            .stdin
            .take()
            .ok_or("no stdin")?
            .write_all(input)
            .map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let wall = t0.elapsed();
    if !out.status.success() {
        return Err(format!(
            "{what}: {}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((String::from_utf8_lossy(&out.stdout).into_owned(), wall))
}

fn baton_cmd(baton: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut c = command(baton, dir);
    c.env("BATON_ACTOR", ACTOR).args(args);
    c
}

/// `git init`, `baton init`, one state commit with every claim (git
/// fast-import), and the staged paths in the work tree's index.
fn prepare(baton: &Path, repo: &Path, claims: usize, reserving: usize) -> Res<()> {
    git(repo, &["init", "-q"])?;
    output(baton_cmd(baton, repo, &["-q", "init"]), "baton init")?;
    let tip = git(repo, &["rev-parse", "refs/baton/state"])?;
    let at = parse_timestamp("2026-01-01T00:00:00Z").map_err(|e| e.to_string())?;
    let message = format!("bench: {claims} claims\n");
    let mut stream = format!(
        "commit refs/baton/state\ncommitter bench <bench@localhost> 1767225600 +0000\ndata {}\n{message}from {tip}\n",
        message.len()
    )
    .into_bytes();
    for i in 0..claims {
        let id = ClaimId::parse(&format!("T-{i}")).map_err(|e| e.to_string())?;
        let (reservations, owner) = if i < reserving {
            let (pattern, holder) = reservation(i);
            let pattern = Pattern::parse(&pattern).map_err(|e| e.to_string())?;
            (
                vec![Reservation {
                    pattern,
                    mode: Mode::Exclusive,
                }],
                holder,
            )
        } else {
            (Vec::new(), format!("agent:holder{}", i % HOLDERS))
        };
        let claim = Claim {
            schema: 1,
            id: id.clone(),
            state: if i < reserving || i.is_multiple_of(3) {
                ClaimState::Active
            } else {
                ClaimState::Completed
            },
            owner: Actor::parse(&owner).map_err(|e| e.to_string())?,
            agent: None,
            role: None,
            generation: 1,
            created_at: at,
            updated_at: at,
            lease_until: None,
            handoff_to: None,
            handoff_note: None,
            reason: None,
            note: None,
            delivery: None,
            reservations,
            extra: Default::default(),
        };
        let text = toml::to_string(&claim).map_err(|e| e.to_string())?;
        stream.extend(format!("M 100644 inline {}\ndata {}\n", claims::path(&id), text.len()).into_bytes());
        stream.extend(text.into_bytes());
        stream.push(b'\n');
    }
    stream.extend(b"done\n");
    let mut c = command(Path::new("git"), repo);
    c.arg("-C").arg(repo);
    fast_import(c, &stream)?;
    git(repo, &["gc", "-q"])?;

    // The staged paths: some under the committer's reservations, the rest free.
    let own: Vec<usize> = (0..reserving)
        .filter(|i| reservation(*i).1 == ACTOR && i % 4 != 3)
        .collect();
    let mut staged = Vec::new();
    for k in 0..STAGED {
        let path = match own.get(k % own.len().max(1)) {
            Some(i) if k < STAGED_OWN => format!("src/mod{i}/file{k}.rs"),
            _ => format!("lib/part{}/file{k}.rs", k % 10),
        };
        let full = repo.join(&path);
        std::fs::create_dir_all(full.parent().ok_or("no parent")?).map_err(|e| e.to_string())?;
        std::fs::write(&full, format!("// {k}\n")).map_err(|e| e.to_string())?;
        staged.push(path);
    }
    let mut add = command(Path::new("git"), repo);
    add.arg("add").args(&staged);
    output(add, "git add")?;
    Ok(())
}

fn report(cells: &[Cell]) {
    let version = cells
        .iter()
        .find(|c| c.name == "baseline: baton --version")
        .map(|c| Stats::of(&c.samples).p50);
    println!(
        "{:<46} {:>9} {:>9} {:>9} {:>9} {:>11}  target",
        "cell", "p50 ms", "p95 ms", "min ms", "max ms", "x --version"
    );
    for cell in cells {
        let s = Stats::of(&cell.samples);
        let ratio = version.map_or(0.0, |v| ms(s.p50) / ms(v).max(f64::EPSILON));
        let target = TARGETS.iter().find(|(n, _)| *n == cell.name).map(|(_, t)| *t);
        let verdict = match target {
            Some(t) if ms(s.p50) <= t => format!("PASS (p50 <= {t} ms)"),
            Some(t) => format!("FAIL (p50 > {t} ms)"),
            None => String::new(),
        };
        println!(
            "{:<46} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>11.2}  {verdict}",
            cell.name,
            ms(s.p50),
            ms(s.p95),
            ms(s.min),
            ms(s.max),
            ratio
        );
    }
}
