//! Where each subsystem's typed refusal becomes the user's error: its
//! code (from `error::code`), its kind (so its exit code) and its hint,
//! with the refusal kept as the source. One `From` per refusal type, so a
//! subsystem's pure code says only what was refused, and the words a user
//! acts on (which command to run next) are written once, here.
//!
//! A file per subsystem: `claims`, `pool`, `delivery`, `learn`, `workflow`,
//! `sync` (a change lost to another machine's publish),
//! `codec` (state files), `config`, `daemon` (with the metrics' counters),
//! `doctor`, and `input` for the leaf modules' invalid input (ids, clock,
//! glob). A cause the user reads in parentheses after a validation message
//! is the typed error's source, rendered here by `error::with_cause`.

mod claims;
mod codec;
mod config;
mod daemon;
mod delivery;
mod doctor;
mod input;
mod learn;
mod pool;
mod sync;
mod workflow;
