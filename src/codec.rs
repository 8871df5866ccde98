//! Encoding of state files: TOML for human-edited, slowly changing things,
//! JSON for machine-written records (DESIGN §1.1). A file that does not parse
//! is an environment problem (exit 3) that names the file and points at doctor.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

/// The schema version every state file carries.
pub const SCHEMA: u32 = 1;

pub fn corrupt(path: &str, why: impl std::fmt::Display) -> Error {
    Error::environment("corrupt_state", format!("state file {path} does not parse: {why}"))
        .with_hint("run `baton doctor` to list broken files; fix or delete the file with a new state commit")
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

/// Refuse files from a newer baton instead of silently dropping what we do not know.
pub fn check_schema(path: &str, schema: u32) -> Result<()> {
    if schema == SCHEMA {
        Ok(())
    } else {
        Err(corrupt(
            path,
            format!("schema = {schema}, this baton understands schema = {SCHEMA}"),
        ))
    }
}
