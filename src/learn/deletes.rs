//! Recursive deletes judged against the work tree, the way a careful
//! engineer would: removing untracked or ignored output inside the work
//! tree (`build/`, `node_modules/`) is low; removing files git tracks is
//! medium (committed content comes back, uncommitted changes do not);
//! removing the work tree itself, its `.git`, or anything outside it other
//! than a temporary directory (`/tmp`, `/var/tmp`, `$TMPDIR`) is high.
//! `cd` earlier in the line moves where relative operands point.
//!
//! Pure: the facts (the starting directory, the work tree's root, the home
//! and temporary directories, and a lookup of tracked paths that the
//! caller makes cheap and lazy) come in a [`Files`]. Operands the broad
//! rules already judge (`/`, `~`, `.`, ...) and operands decided at run
//! time are left to those rules.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use super::matchers;
use super::shell::{Command, Word};
use super::targets;

/// What the judge knows about the files around the line.
pub struct Files<'a> {
    /// Where the line starts (absolute).
    pub cwd: PathBuf,
    /// The work tree's root (absolute).
    pub root: PathBuf,
    pub home: Option<PathBuf>,
    /// Temporary directories: deleting under them is low.
    pub temp: Vec<PathBuf>,
    /// Does git track a file at or under this path (relative to the root,
    /// `/`-separated; `""` is the root)? Asked only when a recursive delete
    /// inside the work tree is judged.
    pub tracked: &'a dyn Fn(&str) -> bool,
}

impl fmt::Debug for Files<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Files")
            .field("cwd", &self.cwd)
            .field("root", &self.root)
            .field("home", &self.home)
            .field("temp", &self.temp)
            .finish_non_exhaustive()
    }
}

/// What a recursive delete reaches, worst first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reach {
    /// The work tree itself, its `.git`, or outside it (not a temporary directory).
    Outside(String),
    /// Files git tracks.
    Tracked(String),
}

/// The worst place a recursive `rm` reaches, when it is one to report.
pub fn judge(command: &Command, files: &Files<'_>) -> Option<Reach> {
    let operands = matchers::rm_recursive_operands(command)?;
    let mut worst: Option<Reach> = None;
    for word in operands {
        if targets::broad(word).is_some() {
            continue;
        }
        for expanded in targets::expansions(word) {
            let Some(path) = resolve(command, &expanded, files) else {
                continue;
            };
            if let Some(reach) = classify(&path, &expanded.text, files) {
                worst = Some(match worst {
                    Some(w) => w.min(reach),
                    None => reach,
                });
            }
        }
    }
    worst
}

fn classify(path: &Path, shown: &str, files: &Files<'_>) -> Option<Reach> {
    if let Ok(rel) = path.strip_prefix(&files.root) {
        let rel = rel.to_string_lossy().replace('\\', "/");
        if rel.is_empty() || rel == ".git" || rel.starts_with(".git/") {
            return Some(Reach::Outside(shown.to_owned()));
        }
        return (files.tracked)(&rel).then(|| Reach::Tracked(shown.to_owned()));
    }
    let temporary = files.temp.iter().any(|t| path.starts_with(t) && path != t);
    (!temporary).then(|| Reach::Outside(shown.to_owned()))
}

/// Where an operand points: after the line's `cd`s, with `~`, `$HOME` and
/// `$TMPDIR` resolved; up to its first glob, whose directory is what it
/// reaches. `None` when that is decided at run time.
fn resolve(command: &Command, word: &Word, files: &Files<'_>) -> Option<PathBuf> {
    let mut dir = files.cwd.clone();
    for cd in &command.cd {
        dir = absolute(&dir, cd, files)?;
    }
    let path = absolute(&dir, word, files)?;
    let mut kept = PathBuf::new();
    for part in path.components() {
        if part.as_os_str().to_string_lossy().contains(['*', '?', '[']) && word.glob {
            break;
        }
        kept.push(part);
    }
    Some(normalize(&kept))
}

fn absolute(base: &Path, word: &Word, files: &Files<'_>) -> Option<PathBuf> {
    let text = word.text.as_str();
    if text == "-" {
        return None;
    }
    if word.tilde {
        let rest = text.strip_prefix('~')?;
        let rest = rest.strip_prefix('/').or(rest.is_empty().then_some(""))?;
        return Some(files.home.as_ref()?.join(rest));
    }
    if word.dynamic {
        for (names, dir) in [
            (["$HOME", "${HOME}"], files.home.as_ref()),
            (["$TMPDIR", "${TMPDIR}"], files.temp.last()),
        ] {
            for name in names {
                if let Some(rest) = text.strip_prefix(name) {
                    let rest = rest.strip_prefix('/').or(rest.is_empty().then_some(""))?;
                    return (!rest.contains('$')).then(|| dir.map(|d| d.join(rest))).flatten();
                }
            }
        }
        return None;
    }
    Some(base.join(text))
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::shell::parse_line;

    fn reach(line: &str, tracked: &[&str]) -> Option<Reach> {
        let lookup = |rel: &str| {
            tracked
                .iter()
                .any(|t| rel.is_empty() || *t == rel || t.starts_with(&format!("{rel}/")))
        };
        let files = Files {
            cwd: "/work/repo/src".into(),
            root: "/work/repo".into(),
            home: Some("/home/me".into()),
            temp: vec!["/tmp".into(), "/var/tmp".into(), "/run/user/1/tmp".into()],
            tracked: &lookup,
        };
        let script = parse_line(line).unwrap();
        script.commands.iter().filter_map(|c| judge(c, &files)).min()
    }

    #[test]
    fn deletes_are_judged_by_where_they_land() {
        let tracked = ["src/lib.rs", "src/learn/mod.rs", "docs/a.md"];
        let outside = |s: &str| Some(Reach::Outside(s.to_owned()));
        let inside = |s: &str| Some(Reach::Tracked(s.to_owned()));
        let cases = [
            ("rm -rf target", None),
            ("rm -rf learn", inside("learn")),
            ("rm -rf ../docs", inside("../docs")),
            ("rm -rf ../build ../node_modules", None),
            ("rm -rf ../../other", outside("../../other")),
            ("rm -rf /tmp/x /var/tmp/y", None),
            ("rm -rf $TMPDIR/x", None),
            ("rm -rf /opt/app/cache", outside("/opt/app/cache")),
            ("rm -rf ~/.cache/pip", outside("~/.cache/pip")),
            ("rm -rf \"$HOME/.cargo\"", outside("$HOME/.cargo")),
            ("rm -rf ../.git/hooks", outside("../.git/hooks")),
            ("cd .. && rm -rf src", inside("src")),
            ("cd ../.. && rm -rf x", outside("x")),
            ("(cd ..; rm -rf build); rm -rf learn", inside("learn")),
            ("(cd ..; rm -rf build); rm -rf build", None),
            ("cd /tmp && rm -rf x", None),
            ("cd \"$DIR\" && rm -rf x", None),
            ("rm -rf ../{docs,build}", inside("../docs")),
            ("rm -rf learn/*.o", inside("learn/*.o")),
            ("rm -r ../../repo", outside("../../repo")),
            ("rm -f ../../x", None),
            (
                "python3 -c 'import shutil; shutil.rmtree(\"/opt/x\")'",
                outside("/opt/x"),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(reach(line, &tracked), want, "{line}");
        }
    }
}
