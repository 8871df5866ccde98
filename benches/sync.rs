//! `cargo bench --bench sync` (`make bench`): the cost of merging two clones
//! that diverged by 1 000 operations on each side, some of them on the same
//! claims. Target: `baton sync` of the second clone (fetch + 3-way merge +
//! push, release binary, real bare repository on a local path) in ≤ 1 s.
//! Prints a table and PASS/FAIL; it is a report, so it exits 0 unless the
//! harness itself fails. See docs/performance.md, "Sync merge".
//!
//! Setup (not timed): a bare remote and two clones; a base state of
//! `BASE` claims in one commit, published and joined by both; then on each
//! clone `OPS` operations, each one commit changing one claim file at its
//! sharded path `claims/<xx>/<id>.toml`, written in-process through the same
//! library calls `baton claims claim|release` make (`Store::update` with the
//! pure transitions of `baton::claims`), so the history has exactly the
//! shape baton writes. Of each side's operations, `CONTESTED` claim the same
//! ids as the other side, a fifth release base claims (distinct per side) and
//! the rest claim new ids. Clone A publishes; clone B is then the measured
//! one. Every run starts from a fresh copy of B and of the remote.
//!
//! Measured:
//! - `baton sync` in B, end to end (the number the target applies to);
//! - `git fetch` of the baton refs and `git push` of B's operations alone,
//!   in the same situation (the share of git's transport);
//! - `baton::ops::sync::merge_commit` in-process on an already-fetched B (merge
//!   share), and the two ancestry checks sync makes before it.
//!
//! Environment: `BATON_BIN` (default: the release binary cargo built),
//! `BATON_SYNC_BENCH_RUNS` (default 11, after 1 warmup),
//! `BATON_SYNC_BENCH_OPS` (default 1000), `BATON_SYNC_BENCH_BASE` (default 10000),
//! `BATON_SYNC_BENCH_CONTESTED` (default 100), `BATON_SYNC_BENCH_KEEP` (set:
//! keep the repositories and print where).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use baton::claims::{self, ClaimRequest, Ctx, Force, Transition};
use baton::config::Config;
use baton::ids::{Actor, ClaimId};
use baton::store::{message, Change, Message, Store, Update};

#[path = "support/mod.rs"]
mod support;
use support::{baton_bin, command, git, ms, output, Res, Stats};

const TARGET: Duration = Duration::from_secs(1);
const WARMUPS: usize = 1;
const ALICE: &str = "agent:alice";
const BOB: &str = "agent:bob";

fn main() {
    if let Err(e) = run() {
        eprintln!("bench harness failed: {e}");
        std::process::exit(2);
    }
}

fn env_num(name: &str, default: usize) -> Res<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .parse::<usize>()
            .map_err(|_| format!("{name} must be a number, not {v:?}")),
        Err(_) => Ok(default),
    }
}

fn baton(bin: &Path, dir: &Path, actor: &str, args: &[&str]) -> Res<serde_json::Value> {
    let mut c = command(bin, dir);
    c.arg("--json").arg("--actor").arg(actor).args(args);
    let out = output(c, &format!("baton {}", args.join(" ")))?;
    serde_json::from_str(&out).map_err(|e| format!("baton {}: {e}: {out}", args.join(" ")))
}

fn p(path: &Path) -> Res<&str> {
    path.to_str().ok_or_else(|| format!("{} is not UTF-8", path.display()))
}

/// `cp -a src dst` (a fresh copy of a repository per run).
fn copy(src: &Path, dst: &Path) -> Res<()> {
    let mut c = Command::new("cp");
    c.arg("-a").arg(src).arg(dst);
    output(c, "cp -a").map(drop)
}

fn t0() -> baton::clock::Timestamp {
    baton::clock::parse_timestamp("2026-01-01T00:00:00Z").expect("timestamp")
}

