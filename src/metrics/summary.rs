//! `daemon summary` (docs/daemon.md): from a history of snapshots, each
//! counter's current value, its change over a window measured on `taken_at`,
//! its range and series inside the window, a sparkline, and the text table.
//!
//! The window is `(now - window, now]`. Its *baseline* is the last snapshot
//! taken at or before the window start, i.e. the values in effect when the
//! window began; when no snapshot is that old, it is the first snapshot inside
//! the window, so the change counts from the first record there is. Snapshots
//! taken after `now` are ignored: with `BATON_NOW` in the past the summary
//! shows the history as it was then. A counter missing from a snapshot counts
//! as 0 there (a role with no agents yet, a counter a newer baton added).

use serde::{Serialize, Serializer};

use super::snapshot::MetricsSnapshot;
use super::{display_key, printable, short_span};
use crate::clock::{format_timestamp, Span, Timestamp};

/// Sparkline resolution: buckets over the window.
pub const SPARK_WIDTH: usize = 24;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// What `daemon summary --json` prints (the CLI adds the reconcile report).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub now: Timestamp,
    #[serde(serialize_with = "serialize_short_span")]
    pub window: Span,
    pub window_start: Timestamp,
    /// `taken_at` of the snapshot the changes count from.
    pub baseline: Option<Timestamp>,
    /// `taken_at` of the latest snapshot at or before `now`.
    pub latest: Option<Timestamp>,
    /// `taken_at` of every snapshot inside the window, oldest first.
    pub times: Vec<Timestamp>,
    pub counters: Vec<Counter>,
}

/// One counter over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Counter {
    pub name: String,
    /// Its value in the latest snapshot.
    pub current: i64,
    /// Its value in the baseline snapshot.
    pub start: i64,
    /// `current - start` (saturating).
    pub delta: i64,
    /// The range over the baseline and every snapshot inside the window.
    pub min: i64,
    pub max: i64,
    /// The sparkline, [`SPARK_WIDTH`] characters.
    pub trend: String,
    /// Its value at each of [`Summary::times`].
    pub values: Vec<i64>,
}

impl Counter {
    /// 0 at the baseline and at every snapshot in the window.
    pub fn is_zero_throughout(&self) -> bool {
        self.min == 0 && self.max == 0
    }
}

fn serialize_short_span<S: Serializer>(span: &Span, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&short_span(*span))
}

impl Summary {
    /// Seconds from the window start to each of [`Summary::times`]; all in `0..=window_seconds()`.
    pub fn offsets(&self) -> Vec<i64> {
        self.times.iter().map(|t| seconds(self.window_start, *t)).collect()
    }

    /// The window's length in seconds as it was applied (shorter than asked when it reaches before time began).
    pub fn window_seconds(&self) -> i64 {
        seconds(self.window_start, self.now)
    }

    /// The baseline is older than the window, so its values held from the window's start.
    pub fn baseline_before_window(&self) -> bool {
        self.baseline.is_some_and(|b| b <= self.window_start)
    }
}

fn seconds(from: Timestamp, to: Timestamp) -> i64 {
    (to - from).num_seconds()
}

