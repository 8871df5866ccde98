//! Claims on work (docs/command-handbook.md, Claims): who holds which piece of work, handoffs,
//! leases and expiry. Every operation here is a pure function from the claim
//! as loaded (and the policy, the actor, the time) to the new claim or a
//! refusal; the caller loads and stores files.
//!
//! `generation` is a fencing token: it goes up exactly when the holder
//! changes (a claim, a takeover, an accepted handoff), so anything acting on
//! behalf of a claim can say which holding it belongs to.

pub mod actors;
pub mod check;
mod delivery_mark;
mod list;
mod policy;
mod refusals;
pub mod reservations;
mod row;

pub use delivery_mark::{DeliveryMark, DeliveryPhase};
pub use list::{natural_cmp, select, Filter};
pub use policy::Policy;
use refusals::{held_by_other, no_claim, not_owner, wrong_state};
pub use refusals::{target as handoff_target, Invalid, Moved, Refusal};
pub use row::{list_item, Listed, Row, RowRef};

use serde::{Deserialize, Serialize};

use crate::clock::{format_timestamp, Span, Timestamp};
use crate::codec::SCHEMA;
use crate::error::Result;
use crate::ids::{Actor, AgentId, ClaimId, Role};

/// Where claims live in the state tree.
pub const DIR: &str = "claims";

/// `claims/<xx>/<id>.toml`, xx = the first two hex digits of sha1(id): a
/// claim operation rewrites a small shard tree, never a flat 10k-entry one.
pub fn path(id: &ClaimId) -> String {
    let digest = crate::codec::sha1_hex(id.as_str());
    format!("{DIR}/{}/{id}.toml", &digest[..2])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimState {
    Active,
    Paused,
    Blocked,
    HandoffPending,
    Completed,
    Expired,
}

impl ClaimState {
    pub const ALL: [ClaimState; 6] = [
        ClaimState::Active,
        ClaimState::Paused,
        ClaimState::Blocked,
        ClaimState::HandoffPending,
        ClaimState::Completed,
        ClaimState::Expired,
    ];

    /// Held states count against an agent's capacity and keep others out.
    pub fn is_held(self) -> bool {
        !matches!(self, ClaimState::Completed | ClaimState::Expired)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ClaimState::Active => "active",
            ClaimState::Paused => "paused",
            ClaimState::Blocked => "blocked",
            ClaimState::HandoffPending => "handoff_pending",
            ClaimState::Completed => "completed",
            ClaimState::Expired => "expired",
        }
    }

    pub fn parse(raw: &str) -> std::result::Result<ClaimState, Invalid> {
        ClaimState::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| Invalid::State(raw.to_owned()))
    }
}

impl std::fmt::Display for ClaimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One claim file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub schema: u32,
    pub id: ClaimId,
    pub state: ClaimState,
    pub owner: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    pub generation: u64,
    /// When the current holding began (the last claim, takeover or accept).
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff_to: Option<Actor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff_note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The delivery acting on this holding (`delivery start`) and its phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryMark>,
    /// Paths reserved while the claim is held (docs/reservations.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reservations: Vec<reservations::Reservation>,
    /// Fields a newer baton wrote: kept on rewrite.
    #[serde(flatten)]
    pub extra: toml::Table,
}

/// Who acts, when, under which policy.
pub struct Ctx<'a> {
    pub actor: &'a Actor,
    pub now: Timestamp,
    pub policy: &'a Policy,
}

/// The result of an operation on one claim.
#[derive(Debug, Clone)]
pub struct Transition {
    pub claim: Claim,
    /// False for an idempotent repeat: nothing to commit.
    pub changed: bool,
    /// The commit message's first line.
    pub summary: String,
    /// A `--force` override, recorded in the commit.
    pub forced: Option<String>,
    /// Worth saying, not refusing (a handoff to an actor this state never saw).
    pub warnings: Vec<String>,
}

impl Transition {
    fn changed(claim: Claim, summary: String) -> Transition {
        Transition {
            claim,
            changed: true,
            summary,
            forced: None,
            warnings: Vec::new(),
        }
    }

    fn unchanged(claim: Claim, summary: String) -> Transition {
        Transition {
            claim,
            changed: false,
            summary,
            forced: None,
            warnings: Vec::new(),
        }
    }
}

