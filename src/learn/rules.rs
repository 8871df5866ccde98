//! The rule table: every built-in rule as data (id, level, why, and a
//! matcher over one simple command), and [`RuleSet`], the effective table
//! the judge runs, built in layers: the built-ins, the rule packs the
//! shared config turns on ([`super::packs`]), the shared `[[learn.rules]]`
//! (see [`super::policy`]), which may only tighten (raise a level, add a
//! rule), and this machine's local file, which may also lower or disable.
//!
//! Context rules have no matcher: `parse.unreadable`, `learned.failures` and
//! `claims.none` are decided by the judge from what it was given; they are
//! listed here so they can be re-levelled or disabled like any other.

use super::declared::{self, Declared};
use super::discards as d;
use super::judge::Level;
use super::matchers as m;
use super::policy::{LocalRules, Policy, RuleEntry};
use super::shell::Command;
use super::{BadRule, Invalid};

/// A built-in rule.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    pub id: &'static str,
    pub level: Level,
    pub why: &'static str,
    /// `None` for context rules, which the judge applies itself.
    pub matcher: Option<fn(&Command) -> bool>,
}

pub const PARSE_UNREADABLE: &str = "parse.unreadable";
pub const LEARNED_FAILURES: &str = "learned.failures";
pub const CLAIMS_NONE: &str = "claims.none";
pub const RM_OUTSIDE: &str = "rm.recursive-outside";
pub const RM_TRACKED: &str = "rm.recursive-tracked";

const fn rule(id: &'static str, level: Level, why: &'static str, matcher: fn(&Command) -> bool) -> Builtin {
    Builtin {
        id,
        level,
        why,
        matcher: Some(matcher),
    }
}

const fn context(id: &'static str, level: Level, why: &'static str) -> Builtin {
    Builtin {
        id,
        level,
        why,
        matcher: None,
    }
}

use Level::{High, Medium};

