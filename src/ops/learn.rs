//! Learn operations (docs/learn.md): judging a command before it runs
//! (`pre-command`), recording how it ended (`post-command`, into the local
//! [`journal`]), folding the journal into `learn/commands.toml`, counting
//! delivery outcomes per role for routing, `route`, `metrics`, the learn
//! checks of doctor, and installing agent hooks. The judgement itself is
//! [`crate::learn`]'s, pure.
//!
//! When the journal is folded: by [`fold_journal`], which the daemon's tick
//! calls, `baton sync` calls before it syncs, `doctor --fix` calls when the
//! journal waits, and every write that goes through [`Session::apply`] calls
//! after its own commit when the journal is not empty (one more commit,
//! `learn: fold ...`). Until then `pre-command` and `metrics` read the
//! journal too, so what this machine saw counts at once.

mod files;
mod held;
pub mod journal;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use super::{Applied, Committed, Session};
use crate::clock::Timestamp;
use crate::error::code;
use crate::error::{Error, Result};
use crate::finding::Finding;
use crate::ids::{Actor, ActorKind, Role};
use crate::learn::check::{self as learn_check, JournalFacts};
use crate::learn::family;
use crate::learn::hooks::{self, HookCommand, Install, Target};
use crate::learn::judge::{self, ClaimContext, Context, Verdict};
use crate::learn::policy::{LocalRules, LOCAL_PATH};
use crate::learn::route::{self, KeywordRules, Routing};
use crate::learn::rules::RuleSet;
use crate::learn::shell::{self, Script, ShellError};
use crate::learn::stats::{
    self, fold, CommandEnd, CommandStats, DecisionCounts, DeliveryOutcome, FamilyStats, JournalEntry, RouteStats,
};
use crate::learn::Policy as LearnPolicy;
use crate::pool::{self, Agent, AgentStatus};
use crate::state;
use crate::store::{message, Change, Message, Snapshot, Store, Update};

/// The trailer that names each journal file a fold committed (see [`journal`]).
pub const JOURNAL_TRAILER: &str = "Baton-Journal";

/// A fold keeps at most this many families (the most run, and every one on
/// a failure streak): the statistics stay small however many commands ran.
pub const MAX_FAMILIES: usize = 1000;

/// A journal this big is folded by the `post-command` that grew it (about
/// 1 500 outcomes or 4 000 decisions): `pre-command` searches it every time.
pub const FOLD_AT_BYTES: u64 = 256 * 1024;

/// How far back a fold looks for the commit of a journal a dead fold left.
const RECOVERY_DEPTH: usize = 1000;

/// What `pre-command` judges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A shell line (`--command`, a hook's `tool_input.command`).
    Line(String),
    /// One command as argv (`-- <argv...>`): no shell parsing.
    Argv(Vec<String>),
}

impl Input {
    fn parse(&self) -> Result<Script, ShellError> {
        match self {
            Input::Line(line) => shell::parse_line(line),
            Input::Argv(argv) => Ok(shell::from_argv(argv)),
        }
    }

    fn text(&self) -> String {
        match self {
            Input::Line(line) => line.clone(),
            Input::Argv(argv) => argv.join(" "),
        }
    }
}

/// The families whose statistics judging `parsed` needs; `None`: all (a
/// line the parser cannot read is split into words by the judge itself).
fn families_of(parsed: &Result<Script, ShellError>) -> Option<Vec<String>> {
    parsed.as_ref().ok().map(family::families)
}

/// The verdict on a line with what the judge knows besides it.
fn verdict(input: &Input, parsed: &Result<Script, ShellError>, rules: &RuleSet, ctx: &Context<'_>) -> Verdict {
    match (input, parsed) {
        (Input::Line(line), _) => judge::judge_parsed(line, parsed, rules, ctx),
        (Input::Argv(_), Ok(script)) => judge::judge_script(script, rules, ctx),
        (Input::Argv(argv), Err(_)) => judge::judge_argv(argv, rules, ctx),
    }
}

/// `pre-command` outside a git repository: the built-in rules alone.
pub fn pre_command_builtin(input: &Input) -> Verdict {
    let parsed = input.parse();
    verdict(input, &parsed, &RuleSet::builtin(), &Context::default())
}

/// This machine's rule changes (`.git/baton/learn/local.toml`): none when
/// the file is absent; one that does not parse is an error (the guard
/// refuses until it is fixed, rather than judge with rules nobody meant).
pub fn local_rules(store: &Store) -> Result<LocalRules> {
    let path = store.git_dir().join(LOCAL_PATH);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(LocalRules::parse(&path, &bytes)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LocalRules::default()),
        Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
    }
}

