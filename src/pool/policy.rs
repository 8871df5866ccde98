//! The `[pool]` section of `config.toml` (docs/command-handbook.md, Agent
//! pool): when an agent's heartbeat is stale. Owned here; `config.rs`
//! assembles the file.

use serde::{Deserialize, Serialize};

use crate::clock::{optional_span, Span};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Policy {
    #[serde(default, with = "optional_span")]
    pub heartbeat_timeout: Option<Span>,
    #[serde(flatten)]
    pub extra: toml::Table,
}
