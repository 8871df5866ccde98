//! The matchers of git's discards: commands that throw away work git keeps
//! no other copy of (uncommitted changes, stashes, the reflog, unreachable
//! objects). Each is a pure predicate over one simple command, like
//! [`super::matchers`]; git's options are read per subcommand here, because
//! which option takes a value decides what is a path (`checkout -bfeature`
//! names a branch, it is not `-f`).

use super::family;
use super::shell::{Command, Word};

/// A subcommand's arguments: flags (short ones unclustered until one takes
/// a value), the operands before `--`, and the paths after it.
#[derive(Debug, Default)]
struct GitArgs<'a> {
    shorts: Vec<char>,
    longs: Vec<(&'a str, Option<&'a str>)>,
    operands: Vec<&'a str>,
    after_dashdash: Vec<&'a str>,
    dashdash: bool,
}

impl<'a> GitArgs<'a> {
    /// `short_values`: short options that take a value (`b` for `-b NAME`,
    /// glued or not); `long_values`: long options that take one when not
    /// written with `=`.
    fn of(words: &'a [Word], short_values: &str, long_values: &[&str]) -> GitArgs<'a> {
        let mut out = GitArgs::default();
        let mut i = 0;
        while i < words.len() {
            let t = words[i].text.as_str();
            i += 1;
            if out.dashdash {
                out.after_dashdash.push(t);
            } else if t == "--" {
                out.dashdash = true;
            } else if let Some(long) = t.strip_prefix("--") {
                match long.split_once('=') {
                    Some((name, value)) => out.longs.push((name, Some(value))),
                    None if long_values.contains(&long) => {
                        out.longs.push((long, words.get(i).map(|w| w.text.as_str())));
                        i += 1;
                    }
                    None => out.longs.push((long, None)),
                }
            } else if t.len() > 1 && t.starts_with('-') {
                for (at, c) in t[1..].char_indices() {
                    out.shorts.push(c);
                    if short_values.contains(c) {
                        // The rest of the word is the value, else the next word.
                        if at + c.len_utf8() + 1 == t.len() {
                            i += 1;
                        }
                        break;
                    }
                }
            } else {
                out.operands.push(t);
            }
        }
        out
    }

    fn short(&self, c: char) -> bool {
        self.shorts.contains(&c)
    }

    fn long(&self, name: &str) -> bool {
        self.longs.iter().any(|(n, _)| *n == name)
    }

    fn long_value(&self, name: &str) -> Option<&'a str> {
        self.longs.iter().find(|(n, _)| *n == name).and_then(|(_, v)| *v)
    }

    fn any(&self, shorts: &str, longs: &[&str]) -> bool {
        shorts.chars().any(|c| self.short(c)) || longs.iter().any(|l| self.long(l))
    }

    /// Paths given at all: after `--`, or from a file.
    fn paths_named(&self) -> bool {
        !self.after_dashdash.is_empty() || self.long("pathspec-from-file")
    }
}

/// `git <sub> ...` with git's global options skipped: the subcommand and its words.
fn git(command: &Command) -> Option<(&str, &[Word])> {
    if command.program()? != "git" {
        return None;
    }
    family::subcommand(command)
}

/// Operands that name everything in the work tree.
fn everything(operands: &[&str]) -> bool {
    operands
        .iter()
        .any(|p| matches!(*p, "." | ":/" | "*" | "./" | ":/*" | "./*"))
}

/// `checkout` that overwrites files in the work tree: paths after `--`
/// (`checkout -- f`, `checkout HEAD~1 -- f`), two or more operands
/// (`checkout <rev> <paths>`; one operand is a branch to switch to), `.`,
/// `-f`/`--force`, `--ours`/`--theirs` on paths. Not `-p` (it asks per
/// hunk), not `-b`/`-B`/`--orphan NAME [START]` (a new branch).
fn checkout_discards(words: &[Word]) -> bool {
    let a = GitArgs::of(words, "bB", &["orphan", "conflict", "pathspec-from-file"]);
    if a.any("p", &["patch"]) {
        return false;
    }
    // With -b NAME the name was read as a value: a second operand is a path
    // either way (`checkout <rev> <paths>`, `checkout -b NAME START <paths>`).
    a.any("f", &["force", "ours", "theirs"]) || a.paths_named() || a.operands.len() > 1 || everything(&a.operands)
}

/// `restore` touches the work tree unless only `--staged` is given.
fn restore_discards(words: &[Word]) -> bool {
    let a = GitArgs::of(words, "s", &["source", "conflict", "pathspec-from-file"]);
    if a.any("p", &["patch"]) {
        return false;
    }
    let worktree = !a.any("S", &["staged"]) || a.any("W", &["worktree"]);
    worktree && (a.paths_named() || !a.operands.is_empty())
}

/// `switch -f`, `--discard-changes`, `--force`.
fn switch_discards(words: &[Word]) -> bool {
    let a = GitArgs::of(words, "cC", &["orphan", "conflict"]);
    a.any("f", &["force", "discard-changes"])
}

pub fn git_discard_changes(command: &Command) -> bool {
    match git(command) {
        Some(("checkout", rest)) => checkout_discards(rest),
        Some(("restore", rest)) => restore_discards(rest),
        Some(("switch", rest)) => switch_discards(rest),
        _ => false,
    }
}

/// `stash drop` and `stash clear`: a dropped stash is only found again by
/// searching unreachable objects, until gc prunes them.
pub fn git_stash_discard(command: &Command) -> bool {
    matches!(git(command), Some(("stash", rest)) if rest.first().is_some_and(|w| matches!(w.text.as_str(), "drop" | "clear")))
}

