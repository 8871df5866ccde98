//! The surfaces that must move with the CLI: `docs/command-handbook.md` and
//! `opencode.json`. These tests fail when a command or flag exists in one and
//! not the other.

use std::collections::BTreeSet;

const HANDBOOK: &str = include_str!("../../docs/command-handbook.md");
const OPENCODE: &str = include_str!("../../opencode.json");

/// Subsystem groups that get an opencode command when the CLI has them.
const OPENCODE_GROUPS: &[&str] = &[
    "claims", "workflow", "pool", "daemon", "delivery", "learn", "doctor", "selftest",
];

/// Every leaf command as its words (`["claims", "claim"]`) with its long flags.
fn leaves() -> Vec<(Vec<String>, Vec<String>)> {
    fn walk(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<(Vec<String>, Vec<String>)>) {
        let subs: Vec<_> = cmd.get_subcommands().filter(|s| s.get_name() != "help").collect();
        // A command that runs by itself too (`baton mcp`, besides `baton mcp install`) is a leaf as well.
        if subs.is_empty() || !cmd.is_subcommand_required_set() {
            let flags = cmd
                .get_arguments()
                .filter(|a| !a.is_global_set())
                .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
                .filter(|l| l != "--help" && l != "--version")
                .collect();
            out.push((path.clone(), flags));
            if subs.is_empty() {
                return;
            }
        }
        for s in subs {
            let mut p = path.clone();
            p.push(s.get_name().to_owned());
            walk(s, p, out);
        }
    }
    let mut cmd = baton::cli::command();
    cmd.build();
    let mut out = Vec::new();
    walk(&cmd, Vec::new(), &mut out);
    out
}

/// The handbook section for `baton <words>`: from its heading to the next heading.
fn section(words: &[String]) -> Option<&'static str> {
    let heading = format!("### `baton {}`", words.join(" "));
    let start = HANDBOOK.find(&format!("{heading}\n"))?;
    let rest = &HANDBOOK[start + heading.len()..];
    let end = rest
        .find("\n## ")
        .into_iter()
        .chain(rest.find("\n### "))
        .min()
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

#[test]
fn every_command_and_flag_is_in_the_handbook() {
    let mut missing = Vec::new();
    for (words, flags) in leaves() {
        match section(&words) {
            None => missing.push(format!("heading ### `baton {}`", words.join(" "))),
            Some(text) => {
                for f in flags {
                    if !text.contains(&format!("`{f}")) {
                        missing.push(format!("flag {f} under `baton {}`", words.join(" ")));
                    }
                }
                if !text.contains("Exit:") {
                    missing.push(format!("exit codes under `baton {}`", words.join(" ")));
                }
                if !text.contains("```console") {
                    missing.push(format!("an example under `baton {}`", words.join(" ")));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/command-handbook.md lacks:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn the_handbook_documents_no_command_that_does_not_exist() {
    let known: BTreeSet<String> = leaves()
        .into_iter()
        .map(|(w, _)| format!("baton {}", w.join(" ")))
        .collect();
    let stale: Vec<&str> = HANDBOOK
        .lines()
        .filter_map(|l| l.strip_prefix("### `")?.strip_suffix('`'))
        .filter(|h| !known.contains(*h))
        .collect();
    assert!(
        stale.is_empty(),
        "docs/command-handbook.md documents commands the CLI lacks: {stale:?}"
    );
}

#[test]
fn opencode_has_one_command_per_existing_subsystem() {
    let config: serde_json::Value = serde_json::from_str(OPENCODE).expect("opencode.json is JSON");
    let commands = config["command"]
        .as_object()
        .expect("opencode.json has a `command` object");
    let cli = baton::cli::command();
    let groups: BTreeSet<&str> = cli
        .get_subcommands()
        .map(|s| s.get_name())
        .filter(|n| OPENCODE_GROUPS.contains(n))
        .collect();
    let listed: BTreeSet<&str> = commands.keys().map(String::as_str).collect();
    assert_eq!(
        listed, groups,
        "opencode.json commands must be exactly the subsystems the CLI has"
    );
    for (name, entry) in commands {
        let template = entry["template"].as_str().unwrap_or_default();
        assert!(
            template.contains(&format!("baton {name} $ARGUMENTS")),
            "opencode command {name} must run `baton {name} $ARGUMENTS`"
        );
        // opencode's !`cmd` keeps stdout only: errors must reach the user too.
        assert!(
            template.contains(&format!("baton {name} $ARGUMENTS 2>&1`")),
            "opencode command {name} must show baton's errors (2>&1)"
        );
        assert!(
            entry["description"].as_str().is_some_and(|d| !d.is_empty()),
            "opencode command {name} needs a description"
        );
    }
}
