//! `baton claims ...`: parse, load the one claim an operation needs, apply the
//! pure transition from [`crate::claims`], commit, render.

use clap::Subcommand;
use serde_json::json;

use super::output::{short, short_opt, table};
use super::{doctor, Output, Session};
use crate::claims::{self, Assignment, ClaimRequest, ClaimState, Filter, Force, Step};
use crate::clock::{format_timestamp, Span};
use crate::error::{Error, Result};
use crate::ids::{Actor, AgentId, ClaimId, Role};
use crate::pool;
use crate::state;
use crate::store::{message, Change, Message, Outcome, Snapshot};

#[derive(Debug, Subcommand)]
pub enum ClaimsCommand {
    /// Claim work: new, completed or expired -> active, owned by you.
    Claim {
        #[arg(value_parser = ClaimId::parse)]
        id: ClaimId,
        /// Assign the least-loaded healthy pool agent of this role.
        #[arg(long, value_parser = Role::parse, conflicts_with = "agent")]
        role: Option<Role>,
        /// Assign this pool agent.
        #[arg(long, value_parser = AgentId::parse)]
        agent: Option<AgentId>,
        /// Lease: the claim must be renewed before this runs out (e.g. 2h).
        #[arg(long, value_parser = Span::parse)]
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
    },
    /// Offer your active claim to someone else.
    Handoff {
        #[arg(value_parser = ClaimId::parse)]
        id: ClaimId,
        /// Who should take it over.
        #[arg(long, value_parser = Actor::parse)]
        to: Actor,
        #[arg(long)]
        note: Option<String>,
    },
    /// Accept a handoff offered to you.
    Accept {
        #[arg(value_parser = ClaimId::parse)]
        id: ClaimId,
    },
    /// Refuse a handoff offered to you; it returns to its owner.
    Reject {
        #[arg(value_parser = ClaimId::parse)]
        id: ClaimId,
        /// Why (required).
        #[arg(long, required = true)]
        reason: String,
    },
    /// Pause your claim.
    Pause {
        #[arg(value_parser = ClaimId::parse)]
        id: ClaimId,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Mark your claim blocked.
    Block {
        #[arg(value_parser = ClaimId::parse)]
        id: ClaimId,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Resume your paused or blocked claim.
    Resume {
        #[arg(value_parser = ClaimId::parse)]
        id: ClaimId,
    },
    /// Extend your claim's lease and touch it.
    Renew {
        #[arg(value_parser = ClaimId::parse)]
        id: ClaimId,
        /// New lease from now (default: claims.default_lease).
        #[arg(long, value_parser = Span::parse)]
        lease: Option<Span>,
    },
    /// Finish your claim: -> completed; frees the agent's capacity.
    Release {
        #[arg(value_parser = ClaimId::parse)]
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
        #[arg(long, value_parser = Span::parse)]
        older_than: Option<Span>,
        #[arg(long)]
        apply: bool,
    },
    /// One claim, or counts by state and your held claims.
    Status {
        #[arg(value_parser = ClaimId::parse)]
        id: Option<ClaimId>,
    },
    /// List claims.
    List {
        #[arg(long, value_parser = ClaimState::parse)]
        state: Option<ClaimState>,
        #[arg(long, value_parser = Actor::parse)]
        owner: Option<Actor>,
        #[arg(long, value_parser = AgentId::parse)]
        agent: Option<AgentId>,
    },
    /// A claim's history, from the state commits.
    Log {
        #[arg(value_parser = ClaimId::parse)]
        id: ClaimId,
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Claims checks (same as `baton doctor claims`).
    Doctor(doctor::SubsystemDoctorArgs),
}

pub fn run(s: &Session, cmd: &ClaimsCommand) -> Result<Output> {
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
        } => {
            let req = ClaimRequest {
                lease: *lease,
                note: note.clone(),
                force: Force(if *force { reason.clone() } else { None }),
            };
            let publish_to = if *sync {
                Some(super::sync::remote_name(s, None)?)
            } else {
                super::sync::auto_remote(s)?
            };
            let actor = s.actor()?.to_string();
            if let Some(remote) = &publish_to {
                // See the remote's holder before claiming, not only after.
                crate::sync::sync(&s.store, remote, &actor)?;
            }
            let mut out = write_claim(s, id, "claims.claim", |snap, existing, ctx| {
                claims::claim(existing, id, ctx, &req, || {
                    assign(snap, ctx, role.as_ref(), agent.as_ref())
                })
            })?;
            if let Some(remote) = &publish_to {
                let report = crate::sync::sync(&s.store, remote, &actor)?;
                if let Some(lost) = report.lost.iter().find(|l| l.id == id.as_str()) {
                    return Err(Error::refused("claim_lost", lost.message()).with_hint(format!(
                        "another machine published a claim on {id} first; see `baton claims status {id}`"
                    )));
                }
                out.text.push('\n');
                out.text.push_str(&super::sync::describe(&report));
                out.json["sync"] = serde_json::json!(report);
            }
            // Publishing was decided here (from --sync or sync.auto); no second look after the write.
            out.synced = true;
            Ok(out)
        }
        C::Handoff { id, to, note } => write_claim(s, id, "claims.handoff", |_, c, ctx| {
            claims::handoff(c.as_ref(), id, ctx, to, note.clone())
        }),
        C::Accept { id } => write_claim(s, id, "claims.accept", |snap, c, ctx| {
            // When the new owner is a pool agent, the load moves to it.
            let agent = match ctx.actor.as_agent_id() {
                Some(aid) => state::agent(snap, &aid)?.map(|a| Assignment {
                    agent: a.id,
                    role: a.role,
                }),
                None => None,
            };
            claims::accept(c.as_ref(), id, ctx, agent)
        }),
        C::Reject { id, reason } => {
            if reason.trim().is_empty() {
                return Err(Error::invalid("reason_required", "--reason must say why")
                    .with_hint("baton claims reject ID --reason \"not my area\""));
            }
            write_claim(s, id, "claims.reject", |_, c, ctx| {
                claims::reject(c.as_ref(), id, ctx, reason)
            })
        }
        C::Pause { id, reason } => write_claim(s, id, "claims.pause", |_, c, ctx| {
            claims::park(c.as_ref(), id, ctx, ClaimState::Paused, reason.clone())
        }),
        C::Block { id, reason } => write_claim(s, id, "claims.block", |_, c, ctx| {
            claims::park(c.as_ref(), id, ctx, ClaimState::Blocked, reason.clone())
        }),
        C::Resume { id } => write_claim(s, id, "claims.resume", |_, c, ctx| claims::resume(c.as_ref(), id, ctx)),
        C::Renew { id, lease } => write_claim(s, id, "claims.renew", |_, c, ctx| {
            claims::renew(c.as_ref(), id, ctx, *lease)
        }),
        C::Release { id, force, reason } => {
            let force = Force(if *force { reason.clone() } else { None });
            write_claim(s, id, "claims.release", |_, c, ctx| {
                claims::release(c.as_ref(), id, ctx, &force)
            })
        }
        C::Expire { older_than, apply } => expire(s, *older_than, *apply),
        C::Status { id: Some(id) } => status_one(s, id),
        C::Status { id: None } => status_summary(s),
        C::List { state, owner, agent } => list(
            s,
            &Filter {
                state: *state,
                owner: owner.clone(),
                agent: agent.clone(),
            },
        ),
        C::Log { id, limit } => {
            super::repo::log_filtered(s, |m| m.all(message::SUBJECT).any(|x| x == subject(id)), *limit)
        }
        C::Doctor(args) => doctor::run_for(s, &["claims"], args),
    }
}

pub fn subject(id: &ClaimId) -> String {
    format!("claim/{id}")
}

/// Pick the pool agent for `--role` or check the one named by `--agent`.
fn assign(
    snap: &Snapshot<'_>,
    ctx: &claims::Ctx<'_>,
    role: Option<&Role>,
    agent: Option<&AgentId>,
) -> Result<Option<Assignment>> {
    if role.is_none() && agent.is_none() {
        return Ok(None);
    }
    let config = state::config(snap)?;
    let timeout = config.pool.heartbeat_timeout;
    let loads = pool::loads(&state::all_claims(snap)?);
    match (role, agent) {
        (Some(role), _) => pool::pick(&state::all_agents(snap)?, &loads, role, ctx.now, timeout).map(Some),
        (None, Some(id)) => {
            pool::check_assignable(state::agent(snap, id)?.as_ref(), id, &loads, ctx.now, timeout).map(Some)
        }
        (None, None) => Ok(None),
    }
}

/// Load one claim, apply `op`, and commit the result as one operation.
fn write_claim(
    s: &Session,
    id: &ClaimId,
    op_name: &str,
    op: impl Fn(&Snapshot<'_>, Option<claims::Claim>, &claims::Ctx<'_>) -> Result<Step>,
) -> Result<Output> {
    let actor = s.actor()?;
    let written = s.store.update(&actor.to_string(), |snap| {
        let config = state::config(snap)?;
        let ctx = claims::Ctx {
            actor: &actor,
            now: s.now,
            policy: &config.claims,
        };
        let step = op(snap, state::claim(snap, id)?, &ctx)?;
        if !step.changed {
            return Ok(Outcome::Unchanged(step));
        }
        let mut msg = Message::new(&step.summary)
            .trailer(message::OP, op_name)
            .trailer(message::SUBJECT, subject(id))
            .trailer(message::ACTOR, actor.to_string())
            .trailer(message::GENERATION, step.claim.generation.to_string());
        if let Some(reason) = &step.forced {
            msg = msg.trailer(message::REASON, reason);
        }
        let mut change = Change::new(msg);
        change.put_toml(claims::path(id), &step.claim)?;
        Ok(Outcome::Write(change, step))
    })?;
    let step = written.value;
    let text = match &written.commit {
        Some(commit) => format!("{} [{}]", step.summary.trim_start_matches("claims: "), short(commit)),
        None => format!("{} (nothing to do)", step.summary.trim_start_matches("claims: ")),
    };
    let json = json!({
        "op": op_name,
        "changed": written.commit.is_some(),
        "commit": short_opt(&written.commit),
        "claim": step.claim,
    });
    Ok(Output::new(json, text))
}

fn expire(s: &Session, older_than: Option<Span>, apply: bool) -> Result<Output> {
    let actor = s.actor()?;
    let op = |snap: &Snapshot<'_>| -> Result<Outcome<Vec<claims::Expiry>>> {
        let config = state::config(snap)?;
        let found = claims::expiries(&state::all_claims(snap)?, s.now, &config.claims, older_than);
        if !apply || found.is_empty() {
            return Ok(Outcome::Unchanged(found));
        }
        let mut msg = Message::new(format!("claims: expire {} claim(s)", found.len()))
            .trailer(message::OP, "claims.expire")
            .trailer(message::ACTOR, actor.to_string());
        for e in &found {
            msg = msg.trailer(message::SUBJECT, subject(&e.claim.id));
        }
        let mut change = Change::new(msg);
        for e in &found {
            change.put_toml(claims::path(&e.claim.id), &e.claim)?;
        }
        Ok(Outcome::Write(change, found))
    };
    let (found, commit) = if apply {
        let w = s.store.update(&actor.to_string(), op)?;
        (w.value, w.commit)
    } else {
        match op(&s.store.snapshot()?)? {
            Outcome::Unchanged(v) | Outcome::Write(_, v) | Outcome::WriteEach(_, v) => (v, None),
        }
    };
    let mut rows = vec![vec!["ID".into(), "CAUSE".into(), "OWNER".into(), "BECOMES".into()]];
    for e in &found {
        let cause = serde_json::to_value(e.cause)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        rows.push(vec![
            e.claim.id.to_string(),
            cause,
            e.claim.owner.to_string(),
            e.claim.state.to_string(),
        ]);
    }
    let mut text = if found.is_empty() {
        "no stale claims or timed-out handoffs\n".to_owned()
    } else {
        table(&rows)
    };
    match (&commit, apply, found.is_empty()) {
        (Some(c), _, _) => text.push_str(&format!("applied in {}\n", short(c))),
        (None, false, false) => text.push_str("dry run: nothing changed; add --apply to expire them\n"),
        _ => {}
    }
    let items: Vec<_> = found
        .iter()
        .map(|e| json!({"id": e.claim.id, "cause": e.cause, "claim": e.claim}))
        .collect();
    Ok(Output::new(
        json!({"applied": commit.is_some(), "commit": short_opt(&commit), "expired": items}),
        text,
    ))
}

