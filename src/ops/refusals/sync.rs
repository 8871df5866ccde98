//! A change another machine published first, refused after the publish,
//! as the user's error: what to look at or do again.

use crate::error::{code, Error};
use crate::sync::Lost;

impl From<Lost> for Error {
    fn from(lost: Lost) -> Error {
        let message = lost.to_string();
        let error = match &lost {
            Lost::Claim(l) => Error::refused(code::CLAIM_LOST, message).with_hint(format!(
                "another machine published a claim on {0} first; see `baton claims status {0}`",
                l.id
            )),
            Lost::Reservation(l) => Error::refused(code::PATHS_LOST, message).with_hint(format!(
                "{} is yours, but another machine published an overlapping reservation first; \
                 ask {} for a handoff, or see `baton claims who <path>`",
                l.claim, l.holder
            )),
            Lost::Agent { lost: l, role } => Error::refused(code::AGENT_LOST, message).with_hint(format!(
                "another machine published {} first; spawn again with `baton pool spawn --role {role} --sync`, \
                 which numbers after the remote's agents",
                l.id
            )),
        };
        error.with_source(lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;
    use crate::sync::{reservations::LostReservation, LostClaim};

    #[test]
    fn a_lost_change_keeps_its_code_and_words() {
        let claim = LostClaim {
            id: "T-1".into(),
            yours: "active by agent:a".into(),
            holder: Some("agent:b".into()),
            now: "active".into(),
        };
        let e = Error::from(Lost::Claim(claim.clone()));
        assert_eq!((e.code, e.kind), (code::CLAIM_LOST, Kind::Refused));
        assert_eq!(e.message(), claim.message());
        assert_eq!(
            e.hint,
            "another machine published a claim on T-1 first; see `baton claims status T-1`"
        );
        let paths = LostReservation {
            claim: "T-1".into(),
            pattern: "src/".into(),
            theirs: "T-2".into(),
            holder: "agent:b".into(),
            their_pattern: "src/**".into(),
        };
        let e = Error::from(Lost::Reservation(paths.clone()));
        assert_eq!((e.code, e.message()), (code::PATHS_LOST, paths.message().into()));
        assert_eq!(
            e.hint,
            "T-1 is yours, but another machine published an overlapping reservation first; \
             ask agent:b for a handoff, or see `baton claims who <path>`"
        );
    }
}
