//! A delivery's refusals, as the user's error (a claim's own stay the claims subsystem's).

use crate::delivery;
use crate::error::{code, Error};

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