/// `--force --reason T`: act on someone else's claim.
#[derive(Debug, Clone, Default)]
pub struct Force(pub Option<String>);

/// What `claims claim` asks for.
#[derive(Debug, Clone, Default)]
pub struct ClaimRequest {
    pub lease: Option<Span>,
    pub note: Option<String>,
    pub force: Force,
    /// Paths to reserve (`--paths`); a new holding reserves exactly these,
    /// the holder's repeat claim adds them.
    pub paths: Vec<reservations::Reservation>,
}

/// A pool agent picked for the claim (by role or by name).
#[derive(Debug, Clone)]
pub struct Assignment {
    pub agent: AgentId,
    pub role: Role,
}

fn lease_from(ctx: &Ctx<'_>, lease: Option<Span>) -> Option<Timestamp> {
    lease.or(ctx.policy.default_lease).map(|span| span.after(ctx.now))
}

/// A held claim whose lease ran out no longer keeps others out.
pub fn lease_lapsed(claim: &Claim, now: Timestamp) -> bool {
    claim.state.is_held() && claim.lease_until.is_some_and(|until| until <= now)
}

impl Claim {
    /// Is this claim held, and by `actor`?
    pub fn is_held_by(&self, actor: &Actor) -> bool {
        self.state.is_held() && &self.owner == actor
    }

    fn clear_handoff(&mut self) {
        self.handoff_to = None;
        self.handoff_note = None;
    }
}

/// `claims claim`: take a new, completed or expired claim; repeat for free when
/// already ours (renewing a lapsed lease); refuse when another holds it
/// (unless its lease lapsed, or forced).
pub fn claim<E: From<Refusal>>(
    existing: Option<Claim>,
    id: &ClaimId,
    ctx: &Ctx<'_>,
    req: &ClaimRequest,
    assign: impl FnOnce() -> Result<Option<Assignment>, E>,
) -> Result<Transition, E> {
    let mut forced = None;
    if let Some(current) = &existing {
        if current.is_held_by(ctx.actor) && lease_lapsed(current, ctx.now) {
            return Ok(renew_lapsed(current, ctx, req)?);
        }
        if current.is_held_by(ctx.actor) && !req.paths.is_empty() {
            return Ok(reservations::reserve(Some(current), id, ctx, &req.paths, &[])?);
        }
        if current.is_held_by(ctx.actor) {
            return Ok(Transition::unchanged(
                current.clone(),
                format!("claims: {id} already held by {}", ctx.actor),
            ));
        }
        if current.state.is_held() && !lease_lapsed(current, ctx.now) {
            match &req.force.0 {
                Some(reason) => forced = Some(reason.clone()),
                None => return Err(held_by_other(current).into()),
            }
        }
    }
    let assignment = assign()?;
    let generation = existing.as_ref().map_or(0, |c| c.generation) + 1;
    let extra = existing.as_ref().map(|c| c.extra.clone()).unwrap_or_default();
    let claim = Claim {
        schema: SCHEMA,
        id: id.clone(),
        state: ClaimState::Active,
        owner: ctx.actor.clone(),
        agent: assignment.as_ref().map(|a| a.agent.clone()),
        role: assignment.map(|a| a.role),
        generation,
        created_at: ctx.now,
        updated_at: ctx.now,
        lease_until: lease_from(ctx, req.lease),
        handoff_to: None,
        handoff_note: None,
        reason: forced.clone(),
        note: req.note.clone(),
        delivery: None,
        reservations: reservations::add(&[], &req.paths).map_err(E::from)?,
        extra,
    };
    let summary = match (&forced, &existing) {
        (Some(_), Some(prev)) => format!("claims: take over {id} from {} by {}", prev.owner, ctx.actor),
        _ => format!("claims: claim {id} by {}", ctx.actor),
    };
    let mut transition = Transition::changed(claim, summary);
    transition.forced = forced;
    Ok(transition)
}

