//! Helpers shared by the integration tests: a throwaway git repository per
//! test, running the built `baton` binary in it, and reading the state ref
//! with plain git, so the tests check what baton wrote, not what it says.
//!
//! Every binary that includes this module uses a different subset of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_fs::TempDir;
use serde_json::Value;

pub const STATE_REF: &str = "refs/baton/state";

/// A fixed clock for tests that depend on time (`BATON_NOW`).
pub const T0: &str = "2026-01-01T00:00:00Z";

/// `T0` plus `minutes`, as RFC 3339 (for `BATON_NOW`).
pub fn t0_plus_minutes(minutes: i64) -> String {
    let t0 = chrono::DateTime::parse_from_rfc3339(T0).expect("T0 parses");
    (t0 + chrono::Duration::minutes(minutes))
        .with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `T0` plus `hours`.
pub fn t0_plus(hours: i64) -> String {
    t0_plus_minutes(hours * 60)
}

/// The environment every child process gets: no system or global git config
/// (so a developer's settings cannot change results), a fixed identity, no
/// prompts, no inherited baton or git-location settings.
pub fn hermetic(cmd: &mut std::process::Command) -> &mut std::process::Command {
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Committer")
        .env("GIT_COMMITTER_EMAIL", "committer@example.com")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("BATON_ACTOR")
        .env_remove("BATON_NOW")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_OBJECT_DIRECTORY")
        .env_remove("GIT_ALTERNATE_OBJECT_DIRECTORIES")
}

/// Write `.baton/workflows/<name>.toml` in `repo` (or the file name given,
/// when it has an extension); returns its path.
pub fn define(repo: &Repo, name: &str, text: &str) -> PathBuf {
    let dir = repo.path().join(".baton/workflows");
    std::fs::create_dir_all(&dir).expect("creating .baton/workflows");
    let file = if name.contains('.') {
        name.to_owned()
    } else {
        format!("{name}.toml")
    };
    let path = dir.join(file);
    std::fs::write(&path, text).expect("writing a workflow definition");
    path
}

/// A process running in the background (a workflow runner a test signals
/// or kills), its stdout and stderr going to files: killed when the test
/// ends early, so none is left behind.
pub struct Background {
    pub child: std::process::Child,
    pub out: PathBuf,
    pub err: PathBuf,
}

impl Background {
    /// Start `cmd` with stdin from /dev/null and output to
    /// `.git/<tag>.out` and `.git/<tag>.err` of `repo`.
    pub fn spawn(cmd: &mut std::process::Command, repo: &Repo, tag: &str) -> Background {
        let out = repo.path().join(format!(".git/{tag}.out"));
        let err = repo.path().join(format!(".git/{tag}.err"));
        let child = cmd
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&out).expect("creating the stdout file"))
            .stderr(std::fs::File::create(&err).expect("creating the stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {:?}: {e}", cmd.get_program()));
        Background { child, out, err }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Wait for it to exit; after `limit` it is killed and the test fails.
    pub fn wait(&mut self, limit: std::time::Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for the child") {
                return status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("baton did not exit within {limit:?}\n{}", self.output());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Its stdout and stderr so far, for failure messages.
    pub fn output(&self) -> String {
        format!(
            "stdout: {}\nstderr: {}",
            std::fs::read_to_string(&self.out).unwrap_or_default(),
            std::fs::read_to_string(&self.err).unwrap_or_default()
        )
    }

    /// Its stdout as the one JSON document `--json` promises.
    pub fn json(&self) -> Value {
        let text = std::fs::read_to_string(&self.out).expect("reading stdout");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {}", self.output()))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // Only when a test failed half-way: never leave the process behind.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The path of the binary under test.
pub fn exe() -> PathBuf {
    assert_cmd::cargo::cargo_bin("baton")
}

/// `baton` with a hermetic environment and no repository chosen yet.
pub fn baton_cmd() -> assert_cmd::Command {
    let mut std_cmd = std::process::Command::new(exe());
    hermetic(&mut std_cmd);
    assert_cmd::Command::from_std(std_cmd)
}

/// The result of one baton run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub args: Vec<String>,
}

impl Run {
    pub fn from_output(args: Vec<String>, out: Output) -> Run {
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            args,
        };
        // Whatever a test checks, baton must never panic.
        assert!(
            !run.stderr.contains("panicked"),
            "baton panicked: {}\n{}",
            run.describe(),
            run.stderr
        );
        run
    }

    pub fn describe(&self) -> String {
        format!(
            "`baton {}` exited {}\nstdout: {}\nstderr: {}",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        )
    }

    /// stdout as the one JSON document `--json` promises.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", self.describe()))
    }

    /// Assert exit 0 and return the JSON.
    pub fn ok(&self) -> Value {
        assert_eq!(self.code, 0, "expected success: {}", self.describe());
        self.json()
    }

    /// Assert exit 0 (text mode) and return stdout.
    pub fn ok_text(&self) -> &str {
        assert_eq!(self.code, 0, "expected success: {}", self.describe());
        &self.stdout
    }

    /// Assert the error shape of the handbook's Conventions: the exit code, `error:` and
    /// `hint:` lines on stderr, and exactly `{"error": {code, message, hint}}`
    /// on stdout. Returns the error object.
    pub fn err(&self, exit: i32, code: &str) -> Value {
        assert_eq!(self.code, exit, "wrong exit code: {}", self.describe());
        assert!(
            self.stderr.lines().any(|l| l.starts_with("error: ")),
            "no `error:` line on stderr: {}",
            self.describe()
        );
        assert!(
            self.stderr.lines().any(|l| l.starts_with("hint: ")),
            "no `hint:` line on stderr: {}",
            self.describe()
        );
        let doc = self.json();
        let obj = doc.as_object().expect("JSON error is an object");
        assert_eq!(obj.len(), 1, "only `error` at the top: {doc}");
        let e = &doc["error"];
        assert_eq!(
            e.as_object().map(|o| o.len()),
            Some(3),
            "error has code, message, hint: {doc}"
        );
        assert_eq!(e["code"], code, "wrong error code: {}", self.describe());
        for field in ["message", "hint"] {
            let s = e[field].as_str().unwrap_or("");
            assert!(!s.is_empty(), "empty {field}: {doc}");
        }
        e.clone()
    }

    /// The error's message (after [`Run::err`]).
    pub fn message(&self) -> String {
        self.json()["error"]["message"].as_str().unwrap_or_default().to_owned()
    }

    pub fn hint(&self) -> String {
        self.json()["error"]["hint"].as_str().unwrap_or_default().to_owned()
    }
}

