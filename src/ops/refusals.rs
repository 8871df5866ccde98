//! Where each subsystem's typed refusal becomes the user's error: its
//! code (from `error::code`), its kind (so its exit code) and its hint,
//! with the refusal kept as the source. One `From` per refusal type, so a
//! subsystem's pure code says only what was refused, and the words a user
//! acts on (which command to run next) are written once, here.

use crate::claims::{self, reservations::Conflict};
use crate::clock::format_timestamp;
use crate::delivery;
use crate::error::{code, Error};
use crate::learn::route;
use crate::pool;
use crate::workflow;

impl From<claims::Refusal> for Error {
    fn from(refusal: claims::Refusal) -> Error {
        use claims::Refusal::*;
        let message = refusal.to_string();
        let error = match &refusal {
            NoClaim(id) => Error::refused(code::NO_CLAIM, message)
                .with_hint(format!("claim it first: baton claims claim {id}")),
            Held(claim) => Error::refused(code::CLAIM_HELD, message).with_hint(format!(
                "ask {} to hand it off or release it, wait for it to expire, or take it over with --force --reason <why>",
                claim.owner
            )),
            NotOwner { claim, actor, what } => {
                let lease = match &claim.lease_until {
                    Some(t) => format!("wait for its lease to run out ({})", format_timestamp(t)),
                    None => "wait for it to go stale and expire".to_owned(),
                };
                // Only a release (and a claim, see `Held`) may be forced.
                let force = if *what == "release" {
                    format!(
                        ", or release it anyway with `baton claims release {} --force --reason <why>`",
                        claim.id
                    )
                } else {
                    String::new()
                };
                Error::refused(code::NOT_OWNER, message).with_hint(format!(
                    "ask {} to hand it off to you (`baton claims handoff {} --to {actor}`, run by them) or to release it; {lease}{force}",
                    claim.owner, claim.id
                ))
            }
            WrongState { claim, .. } => Error::refused(code::WRONG_STATE, message)
                .with_hint(format!("see its state with: baton claims status {}", claim.id)),
            HandoffToSelf { .. } => Error::invalid(code::HANDOFF_TO_SELF, message)
                .with_hint("hand it to someone else: --to human:<name> or --to agent:<name>"),
            NotHandoffTarget { to, .. } => Error::refused(code::NOT_HANDOFF_TARGET, message).with_hint(format!(
                "only {} can accept or reject this handoff",
                claims::handoff_target(to)
            )),
            TooManyPatterns { .. } => Error::invalid(code::TOO_MANY_PATTERNS, message)
                .with_hint("reserve a directory (src/store/) or a glob (src/**/*.rs) instead of many files"),
            PathsReserved { conflicts, .. } => Error::refused(code::PATHS_RESERVED, message).with_hint(paths_hint(conflicts)),
        };
        error.with_source(refusal)
    }
}

fn paths_hint(conflicts: &[Conflict]) -> String {
    let Some(first) = conflicts.first() else {
        return String::new();
    };
    format!(
        "ask {} to hand off or release {} (or reserve disjoint paths, or --shared where both are shared); \
         take the paths over with --force --reason <why>",
        first.holder, first.claim
    )
}

impl From<claims::Moved> for Error {
    fn from(moved: claims::Moved) -> Error {
        let id = &moved.id;
        let hint = match moved.now {
            None => format!("claim it first: baton claims claim {id}"),
            Some(_) => format!("stop acting on {id}; `baton claims log {id}` shows what happened"),
        };
        Error::refused(code::CLAIM_MOVED, moved.to_string())
            .with_hint(hint)
            .with_source(moved)
    }
}