fn describe(c: &claims::Claim) -> String {
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
            c.handoff_note.as_ref().map(|n| format!(": {n}")).unwrap_or_default()
        ));
    }
    if let Some(r) = &c.reason {
        lines.push(format!("  reason    {r}"));
    }
    if let Some(n) = &c.note {
        lines.push(format!("  note      {n}"));
    }
    lines.join("\n")
}

fn status_one(s: &Session, id: &ClaimId) -> Result<Output> {
    let snap = s.store.snapshot()?;
    let claim = state::claim(&snap, id)?.ok_or_else(|| {
        Error::refused("no_claim", format!("there is no claim {id}"))
            .with_hint(format!("claim it with: baton claims claim {id}"))
    })?;
    Ok(Output::new(json!({ "claim": claim }), describe(&claim)))
}

fn status_summary(s: &Session) -> Result<Output> {
    let snap = s.store.snapshot()?;
    let all = state::all_claims(&snap)?;
    let actor = s.actor()?;
    let mut counts = serde_json::Map::new();
    let mut text = String::new();
    for st in ClaimState::ALL {
        let n = all.iter().filter(|c| c.state == st).count();
        counts.insert(st.to_string(), n.into());
        text.push_str(&format!("{:<16} {n}\n", st.as_str()));
    }
    let mine: Vec<_> = all.iter().filter(|c| c.is_held_by(&actor)).collect();
    text.push_str(&format!("\nheld by {actor}: {}\n", mine.len()));
    for c in &mine {
        text.push_str(&format!("  {}  {}\n", c.id, c.state));
    }
    Ok(Output::new(
        json!({"counts": counts, "actor": actor, "mine": mine}),
        text,
    ))
}

fn list(s: &Session, filter: &Filter) -> Result<Output> {
    let snap = s.store.snapshot()?;
    let mut all: Vec<_> = state::all_claims(&snap)?
        .into_iter()
        .filter(|c| filter.matches(c))
        .collect();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    // At 10k claims either rendering costs milliseconds: build only the one asked for.
    if s.json {
        return Ok(Output::new(json!({ "claims": all }), String::new()));
    }
    if all.is_empty() {
        return Ok(Output::new(serde_json::Value::Null, "no claims"));
    }
    let mut rows = vec![["ID", "STATE", "OWNER", "AGENT", "GEN", "UPDATED"]
        .map(String::from)
        .to_vec()];
    for c in &all {
        rows.push(vec![
            c.id.to_string(),
            c.state.to_string(),
            c.owner.to_string(),
            c.agent.as_ref().map(ToString::to_string).unwrap_or_else(|| "-".into()),
            c.generation.to_string(),
            format_timestamp(&c.updated_at),
        ]);
    }
    Ok(Output::new(serde_json::Value::Null, table(&rows)))
}