/// `reset --merge`: resets the files that differ between the commits,
/// uncommitted changes in them included.
pub fn git_reset_merge(command: &Command) -> bool {
    matches!(git(command), Some(("reset", rest)) if GitArgs::of(rest, "", &["pathspec-from-file"]).long("merge"))
}

/// `worktree remove --force`/`-f`: removes a worktree with uncommitted
/// (or untracked) files in it.
pub fn git_worktree_force_remove(command: &Command) -> bool {
    let Some(("worktree", rest)) = git(command) else {
        return false;
    };
    let Some((action, words)) = rest.split_first() else {
        return false;
    };
    matches!(action.text.as_str(), "remove" | "rm") && GitArgs::of(words, "", &[]).any("f", &["force"])
}

/// Does a reflog expiry or prune time mean "now" (no grace period)?
fn immediate(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "now" | "all" | "0" | "0.seconds.ago" | "0.days.ago"
        )
    })
}

/// `reflog expire --expire=now` (or `--expire-unreachable=now`): drops the
/// record git keeps to recover commits lost by a reset, a rebase or a
/// deleted branch.
pub fn git_reflog_expire(command: &Command) -> bool {
    let Some(("reflog", rest)) = git(command) else {
        return false;
    };
    let Some((action, words)) = rest.split_first() else {
        return false;
    };
    let a = GitArgs::of(words, "", &["expire", "expire-unreachable"]);
    match action.text.as_str() {
        "expire" => immediate(a.long_value("expire")) || immediate(a.long_value("expire-unreachable")),
        "delete" => true,
        _ => false,
    }
}

/// `gc --prune=now` / `prune --expire now`: deletes unreachable objects at
/// once, with no grace period in which lost work can still be found.
pub fn git_prune_now(command: &Command) -> bool {
    match git(command) {
        Some(("gc", rest)) => immediate(GitArgs::of(rest, "", &[]).long_value("prune")),
        Some(("prune", rest)) => immediate(GitArgs::of(rest, "", &["expire"]).long_value("expire")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::shell::parse_line;

    type Matcher = fn(&Command) -> bool;

    fn matched(f: Matcher, line: &str) -> bool {
        parse_line(line).unwrap().commands.iter().any(f)
    }

    #[test]
    fn checkout_discards_paths_and_not_branches() {
        for line in [
            "git checkout -- src/main.rs",
            "git checkout HEAD~1 -- src",
            "git checkout main src/lib.rs",
            "git checkout .",
            "git checkout -f",
            "git checkout --force main",
            "git checkout --theirs conflicted.txt",
            "git -C repo checkout -- a b",
            "git checkout --pathspec-from-file=list.txt",
            "git restore src/x.rs",
            "git restore --source=HEAD~2 .",
            "git restore -s HEAD~2 a",
            "git restore --staged --worktree a",
            "git restore -SW a",
            "git switch -f main",
            "git switch --discard-changes main",
        ] {
            assert!(matched(git_discard_changes, line), "{line}");
        }
        for line in [
            "git checkout main",
            "git checkout -b feature",
            "git checkout -bfeature",
            "git checkout -b feature origin/main",
            "git checkout -B fix HEAD~1",
            "git checkout --orphan pages",
            "git checkout -p -- a",
            "git checkout --track origin/x",
            "git restore --staged a",
            "git restore -p a",
            "git switch main",
            "git switch -c feature",
            "git switch -cfeature",
            "echo git checkout -- a",
            "git log -- a",
        ] {
            assert!(!matched(git_discard_changes, line), "{line}");
        }
    }

    #[test]
    fn stashes_resets_worktrees_reflogs_and_prunes() {
        let yes: &[(Matcher, &str)] = &[
            (git_stash_discard, "git stash drop"),
            (git_stash_discard, "git stash drop stash@{1}"),
            (git_stash_discard, "git stash clear"),
            (git_reset_merge, "git reset --merge ORIG_HEAD"),
            (git_worktree_force_remove, "git worktree remove --force ../wt"),
            (git_worktree_force_remove, "git worktree remove -f ../wt"),
            (git_reflog_expire, "git reflog expire --expire=now --all"),
            (git_reflog_expire, "git reflog expire --expire-unreachable=now --all"),
            (git_reflog_expire, "git reflog expire --expire now --all"),
            (git_reflog_expire, "git reflog delete HEAD@{1}"),
            (git_prune_now, "git gc --prune=now"),
            (git_prune_now, "git gc --aggressive --prune=all"),
            (git_prune_now, "git prune --expire now"),
        ];
        for (f, line) in yes {
            assert!(matched(*f, line), "{line}");
        }
        let no: &[(Matcher, &str)] = &[
            (git_stash_discard, "git stash"),
            (git_stash_discard, "git stash pop"),
            (git_stash_discard, "git stash list"),
            (git_reset_merge, "git reset --soft HEAD~1"),
            (git_reset_merge, "git merge --abort"),
            (git_worktree_force_remove, "git worktree remove ../wt"),
            (git_worktree_force_remove, "git worktree add -f ../wt"),
            (git_reflog_expire, "git reflog"),
            (git_reflog_expire, "git reflog expire --expire=90.days.ago --all"),
            (git_reflog_expire, "git reflog show"),
            (git_prune_now, "git gc"),
            (git_prune_now, "git gc --prune=2.weeks.ago"),
            (git_prune_now, "git prune --dry-run"),
        ];
        for (f, line) in no {
            assert!(!matched(*f, line), "{line}");
        }
    }
}
