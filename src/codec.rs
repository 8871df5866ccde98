//! Encoding of state files: TOML for human-edited, slowly changing things,
//! JSON for machine-written records (docs/storage.md). A file that does not parse
//! is an environment problem (exit 3) that names the file and points at doctor;
//! a file a newer baton wrote is one too, a [`NewerSchema`] with its own
//! code ([`NEWER_SCHEMA`]): not corruption, and the fix is an upgrade.
//! Each is a type of this module; the code and hint are given where it
//! becomes the user's error (`ops::refusals`).

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use crate::error::code::{CORRUPT, NEWER_SCHEMA};

/// The schema version every state file carries.
pub const SCHEMA: u32 = 1;

/// A state file written by a newer baton (a higher `schema`): readers
/// tell it apart from corruption ([`Error::is`](crate::error::Error::is)) and leave the file alone.
#[derive(Debug, Clone, thiserror::Error)]
#[error("state file {path} was written by a newer baton (schema = {schema}; this baton understands schema = {SCHEMA})")]
pub struct NewerSchema {
    pub path: String,
    pub schema: u32,
}

/// A state file that does not parse (`corrupt_state`); `why` is the
/// parser's account, where a person can find the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state file {path} does not parse: {why}")]
pub struct Corrupt {
    pub path: String,
    pub why: String,
}

/// A state file this baton cannot use: corrupt, or from a newer baton.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unusable {
    #[error(transparent)]
    Corrupt(#[from] Corrupt),
    #[error(transparent)]
    Newer(#[from] NewerSchema),
}

/// A value that could not be encoded as its state file (`encode`); the
/// encoder's account is the source, shown after the message.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode {path}")]
pub struct Encode {
    pub path: String,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

pub fn corrupt(path: &str, why: impl std::fmt::Display) -> Corrupt {
    Corrupt {
        path: path.to_owned(),
        why: why.to_string(),
    }
}

fn encode(path: &str, source: impl std::error::Error + Send + Sync + 'static) -> Encode {
    Encode {
        path: path.to_owned(),
        source: Box::new(source),
    }
}

pub fn decode_toml<T: DeserializeOwned>(path: &str, bytes: &[u8]) -> Result<T, Corrupt> {
    let text = std::str::from_utf8(bytes).map_err(|e| corrupt(path, e))?;
    toml::from_str(text).map_err(|e| corrupt(path, toml_problem(text, &e)))
}

/// A TOML error where a person can find it: `line 3, column 9: <what>`
/// (lines and columns from 1, columns in characters), from the error's span
/// in `text`; just the message when it has no span.
pub fn toml_problem(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end();
    let Some(span) = e.span() else {
        return message.to_owned();
    };
    let before = text.get(..span.start.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    format!("line {line}, column {column}: {message}")
}

pub fn decode_json<T: DeserializeOwned>(path: &str, bytes: &[u8]) -> Result<T, Corrupt> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(path, e))
}

pub fn encode_toml<T: Serialize>(path: &str, value: &T) -> Result<Vec<u8>, Encode> {
    toml::to_string(value)
        .map(String::into_bytes)
        .map_err(|e| encode(path, e))
}

pub fn encode_json<T: Serialize>(path: &str, value: &T) -> Result<Vec<u8>, Encode> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| encode(path, e))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Refuse files from a newer baton instead of silently dropping what we do
/// not know; a schema below ours never existed, so that file is corrupt.
pub fn check_schema(path: &str, schema: u32) -> Result<(), Unusable> {
    match schema {
        SCHEMA => Ok(()),
        newer if newer > SCHEMA => Err(NewerSchema {
            path: path.to_owned(),
            schema: newer,
        }
        .into()),
        older => Err(corrupt(
            path,
            format!("schema = {older}, this baton understands schema = {SCHEMA}"),
        )
        .into()),
    }
}

/// SHA-1 of `text` as 40 lowercase hex digits: the shard of a claim file
/// (`claims::path`), the name of an actor's held-claims index. gix's hasher,
/// the one that hashes objects and packs, so baton links one SHA-1.
pub fn sha1_hex(text: &str) -> String {
    // gix's SHA-1 hasher is sha1dc, git's collision detector. Input that
    // carries a collision attack is refused, yet the plain digest is
    // computed and kept in the refusal; a shard needs only that digest.
    // (A plain `let`: baton builds gix with SHA-1 only, so this is the
    // hasher's one kind; enabling another would stop the build here.)
    let gix::hash::Hasher::Sha1(mut hasher) = gix::hash::hasher(gix::hash::Kind::Sha1);
    hasher.update(text.as_bytes());
    let digest = hasher.finalize().unwrap_or_else(|collision| collision.digest());
    gix::ObjectId::Sha1(digest.into()).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_problems_name_line_and_column() {
        let text = "schema = 1\n[claims]\nstale_after = = \"1h\"\n";
        let e = toml::from_str::<toml::Table>(text).unwrap_err();
        assert!(
            toml_problem(text, &e).starts_with("line 3, column 15: "),
            "{}",
            toml_problem(text, &e)
        );
        // Columns count characters, not bytes.
        let text = "a = \"ü\" x\n";
        let e = toml::from_str::<toml::Table>(text).unwrap_err();
        assert!(
            toml_problem(text, &e).starts_with("line 1, column 9: "),
            "{}",
            toml_problem(text, &e)
        );
    }

    #[test]
    fn a_newer_schema_is_not_corruption() {
        assert!(check_schema("x", SCHEMA).is_ok());
        let newer = crate::error::Error::from(check_schema("claims/ab/T.toml", SCHEMA + 1).unwrap_err());
        assert_eq!(newer.code, NEWER_SCHEMA);
        assert!(newer.is::<NewerSchema>());
        assert!(newer.hint.contains("upgrade baton"), "{}", newer.hint);
        assert_eq!(
            crate::error::Error::from(check_schema("x", 0).unwrap_err()).code,
            CORRUPT
        );
    }

    #[test]
    fn sha1_hex_gives_the_standard_digests() {
        // FIPS 180 test vectors (checked with `sha1sum`).
        assert_eq!(sha1_hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
    }
}
