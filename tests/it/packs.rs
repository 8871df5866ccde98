//! How a workflow run's ledger reaches git (docs/storage.md, "Packed
//! writes"): every step result is its own commit, the commits land from a
//! writer thread as packs baton writes itself, and a run leaves one pack.
//! Checked with git's own tools (`verify-pack`, `fsck --strict`, `gc`), so
//! a pack git cannot read fails here.

#![cfg(unix)]

use crate::common::{Repo, STATE_REF};

const ACTOR: &str = "agent:packer";

fn define_steps(repo: &Repo, steps: usize) {
    let mut text = String::from("name = \"many\"\n");
    for i in 1..=steps {
        text.push_str(&format!("[[steps]]\nid = \"s{i}\"\nrun = [\"true\"]\n"));
    }
    let dir = repo.path().join(".baton/workflows");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("many.toml"), text).unwrap();
}

fn packs(repo: &Repo) -> Vec<String> {
    let dir = repo.path().join(".git/objects/pack");
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".idx"))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn every_step_result_is_its_own_commit_in_one_pack_git_can_read() {
    let repo = Repo::new();
    define_steps(&repo, 12);
    let before = repo.commit_count();
    let run = repo.run(ACTOR, &["workflow", "run", "many", "--execute"]).ok();
    let id = run["run"]["id"].as_str().unwrap().to_owned();

    // start + 12 step results + the end, each a commit with its own message, in order.
    assert_eq!(repo.commit_count(), before + 14);
    let log = repo.git(&["log", "--format=%s", "--reverse", STATE_REF]);
    let ours: Vec<&str> = log.lines().filter(|l| l.contains(&id)).collect();
    assert_eq!(ours.len(), 14, "{log}");
    assert!(ours[0].ends_with("started (many)"), "{}", ours[0]);
    for (i, line) in ours[1..13].iter().enumerate() {
        assert!(line.contains(&format!("step s{} succeeded", i + 1)), "{line}");
    }
    assert!(ours[13].ends_with("succeeded"), "{}", ours[13]);
    // Every commit's ledger file parses and shows the steps done so far.
    let commits = repo.git(&["rev-list", "--reverse", STATE_REF]);
    let path = repo
        .git(&["ls-tree", "-r", "--name-only", STATE_REF])
        .lines()
        .find(|p| p.contains(&id))
        .unwrap()
        .to_owned();
    let mut done_before = 0;
    for commit in commits.lines().skip(before) {
        let text = repo.git(&["show", &format!("{commit}:{path}")]);
        let record: serde_json::Value = serde_json::from_str(&text).unwrap();
        let done = record["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["status"] == "succeeded")
            .count();
        assert!(done >= done_before, "a later commit shows fewer finished steps");
        done_before = done;
    }
    assert_eq!(done_before, 12);

    // One pack for the whole run, readable by git.
    let packs = packs(&repo);
    assert_eq!(packs.len(), 1, "{packs:?}");
    let verify = repo.git(&["verify-pack", "-v", &format!(".git/objects/pack/{}", packs[0])]);
    assert!(verify.contains(": ok"), "{verify}");
    repo.git(&["fsck", "--strict", "--no-dangling"]);
    assert!(
        !std::fs::read_dir(repo.path().join(".git/objects/pack"))
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().starts_with("tmp_")),
        "no temporary pack files are left behind"
    );
}

#[test]
fn runs_leave_a_pack_each_and_git_gc_folds_them_without_loss() {
    let repo = Repo::new();
    define_steps(&repo, 5);
    for _ in 0..3 {
        repo.run(ACTOR, &["workflow", "run", "many", "--execute"]).ok();
    }
    assert_eq!(packs(&repo).len(), 3);
    let tip = repo.tip();
    repo.git(&["gc", "-q"]);
    assert_eq!(repo.tip(), tip);
    repo.git(&["fsck", "--strict", "--no-dangling"]);
    // baton reads the state git repacked, and writes on top of it.
    let list = repo.run(ACTOR, &["workflow", "list"]).ok();
    assert_eq!(list["runs"].as_array().unwrap().len(), 3, "{list}");
    repo.run(ACTOR, &["workflow", "run", "many", "--execute"]).ok();
    repo.run(ACTOR, &["claims", "claim", "after-gc"]).ok();
    repo.git(&["fsck", "--strict", "--no-dangling"]);
    let doctor = repo.run(ACTOR, &["doctor"]).ok();
    assert_eq!(doctor["ok"], true, "{doctor}");
}

