//! Encoding of state files: TOML for human-edited, slowly changing things,
//! JSON for machine-written records (DESIGN §1.1). A file that does not parse
//! is an environment problem (exit 3) that names the file and points at doctor;
//! a file a newer baton wrote is one too, with its own code
//! ([`NEWER_SCHEMA`]): not corruption, and the fix is an upgrade.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

/// The schema version every state file carries.
pub const SCHEMA: u32 = 1;

/// The error code of a file written by a newer baton (a higher `schema`).
pub const NEWER_SCHEMA: &str = "newer_schema";

/// The error code of a file that does not parse.
pub const CORRUPT: &str = "corrupt_state";

pub fn corrupt(path: &str, why: impl std::fmt::Display) -> Error {
    Error::environment(CORRUPT, format!("state file {path} does not parse: {why}")).with_hint(
        "run `baton doctor` to list broken files; `baton doctor --fix` moves them to quarantine/ in the state",
    )
}

pub fn decode_toml<T: DeserializeOwned>(path: &str, bytes: &[u8]) -> Result<T> {
    let text = std::str::from_utf8(bytes).map_err(|e| corrupt(path, e))?;
    toml::from_str(text).map_err(|e| corrupt(path, e.message()))
}

pub fn decode_json<T: DeserializeOwned>(path: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(path, e))
}

pub fn encode_toml<T: Serialize>(path: &str, value: &T) -> Result<Vec<u8>> {
    toml::to_string(value)
        .map(String::into_bytes)
        .map_err(|e| Error::environment("encode", format!("cannot encode {path}: {e}")))
}

pub fn encode_json<T: Serialize>(path: &str, value: &T) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::environment("encode", format!("cannot encode {path}: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Refuse files from a newer baton instead of silently dropping what we do
/// not know; a schema below ours never existed, so that file is corrupt.
pub fn check_schema(path: &str, schema: u32) -> Result<()> {
    match schema {
        SCHEMA => Ok(()),
        newer if newer > SCHEMA => Err(Error::environment(
            NEWER_SCHEMA,
            format!(
                "state file {path} was written by a newer baton (schema = {newer}; this baton understands schema = {SCHEMA})"
            ),
        )
        .with_hint("upgrade baton to read it; it is left as it is")),
        older => Err(corrupt(
            path,
            format!("schema = {older}, this baton understands schema = {SCHEMA}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_schema_is_not_corruption() {
        assert!(check_schema("x", SCHEMA).is_ok());
        let newer = check_schema("claims/ab/T.toml", SCHEMA + 1).unwrap_err();
        assert_eq!(newer.code, NEWER_SCHEMA);
        assert!(newer.hint.contains("upgrade baton"), "{}", newer.hint);
        assert_eq!(check_schema("x", 0).unwrap_err().code, CORRUPT);
    }
}
