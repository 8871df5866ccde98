//! Routing: which pool role should take a task. Two signals: keyword rules
//! (data: role -> keywords, overridable per role in `[learn.keywords]`) and
//! each role's learned success rate from delivery outcomes
//! (`learn/routes.toml`: deliveries it ran that closed vs failed).
//!
//! score = 0.7 * keywords + 0.3 * learned, where keywords = m / (m + 1) for
//! m matched keywords (0, 0.5, 0.67, 0.75, ...) and learned = (closed + 1) /
//! (closed + failed + 2) (no outcomes yet: 0.5). Ties go to more matched
//! keywords, then to the role name, so the same input always routes the same.

use std::collections::BTreeMap;

use serde::Serialize;

use super::stats::RouteStats;
use super::Policy;
use crate::ids::Role;

/// Built-in keywords for common role names; a pool role with another name
/// routes on its learned rate alone unless `[learn.keywords]` names it.
/// What coders and developers (two names for one kind of role) are asked to do.
const CODING: &[&str] = &[
    "implement",
    "feature",
    "add",
    "build",
    "refactor",
    "api",
    "endpoint",
    "support",
];

const BUILTIN_KEYWORDS: &[(&str, &[&str])] = &[
    (
        "reviewer",
        &[
            "review",
            "audit",
            "critique",
            "feedback",
            "approve",
            "pr",
            "pull request",
            "inspect",
        ],
    ),
    (
        "tester",
        &[
            "test",
            "flaky",
            "coverage",
            "regression",
            "qa",
            "e2e",
            "fuzz",
            "benchmark",
        ],
    ),
    (
        "docs",
        &[
            "doc",
            "documentation",
            "readme",
            "guide",
            "tutorial",
            "changelog",
            "explain",
            "typo",
        ],
    ),
    (
        "writer",
        &[
            "doc",
            "documentation",
            "readme",
            "guide",
            "tutorial",
            "changelog",
            "blog",
            "copy",
        ],
    ),
    ("coder", CODING),
    ("developer", CODING),
    ("implementer", CODING),
    (
        "fixer",
        &["bug", "fix", "crash", "error", "panic", "broken", "failing", "debug"],
    ),
    (
        "debugger",
        &["bug", "fix", "crash", "error", "panic", "broken", "failing", "debug"],
    ),
    (
        "ops",
        &[
            "deploy",
            "release",
            "publish",
            "ci",
            "pipeline",
            "docker",
            "infra",
            "kubernetes",
        ],
    ),
    (
        "devops",
        &[
            "deploy",
            "release",
            "publish",
            "ci",
            "pipeline",
            "docker",
            "infra",
            "kubernetes",
        ],
    ),
    (
        "release",
        &["release", "publish", "version", "changelog", "tag", "ship"],
    ),
    (
        "security",
        &[
            "security",
            "vulnerability",
            "cve",
            "secret",
            "auth",
            "permission",
            "injection",
            "xss",
        ],
    ),
];

const KEYWORD_WEIGHT: f64 = 0.7;
const LEARNED_WEIGHT: f64 = 0.3;

/// Role -> keywords, built-in entries replaced by the repository's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordRules {
    roles: BTreeMap<Role, Vec<String>>,
}

impl KeywordRules {
    pub fn builtin() -> KeywordRules {
        let roles = BUILTIN_KEYWORDS
            .iter()
            .map(|(role, words)| {
                let role = Role::parse(role).expect("built-in role names are valid ids");
                (role, words.iter().map(|w| (*w).to_owned()).collect())
            })
            .collect();
        KeywordRules { roles }
    }

    pub fn from_policy(policy: &Policy) -> std::result::Result<KeywordRules, super::Invalid> {
        let mut rules = KeywordRules::builtin();
        rules.roles.extend(policy.keyword_overrides()?);
        Ok(rules)
    }

    pub fn keywords(&self, role: &Role) -> &[String] {
        self.roles.get(role).map_or(&[], Vec::as_slice)
    }

    /// Every role the table has keywords for.
    pub fn roles(&self) -> Vec<Role> {
        self.roles.keys().cloned().collect()
    }
}

/// One route reason: which signal, and what it saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteReason {
    /// `keywords` or `learned`.
    pub rule: &'static str,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub role: Role,
    /// 0..=1, rounded to three decimals.
    pub score: f64,
    pub reasons: Vec<RouteReason>,
    #[serde(skip)]
    matched: usize,
}