impl From<pool::Refusal> for Error {
    fn from(refusal: pool::Refusal) -> Error {
        use pool::Refusal::*;
        let message = refusal.to_string();
        let error = match &refusal {
            NoCapacity { role, .. } => Error::refused(code::NO_CAPACITY, message).with_hint(format!(
                "add capacity with `baton pool spawn --role {role}`, or release claims; `baton pool health` shows load"
            )),
            NoAgent { to_assign: true, .. } => Error::refused(code::NO_AGENT, message)
                .with_hint("see the pool with `baton pool list`, or add one with `baton pool spawn --role <role>`"),
            NoAgent { to_assign: false, .. } => {
                Error::refused(code::NO_AGENT, message).with_hint("see the pool with `baton pool list`")
            }
            Unavailable { .. } => Error::refused(code::AGENT_UNAVAILABLE, message)
                .with_hint("pick another agent, or let baton pick one: --role <role>"),
            AtCapacity { .. } => Error::refused(code::NO_CAPACITY, message)
                .with_hint("release one of its claims, or pick another agent with --role <role>"),
            Retired(_) => Error::refused(code::AGENT_RETIRED, message)
                .with_hint("spawn a new agent: baton pool spawn --role <role>"),
            Busy { id, .. } => Error::refused(code::AGENT_BUSY, message).with_hint(format!(
                "drain it and wait (`baton pool drain {id}`), release its claims, or retire it anyway with --force"
            )),
            Count(_) => Error::invalid(code::INVALID_COUNT, message).with_hint("baton pool spawn --role R --count 3"),
            ZeroCapacity => {
                Error::invalid(code::INVALID_CAPACITY, message).with_hint("baton pool spawn --role R --capacity 2")
            }
        };
        error.with_source(refusal)
    }
}

impl From<delivery::Refusal> for Error {
    fn from(refusal: delivery::Refusal) -> Error {
        use delivery::Refusal::*;
        let message = refusal.to_string();
        let error = match &refusal {
            // The claims subsystem's own failures stay theirs (callers
            // tell a moved claim apart by its type).
            Moved(moved) => return Error::from(moved.clone()),
            Claim(claim) => return Error::from(claim.clone()),
            Finished { id, .. } => Error::refused(code::DELIVERY_FINISHED, message)
                .with_hint(format!("see it with: baton delivery status --run-id {id}")),
            Active { delivery, .. } => Error::refused(code::DELIVERY_ACTIVE, message).with_hint(format!(
                "one delivery per claim: see it with `baton delivery status --run-id {0}`; its owner resumes it \
                 (`baton delivery resume --run-id {0} --execute`) or gives it up (`baton delivery close --run-id {0} --abandon`)",
                delivery
            )),
            AlreadyRunning { id, .. } => Error::refused(code::DELIVERY_RUNNING, message)
                .with_hint(format!("see it with: baton delivery status --run-id {id}")),
            Running(_) => Error::refused(code::DELIVERY_RUNNING, message)
                .with_hint("wait for it to end, or stop it: baton workflow stop --run-id <its run>"),
            NotFailed { id, .. } => Error::refused(code::WRONG_PHASE, message).with_hint(format!(
                "resume it (`baton delivery resume --run-id {0}`) or give it up (`baton delivery close --run-id {0} --abandon`)",
                id
            )),
            NotOwner { owner, issue, .. } => Error::refused(code::NOT_OWNER, message).with_hint(format!(
                "only {owner} can resume, close or hand it off; ask them to, or take the claim on {issue} over with \
                 `baton claims claim {issue} --force --reason <why>` (the delivery then stops)"
            )),
        };
        error.with_source(refusal)
    }
}

impl From<route::Refusal> for Error {
    fn from(refusal: route::Refusal) -> Error {
        let message = refusal.to_string();
        let error = match refusal {
            route::Refusal::EmptyTask => Error::invalid(code::EMPTY_TASK, message)
                .with_hint("describe the task, e.g. baton learn route \"fix the flaky login test\""),
            route::Refusal::NoRoles => Error::refused(code::NO_ROLES, message)
                .with_hint("add agents first: baton pool spawn --role <role>; or set learn.keywords (docs/learn.md)"),
        };
        error.with_source(refusal)
    }
}

