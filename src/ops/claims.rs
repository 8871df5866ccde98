//! Claims operations (docs/command-handbook.md, Claims): each loads the one claim it needs,
//! applies the pure transition of [`crate::claims`] inside the
//! compare-and-swap, and commits it with its trailers; `claim` also assigns
//! pool capacity and publishes with `--sync` or `sync.auto`.

use super::pool::{self, Wanted};
use super::{index, reservations, sync, Applied, Committed, Session};
use crate::claims::{
    self, Claim, ClaimRequest, ClaimState, Ctx, Expiry, Filter, Force, Holding, Row, RowRef, Transition,
};
use crate::clock::Span;
use crate::error::{Error, Result};
use crate::ids::{Actor, ClaimId};
use crate::state;
use crate::store::{message, Change, Message, Snapshot, Update};

/// The subject trailer of a claim's commits (`claim/T-42`).
pub fn subject(id: &ClaimId) -> String {
    format!("claim/{id}")
}

/// What `claims claim` asks for.
#[derive(Debug, Clone, Default)]
pub struct ClaimArgs {
    pub request: ClaimRequest,
    pub wanted: Wanted,
    /// Publish right away (`--sync`): sync before, to see the remote's
    /// holder, and after, so the claim counts only once the remote has it.
    pub sync: bool,
}

/// `claims claim`: new, completed or expired -> active, owned by the actor.
/// Under `--sync` or `sync.auto` the claim is published, and a claim lost to
/// another machine is refused (`claim_lost`): across machines one claimant wins.
pub fn claim(s: &Session, id: &ClaimId, args: &ClaimArgs) -> Result<Applied<Transition>> {
    let publish_to = sync::publish_target(s, args.sync)?;
    let actor = s.actor()?.to_string();
    if let Some(remote) = &publish_to {
        // See the remote's holder before claiming, not only after.
        sync::sync(&s.store, remote, &actor)?;
    }
    let config = s.config()?;
    let force = args.request.force.0.as_deref();
    let committed = transition_forcing(s, id, "claims.claim", false, force, |snap, existing, ctx| {
        claims::claim(existing, id, ctx, &args.request, || {
            pool::assignment(snap, config, s.now, &args.wanted, ctx.actor)
        })
    })?;
    let Some(remote) = &publish_to else {
        return Ok(committed);
    };
    // Landed here: a failure to publish is reported with what landed.
    let applied = s.publish(
        Committed {
            value: committed.value,
            commit: committed.commit,
        },
        remote,
    );
    if let Some(lost) = applied
        .published
        .iter()
        .flat_map(|r| &r.lost)
        .find(|l| l.id == id.as_str())
    {
        return Err(crate::sync::Lost::Claim(lost.clone()).into());
    }
    if let Some(lost) = applied
        .published
        .iter()
        .flat_map(|r| &r.lost_reservations)
        .find(|l| l.claim == id.as_str())
    {
        return Err(crate::sync::Lost::Reservation(lost.clone()).into());
    }
    Ok(applied)
}

/// `claims handoff --to`: offer the actor's active claim to someone else.
/// A target this state never saw is warned about, with the actors it may
/// have meant (docs/decisions.md: a warning, not a refusal).
pub fn handoff(s: &Session, id: &ClaimId, to: &Actor, note: Option<String>) -> Result<Applied<Transition>> {
    let mut applied = transition(s, id, "claims.handoff", true, |_, c, ctx| {
        claims::handoff(c.as_ref(), id, ctx, to, note.clone()).map_err(Error::from)
    })?;
    if applied.commit.is_some() {
        if let Some(warning) = unseen_actor(s, to)? {
            applied.value.warnings.push(warning);
        }
    }
    Ok(applied)
}

/// A warning when no claim, handoff or pool agent of the state names `to`.
fn unseen_actor(s: &Session, to: &Actor) -> Result<Option<String>> {
    let snap = s.snapshot()?;
    // A pool agent is known: one file, before reading every claim.
    if let Some(agent) = to.as_agent_id() {
        if state::agent(&snap, &agent)?.is_some() {
            return Ok(None);
        }
    }
    let claims = state::all_claims(&snap)?;
    let agents = state::all_agents(&snap)?;
    let pool = agents
        .iter()
        .filter_map(|a| Actor::parse(&format!("agent:{}", a.id)).ok());
    // The handoff just written names `to`: leave that one claim out.
    let seen = claims::actors::seen(
        claims.iter().filter(|c| c.handoff_to.as_ref() != Some(to)),
        pool.chain([s.actor()?]),
    );
    if seen.contains(to) {
        return Ok(None);
    }
    let close = claims::actors::close_matches(to, &seen);
    let mut warning = format!("{to} has never held or been offered a claim here, nor is it a pool agent");
    if !close.is_empty() {
        let names: Vec<String> = close.iter().map(ToString::to_string).collect();
        warning.push_str(&format!("; did you mean {}?", names.join(" or ")));
    }
    Ok(Some(warning))
}