/// One claim operation as `baton claims claim|release` commits it.
fn write_op(store: &Store, actor: &Actor, id: &ClaimId, release: bool, now_secs: i64) -> Res<()> {
    let policy = Config::default().claims;
    let now = t0() + chrono::Duration::seconds(now_secs);
    let op_name = if release { "claims.release" } else { "claims.claim" };
    let written = store
        .update(&actor.to_string(), |snap| {
            let ctx = Ctx {
                actor,
                now,
                policy: &policy,
            };
            let existing = baton::state::claim(snap, id)?;
            let step: Transition = if release {
                claims::release(existing.as_ref(), id, &ctx, &Force::default())?
            } else {
                claims::claim(existing, id, &ctx, &ClaimRequest::default(), || {
                    Ok::<_, baton::Error>(None)
                })?
            };
            let msg = Message::new(&step.summary)
                .trailer(message::OP, op_name)
                .trailer(message::SUBJECT, format!("claim/{id}"))
                .trailer(message::ACTOR, actor.to_string())
                .trailer(message::GENERATION, step.claim.generation.to_string());
            let mut change = Change::new(msg);
            change.put_toml(claims::path(id), &step.claim)?;
            Ok(Update::Write(change, ()))
        })
        .map_err(|e| format!("{op_name} {id}: {e:?}"))?;
    written
        .commit
        .map(drop)
        .ok_or_else(|| format!("{op_name} {id} wrote nothing"))
}

/// The base: `n` claims, the first half held by alice, the rest by bob (so
/// each side can release its own), in one commit.
fn write_base(store: &Store, n: usize) -> Res<()> {
    let owners = [
        Actor::parse(ALICE).map_err(|e| e.to_string())?,
        Actor::parse(BOB).map_err(|e| e.to_string())?,
    ];
    let policy = Config::default().claims;
    store
        .update("agent:base", |_| {
            let mut change = Change::new(
                Message::new(format!("claims: import {n} claims"))
                    .trailer(message::OP, "bench.import")
                    .trailer(message::ACTOR, "agent:base"),
            );
            for i in 0..n {
                let ctx = Ctx {
                    actor: &owners[usize::from(i >= n / 2)],
                    now: t0(),
                    policy: &policy,
                };
                let id = ClaimId::parse(&format!("base-{i}"))?;
                let step = claims::claim(None, &id, &ctx, &ClaimRequest::default(), || {
                    Ok::<_, baton::Error>(None)
                })?;
                change.put_toml(claims::path(&id), &step.claim)?;
            }
            Ok(Update::Write(change, ()))
        })
        .map_err(|e| format!("writing the base: {e:?}"))
        .map(drop)
}

/// How one side's operations split up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mix {
    contested: usize,
    releases: usize,
    news: usize,
}

/// `ops` one-file operations on one side: `contested` claims of `C-<i>`
/// (the same ids on both sides), a fifth releases of this side's half of the
/// base claims, the rest claims of new ids `<side>-<i>`; interleaved.
fn diverge(dir: &Path, side: &str, actor: &str, ops: usize, contested: usize, base: usize) -> Res<Mix> {
    let store = Store::discover(dir).map_err(|e| e.to_string())?;
    let actor = Actor::parse(actor).map_err(|e| e.to_string())?;
    let releases = (ops / 5).min(base / 2);
    let offset = if side == "a" { 0 } else { base / 2 };
    let (mut c, mut r, mut n) = (0, 0, 0);
    for k in 0..ops {
        let (id, release) = if c < contested && k % (ops / contested.max(1)).max(1) == 0 {
            c += 1;
            (format!("C-{}", c - 1), false)
        } else if r < releases && k % 5 == 1 {
            r += 1;
            (format!("base-{}", offset + r - 1), true)
        } else {
            n += 1;
            (format!("{side}-{}", n - 1), false)
        };
        let id = ClaimId::parse(&id).map_err(|e| e.to_string())?;
        write_op(&store, &actor, &id, release, k as i64 + 1)?;
    }
    Ok(Mix {
        contested: c,
        releases: r,
        news: n,
    })
}