/// The best role and the others, best first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Routing {
    pub suggestion: Suggestion,
    pub alternatives: Vec<Suggestion>,
    /// The pool has no agents to route to: the roles come from the keyword
    /// table, and no agent has the suggested one yet.
    pub unstaffed: bool,
}

/// Lower-case alphanumeric words of the task.
fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Does `keyword` occur in the task? Single words match a token exactly or
/// with a short ending (`test` ~ `tests`, `testing`); phrases match in order.
fn keyword_matches(keyword: &str, tokens: &[String]) -> bool {
    let parts = self::tokens(keyword);
    match parts.as_slice() {
        [] => false,
        [word] => tokens.iter().any(|t| {
            t == word || (word.chars().count() >= 3 && t.starts_with(word.as_str()) && t.len() <= word.len() + 3)
        }),
        phrase => tokens.windows(phrase.len()).any(|w| w == phrase),
    }
}

fn suggest(role: &Role, tokens: &[String], keywords: &KeywordRules, stats: &RouteStats) -> Suggestion {
    let matched: Vec<&str> = keywords
        .keywords(role)
        .iter()
        .filter(|k| keyword_matches(k, tokens))
        .map(String::as_str)
        .collect();
    let m = matched.len() as f64;
    let keyword_part = m / (m + 1.0);
    let (closed, failed) = stats.roles.get(role).map_or((0, 0), |s| (s.closed, s.failed));
    let learned_part = (closed as f64 + 1.0) / ((closed + failed) as f64 + 2.0);
    let score = ((KEYWORD_WEIGHT * keyword_part + LEARNED_WEIGHT * learned_part) * 1000.0).round() / 1000.0;
    let keyword_why = if matched.is_empty() {
        "no keyword of this role matched".to_owned()
    } else {
        format!("matched {}", matched.join(", "))
    };
    let learned_why = if closed + failed == 0 {
        "no delivery outcomes yet (counted as 50%)".to_owned()
    } else {
        format!(
            "{closed} of {} deliveries closed ({}%)",
            closed + failed,
            closed * 100 / (closed + failed)
        )
    };
    Suggestion {
        role: role.clone(),
        score,
        reasons: vec![
            RouteReason {
                rule: "keywords",
                why: keyword_why,
            },
            RouteReason {
                rule: "learned",
                why: learned_why,
            },
        ],
        matched: matched.len(),
    }
}

/// Why a task could not be routed; the code, exit code and hint are given
/// where it becomes the user's error (`ops::refusals`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The task has no words (`empty_task`).
    #[error("the task text has no words to route on")]
    EmptyTask,
    /// No pool, and no role's keywords match the task (`no_roles`).
    #[error("the pool has no agents, and no role's keywords match the task")]
    NoRoles,
}