impl From<workflow::Refusal> for Error {
    fn from(refusal: workflow::Refusal) -> Error {
        use workflow::Refusal::*;
        let message = refusal.to_string();
        let new_run = "start a new run with `baton workflow run`";
        let error = match &refusal {
            NoRun(_) => Error::refused(code::NO_RUN, message).with_hint("`baton workflow list` shows recent runs"),
            NoRunYet => Error::refused(code::NO_RUN, message).with_hint("start one: baton workflow run <name> --execute"),
            NotRunning { id, .. } => Error::refused(code::RUN_NOT_RUNNING, message)
                .with_hint(format!("see it with: baton workflow status --run-id {id}")),
            StopElsewhere { id, host } => Error::refused(code::RUN_ELSEWHERE, message)
                .with_hint(format!("run `baton workflow stop --run-id {id}` on {host}")),
            RunningElsewhere { host, .. } => Error::refused(code::RUN_ELSEWHERE, message).with_hint(format!(
                "resume it once it ended; if its runner died, `baton workflow doctor --fix` on {host} marks it interrupted"
            )),
            Active { id, .. } => Error::refused(code::RUN_ACTIVE, message)
                .with_hint(format!("wait for it, or stop it: baton workflow stop --run-id {id}")),
            Changed(id) => Error::refused(code::RUN_CHANGED, message).with_hint(format!(
                "see it with `baton workflow status --run-id {id}`, then resume again"
            )),
            Policy(_) => Error::refused(code::POLICY, message)
                .with_hint("change the command or workflow.allow, or run anyway with --allow-risk"),
            DefinitionMissing { .. } => Error::refused(code::DEFINITION_MISSING, message).with_hint(format!(
                "check out the revision that has it, or {new_run}"
            )),
            DefinitionChanged { .. } => Error::refused(code::DEFINITION_CHANGED, message).with_hint(format!(
                "restore that version of the file to resume, or {new_run}"
            )),
            LedgerMismatch(_) => Error::refused(code::DEFINITION_CHANGED, message).with_hint(new_run),
            DefinitionPath { .. } => Error::refused(code::DEFINITION_PATH, message).with_hint(format!(
                "resume runs only a definition in this work tree; {new_run}"
            )),
            TemplateExists(_) => Error::refused(code::EXISTS, message).with_hint("pass --force to overwrite it"),
            StopTimeout { pid, .. } => Error::failed(code::STOP_TIMEOUT, message).with_hint(format!(
                "kill it (`kill -9 {pid}`), then `baton workflow doctor --fix`"
            )),
        };
        error.with_source(refusal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;
    use crate::ids::RunId;
    use crate::workflow::ledger::RunStatus;

    #[test]
    fn a_workflow_refusal_keeps_its_code_kind_and_words() {
        let id = RunId::generate("wf", &crate::testing::t0());
        let cases = [
            (
                workflow::Refusal::NoRunYet,
                code::NO_RUN,
                Kind::Refused,
                "start one: baton workflow run <name> --execute",
            ),
            (
                workflow::Refusal::NotRunning {
                    id: id.clone(),
                    status: RunStatus::Succeeded,
                },
                code::RUN_NOT_RUNNING,
                Kind::Refused,
                "see it with: baton workflow status --run-id",
            ),
            (
                workflow::Refusal::StopTimeout {
                    id: id.clone(),
                    pid: 42,
                    secs: 10,
                },
                code::STOP_TIMEOUT,
                Kind::Failed,
                "kill it (`kill -9 42`)",
            ),
            (
                workflow::Refusal::Policy(vec![workflow::policy::Refusal {
                    step: "push".into(),
                    command: "git push --force".into(),
                    reason: "force push".into(),
                }]),
                code::POLICY,
                Kind::Refused,
                "--allow-risk",
            ),
        ];
        for (refusal, code, kind, hint) in cases {
            let message = refusal.to_string();
            let error = Error::from(refusal);
            assert_eq!((error.code, error.kind), (code, kind), "{message}");
            assert_eq!(error.message(), message);
            assert!(error.hint.contains(hint), "{}", error.hint);
            assert!(error.is::<workflow::Refusal>());
        }
        assert_eq!(
            workflow::Refusal::Policy(vec![workflow::policy::Refusal {
                step: "push".into(),
                command: "git push --force".into(),
                reason: "force push".into(),
            }])
            .to_string(),
            "refused before anything ran:\n  step push: `git push --force`: force push"
        );
    }
}