/// Runs a command once per fresh copy of B (from a template) and of the
/// remote; only the command itself is timed.
struct Runner {
    root: PathBuf,
    bare: PathBuf,
    runs: usize,
    copies: usize,
}

impl Runner {
    fn fresh(&mut self, tmpl_b: &Path) -> Res<(PathBuf, PathBuf)> {
        self.copies += 1;
        let dir = self.root.join(format!("run-{}", self.copies));
        std::fs::create_dir(&dir).map_err(|e| e.to_string())?;
        let (rb, rbare) = (dir.join("b"), dir.join("remote.git"));
        copy(tmpl_b, &rb)?;
        copy(&self.bare, &rbare)?;
        git(&rb, &["remote", "set-url", "origin", p(&rbare)?])?;
        Ok((dir, rb))
    }

    /// `make` builds the command (untimed, it may prepare the copy);
    /// `check` looks at the first run's stdout.
    fn timed(
        &mut self,
        tmpl_b: &Path,
        what: &str,
        make: &dyn Fn(&Path) -> Command,
        check: &dyn Fn(&str, &Path) -> Res<()>,
    ) -> Res<Vec<Duration>> {
        let mut samples = Vec::new();
        for n in 0..WARMUPS + self.runs {
            let (dir, rb) = self.fresh(tmpl_b)?;
            let c = make(&rb);
            let started = Instant::now();
            let out = output(c, what)?;
            let took = started.elapsed();
            if n == 0 {
                check(&out, &rb)?;
            }
            if n >= WARMUPS {
                samples.push(took);
            }
            std::fs::remove_dir_all(dir).map_err(|e| e.to_string())?;
        }
        Ok(samples)
    }
}