/// Suggest a role of `roles` (the pool's roles) for a task.
pub fn route(
    task: &str,
    roles: &[Role],
    keywords: &KeywordRules,
    stats: &RouteStats,
) -> std::result::Result<Routing, Refusal> {
    let tokens = tokens(task);
    if tokens.is_empty() {
        return Err(Refusal::EmptyTask);
    }
    // Without a pool, the keyword table's roles still say who should do
    // it: only those the task matched, or any suggestion would be a guess.
    let unstaffed = roles.is_empty();
    let table_roles;
    let roles = if unstaffed {
        table_roles = keywords.roles();
        &table_roles[..]
    } else {
        roles
    };
    let mut candidates: Vec<Suggestion> = roles
        .iter()
        .map(|r| suggest(r, &tokens, keywords, stats))
        .filter(|c| !unstaffed || c.matched > 0)
        .collect();
    candidates.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.matched.cmp(&a.matched))
            .then_with(|| a.role.cmp(&b.role))
    });
    candidates.dedup_by(|a, b| a.role == b.role);
    if candidates.is_empty() {
        return Err(Refusal::NoRoles);
    }
    let suggestion = candidates.remove(0);
    Ok(Routing {
        suggestion,
        alternatives: candidates,
        unstaffed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{code, Error};
    use crate::learn::stats::DeliveryOutcome;

    fn roles(names: &[&str]) -> Vec<Role> {
        names.iter().map(|n| Role::parse(n).unwrap()).collect()
    }

    #[test]
    fn keywords_pick_the_role_with_reasons() {
        let r = route(
            "Fix the flaky login tests",
            &roles(&["coder", "reviewer", "tester"]),
            &KeywordRules::builtin(),
            &RouteStats::default(),
        )
        .unwrap();
        assert_eq!(r.suggestion.role.as_str(), "tester");
        assert_eq!(r.suggestion.reasons[0].why, "matched test, flaky");
        assert_eq!(r.suggestion.reasons[1].why, "no delivery outcomes yet (counted as 50%)");
        assert_eq!(r.suggestion.score, 0.617);
        assert_eq!(r.alternatives.len(), 2);
    }

    #[test]
    fn without_a_pool_the_keyword_table_still_suggests() {
        let r = route(
            "Fix the flaky login tests",
            &[],
            &KeywordRules::builtin(),
            &RouteStats::default(),
        )
        .unwrap();
        assert!(r.unstaffed);
        assert_eq!(r.suggestion.role.as_str(), "tester");
        assert!(r.alternatives.iter().all(|a| a.matched > 0));
        let none = Error::from(route("zzz qqq", &[], &KeywordRules::builtin(), &RouteStats::default()).unwrap_err());
        assert_eq!((none.code, none.exit_code()), (code::NO_ROLES, 1));
    }

    #[test]
    fn learned_rates_count_and_break_keyword_ties() {
        let mut stats = RouteStats::default();
        let (a, b) = (Role::parse("alpha").unwrap(), Role::parse("beta").unwrap());
        for _ in 0..8 {
            stats.record(&b, DeliveryOutcome::Closed);
        }
        stats.record(&b, DeliveryOutcome::Failed);
        stats.record(&a, DeliveryOutcome::Failed);
        let r = route(
            "anything at all",
            &[a.clone(), b.clone()],
            &KeywordRules::builtin(),
            &stats,
        )
        .unwrap();
        assert_eq!(r.suggestion.role, b);
        assert_eq!(r.suggestion.reasons[1].why, "8 of 9 deliveries closed (88%)");
        assert_eq!(r.alternatives[0].role, a);
        assert_eq!(r.alternatives[0].reasons[1].why, "0 of 1 deliveries closed (0%)");
    }

    #[test]
    fn ties_are_deterministic() {
        let names = roles(&["zeta", "alpha", "mid"]);
        let first = route("do a thing", &names, &KeywordRules::builtin(), &RouteStats::default()).unwrap();
        assert_eq!(first.suggestion.role.as_str(), "alpha");
        let mut reversed = names.clone();
        reversed.reverse();
        let again = route(
            "do a thing",
            &reversed,
            &KeywordRules::builtin(),
            &RouteStats::default(),
        )
        .unwrap();
        assert_eq!(again, first);
    }

    #[test]
    fn keywords_are_overridable_and_phrases_match() {
        let policy: Policy = toml::from_str("[keywords]\nreviewer = [\"code review\"]\nscribe = [\"notes\"]").unwrap();
        let rules = KeywordRules::from_policy(&policy).unwrap();
        let pool = roles(&["reviewer", "scribe"]);
        let r = route("please do a code review", &pool, &rules, &RouteStats::default()).unwrap();
        assert_eq!(r.suggestion.role.as_str(), "reviewer");
        let r = route("review this", &pool, &rules, &RouteStats::default()).unwrap();
        assert_eq!(
            r.suggestion.reasons[0].why, "no keyword of this role matched",
            "the built-in list was replaced"
        );
        let r = route("take meeting notes", &pool, &rules, &RouteStats::default()).unwrap();
        assert_eq!(r.suggestion.role.as_str(), "scribe");
    }

    #[test]
    fn empty_pool_without_a_match_and_empty_task_are_errors() {
        let err = Error::from(route("zzz qqq", &[], &KeywordRules::builtin(), &RouteStats::default()).unwrap_err());
        assert_eq!(err.exit_code(), 1);
        let err = Error::from(
            route(
                "  ?! ",
                &roles(&["coder"]),
                &KeywordRules::builtin(),
                &RouteStats::default(),
            )
            .unwrap_err(),
        );
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn short_keywords_match_exactly() {
        let t = tokens("open a PR for the prod fix");
        assert!(keyword_matches("pr", &t));
        assert!(!keyword_matches("pr", &tokens("improve prod")));
        assert!(keyword_matches("test", &tokens("testing")));
        assert!(!keyword_matches("test", &tokens("testosterone")));
    }
}
