//! A doctor finding: one line of a check report, with a severity and a hint
//! (docs/command-handbook.md, `doctor`). A leaf type: every subsystem's checks return findings
//! without depending on doctor or on the store.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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

/// One line of a doctor report (read back from the daemon's reconcile report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    /// `subsystem.check`, e.g. `claims.handoff`.
    pub check: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hint: String,
    /// The state file concerned, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Set when `--fix` repaired it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
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
}

/// Whether a report fails: any error, or with `strict` any warning too.
pub fn fails(findings: &[Finding], strict: bool) -> bool {
    findings
        .iter()
        .any(|f| !f.fixed && (f.severity == Severity::Error || (strict && f.severity == Severity::Warn)))
}
