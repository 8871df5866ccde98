//! Glob patterns of the shared config (`workflow.allow`, `workflow.secret_env`),
//! compiled the one way every user of them does: a leaf, so the config,
//! redaction and the workflow guard share it without depending on each other.

use globset::{Glob, GlobBuilder};

/// A pattern of config key `key` that is not a glob; globset's account is
/// the source. The code and hint are given where it becomes the user's
/// error (`ops::refusals`), which shows the cause in parentheses after this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} in the shared config has a pattern that is not a glob: {pattern:?}")]
pub struct BadPattern {
    pub key: String,
    pub pattern: String,
    #[source]
    pub source: globset::Error,
}

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
pub fn glob_for(key: &str, pattern: &str, any_case: bool) -> Result<Glob, BadPattern> {
    glob(pattern, any_case).map_err(|source| BadPattern {
        key: key.to_owned(),
        pattern: pattern.to_owned(),
        source,
    })
}

/// A list for `key` as a hint shows it (`baton config set <key> "<example>"`).
pub fn example(key: &str) -> &'static str {
    if key == "workflow.secret_env" {
        "*TOKEN*,*SECRET*,*KEY*"
    } else {
        "cargo *,make *"
    }
}
