//! Everyday use with two clones of a bare remote (docs/sync.md): a plain
//! `git fetch` is what baton commands see (fast-forwarded, or the
//! divergence named), a plain `git push` carries the state after
//! `baton init --hooks`, and the hooks find `baton` on PATH before the
//! binary that wrote them.

#[allow(unused_imports)] // the helpers re-export more than these tests use
use std::path::Path;
use std::process::Command;

use crate::sync_support::{hermetic, rev_parse, sh_quote, write_hook, Clone, Net, STATE_REF};

const ALICE: &str = "agent:alice";
const BOB: &str = "agent:bob";
const TRACKING: &str = "refs/remotes/origin/baton/state";

/// `git <args>` in the clone with `path` as PATH; its output.
fn git_with_path(c: &Clone, path: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new("git");
    hermetic(&mut cmd).current_dir(&c.dir).env("PATH", path).args(args);
    cmd.output().expect("git runs")
}

/// A PATH with git and a shell, and no `baton`.
const PLAIN_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

#[test]
fn a_plain_fetch_fast_forwards_the_local_state() {
    let net = Net::new();
    let a = net.joined("a");
    let b = net.joined("b");
    a.run(ALICE, &["claims", "claim", "T-20"]).ok();
    a.run(ALICE, &["sync"]).ok();
    let published = net.tip();

    // A plain fetch: the refspec baton init installed brings the state in.
    b.git(&["fetch", "-q", "origin"]);
    assert_eq!(rev_parse(&b.dir, TRACKING), published);
    assert_ne!(b.tip(), published, "fetch alone never moves the local state ref");

    let status = b.run(BOB, &["claims", "status", "T-20"]);
    let doc = status.ok();
    assert_eq!(doc["claim"]["owner"], ALICE, "{}", status.describe());
    assert!(status.stderr.contains("fast-forward"), "{}", status.describe());
    assert_eq!(b.tip(), published, "the local state caught up");
    // The reflog names the move.
    let reflog = b.git(&["reflog", "show", "-n", "1", STATE_REF]);
    assert!(reflog.contains("fast-forward to fetched origin"), "{reflog}");
    // And a claim by bob is refused, naming the holder.
    b.run(BOB, &["claims", "claim", "T-20"]).err(1, "claim_held");

    // Nothing more fetched: nothing more to say.
    let again = b.run(BOB, &["claims", "status", "T-20"]);
    again.ok();
    assert!(again.stderr.is_empty(), "{}", again.describe());
}

#[test]
fn a_plain_fetch_that_diverged_is_named_and_sync_merges_it() {
    let net = Net::new();
    let a = net.joined("a");
    let b = net.joined("b");
    b.run(BOB, &["claims", "claim", "B-1"]).ok();
    a.run(ALICE, &["claims", "claim", "T-20"]).ok();
    a.run(ALICE, &["sync"]).ok();
    b.git(&["fetch", "-q", "origin"]);
    let local = b.tip();

    let status = b.run(BOB, &["claims", "status", "T-20"]);
    let err = status.err(1, "claim_not_merged");
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("held by agent:alice"), "{message}");
    assert!(!err["hint"].as_str().unwrap().contains("claims claim"), "{err}");
    assert!(err["hint"].as_str().unwrap().contains("baton sync"), "{err}");
    assert!(
        status.stderr.contains("differs from the local one") && status.stderr.contains("baton sync"),
        "{}",
        status.describe()
    );
    assert_eq!(b.tip(), local, "a divergence is not resolved behind the user's back");

    // Still said on the next command (-q too), until a sync merges.
    let quiet = b.run(BOB, &["-q", "claims", "list"]);
    quiet.ok();
    assert!(quiet.stderr.contains("differs"), "{}", quiet.describe());
    assert_eq!(b.run(BOB, &["sync"]).ok()["action"], "merged");
    let after = b.run(BOB, &["claims", "status", "T-20"]);
    assert_eq!(after.ok()["claim"]["owner"], ALICE);
    assert!(after.stderr.is_empty(), "{}", after.describe());
}

#[test]
fn local_work_ahead_of_the_fetch_is_left_alone() {
    let net = Net::new();
    let a = net.joined("a");
    a.run(ALICE, &["claims", "claim", "A-1"]).ok();
    let local = a.tip();
    a.git(&["fetch", "-q", "origin"]);
    let status = a.run(ALICE, &["claims", "status", "A-1"]);
    status.ok();
    assert!(status.stderr.is_empty(), "{}", status.describe());
    assert_eq!(a.tip(), local);
    // Judged once per fetch: the marker remembers the fetched tip.
    let seen = std::fs::read_to_string(a.dir.join(".git/baton/fetch-seen")).unwrap();
    assert!(seen.contains(&rev_parse(&a.dir, TRACKING).unwrap()), "{seen}");
}

