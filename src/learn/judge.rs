//! The judge: every simple command a line would run is checked against the
//! rules; a command's level is its worst reason, raised one level when its
//! family failed repeatedly before (`learned.failures`); an agent pushing or
//! committing without a live claim gets `claims.none`. The line's level is
//! its worst command's, and every reason is listed.
//!
//! Levels map to decisions: `low` -> `allow` (exit 0; hooks give no decision
//! so the agent's own permission rules apply), `medium` -> `ask` (exit 0;
//! hooks ask the user), `high` -> `deny` (exit 1; hooks block the call).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::deletes::{self, Files, Reach};
use super::family;
use super::policy::Escalation;
use super::rules::{RuleSet, CLAIMS_NONE, LEARNED_FAILURES, PARSE_UNREADABLE, RM_OUTSIDE, RM_TRACKED};
use super::scan;
use super::shell::{self, Command, Script, ShellError};
use super::stats::CommandStats;
use crate::clock::Timestamp;
use crate::ids::{Actor, ActorKind, ClaimId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Low,
    Medium,
    High,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
        }
    }

    /// One level up; high stays high.
    pub fn raised(self) -> Level {
        match self {
            Level::Low => Level::Medium,
            Level::Medium | Level::High => Level::High,
        }
    }

    pub fn decision(self) -> Decision {
        match self {
            Level::Low => Decision::Allow,
            Level::Medium => Decision::Ask,
            Level::High => Decision::Deny,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the caller should do: run it, ask a human first, or refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Ask,
    Deny,
}

/// One reason: which rule, on which command, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub rule: String,
    pub level: Level,
    pub command: String,
    pub why: String,
}

/// The judgement of a whole line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub level: Level,
    pub decision: Decision,
    pub reasons: Vec<Reason>,
    /// The command families on the line (what outcomes are counted by).
    pub families: Vec<String>,
}

impl Verdict {
    /// 1 for high (the command should not run), 0 otherwise.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.level == Level::High)
    }

    /// One line per reason, for humans and hook messages.
    pub fn explain(&self) -> String {
        if self.reasons.is_empty() {
            return format!("{} risk: no rule matched", self.level);
        }
        let lines: Vec<String> = self
            .reasons
            .iter()
            .map(|r| format!("{} [{}] {}: {}", r.level, r.rule, r.command, r.why))
            .collect();
        format!("{} risk\n{}", self.level, lines.join("\n"))
    }
}

/// What `claims.none` needs of one held claim: its id, its holder and when
/// its lease runs out. A view, so the judge does not depend on the claims
/// subsystem; `ops::learn` makes these from the held claims it loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease<'a> {
    pub id: &'a ClaimId,
    pub holder: &'a Actor,
    /// `None`: no lease, held until released.
    pub until: Option<Timestamp>,
}

impl Lease<'_> {
    /// Whether the lease has run out at `now` (a lease ending at `now` has).
    pub fn lapsed(&self, now: Timestamp) -> bool {
        self.until.is_some_and(|until| until <= now)
    }
}

/// An agent's claims, as far as `claims.none` cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimContext {
    pub actor: Actor,
    /// Held claims with a live (or no) lease.
    pub live: Vec<ClaimId>,
    /// Held claims whose lease ran out.
    pub lapsed: Vec<ClaimId>,
}

impl ClaimContext {
    /// The claims `actor` holds at `now`, from the leases of held claims;
    /// `None` for humans (the rule is about agents).
    pub fn from_leases<'a>(actor: &Actor, leases: impl IntoIterator<Item = Lease<'a>>, now: Timestamp) -> Option<Self> {
        if actor.kind() != ActorKind::Agent {
            return None;
        }
        let mut ctx = ClaimContext {
            actor: actor.clone(),
            live: Vec::new(),
            lapsed: Vec::new(),
        };
        for lease in leases.into_iter().filter(|l| l.holder == actor) {
            if lease.lapsed(now) {
                ctx.lapsed.push(lease.id.clone());
            } else {
                ctx.live.push(lease.id.clone());
            }
        }
        Some(ctx)
    }

    fn missing(&self) -> Option<String> {
        if !self.live.is_empty() {
            return None;
        }
        if self.lapsed.is_empty() {
            return Some(format!("{} holds no active claim", self.actor));
        }
        let ids: Vec<&str> = self.lapsed.iter().map(ClaimId::as_str).collect();
        Some(format!(
            "{} holds only claims whose lease has lapsed ({}); renew one or claim the work first",
            self.actor,
            ids.join(", ")
        ))
    }
}