/// The holder claims again after its lease lapsed, before anyone else took
/// it: the holding goes on (same generation, state and agent) with the lease
/// this claim asks for, so it is not left free for the next claimant to take
/// a moment later.
fn renew_lapsed(current: &Claim, ctx: &Ctx<'_>, req: &ClaimRequest) -> Result<Transition, Refusal> {
    let mut claim = current.clone();
    claim.reservations = reservations::add(&claim.reservations, &req.paths)?;
    claim.lease_until = lease_from(ctx, req.lease);
    claim.updated_at = ctx.now;
    if req.note.is_some() {
        claim.note = req.note.clone();
    }
    let until = match &claim.lease_until {
        Some(t) => format!("until {}", format_timestamp(t)),
        None => "without a lease".to_owned(),
    };
    let summary = format!("claims: renew lapsed {} by {} {until}", claim.id, ctx.actor);
    Ok(Transition::changed(claim, summary))
}

fn require<'c>(existing: Option<&'c Claim>, id: &ClaimId) -> Result<&'c Claim, Refusal> {
    existing.ok_or_else(|| no_claim(id))
}

/// "hand off" -> "handed off", "pause" -> "paused": what a claim "can be".
fn participle(verb: &str) -> String {
    let (head, rest) = verb.split_once(' ').map_or((verb, ""), |(h, r)| (h, r));
    let done = match head {
        "hand" => "handed".to_owned(),
        h if h.ends_with('e') => format!("{h}d"),
        h => format!("{h}ed"),
    };
    if rest.is_empty() {
        done
    } else {
        format!("{done} {rest}")
    }
}

fn require_owner(claim: &Claim, ctx: &Ctx<'_>, what: &'static str) -> Result<(), Refusal> {
    if !claim.state.is_held() {
        return Err(wrong_state(
            claim,
            &participle(what),
            "held (active, paused, blocked, handoff_pending)",
        ));
    }
    if &claim.owner != ctx.actor {
        return Err(not_owner(claim, ctx.actor, what));
    }
    Ok(())
}

/// `claims handoff --to`: owner only, from `active`.
pub fn handoff(
    existing: Option<&Claim>,
    id: &ClaimId,
    ctx: &Ctx<'_>,
    to: &Actor,
    note: Option<String>,
) -> Result<Transition, Refusal> {
    let current = require(existing, id)?;
    require_owner(current, ctx, "hand off")?;
    if current.state != ClaimState::Active {
        return Err(wrong_state(current, "handed off", "active"));
    }
    if to == ctx.actor {
        return Err(Refusal::HandoffToSelf {
            id: id.clone(),
            to: to.clone(),
        });
    }
    let mut claim = current.clone();
    claim.state = ClaimState::HandoffPending;
    claim.handoff_to = Some(to.clone());
    claim.handoff_note = note;
    claim.updated_at = ctx.now;
    Ok(Transition::changed(
        claim,
        format!("claims: hand off {id} from {} to {to}", ctx.actor),
    ))
}

fn require_handoff_target<'c>(
    existing: Option<&'c Claim>,
    id: &ClaimId,
    ctx: &Ctx<'_>,
    what: &str,
) -> Result<&'c Claim, Refusal> {
    let current = require(existing, id)?;
    if current.state != ClaimState::HandoffPending {
        return Err(wrong_state(current, what, "handoff_pending"));
    }
    if current.handoff_to.as_ref() != Some(ctx.actor) {
        return Err(Refusal::NotHandoffTarget {
            id: id.clone(),
            to: current.handoff_to.clone(),
            actor: ctx.actor.clone(),
        });
    }
    Ok(current)
}

/// `claims accept`: the handoff target becomes the owner; a new generation.
/// `agent` is the pool agent the new owner is (if any): the load moves with it.
pub fn accept(
    existing: Option<&Claim>,
    id: &ClaimId,
    ctx: &Ctx<'_>,
    agent: Option<Assignment>,
) -> Result<Transition, Refusal> {
    let current = require_handoff_target(existing, id, ctx, "accepted")?;
    let mut claim = current.clone();
    let from = claim.owner.clone();
    claim.state = ClaimState::Active;
    claim.owner = ctx.actor.clone();
    claim.generation += 1;
    claim.created_at = ctx.now;
    claim.updated_at = ctx.now;
    match agent {
        Some(a) => {
            claim.agent = Some(a.agent);
            claim.role = Some(a.role);
        }
        None => claim.agent = None,
    }
    claim.clear_handoff();
    claim.reason = None;
    // A new holding: the delivery that handed it off is done with it.
    claim.delivery = None;
    Ok(Transition::changed(
        claim,
        format!("claims: {} accepts {id} from {from}", ctx.actor),
    ))
}

