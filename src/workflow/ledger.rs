//! The run ledger: one JSON record per run under
//! `runs/workflow/<yyyy>/<mm>/<dd>/<run-id>.json`, rewritten (one commit)
//! when the run starts and after each step result. Also the pure decisions
//! over it: whether a step runs or is skipped, and what a resume re-runs.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::def::{Definition, Direct, Upstreams, When};
use crate::clock::Timestamp;
use crate::codec::SCHEMA;
use crate::ids::{RunId, StepId};

pub const DIR: &str = "runs/workflow";

pub fn path(id: &RunId) -> String {
    format!("{DIR}/{}/{id}.json", id.date_path())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    Stopped,
    /// The runner died (found through host + pid by doctor or the daemon).
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Stopped => "stopped",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Succeeded,
    Failed,
    Skipped,
    Stopped,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
            StepStatus::Stopped => "stopped",
        }
    }

    /// Decided: downstream steps may be judged on it.
    pub fn is_final(self) -> bool {
        matches!(self, StepStatus::Succeeded | StepStatus::Failed | StepStatus::Skipped)
    }
}

/// Why a step was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipCause {
    /// `on_success` and an upstream step failed.
    UpstreamFailed,
    /// `on_failure` and no upstream step failed.
    NothingFailed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub number: u32,
    pub started_at: Timestamp,
    pub duration_ms: u64,
    /// `None` when it was killed (timeout, stop) or could not start.
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// The last 4 KiB of its output, secrets redacted.
    pub output: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub id: StepId,
    pub status: StepStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip: Option<SkipCause>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefinitionRef {
    /// Where it was read from, relative to the work tree when inside it.
    pub path: String,
    /// The git blob id of the definition's bytes: exactly what ran.
    pub blob: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub schema: u32,
    pub id: RunId,
    pub workflow: String,
    pub definition: DefinitionRef,
    pub status: RunStatus,
    pub host: String,
    pub pid: u32,
    pub actor: String,
    pub started_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// When it was resumed, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumed_at: Vec<Timestamp>,
    pub steps: Vec<StepRecord>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Run {
    /// About how many bytes the run's ledger file takes (within a factor of
    /// two of its JSON for runs of any size): what a queued ledger change
    /// counts against the state writer's bound before it is encoded.
    pub fn encoded_size_hint(&self) -> usize {
        let steps: usize = self
            .steps
            .iter()
            .map(|s| {
                let attempts: usize = s.attempts.iter().map(|a| 160 + a.output.len()).sum();
                96 + s.id.as_str().len() + s.reason.as_ref().map_or(0, String::len) + attempts
            })
            .sum();
        512 + self.workflow.len() + self.definition.path.len() + steps
    }

    pub fn new(
        id: RunId,
        def: &Definition,
        definition: DefinitionRef,
        host: String,
        pid: u32,
        actor: String,
        now: Timestamp,
    ) -> Run {
        Run {
            schema: SCHEMA,
            id,
            workflow: def.name.clone(),
            definition,
            status: RunStatus::Running,
            host,
            pid,
            actor,
            started_at: now,
            finished_at: None,
            resumed_at: Vec::new(),
            steps: def
                .steps
                .iter()
                .map(|s| StepRecord {
                    id: s.id.clone(),
                    status: StepStatus::Pending,
                    skip: None,
                    reason: None,
                    attempts: Vec::new(),
                })
                .collect(),
            extra: Default::default(),
        }
    }

    /// The run's outcome once no step is left to run.
    pub fn conclude(&mut self, def: &Definition, stopped: bool, now: Timestamp) {
        let failed = def
            .steps
            .iter()
            .zip(&self.steps)
            .any(|(s, r)| r.status == StepStatus::Failed && !s.continue_on_error);
        self.status = if stopped || self.steps.iter().any(|s| s.status == StepStatus::Stopped) {
            RunStatus::Stopped
        } else if failed {
            RunStatus::Failed
        } else {
            RunStatus::Succeeded
        };
        self.finished_at = Some(now);
    }
}

/// Whether a step runs, judged on its upstream steps' (indices) statuses.
pub fn decide(when: When, upstream: &[usize], steps: &[StepRecord]) -> Result<(), (SkipCause, String)> {
    let failed: Vec<&str> = upstream
        .iter()
        .filter(|&&u| steps[u].status == StepStatus::Failed)
        .map(|&u| steps[u].id.as_str())
        .collect();
    match when {
        When::Always => Ok(()),
        When::OnSuccess if failed.is_empty() => Ok(()),
        When::OnSuccess => Err((
            SkipCause::UpstreamFailed,
            format!("upstream step {} failed", failed.join(", ")),
        )),
        When::OnFailure if !failed.is_empty() => Ok(()),
        When::OnFailure => Err((
            SkipCause::NothingFailed,
            "no upstream step failed (when = on_failure)".to_owned(),
        )),
    }
}

/// Which steps have every upstream step decided (final), as a run goes.
///
/// A step is settled when each direct upstream step is final and settled
/// itself; during one run a status only ever becomes final, so a settled
/// step stays settled and is remembered. Asking costs the step's direct
/// upstream, or nothing for a step without `depends_on` (the settled
/// prefix of the order is kept), whatever the definition's size.
pub struct Readiness {
    settled: Vec<bool>,
    /// The first position in execution order whose step is not final and settled.
    prefix: usize,
}

impl Readiness {
    /// The steps settled on `steps` as they are before the run goes on.
    pub fn new(up: &Upstreams<'_>, steps: &[StepRecord]) -> Readiness {
        let mut readiness = Readiness {
            settled: vec![false; steps.len()],
            prefix: 0,
        };
        for &i in up.order() {
            readiness.is_settled(up, i, steps);
        }
        readiness
    }

    /// Whether every upstream step of `i` is final.
    pub fn is_settled(&mut self, up: &Upstreams<'_>, i: usize, steps: &[StepRecord]) -> bool {
        if self.settled[i] {
            return true;
        }
        let settled = match up.direct(i) {
            Direct::Before(p) => {
                let order = up.order();
                while self.prefix < *p
                    && steps[order[self.prefix]].status.is_final()
                    && self.settled[order[self.prefix]]
                {
                    self.prefix += 1;
                }
                self.prefix >= *p
            }
            Direct::Steps(deps) => deps.iter().all(|&d| steps[d].status.is_final() && self.settled[d]),
        };
        self.settled[i] = settled;
        settled
    }
}

/// The steps a resume re-runs: failed, stopped, interrupted (left pending) or
/// failure-skipped ones and everything downstream of them, but never a
/// step that succeeded.
pub fn resume_set(def: &Definition, run: &Run) -> BTreeSet<usize> {
    let up = def.upstreams();
    let records: std::collections::HashMap<&StepId, &StepRecord> = run.steps.iter().map(|r| (&r.id, r)).collect();
    let status_of = |i: usize| records.get(&def.steps[i].id).copied();
    let seed = |i: usize| match status_of(i) {
        None => true,
        Some(r) => match r.status {
            StepStatus::Failed | StepStatus::Stopped | StepStatus::Pending => true,
            StepStatus::Skipped => r.skip == Some(SkipCause::UpstreamFailed),
            StepStatus::Succeeded => false,
        },
    };
    // Downstream of a seed: a seed or a step downstream of one among the
    // direct upstream, in execution order so upstream steps come first.
    let mut hit = vec![false; def.steps.len()];
    let mut first_hit = usize::MAX;
    for (pos, &i) in up.order().iter().enumerate() {
        let downstream = match up.direct(i) {
            Direct::Before(p) => first_hit < *p,
            Direct::Steps(deps) => deps.iter().any(|&d| hit[d]),
        };
        hit[i] = seed(i) || downstream;
        if hit[i] {
            first_hit = first_hit.min(pos);
        }
    }
    (0..def.steps.len())
        .filter(|&i| hit[i])
        .filter(|&i| status_of(i).is_none_or(|r| r.status != StepStatus::Succeeded))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::def::{parse_checked, Format};

    fn def(text: &str) -> Definition {
        parse_checked(text, Format::Toml).unwrap()
    }

    fn record(id: &str, status: StepStatus, skip: Option<SkipCause>) -> StepRecord {
        StepRecord {
            id: StepId::parse(id).unwrap(),
            status,
            skip,
            reason: None,
            attempts: Vec::new(),
        }
    }

    #[test]
    fn conditions_follow_upstream_failures() {
        let steps = vec![
            record("a", StepStatus::Failed, None),
            record("b", StepStatus::Succeeded, None),
        ];
        let up = [0, 1];
        assert_eq!(
            decide(When::OnSuccess, &up, &steps).unwrap_err().0,
            SkipCause::UpstreamFailed
        );
        assert!(decide(When::OnFailure, &up, &steps).is_ok());
        assert!(decide(When::Always, &up, &steps).is_ok());
        let only_b = [1];
        assert!(decide(When::OnSuccess, &only_b, &steps).is_ok());
        assert_eq!(
            decide(When::OnFailure, &only_b, &steps).unwrap_err().0,
            SkipCause::NothingFailed
        );
    }

    #[test]
    fn resume_reruns_failures_and_downstream_but_keeps_successes() {
        let d = def("name = \"x\"\n[[steps]]\nid = \"a\"\n[[steps]]\nid = \"b\"\n[[steps]]\nid = \"c\"\n[[steps]]\nid = \"notify\"\nwhen = \"on_failure\"\n[[steps]]\nid = \"side\"\ndepends_on = []\n");
        let run = Run {
            steps: vec![
                record("a", StepStatus::Succeeded, None),
                record("b", StepStatus::Failed, None),
                record("c", StepStatus::Skipped, Some(SkipCause::UpstreamFailed)),
                record("notify", StepStatus::Succeeded, None),
                record("side", StepStatus::Succeeded, None),
            ],
            ..Run::new(
                RunId::parse("wf-20260101T000000Z-000000").unwrap(),
                &d,
                DefinitionRef {
                    path: "x".into(),
                    blob: "0".into(),
                },
                "h".into(),
                1,
                "human:x".into(),
                crate::clock::parse_timestamp("2026-01-01T00:00:00Z").unwrap(),
            )
        };
        assert_eq!(resume_set(&d, &run), BTreeSet::from([1, 2]));
    }

    #[test]
    fn the_size_hint_is_within_a_factor_of_two_of_the_ledgers_json() {
        for (steps, attempts, output) in [(1, 0, 0), (20, 1, 0), (20, 3, 100), (300, 1, 0), (50, 2, 4096)] {
            let mut text = String::from("name = \"x\"\n");
            for i in 0..steps {
                text.push_str(&format!("[[steps]]\nid = \"step-{i}\"\nrun = [\"true\"]\n"));
            }
            let d = def(&text);
            let mut run = Run::new(
                RunId::parse("wf-20260101T000000Z-000000").unwrap(),
                &d,
                DefinitionRef {
                    path: ".baton/workflows/x.toml".into(),
                    blob: "055d1c7a5d2127604e18b25963a0c7b54ea3eddd".into(),
                },
                "host".into(),
                1,
                "agent:x".into(),
                crate::clock::parse_timestamp("2026-01-01T00:00:00Z").unwrap(),
            );
            for step in &mut run.steps {
                step.status = StepStatus::Succeeded;
                step.attempts = (1..=attempts)
                    .map(|number| Attempt {
                        number,
                        started_at: run.started_at,
                        duration_ms: 12,
                        exit_code: Some(0),
                        timed_out: false,
                        output: "o".repeat(output),
                    })
                    .collect();
            }
            let json = crate::codec::encode_json("x", &run).unwrap().len();
            let hint = run.encoded_size_hint();
            assert!(
                json / 2 <= hint && hint <= json * 2,
                "{steps} steps, {attempts} attempts of {output} bytes: hint {hint}, JSON {json}"
            );
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// A definition of up to 12 steps; each without `depends_on` or
        /// depending on some steps before it in the file (so no cycles).
        fn definition() -> impl Strategy<Value = Definition> {
            proptest::collection::vec(
                proptest::option::of(proptest::collection::vec(any::<usize>(), 0..4)),
                1..12,
            )
            .prop_map(|steps| {
                let mut text = String::from("name = \"p\"\n");
                for (i, deps) in steps.iter().enumerate() {
                    text.push_str(&format!("[[steps]]\nid = \"s{i}\"\n"));
                    if let Some(deps) = deps {
                        let mut names: Vec<String> = if i == 0 {
                            Vec::new()
                        } else {
                            deps.iter().map(|d| format!("\"s{}\"", d % i)).collect()
                        };
                        names.dedup();
                        text.push_str(&format!("depends_on = [{}]\n", names.join(", ")));
                    }
                }
                parse_checked(&text, crate::workflow::def::Format::Toml).expect("a valid definition")
            })
        }

        /// Each step's upstream as docs/workflows.md says, computed the plain way.
        fn naive_upstreams(d: &Definition) -> Vec<BTreeSet<usize>> {
            let mut up = vec![BTreeSet::new(); d.steps.len()];
            for (pos, &i) in d.order.iter().enumerate() {
                up[i] = match &d.steps[i].depends_on {
                    None => d.order[..pos].iter().copied().collect(),
                    Some(deps) => {
                        let mut all = BTreeSet::new();
                        for dep in deps {
                            let dep = d.index_of(dep).unwrap();
                            all.insert(dep);
                            all.extend(up[dep].iter().copied());
                        }
                        all
                    }
                };
            }
            up
        }

        fn status(n: u8) -> StepStatus {
            [
                StepStatus::Pending,
                StepStatus::Succeeded,
                StepStatus::Failed,
                StepStatus::Skipped,
                StepStatus::Stopped,
            ][usize::from(n) % 5]
        }

        fn records(d: &Definition, statuses: &[u8]) -> Vec<StepRecord> {
            d.steps
                .iter()
                .enumerate()
                .map(|(i, s)| StepRecord {
                    id: s.id.clone(),
                    status: status(statuses.get(i).copied().unwrap_or(0)),
                    skip: None,
                    reason: None,
                    attempts: Vec::new(),
                })
                .collect()
        }

        proptest! {
            #[test]
            fn upstream_sets_are_the_transitive_ones(d in definition()) {
                let naive = naive_upstreams(&d);
                let up = d.upstreams();
                for (i, expected) in naive.iter().enumerate() {
                    prop_assert_eq!(up.of(i), expected.iter().copied().collect::<Vec<_>>());
                }
            }

            /// As a run goes (a pending step turns final only once settled),
            /// a step is settled exactly when all its upstream is final.
            #[test]
            fn readiness_follows_the_upstream_as_a_run_goes(
                d in definition(),
                start in proptest::collection::vec(any::<u8>(), 12),
                picks in proptest::collection::vec((any::<usize>(), 1u8..4), 0..30),
            ) {
                let naive = naive_upstreams(&d);
                let up = d.upstreams();
                let mut steps = records(&d, &start);
                let mut readiness = Readiness::new(&up, &steps);
                for (pick, outcome) in picks {
                    let k = pick % steps.len();
                    if steps[k].status == StepStatus::Pending && readiness.is_settled(&up, k, &steps) {
                        steps[k].status = status(outcome);
                    }
                    for (i, upstream) in naive.iter().enumerate() {
                        let expected = upstream.iter().all(|&u| steps[u].status.is_final());
                        prop_assert_eq!(readiness.is_settled(&up, i, &steps), expected, "step {}", i);
                    }
                }
            }

            #[test]
            fn resume_reruns_seeds_and_what_is_downstream_of_them(
                d in definition(),
                statuses in proptest::collection::vec(any::<u8>(), 12),
            ) {
                let naive = naive_upstreams(&d);
                let run = Run {
                    steps: records(&d, &statuses),
                    ..Run::new(
                        RunId::parse("wf-20260101T000000Z-000000").unwrap(),
                        &d,
                        DefinitionRef { path: "p".into(), blob: "0".into() },
                        "h".into(),
                        1,
                        "human:x".into(),
                        crate::clock::parse_timestamp("2026-01-01T00:00:00Z").unwrap(),
                    )
                };
                let seed = |i: usize| !matches!(run.steps[i].status, StepStatus::Succeeded | StepStatus::Skipped);
                let expected: BTreeSet<usize> = (0..d.steps.len())
                    .filter(|&i| seed(i) || naive[i].iter().any(|&u| seed(u)))
                    .filter(|&i| run.steps[i].status != StepStatus::Succeeded)
                    .collect();
                prop_assert_eq!(resume_set(&d, &run), expected);
            }
        }
    }
}