/// Assert a git command succeeded; its trimmed stdout.
fn git_stdout(args: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "git {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The findings of a `baton doctor --json` document with severity `error`.
pub fn doctor_errors(doc: &Value) -> Vec<Value> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] == "error")
        .cloned()
        .collect()
}

/// A temporary git repository (removed when dropped).
pub struct Repo {
    pub dir: TempDir,
}

impl Repo {
    /// `git init` with a local identity and no baton state.
    pub fn bare_git() -> Repo {
        let dir = TempDir::new().expect("temp dir");
        let repo = Repo { dir };
        repo.git(&["init", "-q"]);
        repo.git(&["config", "user.name", "Test User"]);
        repo.git(&["config", "user.email", "test@example.com"]);
        repo
    }

    /// A git repository with `baton init` done.
    pub fn new() -> Repo {
        let repo = Repo::bare_git();
        let init = repo.run("human:setup", &["init"]);
        assert_eq!(init.ok()["created"], true, "{}", init.describe());
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `baton -C <repo> --json <args>` as `actor`, on the real clock.
    pub fn run(&self, actor: &str, args: &[&str]) -> Run {
        self.run_env(actor, args, &[])
    }

    /// Like [`Repo::run`] with `BATON_NOW` set.
    pub fn run_at(&self, actor: &str, now: &str, args: &[&str]) -> Run {
        self.run_env(actor, args, &[("BATON_NOW", now)])
    }

    pub fn run_env(&self, actor: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = baton_cmd();
        cmd.arg("-C")
            .arg(self.path())
            .arg("--json")
            .args(args)
            .env("BATON_ACTOR", actor);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("running baton");
        Run::from_output(args.iter().map(|s| s.to_string()).collect(), out)
    }

    /// Assert a refusal both ways: with `--json` (the error document, see
    /// [`Run::err`]) and in text mode (`error:` and `hint:` on stderr, nothing
    /// on stdout), and that neither run moved the state ref. Returns the
    /// JSON error run.
    pub fn refuse(&self, actor: &str, args: &[&str], exit: i32, code: &str) -> Run {
        self.refuse_env(actor, args, &[], exit, code)
    }

    pub fn refuse_at(&self, actor: &str, now: &str, args: &[&str], exit: i32, code: &str) -> Run {
        self.refuse_env(actor, args, &[("BATON_NOW", now)], exit, code)
    }

    pub fn refuse_env(&self, actor: &str, args: &[&str], env: &[(&str, &str)], exit: i32, code: &str) -> Run {
        let before = self.tip();
        let run = self.run_env(actor, args, env);
        run.err(exit, code);
        assert_eq!(self.tip(), before, "a refusal moved {STATE_REF}: {}", run.describe());
        let mut text = self.cmd(actor);
        text.args(args);
        for (k, v) in env {
            text.env(k, v);
        }
        let out = text.output().expect("running baton");
        let text_run = Run::from_output(args.iter().map(|s| s.to_string()).collect(), out);
        assert_eq!(text_run.code, exit, "text mode: {}", text_run.describe());
        assert!(
            text_run.stdout.is_empty(),
            "text-mode refusal printed on stdout: {}",
            text_run.describe()
        );
        let lines: Vec<&str> = text_run.stderr.lines().collect();
        assert!(
            lines.first().is_some_and(|l| l.starts_with("error: ")),
            "stderr does not start with `error:`: {}",
            text_run.describe()
        );
        assert!(
            lines.iter().any(|l| l.starts_with("hint: ")),
            "no `hint:` on stderr: {}",
            text_run.describe()
        );
        assert_eq!(
            self.tip(),
            before,
            "a refusal moved {STATE_REF}: {}",
            text_run.describe()
        );
        run
    }

    /// `baton -C <repo>` as `actor`, text mode, for predicate-style assertions.
    pub fn cmd(&self, actor: &str) -> assert_cmd::Command {
        let mut cmd = baton_cmd();
        cmd.arg("-C").arg(self.path()).env("BATON_ACTOR", actor);
        cmd
    }

    /// A `git` command in this repository with the hermetic environment.
    pub fn git_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new("git");
        hermetic(&mut cmd);
        cmd.current_dir(self.path());
        cmd
    }

