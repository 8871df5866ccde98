//! The learn checks of doctor, pure: the facts (the rules of the shared
//! config compiled, the statistics files parsed, the local journal looked
//! at) in, findings out. `ops::learn::check` gathers the facts and folds
//! the journal for `--fix`.

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::finding::Finding;

use super::stats::{COMMANDS_PATH, ROUTES_PATH};

pub const RULES: &str = "learn.rules";
pub const STATISTICS: &str = "learn.statistics";
pub const JOURNAL: &str = "learn.journal";

/// A journal this big is folded by hand if nothing else folds it (about
/// 4 000 entries): `pre-command` reads it on every call.
pub const JOURNAL_WARN_BYTES: u64 = 1024 * 1024;

/// Entries waiting longer than this: nothing folds this machine's journal.
pub const JOURNAL_WARN_AGE: chrono::Duration = chrono::Duration::days(1);

/// This machine's journal, as found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalFacts {
    /// Journal files (the live one and any a fold took aside).
    pub files: usize,
    pub bytes: u64,
    pub entries: usize,
    /// Lines that do not parse (cut short by a crash).
    pub skipped: usize,
    /// The time of the oldest entry.
    pub oldest: Option<Timestamp>,
    pub now: Timestamp,
}

/// What doctor found to judge.
#[derive(Debug, Clone)]
pub struct Facts {
    /// How many rules are in effect and which ones the shared config tried
    /// to lower or disable (ignored), or why the rules are refused.
    pub rules: Result<(usize, Vec<String>)>,
    /// `learn/commands.toml`: (families, runs), or why it does not parse.
    pub commands: Result<(usize, u64)>,
    /// `learn/routes.toml`: roles, or why it does not parse.
    pub routes: Result<usize>,
    pub journal: Result<JournalFacts>,
    pub now: Timestamp,
}

pub fn check(facts: &Facts) -> Vec<Finding> {
    let mut out = vec![rules(&facts.rules)];
    out.extend(statistics(&facts.commands, &facts.routes));
    out.push(match &facts.journal {
        Ok(j) => journal(j),
        Err(e) => Finding::error(JOURNAL, e.message().into_owned()).hint(e.hint.clone()),
    });
    out
}

fn rules(rules: &Result<(usize, Vec<String>)>) -> Finding {
    match rules {
        Ok((n, loosened)) if loosened.is_empty() => Finding::ok(RULES, format!("{n} risk rule(s) in effect")),
        Ok((n, loosened)) => Finding::warn(
            RULES,
            format!(
                "{n} risk rule(s) in effect; the shared config lowers or disables {}, which is ignored: it only tightens",
                loosened.join(", ")
            ),
        )
        .hint(format!(
            "remove them from learn.rules; to relax a rule on this machine only, put it in .git/{}",
            super::policy::LOCAL_PATH
        ))
        .at(crate::broken::CONFIG_PATH),
        // Every command that reads the rules refuses until it is fixed.
        Err(e) => {
            let found = Finding::error(RULES, format!("the learn rules are refused: {}", e.message()))
                .hint(format!("{}; pre-command refuses every command until then", e.hint));
            // The local file names itself in the message; it is not in the state.
            if e.is::<super::policy::InvalidLocal>() {
                found
            } else {
                found.at(crate::broken::CONFIG_PATH)
            }
        }
    }
}

fn statistics(commands: &Result<(usize, u64)>, routes: &Result<usize>) -> Vec<Finding> {
    let file = |path: &str, e: &Error| crate::broken::file_problem(STATISTICS, path, e);
    match (commands, routes) {
        (Ok((families, runs)), Ok(roles)) => vec![Finding::ok(
            STATISTICS,
            format!("{COMMANDS_PATH}: {runs} run(s) of {families} command family(ies); {ROUTES_PATH}: {roles} role(s)"),
        )],
        (c, r) => {
            let mut out = Vec::new();
            if let Err(e) = c {
                out.push(file(COMMANDS_PATH, e));
            }
            if let Err(e) = r {
                out.push(file(ROUTES_PATH, e));
            }
            out
        }
    }
}

