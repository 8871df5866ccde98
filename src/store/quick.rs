//! The state ref's tip read the way git reads a ref — the loose file, else
//! its line in `packed-refs` — without opening the repository (no git
//! configuration, no object database): for the hooks that run before every
//! edit an agent makes and need only to know whether a machine-local cache
//! is for the tip. Discovery is gix's own (`gix::discover::upwards`, which
//! [`Store::discover`](super::Store::discover) runs first); anything this
//! reading does not model — git's environment naming another repository
//! or configuration (`GIT_DIR`, `GIT_CONFIG_*`, ...), a
//! repository not fully trusted, a bare one, `core.worktree`, `core.bare`,
//! includes, another ref storage, a symbolic ref — answers `None`, and the
//! caller opens the repository as usual.

use std::path::{Path, PathBuf};

use gix::ObjectId;

use super::STATE_REF;

/// Where a repository found from a directory keeps things, and its state tip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quick {
    /// The work tree's root, absolute, as [`Store::work_dir`](super::Store::work_dir) names it.
    pub work_dir: PathBuf,
    /// The common git directory (`.git`; the main one for a linked worktree).
    pub common_dir: PathBuf,
    /// The state ref's tip; `None` when the ref does not exist.
    pub tip: Option<ObjectId>,
}

/// The repository around `dir` and its state tip, or `None` when the full
/// open must decide (see the module doc).
pub fn tip(dir: &Path) -> Option<Quick> {
    // Git's environment can move the repository, its work tree or its
    // configuration: only the plain case is read here.
    if std::env::vars_os().any(|(k, _)| moves_the_repository(k.as_encoded_bytes())) {
        return None;
    }
    let (path, trust) = gix::discover::upwards(dir).ok()?;
    if trust != gix::sec::Trust::Full {
        return None;
    }
    let (git_dir, work_dir) = path.into_repository_and_work_tree_directories();
    let work_dir = std::path::absolute(work_dir?).ok()?;
    let common_dir = match std::fs::read(git_dir.join("commondir")) {
        Ok(raw) => git_dir.join(std::str::from_utf8(&raw).ok()?.trim_end_matches(['\n', '\r'])),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => git_dir.clone(),
        Err(_) => return None,
    };
    if !plain_config(&std::fs::read(common_dir.join("config")).ok()?)
        || common_dir.join("config.worktree").exists()
        || (git_dir != common_dir && git_dir.join("config.worktree").exists())
    {
        return None;
    }
    Some(Quick {
        tip: read_ref(&common_dir)?,
        work_dir,
        common_dir,
    })
}

/// A variable of git's environment that can change which repository,
/// work tree, refs or objects are used, or set configuration that moves
/// the work tree (`GIT_CONFIG_PARAMETERS`, `GIT_CONFIG_COUNT`). The global
/// and system configuration (`GIT_CONFIG_GLOBAL`, `GIT_CONFIG_NOSYSTEM`)
/// cannot: `core.worktree` counts only from the repository's own files
/// (as gix and git read it), and `GIT_SSL_CAINFO` and their like do not
/// touch the repository at all.
pub fn moves_the_repository(name: &[u8]) -> bool {
    const NAMES: [&[u8]; 9] = [
        b"GIT_DIR",
        b"GIT_WORK_TREE",
        b"GIT_COMMON_DIR",
        b"GIT_CEILING_DIRECTORIES",
        b"GIT_DISCOVERY_ACROSS_FILESYSTEM",
        b"GIT_NAMESPACE",
        b"GIT_OBJECT_DIRECTORY",
        b"GIT_ALTERNATE_OBJECT_DIRECTORIES",
        b"GIT_INDEX_FILE",
    ];
    NAMES.contains(&name)
        || [&b"GIT_CONFIG"[..], b"GIT_CONFIG_PARAMETERS", b"GIT_CONFIG_COUNT"].contains(&name)
        || name.starts_with(b"GIT_CONFIG_KEY_")
        || name.starts_with(b"GIT_CONFIG_VALUE_")
}

/// A repository configuration that cannot move the work tree or change how
/// refs are stored: no `core.worktree`, no `core.bare` other than false, no
/// includes, no `extensions` (reftable, sha256, worktree configuration), no
/// `precomposeUnicode` (which respells paths).
fn plain_config(raw: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(raw) else {
        return false;
    };
    text.lines().all(|line| {
        let line: String = line
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect();
        let unusual = [
            "worktree",
            "include",
            "extensions",
            "precompose",
            "refstorage",
            "objectformat",
        ]
        .iter()
        .any(|word| line.contains(word));
        !unusual && (!line.starts_with("bare") || line == "bare=false")
    })
}

/// The state ref in `common_dir`: the loose file wins over `packed-refs`,
/// as in git. `Some(None)`: no such ref; `None`: something this reading
/// does not model (a symbolic ref, a file that is not an object id).
fn read_ref(common_dir: &Path) -> Option<Option<ObjectId>> {
    match std::fs::read(common_dir.join(STATE_REF)) {
        Ok(raw) => return object_id(raw.strip_suffix(b"\n").unwrap_or(&raw)).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(_) => return None,
    }
    let packed = match std::fs::read(common_dir.join("packed-refs")) {
        Ok(raw) => raw,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(None),
        Err(_) => return None,
    };
    for line in packed.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(space) = line.iter().position(|&b| b == b' ') else {
            continue;
        };
        if &line[space + 1..] == STATE_REF.as_bytes() {
            return object_id(&line[..space]).map(Some);
        }
    }
    Some(None)
}

fn object_id(hex: &[u8]) -> Option<ObjectId> {
    (hex.len() == 40).then(|| ObjectId::from_hex(hex).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_configuration_is_read_quickly() {
        let plain = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n[user]\n\temail = a@b\n";
        assert!(plain_config(plain.as_bytes()));
        for unusual in [
            "[core]\n\tbare = true\n",
            "[core]\n\tworktree = /elsewhere\n",
            "[core]\n\tWorkTree=/elsewhere\n",
            "[include]\n\tpath = other\n",
            "[includeIf \"gitdir:/x\"]\n\tpath = other\n",
            "[extensions]\n\trefStorage = reftable\n",
            "[core]\n\tprecomposeUnicode = true\n",
        ] {
            assert!(!plain_config(unusual.as_bytes()), "{unusual}");
        }
        assert!(!plain_config(&[0xff, 0xfe]));
    }

    #[test]
    fn git_variables_that_move_the_repository_are_told_apart() {
        for name in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_CONFIG",
            "GIT_CONFIG_COUNT",
            "GIT_CONFIG_KEY_0",
            "GIT_CONFIG_PARAMETERS",
        ] {
            assert!(moves_the_repository(name.as_bytes()), "{name}");
        }
        for name in [
            "GIT_SSL_CAINFO",
            "GIT_CONFIG_GLOBAL",
            "GIT_CONFIG_NOSYSTEM",
            "GIT_AUTHOR_NAME",
            "DIR",
        ] {
            assert!(!moves_the_repository(name.as_bytes()), "{name}");
        }
    }
}