#[test]
fn git_push_carries_the_state_after_init_hooks() {
    let net = Net::new();
    let a = net.joined("a");
    let init = a.run_text("human:setup", &["init", "--hooks"]);
    let text = init.ok_text();
    assert!(text.contains("pre-push hook"), "{text}");
    assert!(text.contains("the hooks run `baton` from PATH, else "), "{text}");

    a.run(ALICE, &["claims", "claim", "T-30"]).ok();
    assert_ne!(net.tip(), a.tip(), "not published yet");
    let push_branch = |c: &Clone, path: &str| {
        let commit = git_with_path(c, path, &["commit", "-q", "--allow-empty", "-m", "work"]);
        assert!(commit.status.success(), "{}", String::from_utf8_lossy(&commit.stderr));
        git_with_path(c, path, &["push", "-q", "origin", "HEAD:refs/heads/main"])
    };
    let push = push_branch(&a, PLAIN_PATH);
    assert!(push.status.success(), "{}", String::from_utf8_lossy(&push.stderr));
    assert_eq!(net.tip(), a.tip(), "the pre-push hook published the state");
    assert_eq!(
        rev_parse(&net.bare, "refs/heads/main"),
        rev_parse(&a.dir, "HEAD"),
        "the branch was pushed as git pushes it"
    );
    assert_eq!(net.claims()["T-30"].owner, ALICE);

    // A state that cannot be published never stops the branch push.
    net.hook(
        "pre-receive",
        "#!/bin/sh\nwhile read old new ref; do [ \"$ref\" = refs/baton/state ] && exit 1; done\nexit 0\n",
    );
    a.run(ALICE, &["claims", "claim", "T-31"]).ok();
    let push = push_branch(&a, PLAIN_PATH);
    assert!(push.status.success(), "{}", String::from_utf8_lossy(&push.stderr));
    assert!(
        String::from_utf8_lossy(&push.stderr).contains("was not published to origin"),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );
    assert_eq!(rev_parse(&net.bare, "refs/heads/main"), rev_parse(&a.dir, "HEAD"));
}

#[test]
fn hooks_prefer_baton_on_path_and_fall_back_to_the_writer() {
    let net = Net::new();
    let a = net.joined("a");
    a.run("human:setup", &["init", "--hooks"]).ok();
    let hook = std::fs::read_to_string(a.dir.join(".git/hooks/pre-commit")).unwrap();
    let exe = assert_cmd::cargo::cargo_bin("baton");
    assert!(hook.contains("command -v baton"), "{hook}");
    assert!(hook.contains(&exe.display().to_string()), "{hook}");

    // A `baton` on PATH is the one the hooks run.
    let bin = a.dir.join(".git/fake-bin");
    let log = a.dir.join(".git/path-baton-ran");
    write_hook(
        &bin.join("baton"),
        &format!(
            "#!/bin/sh\necho \"$@\" >> {}\nexec {} \"$@\"\n",
            sh_quote(&log),
            sh_quote(&exe)
        ),
    );
    let path = format!("{}:{PLAIN_PATH}", bin.display());
    let commit = git_with_path(&a, &path, &["commit", "-q", "--allow-empty", "-m", "x"]);
    assert!(commit.status.success(), "{}", String::from_utf8_lossy(&commit.stderr));
    let push = git_with_path(&a, &path, &["push", "-q", "origin", "HEAD:refs/heads/main"]);
    assert!(push.status.success(), "{}", String::from_utf8_lossy(&push.stderr));
    let ran = std::fs::read_to_string(&log).unwrap();
    assert!(ran.contains("doctor --hook"), "{ran}");
    assert_eq!(ran.matches("sync --remote origin").count(), 1, "{ran}");
    assert!(!Path::new(&a.dir.join(".git/hooks/pre-push.local")).exists());

    // `baton sync` itself pushes through the hook without starting a second sync.
    std::fs::remove_file(&log).unwrap();
    a.run(ALICE, &["claims", "claim", "T-40"]).ok();
    let mut sync = Command::new(assert_cmd::cargo::cargo_bin("baton"));
    hermetic(&mut sync)
        .env("PATH", &path)
        .args(["-C", a.dir.to_str().unwrap(), "--actor", ALICE, "sync"]);
    let out = sync.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(net.tip(), a.tip());
    assert!(
        !log.exists(),
        "the hook ran baton again: {:?}",
        std::fs::read_to_string(&log)
    );
}

#[test]
fn a_foreign_pre_push_hook_keeps_running_first_and_can_stop_the_push() {
    let net = Net::new();
    let a = net.joined("a");
    a.hook(
        "pre-push",
        "#!/bin/sh
cat >/dev/null
echo ran >> \"$(git rev-parse --git-dir)/local-pre-push\"
exit \"${STOP_PUSH:-0}\"
",
    );
    a.run("human:setup", &["init", "--hooks"]).ok();
    assert!(a.dir.join(".git/hooks/pre-push.local").exists());
    a.run(ALICE, &["claims", "claim", "T-50"]).ok();
    let commit = git_with_path(&a, PLAIN_PATH, &["commit", "-q", "--allow-empty", "-m", "x"]);
    assert!(commit.status.success());
    let mut stopped = Command::new("git");
    hermetic(&mut stopped)
        .current_dir(&a.dir)
        .env("PATH", PLAIN_PATH)
        .env("STOP_PUSH", "1")
        .args(["push", "-q", "origin", "HEAD:refs/heads/main"]);
    let stopped = stopped.output().unwrap();
    assert!(!stopped.status.success(), "the local hook's refusal stops the push");
    assert_ne!(net.tip(), a.tip(), "nothing published when the push was stopped");
    let push = git_with_path(&a, PLAIN_PATH, &["push", "-q", "origin", "HEAD:refs/heads/main"]);
    assert!(push.status.success(), "{}", String::from_utf8_lossy(&push.stderr));
    assert_eq!(net.tip(), a.tip());
    let ran = std::fs::read_to_string(a.dir.join(".git/local-pre-push")).unwrap();
    // Once per git push, and once more for baton's own push of the state.
    assert_eq!(ran.lines().count(), 3, "{ran}");
}