/// Every built-in rule, in the order reasons are listed.
pub const BUILTIN: &[Builtin] = &[
    rule(
        "rm.recursive-broad",
        High,
        "recursively deletes the root, a home or system directory, the whole working directory or the git repository",
        m::rm_recursive_broad,
    ),
    rule(
        "rm.recursive-var-root",
        High,
        "recursively deletes `$VAR/`: the root directory when the variable is empty or unset",
        m::rm_recursive_var_root,
    ),
    rule(
        "rm.no-preserve-root",
        High,
        "`--no-preserve-root` turns off rm's protection of `/`",
        m::rm_no_preserve_root,
    ),
    rule(
        "rm.recursive-dynamic",
        Medium,
        "recursively deletes targets decided at run time (a variable or input)",
        m::rm_recursive_dynamic,
    ),
    rule(
        "find.delete-broad",
        High,
        "`find` deletes everything under a broad starting point, with no filter",
        m::find_delete_broad,
    ),
    rule(
        "find.delete-root",
        Medium,
        "`find` deletes matching files across the root, a home or system directory",
        m::find_delete_root,
    ),
    rule(
        "disk.dd-device",
        High,
        "`dd` writes straight to a device, overwriting what is on it",
        m::dd_device,
    ),
    rule(
        "disk.format",
        High,
        "formats, wipes or repartitions a disk",
        m::disk_format,
    ),
    rule(
        "disk.redirect-device",
        High,
        "writes straight to a block device, overwriting what is on it",
        m::redirect_device,
    ),
    rule(
        "perm.recursive-root",
        High,
        "recursively changes permissions or ownership of the root, a home or system directory",
        m::perm_recursive_root,
    ),
    rule(
        "perm.recursive-broad",
        Medium,
        "recursively changes permissions or ownership of the whole working directory",
        m::perm_recursive_broad,
    ),
    rule(
        "net.pipe-to-shell",
        High,
        "runs code downloaded from the network without looking at it",
        m::pipe_to_shell,
    ),
    rule(
        "git.force-push",
        High,
        "force-pushes: overwrites remote history others may have built on",
        m::git_force_push,
    ),
    rule(
        "git.push-delete",
        High,
        "deletes branches or tags on the remote",
        m::git_push_delete,
    ),
    rule(
        "git.force-push-lease",
        Medium,
        "force-pushes with a lease: safer, but still rewrites remote history",
        m::git_force_push_lease,
    ),
    rule(
        "git.reset-hard",
        High,
        "`git reset --hard` throws away uncommitted changes for good",
        m::git_reset_hard,
    ),
    rule(
        "git.clean-ignored",
        High,
        "`clean -f` with -d/-x deletes untracked directories and ignored files for good",
        m::git_clean_ignored,
    ),
    rule(
        "git.clean-force",
        Medium,
        "`clean -f` deletes untracked files for good",
        m::git_clean_force,
    ),
    rule(
        "git.history-rewrite",
        High,
        "rewrites history; once pushed, every clone has to be repaired",
        m::git_history_rewrite,
    ),
    rule(
        "git.branch-force-delete",
        Medium,
        "force-deletes a branch even if it is not merged",
        m::git_branch_force_delete,
    ),
    rule(
        "git.discard-changes",
        Medium,
        "discards uncommitted changes in the working tree",
        d::git_discard_changes,
    ),
    rule(
        "git.stash-discard",
        Medium,
        "drops stashed changes; git keeps no other copy of them",
        d::git_stash_discard,
    ),
    rule(
        "git.reset-merge",
        Medium,
        "`reset --merge` resets changed files, uncommitted changes in them included",
        d::git_reset_merge,
    ),
    rule(
        "git.worktree-force-remove",
        Medium,
        "force-removes a worktree with its uncommitted and untracked files",
        d::git_worktree_force_remove,
    ),
    rule(
        "git.reflog-expire",
        High,
        "expires the reflog now: commits lost by a reset, rebase or deleted branch can no longer be found",
        d::git_reflog_expire,
    ),
    rule(
        "git.prune-now",
        Medium,
        "prunes unreachable objects at once, with no grace period to recover lost work",
        d::git_prune_now,
    ),
    rule(
        "git.update-ref",
        Medium,
        "moves or deletes a ref directly, bypassing git's safety checks",
        m::git_update_ref,
    ),
    rule(
        "pkg.publish",
        High,
        "publishes a package: public and permanent",
        m::pkg_publish,
    ),
    rule(
        "pkg.unpublish",
        High,
        "removes or yanks a published package others may depend on",
        m::pkg_unpublish,
    ),
    rule(
        "sys.shutdown",
        High,
        "shuts down or reboots the machine",
        m::sys_shutdown,
    ),
    rule(
        "sys.fork-bomb",
        High,
        "a function that spawns itself without end: a fork bomb",
        m::fork_bomb,
    ),
    rule(
        "shell.dynamic-code",
        Medium,
        "runs code held in a variable, which cannot be judged in advance",
        m::dynamic_code,
    ),
    context(
        PARSE_UNREADABLE,
        Medium,
        "the line could not be read as shell, so it cannot be judged",
    ),
    context(LEARNED_FAILURES, Medium, "this command family failed repeatedly before"),
    context(
        CLAIMS_NONE,
        Medium,
        "an agent pushes or commits without an active claim",
    ),
    rule(
        "shell.dynamic-program",
        Medium,
        "the program to run is decided at run time (a variable, a substitution or word splitting)",
        m::dynamic_program,
    ),
    rule(
        "shell.decoded-code",
        High,
        "runs code decoded or unpacked at run time, which cannot be read before it runs",
        m::decoded_code,
    ),
    rule(
        "shell.stdin-code",
        Medium,
        "runs code another command prints, which cannot be judged in advance",
        m::stdin_code,
    ),
    context(
        RM_OUTSIDE,
        High,
        "recursively deletes the work tree itself or a directory outside it (other than a temporary directory)",
    ),
    context(
        RM_TRACKED,
        Medium,
        "recursively deletes files git tracks: committed content comes back, uncommitted changes do not",
    ),
];

