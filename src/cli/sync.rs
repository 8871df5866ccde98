//! `baton sync`, and the publishing step of `claims claim --sync` and of
//! every write when `sync.auto = true`.

use serde_json::json;

use super::{Output, Session};
use crate::error::Result;
use crate::state;
use crate::sync::{self, Action, Report};

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// The remote to sync with (default: sync.remote, `origin`).
    #[arg(long)]
    pub remote: Option<String>,
}

/// `--remote`, else `sync.remote` from the state, else `origin`.
pub fn remote_name(s: &Session, explicit: Option<&str>) -> Result<String> {
    if let Some(r) = explicit {
        return Ok(r.to_owned());
    }
    Ok(match s.store.tip()? {
        Some(tip) => state::config(&s.store.snapshot_at(Some(tip))?)?.sync.remote,
        None => "origin".to_owned(),
    })
}

pub fn run(s: &Session, args: &SyncArgs) -> Result<Output> {
    let remote = remote_name(s, args.remote.as_deref())?;
    let report = sync::sync(&s.store, &remote, &s.actor()?.to_string())?;
    Ok(Output::new(json!(report), describe(&report)))
}

pub fn describe(r: &Report) -> String {
    let tip = &r.tip[..10.min(r.tip.len())];
    let mut text = match r.action {
        Action::UpToDate => format!("up to date with {} [{tip}]", r.remote),
        Action::Adopted => format!("adopted the state of {} [{tip}]", r.remote),
        Action::FastForward => format!("fast-forwarded to {} [{tip}]", r.remote),
        Action::Pushed => format!("published to {} [{tip}]", r.remote),
        Action::Merged => format!("merged with {} and published [{tip}]", r.remote),
    };
    for l in &r.lost {
        text.push_str(&format!("\nlost: {}", l.message()));
    }
    for p in &r.remote_won {
        text.push_str(&format!("\nremote kept: {p} (changed on both sides)"));
    }
    text
}

/// Whether writes publish right away: `sync.auto` with its remote configured.
pub fn auto_remote(s: &Session) -> Result<Option<String>> {
    let Some(tip) = s.store.tip()? else {
        return Ok(None);
    };
    let config = state::config(&s.store.snapshot_at(Some(tip))?)?;
    let present = s.store.remote_names().contains(&config.sync.remote);
    Ok((config.sync.auto && present).then_some(config.sync.remote))
}

/// After a write under `sync.auto`: publish, and add what happened to the output.
pub fn after_write(s: &Session, out: &mut Output) -> Result<()> {
    if out.json.get("commit").is_none_or(|c| c.is_null()) {
        return Ok(());
    }
    let Some(remote) = auto_remote(s)? else {
        return Ok(());
    };
    let report = sync::sync(&s.store, &remote, &s.actor()?.to_string())?;
    out.text.push('\n');
    out.text.push_str(&describe(&report));
    out.json["sync"] = json!(report);
    Ok(())
}