/// `claims reject --reason`: back to the old owner, `active`, reason recorded.
pub fn reject(existing: Option<&Claim>, id: &ClaimId, ctx: &Ctx<'_>, reason: &str) -> Result<Transition, Refusal> {
    let current = require_handoff_target(existing, id, ctx, "rejected")?;
    let mut claim = current.clone();
    claim.state = ClaimState::Active;
    claim.clear_handoff();
    claim.reason = Some(reason.to_owned());
    claim.updated_at = ctx.now;
    Ok(Transition::changed(
        claim,
        format!("claims: {} rejects {id}, back to {}", ctx.actor, current.owner),
    ))
}

/// The owner parks a claim: `pause` or `block`.
pub fn park(
    existing: Option<&Claim>,
    id: &ClaimId,
    ctx: &Ctx<'_>,
    to: ClaimState,
    reason: Option<String>,
) -> Result<Transition, Refusal> {
    debug_assert!(matches!(to, ClaimState::Paused | ClaimState::Blocked));
    let verb = if to == ClaimState::Paused { "paused" } else { "blocked" };
    let current = require(existing, id)?;
    require_owner(current, ctx, if to == ClaimState::Paused { "pause" } else { "block" })?;
    if current.state == to && reason.is_none() {
        return Ok(Transition::unchanged(
            current.clone(),
            format!("claims: {id} already {verb}"),
        ));
    }
    if current.state == ClaimState::HandoffPending {
        return Err(wrong_state(current, verb, "active, paused or blocked"));
    }
    let mut claim = current.clone();
    claim.state = to;
    if reason.is_some() {
        claim.reason = reason;
    }
    claim.updated_at = ctx.now;
    Ok(Transition::changed(
        claim,
        format!("claims: {verb} {id} by {}", ctx.actor),
    ))
}

/// `claims resume`: back to `active` from paused or blocked.
pub fn resume(existing: Option<&Claim>, id: &ClaimId, ctx: &Ctx<'_>) -> Result<Transition, Refusal> {
    let current = require(existing, id)?;
    require_owner(current, ctx, "resume")?;
    match current.state {
        ClaimState::Active => Ok(Transition::unchanged(
            current.clone(),
            format!("claims: {id} already active"),
        )),
        ClaimState::Paused | ClaimState::Blocked => {
            let mut claim = current.clone();
            claim.state = ClaimState::Active;
            claim.reason = None;
            claim.updated_at = ctx.now;
            Ok(Transition::changed(
                claim,
                format!("claims: resume {id} by {}", ctx.actor),
            ))
        }
        _ => Err(wrong_state(current, "resumed", "paused or blocked")),
    }
}

/// `claims renew [--lease]`: extend the lease and touch `updated_at`.
pub fn renew(
    existing: Option<&Claim>,
    id: &ClaimId,
    ctx: &Ctx<'_>,
    lease: Option<Span>,
) -> Result<Transition, Refusal> {
    let current = require(existing, id)?;
    require_owner(current, ctx, "renew")?;
    let mut claim = current.clone();
    claim.updated_at = ctx.now;
    if let Some(until) = lease_from(ctx, lease) {
        claim.lease_until = Some(until);
    }
    let summary = match claim.lease_until {
        Some(until) => format!("claims: renew {id} until {}", format_timestamp(&until)),
        None => format!("claims: renew {id}"),
    };
    Ok(Transition::changed(claim, summary))
}