fn run() -> Res<()> {
    let bin = baton_bin()?;
    let runs = env_num("BATON_SYNC_BENCH_RUNS", 11)?.max(1);
    let ops = env_num("BATON_SYNC_BENCH_OPS", 1000)?.max(1);
    let base = env_num("BATON_SYNC_BENCH_BASE", 10_000)?;
    let contested = env_num("BATON_SYNC_BENCH_CONTESTED", 100)?.min(ops);

    let root = tempfile::Builder::new()
        .prefix("baton-sync-bench-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let r = root.path();
    let (bare, a, b) = (r.join("remote.git"), r.join("a"), r.join("b"));
    eprintln!("setting up: base {base} claims, {ops} operations per side ({contested} contested)...");
    let setup = Instant::now();
    git(r, &["init", "-q", "--bare", p(&bare)?])?;
    for clone in [&a, &b] {
        git(r, &["clone", "-q", p(&bare)?, p(clone)?])?;
        git(clone, &["config", "user.name", "bench"])?;
        git(clone, &["config", "user.email", "bench@localhost"])?;
    }
    baton(&bin, &a, ALICE, &["init"])?;
    write_base(&Store::discover(&a).map_err(|e| e.to_string())?, base)?;
    baton(&bin, &a, ALICE, &["sync"])?;
    let joined = baton(&bin, &b, BOB, &["init"])?;
    if joined["adopted"] != true {
        return Err(format!("B did not adopt the remote state: {joined}"));
    }
    let mix = diverge(&a, "a", ALICE, ops, contested, base)?;
    if diverge(&b, "b", BOB, ops, contested, base)? != mix {
        return Err("the two sides' operations do not mirror each other".into());
    }
    let contested = mix.contested;
    let pushed = baton(&bin, &a, ALICE, &["sync"])?;
    if pushed["action"] != "pushed" {
        return Err(format!("A did not publish: {pushed}"));
    }
    // B as it is before its sync, and the remote with A's 1 000 operations.
    let (tmpl_b, tmpl_bare) = (r.join("template-b"), r.join("template-remote.git"));
    copy(&b, &tmpl_b)?;
    copy(&bare, &tmpl_bare)?;
    // A copy of B that has fetched (for the in-process merge).
    let fetched = r.join("fetched-b");
    copy(&b, &fetched)?;
    git(
        &fetched,
        &["fetch", "-q", "origin", "+refs/baton/*:refs/remotes/origin/baton/*"],
    )?;

    // B again, as it would be after `git gc` (the daemon and `doctor --fix`
    // run `git gc --auto`): its objects in a pack instead of loose files.
    let tmpl_b_packed = r.join("template-b-packed");
    copy(&b, &tmpl_b_packed)?;
    git(&tmpl_b_packed, &["gc", "-q"])?;
    let setup_time = setup.elapsed();

    let mut runner = Runner {
        root: r.to_path_buf(),
        bare: tmpl_bare,
        runs,
        copies: 0,
    };
    // 1. baton sync, end to end.
    let sync_samples = runner.timed(
        &tmpl_b,
        "baton sync",
        &|rb| {
            let mut c = command(&bin, rb);
            c.args(["--json", "--actor", BOB, "sync"]);
            c
        },
        &|out, rb| check_result(out, rb, base, mix),
    )?;
    // 1b. The same with B's objects packed.
    let packed_samples = runner.timed(
        &tmpl_b_packed,
        "baton sync (packed)",
        &|rb| {
            let mut c = command(&bin, rb);
            c.args(["--json", "--actor", BOB, "sync"]);
            c
        },
        &|out, rb| check_result(out, rb, base, mix),
    )?;
    // 2. The transport alone: git fetch of the baton refs, and git push of
    // B's unpublished operations after that fetch (to a side ref: the same
    // objects but for the merge commit and its few trees).
    let fetch_samples = runner.timed(
        &tmpl_b,
        "git fetch",
        &|rb| {
            let mut c = command(Path::new("git"), rb);
            c.args([
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--prune",
                "origin",
                "+refs/baton/*:refs/remotes/origin/baton/*",
            ]);
            c
        },
        &|_, _| Ok(()),
    )?;
    let push_samples = runner.timed(
        &tmpl_b,
        "git push",
        &|rb| {
            // As in sync, B has A's objects when it pushes (untimed fetch).
            let fetched = git(
                rb,
                &["fetch", "-q", "origin", "+refs/baton/*:refs/remotes/origin/baton/*"],
            );
            if let Err(e) = fetched {
                panic!("{e}");
            }
            let mut c = command(Path::new("git"), rb);
            c.args([
                "push",
                "--quiet",
                "--porcelain",
                "origin",
                "refs/baton/state:refs/bench/b",
            ]);
            c
        },
        &|_, _| Ok(()),
    )?;

    // 3. The merge alone, in-process (B with A's state already fetched).
    let store = Store::discover(&fetched).map_err(|e| e.to_string())?;
    let local = store.tip().map_err(|e| e.to_string())?.ok_or("B has no state")?;
    let theirs = store
        .resolve("refs/remotes/origin/baton/state")
        .map_err(|e| e.to_string())?
        .ok_or("B did not fetch")?;
    let mut merge_samples = Vec::new();
    for n in 0..WARMUPS + runs {
        let started = Instant::now();
        let (_, notes) =
            baton::ops::sync::merge_commit(&store, local, theirs, "origin", BOB).map_err(|e| e.to_string())?;
        let took = started.elapsed();
        let lost = notes.iter().filter(|n| matches!(n, baton::sync::Note::Lost(_))).count();
        if lost != contested {
            return Err(format!("merge_commit lost {lost}, expected {contested}"));
        }
        if n >= WARMUPS {
            merge_samples.push(took);
        }
    }
    // What `sync` asks before deciding to merge: is either tip an ancestor of the other?
    let mut ancestry_samples = Vec::new();
    for n in 0..WARMUPS + runs {
        let started = Instant::now();
        let behind = store.is_ancestor(local, theirs).map_err(|e| e.to_string())?;
        let ahead = store.is_ancestor(theirs, local).map_err(|e| e.to_string())?;
        let took = started.elapsed();
        if behind || ahead {
            return Err("the clones did not diverge".into());
        }
        if n >= WARMUPS {
            ancestry_samples.push(took);
        }
    }

    if std::env::var_os("BATON_SYNC_BENCH_KEEP").is_some() {
        // For looking into the repositories: template-b is B before its sync.
        eprintln!("kept {}", root.keep().display());
    }
    let sync = Stats::of(&sync_samples);
    let packed = Stats::of(&packed_samples);
    let fetch = Stats::of(&fetch_samples);
    let push = Stats::of(&push_samples);
    let merge = Stats::of(&merge_samples);
    let ancestry = Stats::of(&ancestry_samples);
    println!(
        "sync merge: base {base} claims, {ops} operations per side ({contested} contested), \
         {runs} runs after {WARMUPS} warmups (setup {:.1} s)",
        setup_time.as_secs_f64()
    );
    println!("| measured | median ms | p95 ms | min ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    for (name, s) in [
        ("`baton sync` (fetch + merge + push), release binary", &sync),
        ("`baton sync`, B's objects packed (after `git gc`)", &packed),
        ("`git fetch` of refs/baton/* alone (A's operations)", &fetch),
        ("`git push` of B's operations alone (after the fetch)", &push),
        ("`baton::ops::sync::merge_commit` in-process", &merge),
        ("ancestry checks in-process (`Store::is_ancestor` both ways)", &ancestry),
    ] {
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} |",
            ms(s.p50),
            ms(s.p95),
            ms(s.min),
            ms(s.max)
        );
    }
    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    println!(
        "{}: `baton sync` merging {ops}+{ops} operations, median {:.1} ms (p95 {:.1} ms), target <= {} ms",
        verdict(sync.p50 <= TARGET),
        ms(sync.p50),
        ms(sync.p95),
        TARGET.as_millis()
    );
    println!(
        "{}: the same after `git gc` in B, median {:.1} ms (p95 {:.1} ms), target <= {} ms",
        verdict(packed.p50 <= TARGET),
        ms(packed.p50),
        ms(packed.p95),
        TARGET.as_millis()
    );
    println!(
        "{}: the 3-way merge itself (merge_commit), median {:.1} ms (p95 {:.1} ms), target <= {} ms",
        verdict(merge.p50 <= TARGET),
        ms(merge.p50),
        ms(merge.p95),
        TARGET.as_millis()
    );
    println!(
        "      git transport (fetch + push medians) {:.1} ms of the {:.1} ms",
        ms(fetch.p50 + push.p50),
        ms(sync.p50)
    );
    Ok(())
}

/// The first measured sync must have merged, lost exactly the contested
/// claims, published, and kept every claim of both sides.
fn check_result(out: &str, b: &Path, base: usize, mix: Mix) -> Res<()> {
    let v: serde_json::Value = serde_json::from_str(out).map_err(|e| e.to_string())?;
    if v["action"] != "merged" {
        return Err(format!("expected a merge: {v}"));
    }
    let lost = v["lost"].as_array().map_or(0, Vec::len);
    if lost != mix.contested {
        return Err(format!("lost {lost} claims, expected {}", mix.contested));
    }
    let store = Store::discover(b).map_err(|e| e.to_string())?;
    let snap = store.snapshot().map_err(|e| e.to_string())?;
    let files = snap.files_under("claims").map_err(|e| e.to_string())?.len();
    let expected = base + mix.contested + 2 * mix.news;
    if files != expected {
        return Err(format!("{files} claim files after the merge, expected {expected}"));
    }
    Ok(())
}
