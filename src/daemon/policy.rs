//! The `[daemon]` section of `config.toml` (docs/daemon.md): how often the
//! daemon ticks, snapshots metrics and reads everything. Owned here;
//! `config.rs` assembles the file.

use serde::{Deserialize, Serialize};

use crate::clock::Span;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Policy {
    #[serde(default = "default_interval")]
    pub interval: Span,
    #[serde(default = "default_snapshot_every")]
    pub snapshot_every: Span,
    /// An incremental tick reads only what changed; a full pass reads
    /// everything at least this often.
    #[serde(default = "default_full_every")]
    pub full_every: Span,
    #[serde(flatten)]
    pub extra: toml::Table,
}

/// A default, written as docs/command-handbook.md (`config get`) shows it.
fn written(text: &str) -> Span {
    Span::parse(text).expect("defaults are valid durations")
}

fn default_interval() -> Span {
    written("60s")
}
fn default_snapshot_every() -> Span {
    written("1h")
}
fn default_full_every() -> Span {
    written("1h")
}

impl Default for Policy {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}
