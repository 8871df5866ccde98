//! Glob patterns of the shared config (`workflow.allow`, `workflow.secret_env`),
//! compiled the one way every user of them does: a leaf, so the config,
//! redaction and the workflow guard share it without depending on each other.

use globset::{Glob, GlobBuilder};

use crate::error::code;
use crate::error::{Error, Result};

/// One pattern of `workflow.allow` or `workflow.secret_env`, compiled the
/// one way both are: `*` also matches `/` and spaces, `{a,b}` alternatives.
pub fn glob(pattern: &str, any_case: bool) -> std::result::Result<Glob, globset::Error> {
    GlobBuilder::new(pattern)
        .literal_separator(false)
        .case_insensitive(any_case)
        .build()
}

/// [`glob`] for config key `key`: a pattern that is not a glob is an error
/// naming the key and the pattern.
pub fn glob_for(key: &str, pattern: &str, any_case: bool) -> Result<Glob> {
    glob(pattern, any_case).map_err(|e| {
        Error::invalid(
            code::INVALID_CONFIG,
            format!("{key} in the shared config has a pattern that is not a glob: {pattern:?} ({e})"),
        )
        .with_hint(format!(
            "nothing ran; fix the list: baton config set {key} \"{}\"",
            example(key)
        ))
    })
}

pub(crate) fn example(key: &str) -> &'static str {
    if key == "workflow.secret_env" {
        "*TOKEN*,*SECRET*,*KEY*"
    } else {
        "cargo *,make *"
    }
}
