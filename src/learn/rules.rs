//! The rule table: every built-in rule as data (id, level, why, and a
//! matcher over one simple command), plus the rules and changes a repository
//! adds in `[learn]` (see [`super::policy`]). [`RuleSet`] is the effective
//! table the judge runs.
//!
//! Context rules have no matcher: `parse.unreadable`, `learned.failures` and
//! `claims.none` are decided by the judge from what it was given; they are
//! listed here so they can be re-levelled or disabled like any other.

use super::judge::Level;
use super::matchers as m;
use super::policy::{LearnPolicy, RuleEntry};
use super::shell::{Command, Word};
use crate::error::{Error, Result};

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
        m::git_discard_changes,
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
    User(UserMatcher),
}

/// One rule of the effective table.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub level: Level,
    pub why: String,
    kind: Kind,
}

impl Rule {
    pub fn matches(&self, command: &Command) -> bool {
        match &self.kind {
            Kind::Builtin(f) => f(command),
            Kind::Context => false,
            Kind::User(u) => u.matches(command),
        }
    }

    pub fn is_user(&self) -> bool {
        matches!(self.kind, Kind::User(_))
    }
}

/// A declarative rule from `[[learn.rules]]`, compiled.
#[derive(Debug, Clone)]
struct UserMatcher {
    program: globset::GlobMatcher,
    subcommand: Option<String>,
    flags: Vec<String>,
    args: Vec<globset::GlobMatcher>,
}

impl UserMatcher {
    fn matches(&self, command: &Command) -> bool {
        let Some(program) = command.program() else {
            return false;
        };
        if !self.program.is_match(program) {
            return false;
        }
        let args = m::Args::of(command.args());
        if let Some(sub) = &self.subcommand {
            if args.operands.first().map(|w| w.text.as_str()) != Some(sub.as_str()) {
                return false;
            }
        }
        let flags_ok = self.flags.iter().all(|f| has_flag(&args, command.args(), f));
        let args_ok = self
            .args
            .iter()
            .all(|p| args.operands.iter().any(|w| p.is_match(&w.text)));
        flags_ok && args_ok
    }
}

fn has_flag(args: &m::Args<'_>, words: &[Word], flag: &str) -> bool {
    if let Some(long) = flag.strip_prefix("--") {
        return args.long(long);
    }
    if let Some(short) = flag.strip_prefix('-') {
        let mut chars = short.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            return args.short(c);
        }
    }
    words.iter().any(|w| w.text == flag)
}

/// The effective rules: built-ins with the repository's changes, then its own.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl Default for RuleSet {
    fn default() -> Self {
        RuleSet::builtin()
    }
}

fn invalid(message: impl Into<String>, hint: impl Into<String>) -> Error {
    Error::invalid("invalid_learn_rule", message).with_hint(hint)
}