    /// Run git, assert success, return trimmed stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.git_cmd().args(args).output().expect("running git");
        git_stdout(args, out)
    }

    /// Run git with input on stdin, assert success, return trimmed stdout.
    pub fn git_stdin(&self, args: &[&str], input: &[u8], env: &[(&str, &Path)]) -> String {
        use std::io::Write;
        let mut cmd = self.git_cmd();
        cmd.args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("running git");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("writing to git");
        let out = child.wait_with_output().expect("waiting for git");
        git_stdout(args, out)
    }

    /// `git rev-parse refs/baton/state`, `None` when there is no state.
    pub fn tip(&self) -> Option<String> {
        let out = self
            .git_cmd()
            .args(["rev-parse", "--verify", "--quiet", STATE_REF])
            .output()
            .expect("running git rev-parse");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// The tip, which must exist.
    pub fn state(&self) -> String {
        self.tip().expect("refs/baton/state exists")
    }

    /// Number of commits on the state ref.
    pub fn commit_count(&self) -> usize {
        self.git(&["rev-list", "--count", STATE_REF]).parse().expect("a number")
    }

    /// A file of the current state, read with git.
    pub fn state_file(&self, path: &str) -> Option<String> {
        let out = self
            .git_cmd()
            .args(["show", &format!("{STATE_REF}:{path}")])
            .output()
            .expect("running git show");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The message of the tip commit.
    pub fn tip_message(&self) -> String {
        self.git(&["log", "-1", "--format=%B", STATE_REF])
    }

    /// Write a new state commit by hand with git plumbing (a temporary index):
    /// the tip's tree with `files` set to the given contents. Returns the commit.
    pub fn commit_files(&self, files: &[(&str, &[u8])], message: &str) -> String {
        let edits: Vec<(&str, Option<&[u8]>)> = files.iter().map(|(p, b)| (*p, Some(*b))).collect();
        self.commit_edits(&edits, message)
    }

    /// Like [`Repo::commit_files`]; `None` removes the path.
    pub fn commit_edits(&self, files: &[(&str, Option<&[u8]>)], message: &str) -> String {
        self.commit_with_index(message, false, |git, env| {
            for (path, bytes) in files {
                let Some(bytes) = bytes else {
                    git(&["update-index", "--force-remove", path]);
                    continue;
                };
                let blob = self.git_stdin(&["hash-object", "-w", "--stdin"], bytes, env);
                git(&["update-index", "--add", "--cacheinfo", &format!("100644,{blob},{path}")]);
            }
        })
    }

    /// A state commit on the tip whose tree gets `entries` as `(mode, object
    /// id, path)` index entries: gitlinks and blobs missing from the object
    /// database, which `commit_files` cannot write.
    pub fn commit_raw_entries(&self, entries: &[(&str, &str, &str)], message: &str) -> String {
        self.commit_with_index(message, true, |git, _| {
            for (mode, id, path) in entries {
                git(&["update-index", "--add", "--cacheinfo", &format!("{mode},{id},{path}")]);
            }
        })
    }

    /// A state commit on the tip, its tree built by `fill` in a temporary
    /// index that starts as the tip's tree (`fill` gets git run with that
    /// index, and the environment naming it).
    fn commit_with_index(
        &self,
        message: &str,
        missing_ok: bool,
        fill: impl FnOnce(&dyn Fn(&[&str]) -> String, &[(&str, &Path)]),
    ) -> String {
        let tip = self.state();
        let index = self.path().join(".git").join("test-index");
        let env: [(&str, &Path); 1] = [("GIT_INDEX_FILE", index.as_path())];
        let git_env = |args: &[&str]| {
            let out = self
                .git_cmd()
                .args(args)
                .env("GIT_INDEX_FILE", &index)
                .output()
                .expect("running git");
            assert!(
                out.status.success(),
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        git_env(&["read-tree", &tip]);
        fill(&git_env, &env);
        let tree = if missing_ok {
            git_env(&["write-tree", "--missing-ok"])
        } else {
            git_env(&["write-tree"])
        };
        let commit = self.git_stdin(&["commit-tree", &tree, "-p", &tip], message.as_bytes(), &env);
        self.git(&["update-ref", STATE_REF, &commit, &tip]);
        std::fs::remove_file(&index).ok();
        commit
    }

    /// Every claim, history included (`claims list --all --json`), by id.
    pub fn claims(&self) -> Vec<Value> {
        let run = self.run("human:reader", &["claims", "list", "--all"]);
        run.ok()["claims"].as_array().expect("claims is a list").clone()
    }

    /// One claim as `claims status --json` shows it.
    pub fn claim(&self, id: &str) -> Value {
        self.run("human:reader", &["claims", "status", id]).ok()["claim"].clone()
    }
}

/// The shard path of a claim, computed here independently of baton's code
/// (gix's hasher used directly):
/// `claims/<first two hex digits of sha1(id)>/<id>.toml` (docs/storage.md).
pub fn claim_path(id: &str) -> String {
    let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
    hasher.update(id.as_bytes());
    let digest = hasher
        .try_finalize()
        .expect("a test id carries no collision attack")
        .to_hex()
        .to_string();
    format!("claims/{}/{id}.toml", &digest[..2])
}

/// The daemon's pid file in `repo`.
pub fn pid_file(repo: &Repo) -> PathBuf {
    repo.path().join(".git/baton/daemon.pid")
}

/// Whether a process exists and is not a zombie.
pub fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}

/// Polls `ok` until it holds; fails the test naming `what` after `timeout`.
pub fn wait_until(what: &str, timeout: std::time::Duration, mut ok: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !ok() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The crate's `src/`, for the tests that read the source (layers, codes).
pub fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `path` (a file or a directory), in path order.
pub fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for entry in entries {
            rust_files(&entry, out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}