/// `claims release [--force --reason]`: done, from any held state.
pub fn release(existing: Option<&Claim>, id: &ClaimId, ctx: &Ctx<'_>, force: &Force) -> Result<Transition, Refusal> {
    let current = require(existing, id)?;
    if !current.state.is_held() {
        return Err(wrong_state(
            current,
            "released",
            "held (active, paused, blocked, handoff_pending)",
        ));
    }
    let forced = if &current.owner == ctx.actor {
        None
    } else {
        match &force.0 {
            Some(reason) => Some(reason.clone()),
            None => return Err(not_owner(current, ctx.actor, "release")),
        }
    };
    let mut claim = current.clone();
    claim.state = ClaimState::Completed;
    claim.clear_handoff();
    // Reservations live and die with their holding.
    claim.reservations.clear();
    claim.lease_until = None;
    claim.updated_at = ctx.now;
    if forced.is_some() {
        claim.reason = forced.clone();
    }
    let summary = match &forced {
        Some(_) => format!("claims: force-release {id} held by {} by {}", current.owner, ctx.actor),
        None => format!("claims: release {id} by {}", ctx.actor),
    };
    let mut transition = Transition::changed(claim, summary);
    transition.forced = forced;
    Ok(transition)
}

/// A holding: who holds a claim, at which generation. Anything acting on
/// behalf of a claim carries one and checks it is still current (docs/command-handbook.md, Claims).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    pub owner: Actor,
    pub generation: u64,
}

impl Claim {
    /// The holding this claim is now, if it is held.
    pub fn holding(&self) -> Option<Holding> {
        self.state.is_held().then(|| Holding {
            owner: self.owner.clone(),
            generation: self.generation,
        })
    }
}

/// `claims verify`: `Ok` while `holding` is the claim's current holding;
/// [`Moved`] naming the current holder otherwise. A holding is owner and
/// generation together, so a claim lost in a sync merge (same generation,
/// another owner) fails too.
pub fn verify<'c>(claim: Option<&'c Claim>, id: &ClaimId, holding: &Holding) -> std::result::Result<&'c Claim, Moved> {
    let moved = |now| Moved {
        id: id.clone(),
        held: holding.clone(),
        now,
    };
    let current = claim.ok_or_else(|| moved(None))?;
    if current.holding().as_ref() == Some(holding) {
        return Ok(current);
    }
    let now = match current.holding() {
        Some(h) => format!(
            "held by {} at generation {} (state {})",
            h.owner, h.generation, current.state
        ),
        None => format!("{} at generation {}, held by nobody", current.state, current.generation),
    };
    Err(moved(Some(now)))
}

/// Why `claims expire` touches a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryCause {
    /// Untouched longer than `stale_after` (or `--older-than`).
    Stale,
    /// Its lease ran out without a renew.
    LeaseLapsed,
    /// A handoff nobody accepted within `handoff_timeout`: back to the owner.
    HandoffTimedOut,
}

impl ExpiryCause {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpiryCause::Stale => "stale",
            ExpiryCause::LeaseLapsed => "lease_lapsed",
            ExpiryCause::HandoffTimedOut => "handoff_timed_out",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Expiry {
    pub cause: ExpiryCause,
    pub claim: Claim,
}

/// Stale claims per policy, and timed-out handoffs, with what each becomes.
pub fn expiries(claims: &[Claim], now: Timestamp, policy: &Policy, older_than: Option<Span>) -> Vec<Expiry> {
    let stale_before = older_than.unwrap_or(policy.stale_after).before(now);
    let handoff_before = policy.handoff_timeout.before(now);
    let mut out = Vec::new();
    for c in claims {
        let cause = match c.state {
            ClaimState::HandoffPending if c.updated_at <= handoff_before => Some(ExpiryCause::HandoffTimedOut),
            ClaimState::HandoffPending => None,
            s if s.is_held() && lease_lapsed(c, now) => Some(ExpiryCause::LeaseLapsed),
            s if s.is_held() && c.updated_at <= stale_before => Some(ExpiryCause::Stale),
            _ => None,
        };
        let Some(cause) = cause else { continue };
        let mut claim = c.clone();
        claim.updated_at = now;
        match cause {
            ExpiryCause::HandoffTimedOut => {
                claim.state = ClaimState::Active;
                claim.clear_handoff();
                claim.reason = Some("handoff timed out".into());
            }
            ExpiryCause::Stale | ExpiryCause::LeaseLapsed => {
                claim.state = ClaimState::Expired;
                claim.lease_until = None;
                claim.reservations.clear();
                claim.reason = Some(match cause {
                    ExpiryCause::Stale => "stale".into(),
                    _ => "lease lapsed".into(),
                });
            }
        }
        out.push(Expiry { cause, claim });
    }
    out
}

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;
