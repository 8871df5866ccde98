//! Parsing the command line with only the part of clap's command tree it
//! names. Building the whole tree (every subcommand's arguments) was the
//! largest cost of every baton process before its work began
//! (docs/performance.md, "Process start"); a command line names one
//! top-level command, so the root is built with that command's subtree
//! alone — or with none when no command is named (`baton --version`).
//!
//! The partial parse is kept only when it cannot differ from the full one:
//! a successful parse (the named subtree is the derive's own, identical to
//! the full tree's, and the root's own options parse the same whatever the
//! other subcommands are) or a version request. Anything else — help, a
//! refusal, a name that is no top-level command, a token the scan does not
//! know — is parsed again with the full tree, so every message, suggestion
//! and help text is exactly the full tree's.

use std::ffi::OsString;

use clap::{ArgMatches, CommandFactory, FromArgMatches};

use super::{Cli, CliOf};

/// What the root's options say the command line names.
#[derive(Debug, PartialEq, Eq)]
enum Named<'a> {
    /// The first token that is not a root option: the command's name.
    Command(&'a str),
    /// Only root options: no command named.
    Nothing,
    /// A token this scan does not know (`--`, `--help`, grouped short
    /// flags, text that is not UTF-8): the full tree decides.
    Unsure,
}

/// The command name `args` gives, read past the root's options the way
/// clap reads them (`-C <PATH>`, `-C<PATH>`, `--actor <ACTOR>`,
/// `--actor=<ACTOR>`, `--json`, `-q`, `--quiet`, `-V`, `--version`).
fn named(args: &[OsString]) -> Named<'_> {
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        let Some(arg) = arg.to_str() else {
            return Named::Unsure;
        };
        match arg {
            "-C" | "--actor" => {
                if rest.next().is_none() {
                    return Named::Unsure;
                }
            }
            "--json" | "-q" | "--quiet" | "-V" | "--version" => {}
            _ if arg.starts_with("--actor=") || (arg.starts_with("-C") && arg.len() > 2) => {}
            _ if arg.starts_with('-') => return Named::Unsure,
            _ => return Named::Command(arg),
        }
    }
    Named::Nothing
}

/// Parse as `Cli::try_parse_from(args)` would, building only the subtree
/// the command line names when that gives the same answer. The tree is
/// not freed: the process ends right after the command (freeing it was a
/// fifth of `baton --version`'s instructions).
pub fn parse(args: &[OsString]) -> Result<Cli, clap::Error> {
    let partial = match named(args) {
        Named::Command(name) => super::only(name),
        Named::Nothing => Some(CliOf::<NoCommand>::command()),
        Named::Unsure => None,
    };
    if let Some(mut partial) = partial {
        let kept = match partial.try_get_matches_from_mut(args) {
            Ok(matches) => Some(from_matches(matches, &mut partial)),
            Err(e) if e.kind() == clap::error::ErrorKind::DisplayVersion => Some(Err(e)),
            Err(_) => None,
        };
        std::mem::forget(partial);
        if let Some(parsed) = kept {
            return parsed;
        }
    }
    let mut full = Cli::command();
    let parsed = full
        .try_get_matches_from_mut(args)
        .and_then(|matches| from_matches(matches, &mut full));
    std::mem::forget(full);
    parsed
}

/// The parsed command line from clap's matches; a conversion failure is
/// rendered against the tree that parsed.
fn from_matches(mut matches: ArgMatches, command: &mut clap::Command) -> Result<Cli, clap::Error> {
    Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(command))
}

