//! The shared statistics (`learn/commands.toml`, `learn/routes.toml`) and the
//! local journal of outcomes (`.git/baton/learn/journal*.jsonl`).
//!
//! Sync merges `learn/` files as base + both deltas for every integer, and
//! takes the remote's value for anything else (docs/sync.md). So everything
//! that must add up across machines is an integer counter here, and nothing
//! grows with the number of outcomes: one small table per family.
//!
//! Escalation needs "failed repeatedly, recently", and a run of consecutive
//! failures does not add up. `failure_streak` is "failures since the last
//! success": a failure adds 1, a success subtracts the streak it saw
//! (a delta of `-streak`). Merged, concurrent failures on two machines add
//! up (good: three failures anywhere escalate), and two machines that both
//! saw a success can leave a negative sum, which is read as 0 and reset to 0
//! by the next fold.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::judge::Level;
use super::policy::Escalation;
use crate::clock::Timestamp;
use crate::codec::{self, SCHEMA};
use crate::error::Result;
use crate::ids::{Actor, Role};

pub const COMMANDS_PATH: &str = "learn/commands.toml";
pub const ROUTES_PATH: &str = "learn/routes.toml";

/// `learn/commands.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandStats {
    pub schema: u32,
    #[serde(default)]
    pub decisions: DecisionCounts,
    #[serde(default)]
    pub families: BTreeMap<String, FamilyStats>,
    #[serde(flatten)]
    pub extra: toml::Table,
}

impl Default for CommandStats {
    fn default() -> Self {
        CommandStats {
            schema: SCHEMA,
            decisions: DecisionCounts::default(),
            families: BTreeMap::new(),
            extra: toml::Table::new(),
        }
    }
}

/// How often each level was decided by `pre-command`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DecisionCounts {
    #[serde(default)]
    pub low: u64,
    #[serde(default)]
    pub medium: u64,
    #[serde(default)]
    pub high: u64,
    #[serde(flatten)]
    pub extra: toml::Table,
}

/// Outcomes of one command family.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FamilyStats {
    #[serde(default)]
    pub runs: u64,
    #[serde(default)]
    pub successes: u64,
    #[serde(default)]
    pub failures: u64,
    /// Stopped by the user or a signal: neither success nor failure.
    #[serde(default)]
    pub interrupted: u64,
    /// Failures since the last success (see the module doc for how it merges).
    #[serde(default)]
    pub failure_streak: i64,
    /// Total run time of the runs that reported one.
    #[serde(default)]
    pub duration_ms: u64,
    #[serde(flatten)]
    pub extra: toml::Table,
}

impl FamilyStats {
    /// The streak as it is meant: never below zero.
    pub fn streak(&self) -> u64 {
        self.failure_streak.max(0).unsigned_abs()
    }

    /// Why this family's risk is raised, if it is.
    pub fn escalation(&self, e: &Escalation) -> Option<String> {
        let streak = self.streak();
        if streak >= u64::from(e.after_failures) {
            return Some(format!(
                "failed the last {streak} times it ran (of {} runs, {} failed)",
                self.runs, self.failures
            ));
        }
        let judged = self.successes + self.failures;
        let rate_high = judged >= u64::from(e.min_runs.max(1))
            && self.failures.saturating_mul(100) >= judged.saturating_mul(u64::from(e.failure_percent));
        rate_high.then(|| {
            format!(
                "failed {} of {judged} runs ({}%)",
                self.failures,
                self.failures * 100 / judged
            )
        })
    }

    fn record(&mut self, outcome: CommandEnd, duration_ms: Option<u64>) {
        self.runs += 1;
        self.duration_ms = self.duration_ms.saturating_add(duration_ms.unwrap_or(0));
        match outcome {
            CommandEnd::Success => {
                self.successes += 1;
                self.failure_streak = 0;
            }
            CommandEnd::Failure => {
                self.failures += 1;
                self.failure_streak = self.failure_streak.max(0).saturating_add(1);
            }
            CommandEnd::Interrupted => self.interrupted += 1,
            CommandEnd::Unknown => {}
        }
    }
}

/// `learn/routes.toml`: delivery outcomes per pool role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteStats {
    pub schema: u32,
    #[serde(default)]
    pub roles: BTreeMap<Role, RoleStats>,
    #[serde(flatten)]
    pub extra: toml::Table,
}