/// What the judge knows besides the line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    pub stats: Option<&'a CommandStats>,
    pub escalation: Escalation,
    pub claims: Option<&'a ClaimContext>,
    /// The work tree around the line, for recursive deletes; `None` outside one.
    pub files: Option<&'a Files<'a>>,
}

/// Judge a shell line.
pub fn judge_line(line: &str, rules: &RuleSet, ctx: &Context<'_>) -> Verdict {
    judge_parsed(line, &shell::parse_line(line), rules, ctx)
}

/// Judge a line already parsed (the caller parsed it to find its families
/// and read only their statistics): the same as [`judge_line`].
pub fn judge_parsed(line: &str, parsed: &Result<Script, ShellError>, rules: &RuleSet, ctx: &Context<'_>) -> Verdict {
    match parsed {
        Ok(script) => judge_script(script, rules, ctx),
        Err(e) => judge_unreadable(line, e, rules, ctx),
    }
}

/// Judge an argv given directly (one simple command).
pub fn judge_argv(argv: &[String], rules: &RuleSet, ctx: &Context<'_>) -> Verdict {
    judge_script(&shell::from_argv(argv), rules, ctx)
}

/// Judge parsed commands. Code the walk stopped at is scanned word by word
/// (see `scan`): at least `parse.unreadable`, and never lower than any
/// rule matching there.
pub fn judge_script(script: &Script, rules: &RuleSet, ctx: &Context<'_>) -> Verdict {
    let mut reasons = Vec::new();
    let mut level = Level::Low;
    for command in &script.commands {
        level = level.max(judge_command(command, rules, ctx, &mut reasons));
    }
    let mut families = family::families(script);
    for problem in &script.problems {
        if let Some(rule) = rules.get(PARSE_UNREADABLE) {
            level = level.max(rule.level);
            let shown: String = problem.code.chars().take(120).collect();
            push(
                &mut reasons,
                rule.id.clone(),
                rule.level,
                shown,
                format!("{}: {}", rule.why, problem.why),
            );
        }
        level = level.max(judge_scanned(&problem.code, rules, ctx, &mut reasons, &mut families));
    }
    finish(level, reasons, families)
}

/// The scanned pieces of `text`, judged like commands.
fn judge_scanned(
    text: &str,
    rules: &RuleSet,
    ctx: &Context<'_>,
    reasons: &mut Vec<Reason>,
    families: &mut Vec<String>,
) -> Level {
    let mut level = Level::Low;
    for command in scan::scan(text) {
        level = level.max(judge_command(&command, rules, ctx, reasons));
        if let Some(f) = family::family(&command) {
            if !families.contains(&f) {
                families.push(f);
            }
        }
    }
    level
}

/// A line the parser cannot read (or over its bounds): at least
/// `parse.unreadable`, and whatever a scan of its words still shows
/// (`rm -rf / "` is high).
fn judge_unreadable(line: &str, error: &ShellError, rules: &RuleSet, ctx: &Context<'_>) -> Verdict {
    let mut reasons = Vec::new();
    let mut level = Level::Low;
    if let Some(rule) = rules.get(PARSE_UNREADABLE) {
        level = rule.level;
        let shown: String = line.chars().take(120).collect();
        push(
            &mut reasons,
            rule.id.clone(),
            rule.level,
            shown,
            format!("{}: {error}", rule.why),
        );
    }
    let mut families = Vec::new();
    level = level.max(judge_scanned(line, rules, ctx, &mut reasons, &mut families));
    finish(level, reasons, families)
}

fn finish(level: Level, reasons: Vec<Reason>, families: Vec<String>) -> Verdict {
    Verdict {
        level,
        decision: level.decision(),
        reasons,
        families,
    }
}

fn push(reasons: &mut Vec<Reason>, rule: String, level: Level, command: String, why: String) {
    if !reasons.iter().any(|r| r.rule == rule && r.command == command) {
        reasons.push(Reason {
            rule,
            level,
            command,
            why,
        });
    }
}