#[test]
fn a_run_folds_earlier_runs_packs_but_not_one_git_keeps() {
    // Packs do not pile up one per run between two `git gc`s: a run's
    // writer rolls up the smallest of the packs before it, geometrically
    // (docs/storage.md, "Packed writes"). A pack with a `.keep` is git's
    // (or another writer's) and stays.
    let repo = Repo::new();
    define_steps(&repo, 3);
    let dir = repo.path().join(".git/objects/pack");
    repo.run(ACTOR, &["workflow", "run", "many", "--execute"]).ok();
    let kept = packs(&repo)[0].clone();
    std::fs::write(dir.join(kept.replace(".idx", ".keep")), "kept by a test\n").unwrap();
    let mut most = 0;
    for _ in 0..15 {
        repo.run(ACTOR, &["workflow", "run", "many", "--execute"]).ok();
        most = most.max(packs(&repo).len());
    }
    let now = packs(&repo);
    assert!(now.contains(&kept), "{now:?}");
    // 16 runs; never more than the kept pack, four left as they are and the
    // last run's own.
    assert!(most <= 6, "{most} packs at most; now {now:?}");
    repo.git(&["fsck", "--strict", "--no-dangling"]);
    for pack in &now {
        let verify = repo.git(&["verify-pack", &format!(".git/objects/pack/{pack}")]);
        assert!(verify.is_empty() || verify.contains("ok"), "{verify}");
    }
    let list = repo.run(ACTOR, &["workflow", "list"]).ok();
    assert_eq!(list["runs"].as_array().unwrap().len(), 16, "{list}");
    let doctor = repo.run(ACTOR, &["doctor"]).ok();
    assert_eq!(doctor["ok"], true, "{doctor}");
}

#[test]
fn a_claim_landing_during_a_run_is_kept_by_the_runs_writer() {
    // The writer retries on a moved ref: a claim made while the run goes on
    // stays in the state, and the run's commits come after it.
    let repo = Repo::new();
    let dir = repo.path().join(".baton/workflows");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("slow.toml"),
        "name = \"slow\"\n[[steps]]\nid = \"a\"\nrun = [\"sleep\", \"1\"]\n[[steps]]\nid = \"b\"\nrun = [\"true\"]\n",
    )
    .unwrap();
    let mut runner = repo.cmd(ACTOR);
    let runner = std::thread::spawn(move || {
        runner
            .args(["--json", "workflow", "run", "slow", "--execute"])
            .output()
            .unwrap()
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    repo.run(ACTOR, &["claims", "claim", "meanwhile"]).ok();
    let out = runner.join().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(repo.claim("meanwhile")["state"], "active");
    assert!(repo.tip_message().contains("succeeded"), "{}", repo.tip_message());
    repo.git(&["fsck", "--strict", "--no-dangling"]);
}

#[test]
fn two_runs_and_a_claimant_at_once_lose_nothing() {
    // Three writers on one ref: two runners' writers (each retrying its
    // batches on the moved ref and merging its own packs) and a claimant.
    let repo = Repo::new();
    define_steps(&repo, 15);
    let before = repo.commit_count();
    let runners: Vec<_> = (0..2)
        .map(|_| {
            let mut cmd = repo.cmd(ACTOR);
            std::thread::spawn(move || {
                cmd.args(["--json", "workflow", "run", "many", "--execute"])
                    .output()
                    .unwrap()
            })
        })
        .collect();
    for i in 0..10 {
        repo.run(ACTOR, &["claims", "claim", &format!("during-{i}")]).ok();
    }
    for runner in runners {
        let out = runner.join().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // 2 × (start + 15 results + end) + 10 claims, nothing lost.
    assert_eq!(repo.commit_count(), before + 2 * 17 + 10);
    for i in 0..10 {
        assert_eq!(repo.claim(&format!("during-{i}"))["state"], "active");
    }
    let list = repo.run(ACTOR, &["workflow", "list"]).ok();
    let runs = list["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{list}");
    assert!(runs.iter().all(|r| r["status"] == "succeeded"), "{list}");
    repo.git(&["fsck", "--strict", "--no-dangling"]);
}
