//! learn: the command risk guard and task routing (docs/learn.md).
//!
//! Pure core, no git and no files: [`shell`] turns a line into the simple
//! commands that would run (parsed by `words`, walked by `walk`, with
//! [`wrappers`] peeled off, `git_config`'s and interpreters' code — `interp`,
//! `calls` — followed, and `scan` where a bound stops the walk), [`deletes`]
//! judges recursive deletes against the work tree, [`rules`] holds
//! the rule table (matchers in [`matchers`] and [`discards`], path reach in
//! [`targets`], rules written as data in [`declared`], opt-in [`packs`]),
//! [`judge`] gives a [`judge::Verdict`], [`family`] names command families,
//! [`stats`] holds the shared statistics and the local journal, [`route`]
//! suggests a pool role, [`hooks`] speaks the agents' hook protocols,
//! [`policy`] is the `[learn]` section of `config.toml` and [`check`] is
//! doctor's judgement of the learn files and the local journal.

mod call_args;
mod calls;
pub mod check;
pub mod declared;
pub mod deletes;
pub mod discards;
pub mod edits;
pub mod family;
mod git_config;
pub mod hooks;
mod invalid;
pub use invalid::{BadPack, BadRule, Invalid};
mod interp;
pub mod judge;
pub mod matchers;
pub mod packs;
pub mod policy;
pub use policy::Policy;
pub mod route;
pub mod rules;
mod scan;
pub mod shell;
mod simple;
pub mod stats;
pub mod targets;
mod walk;
mod words;
pub mod wrappers;

#[cfg(test)]
mod tests;