/// `pre-command`: judge every command the input would run, with the
/// repository's `[learn]` rules (and this machine's local changes), what
/// this family's outcomes were (shared statistics and the local journal)
/// and, for an agent pushing or committing, its claims. The decision is
/// journaled (best effort: the verdict never depends on being able to
/// write it down).
///
/// Fails closed: when anything the judgement needs does not load (the
/// shared config, the local rules, the statistics of the line's families,
/// the actor), this is an error, never a judgement without it.
pub fn pre_command(s: &Session, input: &Input) -> Result<Verdict> {
    let parsed = input.parse();
    let actor = s.actor()?;
    let local = local_rules(&s.store)?;
    let Some(tip) = s.store.tip()? else {
        let rules = RuleSet::with_local(&LearnPolicy::default(), &local)?;
        return Ok(files::with_files(s, |files| {
            let ctx = Context {
                files,
                ..Context::default()
            };
            verdict(input, &parsed, &rules, &ctx)
        }));
    };
    let snap = s.store.snapshot_at(Some(tip))?;
    // Read from this snapshot, not `Session::config`, which would resolve the tip again.
    let policy = &state::config(&snap)?.learn;
    let rules = RuleSet::with_local(policy, &local)?;
    let escalation = policy.escalation()?;
    let families = families_of(&parsed);
    let stats = known_stats(s, &snap, families.as_deref())?;
    let claims = claim_context(s, &snap, &actor, &input.text(), families.as_deref())?;
    let verdict = files::with_files(s, |files| {
        let ctx = Context {
            stats: Some(&stats),
            escalation,
            claims: claims.as_ref(),
            files,
        };
        verdict(input, &parsed, &rules, &ctx)
    });
    let decided = JournalEntry::Decision {
        at: s.now,
        level: verdict.level,
    };
    let _ = journal::append(&journal::dir(&s.store), &decided);
    Ok(verdict)
}

/// The statistics of `families` (all when `None`): the shared file plus this
/// machine's journal. A file that does not parse is an error: the guard
/// does not judge without what it learned (doctor sets the file aside).
fn known_stats(s: &Session, snap: &Snapshot<'_>, families: Option<&[String]>) -> Result<CommandStats> {
    if families.is_some_and(<[String]>::is_empty) {
        return Ok(CommandStats::default());
    }
    let shared = match families {
        Some(f) => state::command_stats_of(snap, f),
        None => state::command_stats(snap),
    };
    let shared = shared.map_err(|e| {
        let hint = if e.is::<crate::codec::NewerSchema>() {
            e.hint.clone()
        } else {
            "`baton doctor learn --fix` sets the file aside (the statistics start afresh)".to_owned()
        };
        Error::invalid(
            code::LEARN_STATISTICS_UNREADABLE,
            format!("the guard cannot read its statistics: {}", e.message()),
        )
        .with_hint(hint)
    })?;
    let pending = journal::pending(&journal::dir(&s.store), families)?;
    Ok(fold(shared, &pending.entries))
}

/// The claims of an agent that pushes or commits; `None` otherwise (humans,
/// and lines without `git push` / `git commit`, cost nothing).
fn claim_context(
    s: &Session,
    snap: &Snapshot<'_>,
    actor: &Actor,
    text: &str,
    families: Option<&[String]>,
) -> Result<Option<ClaimContext>> {
    if actor.kind() != ActorKind::Agent {
        return Ok(None);
    }
    let relevant = match families {
        Some(f) => f.iter().any(|f| f == "git push" || f == "git commit"),
        None => text.contains("git"),
    };
    if !relevant {
        return Ok(None);
    }
    let held = held::held_claims(&s.store, snap, &journal::dir(&s.store), actor)?;
    Ok(ClaimContext::from_leases(actor, held::leases(&held), s.now))
}

/// How a command ended, as `post-command` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub command: String,
    pub outcome: CommandEnd,
    pub exit_code: Option<i32>,
    pub duration_ms: Option<u64>,
}