/// `claims accept`: the handoff's target takes the claim; when it is a
/// pool agent, the load moves to it.
pub fn accept(s: &Session, id: &ClaimId) -> Result<Applied<Transition>> {
    transition(s, id, "claims.accept", true, |snap, c, ctx| {
        let agent = pool::actor_agent(snap, ctx.actor)?;
        claims::accept(c.as_ref(), id, ctx, agent).map_err(Error::from)
    })
}

/// `claims reject --reason`: the handoff returns to its owner.
pub fn reject(s: &Session, id: &ClaimId, reason: &str) -> Result<Applied<Transition>> {
    if reason.trim().is_empty() {
        return Err(claims::Invalid::NoReason.into());
    }
    transition(s, id, "claims.reject", true, |_, c, ctx| {
        claims::reject(c.as_ref(), id, ctx, reason).map_err(Error::from)
    })
}

/// `claims pause` / `claims block`: the owner parks a claim.
pub fn park(s: &Session, id: &ClaimId, to: ClaimState, reason: Option<String>) -> Result<Applied<Transition>> {
    let op = if to == ClaimState::Paused {
        "claims.pause"
    } else {
        "claims.block"
    };
    transition(s, id, op, true, |_, c, ctx| {
        claims::park(c.as_ref(), id, ctx, to, reason.clone()).map_err(Error::from)
    })
}

/// `claims resume`: back to active from paused or blocked.
pub fn resume(s: &Session, id: &ClaimId) -> Result<Applied<Transition>> {
    transition(s, id, "claims.resume", true, |_, c, ctx| {
        claims::resume(c.as_ref(), id, ctx).map_err(Error::from)
    })
}

/// `claims renew [--lease]`: extend the lease, touch the claim.
pub fn renew(s: &Session, id: &ClaimId, lease: Option<Span>) -> Result<Applied<Transition>> {
    transition(s, id, "claims.renew", true, |_, c, ctx| {
        claims::renew(c.as_ref(), id, ctx, lease).map_err(Error::from)
    })
}

/// `claims release [--force --reason]`: completed; the agent's capacity is freed.
pub fn release(s: &Session, id: &ClaimId, force: &Force) -> Result<Applied<Transition>> {
    transition(s, id, "claims.release", true, |_, c, ctx| {
        claims::release(c.as_ref(), id, ctx, force).map_err(Error::from)
    })
}

/// Load one claim, apply `op`, and commit the result as one operation
/// (`publish`: with `sync.auto`, publish it afterwards).
fn transition(
    s: &Session,
    id: &ClaimId,
    op_name: &str,
    publish: bool,
    op: impl Fn(&Snapshot<'_>, Option<Claim>, &Ctx<'_>) -> Result<Transition>,
) -> Result<Applied<Transition>> {
    transition_forcing(s, id, op_name, publish, None, op)
}

/// [`transition`], with the reservations it adds checked against other
/// claims' (`force`: take overlapping paths from them, in the same commit).
pub(super) fn transition_forcing(
    s: &Session,
    id: &ClaimId,
    op_name: &str,
    publish: bool,
    force: Option<&str>,
    op: impl Fn(&Snapshot<'_>, Option<Claim>, &Ctx<'_>) -> Result<Transition>,
) -> Result<Applied<Transition>> {
    let actor = s.actor()?;
    let policy = &s.config()?.claims;
    let decide = |snap: &Snapshot<'_>| {
        let ctx = Ctx {
            actor: &actor,
            now: s.now,
            policy,
        };
        let existing = state::claim(snap, id)?;
        let before = existing.as_ref().map(|c| c.reservations.clone()).unwrap_or_default();
        let mut transition = op(snap, existing, &ctx)?;
        if !transition.changed {
            return Ok(Update::Unchanged(transition));
        }
        let taken = reservations::guard(&s.store, snap, s.now, &before, &mut transition, force)?;
        let mut change = transition_change(&transition, id, op_name, &actor)?;
        reservations::put_taken(&mut change, &taken)?;
        Ok(Update::Write(change, transition))
    };
    if publish {
        s.apply(decide)
    } else {
        s.commit(decide).map(|c| s.fold_journal(c).local())
    }
}