/// How a rule in the effective table matches.
#[derive(Debug, Clone)]
enum Kind {
    Builtin(fn(&Command) -> bool),
    Context,
    Declared(Box<Declared>),
}

/// Where a rule of the effective table comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Builtin,
    Pack(&'static str),
    /// `[[learn.rules]]` in the shared config.
    Shared,
    /// This machine's local file.
    Local,
}

/// One rule of the effective table.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub level: Level,
    pub why: String,
    pub origin: Origin,
    kind: Kind,
}

impl Rule {
    pub fn matches(&self, command: &Command) -> bool {
        match &self.kind {
            Kind::Builtin(f) => f(command),
            Kind::Context => false,
            Kind::Declared(d) => d.matches(command),
        }
    }

    /// A rule written as data (a pack's, the shared config's, the local file's).
    pub fn is_declared(&self) -> bool {
        matches!(self.kind, Kind::Declared(_))
    }
}

/// The effective rules: built-ins, packs, then the shared and local changes.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// Rules the shared config tried to lower or disable (left as they were).
    loosened: Vec<String>,
}

impl Default for RuleSet {
    fn default() -> Self {
        RuleSet::builtin()
    }
}

impl RuleSet {
    pub fn builtin() -> RuleSet {
        let rules = BUILTIN
            .iter()
            .map(|b| Rule {
                id: b.id.to_owned(),
                level: b.level,
                why: b.why.to_owned(),
                origin: Origin::Builtin,
                kind: b.matcher.map_or(Kind::Context, Kind::Builtin),
            })
            .collect();
        RuleSet {
            rules,
            loosened: Vec::new(),
        }
    }

    /// The shared layers: built-ins, the packs `policy` turns on, then its
    /// `[[learn.rules]]`, which only tighten: a change that would lower or
    /// disable a rule is left out (and listed by [`RuleSet::loosened`]).
    pub fn from_policy(policy: &Policy) -> Result<RuleSet, Invalid> {
        let mut set = RuleSet::builtin();
        for (pack, entries) in super::packs::enabled(&policy.packs)? {
            set.layer(&entries, Origin::Pack(pack))?;
        }
        set.layer(&policy.rules, Origin::Shared)?;
        Ok(set)
    }

    /// The shared layers and this machine's local file on top, which may
    /// also lower or disable rules.
    pub fn with_local(policy: &Policy, local: &LocalRules) -> Result<RuleSet, Invalid> {
        let mut set = RuleSet::from_policy(policy)?;
        set.layer(&local.rules, Origin::Local)?;
        Ok(set)
    }

    /// Rules the shared config would have lowered or disabled.
    pub fn loosened(&self) -> &[String] {
        &self.loosened
    }

    fn known_ids(&self) -> Vec<&str> {
        self.rules.iter().map(|r| r.id.as_str()).collect()
    }

