//! What learn does not accept in the shared config's `[learn]` section,
//! the rule packs and this machine's local rules: a rule that cannot be
//! compiled or changes what it may not, a pack that is unknown or broken,
//! thresholds and keywords out of their form, a shared change that would
//! loosen a rule. The message is the `Display` (a parser's account is the
//! source, shown after it in parentheses); the code and the hint (what to
//! write instead) are given where it becomes the user's error
//! (`ops::refusals`).

use crate::ids::{self, Role};

/// Anything in learn's configuration that is not usable.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Invalid {
    /// One rule entry (`invalid_learn_rule`).
    #[error(transparent)]
    Rule(#[from] BadRule),
    /// One entry of `learn.packs`, or a built-in pack (`unknown_pack`, `broken_pack`).
    #[error(transparent)]
    Pack(#[from] BadPack),
    /// `learn.escalate_after = 0` (`invalid_learn_policy`).
    #[error("learn.escalate_after is 0")]
    EscalateAfterZero,
    /// `learn.escalate_failure_percent` out of 1..=100 (`invalid_learn_policy`).
    #[error("learn.escalate_failure_percent is {0}, not a percentage")]
    FailurePercent(u32),
    /// A role of `learn.keywords` that is not a role id (`invalid_id`).
    #[error("learn.keywords: {0}")]
    KeywordRole(ids::Invalid),
    /// An empty keyword (`invalid_learn_policy`).
    #[error("learn.keywords.{role} has an empty keyword {word:?}")]
    EmptyKeyword { role: Role, word: String },
    /// The shared config would lower or disable this rule (`learn_rule_loosened`).
    #[error("learn rule {0} would be lowered or disabled by the shared config, which only tightens")]
    Loosened(String),
    /// This machine's local rules file (`invalid_learn_local`).
    #[error(transparent)]
    Local(#[from] super::policy::InvalidLocal),
}

/// A rule entry (shared, local or a pack's) that cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BadRule {
    #[error("learn rule id {0:?} is not of the form `area.what`")]
    Id(String),
    #[error("learn rule {id} has an unknown key {key:?}")]
    UnknownKey { id: String, key: String },
    #[error("learn rule {0} is listed twice")]
    Twice(String),
    /// A known rule given a matcher: only its level may change.
    #[error("learn rule {0} is already defined: only its level can be changed, or it can be disabled")]
    Redefined(String),
    /// `learned.failures` given a level.
    #[error("learned.failures raises a command by one level; it has no level of its own")]
    LearnedLevel,
    /// A known rule given neither a level nor `disabled`.
    #[error("learn rule {0} changes nothing")]
    ChangesNothing(String),
    /// A new rule without a program; `known` are the ids it might have meant.
    #[error("learn rule {id} is not a known rule and has no `program`")]
    NoProgram { id: String, known: Vec<String> },
    #[error("learn rule {0} has no level")]
    NoLevel(String),
    #[error("learn rule {0} has no `why`")]
    NoWhy(String),
    #[error("learn rule {id}: flag {flag:?} does not start with -")]
    Flag { id: String, flag: String },
    /// A name pattern that is not a glob; globset's account is the source.
    #[error("learn rule {id}: {pattern:?} is not a glob pattern")]
    Glob {
        id: String,
        pattern: String,
        #[source]
        source: globset::Error,
    },
    /// `text` that is not a regular expression; regex's account is the source.
    #[error("learn rule {id}: `text` is not a regular expression")]
    Text {
        id: String,
        #[source]
        source: regex::Error,
    },
}

/// A rule pack `learn.packs` names that is not there, or a built-in one
/// that does not parse (a bug in the build).
#[derive(Debug, Clone, thiserror::Error)]
pub enum BadPack {
    #[error("unknown rule pack {0:?}")]
    Unknown(String),
    /// `why` is the TOML parser's message.
    #[error("the built-in rule pack {name} does not parse: {why}")]
    Broken { name: String, why: String },
}
