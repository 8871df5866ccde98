//! The `[workflow]` section of `config.toml` (docs/workflows.md): which
//! commands may run, a step's default timeout, which env names hold
//! secrets. Owned here; `config.rs` assembles the file, [`super::policy`]
//! enforces `allow`.

use serde::{Deserialize, Serialize};

use crate::clock::Span;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Policy {
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default = "default_step_timeout")]
    pub default_timeout: Span,
    /// Globs over environment variable names (any case): the values of a
    /// step's own `env` entries whose names match are redacted from its
    /// recorded output.
    #[serde(default = "default_secret_env")]
    pub secret_env: Vec<String>,
    #[serde(flatten)]
    pub extra: toml::Table,
}

fn default_step_timeout() -> Span {
    Span::parse("30m").expect("the default is a valid duration")
}

/// Names CI systems treat as secret; `*PAT` and not `*PAT*`, which would
/// take `PATH` for a secret.
pub const DEFAULT_SECRET_ENV: &[&str] = &[
    "*TOKEN*",
    "*SECRET*",
    "*PASSWORD*",
    "*PASSWD*",
    "*PASSPHRASE*",
    "*KEY*",
    "*CREDENTIAL*",
    "*PAT",
    "*_PAT_*",
    "PAT_*",
];
fn default_secret_env() -> Vec<String> {
    DEFAULT_SECRET_ENV.iter().map(|s| s.to_string()).collect()
}

impl Default for Policy {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}