    fn layer(&mut self, entries: &[RuleEntry], origin: Origin) -> Result<(), BadRule> {
        let may_loosen = origin == Origin::Local;
        let mut seen: Vec<&str> = Vec::new();
        for entry in entries {
            declared::check_id(&entry.id)?;
            if let Some(key) = entry.extra.keys().next() {
                return Err(BadRule::UnknownKey {
                    id: entry.id.clone(),
                    key: key.clone(),
                });
            }
            if seen.contains(&entry.id.as_str()) {
                return Err(BadRule::Twice(entry.id.clone()));
            }
            seen.push(&entry.id);
            match self.rules.iter().position(|r| r.id == entry.id) {
                Some(index) => self.change(index, entry, may_loosen)?,
                None => {
                    let checked = !matches!(origin, Origin::Pack(_));
                    let (level, why, matcher) = declared::compile(entry, &self.known_ids(), checked)?;
                    if !entry.disabled {
                        self.rules.push(Rule {
                            id: entry.id.clone(),
                            level,
                            why,
                            origin,
                            kind: Kind::Declared(Box::new(matcher)),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn change(&mut self, index: usize, entry: &RuleEntry, may_loosen: bool) -> Result<(), BadRule> {
        if declared::has_matcher(entry) {
            return Err(BadRule::Redefined(entry.id.clone()));
        }
        if entry.id == LEARNED_FAILURES && entry.level.is_some() {
            return Err(BadRule::LearnedLevel);
        }
        let current = self.rules[index].level;
        let loosens = entry.disabled || entry.level.is_some_and(|l| l < current);
        if loosens && !may_loosen {
            self.loosened.push(entry.id.clone());
            return Ok(());
        }
        if entry.disabled {
            self.rules.remove(index);
        } else if let Some(level) = entry.level {
            self.rules[index].level = level;
        } else {
            return Err(BadRule::ChangesNothing(entry.id.clone()));
        }
        Ok(())
    }

    /// Every enabled rule, built-ins first.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The enabled rules that match one command.
    pub fn matching<'a>(&'a self, command: &'a Command) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules.iter().filter(move |r| r.matches(command))
    }

    /// An enabled rule by id (context rules are looked up this way).
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;
    use crate::learn::shell::parse_line;

    fn policy(text: &str) -> Policy {
        toml::from_str(text).unwrap()
    }

    fn ids(set: &RuleSet, line: &str) -> Vec<String> {
        let script = parse_line(line).unwrap();
        script
            .commands
            .iter()
            .flat_map(|c| set.matching(c).map(|r| r.id.clone()).collect::<Vec<_>>())
            .collect()
    }

    #[test]
    fn builtin_ids_are_unique_and_well_formed() {
        let mut ids: Vec<&str> = BUILTIN.iter().map(|b| b.id).collect();
        for id in &ids {
            declared::check_id(id).unwrap();
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), BUILTIN.len());
    }

    #[test]
    fn the_docs_list_every_builtin_rule_with_its_level() {
        let docs = include_str!("../../docs/learn.md");
        for b in BUILTIN {
            let level = if b.id == LEARNED_FAILURES {
                "+1 level".to_owned()
            } else {
                b.level.to_string()
            };
            let row = format!("| `{}` | {level} | {} |", b.id, b.why);
            assert!(docs.contains(&row), "docs/learn.md lacks the row {row}");
        }
    }

    #[test]
    fn user_rules_match_program_subcommand_flags_and_args() {
        let set = RuleSet::from_policy(&policy(
            r#"
[[rules]]
id = "deploy.prod"
program = "kubectl"
subcommand = "delete"
flags = ["--all", "-n"]
args = ["prod*"]
level = "high"
why = "deletes production resources"
"#,
        ))
        .unwrap();
        assert_eq!(ids(&set, "kubectl delete pods --all -n prod-eu"), ["deploy.prod"]);
        assert!(ids(&set, "kubectl delete pods --all -n staging").is_empty());
        assert!(ids(&set, "kubectl get pods --all -n prod").is_empty());
        assert!(ids(&set, "kubectl delete pods -n prod").is_empty());
        assert_eq!(set.get("deploy.prod").unwrap().level, Level::High);
    }

    #[test]
    fn shared_rules_only_tighten_and_the_local_file_may_loosen() {
        let shared = policy(
            "[[rules]]\nid = \"git.clean-force\"\nlevel = \"high\"\n\
             [[rules]]\nid = \"git.reset-hard\"\nlevel = \"medium\"\n\
             [[rules]]\nid = \"pkg.publish\"\ndisabled = true\n\
             [[rules]]\nid = \"learned.failures\"\ndisabled = true\n",
        );
        let set = RuleSet::from_policy(&shared).unwrap();
        assert_eq!(set.get("git.clean-force").unwrap().level, Level::High, "raised");
        assert_eq!(set.get("git.reset-hard").unwrap().level, Level::High, "not lowered");
        assert!(set.get("pkg.publish").is_some(), "not disabled");
        assert!(set.get(LEARNED_FAILURES).is_some());
        assert_eq!(set.loosened(), ["git.reset-hard", "pkg.publish", LEARNED_FAILURES]);
        assert_eq!(ids(&set, "cargo publish"), ["pkg.publish"]);
        let err = crate::error::Error::from(shared.validate().unwrap_err());
        assert_eq!((err.exit_code(), err.code), (2, code::LEARN_RULE_LOOSENED));
        assert!(err.hint.contains("local.toml"), "{}", err.hint);

        let local: LocalRules = toml::from_str(
            "[[rules]]\nid = \"git.reset-hard\"\nlevel = \"medium\"\n\
             [[rules]]\nid = \"pkg.publish\"\ndisabled = true\n\
             [[rules]]\nid = \"git.clean-force\"\nlevel = \"low\"\n",
        )
        .unwrap();
        let set = RuleSet::with_local(&Policy::default(), &local).unwrap();
        assert_eq!(set.get("git.reset-hard").unwrap().level, Level::Medium);
        assert!(set.get("pkg.publish").is_none());
        assert!(ids(&set, "cargo publish").is_empty());
        assert_eq!(set.get("git.clean-force").unwrap().level, Level::Low);
        assert!(set.loosened().is_empty());
        // The local file loosens what the shared config raised, too.
        let set = RuleSet::with_local(&shared, &local).unwrap();
        assert_eq!(set.get("git.clean-force").unwrap().level, Level::Low);
    }

    #[test]
    fn bad_rules_are_invalid_with_a_hint() {
        let cases = [
            "[[rules]]\nid = \"Bad Id\"\nlevel = \"high\"",
            "[[rules]]\nid = \"x.y\"\nlevel = \"high\"\nwhy = \"w\"",
            "[[rules]]\nid = \"x.y\"\nprogram = \"p\"\nwhy = \"w\"",
            "[[rules]]\nid = \"x.y\"\nprogram = \"p\"\nlevel = \"high\"",
            "[[rules]]\nid = \"x.y\"\nprogram = \"[\"\nlevel = \"high\"\nwhy = \"w\"",
            "[[rules]]\nid = \"x.y\"\nprogram = \"p\"\nflags = [\"f\"]\nlevel = \"high\"\nwhy = \"w\"",
            "[[rules]]\nid = \"x.y\"\nprogam = \"p\"\nlevel = \"high\"\nwhy = \"w\"",
            "[[rules]]\nid = \"git.reset-hard\"\nprogram = \"git\"\nlevel = \"low\"",
            "[[rules]]\nid = \"git.reset-hard\"",
            "[[rules]]\nid = \"learned.failures\"\nlevel = \"high\"",
            "[[rules]]\nid = \"git.reset-hard\"\nlevel = \"high\"\n[[rules]]\nid = \"git.reset-hard\"\nlevel = \"high\"",
            "[[rules]]\nid = \"x.y\"\nprogram = \"p\"\ntext = \"(\"\nlevel = \"high\"\nwhy = \"w\"",
            "[[rules]]\nid = \"x.y\"\nprogram = \"p\"\nnot_flags = [\"--\"]\nlevel = \"high\"\nwhy = \"w\"",
        ];
        for text in cases {
            let err = crate::error::Error::from(RuleSet::from_policy(&policy(text)).unwrap_err());
            assert_eq!(err.exit_code(), 2, "{text}");
            assert!(!err.hint.is_empty(), "{text}");
        }
        let unknown_level = toml::from_str::<Policy>("[[rules]]\nid = \"x\"\nlevel = \"severe\"");
        assert!(unknown_level.is_err());
    }
}
