//! What may run: the `workflow.allow` globs and the learn subsystem's risk
//! guard (a step whose argv it judges high is refused, with the rule's
//! reason; `[learn]` rules of the shared config apply). Both refuse before
//! anything runs, unless `--allow-risk`.
//!
//! The allow list fails closed: a pattern that does not compile refuses the
//! run (it is never dropped, which could leave an empty list that allows
//! everything), and a step may not change which program its argv starts,
//! or load code into it, through its `env` (docs/workflows.md, "Policy").

use globset::{Candidate, GlobSet, GlobSetBuilder};

use super::def::Step;
use crate::glob::{glob_for, BadPattern};
use crate::learn::judge::{judge_argv, Context, Level};
use crate::learn::rules::RuleSet;

/// One reason a step may not run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    pub step: String,
    pub command: String,
    pub reason: String,
}

/// A list of globs that cannot be judged with: nothing may run on it. The
/// code and hint are given where it becomes the user's error (`ops::refusals`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// One pattern is not a glob.
    #[error(transparent)]
    Pattern(#[from] BadPattern),
    /// The patterns do not compile into one set (a size limit); globset's
    /// account is the source, shown after this.
    #[error("{key} does not compile")]
    Set {
        key: String,
        #[source]
        source: globset::Error,
    },
}

/// Patterns compiled into one set.
fn glob_set(key: &str, patterns: &[String]) -> Result<GlobSet, Invalid> {
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        set.add(glob_for(key, p, false)?);
    }
    set.build().map_err(|source| Invalid::Set {
        key: key.to_owned(),
        source,
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
    pub fn new(patterns: &[String]) -> Result<Allow, Invalid> {
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
pub fn check<'a>(steps: impl Iterator<Item = &'a Step>, allow: &Allow, rules: &RuleSet) -> Vec<Refusal> {
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
        if let Some(why) = high_risk(argv, rules) {
            out.push(refuse(format!("high risk: {why}")));
        }
    }
    out
}

/// Why the learn guard would deny `argv` (a step runs its argv directly, with
/// no shell between), if it would: every high reason, with its rule. Learned
/// escalation and the claim check are left out, so the same definition is
/// judged the same way on every machine, whatever ran there before.
pub fn high_risk(argv: &[String], rules: &RuleSet) -> Option<String> {
    let verdict = judge_argv(argv, rules, &Context::default());
    if verdict.level != Level::High {
        return None;
    }
    let reasons: Vec<String> = verdict
        .reasons
        .iter()
        .filter(|r| r.level == Level::High)
        .map(|r| format!("{} (rule {})", r.why, r.rule))
        .collect();
    Some(reasons.join("; "))
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
            "rm -fr /home",
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
            assert!(high_risk(&a, &RuleSet::builtin()).is_some(), "{cmd}");
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
            // No shell runs a step's argv: `~` is a file named `~` here.
            "rm -rf ~",
        ] {
            assert_eq!(high_risk(&argv(cmd), &RuleSet::builtin()), None, "{cmd}");
        }
    }

    #[test]
    fn the_repository_rules_apply_to_steps() {
        let policy: crate::learn::Policy = toml::from_str(
            "[[rules]]\nid = \"git.clean-force\"\nlevel = \"high\"\n\
             [[rules]]\nid = \"deploy.prod\"\nprogram = \"kubectl\"\nsubcommand = \"delete\"\n\
             level = \"high\"\nwhy = \"deletes production resources\"\n",
        )
        .unwrap();
        let rules = RuleSet::from_policy(&policy).unwrap();
        assert!(high_risk(&argv("git clean -f"), &rules).is_some(), "raised to high");
        let why = high_risk(&argv("kubectl delete ns prod"), &rules).unwrap();
        assert_eq!(why, "deletes production resources (rule deploy.prod)");
        let why = high_risk(&argv("sudo rm -rf /"), &rules).unwrap();
        assert!(why.ends_with("(rule rm.recursive-broad)"), "{why}");
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
        assert!(check(s.iter(), &allow(&["cargo *"]), &RuleSet::builtin()).is_empty());
        assert!(check(s.iter(), &allow(&[]), &RuleSet::builtin()).is_empty());
        assert_eq!(check(s.iter(), &allow(&["make *"]), &RuleSet::builtin()).len(), 1);
        assert!(check(s.iter(), &allow(&["{make,cargo} *"]), &RuleSet::builtin()).is_empty());
        // `*` spans paths and spaces; the whole line must match.
        assert!(allow(&["cargo *"]).allows("cargo test --manifest-path a/b/Cargo.toml"));
        assert!(!allow(&["cargo"]).allows("cargo test"));
        assert!(!allow(&["Cargo *"]).allows("cargo test"));
    }

    #[test]
    fn a_pattern_that_does_not_compile_refuses_everything() {
        let e = crate::error::Error::from(Allow::new(&["make *".into(), "cargo [".into()]).err().unwrap());
        assert_eq!(e.code, crate::error::code::INVALID_CONFIG);
        assert_eq!(e.exit_code(), 2);
        assert!(e.message().contains("\"cargo [\""), "{}", e.message());
        assert!(e.hint.contains("baton config set workflow.allow"), "{}", e.hint);
    }

    #[test]
    fn env_that_changes_the_program_is_refused_under_an_allow_list() {
        let s = steps(
            "name = \"x\"\n[[steps]]\nid = \"path\"\nrun = [\"cargo\", \"b\"]\nenv = { PATH = \"tools\" }\n[[steps]]\nid = \"named\"\nrun = [\"tools/cargo\", \"b\"]\nenv = { PATH = \"tools\" }\n[[steps]]\nid = \"preload\"\nrun = [\"tools/cargo\", \"b\"]\nenv = { LD_PRELOAD = \"x.so\" }\n[[steps]]\nid = \"plain\"\nrun = [\"cargo\", \"b\"]\nenv = { RUST_LOG = \"info\" }\n",
        );
        let refused: Vec<String> = check(s.iter(), &allow(&["cargo *", "tools/cargo *"]), &RuleSet::builtin())
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
        assert!(check(s.iter(), &allow(&[]), &RuleSet::builtin()).is_empty());
    }
}