/// `post-command`: append the outcome to the local journal (one write, no
/// state commit): counted for the line's family, its text redacted. A
/// journal grown past [`FOLD_AT_BYTES`] (nothing else folded it: no daemon,
/// no writes) is folded right after, best effort.
pub fn post_command(s: &Session, ended: &Ended) -> Result<JournalEntry> {
    let actor = s.actor()?;
    let entry = JournalEntry::for_line(
        s.now,
        &ended.command,
        ended.outcome,
        ended.exit_code,
        ended.duration_ms,
        Some(&actor),
    );
    let dir = journal::dir(&s.store);
    journal::append(&dir, &entry)?;
    if journal::live_bytes(&dir) > FOLD_AT_BYTES {
        let _ = fold_journal(s);
    }
    Ok(entry)
}

/// What a fold took into the statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Folded {
    pub outcomes: usize,
    pub decisions: usize,
    /// Lines that did not parse (cut short by a crash): dropped.
    pub skipped: usize,
    /// Journal files folded.
    pub files: usize,
    /// Families dropped by compaction.
    pub compacted: usize,
}

/// Whether the journal has anything to fold (a cheap look at the directory).
pub fn journal_waiting(store: &Store) -> bool {
    journal::files(&journal::dir(store)).is_ok_and(|files| files.iter().any(|f| f.bytes > 0))
}

/// Fold the local journal into `learn/commands.toml` in one commit, compacting
/// the statistics when they grew past [`MAX_FAMILIES`]; nothing to fold, or
/// no state yet: no commit. (The daemon's tick folds with [`take_journal`]
/// and [`fold_into`] instead, in its own one commit.)
pub fn fold_journal(s: &Session) -> Result<Applied<Folded>> {
    let unchanged = |value| Committed { value, commit: None }.local();
    if s.store.tip()?.is_none() {
        return Ok(unchanged(Folded::default()));
    }
    let taken = take_journal(&s.store)?;
    if taken.is_empty() {
        return Ok(unchanged(Folded::default()));
    }
    let actor = s.actor()?.to_string();
    let written = s.store.update(&actor, |snap| {
        let mut change = Change::default();
        let (folded, _) = fold_into(snap, &taken, &mut change)?;
        let msg = Message::new(format!(
            "learn: fold {} outcome(s) and {} decision(s)",
            folded.outcomes, folded.decisions
        ))
        .trailer(message::OP, "learn.fold")
        .trailer(message::SUBJECT, stats::COMMANDS_PATH)
        .trailer(message::ACTOR, &actor);
        change.message = journal_trailers(msg, &taken);
        Ok(Update::Write(change, folded))
    })?;
    taken.committed()?;
    Ok(Committed {
        value: written.value,
        commit: written.commit,
    }
    .local())
}

/// Take this machine's journal aside for a fold (see [`journal::take`]):
/// its files stay locked until [`journal::Taken::committed`] deletes them
/// once the commit that names them landed; dropped uncommitted, the next
/// fold folds them.
pub fn take_journal(store: &Store) -> Result<journal::Taken> {
    journal::take(&journal::dir(store), |name| committed(store, name))
}

/// Fold `taken` into the statistics of `snap`, compacted to
/// [`MAX_FAMILIES`], and put the file into `change`: what was folded, and
/// the statistics written. The commit is the caller's; its message must
/// carry [`journal_trailers`] so a fold that dies before deleting the files
/// is recognised.
pub fn fold_into(snap: &Snapshot<'_>, taken: &journal::Taken, change: &mut Change) -> Result<(Folded, CommandStats)> {
    let before = state::command_stats(snap)?;
    let mut after = fold(before, &taken.read.entries);
    let families = after.families.len();
    after.compact(MAX_FAMILIES);
    let folded = Folded {
        outcomes: count(&taken.read.entries, |e| matches!(e, JournalEntry::Outcome { .. })),
        decisions: count(&taken.read.entries, |e| matches!(e, JournalEntry::Decision { .. })),
        skipped: taken.read.skipped,
        files: taken.names.len(),
        compacted: families - after.families.len(),
    };
    change.put(stats::COMMANDS_PATH.to_owned(), after.encode()?);
    Ok((folded, after))
}

/// `msg` with a [`JOURNAL_TRAILER`] naming each file of `taken`.
pub fn journal_trailers(mut msg: Message, taken: &journal::Taken) -> Message {
    for name in &taken.names {
        msg = msg.trailer(JOURNAL_TRAILER, name);
    }
    msg
}

