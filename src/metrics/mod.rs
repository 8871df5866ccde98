//! Metrics (docs/daemon.md): the counters of a snapshot computed from loaded
//! state ([`snapshot`]), the summary of a snapshot history over a window
//! ([`summary`]: currents, deltas, sparklines, the text table) and the SVG
//! chart of it ([`svg`]). Pure functions only: the daemon loads the state and
//! walks the git history of `metrics/snapshot.json`, then calls these.
//!
//! Counter names are dotted, `<group>.<name>[.<key>]`; the group (the part
//! before the first dot) decides where a counter is shown. `docs/metrics.md`
//! lists every counter.

pub mod snapshot;
pub mod summary;
pub mod svg;

pub use snapshot::{
    compute, compute_tallied, due, same_counters, BadCounter, Due, Inputs, MetricsSnapshot, Tally, Tick,
};
pub use summary::{render_text, summarize, Counter, Summary};

/// Groups in the order they are shown; any other group follows, by name.
pub const GROUPS: [&str; 6] = ["claims", "runs", "steps", "deliveries", "agents", "learn"];

/// The group of a counter: the part of its name before the first dot.
pub fn group_of(name: &str) -> &str {
    name.split_once('.').map_or(name, |(group, _)| group)
}

/// Sort key that shows counters group by group (in [`GROUPS`] order), by name within a group.
pub fn display_key(name: &str) -> (usize, &str, &str) {
    let group = group_of(name);
    let rank = GROUPS.iter().position(|g| *g == group).unwrap_or(GROUPS.len());
    (rank, group, name)
}

/// A duration as the `--window` flag takes it (`7d`, `36h`, `90m`), for labels.
pub fn short_span(span: crate::clock::Span) -> String {
    let secs = span.as_std().as_secs();
    match secs {
        0 => "0s".to_owned(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// A name read from a file, made safe for one terminal line: control
/// characters (a hand-edited snapshot could hold any) are shown escaped.
fn printable(name: &str) -> String {
    name.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests;
