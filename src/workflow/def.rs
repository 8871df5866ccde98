//! Workflow definitions (docs/workflows.md): parsing TOML or JSON, validating with
//! every problem named by its step, the execution order (topological, ties by
//! file order) and each step's upstream for `when` conditions.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::clock::{Bounds, Span};
use crate::error::with_cause;
use crate::ids::StepId;

/// When a step runs, judged on its upstream steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// No upstream step failed (the default).
    OnSuccess,
    /// At least one upstream step failed.
    OnFailure,
    /// Either way.
    Always,
}

impl When {
    pub fn as_str(self) -> &'static str {
        match self {
            When::OnSuccess => "on_success",
            When::OnFailure => "on_failure",
            When::Always => "always",
        }
    }
}

/// A validated step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub id: StepId,
    /// argv, executed directly; `None` for a checkpoint.
    pub run: Option<Vec<String>>,
    /// `None` when the file did not say: then every earlier step is upstream.
    pub depends_on: Option<Vec<StepId>>,
    pub when: When,
    pub retry: u32,
    pub retry_backoff: Span,
    pub timeout: Option<Span>,
    pub continue_on_error: bool,
    pub env: BTreeMap<String, String>,
}

/// A validated workflow definition.
#[derive(Debug, Clone, Serialize)]
pub struct Definition {
    pub name: String,
    pub steps: Vec<Step>,
    /// Step indices in execution order.
    #[serde(skip)]
    pub order: Vec<usize>,
}

/// One problem found by validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.step {
            Some(step) => write!(f, "step {step}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefinition {
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    steps: Vec<RawStep>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: Option<String>,
    run: Option<Vec<String>>,
    depends_on: Option<Vec<String>>,
    when: Option<String>,
    retry: Option<i64>,
    retry_backoff: Option<String>,
    timeout: Option<String>,
    continue_on_error: Option<bool>,
    env: Option<BTreeMap<String, String>>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
}

/// The format of a definition file, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

impl Format {
    pub fn of(path: &str) -> Format {
        if path.ends_with(".json") {
            Format::Json
        } else {
            Format::Toml
        }
    }
}

/// A definition that does not validate: every problem, one per line. The
/// code and hint are given where it becomes the user's error (`ops::refusals`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} is not a valid workflow:\n  {}", problem_list(.problems))]
pub struct Invalid {
    /// The definition as the user named it.
    pub file: String,
    pub problems: Vec<Problem>,
}

fn problem_list(problems: &[Problem]) -> String {
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    list.join("\n  ")
}

/// Parse and validate; the error (exit 2) lists every problem.
pub fn parse(file: &str, text: &str, format: Format) -> std::result::Result<Definition, Invalid> {
    parse_checked(text, format).map_err(|problems| Invalid {
        file: file.to_owned(),
        problems,
    })
}

/// Parse and validate, returning every problem found.
pub fn parse_checked(text: &str, format: Format) -> std::result::Result<Definition, Vec<Problem>> {
    let raw: RawDefinition = match format {
        Format::Toml => toml::from_str(text).map_err(|e| {
            vec![problem(
                None,
                format!("does not parse: {}", crate::codec::toml_problem(text, &e)),
            )]
        })?,
        // serde_json's message ends "at line L column C" already.
        Format::Json => serde_json::from_str(text).map_err(|e| vec![problem(None, format!("does not parse: {e}"))])?,
    };
    let _ = raw.description;
    validate(raw)
}

fn problem(step: Option<&str>, message: impl Into<String>) -> Problem {
    Problem {
        step: step.map(str::to_owned),
        message: message.into(),
    }
}