fn journal(j: &JournalFacts) -> Finding {
    if j.entries == 0 && j.skipped == 0 {
        return Finding::ok(JOURNAL, "the local journal is empty");
    }
    let waiting = j.oldest.map(|t| j.now.signed_duration_since(t));
    let count = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let said = format!(
        "{} in {}, {} KiB, the oldest from {} ago",
        count(j.entries, "entry", "entries"),
        count(j.files, "journal file", "journal files"),
        j.bytes.div_ceil(1024),
        j.oldest.map_or("0s".to_owned(), |t| crate::clock::age(j.now, t))
    );
    let fold_hint = "`baton doctor learn --fix` folds it into learn/commands.toml now (so do `baton sync`, the daemon and any state write)";
    if j.skipped > 0 {
        return Finding::warn(
            JOURNAL,
            format!(
                "{said}; {} line(s) do not parse (cut short by a crash) and will be dropped",
                j.skipped
            ),
        )
        .hint(fold_hint);
    }
    let old = waiting.is_some_and(|a| a > JOURNAL_WARN_AGE);
    if j.bytes > JOURNAL_WARN_BYTES || old {
        return Finding::warn(JOURNAL, said).hint(fold_hint);
    }
    Finding::ok(JOURNAL, said)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_timestamp;
    use crate::error::code;
    use crate::finding::Severity;

    fn now() -> Timestamp {
        parse_timestamp("2026-01-10T00:00:00Z").unwrap()
    }

    fn facts(journal: JournalFacts) -> Facts {
        Facts {
            rules: Ok((30, Vec::new())),
            commands: Ok((2, 10)),
            routes: Ok(1),
            journal: Ok(journal),
            now: now(),
        }
    }

    fn severities(found: &[Finding]) -> Vec<(String, Severity)> {
        found.iter().map(|f| (f.check.clone(), f.severity)).collect()
    }

    #[test]
    fn a_healthy_learn_is_all_ok() {
        let found = check(&facts(JournalFacts {
            now: now(),
            ..JournalFacts::default()
        }));
        assert!(found.iter().all(|f| f.severity == Severity::Ok), "{found:?}");
        assert_eq!(found.len(), 3);
        assert!(found[1].message.contains("10 run(s) of 2 command family(ies)"));
    }

    #[test]
    fn an_old_or_big_or_torn_journal_is_a_warning() {
        let young = JournalFacts {
            files: 1,
            bytes: 300,
            entries: 2,
            oldest: Some(parse_timestamp("2026-01-09T23:00:00Z").unwrap()),
            now: now(),
            ..JournalFacts::default()
        };
        assert_eq!(check(&facts(young.clone()))[2].severity, Severity::Ok);
        let old = JournalFacts {
            oldest: Some(parse_timestamp("2026-01-07T00:00:00Z").unwrap()),
            ..young.clone()
        };
        let f = &check(&facts(old))[2];
        assert_eq!(f.severity, Severity::Warn);
        assert!(f.message.contains("the oldest from 3days ago"), "{}", f.message);
        assert!(f.hint.contains("--fix"));
        let big = JournalFacts {
            bytes: JOURNAL_WARN_BYTES + 1,
            ..young.clone()
        };
        assert_eq!(check(&facts(big))[2].severity, Severity::Warn);
        let torn = JournalFacts { skipped: 1, ..young };
        assert!(check(&facts(torn))[2].message.contains("1 line(s) do not parse"));
    }

    #[test]
    fn broken_rules_and_statistics_are_errors_naming_the_file() {
        let mut f = facts(JournalFacts {
            now: now(),
            ..JournalFacts::default()
        });
        f.rules = Err(Error::invalid(code::INVALID_LEARN_RULE, "learn rule x has no level").with_hint("add a level"));
        f.commands = Err(crate::codec::corrupt(COMMANDS_PATH, "bad").into());
        // As reading it makes it: a file a newer baton wrote is told apart by its type.
        f.routes = Err(crate::codec::NewerSchema {
            path: ROUTES_PATH.into(),
            schema: crate::codec::SCHEMA + 1,
        }
        .into());
        let found = check(&f);
        assert_eq!(
            severities(&found),
            [
                (RULES.to_owned(), Severity::Error),
                (STATISTICS.to_owned(), Severity::Error),
                (STATISTICS.to_owned(), Severity::Warn),
                (JOURNAL.to_owned(), Severity::Ok),
            ]
        );
        assert_eq!(found[0].path.as_deref(), Some("config.toml"));
        f.rules = Ok((40, vec!["git.reset-hard".into()]));
        let found = check(&f);
        assert_eq!(found[0].severity, Severity::Warn);
        assert!(
            found[0].message.contains("lowers or disables git.reset-hard"),
            "{}",
            found[0].message
        );
        assert!(found[0].hint.contains("local.toml"));
        assert_eq!(found[1].path.as_deref(), Some(COMMANDS_PATH));
        assert!(found[1].hint.contains("quarantine"));
    }
}