/// Judge one command: its rules, the claim check, then learned escalation.
fn judge_command(command: &Command, rules: &RuleSet, ctx: &Context<'_>, reasons: &mut Vec<Reason>) -> Level {
    // The command's text only when a reason needs it (most commands have none).
    let shown_cell = std::cell::OnceCell::new();
    let shown = || shown_cell.get_or_init(|| command.display()).clone();
    let mut level = Level::Low;
    for rule in rules.matching(command) {
        level = level.max(rule.level);
        push(reasons, rule.id.clone(), rule.level, shown(), rule.why.clone());
    }
    if let Some(reach) = ctx.files.and_then(|files| deletes::judge(command, files)) {
        let (id, target) = match &reach {
            Reach::Outside(t) => (RM_OUTSIDE, t),
            Reach::Tracked(t) => (RM_TRACKED, t),
        };
        if let Some(rule) = rules.get(id) {
            level = level.max(rule.level);
            push(
                reasons,
                rule.id.clone(),
                rule.level,
                shown(),
                format!("{}: {target}", rule.why),
            );
        }
    }
    let Some(family) = family::family(command) else {
        return level;
    };
    if let (Some(claims), Some(rule)) = (ctx.claims, rules.get(CLAIMS_NONE)) {
        if matches!(family.as_str(), "git push" | "git commit") {
            if let Some(why) = claims.missing() {
                level = level.max(rule.level);
                push(reasons, rule.id.clone(), rule.level, shown(), why);
            }
        }
    }
    let learned = ctx
        .stats
        .and_then(|s| s.family(&family))
        .and_then(|f| f.escalation(&ctx.escalation));
    if let (Some(why), Some(rule)) = (learned, rules.get(LEARNED_FAILURES)) {
        level = level.raised();
        push(reasons, rule.id.clone(), level, shown(), format!("`{family}` {why}"));
    }
    level
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::stats::FamilyStats;

    fn judge(line: &str) -> Verdict {
        judge_line(line, &RuleSet::builtin(), &Context::default())
    }

    #[test]
    fn the_worst_command_wins_and_every_reason_is_listed() {
        let v = judge("git push --force && rm -rf / ; git clean -f");
        assert_eq!(v.level, Level::High);
        assert_eq!(v.decision, Decision::Deny);
        assert_eq!(v.exit_code(), 1);
        let rules: Vec<&str> = v.reasons.iter().map(|r| r.rule.as_str()).collect();
        assert_eq!(rules, ["git.force-push", "rm.recursive-broad", "git.clean-force"]);
        assert_eq!(v.reasons[1].command, "rm -rf /");
        assert_eq!(v.families, ["git push", "rm", "git clean"]);
        assert!(v
            .explain()
            .starts_with("high risk\nhigh [git.force-push] git push --force:"));
    }

    #[test]
    fn low_is_allow_and_medium_is_ask() {
        let low = judge("ls -la");
        assert_eq!(
            (low.level, low.decision, low.exit_code()),
            (Level::Low, Decision::Allow, 0)
        );
        assert!(low.reasons.is_empty());
        let medium = judge("git branch -D old");
        assert_eq!(
            (medium.level, medium.decision, medium.exit_code()),
            (Level::Medium, Decision::Ask, 0)
        );
    }

    #[test]
    fn unreadable_lines_are_at_least_medium_and_still_split() {
        let v = judge("echo \"unterminated");
        assert_eq!(v.level, Level::Medium);
        assert_eq!(v.reasons[0].rule, "parse.unreadable");
        assert!(v.reasons[0].why.contains("cannot read"));
        let v = judge("rm -rf / \"");
        assert_eq!(v.level, Level::High);
        assert!(v.reasons.iter().any(|r| r.rule == "rm.recursive-broad"));
        let nested = judge("bash -c 'echo \"oops'");
        assert_eq!(nested.level, Level::Medium);
    }

    #[test]
    fn learned_escalation_raises_one_level_with_its_reason() {
        let mut stats = CommandStats::default();
        stats.families.insert(
            "git push".into(),
            FamilyStats {
                runs: 4,
                successes: 1,
                failures: 3,
                failure_streak: 3,
                ..FamilyStats::default()
            },
        );
        let ctx = Context {
            stats: Some(&stats),
            ..Context::default()
        };
        let v = judge_line("git push origin main", &RuleSet::builtin(), &ctx);
        assert_eq!(v.level, Level::Medium);
        let r = &v.reasons[0];
        assert_eq!(r.rule, "learned.failures");
        assert_eq!(r.why, "`git push` failed the last 3 times it ran (of 4 runs, 3 failed)");
        let forced = judge_line("git push -f", &RuleSet::builtin(), &ctx);
        assert_eq!(forced.level, Level::High, "high stays high");
        let other = judge_line("git status", &RuleSet::builtin(), &ctx);
        assert_eq!(other.level, Level::Low);
        let local: crate::learn::policy::LocalRules =
            toml::from_str("[[rules]]\nid = \"learned.failures\"\ndisabled = true").unwrap();
        let off = RuleSet::with_local(&Default::default(), &local).unwrap();
        assert_eq!(judge_line("git push", &off, &ctx).level, Level::Low);
    }

    #[test]
    fn agents_without_live_claims_get_claims_none() {
        let agent = Actor::parse("agent:alice").unwrap();
        let none = ClaimContext {
            actor: agent.clone(),
            live: vec![],
            lapsed: vec![],
        };
        let ctx = Context {
            claims: Some(&none),
            ..Context::default()
        };
        let v = judge_line("git commit -m wip && git push", &RuleSet::builtin(), &ctx);
        assert_eq!(v.level, Level::Medium);
        assert_eq!(v.reasons.len(), 2);
        assert_eq!(v.reasons[0].why, "agent:alice holds no active claim");
        assert_eq!(judge_line("git status", &RuleSet::builtin(), &ctx).level, Level::Low);
        let lapsed = ClaimContext {
            lapsed: vec![ClaimId::parse("T-1").unwrap()],
            ..none.clone()
        };
        let ctx = Context {
            claims: Some(&lapsed),
            ..Context::default()
        };
        let v = judge_line("git push", &RuleSet::builtin(), &ctx);
        assert!(v.reasons[0].why.contains("lease has lapsed (T-1)"), "{:?}", v.reasons);
        let live = ClaimContext {
            live: vec![ClaimId::parse("T-2").unwrap()],
            ..none
        };
        let ctx = Context {
            claims: Some(&live),
            ..Context::default()
        };
        assert_eq!(judge_line("git push", &RuleSet::builtin(), &ctx).level, Level::Low);
    }

    #[test]
    fn claim_context_comes_from_leases() {
        let alice = Actor::parse("agent:alice").unwrap();
        let bob = Actor::parse("agent:bob").unwrap();
        let at = |t: &str| crate::clock::parse_timestamp(t).unwrap();
        let now = at("2026-01-02T00:00:00Z");
        let ids: Vec<ClaimId> = ["T-1", "T-2", "T-3", "T-4"]
            .iter()
            .map(|i| ClaimId::parse(i).unwrap())
            .collect();
        let lease = |i: usize, until: Option<Timestamp>| Lease {
            id: &ids[i],
            holder: &alice,
            until,
        };
        let leases = [
            lease(0, Some(at("2026-01-01T00:00:00Z"))),
            lease(1, None),
            lease(2, Some(now)),
            Lease {
                id: &ids[3],
                holder: &bob,
                until: None,
            },
        ];
        let ctx = ClaimContext::from_leases(&alice, leases, now).unwrap();
        assert_eq!(ctx.live, [ids[1].clone()]);
        assert_eq!(
            ctx.lapsed,
            [ids[0].clone(), ids[2].clone()],
            "a lease ending now has lapsed"
        );
        let human = Actor::parse("human:bob").unwrap();
        assert!(ClaimContext::from_leases(&human, leases, now).is_none());
    }

    #[test]
    fn a_parsed_line_is_judged_like_the_line() {
        let rules = RuleSet::builtin();
        let ctx = Context::default();
        for line in ["git push -f", "echo \"broken", "ls"] {
            let parsed = shell::parse_line(line);
            assert_eq!(
                judge_parsed(line, &parsed, &rules, &ctx),
                judge_line(line, &rules, &ctx)
            );
        }
    }

    #[test]
    fn argv_is_judged_without_shell_parsing() {
        let argv: Vec<String> = ["echo", "rm -rf /"].map(String::from).to_vec();
        assert_eq!(
            judge_argv(&argv, &RuleSet::builtin(), &Context::default()).level,
            Level::Low
        );
        let argv: Vec<String> = ["sudo", "rm", "-rf", "/"].map(String::from).to_vec();
        assert_eq!(
            judge_argv(&argv, &RuleSet::builtin(), &Context::default()).level,
            Level::High
        );
    }
}