/// Compaction on its own, when the statistics of `snap` hold more than
/// [`MAX_FAMILIES`] families (a sync merge of two clones' files can leave
/// them so): how many families were dropped, and the file put into
/// `change`; `None` when nothing is due.
pub fn compact_into(snap: &Snapshot<'_>, change: &mut Change) -> Result<Option<(usize, CommandStats)>> {
    let mut stats = state::command_stats(snap)?;
    let families = stats.families.len();
    stats.compact(MAX_FAMILIES);
    let dropped = families - stats.families.len();
    if dropped == 0 {
        return Ok(None);
    }
    change.put(stats::COMMANDS_PATH.to_owned(), stats.encode()?);
    Ok(Some((dropped, stats)))
}

fn count(entries: &[JournalEntry], pred: impl Fn(&JournalEntry) -> bool) -> usize {
    entries.iter().filter(|e| pred(e)).count()
}

/// Whether a fold already committed the journal file `name` (a fold that
/// died between its commit and deleting the file).
fn committed(store: &Store, name: &str) -> Result<bool> {
    let Some(tip) = store.tip()? else { return Ok(false) };
    let mut found = false;
    let mut seen = 0;
    store.walk_history(tip, |e| {
        seen += 1;
        found = e.message.all(JOURNAL_TRAILER).any(|n| n == name);
        !found && seen < RECOVERY_DEPTH
    })?;
    Ok(found)
}

/// Count a delivery's outcome for the role that ran it, in the commit of
/// its final phase (`learn/routes.toml`). No role, nothing to count; a
/// routes file that does not parse is left as it is (doctor reports it),
/// so a broken statistic never stops a delivery.
pub fn count_delivery(snap: &Snapshot<'_>, change: &mut Change, role: Option<&Role>, outcome: DeliveryOutcome) {
    let Some(role) = role else { return };
    let Ok(mut routes) = state::route_stats(snap) else {
        return;
    };
    routes.record(role, outcome);
    if let Ok(bytes) = routes.encode() {
        change.put(stats::ROUTES_PATH.to_owned(), bytes);
    }
}

/// Risk decisions by level (`low`, `medium`, `high`) as the state counts
/// them, for the metrics snapshot's `learn.decisions.*` counters; a
/// statistics file that does not parse counts nothing (doctor reports it).
pub fn decisions(snap: &Snapshot<'_>) -> BTreeMap<String, u64> {
    decisions_of(&state::command_stats(snap).unwrap_or_default())
}

/// [`decisions`] of statistics already read (the daemon keeps them in its view).
pub fn decisions_of(stats: &CommandStats) -> BTreeMap<String, u64> {
    let d = &stats.decisions;
    [("low", d.low), ("medium", d.medium), ("high", d.high)]
        .into_iter()
        .map(|(level, n)| (level.to_owned(), n))
        .collect()
}

/// `route`: the pool role best suited to a task, with the others ranked.
pub fn route(s: &Session, task: &str) -> Result<Routing> {
    let snap = s.snapshot()?;
    let keywords = KeywordRules::from_policy(&s.config()?.learn)?;
    let routes = state::route_stats(&snap)?;
    let (agents, _) = state::load_all(&snap, pool::DIR, |a: &Agent| a.schema)?;
    let roles: BTreeSet<Role> = agents
        .into_iter()
        .filter(|(_, a)| a.status != AgentStatus::Retired)
        .map(|(_, a)| a.role)
        .collect();
    Ok(route::route(
        task,
        &roles.into_iter().collect::<Vec<_>>(),
        &keywords,
        &routes,
    )?)
}

/// One family's line in `metrics`.
#[derive(Debug, Clone, Serialize)]
pub struct FamilyRow {
    pub family: String,
    #[serde(flatten)]
    pub stats: FamilyStats,
    /// Why this family's risk is raised now, if it is.
    pub escalated: Option<String>,
}

/// `metrics`: decisions by level, outcomes by family, deliveries by role.
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub decisions: DecisionCounts,
    /// Most run first.
    pub families: Vec<FamilyRow>,
    pub routes: RouteStats,
    /// Journal entries of this machine not folded into the state yet (they are counted above).
    pub pending: usize,
}

/// `metrics`: the shared statistics with this machine's journal folded in
/// (in memory: reading changes nothing).
pub fn metrics(s: &Session) -> Result<Metrics> {
    let snap = s.snapshot()?;
    let escalation = s.config()?.learn.escalation()?;
    let pending = journal::pending(&journal::dir(&s.store), None)?;
    let stats = fold(state::command_stats(&snap)?, &pending.entries);
    let mut families: Vec<FamilyRow> = stats
        .families
        .into_iter()
        .map(|(family, stats)| FamilyRow {
            escalated: stats.escalation(&escalation),
            family,
            stats,
        })
        .collect();
    families.sort_by(|a, b| b.stats.runs.cmp(&a.stats.runs).then_with(|| a.family.cmp(&b.family)));
    Ok(Metrics {
        decisions: stats.decisions,
        families,
        routes: state::route_stats(&snap)?,
        pending: pending.entries.len(),
    })
}