/// Summarize `history` (any order; identical snapshots counted once) as of `now` over `window`.
pub fn summarize(history: &[MetricsSnapshot], now: Timestamp, window: Span) -> Summary {
    let mut seen: Vec<&MetricsSnapshot> = history.iter().filter(|s| s.taken_at <= now).collect();
    // Ties on taken_at are ordered by counters, so the input order never shows.
    seen.sort_by(|a, b| a.taken_at.cmp(&b.taken_at).then_with(|| a.counters.cmp(&b.counters)));
    // A history walk through merges can meet the same snapshot twice.
    seen.dedup_by(|a, b| a.taken_at == b.taken_at && a.counters == b.counters);

    let window_start = window.before(now);
    let split = seen.partition_point(|s| s.taken_at <= window_start);
    let inside = &seen[split..];
    let older = split.checked_sub(1).map(|i| seen[i]);
    let baseline = older.or_else(|| inside.first().copied());

    let names = counter_names(baseline.iter().chain(inside).copied());
    let columns = columns(&names, inside);
    let offsets: Vec<i64> = inside.iter().map(|s| seconds(window_start, s.taken_at)).collect();
    let window_secs = seconds(window_start, now);

    let mut counters: Vec<Counter> = names
        .iter()
        .zip(columns)
        .map(|(name, values)| {
            let start = baseline.map_or(0, |b| b.get(name));
            let held = older.map(|b| b.get(name));
            let trend = sparkline(&buckets(held, &offsets, &values, window_secs, SPARK_WIDTH));
            counter(name, start, values, trend)
        })
        .collect();
    counters.sort_by(|a, b| display_key(&a.name).cmp(&display_key(&b.name)));
    Summary {
        now,
        window,
        window_start,
        baseline: baseline.map(|s| s.taken_at),
        latest: seen.last().map(|s| s.taken_at),
        times: inside.iter().map(|s| s.taken_at).collect(),
        counters,
    }
}

fn counter(name: &str, start: i64, values: Vec<i64>, trend: String) -> Counter {
    let current = values.last().copied().unwrap_or(start);
    let (min, max) = values
        .iter()
        .fold((start, start), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    Counter {
        name: name.to_owned(),
        current,
        start,
        delta: current.saturating_sub(start),
        min,
        max,
        trend,
        values,
    }
}

/// Every counter name in `snapshots`, sorted. Snapshots nearly always have
/// the names already collected, which one walk of equal pairs confirms.
fn counter_names<'a>(snapshots: impl Iterator<Item = &'a MetricsSnapshot>) -> Vec<&'a str> {
    let mut names: Vec<&str> = Vec::new();
    for s in snapshots {
        let same = s.counters.len() == names.len() && s.counters.keys().zip(&names).all(|(k, n)| k == n);
        if !same {
            names = sorted_union(&names, s.counters.keys().map(String::as_str));
        }
    }
    names
}

fn sorted_union<'a>(a: &[&'a str], b: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out = Vec::with_capacity(a.len());
    let mut a = a.iter().copied().peekable();
    for name in b {
        while let Some(smaller) = a.next_if(|n| *n < name) {
            out.push(smaller);
        }
        a.next_if_eq(&name);
        out.push(name);
    }
    out.extend(a);
    out
}

/// Each counter's value at each snapshot: one merge walk per snapshot, as
/// both `names` and a snapshot's counters are sorted, so the cost is linear.
fn columns(names: &[&str], snapshots: &[&MetricsSnapshot]) -> Vec<Vec<i64>> {
    let mut columns = vec![Vec::with_capacity(snapshots.len()); names.len()];
    for s in snapshots {
        let mut have = s.counters.iter().peekable();
        for (column, name) in columns.iter_mut().zip(names) {
            while have.next_if(|(k, _)| k.as_str() < *name).is_some() {}
            let v = have.next_if(|(k, _)| k.as_str() == *name).map_or(0, |(_, v)| *v);
            column.push(v);
        }
    }
    columns
}

/// Resample a series to `width` equal buckets over `0..=window_secs`: each
/// bucket shows the value in effect at its end (the last one taken at or
/// before it), so empty buckets carry the last value forward. `held` is the
/// value in effect from the window's start; without it, buckets before the
/// first point are `None`.
pub fn buckets(held: Option<i64>, offsets: &[i64], values: &[i64], window_secs: i64, width: usize) -> Vec<Option<i64>> {
    let mut out = Vec::with_capacity(width);
    let mut value = held;
    let mut points = offsets.iter().zip(values).peekable();
    for i in 0..width {
        let end = (i as i128 + 1) * i128::from(window_secs) / width as i128;
        while let Some((_, v)) = points.next_if(|(t, _)| i128::from(**t) <= end) {
            value = Some(*v);
        }
        out.push(value);
    }
    out
}

