//! Helpers for the sync tests: a bare repository standing in for the shared
//! remote, clones of it on local paths, the built `baton` binary run in a
//! clone, and reading state refs with plain git (so the tests check what is
//! in the repositories, not what baton says is there).
//!
//! Every test gets its own temporary directory; every child process gets a
//! hermetic environment (no global or system git config, a fixed identity).
#![allow(dead_code)]

pub use crate::common::{claim_path, hermetic, Run, STATE_REF};

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use assert_fs::TempDir;

/// `git <args>` in `dir`; panics with git's output unless it succeeds.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_output(dir, args);
    assert!(
        out.status.success(),
        "git {} in {} failed: {}",
        args.join(" "),
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn git_output(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new("git");
    hermetic(&mut cmd).current_dir(dir).args(args);
    cmd.output().expect("git runs")
}

/// The commit `rev` points at in the repository at `dir`, if it exists.
pub fn rev_parse(dir: &Path, rev: &str) -> Option<String> {
    let out = git_output(dir, &["rev-parse", "--verify", "--quiet", rev]);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Every file under `prefix` (`""`: the whole tree) in the tree of `rev`, path -> content.
pub fn files_at(dir: &Path, rev: &str, prefix: &str) -> BTreeMap<String, String> {
    let mut args = vec!["ls-tree", "-r", rev];
    if !prefix.is_empty() {
        args.extend(["--", prefix]);
    }
    let listing = git(dir, &args);
    let entries: Vec<(String, String)> = listing
        .lines()
        .filter_map(|l| {
            let (meta, path) = l.split_once('\t')?;
            let oid = meta.split_whitespace().nth(2)?;
            Some((path.to_owned(), oid.to_owned()))
        })
        .collect();
    if entries.is_empty() {
        return BTreeMap::new();
    }
    // One `git cat-file --batch` for all blobs.
    let mut cmd = Command::new("git");
    hermetic(&mut cmd)
        .current_dir(dir)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().expect("git cat-file runs");
    let mut input = String::new();
    for (_, oid) in &entries {
        input.push_str(oid);
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("git cat-file output");
    writer.join().expect("writer").expect("write to cat-file");
    assert!(out.status.success(), "git cat-file --batch failed");
    let mut rest: &[u8] = &out.stdout;
    let mut files = BTreeMap::new();
    for (path, _) in entries {
        let nl = rest.iter().position(|&b| b == b'\n').expect("header");
        let header = String::from_utf8_lossy(&rest[..nl]).into_owned();
        let size: usize = header
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad cat-file header {header:?}"));
        let body = &rest[nl + 1..nl + 1 + size];
        files.insert(path, String::from_utf8_lossy(body).into_owned());
        rest = &rest[nl + 1 + size + 1..];
    }
    files
}

/// One claim as read from its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimFile {
    pub path: String,
    pub state: String,
    pub owner: String,
    pub generation: i64,
}

/// Every claim in the state at `rev`, id -> claim; panics on a file that
/// does not parse or lacks `id`, `state` or `owner`.
pub fn claims_at(dir: &Path, rev: &str) -> BTreeMap<String, ClaimFile> {
    files_at(dir, rev, "claims")
        .into_iter()
        .map(|(path, text)| {
            let t: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{path} does not parse: {e}\n{text}"));
            let field = |k: &str| {
                t.get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_else(|| panic!("{path} has no {k}: {text}"))
                    .to_owned()
            };
            let id = field("id");
            assert!(path.ends_with(&format!("/{id}.toml")), "{path} holds claim {id}");
            let claim = ClaimFile {
                state: field("state"),
                owner: field("owner"),
                generation: t
                    .get("generation")
                    .and_then(|v| v.as_integer())
                    .unwrap_or_else(|| panic!("{path} has no generation")),
                path,
            };
            (id, claim)
        })
        .collect()
}

/// The shared remote: a bare repository in its own temporary directory.
pub struct Net {
    pub root: TempDir,
    pub bare: PathBuf,
}

impl Net {
    pub fn new() -> Net {
        let root = TempDir::new().expect("temp dir");
        let bare = root.path().join("remote.git");
        git(
            root.path(),
            &["init", "-q", "--bare", bare.to_str().expect("utf-8 path")],
        );
        Net { root, bare }
    }

    /// `git clone` of the remote into `<root>/<name>`.
    pub fn clone(&self, name: &str) -> Clone {
        let dir = self.root.path().join(name);
        git(
            self.root.path(),
            &[
                "clone",
                "-q",
                self.bare.to_str().expect("utf-8 path"),
                dir.to_str().expect("utf-8 path"),
            ],
        );
        git(&dir, &["config", "user.name", "Sync Test"]);
        git(&dir, &["config", "user.email", "sync@example.com"]);
        Clone { dir }
    }

    /// A clone with baton state: `baton init` (adopting the remote's state
    /// when it has some), and for the first clone `baton sync` to publish it.
    pub fn joined(&self, name: &str) -> Clone {
        let c = self.clone(name);
        c.run("human:setup", &["init"]).ok();
        if self.tip().is_none() {
            assert_eq!(c.run("human:setup", &["sync"]).ok()["action"], "pushed");
        }
        assert_eq!(c.tip(), self.tip(), "{name} did not join the remote state");
        c
    }

    /// The remote's `refs/baton/state`.
    pub fn tip(&self) -> Option<String> {
        rev_parse(&self.bare, STATE_REF)
    }

    pub fn claims(&self) -> BTreeMap<String, ClaimFile> {
        claims_at(&self.bare, STATE_REF)
    }

    /// Install a server-side hook (`pre-receive`, ...) in the remote.
    pub fn hook(&self, name: &str, script: &str) {
        write_hook(&self.bare.join("hooks").join(name), script);
    }

    pub fn remove_hook(&self, name: &str) {
        std::fs::remove_file(self.bare.join("hooks").join(name)).expect("remove hook");
    }
}

impl Default for Net {
    fn default() -> Self {
        Net::new()
    }
}

pub fn write_hook(path: &Path, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().expect("hooks dir")).expect("hooks dir");
    std::fs::write(path, script).expect("write hook");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod hook");
}

/// One clone of the remote: a working repository baton runs in.
pub struct Clone {
    pub dir: PathBuf,
}

impl Clone {
    /// `baton -C <clone> --json --actor <actor> <args>`.
    pub fn run(&self, actor: &str, args: &[&str]) -> Run {
        self.run_inner(actor, args, true)
    }

    /// Like [`Clone::run`] without `--json` (the text people read).
    pub fn run_text(&self, actor: &str, args: &[&str]) -> Run {
        self.run_inner(actor, args, false)
    }

    fn run_inner(&self, actor: &str, args: &[&str], json: bool) -> Run {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("baton"));
        hermetic(&mut cmd).arg("-C").arg(&self.dir).arg("--actor").arg(actor);
        if json {
            cmd.arg("--json");
        }
        cmd.args(args);
        let out = cmd.output().expect("baton runs");
        Run::from_output(args.iter().map(|s| s.to_string()).collect(), out)
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(&self.dir, args)
    }

    /// The local `refs/baton/state`.
    pub fn tip(&self) -> Option<String> {
        rev_parse(&self.dir, STATE_REF)
    }

    /// Claims at the local state ref, read with git.
    pub fn claims(&self) -> BTreeMap<String, ClaimFile> {
        claims_at(&self.dir, STATE_REF)
    }

    /// Claim ids as `baton claims list --all` shows them.
    pub fn listed(&self) -> Vec<String> {
        let doc = self.run("human:reader", &["claims", "list", "--all"]).ok();
        doc["claims"]
            .as_array()
            .expect("claims array")
            .iter()
            .map(|c| c["id"].as_str().expect("id").to_owned())
            .collect()
    }

    pub fn hook(&self, name: &str, script: &str) {
        write_hook(&self.dir.join(".git").join("hooks").join(name), script);
    }
}

/// Quote a path for a POSIX shell script.
pub fn sh_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}