impl Default for RouteStats {
    fn default() -> Self {
        RouteStats {
            schema: SCHEMA,
            roles: BTreeMap::new(),
            extra: toml::Table::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleStats {
    /// Deliveries run by this role that closed (or were handed off).
    #[serde(default)]
    pub closed: u64,
    /// Deliveries run by this role that failed.
    #[serde(default)]
    pub failed: u64,
    #[serde(flatten)]
    pub extra: toml::Table,
}

/// How a delivery run by a role ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Closed,
    Failed,
}

impl RouteStats {
    pub fn parse(bytes: &[u8]) -> Result<RouteStats> {
        let stats: RouteStats = codec::decode_toml(ROUTES_PATH, bytes)?;
        codec::check_schema(ROUTES_PATH, stats.schema)?;
        Ok(stats)
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        Ok(codec::encode_toml(ROUTES_PATH, self)?)
    }

    /// Count a delivery that closed or failed for the role that ran it.
    pub fn record(&mut self, role: &Role, outcome: DeliveryOutcome) {
        let entry = self.roles.entry(role.clone()).or_default();
        match outcome {
            DeliveryOutcome::Closed => entry.closed += 1,
            DeliveryOutcome::Failed => entry.failed += 1,
        }
    }
}

/// How one run of a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandEnd {
    Success,
    Failure,
    /// Stopped by Ctrl-C or a kill: says nothing about the command.
    Interrupted,
    /// The agent did not say (Codex hooks carry no exit status).
    Unknown,
}

impl CommandEnd {
    /// 0 is success; 130 (SIGINT), 137 (SIGKILL) and 143 (SIGTERM) are
    /// interruptions; anything else is a failure.
    pub fn from_exit_code(code: i32) -> CommandEnd {
        match code {
            0 => CommandEnd::Success,
            130 | 137 | 143 => CommandEnd::Interrupted,
            _ => CommandEnd::Failure,
        }
    }
}

/// One line of the local journal (`.git/baton/learn/journal*.jsonl`): JSON,
/// one entry per line, appended with a single write so concurrent writers
/// never interleave within a line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JournalEntry {
    /// `post-command`: how a command ended.
    Outcome {
        at: Timestamp,
        /// The family it is counted for (`None`: nothing worth counting).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        family: Option<String>,
        /// The command, redacted and collapsed ([`super::family::record_text`]).
        command: String,
        outcome: CommandEnd,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_ms: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actor: Option<String>,
    },
    /// `pre-command`: a decision was made.
    Decision { at: Timestamp, level: Level },
}

impl JournalEntry {
    /// The outcome of a shell line, counted for its primary family
    /// ([`super::family::primary`]), its text redacted.
    pub fn for_line(
        at: Timestamp,
        line: &str,
        outcome: CommandEnd,
        exit_code: Option<i32>,
        duration_ms: Option<u64>,
        actor: Option<&Actor>,
    ) -> JournalEntry {
        let family = super::shell::parse_line(line)
            .ok()
            .and_then(|s| super::family::primary(&s));
        JournalEntry::Outcome {
            at,
            family,
            command: super::family::record_text(line),
            outcome,
            exit_code,
            duration_ms,
            actor: actor.map(ToString::to_string),
        }
    }

    /// The entry as one journal line, newline included.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).expect("journal entries always serialize");
        line.push('\n');
        line
    }
}

/// A journal read back: good entries, and how many lines were skipped (a
/// line cut short by a crash, or written by a newer baton).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalRead {
    pub entries: Vec<JournalEntry>,
    pub skipped: usize,
}

pub fn parse_journal(text: &str) -> JournalRead {
    let mut out = JournalRead::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str(line) {
            Ok(entry) => out.entries.push(entry),
            Err(_) => out.skipped += 1,
        }
    }
    out
}

impl CommandStats {
    pub fn parse(bytes: &[u8]) -> Result<CommandStats> {
        let stats: CommandStats = codec::decode_toml(COMMANDS_PATH, bytes)?;
        codec::check_schema(COMMANDS_PATH, stats.schema)?;
        Ok(stats)
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        Ok(codec::encode_toml(COMMANDS_PATH, self)?)
    }

    pub fn family(&self, name: &str) -> Option<&FamilyStats> {
        self.families.get(name)
    }

