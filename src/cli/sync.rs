//! `baton sync`, and how a sync report reads (also after `--sync` and
//! `sync.auto` writes).

use super::output::{safe, Output};
use crate::error::Result;
use crate::messages;
use crate::ops::sync::{self as op, Action, Report};
use crate::ops::Session;

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// The remote to sync with (default: sync.remote, `origin`).
    #[arg(long)]
    pub remote: Option<String>,
}

pub fn run(s: &Session, args: &SyncArgs) -> Result<Output> {
    let report = op::run(s, args.remote.as_deref())?;
    Ok(Output::new(messages::value(&report), describe(&report)))
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
        text.push_str(&format!("\nlost: {}", safe(&l.message())));
    }
    for a in &r.lost_agents {
        text.push_str(&format!("\nlost: {}", safe(&a.message())));
    }
    for l in &r.lost_reservations {
        text.push_str(&format!("\nlost: {}", safe(&l.message())));
    }
    for p in &r.remote_won {
        text.push_str(&format!("\nremote kept: {} (changed on both sides)", safe(p)));
    }
    text
}
