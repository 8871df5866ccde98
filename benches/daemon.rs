//! `cargo bench --bench daemon` (`make bench`): the daemon's targets, side by
//! side with the cost of starting a process at all (`git rev-parse`,
//! `baton --version`) in the same run. Prints a table and PASS/FAIL per
//! target; a report, so it exits 0 unless the harness itself fails. See
//! docs/performance.md.
//!
//! - a full tick (`daemon tick --full`) at 10 000 claims ≤ 150 ms;
//! - a tick with nothing changed since the last one (`daemon tick`) at
//!   10 000 claims ≤ 15 ms (a quiet tick: the pass before it changed nothing
//!   and left its head); beside it, the same tick without the head, which
//!   reads the kept view (an incremental pass that parses no file);
//! - `daemon summary` over 1 000 snapshots ≤ 300 ms;
//! - `daemon summary --window 7d` with 20 000 snapshots older than the
//!   window ≤ 2× the same summary with only the 10 snapshots inside it
//!   (the walk stops at the window's baseline);
//! - an idle daemon: RSS ≤ 20 MB and ~0% CPU between ticks, read from `/proc`.
//!
//! Environment: `BATON_BIN` (default: the release `baton` cargo builds),
//! `BATON_BENCH_RUNS` (measured runs per command, default 20),
//! `BATON_BENCH_DIR` (default: cargo's `target/tmp`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[path = "support/mod.rs"]
mod support;
use support::{baton_bin, command, env_number, fast_import, load_average, ms, output, timed, Res, Stats};

const CLAIMS: usize = 10_000;
const SNAPSHOTS: usize = 1_000;
/// Snapshots older than the 7-day window, and inside it.
const OLD_SNAPSHOTS: usize = 20_000;
const RECENT_SNAPSHOTS: usize = 10;
const ACTOR: &str = "agent:bench";

fn main() {
    if let Err(e) = run() {
        eprintln!("bench harness failed: {e}");
        std::process::exit(2);
    }
}

struct Bench {
    baton: PathBuf,
    runs: usize,
}

impl Bench {
    fn cmd(&self, program: &Path, dir: &Path, args: &[&str]) -> Command {
        let mut c = command(program, dir);
        c.env("BATON_ACTOR", ACTOR).args(args);
        c
    }

    fn baton(&self, dir: &Path, args: &[&str]) -> Command {
        self.cmd(&self.baton, dir, args)
    }

    /// Two commands measured in alternation (2 warmups each), so that the
    /// load of the moment falls on both alike: their p50/p95/min.
    fn measure_pair(
        &self,
        one: &str,
        make_one: impl Fn() -> Command,
        two: &str,
        make_two: impl Fn() -> Command,
    ) -> Res<(Stats, Stats)> {
        for _ in 0..2 {
            timed(make_one(), one)?;
            timed(make_two(), two)?;
        }
        let (mut a, mut b) = (Vec::with_capacity(self.runs), Vec::with_capacity(self.runs));
        for _ in 0..self.runs {
            a.push(timed(make_one(), one)?.1);
            b.push(timed(make_two(), two)?.1);
        }
        Ok((Stats::of(&a), Stats::of(&b)))
    }

    /// p50/p95/min of `runs` runs of a command (after 2 warmups).
    fn measure(&self, what: &str, make: impl Fn() -> Command) -> Res<Stats> {
        for _ in 0..2 {
            timed(make(), what)?;
        }
        let mut samples = Vec::with_capacity(self.runs);
        for _ in 0..self.runs {
            samples.push(timed(make(), what)?.1);
        }
        Ok(Stats::of(&samples))
    }
}

