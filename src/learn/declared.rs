//! Rules written as data rather than code: the rule packs (see
//! [`super::packs`]), the rules a repository adds in `[[learn.rules]]` and
//! the ones this machine adds in its local file. A declared rule names a
//! program (a glob), words that must appear among its operands in order,
//! flags that must all / any / none be present, operand globs, and a
//! case-insensitive pattern one argument must match (SQL, redis commands).

use super::matchers as m;
use super::policy::RuleEntry;
use super::shell::{Command, Word};
use super::BadRule;

type Result<T, E = BadRule> = std::result::Result<T, E>;

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
        Err(BadRule::Id(id.to_owned()))
    }
}

/// A declared rule's matcher: the program glob, compiled at once (every
/// command is checked against it), and the rest, compiled when a command of
/// that program is first seen (a pack's rules cost nothing on lines that do
/// not run its tools).
#[derive(Debug, Clone)]
pub struct Declared {
    program: Name,
    entry: RuleEntry,
    rest: std::sync::OnceLock<Option<Rest>>,
}

/// A name pattern (a program, a subcommand word, an operand): plain names (`kubectl`, `{kubectl,oc}`) are compared
/// as strings, which costs nothing to build; anything else is a glob
/// (compiling one builds a regular expression, about as costly as the
/// whole judgement of a short line).
#[derive(Debug, Clone)]
enum Name {
    Names(Vec<String>),
    Glob(globset::GlobMatcher),
}

impl Name {
    fn new(id: &str, pattern: &str) -> Result<Name> {
        let plain = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
        };
        let inner = pattern.strip_prefix('{').and_then(|p| p.strip_suffix('}'));
        match inner {
            Some(list) if list.split(',').all(plain) => Ok(Name::Names(list.split(',').map(str::to_owned).collect())),
            None if plain(pattern) => Ok(Name::Names(vec![pattern.to_owned()])),
            _ => glob(id, pattern).map(Name::Glob),
        }
    }

    fn is_match(&self, program: &str) -> bool {
        match self {
            Name::Names(names) => names.iter().any(|n| n == program),
            Name::Glob(g) => g.is_match(program),
        }
    }
}

#[derive(Debug, Clone)]
struct Rest {
    /// Patterns that must match operands in this order (not necessarily adjacent).
    words: Vec<Name>,
    args: Vec<Name>,
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
        // Compiled when the rule was checked; a pack's are checked by its tests.
        // A rule that still does not compile matches: the guard fails closed.
        let Some(rest) = self.rest.get_or_init(|| compile_rest(&self.entry).ok()) else {
            return true;
        };
        let entry = &self.entry;
        let words = command.args();
        let args = m::Args::of(words);
        let mut operands = args.operands.iter();
        let in_order = rest.words.iter().all(|glob| operands.any(|w| glob.is_match(&w.text)));
        in_order
            && entry.flags.iter().all(|f| has_flag(&args, words, f))
            && (entry.any_flags.is_empty() || entry.any_flags.iter().any(|f| has_flag(&args, words, f)))
            && !entry.not_flags.iter().any(|f| has_flag(&args, words, f))
            && rest
                .args
                .iter()
                .all(|p| args.operands.iter().any(|w| p.is_match(&w.text)))
            && rest
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

/// Compile a new rule: its level, reason and matcher. `checked`: every
/// pattern is compiled now, so a bad one is refused here (rules a person
/// wrote); otherwise only the program glob, the rest on first use (the
/// built-in packs, whose patterns the tests compile).
pub fn compile(entry: &RuleEntry, known: &[&str], checked: bool) -> Result<(super::judge::Level, String, Declared)> {
    let id = &entry.id;
    let program = entry.program.as_deref().ok_or_else(|| BadRule::NoProgram {
        id: id.clone(),
        known: known.iter().map(|k| (*k).to_owned()).collect(),
    })?;
    let level = entry.level.ok_or_else(|| BadRule::NoLevel(id.clone()))?;
    let why = entry
        .why
        .clone()
        .filter(|w| !w.trim().is_empty())
        .ok_or_else(|| BadRule::NoWhy(id.clone()))?;
    for flag in entry.flags.iter().chain(&entry.any_flags).chain(&entry.not_flags) {
        if !flag.starts_with('-') || flag == "-" || flag == "--" {
            return Err(BadRule::Flag {
                id: id.clone(),
                flag: flag.clone(),
            });
        }
    }
    let rest = std::sync::OnceLock::new();
    if checked {
        let _ = rest.set(Some(compile_rest(entry)?));
    }
    Ok((
        level,
        why,
        Declared {
            program: Name::new(id, program)?,
            entry: entry.clone(),
            rest,
        },
    ))
}

fn glob(id: &str, pattern: &str) -> Result<globset::GlobMatcher> {
    globset::Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|source| BadRule::Glob {
            id: id.to_owned(),
            pattern: pattern.to_owned(),
            source,
        })
}

fn compile_rest(entry: &RuleEntry) -> Result<Rest> {
    let id = &entry.id;
    let text = match &entry.text {
        None => None,
        // ASCII classes (`\w`, `\s`, `\b`) when the pattern allows it: a
        // Unicode `\w` builds an automaton hundreds of times bigger, which
        // costs milliseconds on every judgement; command lines are ASCII.
        Some(t) => Some(
            regex::RegexBuilder::new(t)
                .case_insensitive(true)
                .unicode(false)
                .size_limit(1 << 20)
                .build()
                .or_else(|_| {
                    regex::RegexBuilder::new(t)
                        .case_insensitive(true)
                        .size_limit(1 << 20)
                        .build()
                })
                .map_err(|source| BadRule::Text { id: id.clone(), source })?,
        ),
    };
    Ok(Rest {
        words: entry
            .subcommand
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(|w| Name::new(id, w))
            .collect::<Result<_>>()?,
        args: entry.args.iter().map(|a| Name::new(id, a)).collect::<Result<_>>()?,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_program_names_need_no_glob() {
        assert!(matches!(Name::new("a.b", "{kubectl,oc}").unwrap(), Name::Names(n) if n == ["kubectl", "oc"]));
        assert!(matches!(Name::new("a.b", "redis-cli").unwrap(), Name::Names(_)));
        for (pattern, yes, no) in [
            ("kube*", "kubectl", "oc"),
            ("{kube*,oc}", "oc", "kc"),
            ("[ab]c", "ac", "cc"),
        ] {
            let name = Name::new("a.b", pattern).unwrap();
            assert!(matches!(name, Name::Glob(_)), "{pattern}");
            assert!(name.is_match(yes) && !name.is_match(no), "{pattern}");
        }
        let name = Name::new("a.b", "{terraform,tofu}").unwrap();
        assert!(name.is_match("tofu") && !name.is_match("terraform,tofu"));
    }

    #[test]
    fn pack_patterns_use_ascii_classes() {
        for (name, _) in super::super::packs::PACKS {
            for entry in super::super::packs::pack(name).unwrap().rules {
                if let Some(t) = &entry.text {
                    let ascii = regex::RegexBuilder::new(t).unicode(false).build();
                    assert!(ascii.is_ok(), "{name}: {} falls back to Unicode classes: {t}", entry.id);
                }
            }
        }
    }

    #[test]
    fn every_pack_rule_compiles_when_checked() {
        for (name, _) in super::super::packs::PACKS {
            for entry in super::super::packs::pack(name).unwrap().rules {
                compile(&entry, &[], true).unwrap_or_else(|e| panic!("{name}: {}: {e}", entry.id));
            }
        }
    }
}
