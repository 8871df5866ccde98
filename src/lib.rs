//! baton: git-native coordination for humans and coding agents sharing one
//! repository. All shared state lives as files in commits on one ref,
//! `refs/baton/state`; see `DESIGN.md` for the contract.
//!
//! Layout: [`store`] owns git (the ref, compare-and-swap, trees, trailers);
//! [`claims`], [`pool`] and [`config`] are subsystems of pure functions over
//! loaded state; [`state`] joins the two; [`doctor`] checks everything;
//! [`cli`] parses arguments and renders text or JSON.

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
