//! What may run: the `workflow.allow` globs and a minimal built-in guard
//! against obviously destructive commands (until the learn subsystem's risk
//! guard replaces it). Both refuse before anything runs, unless `--allow-risk`.

use crate::ids::StepId;

/// One reason a step may not run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    pub step: String,
    pub command: String,
    pub reason: String,
}

/// Check every command of a definition; empty when all may run.
pub fn check<'a>(commands: impl Iterator<Item = (&'a StepId, &'a Vec<String>)>, allow: &[String]) -> Vec<Refusal> {
    let patterns: Vec<glob::Pattern> = allow.iter().filter_map(|p| glob::Pattern::new(p).ok()).collect();
    let mut out = Vec::new();
    for (step, argv) in commands {
        let command = argv.join(" ");
        if !patterns.is_empty() && !patterns.iter().any(|p| p.matches(&command)) {
            out.push(Refusal {
                step: step.to_string(),
                command: command.clone(),
                reason: format!("matches no pattern of workflow.allow ({})", allow.join(", ")),
            });
        }
        if let Some(why) = high_risk(argv) {
            out.push(Refusal {
                step: step.to_string(),
                command,
                reason: format!("high risk: {why}"),
            });
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

    #[test]
    fn allow_globs_restrict_commands() {
        let id = StepId::parse("a").unwrap();
        let cmd = argv("cargo test --all");
        let allowed = check([(&id, &cmd)].into_iter(), &["cargo *".into()]);
        assert!(allowed.is_empty());
        let refused = check([(&id, &cmd)].into_iter(), &["make *".into()]);
        assert_eq!(refused.len(), 1);
    }
}