fn validate(raw: RawDefinition) -> std::result::Result<Definition, Vec<Problem>> {
    let mut problems = Vec::new();
    let name = raw.name.unwrap_or_default();
    if name.trim().is_empty() {
        problems.push(problem(None, "`name` is missing"));
    }
    if raw.steps.is_empty() {
        problems.push(problem(None, "there are no [[steps]]"));
    }
    let mut seen = BTreeSet::new();
    let steps: Vec<Step> = raw
        .steps
        .into_iter()
        .enumerate()
        .filter_map(|(index, s)| validate_step(index, s, &mut seen, &mut problems))
        .collect();
    check_dependencies(&steps, &mut problems);
    // Cycles are looked for even when other problems were found: validation
    // promises every problem at once, and a cycle next to (say) a bad `when`
    // must not be revealed only after that is fixed.
    let order = match topological_order(&steps) {
        Ok(order) => order,
        Err(cycle) => {
            let names: Vec<&str> = cycle.iter().map(|&i| steps[i].id.as_str()).collect();
            problems.push(problem(
                Some(names[0]),
                format!("dependency cycle: {}", names.join(" -> ")),
            ));
            Vec::new()
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Definition { name, steps, order })
}

/// One step's fields, each checked; every problem is noted under the step's
/// id (or `#<n>`). `None` when the step has no usable id.
fn validate_step(index: usize, s: RawStep, seen: &mut BTreeSet<StepId>, problems: &mut Vec<Problem>) -> Option<Step> {
    let label = s.id.clone().unwrap_or_else(|| format!("#{}", index + 1));
    let mut found = Vec::new();
    let id = match s.id.as_deref().map(StepId::parse) {
        None => Err("`id` is missing".to_owned()),
        Some(Err(e)) => Err(format!("{e} ({})", e.form())),
        Some(Ok(id)) if !seen.insert(id.clone()) => {
            found.push("duplicate step id".to_owned());
            Ok(id)
        }
        Some(Ok(id)) => Ok(id),
    };
    if s.run
        .as_ref()
        .is_some_and(|run| run.first().is_none_or(|p| p.trim().is_empty()))
    {
        found.push("`run` must name a program: run = [\"cargo\", \"test\"]".to_owned());
    }
    let when = parse_when(s.when.as_deref()).unwrap_or_else(|e| {
        found.push(e);
        When::OnSuccess
    });
    let retry = parse_retry(s.retry).unwrap_or_else(|e| {
        found.push(e);
        0
    });
    // A timeout of zero would kill every attempt at once; a backoff of zero retries at once.
    let mut duration = |field: &str, raw: Option<&str>, bounds: Bounds| {
        let raw = raw?;
        Span::parse_within(raw, bounds)
            .map_err(|e| found.push(format!("bad duration in `{field}`: {} ({})", with_cause(&e), e.form())))
            .ok()
    };
    let retry_backoff =
        duration("retry_backoff", s.retry_backoff.as_deref(), Bounds::WAIT).unwrap_or(Span::from_secs(0));
    let timeout = duration("timeout", s.timeout.as_deref(), Bounds::POSITIVE);
    let depends_on = s.depends_on.as_ref().map(|deps| {
        deps.iter()
            .filter_map(|d| {
                StepId::parse(d)
                    .map_err(|_| found.push(format!("depends on {d:?}, which is not a step id")))
                    .ok()
            })
            .collect()
    });
    for key in s.env.as_ref().into_iter().flat_map(|e| e.keys()) {
        if key.is_empty() || key.contains('=') || key.contains('\0') {
            found.push(format!("bad environment variable name {key:?}"));
        }
    }
    if let Err(e) = &id {
        problems.push(problem(Some(&label), e.clone()));
    }
    problems.extend(found.into_iter().map(|m| problem(Some(&label), m)));
    Some(Step {
        id: id.ok()?,
        run: s.run,
        depends_on,
        when,
        retry,
        retry_backoff,
        timeout,
        continue_on_error: s.continue_on_error.unwrap_or(false),
        env: s.env.unwrap_or_default(),
    })
}

fn parse_when(raw: Option<&str>) -> std::result::Result<When, String> {
    match raw {
        None | Some("on_success") => Ok(When::OnSuccess),
        Some("on_failure") => Ok(When::OnFailure),
        Some("always") => Ok(When::Always),
        Some(other) => Err(format!("bad `when` {other:?}: use on_success, on_failure or always")),
    }
}

fn parse_retry(raw: Option<i64>) -> std::result::Result<u32, String> {
    match raw {
        None => Ok(0),
        Some(n) if n < 0 => Err(format!(
            "`retry` is {n}: it counts extra attempts and cannot be negative"
        )),
        Some(n) if n > 100 => Err(format!("`retry` is {n}: at most 100")),
        Some(n) => Ok(n as u32),
    }
}

/// Every `depends_on` names a step of the definition, and not itself.
fn check_dependencies(steps: &[Step], problems: &mut Vec<Problem>) {
    let ids: BTreeSet<&StepId> = steps.iter().map(|s| &s.id).collect();
    for s in steps {
        for d in s.depends_on.iter().flatten() {
            if !ids.contains(d) {
                problems.push(problem(Some(s.id.as_str()), format!("depends on unknown step {d}")));
            } else if d == &s.id {
                problems.push(problem(Some(s.id.as_str()), "depends on itself"));
            }
        }
    }
}

/// Kahn's algorithm, always taking the ready step that comes first in the
/// file; on a cycle, the cycle's steps (first repeated at the end).
fn topological_order(steps: &[Step]) -> std::result::Result<Vec<usize>, Vec<usize>> {
    let index: BTreeMap<&StepId, usize> = steps.iter().enumerate().map(|(i, s)| (&s.id, i)).collect();
    // Self-dependencies are reported on their own ("depends on itself"); left
    // out here so they do not hide a real cycle elsewhere.
    let deps: Vec<Vec<usize>> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.depends_on
                .iter()
                .flatten()
                .filter_map(|d| index.get(d).copied())
                .filter(|&d| d != i)
                .collect()
        })
        .collect();
    let mut done = vec![false; steps.len()];
    let mut order = Vec::with_capacity(steps.len());
    while order.len() < steps.len() {
        let next = (0..steps.len()).find(|&i| !done[i] && deps[i].iter().all(|&d| done[d]));
        match next {
            Some(i) => {
                done[i] = true;
                order.push(i);
            }
            None => return Err(find_cycle(&deps, &done)),
        }
    }
    Ok(order)
}

