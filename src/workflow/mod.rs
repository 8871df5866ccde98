//! Workflows (docs/workflows.md): definitions in `.baton/workflows/`, validated and
//! ordered ([`def`]); run ledgers and the pure decisions over them
//! ([`ledger`]); execution ([`exec`]); what may run ([`policy`]); secret
//! redaction of recorded output ([`redact`]); shipped templates.

pub mod check;
pub mod def;
pub mod exec;
pub mod ledger;
pub mod policy;
pub mod redact;

/// Where definitions live in the working tree.
pub const DEFINITIONS_DIR: &str = ".baton/workflows";

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
