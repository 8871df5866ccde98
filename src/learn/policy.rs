//! The `[learn]` section of `config.toml`: rules added, re-levelled or
//! disabled by id, routing keywords per role, and the thresholds of learned
//! escalation. `src/config.rs` embeds it as `Config.learn`; validation
//! compiles it, so a bad rule never reaches the ref.
//!
//! ```toml
//! [learn]
//! packs = ["kubernetes", "databases"]   # rule packs turned on, or ["all"]
//! escalate_after = 3             # failures in a row (since the last success)
//! escalate_min_runs = 10         # or: at least this many runs ...
//! escalate_failure_percent = 50  # ... of which at least this share failed
//!
//! [[learn.rules]]                # a new rule
//! id = "deploy.prod"
//! program = "kubectl"
//! subcommand = "delete"
//! flags = ["--all"]              # every flag must be present
//! args = ["ns/prod*"]            # every glob must match some operand
//! level = "high"
//! why = "deletes production resources"
//!
//! [[learn.rules]]                # a built-in rule, raised (the shared
//! id = "git.clean-force"         # config only tightens: lowering or
//! level = "high"                 # disabling is for LOCAL_PATH)
//!
//! [learn.keywords]               # routing keywords, replacing the built-in list of a role
//! reviewer = ["review", "audit", "pr"]
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::judge::Level;
use super::Invalid;
use crate::ids::Role;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Rule packs turned on, by name (`all`: every pack); see [`super::packs`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleEntry>,
    /// Role -> keywords; replaces the built-in keywords of that role.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keywords: BTreeMap<String, Vec<String>>,
    #[serde(default = "default_escalate_after")]
    pub escalate_after: u32,
    #[serde(default = "default_escalate_min_runs")]
    pub escalate_min_runs: u32,
    #[serde(default = "default_escalate_failure_percent")]
    pub escalate_failure_percent: u32,
    #[serde(flatten)]
    pub extra: toml::Table,
}

fn default_escalate_after() -> u32 {
    3
}
fn default_escalate_min_runs() -> u32 {
    10
}
fn default_escalate_failure_percent() -> u32 {
    50
}

impl Default for Policy {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

/// One `[[learn.rules]]` entry: a new rule (with `program`), or a change to
/// a built-in rule (its `id` with `level` or `disabled`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RuleEntry {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subcommand: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// At least one of these flags is present.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any_flags: Vec<String>,
    /// None of these flags is present (`--dry-run`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_flags: Vec<String>,
    /// A regular expression (case-insensitive) one argument must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Unknown keys are kept here so validation can name them.
    #[serde(flatten)]
    pub extra: toml::Table,
}

/// Where this machine's own rule changes live, under the git directory
/// (`.git/baton/learn/local.toml`): never in the state ref, so nobody who
/// can push the ref can use it to loosen the guard for everyone.
pub const LOCAL_PATH: &str = "baton/learn/local.toml";

/// This machine's rule changes: the same `[[rules]]` entries as
/// `[[learn.rules]]`, which may also lower or disable any rule.
///
/// ```toml
/// [[rules]]
/// id = "git.reset-hard"
/// level = "medium"
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LocalRules {
    #[serde(default)]
    pub rules: Vec<RuleEntry>,
    #[serde(flatten)]
    pub extra: toml::Table,
}

impl LocalRules {
    /// Parse the local file; anything wrong in it is invalid input (the
    /// guard refuses until it is fixed), naming the file.
    pub fn parse(path: &std::path::Path, bytes: &[u8]) -> Result<LocalRules, InvalidLocal> {
        let invalid = |problem: String| InvalidLocal {
            path: path.to_owned(),
            problem,
        };
        let text = std::str::from_utf8(bytes).map_err(|_| invalid("is not UTF-8".into()))?;
        let local: LocalRules =
            toml::from_str(text).map_err(|e| invalid(format!("does not parse: {}", e.message())))?;
        if let Some(key) = local.extra.keys().next() {
            return Err(invalid(format!("has an unknown key {key:?}")));
        }
        Ok(local)
    }
}

