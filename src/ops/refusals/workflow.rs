//! The refusals of operations on workflow runs, as the user's error.

use crate::error::{code, Error};
use crate::glob::example;
use crate::workflow::{self, policy};

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

impl From<policy::Invalid> for Error {
    fn from(invalid: policy::Invalid) -> Error {
        match &invalid {
            // The pattern's own refusal, as the config's glob lists say it.
            policy::Invalid::Pattern(bad) => Error::from(bad.clone()),
            policy::Invalid::Set { key, source } => {
                Error::invalid(code::INVALID_CONFIG, format!("{invalid}: {source}"))
                    .with_hint(format!("fix the list: baton config set {key} \"{}\"", example(key)))
                    .with_source(invalid)
            }
        }
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
