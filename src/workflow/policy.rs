//! What may run: the `workflow.allow` globs and a minimal built-in guard
//! against obviously destructive commands (until the learn subsystem's risk
//! guard replaces it). Both refuse before anything runs, unless `--allow-risk`.
//!
//! The allow list fails closed: a pattern that does not compile refuses the
//! run (it is never dropped, which could leave an empty list that allows
//! everything), and a step may not change which program its argv starts,
//! or load code into it, through its `env` (docs/workflows.md, "Policy").

use globset::{Candidate, Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use super::def::Step;
use crate::error::{Error, Result};

/// One reason a step may not run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    pub step: String,
    pub command: String,
    pub reason: String,
}

/// One pattern of `workflow.allow` or `workflow.secret_env`, compiled the
/// one way both are: `*` also matches `/` and spaces, `{a,b}` alternatives.
pub fn glob(pattern: &str, any_case: bool) -> std::result::Result<Glob, globset::Error> {
    GlobBuilder::new(pattern)
        .literal_separator(false)
        .case_insensitive(any_case)
        .build()
}

/// [`glob`] for config key `key`: a pattern that is not a glob is an error
/// naming the key and the pattern.
pub fn glob_for(key: &str, pattern: &str, any_case: bool) -> Result<Glob> {
    glob(pattern, any_case).map_err(|e| {
        Error::invalid(
            "invalid_config",
            format!("{key} in the shared config has a pattern that is not a glob: {pattern:?} ({e})"),
        )
        .with_hint(format!(
            "nothing ran; fix the list: baton config set {key} \"{}\"",
            example(key)
        ))
    })
}

fn example(key: &str) -> &'static str {
    if key == "workflow.secret_env" {
        "*TOKEN*,*SECRET*,*KEY*"
    } else {
        "cargo *,make *"
    }
}

/// Patterns compiled into one set.
fn glob_set(key: &str, patterns: &[String]) -> Result<GlobSet> {
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        set.add(glob_for(key, p, false)?);
    }
    set.build().map_err(|e| {
        Error::invalid("invalid_config", format!("{key} does not compile: {e}"))
            .with_hint(format!("fix the list: baton config set {key} \"{}\"", example(key)))
    })
}

/// `workflow.allow`, compiled once per run; an empty list allows any command.
pub struct Allow {
    patterns: Vec<String>,
    set: GlobSet,
}