fn run() -> Res<()> {
    let baton = baton_bin()?;
    let runs = env_number("BATON_BENCH_RUNS", 20)?;
    let root = match std::env::var_os("BATON_BENCH_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
    };
    std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
    let tmp = tempfile::tempdir_in(&root).map_err(|e| e.to_string())?;
    let b = Bench { baton, runs };
    println!("baton daemon benchmark; load average {}", load_average());
    let repo = prepare(&b, tmp.path())?;

    let mut rows: Vec<(String, Stats)> = Vec::new();
    rows.push((
        "git rev-parse refs/baton/state".into(),
        b.measure("git rev-parse", || {
            b.cmd(Path::new("git"), &repo, &["rev-parse", "refs/baton/state"])
        })?,
    ));
    rows.push((
        "baton --version".into(),
        b.measure("baton --version", || b.baton(&repo, &["--version"]))?,
    ));
    let full = b.measure("daemon tick --full", || b.baton(&repo, &["daemon", "tick", "--full"]))?;
    let quiet = b.measure("daemon tick", || b.baton(&repo, &["daemon", "tick"]))?;
    check_quiet(&b, &repo)?;
    let head = repo.join(".git/baton/daemon-head.json");
    let viewed = b.measure("daemon tick without its head", || {
        let _ = std::fs::remove_file(&head);
        b.baton(&repo, &["daemon", "tick"])
    })?;
    let summary = b.measure("daemon summary", || {
        b.baton(&repo, &["--json", "daemon", "summary", "--window", "60d"])
    })?;
    check_summary(&b, &repo)?;
    let long = prepare_history(&b, tmp.path(), "long-history", OLD_SNAPSHOTS)?;
    let short = prepare_history(&b, tmp.path(), "short-history", 0)?;
    let week = ["--json", "daemon", "summary", "--window", "7d"];
    // Interleaved, one process at a time: both see the same load.
    let (long_week, short_week) = b.measure_pair(
        "summary, long history",
        || b.baton(&long, &week),
        "summary, short history",
        || b.baton(&short, &week),
    )?;
    check_week(&b, &long, true)?;
    check_week(&b, &short, false)?;
    rows.push((format!("daemon tick --full ({CLAIMS} claims)"), full));
    rows.push((format!("daemon tick, nothing changed ({CLAIMS} claims)"), quiet));
    rows.push(("  the same without its head (reads the view)".into(), viewed));
    rows.push((format!("daemon summary ({SNAPSHOTS} snapshots)"), summary));
    rows.push((
        format!("summary 7d, {RECENT_SNAPSHOTS} in + {OLD_SNAPSHOTS} older"),
        long_week,
    ));
    rows.push((format!("summary 7d, {RECENT_SNAPSHOTS} snapshots only"), short_week));

    println!("\nwall time per invocation, milliseconds ({runs} runs)");
    println!("{:<48} {:>8} {:>8} {:>8}", "command", "p50", "p95", "min");
    for (what, s) in &rows {
        println!("{what:<48} {:>8.1} {:>8.1} {:>8.1}", ms(s.p50), ms(s.p95), ms(s.min));
    }
    let (rss_kb, cpu_pct) = idle(&b, &repo)?;
    println!(
        "\nidle daemon (--interval 60s, after its first tick): RSS {:.1} MB, CPU {cpu_pct:.2}% over 5s",
        rss_kb as f64 / 1024.0
    );

    println!();
    verdict("full tick at 10k claims <= 150 ms", ms(rows[2].1.p50) <= 150.0);
    verdict("quiet tick at 10k claims <= 15 ms", ms(rows[3].1.p50) <= 15.0);
    verdict("summary over 1000 snapshots <= 300 ms", ms(rows[5].1.p50) <= 300.0);
    let ratio = ms(rows[6].1.p50) / ms(rows[7].1.p50);
    println!("7-day summary, 20 000 older snapshots / none: {ratio:.2}x (p50)");
    verdict("7d summary with 20000 older snapshots <= 2x with none", ratio <= 2.0);
    verdict("idle daemon RSS <= 20 MB", rss_kb <= 20 * 1024);
    verdict("idle daemon CPU ~0% (< 0.5%)", cpu_pct < 0.5);
    println!("load average at the end {}", load_average());
    Ok(())
}

fn verdict(what: &str, ok: bool) {
    println!("{} {what}", if ok { "PASS" } else { "FAIL" });
}