/// `hooks install <agent>`: write or merge the agent's configuration in
/// this work tree (see [`hooks::install`]); written whole, then renamed, so
/// an agent reading it never sees half a file.
pub fn install_hooks(s: &Session, target: Target, how: &HookCommand) -> Result<Install> {
    let root = s.store.work_dir().ok_or_else(|| {
        Error::environment(
            code::NO_WORK_TREE,
            "this repository has no work tree to install agent hooks in",
        )
        .with_hint("run it in a clone with a work tree")
    })?;
    let path = root.join(target.path());
    let existing = match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    let done = hooks::install(target, existing.as_deref(), how)?;
    if done.changed {
        write_whole(&path, &done.content)?;
    }
    Ok(done)
}

pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let tmp = path.with_extension(format!("baton-tmp.{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// Doctor's learn checks: the rules of the shared config, the statistics
/// files, the local journal. `fix` (the actor committing): fold the journal.
pub fn check(s: &Session, snap: &Snapshot<'_>, policy: &LearnPolicy, fix: bool) -> Vec<Finding> {
    let dir = journal::dir(&s.store);
    let gather = || -> Result<JournalFacts> {
        let files = journal::files(&dir)?;
        let pending = journal::pending(&dir, None)?;
        Ok(journal_facts(&files, &pending, s.now))
    };
    let facts = learn_check::Facts {
        rules: rules_in_effect(s, policy),
        commands: state::command_stats(snap).map(|c| (c.families.len(), c.families.values().map(|f| f.runs).sum())),
        routes: state::route_stats(snap).map(|r| r.roles.len()),
        journal: gather(),
        now: s.now,
    };
    let mut out = learn_check::check(&facts);
    let waiting = facts.journal.as_ref().is_ok_and(|j| j.entries + j.skipped > 0);
    // A statistics file that does not parse is quarantined first (doctor's
    // fix of files); the journal waits for the next fold.
    if fix && waiting && facts.commands.is_ok() {
        match fold_journal(s) {
            Ok(done) => {
                for f in out.iter_mut().filter(|f| f.check == learn_check::JOURNAL) {
                    f.fixed = done.commit.is_some();
                    f.message.push_str(&format!(
                        "; folded {} entries",
                        done.value.outcomes + done.value.decisions
                    ));
                }
            }
            Err(e) => {
                out.push(Finding::error(learn_check::JOURNAL, format!("could not fold: {}", e.message())).hint(e.hint))
            }
        }
    }
    out
}

/// The learn statistics files of `snap` that do not parse (for doctor's
/// quarantine); a file a newer baton wrote is not among them.
pub fn unparsable(snap: &Snapshot<'_>) -> Vec<String> {
    let broken = |r: Result<()>, path: &str| match r {
        Err(e) if !e.is::<crate::codec::NewerSchema>() => Some(path.to_owned()),
        _ => None,
    };
    [
        broken(state::command_stats(snap).map(drop), stats::COMMANDS_PATH),
        broken(state::route_stats(snap).map(drop), stats::ROUTES_PATH),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The rules `pre-command` would judge with, counted, and what the shared
/// config tried to loosen (ignored there).
fn rules_in_effect(s: &Session, policy: &LearnPolicy) -> Result<(usize, Vec<String>)> {
    policy.escalation()?;
    policy.keyword_overrides()?;
    let shared = RuleSet::from_policy(policy)?;
    let local = RuleSet::with_local(policy, &local_rules(&s.store)?)?;
    Ok((local.rules().len(), shared.loosened().to_vec()))
}

fn journal_facts(files: &[journal::JournalFile], pending: &stats::JournalRead, now: Timestamp) -> JournalFacts {
    let oldest = pending
        .entries
        .iter()
        .map(|e| match e {
            JournalEntry::Outcome { at, .. } | JournalEntry::Decision { at, .. } => *at,
        })
        .min();
    JournalFacts {
        files: files.len(),
        bytes: files.iter().map(|f| f.bytes).sum(),
        entries: pending.entries.len(),
        skipped: pending.skipped,
        oldest,
        now,
    }
}