fn check_id(id: &str) -> Result<()> {
    let ok = id.len() <= 64
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            format!("learn rule id {id:?} is not of the form `area.what`"),
            "rule ids are 1-64 characters of a-z 0-9 . - _, starting with a letter or digit, e.g. deploy.prod",
        ))
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
                kind: b.matcher.map_or(Kind::Context, Kind::Builtin),
            })
            .collect();
        RuleSet { rules }
    }

    /// Built-ins changed by `[[learn.rules]]`, then the rules it adds.
    pub fn from_policy(policy: &LearnPolicy) -> Result<RuleSet> {
        let mut set = RuleSet::builtin();
        let mut seen: Vec<&str> = Vec::new();
        for entry in &policy.rules {
            check_id(&entry.id)?;
            if let Some(key) = entry.extra.keys().next() {
                return Err(invalid(
                    format!("learn rule {} has an unknown key {key:?}", entry.id),
                    "rule keys are id, level, disabled, why, program, subcommand, flags, args",
                ));
            }
            if seen.contains(&entry.id.as_str()) {
                return Err(invalid(
                    format!("learn rule {} is listed twice", entry.id),
                    "keep one [[learn.rules]] entry per id",
                ));
            }
            seen.push(&entry.id);
            match BUILTIN.iter().position(|b| b.id == entry.id) {
                Some(index) => set.change_builtin(index, entry)?,
                None => set.rules.push(user_rule(entry)?),
            }
        }
        set.rules
            .retain(|r| !policy.rules.iter().any(|e| e.id == r.id && e.disabled));
        Ok(set)
    }

    fn change_builtin(&mut self, index: usize, entry: &RuleEntry) -> Result<()> {
        let has_matcher = entry.program.is_some()
            || entry.subcommand.is_some()
            || !entry.flags.is_empty()
            || !entry.args.is_empty()
            || entry.why.is_some();
        if has_matcher {
            return Err(invalid(
                format!(
                    "learn rule {} is built in: only its level can be changed, or it can be disabled",
                    entry.id
                ),
                "give a new id to add a rule of your own, or keep only `level` / `disabled`",
            ));
        }
        if entry.id == LEARNED_FAILURES && entry.level.is_some() {
            return Err(invalid(
                "learned.failures raises a command by one level; it has no level of its own",
                "remove `level`, or set `disabled = true` to turn learned escalation off",
            ));
        }
        if let Some(level) = entry.level {
            self.rules[index].level = level;
        } else if !entry.disabled {
            return Err(invalid(
                format!("learn rule {} changes nothing", entry.id),
                "set `level = \"low\" | \"medium\" | \"high\"` or `disabled = true`",
            ));
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

fn user_rule(entry: &RuleEntry) -> Result<Rule> {
    let id = &entry.id;
    let program = entry.program.as_deref().ok_or_else(|| {
        let known: Vec<&str> = BUILTIN.iter().map(|b| b.id).collect();
        invalid(
            format!("learn rule {id} is not built in and has no `program`"),
            format!(
                "add `program = \"...\"` (and `level`, `why`) to define it, or use a built-in id: {}",
                known.join(", ")
            ),
        )
    })?;
    let level = entry.level.ok_or_else(|| {
        invalid(
            format!("learn rule {id} has no level"),
            "add `level = \"low\" | \"medium\" | \"high\"`",
        )
    })?;
    let why = entry.why.clone().filter(|w| !w.trim().is_empty()).ok_or_else(|| {
        invalid(
            format!("learn rule {id} has no `why`"),
            "add `why = \"...\"`: it is shown as the reason",
        )
    })?;
    let pattern = |p: &str| {
        globset::Glob::new(p).map(|g| g.compile_matcher()).map_err(|e| {
            invalid(
                format!("learn rule {id}: {p:?} is not a glob pattern ({e})"),
                "use *, ? and [...] as in shell globs",
            )
        })
    };
    if let Some(bad) = entry.flags.iter().find(|f| !f.starts_with('-')) {
        return Err(invalid(
            format!("learn rule {id}: flag {bad:?} does not start with -"),
            "write flags as they are typed: \"-f\", \"--force\"",
        ));
    }
    Ok(Rule {
        id: id.clone(),
        level,
        why,
        kind: Kind::User(UserMatcher {
            program: pattern(program)?,
            subcommand: entry.subcommand.clone(),
            flags: entry.flags.clone(),
            args: entry.args.iter().map(|a| pattern(a)).collect::<Result<_>>()?,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::shell::parse_line;

    fn policy(text: &str) -> LearnPolicy {
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
            check_id(id).unwrap();
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
    fn builtins_can_be_relevelled_and_disabled() {
        let set = RuleSet::from_policy(&policy(
            "[[rules]]\nid = \"git.reset-hard\"\nlevel = \"medium\"\n[[rules]]\nid = \"pkg.publish\"\ndisabled = true\n",
        ))
        .unwrap();
        assert_eq!(set.get("git.reset-hard").unwrap().level, Level::Medium);
        assert!(set.get("pkg.publish").is_none());
        assert!(ids(&set, "cargo publish").is_empty());
        assert_eq!(ids(&set, "git reset --hard"), ["git.reset-hard"]);
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
            "[[rules]]\nid = \"git.reset-hard\"\nlevel = \"low\"\n[[rules]]\nid = \"git.reset-hard\"\nlevel = \"high\"",
        ];
        for text in cases {
            let err = RuleSet::from_policy(&policy(text)).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{text}");
            assert!(!err.hint.is_empty(), "{text}");
        }
        let unknown_level = toml::from_str::<LearnPolicy>("[[rules]]\nid = \"x\"\nlevel = \"severe\"");
        assert!(unknown_level.is_err());
    }
}
