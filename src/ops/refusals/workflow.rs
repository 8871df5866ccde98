//! The refusals of operations on workflow runs, as the user's error.

use crate::error::{code, Error};
use crate::glob::example;
use crate::workflow::{self, def, policy, Unreadable, DEFINITIONS_DIR, TEMPLATES};

impl From<workflow::Refusal> for Error {
    fn from(refusal: workflow::Refusal) -> Error {
        use workflow::Refusal::*;
        let message = refusal.to_string();
        let new_run = "start a new run with `baton workflow run`";
        let error = match &refusal {
            NoRun(_) => Error::refused(code::NO_RUN, message).with_hint("`baton workflow list` shows recent runs"),
            NoRunYet => Error::refused(code::NO_RUN, message).with_hint("start one: baton workflow run <name> --execute"),
            NothingToResume(_) => Error::refused(code::NOTHING_TO_RESUME, message)
                .with_hint("`baton workflow list` lists recent runs; pass the one to resume with --run-id"),
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
            NotANameOrFile(_) => Error::invalid(code::NO_WORKFLOW, message).with_hint(format!(
                "pass a definition file, or a name of {DEFINITIONS_DIR}/<name>.toml"
            )),
            NoWorkflow(_) => Error::invalid(code::NO_WORKFLOW, message).with_hint(
                "`baton workflow template init <template>` creates one; `baton workflow template list` shows templates",
            ),
            NoTemplate(_) => {
                let names: Vec<&str> = TEMPLATES.iter().map(|(n, _)| *n).collect();
                Error::invalid(code::NO_TEMPLATE, message).with_hint(format!("templates: {}", names.join(", ")))
            }
            TemplateExists(_) => Error::refused(code::EXISTS, message).with_hint("pass --force to overwrite it"),
            StopTimeout { pid, .. } => Error::failed(code::STOP_TIMEOUT, message).with_hint(format!(
                "kill it (`kill -9 {pid}`), then `baton workflow doctor --fix`"
            )),
        };
        error.with_source(refusal)
    }
}

impl From<def::Invalid> for Error {
    fn from(invalid: def::Invalid) -> Error {
        Error::invalid(code::INVALID_WORKFLOW, invalid.to_string())
            .with_hint("fix the listed problems; `baton workflow validate <file>` checks again")
            .with_source(invalid)
    }
}

impl From<Unreadable> for Error {
    fn from(unreadable: Unreadable) -> Error {
        let (message, hint) = match &unreadable {
            Unreadable::Io { source, .. } => (format!("{unreadable}: {source}"), "check the path"),
            Unreadable::NotUtf8 { source, .. } => {
                (format!("{unreadable}: {source}"), "definitions are TOML or JSON text")
            }
        };
        Error::invalid(code::UNREADABLE_WORKFLOW, message)
            .with_hint(hint)
            .with_source(unreadable)
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

    #[test]
    fn a_definition_that_cannot_be_found_read_or_used_keeps_its_code_and_words() {
        let said = |e: Error| (e.code, e.kind, e.message().into_owned(), e.hint);
        assert_eq!(
            said(workflow::Refusal::NotANameOrFile("a/../b".into()).into()),
            (
                code::NO_WORKFLOW,
                Kind::Invalid,
                "\"a/../b\" is neither a file nor a workflow name".into(),
                "pass a definition file, or a name of .baton/workflows/<name>.toml".into()
            )
        );
        let name = crate::ids::WorkflowName::parse("ship").unwrap();
        assert_eq!(
            said(workflow::Refusal::NoWorkflow(name).into()).2,
            "no workflow named ship in .baton/workflows/"
        );
        let (code, kind, message, hint) = said(workflow::Refusal::NoTemplate("x".into()).into());
        assert_eq!(
            (code, kind, message.as_str()),
            (code::NO_TEMPLATE, Kind::Invalid, "there is no template \"x\"")
        );
        assert!(hint.starts_with("templates: "), "{hint}");
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = Error::from(workflow::Unreadable::Io {
            path: "w.toml".into(),
            source: io,
        });
        assert!(e.is::<std::io::Error>());
        assert_eq!(
            said(e),
            (
                code::UNREADABLE_WORKFLOW,
                Kind::Invalid,
                "cannot read w.toml: denied".into(),
                "check the path".into()
            )
        );
        let utf8 = String::from_utf8(vec![0xff]).unwrap_err();
        let text = utf8.to_string();
        let e = Error::from(workflow::Unreadable::NotUtf8 {
            path: "w.toml".into(),
            source: utf8,
        });
        assert_eq!(e.message(), format!("w.toml is not UTF-8: {text}"));
        let e = Error::from(
            def::parse("w.toml", "name = \"w\"\n[[steps]]\nrun = [\"x\"]\n", def::Format::Toml).unwrap_err(),
        );
        assert_eq!((e.code, e.kind), (code::INVALID_WORKFLOW, Kind::Invalid));
        assert!(
            e.message().starts_with("w.toml is not a valid workflow:\n  "),
            "{}",
            e.message()
        );
        assert_eq!(
            e.hint,
            "fix the listed problems; `baton workflow validate <file>` checks again"
        );
    }
}
