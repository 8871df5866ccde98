//! Rules written as data rather than code: the rule packs (see
//! [`super::packs`]), the rules a repository adds in `[[learn.rules]]` and
//! the ones this machine adds in its local file. A declared rule names a
//! program (a glob), words that must appear among its operands in order,
//! flags that must all / any / none be present, operand globs, and a
//! case-insensitive pattern one argument must match (SQL, redis commands).

use super::matchers as m;
use super::policy::RuleEntry;
use super::shell::{Command, Word};
use crate::error::{Error, Result};

pub fn invalid(message: impl Into<String>, hint: impl Into<String>) -> Error {
    Error::invalid("invalid_learn_rule", message).with_hint(hint)
}

/// Rule ids: `area.what`, 1-64 characters of a-z 0-9 . - _.
pub fn check_id(id: &str) -> Result<()> {
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

/// A declared rule's matcher, compiled.
#[derive(Debug, Clone)]
pub struct Declared {
    program: globset::GlobMatcher,
    /// Globs that must match operands in this order (not necessarily adjacent).
    words: Vec<globset::GlobMatcher>,
    flags: Vec<String>,
    any_flags: Vec<String>,
    not_flags: Vec<String>,
    args: Vec<globset::GlobMatcher>,
    text: Option<regex::Regex>,
}

impl Declared {
    pub fn matches(&self, command: &Command) -> bool {
        let Some(program) = command.program() else {
            return false;
        };
        if !self.program.is_match(program) {
            return false;
        }
        let words = command.args();
        let args = m::Args::of(words);
        let mut operands = args.operands.iter();
        let in_order = self.words.iter().all(|glob| operands.any(|w| glob.is_match(&w.text)));
        in_order
            && self.flags.iter().all(|f| has_flag(&args, words, f))
            && (self.any_flags.is_empty() || self.any_flags.iter().any(|f| has_flag(&args, words, f)))
            && !self.not_flags.iter().any(|f| has_flag(&args, words, f))
            && self
                .args
                .iter()
                .all(|p| args.operands.iter().any(|w| p.is_match(&w.text)))
            && self
                .text
                .as_ref()
                .is_none_or(|re| words.iter().any(|w| re.is_match(&w.text)))
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
    // `-auto-approve`, `-destroy`: single-dash long options, as typed (or `=value`).
    words
        .iter()
        .any(|w| w.text == flag || w.text.strip_prefix(flag).is_some_and(|rest| rest.starts_with('=')))
}

/// Does this entry describe a matcher (a new rule), not only a change?
pub fn has_matcher(entry: &RuleEntry) -> bool {
    entry.program.is_some()
        || entry.subcommand.is_some()
        || !entry.flags.is_empty()
        || !entry.any_flags.is_empty()
        || !entry.not_flags.is_empty()
        || !entry.args.is_empty()
        || entry.text.is_some()
        || entry.why.is_some()
}

/// Compile a new rule: its level, reason and matcher.
pub fn compile(entry: &RuleEntry, known: &[&str]) -> Result<(super::judge::Level, String, Declared)> {
    let id = &entry.id;
    let program = entry.program.as_deref().ok_or_else(|| {
        invalid(
            format!("learn rule {id} is not a known rule and has no `program`"),
            format!(
                "add `program = \"...\"` (and `level`, `why`) to define it, or use a known id: {}",
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
                "use *, ?, [...] and {a,b} as in shell globs",
            )
        })
    };
    for flag in entry.flags.iter().chain(&entry.any_flags).chain(&entry.not_flags) {
        if !flag.starts_with('-') || flag == "-" || flag == "--" {
            return Err(invalid(
                format!("learn rule {id}: flag {flag:?} does not start with -"),
                "write flags as they are typed: \"-f\", \"--force\", \"-auto-approve\"",
            ));
        }
    }
    let text = match &entry.text {
        None => None,
        Some(t) => Some(
            regex::RegexBuilder::new(t)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| {
                    invalid(
                        format!("learn rule {id}: `text` is not a regular expression ({e})"),
                        "write a regular expression one argument must contain, e.g. \"\\\\bdrop\\\\s+table\\\\b\"",
                    )
                })?,
        ),
    };
    let words = entry
        .subcommand
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(pattern)
        .collect::<Result<_>>()?;
    Ok((
        level,
        why,
        Declared {
            program: pattern(program)?,
            words,
            flags: entry.flags.clone(),
            any_flags: entry.any_flags.clone(),
            not_flags: entry.not_flags.clone(),
            args: entry.args.iter().map(|a| pattern(a)).collect::<Result<_>>()?,
            text,
        },
    ))
}
