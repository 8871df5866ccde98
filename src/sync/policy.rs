//! The `[sync]` section of `config.toml` (docs/sync.md): the remote to sync
//! with, and whether writes publish on their own. Owned here; `config.rs`
//! assembles the file.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Policy {
    #[serde(default = "default_remote")]
    pub remote: String,
    #[serde(default)]
    pub auto: bool,
    #[serde(flatten)]
    pub extra: toml::Table,
}

fn default_remote() -> String {
    "origin".into()
}

impl Default for Policy {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}
