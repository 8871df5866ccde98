//! Claim rows borrowed straight from the claims index file: when the file
//! is the current tree's, a listing decodes each row in place (no copy of
//! a field, no allocation per claim) and hands them to its caller; listing
//! 100 000 claims is then a pass over one file. Otherwise the rows are
//! brought up to date as every read does, and lent from the owned rows.

use super::{broken, file, read_file, refresh, resolve, split, Claims, Collection};
use crate::claims::{Row, RowRef};
use crate::error::Result;
use crate::ids::AgentId;
use crate::store::{Snapshot, Store};

/// `show` applied to the claims' rows `keep` keeps, in natural id order
/// (the index's order for claims), refused as [`super::strict_rows`]
/// refuses (the first claim file in tree order that does not parse, kept
/// or not).
pub fn with_claim_rows<T>(
    store: &Store,
    snap: &Snapshot<'_>,
    keep: impl Fn(&RowRef<'_>) -> bool,
    show: impl FnOnce(Vec<RowRef<'_>>) -> T,
) -> Result<T> {
    let Some(key) = snap.subtree(Claims::DIR)? else {
        return Ok(show(Vec::new()));
    };
    let path = file::<Claims>(store);
    let data = read_file(&path);
    if let Some((indexed, body)) = data.as_deref().and_then(split::<Claims>) {
        if indexed == key {
            match borrow(body, &keep) {
                Some(Ok(rows)) => return Ok(show(rows)),
                // Its error, unless it reads now: then as below.
                Some(Err(path)) => drop(broken::<Claims>(snap, path)?),
                None => {}
            }
        }
    }
    let items = refresh::<Claims>(
        store,
        snap,
        key,
        &path,
        data.as_deref().and_then(super::decode::<Claims>),
    )?;
    let rows: Vec<Row> = resolve::<Claims>(snap, items)?;
    // The actors as the index keeps them: as they print.
    let actors: Vec<(String, Option<String>)> = rows
        .iter()
        .map(|r| (r.owner.to_string(), r.handoff_to.as_ref().map(ToString::to_string)))
        .collect();
    let borrowed = rows
        .iter()
        .zip(&actors)
        .map(|(r, (owner, to))| RowRef {
            id: r.id.as_str(),
            state: r.state,
            owner,
            agent: r.agent.as_ref().map(AgentId::as_str),
            handoff_to: to.as_deref(),
            generation: r.generation,
            updated_at: r.updated_at,
            json: &r.json,
        })
        .filter(|r| keep(r))
        .collect();
    Ok(show(borrowed))
}

/// The rows of a claims index body `keep` keeps, borrowed; `Err` with the
/// first path (tree order) of a claim that does not parse; `None` when the
/// body is malformed.
fn borrow<'a>(
    body: &'a [u8],
    keep: &impl Fn(&RowRef<'_>) -> bool,
) -> Option<std::result::Result<Vec<RowRef<'a>>, &'a str>> {
    let mut rows = Vec::new();
    let mut unparsed = None;
    let complete = super::walk(body, |path, row| {
        match row {
            None => {
                if unparsed.is_none_or(|first| path < first) {
                    unparsed = Some(path);
                }
            }
            Some(mut bytes) => {
                let row = Claims::decode_ref(&mut bytes)?;
                if !bytes.is_empty() {
                    return None;
                }
                if keep(&row) {
                    rows.push(row);
                }
            }
        }
        Some(())
    });
    complete.then_some(match unparsed {
        Some(path) => Err(path),
        None => Ok(rows),
    })
}