fn find_cycle(deps: &[Vec<usize>], done: &[bool]) -> Vec<usize> {
    // Every remaining step waits on another remaining one: walk until a repeat.
    let start = (0..deps.len()).find(|&i| !done[i]).unwrap_or(0);
    let mut path = vec![start];
    let mut current = start;
    loop {
        let next = deps[current].iter().copied().find(|&d| !done[d]).unwrap_or(start);
        if let Some(pos) = path.iter().position(|&p| p == next) {
            let mut cycle: Vec<usize> = path[pos..].to_vec();
            cycle.push(next);
            return cycle;
        }
        path.push(next);
        current = next;
    }
}

impl Definition {
    pub fn index_of(&self, id: &StepId) -> Option<usize> {
        self.steps.iter().position(|s| &s.id == id)
    }

    /// Each step's upstream (see [`Upstreams`]).
    pub fn upstreams(&self) -> Upstreams<'_> {
        let mut position = vec![0; self.steps.len()];
        for (pos, &i) in self.order.iter().enumerate() {
            position[i] = pos;
        }
        let ids: BTreeMap<&StepId, usize> = self.steps.iter().enumerate().map(|(i, s)| (&s.id, i)).collect();
        let direct = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| match &step.depends_on {
                Some(deps) => Direct::Steps(deps.iter().filter_map(|d| ids.get(d).copied()).collect()),
                None => Direct::Before(position[i]),
            })
            .collect();
        Upstreams {
            order: &self.order,
            direct,
        }
    }
}

/// A step's direct upstream, as the definition gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Direct {
    /// No `depends_on`: every step at a position before this one in
    /// execution order.
    Before(usize),
    /// `depends_on`: these steps (indices).
    Steps(Vec<usize>),
}

/// Each step's upstream: its transitive `depends_on`, or, without
/// `depends_on`, every step before it in execution order (docs/workflows.md).
///
/// Kept as each step's direct upstream, never as the transitive sets: a
/// definition of n steps without `depends_on` has upstream sets of
/// n²/2 entries in all. Whoever needs a whole set builds it
/// ([`Upstreams::of`]) and drops it; the questions asked of every step
/// again and again (is everything upstream settled?) are answered from
/// the direct upstream alone (`ledger::Readiness`).
#[derive(Debug, Clone)]
pub struct Upstreams<'d> {
    order: &'d [usize],
    direct: Vec<Direct>,
}