/// Bars scaled from the lowest to the highest bucket; a constant series is
/// flat at the bottom; a bucket without a value is a space.
pub fn sparkline(buckets: &[Option<i64>]) -> String {
    let lo = buckets.iter().flatten().min().copied().unwrap_or(0);
    let hi = buckets.iter().flatten().max().copied().unwrap_or(0);
    let range = i128::from(hi) - i128::from(lo);
    buckets
        .iter()
        .map(|b| match b {
            None => ' ',
            Some(_) if range == 0 => BARS[0],
            Some(v) => {
                let top = (BARS.len() - 1) as i128;
                let level = (i128::from(*v) - i128::from(lo)) * top / range;
                BARS[level.clamp(0, top) as usize]
            }
        })
        .collect()
}

/// `+3`, `-1`, `0`.
pub fn signed(delta: i64) -> String {
    if delta > 0 {
        format!("+{delta}")
    } else {
        delta.to_string()
    }
}

/// The terminal table: a header line, one row per counter that was not 0
/// throughout the window (name, current, change, sparkline), and one folded
/// line naming the counters that were.
pub fn render_text(s: &Summary) -> String {
    let mut out = header(s);
    let (zero, shown): (Vec<&Counter>, Vec<&Counter>) = s.counters.iter().partition(|c| c.is_zero_throughout());
    if !shown.is_empty() {
        let rows: Vec<[String; 3]> = shown
            .iter()
            .map(|c| [printable(&c.name), c.current.to_string(), signed(c.delta)])
            .collect();
        let width = |i: usize, title: &str| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([title.len()])
                .max()
                .unwrap_or(0)
        };
        let (wn, wc, wd) = (width(0, "counter"), width(1, "now"), width(2, "change"));
        out.push_str(&format!(
            "{:<wn$}  {:>wc$}  {:>wd$}  trend\n",
            "counter", "now", "change"
        ));
        for (row, c) in rows.iter().zip(&shown) {
            let name = format!("{}{}", row[0], " ".repeat(wn.saturating_sub(row[0].chars().count())));
            out.push_str(&format!("{name}  {:>wc$}  {:>wd$}  {}\n", row[1], row[2], c.trend));
        }
    }
    if !zero.is_empty() {
        let all = if shown.is_empty() { "all " } else { "" };
        let names: Vec<String> = zero.iter().map(|c| printable(&c.name)).collect();
        out.push_str(&wrap(
            &format!(
                "{all}{} counter{} at 0 throughout: {}",
                zero.len(),
                if zero.len() == 1 { "" } else { "s" },
                names.join(", ")
            ),
            100,
        ));
    }
    out
}

fn header(s: &Summary) -> String {
    let (Some(latest), Some(baseline)) = (s.latest, s.baseline) else {
        return format!(
            "no metrics snapshot taken at or before {}; the daemon takes one on each tick that changes state\n",
            format_timestamp(&s.now)
        );
    };
    let mut out = format!(
        "metrics over {}: {} .. {}\n{} snapshot(s) in the window, the latest taken {}\n",
        short_span(s.window),
        format_timestamp(&s.window_start),
        format_timestamp(&s.now),
        s.times.len(),
        format_timestamp(&latest),
    );
    if s.times.is_empty() {
        out.push_str("no snapshot in the window: the counters held still since the latest one\n");
    } else if !s.baseline_before_window() {
        out.push_str(&format!(
            "no snapshot before the window: changes count from the first one, taken {}\n",
            format_timestamp(&baseline)
        ));
    }
    out
}

/// Break a long line at `, ` so it fits `width` columns; continuation lines indented.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for (i, part) in text.split(", ").enumerate() {
        let piece = if i == 0 { part.to_owned() } else { format!(", {part}") };
        // One column is kept for the comma a break adds.
        if !line.is_empty() && line.chars().count() + piece.chars().count() + 1 > width {
            out.push_str(line.trim_end());
            out.push_str(",\n");
            line = format!("  {}", piece.trim_start_matches(", "));
        } else {
            line.push_str(&piece);
        }
    }
    out.push_str(&line);
    out.push('\n');
    out
}
