//! baton: git-native coordination for humans and coding agents sharing one
//! repository. All shared state lives as files in commits on one ref,
//! `refs/baton/state`; docs/ (listed in the README) says how each part works.
//!
//! Layers, each using only the ones below it (see `docs/architecture.md`;
//! `tests/it/layers.rs` fails on an import up the order or a cycle):
//! - edges: [`cli`] parses arguments and renders text or JSON; [`mcp`]
//!   serves the same operations as MCP tools; [`messages`] holds the JSON
//!   documents both of them return;
//! - [`ops`] runs every operation as a transaction (read, decide, commit,
//!   publish) and returns typed results; it is where processes run;
//! - [`state`] says where each subsystem's files live and loads them;
//!   [`doctor`] judges store facts; [`config`] assembles `config.toml` from
//!   the subsystems' policies;
//! - the subsystems, pure functions over loaded state, each using only those
//!   listed after it: [`daemon`] (the reconcile pass's decisions),
//!   [`delivery`] (the delivery ledger and phases), [`metrics`] (snapshots,
//!   summaries, the SVG chart), [`workflow`] (definitions, ledgers, the
//!   guard; its executor runs steps as processes), [`learn`] (the risk
//!   guard: parser, rules, judge, statistics, routing, hook protocols),
//!   [`sync`] (the merge table), [`pool`] (agents), [`claims`];
//! - [`store`] owns git (the ref, compare-and-swap, trees, trailers, packs,
//!   fetch/push); [`os`] the few system calls (processes, signals, file locks);
//! - leaves every layer may use: [`error`], [`ids`], [`clock`], [`codec`],
//!   [`finding`], [`term`], [`glob`] (config globs), [`redact`] (secrets out
//!   of recorded output), [`broken`] (a state file this baton cannot use);
//!   in test builds, `testing` (fixtures shared by the unit tests).

// baton is a command, not a library others link: its API documentation is
// read with private items (`make validate` builds it so), where a module's
// doc naming the private helpers it owns is the point, not a leak.
#![allow(rustdoc::private_intra_doc_links)]

/// Serde for types that are written as text: `Display` out, `parse` in, so
/// a state file can never hold a value the type would refuse.
macro_rules! serde_via_str {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                <$t>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

pub mod broken;
pub mod claims;
pub mod cli;
pub mod clock;
pub mod codec;
pub mod config;
pub mod daemon;
pub mod delivery;
pub mod doctor;
pub mod error;
pub mod finding;
pub mod glob;
pub mod ids;
pub mod metrics;
pub mod ops;
pub mod os;
pub mod pool;
pub mod redact;
pub mod state;
pub mod store;
pub mod sync;
pub mod term;
pub mod workflow;

#[cfg(test)]
mod testing;

pub use error::{Error, Kind, Result};
pub mod learn;
pub mod mcp;
pub mod messages;
