//! The `[claims]` section of `config.toml` (docs/command-handbook.md,
//! `config`): when a claim goes stale, how long a handoff waits, the default
//! lease. Owned here, where it is applied; `config.rs` assembles the file.

use serde::{Deserialize, Serialize};

use crate::clock::{optional_span, Span};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Policy {
    #[serde(default = "default_stale_after")]
    pub stale_after: Span,
    #[serde(default = "default_handoff_timeout")]
    pub handoff_timeout: Span,
    #[serde(default, with = "optional_span")]
    pub default_lease: Option<Span>,
    #[serde(flatten)]
    pub extra: toml::Table,
}

/// A default, written as docs/command-handbook.md (`config get`) shows it.
fn written(text: &str) -> Span {
    Span::parse(text).expect("defaults are valid durations")
}

fn default_stale_after() -> Span {
    written("48h")
}
fn default_handoff_timeout() -> Span {
    written("24h")
}

impl Default for Policy {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}
