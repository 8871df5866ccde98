//! `baton doctor`, `claims doctor`, `pool doctor`, `workflow doctor`: run
//! the checks of [`crate::ops::doctor`] and print one line per finding.

use super::output::{safe, Output};
use crate::error::Result;
use crate::finding::{self, Finding, Severity};
use crate::messages;
use crate::ops::doctor::{self as op, Options};
use crate::ops::Session;

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Only these subsystems (store, claims, pool, workflow, delivery, sync, daemon, learn); default all.
    pub subsystems: Vec<String>,
    /// Repair what can be repaired (stale ref lock, `git gc --auto`).
    #[arg(long)]
    pub fix: bool,
    /// Fail on warnings too.
    #[arg(long)]
    pub strict: bool,
    /// Pre-commit mode: only the fast checks, one line on success.
    #[arg(long, conflicts_with = "fix")]
    pub hook: bool,
}

#[derive(Debug, clap::Args)]
pub struct SubsystemDoctorArgs {
    /// Repair what can be repaired.
    #[arg(long)]
    pub fix: bool,
    /// Fail on warnings too.
    #[arg(long)]
    pub strict: bool,
}

/// `baton doctor`: the subsystems are checked before the repository is opened.
pub fn run(open: impl FnOnce() -> Result<Session>, args: &DoctorArgs) -> Result<Output> {
    op::check_subsystems(&args.subsystems)?;
    let session = open()?;
    if args.hook {
        let findings = op::hook(&session)?;
        let failed = finding::fails(&findings, args.strict);
        let text = if failed {
            render_hook_failure(&findings)
        } else {
            let said: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
            format!("baton doctor --hook: ok ({})", said.join("; "))
        };
        return Ok(Output::new(
            messages::value(&messages::Checked {
                ok: !failed,
                findings: &findings,
            }),
            text,
        )
        .exit(if failed { 1 } else { 0 }));
    }
    let names: Vec<&str> = args.subsystems.iter().map(String::as_str).collect();
    run_for(
        &session,
        &names,
        &SubsystemDoctorArgs {
            fix: args.fix,
            strict: args.strict,
        },
    )
}

pub fn run_for(s: &Session, subsystems: &[&str], args: &SubsystemDoctorArgs) -> Result<Output> {
    let opts = Options {
        subsystems: subsystems.iter().map(|s| s.to_string()).collect(),
        fix: args.fix,
    };
    let findings = op::full(s, &opts)?;
    let failed = finding::fails(&findings, args.strict);
    let count = |sev| findings.iter().filter(|f| f.severity == sev && !f.fixed).count();
    let mut text = render(&findings);
    text.push_str(&format!(
        "\n{} error(s), {} warning(s){}",
        count(Severity::Error),
        count(Severity::Warn),
        if failed { "" } else { ": healthy" }
    ));
    Ok(Output::new(
        messages::value(&messages::Checked {
            ok: !failed,
            findings: &findings,
        }),
        text,
    )
    .exit(if failed { 1 } else { 0 }))
}

/// A failed pre-commit check, as git shows it above its refusal: one line per
/// problem, saying what to do on the same line.
fn render_hook_failure(findings: &[Finding]) -> String {
    let mut out = String::from("baton doctor --hook: the commit is refused\n");
    for f in findings.iter().filter(|f| f.severity != Severity::Ok) {
        out.push_str(&format!("{} {}: {}", f.severity.as_str(), f.check, safe(&f.message)));
        if !f.hint.is_empty() {
            out.push_str(&format!(" ({})", safe(&f.hint)));
        }
        out.push('\n');
    }
    out
}

fn render(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let fixed = if f.fixed { " (fixed)" } else { "" };
        out.push_str(&format!(
            "{:<5} {}: {}{fixed}\n",
            f.severity.as_str(),
            f.check,
            safe(&f.message)
        ));
        if !f.hint.is_empty() && f.severity != Severity::Ok && !f.fixed {
            out.push_str(&format!("      hint: {}\n", safe(&f.hint)));
        }
    }
    out
}