    /// Only the named families, read without parsing the whole file when it
    /// is in the form baton writes (`schema = 1` first, one
    /// `[families.<name>]` table each): what `pre-command` needs, in
    /// microseconds instead of a full parse. Any other form is parsed whole.
    pub fn partial(bytes: &[u8], families: &[String]) -> Result<CommandStats> {
        let text = std::str::from_utf8(bytes).map_err(|e| codec::corrupt(COMMANDS_PATH, e))?;
        let standard = text.lines().find(|l| !l.trim().is_empty()) == Some("schema = 1")
            && (text.starts_with("[families.") || text.contains("\n[families."));
        if !standard {
            let mut full = CommandStats::parse(bytes)?;
            full.families.retain(|name, _| families.contains(name));
            return Ok(full);
        }
        let mut out = CommandStats::default();
        for name in families {
            if let Some(section) = family_section(text, name) {
                let stats: FamilyStats =
                    toml::from_str(section).map_err(|e| codec::corrupt(COMMANDS_PATH, e.message()))?;
                out.families.insert(name.clone(), stats);
            }
        }
        Ok(out)
    }

    /// Keep at most `max` families: the most run, and every one on a failure
    /// streak (those drive escalation). For the daemon's compaction.
    pub fn compact(&mut self, max: usize) {
        if self.families.len() <= max {
            return;
        }
        let mut ranked: Vec<(&String, &FamilyStats)> = self.families.iter().collect();
        ranked.sort_by(|a, b| b.1.runs.cmp(&a.1.runs).then_with(|| a.0.cmp(b.0)));
        let keep: Vec<String> = ranked
            .iter()
            .enumerate()
            .filter(|(i, (_, s))| *i < max || s.streak() > 0)
            .map(|(_, (name, _))| (*name).clone())
            .collect();
        self.families.retain(|name, _| keep.contains(name));
    }
}

/// The body of `[families.<name>]` in baton's own layout, if it is there.
fn family_section<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
    let keys = [
        bare.then(|| name.to_owned()),
        Some(format!("\"{escaped}\"")),
        (!name.contains('\'')).then(|| format!("'{name}'")),
    ];
    keys.into_iter().flatten().find_map(|key| {
        let header = format!("[families.{key}]");
        let at = if text.starts_with(&header) {
            0
        } else {
            // memmem, not `str::find`: std's two-way search cost about 3
            // instructions a byte, several times over a 24 KB file per family.
            memchr::memmem::find(text.as_bytes(), format!("\n{header}").as_bytes())? + 1
        };
        let body = &text[at + header.len()..];
        if !(body.is_empty() || body.starts_with('\n') || body.starts_with("\r\n")) {
            return None;
        }
        let end = body.find("\n[").map_or(body.len(), |i| i + 1);
        Some(&body[..end])
    })
}

