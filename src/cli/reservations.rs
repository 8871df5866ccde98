//! `baton claims reserve` and `baton claims who`: arguments, and the
//! rendering of what [`crate::ops::reservations`] did.

use serde_json::json;

use super::output::{safe, table, Output};
use crate::claims::reservations::{Mode, Pattern, Reservation};
use crate::error::Result;
use crate::ids::ClaimId;
use crate::ops::reservations::{self as op, ReserveArgs as Args};
use crate::ops::Session;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["paths", "release_paths"])))]
pub struct ReserveArgs {
    #[arg(value_parser = super::typed(ClaimId::parse))]
    id: ClaimId,
    /// Reserve these paths or globs (src/store/, docs/*.md, src/**/mod.rs).
    #[arg(long, num_args = 1.., value_name = "GLOB")]
    paths: Vec<String>,
    /// Reserve --paths shared: other shared reservations may overlap them.
    #[arg(long, requires = "paths")]
    shared: bool,
    /// Drop these reserved patterns (as they were reserved).
    #[arg(long, num_args = 1.., value_name = "GLOB")]
    release_paths: Vec<String>,
    /// Take overlapping paths from other claims (needs --reason).
    #[arg(long, requires = "reason")]
    force: bool,
    /// Why the paths are taken over (recorded in the commit).
    #[arg(long, requires = "force")]
    reason: Option<String>,
}

/// `--paths` as typed, `--shared` or exclusive.
pub fn patterns(raw: &[String], shared: bool) -> Result<Vec<Reservation>> {
    op::parse_patterns(raw, if shared { Mode::Shared } else { Mode::Exclusive })
}

pub fn reserve(s: &Session, args: &ReserveArgs) -> Result<Output> {
    let release = args
        .release_paths
        .iter()
        .map(|p| Pattern::parse(p))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let wanted = Args {
        paths: patterns(&args.paths, args.shared)?,
        release,
        force: if args.force { args.reason.clone() } else { None },
    };
    Ok(super::claims::transition(
        "claims.reserve",
        op::reserve(s, &args.id, &wanted)?,
    ))
}

pub fn who(s: &Session, paths: &[std::path::PathBuf]) -> Result<Output> {
    let cwd = std::path::absolute(&s.dir).unwrap_or_else(|_| s.dir.clone());
    let paths = paths
        .iter()
        .map(|p| op::repo_path(s, p, &cwd))
        .collect::<Result<Vec<_>>>()?;
    let found = op::who(s, &paths)?;
    let mut rows = vec![["PATH", "CLAIM", "HOLDER", "MODE", "PATTERN"]
        .map(String::from)
        .to_vec()];
    for w in &found {
        if w.reservations.is_empty() {
            rows.push(vec![
                safe(&w.path).into_owned(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ]);
        }
        for h in &w.reservations {
            rows.push(vec![
                safe(&w.path).into_owned(),
                h.claim.to_string(),
                h.holder.to_string(),
                h.mode.to_string(),
                safe(h.pattern.as_str()).into_owned(),
            ]);
        }
    }
    Ok(Output::new(json!({ "paths": found }), table(&rows)))
}