impl Allow {
    /// Refuses (exit 2) when a pattern does not compile: nothing may run on a
    /// list that cannot be judged.
    pub fn new(patterns: &[String]) -> Result<Allow> {
        Ok(Allow {
            patterns: patterns.to_vec(),
            set: glob_set("workflow.allow", patterns)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether the command line (argv joined by spaces) matches a pattern.
    pub fn allows(&self, command: &str) -> bool {
        self.is_empty() || self.set.is_match_candidate(&Candidate::from_bytes(command.as_bytes()))
    }
}

/// Why a step's `env` makes the allow list's judgement of `argv` void, if
/// it does: `PATH` decides which file a bare program name starts, and the
/// dynamic loader's variables load other code into whatever starts.
fn env_changes_program(argv: &[String], step: &Step) -> Option<String> {
    let program = argv.first()?;
    let loader = step.env.keys().find(|k| k.starts_with("LD_") || k.starts_with("DYLD_"));
    if let Some(name) = loader {
        return Some(format!(
            "its env sets {name}, which loads other code into `{program}`; with workflow.allow set, drop it from env"
        ));
    }
    if step.env.contains_key("PATH") && !program.contains('/') {
        return Some(format!(
            "its env sets PATH, which decides which `{program}` runs; with workflow.allow set, name the program by its path in `run` and in workflow.allow, or drop PATH from env"
        ));
    }
    None
}

/// Check every command step; empty when all may run.
pub fn check<'a>(steps: impl Iterator<Item = &'a Step>, allow: &Allow) -> Vec<Refusal> {
    let mut out = Vec::new();
    for step in steps {
        let Some(argv) = &step.run else { continue };
        let command = argv.join(" ");
        let refuse = |reason: String| Refusal {
            step: step.id.to_string(),
            command: command.clone(),
            reason,
        };
        if !allow.allows(&command) {
            out.push(refuse(format!(
                "matches no pattern of workflow.allow ({})",
                allow.patterns.join(", ")
            )));
        } else if !allow.is_empty() {
            if let Some(why) = env_changes_program(argv, step) {
                out.push(refuse(why));
            }
        }
        if let Some(why) = high_risk(argv) {
            out.push(refuse(format!("high risk: {why}")));
        }
    }
    out
}

fn program(arg: &str) -> &str {
    arg.rsplit('/').next().unwrap_or(arg)
}

fn is_root_like(target: &str) -> bool {
    let t = target.trim_end_matches('/');
    matches!(
        t,
        "" | "/" | "~" | "$HOME" | "*" | "/*" | "." | ".." | "~/*" | "/home" | "/usr" | "/etc" | "/var" | "/boot"
    )
}

/// Why an argv is obviously destructive, if it is.
pub fn high_risk(argv: &[String]) -> Option<String> {
    let (first, rest) = argv.split_first()?;
    let prog = program(first);
    let args: Vec<&str> = rest.iter().map(String::as_str).collect();
    let has_flag = |short: char, long: &str| {
        args.iter()
            .any(|a| *a == long || (a.starts_with('-') && !a.starts_with("--") && a.contains(short)))
    };
    match prog {
        "sudo" | "doas" | "env" | "nohup" | "xargs" | "nice" | "time" | "timeout" => {
            // Judge the command they run.
            let inner: Vec<String> = rest
                .iter()
                .skip_while(|a| a.starts_with('-') || a.contains('='))
                .cloned()
                .collect();
            let inner = if prog == "timeout" {
                inner.into_iter().skip(1).collect()
            } else {
                inner
            };
            high_risk(&inner)
        }
        "sh" | "bash" | "zsh" | "dash" | "ksh" => {
            let script = args.iter().position(|a| *a == "-c").and_then(|i| args.get(i + 1))?;
            shell_line_risk(script)
        }
        "rm" if has_flag('r', "--recursive") || has_flag('R', "--recursive") => args
            .iter()
            .find(|a| !a.starts_with('-') && is_root_like(a))
            .map(|t| format!("`rm` recursively removes {t}")),
        "rm" if args.contains(&"--no-preserve-root") => Some("`rm --no-preserve-root`".into()),
        "git" => {
            // The subcommand follows git's global options, some of which take
            // their value as the next argument: `git -C repo reset --hard` is
            // `reset`, not `repo`.
            let mut words = args.iter();
            let sub = loop {
                let a = words.next()?;
                if matches!(
                    *a,
                    "-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace" | "--config-env"
                ) {
                    words.next();
                } else if !a.starts_with('-') {
                    break a;
                }
            };
            match *sub {
                "push"
                    if args.iter().any(|a| {
                        *a == "--force"
                            || *a == "-f"
                            || a.starts_with("--force")
                            || a.starts_with('+')
                            || a.contains(":+")
                    }) =>
                {
                    Some("`git push --force` rewrites published history".into())
                }
                "push" if args.contains(&"--delete") || args.contains(&"--mirror") => {
                    Some("`git push --delete/--mirror` removes remote refs".into())
                }
                "reset" if args.contains(&"--hard") => Some("`git reset --hard` discards work".into()),
                "clean" if args.iter().any(|a| a.starts_with('-') && a.contains('f')) => {
                    Some("`git clean -f` deletes untracked files".into())
                }
                _ => None,
            }
        }
        p if p.starts_with("mkfs") => Some(format!("`{p}` formats a file system")),
        "dd" if args.iter().any(|a| a.starts_with("of=/dev/")) => Some("`dd` writes to a device".into()),
        "shutdown" | "reboot" | "halt" | "poweroff" => Some(format!("`{prog}` stops the machine")),
        "chmod" | "chown" if has_flag('R', "--recursive") && args.iter().any(|a| is_root_like(a)) => {
            Some(format!("`{prog} -R` on a system directory"))
        }
        _ => None,
    }
}

/// A shell line given to `sh -c`: split on the usual separators and judge each command.
fn shell_line_risk(line: &str) -> Option<String> {
    if line.contains(":(){") || line.contains(":|:&") {
        return Some("a fork bomb".into());
    }
    line.split([';', '&', '|', '\n', '(', ')', '`'])
        .map(|part| part.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .filter(|argv| !argv.is_empty())
        .find_map(|argv| high_risk(&argv))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn destructive_commands_are_high_risk() {
        for cmd in [
            "rm -rf /",
            "rm -fr ~",
            "sudo rm -r /etc",
            "git push --force origin main",
            "git push origin +main",
            "git reset --hard HEAD~3",
            "git -C /srv/repo reset --hard",
            "git -c user.name=x push --force",
            "git clean -fdx",
            "mkfs.ext4 /dev/sda1",
            "dd if=/dev/zero of=/dev/sda",
            "bash -c npm test && rm -rf /",
        ] {
            let a = if cmd.starts_with("bash -c") {
                vec!["bash".into(), "-c".into(), "npm test && rm -rf /".into()]
            } else {
                argv(cmd)
            };
            assert!(high_risk(&a).is_some(), "{cmd}");
        }
    }

    #[test]
    fn ordinary_commands_are_not() {
        for cmd in [
            "cargo test",
            "rm -rf target",
            "git push origin main",
            "make -j2",
            "rm file.txt",
            "git clean -n",
            "git -C /srv/repo status",
        ] {
            assert_eq!(high_risk(&argv(cmd)), None, "{cmd}");
        }
    }

    fn steps(text: &str) -> Vec<Step> {
        crate::workflow::def::parse("t.toml", text, crate::workflow::def::Format::Toml)
            .unwrap()
            .steps
    }

    fn allow(patterns: &[&str]) -> Allow {
        Allow::new(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn allow_globs_restrict_commands() {
        let s = steps("name = \"x\"\n[[steps]]\nid = \"a\"\nrun = [\"cargo\", \"test\", \"--all\"]\n");
        assert!(check(s.iter(), &allow(&["cargo *"])).is_empty());
        assert!(check(s.iter(), &allow(&[])).is_empty());
        assert_eq!(check(s.iter(), &allow(&["make *"])).len(), 1);
        assert!(check(s.iter(), &allow(&["{make,cargo} *"])).is_empty());
        // `*` spans paths and spaces; the whole line must match.
        assert!(allow(&["cargo *"]).allows("cargo test --manifest-path a/b/Cargo.toml"));
        assert!(!allow(&["cargo"]).allows("cargo test"));
        assert!(!allow(&["Cargo *"]).allows("cargo test"));
    }

    #[test]
    fn a_pattern_that_does_not_compile_refuses_everything() {
        let e = Allow::new(&["make *".into(), "cargo [".into()]).err().unwrap();
        assert_eq!(e.code, "invalid_config");
        assert_eq!(e.exit_code(), 2);
        assert!(e.message.contains("\"cargo [\""), "{}", e.message);
        assert!(e.hint.contains("baton config set workflow.allow"), "{}", e.hint);
    }

    #[test]
    fn env_that_changes_the_program_is_refused_under_an_allow_list() {
        let s = steps(
            "name = \"x\"\n[[steps]]\nid = \"path\"\nrun = [\"cargo\", \"b\"]\nenv = { PATH = \"tools\" }\n[[steps]]\nid = \"named\"\nrun = [\"tools/cargo\", \"b\"]\nenv = { PATH = \"tools\" }\n[[steps]]\nid = \"preload\"\nrun = [\"tools/cargo\", \"b\"]\nenv = { LD_PRELOAD = \"x.so\" }\n[[steps]]\nid = \"plain\"\nrun = [\"cargo\", \"b\"]\nenv = { RUST_LOG = \"info\" }\n",
        );
        let refused: Vec<String> = check(s.iter(), &allow(&["cargo *", "tools/cargo *"]))
            .into_iter()
            .map(|r| format!("{}: {}", r.step, r.reason))
            .collect();
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert!(refused[0].starts_with("path: its env sets PATH"), "{refused:?}");
        assert!(
            refused[1].starts_with("preload: its env sets LD_PRELOAD"),
            "{refused:?}"
        );
        // Without a list, env is the step's business.
        assert!(check(s.iter(), &allow(&[])).is_empty());
    }
}
