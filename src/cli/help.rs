//! Help that is built only when it is shown: every subcommand's examples
//! (the `$ baton ...` lines of its section in docs/command-handbook.md, so
//! `--help`, the man pages and the handbook show the same commands) and a
//! description for every positional argument. Parsing never pays for this:
//! [`decorate`] runs for `--help`, `help <command>` and `baton man`.

use clap::Command;

const HANDBOOK: &str = include_str!("../../docs/command-handbook.md");

/// At most this many example lines under a subcommand's help.
const MAX_EXAMPLES: usize = 4;

/// What a positional argument is, by its name (or `<group> <name>` where a
/// group means something else by it), where the derive left it undescribed:
/// one description serves every subcommand that takes it.
const POSITIONALS: &[(&str, &str)] = &[
    ("id", "The claim id (`T-42`): 1-128 of A-Z a-z 0-9 . _ -"),
    ("pool id", "The agent id (`rev-1`)"),
    ("issue", "The issue to deliver, as a claim id (`T-42`)"),
    (
        "workflow",
        "The workflow: a name in .baton/workflows (`ship` for .baton/workflows/ship.toml) or a path to a .toml file",
    ),
    (
        "run_id",
        "The run id, as `workflow list` or `delivery status` prints it",
    ),
    (
        "role",
        "The role of the new agents (`reviewer`); agents are named `<role>-<n>`",
    ),
    ("key", "The config key, `section.key` (see `baton config list`)"),
    ("value", "The new value, as text (`48h`, `true`, `cargo *,make *`)"),
    ("task", "The task, in words (quote it)"),
    ("agent", "The agent: claude, codex, gemini or opencode"),
    ("name", "The template's name (see `baton workflow template list`)"),
    ("shell", "The shell: bash, elvish, fish, powershell or zsh"),
    (
        "subsystems",
        "Only these subsystems: claims, pool, workflow, delivery, daemon, learn, store, sync",
    ),
];

/// The command tree with examples and positional descriptions added.
pub fn decorate(cmd: Command) -> Command {
    decorate_at(cmd, &[])
}

fn decorate_at(mut cmd: Command, path: &[String]) -> Command {
    let undescribed: Vec<String> = cmd
        .get_positionals()
        .filter(|a| a.get_help().is_none())
        .map(|a| a.get_id().to_string())
        .collect();
    for id in undescribed {
        let grouped = format!("{} {id}", path.first().map(String::as_str).unwrap_or(""));
        let found = POSITIONALS
            .iter()
            .find(|(name, _)| *name == grouped)
            .or_else(|| POSITIONALS.iter().find(|(name, _)| *name == id));
        if let Some((_, text)) = found {
            cmd = cmd.mut_arg(&id, |a| a.help(*text));
        }
    }
    let examples = examples(path);
    if !examples.is_empty() {
        let body: Vec<String> = examples.iter().map(|e| format!("  {e}")).collect();
        cmd = cmd.after_help(format!("Examples:\n{}", body.join("\n")));
    }
    cmd.mut_subcommands(|sub| {
        let mut words = path.to_vec();
        words.push(sub.get_name().to_owned());
        decorate_at(sub, &words)
    })
}

/// The `$ baton ...` lines of the first example under `baton <path>` in the
/// handbook (none for a group such as `baton claims`: it lists its
/// subcommands instead).
pub fn examples(path: &[String]) -> Vec<String> {
    if path.is_empty() {
        return Vec::new();
    }
    let heading = format!("### `baton {}`\n", path.join(" "));
    let Some(start) = HANDBOOK.find(&heading) else {
        return Vec::new();
    };
    let rest = &HANDBOOK[start + heading.len()..];
    let end = [rest.find("\n## "), rest.find("\n### ")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(rest.len());
    let section = &rest[..end];
    let Some(block) = section.split("```console\n").nth(1) else {
        return Vec::new();
    };
    let block = block.split("```").next().unwrap_or("");
    block
        .lines()
        .filter_map(|l| l.strip_prefix("$ "))
        .filter(|l| l.contains("baton"))
        .take(MAX_EXAMPLES)
        .map(|l| format!("$ {l}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every leaf subcommand: its words and its (decorated) command.
    fn leaves(cmd: &Command, path: Vec<String>, out: &mut Vec<(Vec<String>, Command)>) {
        let subs: Vec<_> = cmd.get_subcommands().filter(|s| s.get_name() != "help").collect();
        if subs.is_empty() {
            out.push((path.clone(), cmd.clone()));
        }
        for s in subs {
            let mut p = path.clone();
            p.push(s.get_name().to_owned());
            leaves(s, p, out);
        }
    }

    #[test]
    fn every_subcommand_has_an_example_and_described_positionals() {
        let mut cmd = decorate(super::super::command());
        cmd.build();
        let mut all = Vec::new();
        leaves(&cmd, Vec::new(), &mut all);
        let mut missing = Vec::new();
        for (path, leaf) in &all {
            let words = path.join(" ");
            if leaf.get_after_help().is_none() {
                missing.push(format!("an example for `baton {words}`"));
            }
            for p in leaf.get_positionals() {
                if p.get_help().is_none() {
                    missing.push(format!("a description of <{}> of `baton {words}`", p.get_id()));
                }
            }
        }
        assert!(missing.is_empty(), "missing:\n  {}", missing.join("\n  "));
    }

    #[test]
    fn examples_are_the_handbook_commands() {
        let words = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        let claim = examples(&words("claims claim"));
        assert_eq!(claim[0], "$ baton claims claim T-42 --role reviewer --lease 2h");
        assert!(examples(&words("no such")).is_empty());
    }
}
