//! Claim rows borrowed straight from the claims index file: when the file
//! is the current tree's, a listing decodes each row in place (no copy of
//! a field, no allocation per claim) and hands them to its caller; listing
//! 100 000 claims is then a pass over one file. Otherwise the rows are
//! brought up to date as every read does, and lent from the owned rows.

use super::{broken, file, read_file, refresh, split, Claims, Collection};
use crate::claims::{Row, RowRef};
use crate::error::Result;
use crate::ids::AgentId;
use crate::store::{Snapshot, Store};

/// `show` applied to every claim's row in tree order, refused as
/// [`super::strict_rows`] refuses (the first claim file that does not parse).
pub fn with_claim_rows<T>(store: &Store, snap: &Snapshot<'_>, show: impl FnOnce(Vec<RowRef<'_>>) -> T) -> Result<T> {
    let Some(key) = snap.subtree(Claims::DIR)? else {
        return Ok(show(Vec::new()));
    };
    let path = file::<Claims>(store);
    let data = read_file(&path);
    if let Some((indexed, body)) = data.as_deref().and_then(split::<Claims>) {
        if indexed == key {
            match borrow(body) {
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
    let mut rows: Vec<Row> = Vec::with_capacity(items.len());
    for item in items {
        rows.push(match item.row {
            Some(row) => row,
            None => broken::<Claims>(snap, &item.path)?,
        });
    }
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
        .collect();
    Ok(show(borrowed))
}

/// Every row of a claims index body, borrowed; `Err` with the path of the
/// first claim that does not parse; `None` when the body is malformed.
fn borrow(body: &[u8]) -> Option<std::result::Result<Vec<RowRef<'_>>, &str>> {
    let mut rows = Vec::new();
    let mut unparsed = None;
    let complete = super::walk(body, |path, row| {
        match row {
            None => {
                unparsed.get_or_insert(path);
            }
            Some(mut row) => {
                rows.push(Claims::decode_ref(&mut row)?);
                if !row.is_empty() {
                    return None;
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