/// The machine-local rules file is not usable (`invalid_learn_local`): it
/// names itself, it is not in the state.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} {problem}", path.display())]
pub struct InvalidLocal {
    pub path: std::path::PathBuf,
    pub problem: String,
}

/// Escalation thresholds, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escalation {
    pub after_failures: u32,
    pub min_runs: u32,
    pub failure_percent: u32,
}

impl Default for Escalation {
    fn default() -> Self {
        Policy::default().escalation().expect("defaults are valid")
    }
}

impl Policy {
    /// Check everything that `RuleSet::from_policy` does not: thresholds
    /// and keywords. (Rules are checked by compiling them.)
    pub fn escalation(&self) -> Result<Escalation, Invalid> {
        if self.escalate_after == 0 {
            return Err(Invalid::EscalateAfterZero);
        }
        if !(1..=100).contains(&self.escalate_failure_percent) {
            return Err(Invalid::FailurePercent(self.escalate_failure_percent));
        }
        Ok(Escalation {
            after_failures: self.escalate_after,
            min_runs: self.escalate_min_runs,
            failure_percent: self.escalate_failure_percent,
        })
    }

    /// The routing keywords, checked: role names have the role id form and
    /// keywords are not empty.
    pub fn keyword_overrides(&self) -> Result<BTreeMap<Role, Vec<String>>, Invalid> {
        let mut out = BTreeMap::new();
        for (role, words) in &self.keywords {
            let role = Role::parse(role).map_err(Invalid::KeywordRole)?;
            if let Some(bad) = words.iter().find(|w| w.trim().is_empty()) {
                return Err(Invalid::EmptyKeyword {
                    role,
                    word: bad.clone(),
                });
            }
            out.insert(role, words.iter().map(|w| w.trim().to_lowercase()).collect());
        }
        Ok(out)
    }

    /// Everything in the section, checked (the rules by compiling them),
    /// and nothing in it loosens a known rule: shared rules only tighten.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.escalation()?;
        self.keyword_overrides()?;
        let set = super::rules::RuleSet::from_policy(self)?;
        match set.loosened().first() {
            None => Ok(()),
            Some(id) => Err(Invalid::Loosened(id.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_round_trip() {
        let p = Policy::default();
        assert_eq!(p.escalate_after, 3);
        assert!(p.validate().is_ok());
        let text = r#"
escalate_after = 2
future = "kept"

[[rules]]
id = "deploy.prod"
program = "kubectl"
subcommand = "delete"
level = "high"
why = "deletes production resources"

[[rules]]
id = "git.clean-force"
level = "high"

[keywords]
reviewer = ["Review", "audit"]
"#;
        let p: Policy = toml::from_str(text).unwrap();
        assert!(p.validate().is_ok());
        assert_eq!(p.extra["future"].as_str(), Some("kept"));
        let again: Policy = toml::from_str(&toml::to_string(&p).unwrap()).unwrap();
        assert_eq!(again, p);
        let kw = p.keyword_overrides().unwrap();
        assert_eq!(kw[&Role::parse("reviewer").unwrap()], ["review", "audit"]);
    }

    #[test]
    fn bad_thresholds_and_keywords_are_invalid() {
        use crate::error::Error;
        let p: Policy = toml::from_str("escalate_after = 0").unwrap();
        assert_eq!(Error::from(p.validate().unwrap_err()).exit_code(), 2);
        let p: Policy = toml::from_str("escalate_failure_percent = 150").unwrap();
        assert_eq!(Error::from(p.validate().unwrap_err()).exit_code(), 2);
        let p: Policy = toml::from_str("[keywords]\n\"bad role\" = [\"x\"]").unwrap();
        assert_eq!(Error::from(p.validate().unwrap_err()).exit_code(), 2);
        let p: Policy = toml::from_str("[keywords]\nreviewer = [\" \"]").unwrap();
        let err = Error::from(p.validate().unwrap_err());
        assert!(!err.hint.is_empty());
    }
}