impl Upstreams<'_> {
    /// Step indices in execution order (upstream always comes first).
    pub fn order(&self) -> &[usize] {
        self.order
    }

    pub fn direct(&self, i: usize) -> &Direct {
        &self.direct[i]
    }

    /// Every upstream step of `i` (transitive), sorted.
    pub fn of(&self, i: usize) -> Vec<usize> {
        let mut seen = vec![false; self.direct.len()];
        let mut pending = vec![i];
        while let Some(step) = pending.pop() {
            match &self.direct[step] {
                // A prefix of the order holds its own upstream already.
                Direct::Before(p) => {
                    for &u in &self.order[..*p] {
                        seen[u] = true;
                    }
                }
                Direct::Steps(deps) => {
                    for &d in deps {
                        if !std::mem::replace(&mut seen[d], true) {
                            pending.push(d);
                        }
                    }
                }
            }
        }
        (0..seen.len()).filter(|&u| seen[u] && u != i).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> std::result::Result<Definition, Vec<Problem>> {
        parse_checked(text, Format::Toml)
    }

    #[test]
    fn order_is_topological_with_file_order_ties() {
        let d = check(
            "name = \"x\"\n[[steps]]\nid = \"c\"\ndepends_on = [\"b\"]\n[[steps]]\nid = \"a\"\ndepends_on = []\n[[steps]]\nid = \"b\"\ndepends_on = [\"a\"]\n[[steps]]\nid = \"d\"\ndepends_on = []\n",
        )
        .unwrap();
        let ids: Vec<&str> = d.order.iter().map(|&i| d.steps[i].id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c", "d"]);
    }

    #[test]
    fn every_problem_is_listed_with_its_step() {
        let problems = check(
            "name = \"x\"\n[[steps]]\nid = \"a\"\nwhen = \"sometimes\"\nretry = -1\ntimeout = \"soon\"\n[[steps]]\nid = \"a\"\n[[steps]]\nid = \"b\"\ndepends_on = [\"zzz\"]\n",
        )
        .unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|p| p.contains("step a: bad `when`")), "{text:?}");
        assert!(text.iter().any(|p| p.contains("step a: `retry` is -1")), "{text:?}");
        assert!(
            text.iter().any(|p| p.contains("step a: bad duration in `timeout`")),
            "{text:?}"
        );
        assert!(text.iter().any(|p| p.contains("step a: duplicate step id")), "{text:?}");
        assert!(
            text.iter().any(|p| p.contains("step b: depends on unknown step zzz")),
            "{text:?}"
        );
    }

    #[test]
    fn durations_have_bounds_per_field() {
        let problems = check(
            "name = \"x\"\n[[steps]]\nid = \"a\"\ntimeout = \"0s\"\nretry_backoff = \"11y\"\n[[steps]]\nid = \"b\"\ntimeout = \"500000000000y\"\n",
        )
        .unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        let has = |start: &str, range: &str| text.iter().any(|p| p.starts_with(start) && p.contains(range));
        assert!(has("step a: bad duration in `timeout`", "from 1s to 10y"), "{text:?}");
        assert!(
            has("step a: bad duration in `retry_backoff`", "from 0s to 10y"),
            "{text:?}"
        );
        assert!(has("step b: bad duration in `timeout`", "from 1s to 10y"), "{text:?}");
        let d = check("name = \"x\"\n[[steps]]\nid = \"a\"\ntimeout = \"10y\"\nretry_backoff = \"0s\"\n").unwrap();
        assert_eq!(d.steps[0].timeout.map(|t| t.to_string()).as_deref(), Some("10y"));
    }

    #[test]
    fn cycles_are_named() {
        let problems = check(
            "name = \"x\"\n[[steps]]\nid = \"a\"\ndepends_on = [\"c\"]\n[[steps]]\nid = \"b\"\ndepends_on = [\"a\"]\n[[steps]]\nid = \"c\"\ndepends_on = [\"b\"]\n",
        )
        .unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.contains("a -> c -> b -> a"),
            "{}",
            problems[0].message
        );
        // Listed together with the other problems, not only once they are fixed.
        let problems = check(
            "name = \"x\"\n[[steps]]\nid = \"a\"\ndepends_on = [\"b\"]\nwhen = \"never\"\n[[steps]]\nid = \"b\"\ndepends_on = [\"a\", \"b\"]\n",
        )
        .unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|p| p.contains("step a: bad `when`")), "{text:?}");
        assert!(text.iter().any(|p| p.contains("step b: depends on itself")), "{text:?}");
        assert!(
            text.iter().any(|p| p.contains("dependency cycle: a -> b -> a")),
            "{text:?}"
        );
    }

    #[test]
    fn upstream_is_transitive_or_everything_before() {
        let d = check(
            "name = \"x\"\n[[steps]]\nid = \"a\"\n[[steps]]\nid = \"b\"\ndepends_on = [\"a\"]\n[[steps]]\nid = \"c\"\ndepends_on = [\"b\"]\n[[steps]]\nid = \"d\"\ndepends_on = []\n[[steps]]\nid = \"e\"\n",
        )
        .unwrap();
        let up = d.upstreams();
        assert_eq!(up.of(2), [0, 1]);
        assert!(up.of(3).is_empty());
        assert_eq!(up.of(4), [0, 1, 2, 3]);
        assert_eq!(up.direct(4), &Direct::Before(4));
    }

    #[test]
    fn json_has_the_same_fields() {
        let d = parse_checked(
            r#"{"name": "x", "steps": [{"id": "a", "run": ["true"], "retry": 1, "retry_backoff": "1s"}]}"#,
            Format::Json,
        )
        .unwrap();
        assert_eq!(d.steps[0].retry, 1);
    }
}
