//! baton: git-native coordination for humans and coding agents sharing one
//! repository. All shared state lives as files in commits on one ref,
//! `refs/baton/state`; see `DESIGN.md` for the contract.
//!
//! Layout: [`store`] owns git (the ref, compare-and-swap, trees, trailers);
//! [`claims`], [`pool`] and [`config`] are subsystems of pure functions over
//! loaded state; [`state`] joins the two; [`doctor`] checks everything;
//! [`cli`] parses arguments and renders text or JSON.

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

pub mod claims;
pub mod cli;
pub mod clock;
pub mod config;
pub mod doctor;
pub mod error;
pub mod ids;
pub mod os;
pub mod pool;
pub mod selftest;
pub mod state;
pub mod store;
pub mod sync;
pub mod workflow;

pub use error::{Error, Kind, Result};
pub mod learn;
