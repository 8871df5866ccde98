//! `baton claims ...`: arguments, and the rendering of what
//! [`crate::ops::claims`] did.

use clap::Subcommand;

use super::doctor;
use super::output::{json_join, published, safe, short, table, Output};
use crate::claims::{Claim, ClaimRequest, ClaimState, Expiry, Filter, Force, RowRef, Transition};
use crate::clock::{format_timestamp, Span};
use crate::error::Result;
use crate::ids::{Actor, AgentId, ClaimId, Role};
use crate::messages::{self, commit_id};
use crate::ops::claims::{self as op, ClaimArgs};
use crate::ops::pool::Wanted;
use crate::ops::repo::LogFilter;
use crate::ops::{Applied, Session};

#[derive(Debug, Subcommand)]
pub enum ClaimsCommand {
    /// Claim work: new, completed or expired -> active, owned by you.
    Claim {
        #[arg(value_parser = super::typed(ClaimId::parse))]
        id: ClaimId,
        /// Assign the least-loaded healthy pool agent of this role.
        #[arg(long, value_parser = super::typed(Role::parse), conflicts_with = "agent")]
        role: Option<Role>,
        /// Assign this pool agent.
        #[arg(long, value_parser = super::typed(AgentId::parse))]
        agent: Option<AgentId>,
        /// Lease: the claim must be renewed before this runs out (e.g. 2h).
        #[arg(long, value_parser = super::typed(Span::parse))]
        lease: Option<Span>,
        /// A note kept on the claim.
        #[arg(long)]
        note: Option<String>,
        /// Take the claim over from its current holder (needs --reason).
        #[arg(long, requires = "reason")]
        force: bool,
        /// Why the claim is taken over (recorded in the commit).
        #[arg(long, requires = "force")]
        reason: Option<String>,
        /// Publish right away (sync before and after): the claim counts only once the remote has it.
        #[arg(long)]
        sync: bool,
        /// Reserve these paths or globs with the claim (src/store/, docs/*.md, src/**/mod.rs).
        #[arg(long, num_args = 1.., value_name = "GLOB")]
        paths: Vec<String>,
        /// Reserve --paths shared: other shared reservations may overlap them.
        #[arg(long, requires = "paths")]
        shared: bool,
    },
    /// Add (--paths) or drop (--release-paths) path reservations on your held claim.
    Reserve(super::reservations::ReserveArgs),
    /// Which claims and holders reserve each path.
    Who {
        /// Paths (relative to where baton runs, or absolute), inside the repository.
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
    },
    /// Offer your active claim to someone else.
    Handoff {
        #[arg(value_parser = super::typed(ClaimId::parse))]
        id: ClaimId,
        /// Who should take it over.
        #[arg(long, value_parser = super::typed(Actor::parse))]
        to: Actor,
        #[arg(long)]
        note: Option<String>,
    },
    /// Accept a handoff offered to you.
    Accept {
        #[arg(value_parser = super::typed(ClaimId::parse))]
        id: ClaimId,
    },
    /// Refuse a handoff offered to you; it returns to its owner.
    Reject {
        #[arg(value_parser = super::typed(ClaimId::parse))]
        id: ClaimId,
        /// Why (required).
        #[arg(long, required = true)]
        reason: String,
    },
    /// Pause your claim.
    Pause {
        #[arg(value_parser = super::typed(ClaimId::parse))]
        id: ClaimId,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Mark your claim blocked.
    Block {
        #[arg(value_parser = super::typed(ClaimId::parse))]
        id: ClaimId,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Resume your paused or blocked claim.
    Resume {
        #[arg(value_parser = super::typed(ClaimId::parse))]
        id: ClaimId,
    },
    /// Extend your claim's lease and touch it.
    Renew {
        #[arg(value_parser = super::typed(ClaimId::parse))]
        id: ClaimId,
        /// New lease from now (default: claims.default_lease).
        #[arg(long, value_parser = super::typed(Span::parse))]
        lease: Option<Span>,
    },
    /// Finish your claim: -> completed; frees the agent's capacity.
    Release {
        #[arg(value_parser = super::typed(ClaimId::parse))]
        id: ClaimId,
        /// Release someone else's claim (needs --reason).
        #[arg(long, requires = "reason")]
        force: bool,
        #[arg(long, requires = "force")]
        reason: Option<String>,
    },
    /// List stale claims and timed-out handoffs; --apply expires them in one commit.
    Expire {
        /// Stale threshold instead of claims.stale_after.
        #[arg(long, value_parser = super::typed(Span::parse))]
        older_than: Option<Span>,
        #[arg(long)]
        apply: bool,
    },
    /// One claim, or counts by state and your held claims.
    Status {
        #[arg(value_parser = super::typed(ClaimId::parse))]
        id: Option<ClaimId>,
    },
    /// List claims in natural id order (T-2 before T-10): held ones unless --all or --state.
    List {
        /// Only claims in this state (completed and expired included).
        #[arg(long, value_parser = super::typed(ClaimState::parse))]
        state: Option<ClaimState>,
        /// Only claims this actor owns.
        #[arg(long, value_parser = super::typed(Actor::parse))]
        owner: Option<Actor>,
        /// Only claims assigned to this pool agent.
        #[arg(long, value_parser = super::typed(AgentId::parse))]
        agent: Option<AgentId>,
        /// Only handoffs pending to this actor.
        #[arg(long, value_parser = super::typed(Actor::parse))]
        to: Option<Actor>,
        /// History too: completed and expired claims.
        #[arg(long)]
        all: bool,
        /// At most this many claims.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Exit 0 while a holding (owner and generation) is current, 1 naming the holder otherwise: a fencing check for scripts.
    Verify {
        #[arg(value_parser = super::typed(ClaimId::parse))]
        id: ClaimId,
        /// The generation the caller acts for.
        #[arg(long)]
        generation: u64,
        /// The owner the caller acts for (default: the acting actor).
        #[arg(long, value_parser = super::typed(Actor::parse))]
        owner: Option<Actor>,
    },
    /// A claim's history, from the state commits.
    Log {
        #[arg(value_parser = super::typed(ClaimId::parse))]
        id: ClaimId,
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Claims checks (same as `baton doctor claims`).
    Doctor(doctor::SubsystemDoctorArgs),
}

pub fn run(s: &Session, cmd: &ClaimsCommand, json: bool) -> Result<Output> {
    use ClaimsCommand as C;
    match cmd {
        C::Claim {
            id,
            role,
            agent,
            lease,
            note,
            force,
            reason,
            sync,
            paths,
            shared,
        } => {
            let args = ClaimArgs {
                request: ClaimRequest {
                    lease: *lease,
                    note: note.clone(),
                    force: Force(if *force { reason.clone() } else { None }),
                    paths: super::reservations::patterns(paths, *shared)?,
                },
                wanted: Wanted {
                    role: role.clone(),
                    agent: agent.clone(),
                },
                sync: *sync,
            };
            Ok(transition("claims.claim", op::claim(s, id, &args)?))
        }
        C::Reserve(args) => super::reservations::reserve(s, args),
        C::Who { paths } => super::reservations::who(s, paths),
        C::Handoff { id, to, note } => Ok(transition("claims.handoff", op::handoff(s, id, to, note.clone())?)),
        C::Accept { id } => Ok(transition("claims.accept", op::accept(s, id)?)),
        C::Reject { id, reason } => Ok(transition("claims.reject", op::reject(s, id, reason)?)),
        C::Pause { id, reason } => Ok(transition(
            "claims.pause",
            op::park(s, id, ClaimState::Paused, reason.clone())?,
        )),
        C::Block { id, reason } => Ok(transition(
            "claims.block",
            op::park(s, id, ClaimState::Blocked, reason.clone())?,
        )),
        C::Resume { id } => Ok(transition("claims.resume", op::resume(s, id)?)),
        C::Renew { id, lease } => Ok(transition("claims.renew", op::renew(s, id, *lease)?)),
        C::Release { id, force, reason } => {
            let force = Force(if *force { reason.clone() } else { None });
            Ok(transition("claims.release", op::release(s, id, &force)?))
        }
        C::Expire { older_than, apply } => Ok(expired(op::expire(s, *older_than, *apply)?, *apply)),
        C::Status { id: Some(id) } => {
            let claim = op::get(s, id)?;
            Ok(Output::new(
                messages::value(&messages::ClaimShown { claim: &claim }),
                describe(&claim),
            ))
        }
        C::Status { id: None } => Ok(summary(&op::summary(s)?)),
        C::List {
            state,
            owner,
            agent,
            to,
            all,
            limit,
        } => {
            let filter = Filter {
                state: *state,
                owner: owner.clone(),
                agent: agent.clone(),
                to: to.clone(),
                all: *all,
                limit: *limit,
            };
            op::list(s, &filter, |rows| list(rows, json))
        }
        C::Verify { id, generation, owner } => {
            let claim = op::verify(s, id, *generation, owner.clone())?;
            Ok(Output::new(
                messages::value(&messages::ClaimCurrent {
                    current: true,
                    claim: &claim,
                }),
                format!("{id} is held by {} at generation {}", claim.owner, claim.generation),
            ))
        }
        C::Log { id, limit } => super::repo::log(s, &LogFilter::Subject(op::subject(id)), *limit),
        C::Doctor(args) => doctor::run_for(s, &["claims"], args),
    }
}

/// A claim transition: what happened, in one line, and the claim as it is now.
pub(super) fn transition(op_name: &str, applied: Applied<Transition>) -> Output {
    let summary = safe(applied.value.summary.trim_start_matches("claims: "));
    let mut text = match &applied.commit {
        Some(commit) => format!("{summary} [{}]", short(commit)),
        None => format!("{summary} (nothing to do)"),
    };
    if op_name == "claims.claim" {
        if let Some(agent) = &applied.value.claim.agent {
            let role = applied
                .value
                .claim
                .role
                .as_ref()
                .map(|r| format!(" (role {r})"))
                .unwrap_or_default();
            text.push_str(&format!("\nassigned pool agent {agent}{role}"));
        }
    }
    let json = messages::value(&messages::ClaimChanged::of(op_name, &applied));
    // Warnings go to stderr, as every diagnostic does, and are printed even with --json.
    for w in &applied.value.warnings {
        eprintln!("warning: {}", crate::term::lines(w));
    }
    published(Output::new(json, text), &applied)
}

fn expired(applied: Applied<Vec<Expiry>>, apply: bool) -> Output {
    let found = &applied.value;
    let mut rows = vec![vec!["ID".into(), "CAUSE".into(), "OWNER".into(), "BECOMES".into()]];
    for e in found {
        rows.push(vec![
            e.claim.id.to_string(),
            e.cause.as_str().to_owned(),
            e.claim.owner.to_string(),
            e.claim.state.to_string(),
        ]);
    }
    let mut text = if found.is_empty() {
        "no stale claims or timed-out handoffs\n".to_owned()
    } else {
        table(&rows)
    };
    match (&applied.commit, apply, found.is_empty()) {
        (Some(c), _, _) => text.push_str(&format!("applied in {}\n", short(c))),
        (None, false, false) => text.push_str("dry run: nothing changed; add --apply to expire them\n"),
        _ => {}
    }
    let json = messages::value(&messages::Expired {
        applied: applied.commit.is_some(),
        commit: commit_id(&applied.commit),
        expired: found
            .iter()
            .map(|e| messages::ExpiredClaim {
                id: &e.claim.id,
                cause: e.cause,
                claim: &e.claim,
            })
            .collect(),
    });
    published(Output::new(json, text), &applied)
}

fn describe(c: &Claim) -> String {
    let mut lines = vec![format!(
        "{}  {}  owner {}  generation {}",
        c.id, c.state, c.owner, c.generation
    )];
    if let Some(agent) = &c.agent {
        let role = c.role.as_ref().map(|r| format!(" (role {r})")).unwrap_or_default();
        lines.push(format!("  agent     {agent}{role}"));
    }
    lines.push(format!("  since     {}", format_timestamp(&c.created_at)));
    lines.push(format!("  updated   {}", format_timestamp(&c.updated_at)));
    if let Some(t) = &c.lease_until {
        lines.push(format!("  lease     until {}", format_timestamp(t)));
    }
    if let Some(to) = &c.handoff_to {
        lines.push(format!(
            "  handoff   to {to}{}",
            c.handoff_note
                .as_ref()
                .map(|n| format!(": {}", safe(n)))
                .unwrap_or_default()
        ));
    }
    if let Some(r) = &c.reason {
        lines.push(format!("  reason    {}", safe(r)));
    }
    if let Some(n) = &c.note {
        lines.push(format!("  note      {}", safe(n)));
    }
    for r in &c.reservations {
        lines.push(format!("  reserves  {} ({})", safe(r.pattern.as_str()), r.mode));
    }
    lines.join("\n")
}

fn summary(summary: &op::Summary) -> Output {
    let mut text = String::new();
    for (state, n) in &summary.counts {
        text.push_str(&format!("{:<16} {n}\n", state.as_str()));
    }
    text.push_str(&format!("\nheld by {}: {}\n", summary.actor, summary.mine.len()));
    for c in &summary.mine {
        text.push_str(&format!("  {}  {}\n", c.id, c.state));
    }
    for c in &summary.offered {
        text.push_str(&format!("offered to you: {} by {}", c.id, c.owner));
        if let Some(note) = &c.handoff_note {
            text.push_str(&format!(" ({})", safe(note)));
        }
        text.push('\n');
    }
    if !summary.offered.is_empty() {
        text.push_str("accept with `baton claims accept <id>`, or `baton claims reject <id> --reason <why>`\n");
    }
    Output::new(messages::value(&messages::ClaimsSummary::of(summary)), text)
}

fn list(claims: &[RowRef<'_>], json: bool) -> Output {
    // At 10k claims either rendering costs milliseconds: build only the one asked for.
    if json {
        return Output::printed_json(json_join("claims", claims.iter().map(|c| c.json)), String::new());
    }
    if claims.is_empty() {
        return Output::new(serde_json::Value::Null, "no claims");
    }
    let mut rows = vec![["ID", "STATE", "OWNER", "TO", "AGENT", "GEN", "UPDATED"]
        .map(String::from)
        .to_vec()];
    for c in claims {
        rows.push(vec![
            c.id.to_owned(),
            c.state.to_string(),
            c.owner.to_owned(),
            c.handoff_to.unwrap_or("-").to_owned(),
            c.agent.unwrap_or("-").to_owned(),
            c.generation.to_string(),
            format_timestamp(&c.updated_at),
        ]);
    }
    Output::new(serde_json::Value::Null, table(&rows))
}
