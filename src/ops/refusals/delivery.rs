//! A delivery's refusals, as the user's error (a claim's own stay the claims subsystem's).

use crate::delivery;
use crate::error::{code, Error};
use crate::workflow::DEFINITIONS_DIR;

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
            NoDelivery(_) => Error::refused(code::NO_DELIVERY, message)
                .with_hint("`baton delivery status` lists recent deliveries"),
            NothingToResume(_) => Error::refused(code::NOTHING_TO_RESUME, message)
                .with_hint("`baton delivery status` lists recent deliveries; pass the one to resume with --run-id"),
            NotNamed(_) => Error::invalid(code::WORKFLOW_NOT_NAMED, message).with_hint(format!(
                "a delivery runs (and resumes) only a named workflow: put it at {DEFINITIONS_DIR}/<name>.toml and pass --workflow <name>"
            )),
            HandoffToSelf => Error::invalid(code::HANDOFF_TO_SELF, message)
                .with_hint("hand it to someone else, or leave --handoff-to out to release on success"),
            NotClaimsDelivery { .. } => Error::refused(code::NOT_CLAIMS_DELIVERY, message)
                .with_hint("`baton delivery doctor` reports it; `baton delivery doctor --fix` records it stopped"),
            WorkflowOutside { id, .. } => Error::refused(code::DEFINITION_PATH, message).with_hint(format!(
                "a resume runs only a named workflow of this work tree; give it up with \
                 `baton delivery close --run-id {id} --abandon` and start a new delivery"
            )),
            EndedWhileRunning { id, .. } => Error::refused(code::DELIVERY_FINISHED, message)
                .with_hint(format!("see it with: baton delivery status --run-id {id}")),
            NotOwner { owner, issue, .. } => Error::refused(code::NOT_OWNER, message).with_hint(format!(
                "only {owner} can resume, close or hand it off; ask them to, or take the claim on {issue} over with \
                 `baton claims claim {issue} --force --reason <why>` (the delivery then stops)"
            )),
        };
        error.with_source(refusal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;
    use crate::ids::{Actor, ClaimId, RunId};

    #[test]
    fn the_refusals_ops_once_built_keep_their_codes_and_words() {
        let id = RunId::generate("dl", &crate::testing::t0());
        let said = |r: delivery::Refusal| {
            let e = Error::from(r);
            (e.code, e.kind, e.message().into_owned(), e.hint)
        };
        assert_eq!(
            said(delivery::Refusal::NoDelivery(id.clone())),
            (
                code::NO_DELIVERY,
                Kind::Refused,
                format!("there is no delivery {id}"),
                "`baton delivery status` lists recent deliveries".into()
            )
        );
        let actor = Actor::parse("agent:a").unwrap();
        assert_eq!(
            said(delivery::Refusal::NothingToResume(actor)).2,
            "agent:a has no unfinished delivery"
        );
        assert_eq!(
            said(delivery::Refusal::NotNamed("w.toml".into())).0,
            code::WORKFLOW_NOT_NAMED
        );
        assert_eq!(said(delivery::Refusal::HandoffToSelf).1, Kind::Invalid);
        let issue = ClaimId::parse("T-1").unwrap();
        assert_eq!(
            said(delivery::Refusal::NotClaimsDelivery { id: id.clone(), issue }).2,
            format!("the claim T-1 does not name delivery {id} as its delivery")
        );
        let (code, _, message, hint) = said(delivery::Refusal::WorkflowOutside {
            id: id.clone(),
            workflow: "/tmp/w.toml".into(),
        });
        assert_eq!(code, code::DEFINITION_PATH);
        assert_eq!(
            message,
            format!("delivery {id} names its workflow as \"/tmp/w.toml\", which is not a workflow of this repository's .baton/workflows/")
        );
        assert_eq!(hint, format!("a resume runs only a named workflow of this work tree; give it up with `baton delivery close --run-id {id} --abandon` and start a new delivery"));
        assert_eq!(
            said(delivery::Refusal::EndedWhileRunning {
                id: id.clone(),
                phase: delivery::Phase::Stopped,
                reason: Some("x".into()),
            })
            .2,
            format!("delivery {id} was stopped while its workflow ran (x); its ledger is left as it is")
        );
    }
}