/// The root with no command: what `baton --version` needs.
#[derive(Debug, clap::Subcommand)]
pub enum NoCommand {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        std::iter::once("baton")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect()
    }

    /// What the full tree alone answers: the parsed value, or the error's
    /// kind, rendered text and exit code.
    fn reference(args: &[OsString]) -> Result<String, (clap::error::ErrorKind, String, i32)> {
        Cli::command()
            .try_get_matches_from(args)
            .and_then(|mut m| Cli::from_arg_matches_mut(&mut m))
            .map(|cli| format!("{cli:?}"))
            .map_err(|e| (e.kind(), e.render().to_string(), e.exit_code()))
    }

    fn ours(args: &[OsString]) -> Result<String, (clap::error::ErrorKind, String, i32)> {
        parse(args)
            .map(|cli| format!("{cli:?}"))
            .map_err(|e| (e.kind(), e.render().to_string(), e.exit_code()))
    }

    #[test]
    fn the_scan_reads_past_root_options_as_clap_does() {
        assert_eq!(named(&os(&["claims", "list"])), Named::Command("claims"));
        assert_eq!(
            named(&os(&["-C", "x", "--json", "-q", "--actor", "agent:a", "pool", "list"])),
            Named::Command("pool")
        );
        assert_eq!(
            named(&os(&["-Cx", "--actor=a", "--quiet", "learn"])),
            Named::Command("learn")
        );
        assert_eq!(named(&os(&["--version"])), Named::Nothing);
        assert_eq!(named(&os(&["-C", "claims"])), Named::Nothing);
        assert_eq!(named(&os(&[])), Named::Nothing);
        assert_eq!(named(&os(&["-C"])), Named::Unsure);
        assert_eq!(named(&os(&["--help", "claims"])), Named::Unsure);
        assert_eq!(named(&os(&["-qC", "x", "claims"])), Named::Unsure);
        assert_eq!(named(&os(&["--", "claims"])), Named::Unsure);
    }

    #[test]
    fn every_top_level_command_has_its_subtree() {
        let full = Cli::command();
        for sub in full.get_subcommands() {
            let name = sub.get_name();
            let partial = crate::cli::only(name).unwrap_or_else(|| panic!("no subtree for {name}"));
            let names: Vec<&str> = partial.get_subcommands().map(|s| s.get_name()).collect();
            assert_eq!(names, [name]);
        }
        assert!(crate::cli::only("help").is_none());
        assert!(crate::cli::only("bogus").is_none());
    }

    /// Help, version and refusals are the full tree's, byte for byte.
    #[test]
    fn help_version_and_refusals_are_the_full_trees() {
        let cases: &[&[&str]] = &[
            &["--version"],
            &["-V"],
            &["--json", "--version"],
            &["-C", "x", "--version"],
            &["claims", "--version"],
            &["claims", "list", "-V"],
            &["--version", "bogus"],
            &["--help"],
            &["-h"],
            &["claims", "--help"],
            &["claims", "list", "--help"],
            &["help"],
            &["help", "claims", "list"],
            &[],
            &["bogus"],
            &["claim"],
            &["claims"],
            &["claims", "bogus"],
            &["claims", "list", "--bogus"],
            &["claims", "claim"],
            &["-C"],
            &["--json"],
            &["man", "--dir"],
            &["--actor", "agent:a", "whoami", "extra"],
            &["--", "claims", "list"],
            &["claims", "list", "--limit", "x"],
        ];
        for case in cases {
            let args = os(case);
            assert_eq!(ours(&args), reference(&args), "baton {}", case.join(" "));
        }
    }

    /// Words a generated command line is made of: root options, every
    /// top-level name, names and flags inside groups, values, and tokens
    /// that make clap refuse or print help.
    const WORDS: &[&str] = &[
        "-C",
        "-C.",
        "--json",
        "-q",
        "--quiet",
        "--actor",
        "--actor=agent:a",
        "agent:b",
        "-V",
        "--version",
        "-h",
        "--help",
        "help",
        "--",
        "-",
        "-qC",
        "--bogus",
        "bogus",
        "init",
        "log",
        "config",
        "claims",
        "pool",
        "workflow",
        "delivery",
        "daemon",
        "learn",
        "sync",
        "doctor",
        "selftest",
        "completions",
        "man",
        "whoami",
        "mcp",
        "list",
        "status",
        "claim",
        "release",
        "get",
        "set",
        "run",
        "pre-command",
        "post-command",
        "--command",
        "git push",
        "--limit",
        "5",
        "--state",
        "active",
        "T-1",
        "--dir",
        "bash",
        "--keep",
        "--hook",
        "claude",
        "--note",
        "x",
        "--all",
        "--force",
    ];

    fn argv() -> impl Strategy<Value = Vec<String>> {
        let word = prop::sample::select(WORDS).prop_map(str::to_owned);
        let any = "[ -~]{0,6}";
        prop::collection::vec(prop_oneof![8 => word, 1 => any], 0..7)
    }

    /// Every command path of the full tree (`claims list`, `learn hooks
    /// install`, ...) with the words its own arguments answer to.
    fn paths() -> Vec<(Vec<String>, Vec<String>)> {
        fn walk(cmd: &clap::Command, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Vec<String>)>) {
            for sub in cmd.get_subcommands() {
                path.push(sub.get_name().to_owned());
                let mut words: Vec<String> = Vec::new();
                for arg in sub.get_arguments() {
                    words.extend(arg.get_long().map(|l| format!("--{l}")));
                    words.extend(arg.get_short().map(|s| format!("-{s}")));
                    for v in arg.get_possible_values() {
                        words.push(v.get_name().to_owned());
                    }
                }
                out.push((path.clone(), words));
                walk(sub, path, out);
                path.pop();
            }
        }
        let mut out = Vec::new();
        walk(&Cli::command(), &mut Vec::new(), &mut out);
        out
    }

    /// The root's options as a command line gives them (and `-C` missing its value).
    const ROOT_OPTIONS: &[&[&str]] = &[
        &["-C", "."],
        &["--json"],
        &["-q"],
        &["--quiet"],
        &["--actor", "agent:a"],
        &["--actor=agent:b"],
        &["-C"],
    ];

    /// Root options, a real command path, then its own flags, values and
    /// stray words: mostly command lines that parse, and near misses.
    fn command_line() -> impl Strategy<Value = Vec<String>> {
        let paths = paths();
        let root = prop::collection::vec(prop::sample::select(ROOT_OPTIONS), 0..3);
        (
            root,
            prop::sample::select(paths),
            prop::collection::vec((any::<prop::sample::Index>(), 0..6u8), 0..4),
        )
            .prop_map(|(root, (path, own), picks)| {
                let values = ["T-1", "5", "x", "git push origin main", "--", "-5", "1h"];
                let mut line: Vec<String> = root.into_iter().flatten().map(|w| w.to_string()).collect();
                line.extend(path);
                for (index, kind) in picks {
                    match kind {
                        0..=2 if !own.is_empty() => line.push(index.get(&own).clone()),
                        3 | 4 => line.push(index.get(&values[..]).to_string()),
                        _ => line.push(index.get(WORDS).to_string()),
                    }
                }
                line
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, .. ProptestConfig::default() })]
        /// The same parsed value, or the same error kind, text and exit
        /// code, as the full tree: any words...
        #[test]
        fn the_partial_parse_equals_the_full_parse(words in argv()) {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            let args = os(&words);
            prop_assert_eq!(ours(&args), reference(&args), "baton {:?}", words);
        }

        /// ... and command lines made of real commands and their flags.
        #[test]
        fn the_partial_parse_equals_the_full_parse_on_real_commands(words in command_line()) {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            let args = os(&words);
            prop_assert_eq!(ours(&args), reference(&args), "baton {:?}", words);
        }
    }
}