/// The commit of one claim transition: the claim file and its trailers.
fn transition_change(transition: &Transition, id: &ClaimId, op_name: &str, actor: &Actor) -> Result<Change> {
    let mut msg = Message::new(&transition.summary)
        .trailer(message::OP, op_name)
        .trailer(message::SUBJECT, subject(id))
        .trailer(message::ACTOR, actor.to_string())
        .trailer(message::GENERATION, transition.claim.generation.to_string());
    if let Some(reason) = &transition.forced {
        msg = msg.trailer(message::REASON, reason);
    }
    let mut change = Change::new(msg);
    change.put_toml(claims::path(id), &transition.claim)?;
    Ok(change)
}

/// `claims expire [--older-than] [--apply]`: stale claims and timed-out
/// handoffs; with `apply`, all of them in one commit.
pub fn expire(s: &Session, older_than: Option<Span>, apply: bool) -> Result<Applied<Vec<Expiry>>> {
    let actor = s.actor()?;
    let policy = &s.config()?.claims;
    let decide = |snap: &Snapshot<'_>| -> Result<Update<Vec<Expiry>>> {
        let found = claims::expiries(&state::all_claims(snap)?, s.now, policy, older_than);
        if !apply || found.is_empty() {
            return Ok(Update::Unchanged(found));
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
        Ok(Update::Write(change, found))
    };
    if apply {
        return s.apply(decide);
    }
    let value = match decide(&s.snapshot()?)? {
        Update::Unchanged(v) | Update::Write(_, v) | Update::WriteEach(_, v) => v,
    };
    Ok(Committed { value, commit: None }.local())
}

/// One claim; refused when there is none — naming its holder when the
/// last fetch has it (the local state diverged from the fetched one).
pub fn get(s: &Session, id: &ClaimId) -> Result<Claim> {
    if let Some(claim) = state::claim(&s.snapshot()?, id)? {
        return Ok(claim);
    }
    // Best effort: a fetched state that cannot be read says nothing more.
    if let Ok(Some((remote, theirs))) = super::fetched::fetched_claim(s, id) {
        return Err(claims::Refusal::NotMerged {
            remote: remote.to_string(),
            theirs: Box::new(theirs),
        }
        .into());
    }
    Err(claims::Refusal::NotFound(id.clone()).into())
}

/// `claims verify`: the claim, while `(owner, generation)` is its current
/// holding (owner: default the actor); refused naming the holder otherwise.
pub fn verify(s: &Session, id: &ClaimId, generation: u64, owner: Option<Actor>) -> Result<Claim> {
    let owner = match owner {
        Some(o) => o,
        None => s.actor()?,
    };
    let claim = state::claim(&s.snapshot()?, id)?;
    Ok(claims::verify(claim.as_ref(), id, &Holding { owner, generation })?.clone())
}

/// Counts by state, the claims the actor holds, and the handoffs offered to it.
#[derive(Debug, Clone)]
pub struct Summary {
    pub counts: Vec<(ClaimState, usize)>,
    pub actor: Actor,
    pub mine: Vec<Row>,
    /// Handoffs waiting for the actor to accept or reject them (whole
    /// claims: the few offered are read from the state for their notes).
    pub offered: Vec<Claim>,
}

/// Every claim's row, through the read index (`ops::index`); refused, as
/// `state::all_claims` refuses, when a claim file does not parse.
pub fn rows(s: &Session) -> Result<Vec<Row>> {
    index::strict_rows::<index::Claims>(&s.store, &s.snapshot()?)
}

pub fn summary(s: &Session) -> Result<Summary> {
    let all = rows(s)?;
    let actor = s.actor()?;
    let counts = ClaimState::ALL
        .iter()
        .map(|st| (*st, all.iter().filter(|c| c.state == *st).count()))
        .collect();
    let offered_rows = claims::select(
        all.iter().filter(|c| c.handoff_to.as_ref() == Some(&actor)).cloned(),
        &Filter {
            to: Some(actor.clone()),
            ..Filter::default()
        },
    );
    let snap = s.snapshot()?;
    let offered = offered_rows
        .iter()
        .filter_map(|r| state::claim(&snap, &r.id).transpose())
        .collect::<Result<Vec<Claim>>>()?;
    let mine = claims::select(all.into_iter().filter(|c| c.is_held_by(&actor)), &Filter::default());
    Ok(Summary {
        counts,
        actor,
        mine,
        offered,
    })
}

/// `show` applied to the claims `filter` keeps, in natural id order
/// ([`claims::select`]); the rows are borrowed from the read index, so a
/// listing of every claim copies none of them.
pub fn list<T>(s: &Session, filter: &Filter, show: impl FnOnce(&[RowRef<'_>]) -> T) -> Result<T> {
    index::with_claim_rows(
        &s.store,
        &s.snapshot()?,
        |row| filter.matches(row),
        |rows| show(&claims::select(rows, filter)),
    )
}