/// Fold journal entries into the statistics.
pub fn fold(mut stats: CommandStats, entries: &[JournalEntry]) -> CommandStats {
    for entry in entries {
        match entry {
            JournalEntry::Outcome {
                family: Some(family),
                outcome,
                duration_ms,
                ..
            } => stats
                .families
                .entry(family.clone())
                .or_default()
                .record(*outcome, *duration_ms),
            JournalEntry::Outcome { family: None, .. } => {}
            JournalEntry::Decision { level, .. } => match level {
                Level::Low => stats.decisions.low += 1,
                Level::Medium => stats.decisions.medium += 1,
                Level::High => stats.decisions.high += 1,
            },
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_timestamp;
    use crate::sync::{resolve, Decision, Versions};

    fn outcome(family: &str, outcome: CommandEnd) -> JournalEntry {
        JournalEntry::Outcome {
            at: parse_timestamp("2026-01-01T00:00:00Z").unwrap(),
            family: Some(family.into()),
            command: family.into(),
            outcome,
            exit_code: None,
            duration_ms: Some(10),
            actor: None,
        }
    }

    #[test]
    fn fold_counts_outcomes_and_streaks() {
        use CommandEnd::*;
        let entries: Vec<JournalEntry> = [Failure, Failure, Success, Failure, Interrupted, Unknown]
            .into_iter()
            .map(|o| outcome("git push", o))
            .collect();
        let stats = fold(CommandStats::default(), &entries);
        let f = stats.family("git push").unwrap();
        assert_eq!((f.runs, f.successes, f.failures, f.interrupted), (6, 1, 3, 1));
        assert_eq!(f.streak(), 1);
        assert_eq!(f.duration_ms, 60);
    }

    #[test]
    fn escalation_by_streak_or_rate() {
        let e = Escalation::default();
        let streak = FamilyStats {
            runs: 5,
            failures: 3,
            successes: 2,
            failure_streak: 3,
            ..FamilyStats::default()
        };
        assert!(streak.escalation(&e).unwrap().contains("failed the last 3 times"));
        let rate = FamilyStats {
            runs: 20,
            failures: 10,
            successes: 10,
            ..FamilyStats::default()
        };
        assert!(rate.escalation(&e).unwrap().contains("failed 10 of 20 runs (50%)"));
        let fine = FamilyStats {
            runs: 20,
            failures: 9,
            successes: 11,
            failure_streak: 2,
            ..FamilyStats::default()
        };
        assert_eq!(fine.escalation(&e), None);
        let negative = FamilyStats {
            failure_streak: -4,
            ..FamilyStats::default()
        };
        assert_eq!(negative.streak(), 0);
    }

    #[test]
    fn stats_merge_as_counters_across_machines() {
        use CommandEnd::*;
        let base = fold(CommandStats::default(), &[outcome("cargo test", Failure)]);
        let local = fold(base.clone(), &[outcome("cargo test", Failure)]);
        let remote = fold(
            base.clone(),
            &[outcome("cargo test", Failure), outcome("npm test", Success)],
        );
        let bytes = |s: &CommandStats| s.encode().unwrap();
        let (b, l, r) = (bytes(&base), bytes(&local), bytes(&remote));
        let merged = resolve(
            COMMANDS_PATH,
            Versions {
                base: Some(&b),
                local: Some(&l),
                remote: Some(&r),
            },
        );
        let Decision::Merged(out) = merged.0 else {
            panic!("not merged: {merged:?}")
        };
        let stats = CommandStats::parse(&out).unwrap();
        let f = stats.family("cargo test").unwrap();
        assert_eq!(
            (f.runs, f.failures, f.streak()),
            (3, 3, 3),
            "both machines' failures count"
        );
        assert_eq!(stats.family("npm test").unwrap().successes, 1);
        assert_eq!(stats.schema, 1);
    }

    #[test]
    fn concurrent_successes_read_as_a_zero_streak() {
        let base = FamilyStats {
            runs: 2,
            failures: 2,
            failure_streak: 2,
            ..FamilyStats::default()
        };
        // Both machines saw a success: each subtracted 2; merged: 2 - 2 - 2.
        let merged = FamilyStats {
            failure_streak: -2,
            ..base.clone()
        };
        assert_eq!(merged.streak(), 0);
        let mut next = merged;
        next.record(CommandEnd::Failure, None);
        assert_eq!(next.failure_streak, 1, "a fold starts a new streak from zero");
    }

    #[test]
    fn files_round_trip_with_unknown_fields_and_parse_errors_are_corrupt() {
        let text = "schema = 1\nnew_top = 1\n[families.\"git push\"]\nruns = 2\nfuture = \"x\"\n";
        let stats = CommandStats::parse(text.as_bytes()).unwrap();
        let again = CommandStats::parse(&stats.encode().unwrap()).unwrap();
        assert_eq!(again, stats);
        assert_eq!(again.families["git push"].extra["future"].as_str(), Some("x"));
        assert_eq!(CommandStats::parse(b"schema = 2").unwrap_err().exit_code(), 3);
        assert_eq!(
            CommandStats::parse(b"schema = 1\n[families.x]\nruns = -1")
                .unwrap_err()
                .exit_code(),
            3
        );
        let routes = RouteStats::parse(b"schema = 1\n[roles.reviewer]\nclosed = 3\n").unwrap();
        assert_eq!(routes.roles[&Role::parse("reviewer").unwrap()].closed, 3);
        assert_eq!(
            RouteStats::parse(b"schema = 1\n[roles.\"a b\"]\nclosed = 3\n")
                .unwrap_err()
                .exit_code(),
            3
        );
    }

    #[test]
    fn a_line_is_recorded_for_its_primary_family_redacted() {
        let at = parse_timestamp("2026-01-01T00:00:00Z").unwrap();
        let actor = Actor::parse("agent:alice").unwrap();
        let entry = JournalEntry::for_line(
            at,
            "cd repo && GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123 git push  origin main",
            CommandEnd::from_exit_code(1),
            Some(1),
            Some(2500),
            Some(&actor),
        );
        let JournalEntry::Outcome {
            family, command, actor, ..
        } = &entry
        else {
            panic!("{entry:?}")
        };
        assert_eq!(family.as_deref(), Some("git push"));
        assert_eq!(command, "cd repo && GITHUB_TOKEN=[REDACTED] git push origin main");
        assert_eq!(actor.as_deref(), Some("agent:alice"));
        let unreadable = JournalEntry::for_line(at, "echo \"x", CommandEnd::Success, Some(0), None, None);
        assert!(matches!(unreadable, JournalEntry::Outcome { family: None, .. }));
    }

    #[test]
    fn journal_lines_round_trip_and_torn_lines_are_skipped() {
        let a = outcome("git push", CommandEnd::Failure);
        let b = JournalEntry::Decision {
            at: parse_timestamp("2026-01-01T00:00:00Z").unwrap(),
            level: Level::High,
        };
        let mut text = a.to_line() + &b.to_line();
        text.push_str("{\"kind\":\"outcome\",\"at\":\"2026-01");
        let read = parse_journal(&text);
        assert_eq!(read.entries, vec![a, b]);
        assert_eq!(read.skipped, 1);
        let stats = fold(CommandStats::default(), &read.entries);
        assert_eq!(stats.decisions.high, 1);
    }

    #[test]
    fn ten_thousand_outcomes_stay_compact() {
        let families: Vec<String> = (0..50).map(|i| format!("tool{i} run")).collect();
        let entries: Vec<JournalEntry> = (0..10_000)
            .map(|i| {
                outcome(
                    &families[i % 50],
                    if i % 7 == 0 {
                        CommandEnd::Failure
                    } else {
                        CommandEnd::Success
                    },
                )
            })
            .collect();
        let stats = fold(CommandStats::default(), &entries);
        let bytes = stats.encode().unwrap();
        assert!(bytes.len() < 12_000, "{} bytes", bytes.len());
        let mut compacted = stats.clone();
        compacted.compact(10);
        assert!(compacted.families.len() < 50);
    }

    #[test]
    fn partial_reads_match_the_full_parse() {
        use CommandEnd::*;
        let names = ["git push", "rm", "npm run build", "python3 -m pytest", "a.b", "x/y:z@1"];
        let entries: Vec<JournalEntry> = (0..60)
            .map(|i| outcome(names[i % names.len()], if i % 3 == 0 { Failure } else { Success }))
            .collect();
        let stats = fold(CommandStats::default(), &entries);
        let bytes = stats.encode().unwrap();
        let wanted: Vec<String> = ["git push", "rm", "x/y:z@1", "absent", "git"]
            .map(String::from)
            .to_vec();
        let partial = CommandStats::partial(&bytes, &wanted).unwrap();
        assert_eq!(partial.families.len(), 3);
        for name in &wanted {
            assert_eq!(partial.family(name), stats.family(name), "{name}");
        }
        // Another layout (inline tables) is parsed whole, with the same answer.
        let inline = "schema = 1\nfamilies = { \"git push\" = { runs = 4, failures = 3, failure_streak = 3 } }\n";
        let p = CommandStats::partial(inline.as_bytes(), &wanted).unwrap();
        assert_eq!(p.family("git push").unwrap().streak(), 3);
        assert_eq!(
            CommandStats::partial(b"schema = 2\n", &wanted).unwrap_err().exit_code(),
            3
        );
        let broken = "schema = 1\n[families.rm]\nruns = \"x\"\n";
        assert_eq!(
            CommandStats::partial(broken.as_bytes(), &wanted)
                .unwrap_err()
                .exit_code(),
            3
        );
    }

    #[test]
    fn route_outcomes_count_per_role() {
        let mut routes = RouteStats::default();
        let reviewer = Role::parse("reviewer").unwrap();
        routes.record(&reviewer, DeliveryOutcome::Closed);
        routes.record(&reviewer, DeliveryOutcome::Failed);
        routes.record(&reviewer, DeliveryOutcome::Closed);
        assert_eq!((routes.roles[&reviewer].closed, routes.roles[&reviewer].failed), (2, 1));
    }
}
