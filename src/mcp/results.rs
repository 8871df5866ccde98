//! The documents the tools answer with (their structured content) where a
//! tool's answer is not simply its command's: typed structs holding the
//! same fields `baton --json` prints, in the same order, so a change to one
//! is a change to a type, seen by the compiler and by tests/it/mcp.rs. Where
//! a tool answers exactly as its command, it uses the command's document
//! from [`crate::messages`].

use serde::Serialize;
use serde_json::Value;

use crate::error::Body;
use crate::learn::judge::Verdict;
use crate::messages::{ClaimChanged, DeliveryShown};
use crate::ops::reservations::Who;
use crate::ops::sync::Report;

pub use crate::messages::value;

/// What publishing a write did (`sync`, `sync.auto`); a write that landed
/// here but did not reach the remote carries `not_published`.
#[derive(Serialize)]
pub struct Published<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<&'a Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_published: Option<Body<'a>>,
}

/// A claim transition, as `baton --json claims <command>` prints it.
#[derive(Serialize)]
pub struct Transition<'a> {
    #[serde(flatten)]
    pub changed: ClaimChanged<'a>,
    #[serde(flatten)]
    pub published: Published<'a>,
}

/// `list`: at most the limit of rows, and whether there were more.
#[derive(Serialize)]
pub struct Listed {
    pub claims: Vec<Value>,
    pub truncated: bool,
}

/// `who`: each path's reservations.
#[derive(Serialize)]
pub struct Reserved {
    pub paths: Vec<Who>,
}

/// A delivery after `start`, with what publishing did.
#[derive(Serialize)]
pub struct Delivered<'a> {
    #[serde(flatten)]
    pub described: DeliveryShown<'a>,
    #[serde(flatten)]
    pub published: Published<'a>,
}

/// `check_command`: the verdict as `baton --json learn pre-command` prints
/// it, with its reasons as one text for a model to read.
#[derive(Serialize)]
pub struct Checked<'a> {
    #[serde(flatten)]
    pub verdict: &'a Verdict,
    pub explain: String,
}
