//! The git hooks `baton init --hooks` writes: `pre-commit` runs
//! `baton doctor --hook`; `pre-push` publishes `refs/baton/state` with
//! `baton sync` whenever `git push` goes to a remote that fetches baton
//! state, so plain `git push` carries the state (docs/sync.md). Both find
//! `baton` on PATH, falling back to the binary that wrote them; an existing
//! hook of the same name moves to `<name>.local` and keeps running first.

use std::path::{Path, PathBuf};

use crate::error::code;
use crate::error::{Error, Result};
use crate::store::Store;

/// The line that marks a hook `baton init --hooks` wrote.
pub const HOOK_MARKER: &str = "# installed by baton init --hooks";

/// The hooks baton installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    PreCommit,
    PrePush,
}

impl Hook {
    pub const ALL: [Hook; 2] = [Hook::PreCommit, Hook::PrePush];

    pub fn name(self) -> &'static str {
        match self {
            Hook::PreCommit => "pre-commit",
            Hook::PrePush => "pre-push",
        }
    }
}

/// One hook `init --hooks` saw to.
#[derive(Debug, Clone)]
pub struct Installed {
    pub hook: Hook,
    pub path: PathBuf,
    /// Written now (`false`: it was already baton's).
    pub new: bool,
}

/// What `init --hooks` did, and which binary the hooks fall back to.
#[derive(Debug, Clone)]
pub struct Hooks {
    pub installed: Vec<Installed>,
    /// The binary run when `baton` is not on PATH (the one that wrote the hooks).
    pub fallback: String,
}

/// Where git looks for the hook `name` (honours core.hooksPath).
pub fn hook_path(store: &Store, name: &str) -> PathBuf {
    let fallback = store.git_dir().join("hooks").join(name);
    let Ok(out) = store
        .git()
        .args(["rev-parse", "--git-path", &format!("hooks/{name}")])
        .output()
    else {
        return fallback;
    };
    let rel = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || rel.is_empty() {
        return fallback;
    }
    let p = PathBuf::from(rel);
    if p.is_absolute() {
        p
    } else {
        store.work_dir().unwrap_or(store.git_dir()).join(p)
    }
}

/// Whether `hook` is baton's.
pub fn installed(store: &Store, hook: Hook) -> bool {
    std::fs::read_to_string(hook_path(store, hook.name())).is_ok_and(|t| t.contains(HOOK_MARKER))
}

/// Whether the pre-commit hook runs `baton doctor --hook`.
pub fn hook_installed(store: &Store) -> bool {
    installed(store, Hook::PreCommit)
}

/// Install every hook baton has (those already installed are left as they are).
pub fn install(store: &Store) -> Result<Hooks> {
    let fallback = this_binary();
    let mut done = Vec::new();
    for hook in Hook::ALL {
        let (path, new) = install_one(store, hook, &script(hook, &fallback))?;
        done.push(Installed { hook, path, new });
    }
    Ok(Hooks {
        installed: done,
        fallback,
    })
}

/// The absolute path of this binary, as a hook may name it in single quotes.
fn this_binary() -> String {
    std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "baton".into())
        .replace('\'', "")
}

/// Install one hook; an existing foreign hook moves to `<name>.local`, an
/// older one of baton's is rewritten. Returns (path, written now).
fn install_one(store: &Store, hook: Hook, text: &str) -> Result<(PathBuf, bool)> {
    let path = hook_path(store, hook.name());
    let ours = installed(store, hook);
    if ours && std::fs::read_to_string(&path).is_ok_and(|t| t == text) {
        return Ok((path, false));
    }
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let local = dir.join(format!("{}.local", hook.name()));
    if path.exists() && !ours {
        if local.exists() {
            return Err(Error::refused(
                code::HOOK_EXISTS,
                format!("{} and {} both exist", path.display(), local.display()),
            )
            .with_hint("merge them by hand, then rerun `baton init --hooks`"));
        }
        std::fs::rename(&path, &local)
            .map_err(|e| Error::io(format!("moving the existing hook to {}", local.display()), e))?;
    }
    std::fs::write(&path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(format!("making {} executable", path.display()), e))?;
    }
    Ok((path, true))
}

/// The shell lines that set `baton_bin`: `baton` on PATH, else `fallback`.
fn find_baton(fallback: &str) -> String {
    format!(
        "# baton on PATH, else the binary that wrote this hook.\n\
         baton_bin=$(command -v baton) || baton_bin='{fallback}'\n"
    )
}

fn script(hook: Hook, fallback: &str) -> String {
    let find = find_baton(fallback);
    match hook {
        Hook::PreCommit => format!(
            "#!/bin/sh\n{HOOK_MARKER}\n\
             # An existing hook, if any, was moved to pre-commit.local and runs first.\n\
             hook_dir=$(dirname \"$0\")\n\
             if [ -x \"$hook_dir/pre-commit.local\" ]; then \"$hook_dir/pre-commit.local\" \"$@\" || exit $?; fi\n\
             {find}\
             if [ ! -x \"$baton_bin\" ]; then\n  \
               echo \"baton: not on PATH and $baton_bin is gone; install baton, or remove $0\" >&2\n  \
               exit 1\n\
             fi\n\
             exec \"$baton_bin\" doctor --hook\n"
        ),
        Hook::PrePush => format!(
            "#!/bin/sh\n{HOOK_MARKER}\n\
             # Publishes refs/baton/state (`baton sync`) with every push to a remote that\n\
             # fetches baton state. What git pushes otherwise is unchanged, and a failure\n\
             # here never stops the push.\n\
             # An existing hook, if any, was moved to pre-push.local and runs first.\n\
             hook_dir=$(dirname \"$0\")\n\
             run_local() {{\n  \
               if [ -x \"$hook_dir/pre-push.local\" ]; then \"$hook_dir/pre-push.local\" \"$@\"; else cat >/dev/null; fi\n\
             }}\n\
             # baton's own push of the state (`baton sync`, BATON_PRE_PUSH set) gets only the local hook.\n\
             if [ -n \"$BATON_PRE_PUSH\" ]; then run_local \"$@\"; exit $?; fi\n\
             run_local \"$@\" || exit $?\n\
             remote=$1\n\
             git config --get-all \"remote.$remote.fetch\" 2>/dev/null | grep -q 'refs/baton/' || exit 0\n\
             {find}\
             if [ ! -x \"$baton_bin\" ]; then\n  \
               echo \"baton: not on PATH and $baton_bin is gone: refs/baton/state was not pushed\" >&2\n  \
               exit 0\n\
             fi\n\
             \"$baton_bin\" sync --remote \"$remote\" </dev/null >&2 ||\n  \
               echo \"baton: refs/baton/state was not published to $remote; run \\`baton sync\\`\" >&2\n\
             exit 0\n"
        ),
    }
}