/// `baton init`, then one fast-import stream: a commit adding 10k active
/// claims, then 1 000 commits each rewriting `metrics/snapshot.json` an hour
/// later than the one before; packed; then one tick to keep a view.
fn prepare(b: &Bench, root: &Path) -> Res<PathBuf> {
    let repo = root.join("daemon-bench");
    std::fs::create_dir(&repo).map_err(|e| e.to_string())?;
    output(b.cmd(Path::new("git"), &repo, &["init", "-q"]), "git init")?;
    output(b.baton(&repo, &["-q", "init"]), "baton init")?;
    let tip = output(
        b.cmd(Path::new("git"), &repo, &["rev-parse", "refs/baton/state"]),
        "rev-parse",
    )?;
    let start = chrono::Utc::now() - chrono::Duration::hours(SNAPSHOTS as i64);
    let mut stream = Vec::new();
    let at = |h: usize| {
        (start + chrono::Duration::hours(h as i64))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let commit = |stream: &mut Vec<u8>, secs: i64, message: &str, from: Option<&str>| {
        let _ = write!(
            stream,
            "commit refs/baton/state\ncommitter bench <bench@localhost> {secs} +0000\ndata {}\n{message}\n",
            message.len() + 1
        );
        if let Some(from) = from {
            let _ = writeln!(stream, "from {from}");
        }
    };
    commit(&mut stream, start.timestamp(), "bench: claims", Some(tip.trim()));
    let fresh = at(SNAPSHOTS);
    for i in 0..CLAIMS {
        let id = format!("bench-{i:05}");
        let digest = baton::codec::sha1_hex(&id);
        let body = format!(
            "schema = 1\nid = \"{id}\"\nstate = \"active\"\nowner = \"{ACTOR}\"\ngeneration = 1\ncreated_at = \"{fresh}\"\nupdated_at = \"{fresh}\"\n"
        );
        let _ = write!(
            stream,
            "M 100644 inline claims/{}/{id}.toml\ndata {}\n{body}\n",
            &digest[..2],
            body.len()
        );
    }
    for h in 0..SNAPSHOTS {
        let secs = start.timestamp() + 3600 * h as i64;
        commit(
            &mut stream,
            secs,
            "daemon: reconcile: metrics snapshot (periodic)",
            None,
        );
        let body = format!(
            "{{\"schema\":1,\"taken_at\":\"{}\",\"counters\":{{\"claims.active\":{},\"claims.expired_total\":{},\"runs.succeeded\":{}}}}}",
            at(h),
            CLAIMS - h % 7,
            h / 10,
            h
        );
        let _ = write!(
            stream,
            "M 100644 inline metrics/snapshot.json\ndata {}\n{body}\n",
            body.len()
        );
    }
    import(b, &repo, stream)?;
    output(b.cmd(Path::new("git"), &repo, &["gc", "-q", "--prune=now"]), "git gc")?;
    let first = output(b.baton(&repo, &["--json", "daemon", "tick", "--full"]), "first tick")?;
    let doc: serde_json::Value = serde_json::from_str(&first).map_err(|e| e.to_string())?;
    if doc["report"]["checked"]["claims"] != CLAIMS {
        return Err(format!(
            "the first tick saw {} claims",
            doc["report"]["checked"]["claims"]
        ));
    }
    Ok(repo)
}

/// Feed one fast-import stream (without its `done`) to `git fast-import`.
fn import(b: &Bench, repo: &Path, mut stream: Vec<u8>) -> Res<()> {
    stream.extend_from_slice(b"done\n");
    fast_import(b.cmd(Path::new("git"), repo, &[]), &stream)
}

/// A repository whose state history is `old` snapshots, one a minute
/// ending eight days ago (all older than a 7-day window), then
/// [`RECENT_SNAPSHOTS`] inside the last six days: `baton init`, one
/// fast-import stream, packed. Built in one process, not one per snapshot.
fn prepare_history(b: &Bench, root: &Path, name: &str, old: usize) -> Res<PathBuf> {
    let repo = root.join(name);
    std::fs::create_dir(&repo).map_err(|e| e.to_string())?;
    output(b.cmd(Path::new("git"), &repo, &["init", "-q"]), "git init")?;
    output(b.baton(&repo, &["-q", "init"]), "baton init")?;
    let tip = output(
        b.cmd(Path::new("git"), &repo, &["rev-parse", "refs/baton/state"]),
        "rev-parse",
    )?;
    let now = chrono::Utc::now();
    let old_end = now - chrono::Duration::days(8);
    let mut times: Vec<chrono::DateTime<chrono::Utc>> = (0..old)
        .map(|i| old_end - chrono::Duration::minutes((old - i) as i64))
        .collect();
    times.extend(
        (0..RECENT_SNAPSHOTS).map(|j| now - chrono::Duration::days(6) + chrono::Duration::hours(12 * j as i64)),
    );
    let mut stream = Vec::new();
    for (i, at) in times.iter().enumerate() {
        let message = "daemon: reconcile: metrics snapshot (changed)";
        let _ = write!(
            stream,
            "commit refs/baton/state\ncommitter bench <bench@localhost> {} +0000\ndata {}\n{message}\n",
            at.timestamp(),
            message.len() + 1
        );
        if i == 0 {
            let _ = writeln!(stream, "from {}", tip.trim());
        }
        let body = format!(
            "{{\"schema\":1,\"taken_at\":\"{}\",\"counters\":{{\"claims.active\":{},\"runs.succeeded\":{i}}}}}",
            at.format("%Y-%m-%dT%H:%M:%SZ"),
            i % 13
        );
        let _ = write!(
            stream,
            "M 100644 inline metrics/snapshot.json\ndata {}\n{body}\n",
            body.len()
        );
    }
    import(b, &repo, stream)?;
    output(b.cmd(Path::new("git"), &repo, &["gc", "-q", "--prune=now"]), "git gc")?;
    Ok(repo)
}

/// The 7-day summary saw the snapshots inside the window, and the long
/// history's baseline (the newest of the older ones).
fn check_week(b: &Bench, repo: &Path, baseline: bool) -> Res<()> {
    let out = output(
        b.baton(repo, &["--json", "daemon", "summary", "--window", "7d"]),
        "7-day summary",
    )?;
    let doc: serde_json::Value = serde_json::from_str(&out).map_err(|e| e.to_string())?;
    let seen = doc["summary"]["times"].as_array().map_or(0, Vec::len);
    let inside = doc["summary"]["times"].get(0) == Some(&doc["summary"]["baseline"]);
    if seen != RECENT_SNAPSHOTS || inside == baseline {
        return Err(format!(
            "the 7-day summary of {} is not as built: {doc}",
            repo.display()
        ));
    }
    Ok(())
}

/// The quiet ticks measured were quiet: they read neither the view nor a file.
fn check_quiet(b: &Bench, repo: &Path) -> Res<()> {
    let out = output(b.baton(repo, &["--json", "daemon", "tick"]), "quiet tick")?;
    let doc: serde_json::Value = serde_json::from_str(&out).map_err(|e| e.to_string())?;
    if doc["report"]["mode"] != "quiet" || doc["outcome"] != "unchanged" {
        return Err(format!(
            "the tick after a pass that changed nothing was not quiet: {doc}"
        ));
    }
    Ok(())
}

/// The summary really read the whole history.
fn check_summary(b: &Bench, repo: &Path) -> Res<()> {
    let out = output(
        b.baton(repo, &["--json", "daemon", "summary", "--window", "60d"]),
        "summary",
    )?;
    let doc: serde_json::Value = serde_json::from_str(&out).map_err(|e| e.to_string())?;
    let seen = doc["summary"]["times"].as_array().map_or(0, Vec::len);
    if seen < SNAPSHOTS {
        return Err(format!("the summary saw {seen} snapshots, not {SNAPSHOTS} or more"));
    }
    Ok(())
}

/// Start a daemon (interval 60s), let it finish its first tick, then read
/// its RSS and CPU time from /proc over 5 seconds of idling. Without a kept
/// view or head, so that first tick is a full pass (the most it ever holds).
fn idle(b: &Bench, repo: &Path) -> Res<(u64, f64)> {
    for kept in ["daemon-index.json", "daemon-head.json"] {
        let _ = std::fs::remove_file(repo.join(".git/baton").join(kept));
    }
    let started = output(
        b.baton(repo, &["--json", "daemon", "start", "--interval", "60s"]),
        "daemon start",
    )?;
    let doc: serde_json::Value = serde_json::from_str(&started).map_err(|e| e.to_string())?;
    let pid = doc["pid"].as_u64().ok_or("no pid")?;
    let result = (|| {
        std::thread::sleep(Duration::from_secs(2));
        let cpu = |pid: u64| -> Res<u64> {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
            let rest = stat.rsplit_once(") ").ok_or("odd /proc stat")?.1;
            let f: Vec<&str> = rest.split(' ').collect();
            Ok(f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0))
        };
        let before = cpu(pid)?;
        std::thread::sleep(Duration::from_secs(5));
        let used = cpu(pid)? - before;
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
        let rss = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .ok_or("no VmRSS")?;
        Ok((rss, used as f64 * 100.0 / (hz as f64 * 5.0)))
    })();
    output(b.baton(repo, &["daemon", "stop"]), "daemon stop")?;
    result
}
