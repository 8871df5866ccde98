//! baton: git-native coordination for humans and coding agents sharing one
//! repository. All shared state lives as files in commits on one ref,
//! `refs/baton/state`; docs/ (listed in the README) says how each part works.
//!
//! Layers, each using only the ones below it (see `docs/architecture.md`):
//! - [`cli`] parses arguments and renders text or JSON;
//! - [`ops`] runs every operation as a transaction (read, decide, commit,
//!   publish) and returns typed results;
//! - the subsystems — [`claims`], [`pool`], [`workflow`], [`sync`] (the
//!   merge policy), [`doctor`], [`config`] — are pure functions over loaded
//!   state; [`state`] says where their files live and loads them;
//! - [`store`] owns git (the ref, compare-and-swap, trees, trailers);
//!   [`os`] the few system calls;
//! - leaves every layer may use: [`error`], [`ids`], [`clock`], [`codec`],
//!   [`finding`], [`term`].

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
                <$t>::parse(&s).map_err(|e| serde::de::Error::custom(e.message))
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

pub use error::{Error, Kind, Result};
pub mod learn;
