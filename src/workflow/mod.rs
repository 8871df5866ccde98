//! Workflows (docs/workflows.md): definitions in `.baton/workflows/`, validated and
//! ordered ([`def`]); run ledgers and the pure decisions over them
//! ([`ledger`]); execution ([`exec`], which runs the steps as processes);
//! what may run ([`policy`]); shipped templates. Recorded output is redacted
//! by the [`crate::redact`] leaf.

pub mod check;
pub mod def;
pub mod exec;
pub mod ledger;
pub mod policy;
pub mod refusal;
pub mod settings;
pub mod summary;

pub use refusal::{Refusal, Unreadable};
pub use settings::Policy;

/// Where definitions live in the working tree.
pub const DEFINITIONS_DIR: &str = ".baton/workflows";

/// The workflow name of `path` when it is a named definition of the work
/// tree, `.baton/workflows/<name>.toml` (or `.json`); `None` for any other
/// path. The only definitions a resume runs: a ledger in the shared state
/// can name a workflow of this repository, never supply a file.
pub fn named(path: &str) -> Option<crate::ids::WorkflowName> {
    let rest = path.strip_prefix(DEFINITIONS_DIR)?.strip_prefix('/')?;
    let stem = rest.strip_suffix(".toml").or_else(|| rest.strip_suffix(".json"))?;
    crate::ids::WorkflowName::parse(stem).ok()
}

/// Templates shipped in `templates/`, embedded in the binary.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "prepare-execute-verify",
        include_str!("../../templates/prepare-execute-verify.toml"),
    ),
    ("rust-ship", include_str!("../../templates/rust-ship.toml")),
];

/// A template's one-line description (its `description` field).
pub fn template_description(text: &str) -> String {
    toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|t| t.get("description").and_then(|d| d.as_str()).map(str::to_owned))
        .unwrap_or_default()
}
