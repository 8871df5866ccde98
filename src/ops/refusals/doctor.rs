//! Doctor's refusal of a subsystem it does not know, as the user's error.

use crate::doctor::{UnknownSubsystem, SUBSYSTEMS};
use crate::error::{code, Error};

impl From<UnknownSubsystem> for Error {
    fn from(unknown: UnknownSubsystem) -> Error {
        Error::invalid(code::UNKNOWN_SUBSYSTEM, unknown.to_string())
            .with_hint(format!("subsystems: {}", SUBSYSTEMS.join(", ")))
            .with_source(unknown)
    }
}
