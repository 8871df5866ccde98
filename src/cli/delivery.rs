//! `baton delivery ...`: arguments, and the rendering of plans and
//! deliveries; [`crate::ops::delivery`] does the work.

use clap::Subcommand;

use super::doctor;
use super::output::{publication, safe, table, Output};
use super::workflow::Execution;
use crate::clock::{format_timestamp, Span};
use crate::delivery::row::Row;
use crate::delivery::{Delivery, Phase};
use crate::error::{code, Result};
use crate::ids::{Actor, AgentId, ClaimId, Role, RunId};
use crate::messages;
use crate::ops::delivery::{self as op, Claiming, Delivered, Resume, StartArgs};
use crate::ops::pool::Wanted;
use crate::ops::Session;

#[derive(Debug, Subcommand)]
pub enum DeliveryCommand {
    /// Claim an issue, run its workflow, then release the claim (or hand it off); dry run without --execute.
    Start {
        /// The issue to claim (a claim id).
        #[arg(long, value_parser = super::typed(ClaimId::parse))]
        issue: ClaimId,
        /// A workflow name of .baton/workflows/ (or its path there): the only definitions a delivery runs and resumes.
        #[arg(long)]
        workflow: String,
        /// Assign the least-loaded healthy pool agent of this role.
        #[arg(long, value_parser = super::typed(Role::parse), conflicts_with = "agent")]
        role: Option<Role>,
        /// Assign this pool agent.
        #[arg(long, value_parser = super::typed(AgentId::parse))]
        agent: Option<AgentId>,
        /// On success, hand the claim off to this actor instead of releasing it.
        #[arg(long, value_parser = super::typed(Actor::parse))]
        handoff_to: Option<Actor>,
        /// Lease of the claim (e.g. 2h).
        #[arg(long, value_parser = super::typed(Span::parse))]
        lease: Option<Span>,
        /// A note kept on the claim and the delivery.
        #[arg(long)]
        note: Option<String>,
        /// Act for a holding you already have, at this generation (refused if it moved on).
        #[arg(long, conflicts_with_all = ["role", "agent", "lease"])]
        generation: Option<u64>,
        /// Publish the claim before any step runs (sync before and after).
        #[arg(long)]
        sync: bool,
        #[command(flatten)]
        how: Execution,
    },
    /// One delivery with its phases, claim and workflow run; without --run-id, recent deliveries.
    Status {
        /// The delivery (dl-YYYYMMDDTHHMMSSZ-xxxxxx).
        #[arg(long, value_parser = super::typed(RunId::parse))]
        run_id: Option<RunId>,
        /// How many recent deliveries to list.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Hand the claim of an unfinished delivery to someone else.
    Handoff {
        #[arg(long, value_parser = super::typed(RunId::parse))]
        run_id: RunId,
        /// Who should take it over.
        #[arg(long, value_parser = super::typed(Actor::parse))]
        to: Actor,
    },
    /// Close a failed delivery (release its claim), or give one up with --abandon.
    Close {
        #[arg(long, value_parser = super::typed(RunId::parse))]
        run_id: RunId,
        /// Give the delivery up: release the claim and record why.
        #[arg(long)]
        abandon: bool,
        /// Why it is abandoned (recorded).
        #[arg(long, requires = "abandon")]
        reason: Option<String>,
    },
    /// Continue a delivery from its recorded phase: resume its workflow run, then finish.
    Resume {
        /// The delivery (default: your latest unfinished one).
        #[arg(long, value_parser = super::typed(RunId::parse))]
        run_id: Option<RunId>,
        #[command(flatten)]
        how: Execution,
    },
    /// Delivery checks (same as `baton doctor delivery`): ledger vs claim vs workflow run.
    Doctor(doctor::SubsystemDoctorArgs),
}

pub fn run(s: &Session, cmd: &DeliveryCommand, json: bool) -> Result<Output> {
    match cmd {
        DeliveryCommand::Start {
            issue,
            workflow,
            role,
            agent,
            handoff_to,
            lease,
            note,
            generation,
            sync,
            how,
        } => {
            let args = StartArgs {
                issue: issue.clone(),
                workflow: workflow.clone(),
                wanted: Wanted {
                    role: role.clone(),
                    agent: agent.clone(),
                },
                handoff_to: handoff_to.clone(),
                lease: *lease,
                note: note.clone(),
                generation: *generation,
                sync: *sync,
            };
            if how.execute {
                return Ok(delivered(s, &op::start(s, &args, &how.ops(json))?));
            }
            Ok(plan(&op::plan(s, &args)?))
        }
        DeliveryCommand::Status { run_id: Some(id), .. } => Ok(describe_delivered(&op::status(s, id)?)),
        DeliveryCommand::Status { run_id: None, limit } => {
            let (deliveries, unreadable) = op::list(s, *limit)?;
            Ok(list(&deliveries, &unreadable))
        }
        DeliveryCommand::Handoff { run_id, to } => Ok(delivered(s, &op::handoff(s, run_id, to)?)),
        DeliveryCommand::Close {
            run_id,
            abandon,
            reason,
        } => {
            let why = abandon.then(|| reason.clone().unwrap_or_else(|| "abandoned".to_owned()));
            Ok(delivered(s, &op::close(s, run_id, why.as_deref())?))
        }
        DeliveryCommand::Resume { run_id, how } => {
            let picked = match run_id {
                Some(id) => id.clone(),
                None => {
                    let id = crate::ops::latest::unfinished_delivery(s)?;
                    // Said on stderr: stdout stays the result (one JSON document with --json).
                    eprintln!("resuming {id}, your latest unfinished delivery");
                    id
                }
            };
            let (d, action) = op::resume_plan(s, &picked)?;
            if how.execute {
                return Ok(delivered(s, &op::resume(s, &d, action, &how.ops(json))?));
            }
            Ok(resume_plan(&d, &action))
        }
        DeliveryCommand::Doctor(args) => doctor::run_for(s, &["delivery"], args),
    }
}

fn plan(p: &op::Plan) -> Output {
    let claim = match &p.claiming {
        Claiming::New { generation, agent } => {
            let agent = agent
                .as_ref()
                .map(|a| format!(", agent {} ({})", a.agent, a.role))
                .unwrap_or_default();
            format!("claim {} (generation {generation}{agent})", p.issue)
        }
        Claiming::Held { generation } => format!("act for your holding of {} (generation {generation})", p.issue),
        Claiming::Refused(e) => format!("refused: {}", safe(&e.message())),
    };
    let finally = match &p.handoff_to {
        Some(to) => format!("on success hand {} off to {to}; on failure keep it", p.issue),
        None => format!("on success release {}; on failure keep it", p.issue),
    };
    let doc = messages::DeliveryPlan::of(p);
    let mut text = format!(
        "plan of a delivery of {} with {} ({}), dry run: nothing is claimed, nothing runs\n",
        p.issue,
        safe(&p.workflow.def.name),
        safe(&p.workflow.located.display)
    );
    text.push_str(&format!(
        "1. {claim}\n2. run {}\n3. {finally}\n",
        doc.steps.join(" -> ")
    ));
    for r in &p.workflow.refusals {
        text.push_str(&format!(
            "refused: step {}: `{}`: {}\n",
            r.step,
            safe(&r.command),
            safe(&r.reason)
        ));
    }
    text.push_str("add --execute to run it");
    Output::new(messages::value(&doc), text)
}

/// A delivery after an operation: exit 1 unless it is on its way or done
/// well. A failed or stopped one also prints `error:` (what failed, with the
/// step's exit code) and `hint:` (the exact next command) on stderr, and
/// carries them in JSON as `"error": {code, message, hint}`.
fn delivered(s: &Session, d: &Delivered) -> Output {
    let mut out = describe_delivered(d);
    let l = &d.delivery;
    // The reason is the state's free text: one line, whatever it holds.
    let why = safe(l.reason.as_deref().unwrap_or("no reason recorded"));
    let (code, message, hint) = match l.phase {
        Phase::Failed => (
            code::DELIVERY_FAILED,
            format!("delivery {} of {} failed: {why}", l.id, l.issue),
            format!(
                "fix the cause, then resume it: `{}`; or, fixed by other means, `baton delivery close --run-id {}`",
                resume_command(s, l),
                l.id
            ),
        ),
        Phase::Stopped => (
            code::DELIVERY_STOPPED,
            format!("delivery {} of {} stopped: {why}", l.id, l.issue),
            format!("the claim moved on; see `baton claims status {}`", l.issue),
        ),
        // A phase that landed here but did not reach the remote: exit 3.
        _ => return publication(out, &d.published, &d.not_published),
    };
    report(&message, &hint);
    out.json["error"] = messages::value(&messages::Failure {
        code,
        message: &message,
        hint: &hint,
    });
    // A phase that landed here but did not reach the remote: exit 3.
    publication(out.exit(1), &d.published, &d.not_published)
}

/// The command that resumes `d`, as its owner runs it.
fn resume_command(s: &Session, d: &Delivery) -> String {
    // Name the actor only when it came from --actor: BATON_ACTOR and the
    // git identity carry over to the next command by themselves.
    let actor = match s.actor_and_source() {
        Ok((_, crate::ops::ActorSource::Flag)) => format!("--actor {} ", d.owner),
        _ => String::new(),
    };
    format!("baton {actor}delivery resume --run-id {} --execute", d.id)
}

/// `error:` and `hint:` on stderr for a result that is also rendered.
fn report(message: &str, hint: &str) {
    eprintln!("error: {}", crate::term::lines(message));
    eprintln!("hint: {}", crate::term::lines(hint));
}

fn describe_delivered(d: &Delivered) -> Output {
    Output::new(messages::value(&messages::DeliveryShown::of(d)), describe(d))
}

fn describe(d: &Delivered) -> String {
    let l = &d.delivery;
    let mut text = format!(
        "delivery {} of {}: {} (owner {}, generation {}, workflow {})\n",
        l.id,
        l.issue,
        l.phase,
        l.owner,
        l.generation,
        safe(&l.workflow)
    );
    if let Some(reason) = &l.reason {
        text.push_str(&format!("  reason    {}\n", safe(reason)));
    }
    if let Some(to) = &l.handoff_to {
        text.push_str(&format!("  handoff   to {to}\n"));
    }
    if let Some(agent) = &l.agent {
        text.push_str(&format!("  agent     {agent}\n"));
    }
    if let Some(c) = &d.claim {
        text.push_str(&format!(
            "  claim     {} {} by {} (generation {})\n",
            c.id, c.state, c.owner, c.generation
        ));
    }
    match (&l.workflow_run, &d.run) {
        (Some(_), Some(run)) => text.push_str(&format!("  run       {} {}\n", run.id, run.status.as_str())),
        (Some(id), None) => text.push_str(&format!("  run       {id} (not started)\n")),
        _ => {}
    }
    let mut rows = vec![vec!["PHASE".to_owned(), "AT".to_owned(), "REASON".to_owned()]];
    for p in &l.phases {
        rows.push(vec![
            p.phase.to_string(),
            format_timestamp(&p.at),
            p.reason.clone().unwrap_or_default(),
        ]);
    }
    text.push_str(&table(&rows));
    text
}

fn list(deliveries: &[Row], unreadable: &[crate::finding::Finding]) -> Output {
    let mut rows = vec![["DELIVERY", "ISSUE", "PHASE", "OWNER", "RUN", "UPDATED"]
        .map(String::from)
        .to_vec()];
    for d in deliveries {
        rows.push(vec![
            d.id.to_string(),
            d.issue.to_string(),
            d.phase.to_string(),
            d.owner.to_string(),
            d.workflow_run
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_else(|| "-".into()),
            format_timestamp(&d.updated_at),
        ]);
    }
    let mut text = if deliveries.is_empty() && unreadable.is_empty() {
        "no deliveries yet; start one: baton delivery start --issue <id> --workflow <name> --execute\n".to_owned()
    } else if deliveries.is_empty() {
        "no delivery ledger can be read\n".to_owned()
    } else {
        table(&rows)
    };
    for f in unreadable {
        text.push_str(&format!("warning: {} ({})\n", safe(&f.message), safe(&f.hint)));
    }
    let doc = messages::Deliveries::of(deliveries, unreadable);
    Output::new(messages::value(&doc), text)
}

fn resume_plan(d: &Delivery, action: &Resume) -> Output {
    let (what, steps): (String, Vec<String>) = match action {
        Resume::Nothing => (format!("delivery {} is {}: nothing to resume", d.id, d.phase), vec![]),
        Resume::Start(plan) => (
            format!("start workflow {}, then finish", safe(&plan.def.name)),
            plan.def
                .order
                .iter()
                .map(|&i| plan.def.steps[i].id.to_string())
                .collect(),
        ),
        Resume::Continue(r) => (
            format!("resume workflow run {}, then finish", r.run.id),
            r.def
                .order
                .iter()
                .filter(|i| r.selected.contains(i))
                .map(|&i| r.def.steps[i].id.to_string())
                .collect(),
        ),
        Resume::Finish(run) => (
            format!("workflow run {} {}: finish only", run.id, run.status.as_str()),
            vec![],
        ),
    };
    let mut text = format!(
        "resume plan of delivery {} ({}), dry run: nothing changes\n{what}\n",
        d.id, d.phase
    );
    if !steps.is_empty() {
        text.push_str(&format!("steps: {}\n", steps.join(" -> ")));
    }
    if !matches!(action, Resume::Nothing) {
        text.push_str("add --execute to run it");
    }
    Output::new(
        messages::value(&messages::DeliveryResumePlan {
            dry_run: true,
            delivery: d,
            action: what,
            steps,
        }),
        text,
    )
}
