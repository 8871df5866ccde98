//! A state file this baton cannot use or write, as the user's error: the
//! environment is not as needed (exit 3), and the hint says what fixes it.

use crate::codec::{Corrupt, Encode, NewerSchema, Unusable};
use crate::error::{code, Error};

impl From<Corrupt> for Error {
    fn from(corrupt: Corrupt) -> Error {
        Error::environment(code::CORRUPT, corrupt.to_string())
            .with_hint(
                "run `baton doctor` to list broken files; `baton doctor --fix` moves them to quarantine/ in the state",
            )
            .with_source(corrupt)
    }
}

impl From<NewerSchema> for Error {
    fn from(newer: NewerSchema) -> Error {
        Error::environment(code::NEWER_SCHEMA, newer.to_string())
            .with_hint("upgrade baton to read it; it is left as it is")
            .with_source(newer)
    }
}

impl From<Unusable> for Error {
    fn from(unusable: Unusable) -> Error {
        match unusable {
            Unusable::Corrupt(corrupt) => corrupt.into(),
            Unusable::Newer(newer) => newer.into(),
        }
    }
}

impl From<Encode> for Error {
    fn from(encode: Encode) -> Error {
        let message = format!("{encode}: {}", encode.source);
        Error::environment(code::ENCODE, message).with_source(encode)
    }
}
