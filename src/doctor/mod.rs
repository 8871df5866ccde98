//! Doctor (DESIGN §2.7): findings with a severity and a hint, gathered from
//! every subsystem's checks, plus the store's own (ref, lock, objects, hook).
//! Subsystems own their checks as pure functions over loaded state; this
//! module only defines what a finding is and how a report is judged.

pub mod run;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Ok,
    Warn,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warn => "warn",
            Severity::Error => "error",
        }
    }
}

/// One line of a doctor report.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// `subsystem.check`, e.g. `claims.handoff`.
    pub check: String,
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hint: String,
    /// The state file concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Set when `--fix` repaired it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fixed: bool,
}

impl Finding {
    pub fn new(severity: Severity, check: &str, message: impl Into<String>) -> Finding {
        Finding {
            severity,
            check: check.to_owned(),
            message: message.into(),
            hint: String::new(),
            path: None,
            fixed: false,
        }
    }

    pub fn ok(check: &str, message: impl Into<String>) -> Finding {
        Finding::new(Severity::Ok, check, message)
    }

    pub fn warn(check: &str, message: impl Into<String>) -> Finding {
        Finding::new(Severity::Warn, check, message)
    }

    pub fn error(check: &str, message: impl Into<String>) -> Finding {
        Finding::new(Severity::Error, check, message)
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Finding {
        self.hint = hint.into();
        self
    }

    pub fn at(mut self, path: impl Into<String>) -> Finding {
        self.path = Some(path.into());
        self
    }

    pub fn subsystem(&self) -> &str {
        self.check.split('.').next().unwrap_or(&self.check)
    }
}

/// Whether a report fails: any error, or with `strict` any warning too.
pub fn fails(findings: &[Finding], strict: bool) -> bool {
    findings
        .iter()
        .any(|f| !f.fixed && (f.severity == Severity::Error || (strict && f.severity == Severity::Warn)))
}

/// The subsystems doctor knows, in report order.
pub const SUBSYSTEMS: &[&str] = &["store", "claims", "pool", "workflow", "sync"];
