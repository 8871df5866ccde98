//! The integration tests: one test binary with a module per area, so the
//! suite links `baton` (and gix under it) once instead of once per file.
//! Every test runs the built `baton` binary (or, for the sync properties, the
//! library in-process) on real temporary git repositories; `common` and
//! `sync_support` hold the shared helpers.
//!
//! A test that changes process-wide state (a signal disposition, the working
//! directory, the environment) does not belong here: under `cargo test` every
//! test of a binary shares one process. Such a test is a binary of its own
//! beside this directory, as `tests/runner_echild.rs` is (it ignores SIGCHLD).

mod clients_support;
mod common;
mod sync_support;

mod allow;
mod claims;
mod clients;
mod codes;
mod concurrency;
mod corrupt;
mod crash;
mod daemon;
mod daemon_edges;
mod daemon_sync;
mod delivery;
mod delivery_edges;
mod durability;
mod durations;
mod everyday;
mod forged_lines;
mod hardening_runner;
mod identities;
mod ids;
mod index;
mod json_shapes;
mod layers;
mod learn;
mod learn_deletes;
mod learn_policy;
mod mcp;
mod packs;
mod pool;
mod quarantine_edges;
mod redaction;
mod repo;
mod reservations;
mod reservations_sync;
mod state_trust;
mod surfaces;
mod sync;
mod sync_edges;
mod sync_props;
mod sync_trust;
mod usage;
mod workflow;
