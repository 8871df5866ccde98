//! `daemon summary --svg FILE`: a self-contained SVG chart of a [`Summary`]
//! — no scripts, styles, fonts or links, only shapes, text and `<title>`
//! tooltips — so browsers and GitHub (which shows SVG files as images in pull
//! request comments) render it the same. One small chart per counter group,
//! a step line per counter (a value holds until the next snapshot), a time
//! axis in UTC dates, a value axis, and a legend with each counter's current
//! value and change. Counters at 0 throughout the window are folded into one
//! legend line, as in the text table. Same summary, same bytes.

use super::summary::{signed, Counter, Summary};
use super::{group_of, short_span};
use crate::clock::Timestamp;

const WIDTH: f64 = 860.0;
const MARGIN: f64 = 16.0;
const HEADER_H: f64 = 56.0;
const CHART_X: f64 = 72.0;
const CHART_W: f64 = 500.0;
const CHART_H: f64 = 120.0;
const LEGEND_X: f64 = 600.0;
const ROW: f64 = 16.0;
const TITLE_H: f64 = 24.0;
const AXIS_H: f64 = 22.0;
const GAP: f64 = 14.0;
/// Legend names longer than this are shortened (the tooltip has the full name).
const NAME_CHARS: usize = 24;

/// Tableau 10: distinct on white and for the common colour blindnesses.
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
];
/// After the palette runs out, colours repeat with these dashes.
const DASHES: [&str; 3] = ["", "6 3", "2 2"];

const FONT: &str = "Helvetica, Arial, sans-serif";
const INK: &str = "#24292f";
const MUTED: &str = "#57606a";
const GRID: &str = "#e5e7eb";

/// The counters of one group.
struct Panel<'a> {
    group: &'a str,
    shown: Vec<&'a Counter>,
    zero: Vec<&'a Counter>,
}

/// Where things go: window seconds to x, and each point's offset.
struct Frame<'a> {
    summary: &'a Summary,
    offsets: Vec<i64>,
    window_secs: i64,
}

impl Frame<'_> {
    fn x(&self, offset: i64) -> f64 {
        if self.window_secs <= 0 {
            return CHART_X + CHART_W;
        }
        CHART_X + (offset as f64 / self.window_secs as f64).clamp(0.0, 1.0) * CHART_W
    }
}

/// The chart as SVG text.
pub fn render(summary: &Summary) -> String {
    let frame = Frame {
        summary,
        offsets: summary.offsets(),
        window_secs: summary.window_seconds(),
    };
    let mut body = String::new();
    let mut top = HEADER_H;
    if summary.latest.is_none() {
        body.push_str(&text(
            MARGIN,
            top + ROW,
            12.0,
            MUTED,
            "",
            "no metrics snapshot in the history yet: the daemon takes one on each tick that changes state",
        ));
        top += 2.0 * ROW;
    }
    for p in panels(summary) {
        top += panel(&mut body, &frame, &p, top);
    }
    let height = (top + MARGIN).round();
    format!(
        concat!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" ",
            "font-family=\"{font}\" font-size=\"12\" fill=\"{ink}\">\n",
            "<title>baton metrics, {window} window to {now}</title>\n",
            "<rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n",
            "{header}{body}</svg>\n"
        ),
        w = WIDTH,
        h = height,
        font = FONT,
        ink = INK,
        window = short_span(summary.window),
        now = esc(&stamp(summary.now)),
        header = header(summary),
        body = body,
    )
}

fn stamp(t: Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn header(s: &Summary) -> String {
    let mut line = format!(
        "{} window: {} → {}",
        short_span(s.window),
        stamp(s.window_start),
        stamp(s.now)
    );
    if let Some(latest) = s.latest {
        line.push_str(&format!(
            " · {} snapshot(s) in the window · latest {}",
            s.times.len(),
            stamp(latest)
        ));
    }
    format!(
        "{}{}",
        text(MARGIN, 26.0, 16.0, INK, " font-weight=\"bold\"", "baton metrics"),
        text(MARGIN, 44.0, 12.0, MUTED, "", &line)
    )
}

fn panels(s: &Summary) -> Vec<Panel<'_>> {
    let mut out: Vec<Panel> = Vec::new();
    // Counters come sorted by group, so a group's counters are adjacent.
    for c in &s.counters {
        let group = group_of(&c.name);
        if out.last().is_none_or(|p| p.group != group) {
            out.push(Panel {
                group,
                shown: Vec::new(),
                zero: Vec::new(),
            });
        }
        if let Some(p) = out.last_mut() {
            if c.is_zero_throughout() {
                p.zero.push(c);
            } else {
                p.shown.push(c);
            }
        }
    }
    out
}

fn group_title(group: &str) -> String {
    match group {
        "claims" => "claims by state; expiries and returned handoffs".to_owned(),
        "runs" => "workflow runs by status".to_owned(),
        "steps" => "workflow steps: failures and retries".to_owned(),
        "deliveries" => "deliveries by phase".to_owned(),
        "agents" => "agents by role: load, capacity, healthy".to_owned(),
        "learn" => "learn: risk decisions by level".to_owned(),
        other => other.to_owned(),
    }
}

/// Draws one group at `top`; returns the height it took.
fn panel(out: &mut String, frame: &Frame, p: &Panel, top: f64) -> f64 {
    out.push_str(&text(
        MARGIN,
        top + 16.0,
        13.0,
        INK,
        " font-weight=\"bold\"",
        &group_title(p.group),
    ));
    let chart_top = top + TITLE_H;
    if p.shown.is_empty() {
        let names: Vec<&str> = p.zero.iter().map(|c| c.name.as_str()).collect();
        out.push_str(&titled(
            &names.join(", "),
            &text(
                MARGIN,
                chart_top + 12.0,
                12.0,
                MUTED,
                "",
                &format!("all {} at 0 throughout the window", p.zero.len()),
            ),
        ));
        return TITLE_H + ROW + GAP;
    }
    let scale = Scale::of(&p.shown);
    axes(out, frame, &scale, chart_top);
    for (i, c) in p.shown.iter().enumerate() {
        series(out, frame, &scale, chart_top, c, i);
    }
    let rows = legend(out, frame.summary, p, chart_top);
    TITLE_H + (CHART_H + AXIS_H).max(rows as f64 * ROW) + GAP
}

/// The largest power of ten not above `x` (`x` >= 0.1), as
/// `10f64.powf(x.log10().floor())` — without libm: a function of libm
/// would make every baton process load it (docs/performance.md, "Process
/// start"). Powers of ten up to 1e22 are exact in an `f64`, so the
/// products are the same numbers `powf` gives.
fn power_of_ten_below(x: f64) -> f64 {
    let mut magnitude = 1.0;
    while magnitude * 10.0 <= x {
        magnitude *= 10.0;
    }
    while magnitude > x {
        magnitude /= 10.0;
    }
    magnitude
}

/// The value axis of one panel: `ticks + 1` round numbers from `bottom` in `step`s.
struct Scale {
    bottom: f64,
    step: f64,
    ticks: usize,
}

impl Scale {
    fn of(counters: &[&Counter]) -> Scale {
        let lo = counters.iter().map(|c| c.min).min().unwrap_or(0).min(0) as f64;
        let hi = counters.iter().map(|c| c.max).max().unwrap_or(0) as f64;
        // Near i64::MIN, `lo + 1.0 == lo`: the range, not `hi`, gets the floor.
        let raw = (hi - lo).max(1.0) / 5.0;
        let magnitude = power_of_ten_below(raw);
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * magnitude)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * magnitude)
            .max(1.0);
        let bottom = (lo / step).floor() * step;
        let top = (hi / step).ceil() * step;
        // A step of at least a fifth of the range makes 5 to 7 ticks; the clamp only guards rounding.
        let ticks = ((top - bottom) / step).round().clamp(1.0, 8.0) as usize;
        Scale { bottom, step, ticks }
    }

    fn top(&self) -> f64 {
        self.bottom + self.step * self.ticks as f64
    }

    fn y(&self, chart_top: f64, v: f64) -> f64 {
        let span = (self.top() - self.bottom).max(1.0);
        chart_top + CHART_H - ((v - self.bottom) / span).clamp(0.0, 1.0) * CHART_H
    }
}

fn axes(out: &mut String, frame: &Frame, scale: &Scale, chart_top: f64) {
    for k in 0..=scale.ticks {
        let v = scale.bottom + scale.step * k as f64;
        let y = scale.y(chart_top, v);
        out.push_str(&line(CHART_X, y, CHART_X + CHART_W, y, GRID));
        out.push_str(&text(
            CHART_X - 6.0,
            y + 4.0,
            11.0,
            MUTED,
            " text-anchor=\"end\"",
            &number(v),
        ));
    }
    let bottom = chart_top + CHART_H;
    for (offset, label) in time_ticks(frame) {
        let x = frame.x(offset);
        out.push_str(&line(x, chart_top, x, bottom + 4.0, GRID));
        out.push_str(&text(x, bottom + 16.0, 11.0, MUTED, " text-anchor=\"middle\"", &label));
    }
    out.push_str(&line(CHART_X, bottom, CHART_X + CHART_W, bottom, MUTED));
}

fn number(v: f64) -> String {
    format!("{v:.0}")
}

/// Round UTC times inside the window (at most six), as offsets from its start, with labels.
fn time_ticks(frame: &Frame) -> Vec<(i64, String)> {
    const MIN: i64 = 60;
    const HOUR: i64 = 3600;
    const DAY: i64 = 86_400;
    const STEPS: [i64; 15] = [
        MIN,
        5 * MIN,
        15 * MIN,
        30 * MIN,
        HOUR,
        3 * HOUR,
        6 * HOUR,
        12 * HOUR,
        DAY,
        2 * DAY,
        7 * DAY,
        14 * DAY,
        30 * DAY,
        91 * DAY,
        365 * DAY,
    ];
    let w = frame.window_secs;
    if w <= 0 {
        return Vec::new();
    }
    let step = STEPS
        .into_iter()
        .find(|s| w / s <= 6)
        .unwrap_or_else(|| (w / 5 / (365 * DAY) + 1) * 365 * DAY);
    let format = if step >= DAY {
        "%Y-%m-%d"
    } else if w >= DAY {
        "%m-%d %H:%M"
    } else {
        "%H:%M"
    };
    let start = frame.summary.window_start.timestamp();
    let first = start.div_euclid(step) * step + if start.rem_euclid(step) == 0 { 0 } else { step };
    (0..)
        .map(|k| first + k * step)
        .take_while(|t| t - start <= w)
        .filter_map(|t| {
            Some((
                t - start,
                chrono::DateTime::from_timestamp(t, 0)?.format(format).to_string(),
            ))
        })
        .collect()
}

fn style(i: usize) -> (&'static str, &'static str) {
    (PALETTE[i % PALETTE.len()], DASHES[(i / PALETTE.len()) % DASHES.len()])
}

/// One counter's step line, from the window start (or its first snapshot) to now.
fn series(out: &mut String, frame: &Frame, scale: &Scale, chart_top: f64, c: &Counter, i: usize) {
    let y = |v: i64| scale.y(chart_top, v as f64);
    let mut d = String::new();
    let mut last = None;
    if frame.summary.baseline_before_window() {
        d.push_str(&format!("M{:.1} {:.1}", frame.x(0), y(c.start)));
        last = Some(c.start);
    }
    for (offset, v) in frame.offsets.iter().zip(&c.values) {
        match last {
            None => d.push_str(&format!("M{:.1} {:.1}", frame.x(*offset), y(*v))),
            Some(prev) if prev != *v => d.push_str(&format!("H{:.1}V{:.1}", frame.x(*offset), y(*v))),
            Some(_) => {}
        }
        last = Some(*v);
    }
    let end_x = frame.x(frame.window_secs);
    d.push_str(&format!("H{end_x:.1}"));
    let (colour, dash) = style(i);
    let dash = if dash.is_empty() {
        String::new()
    } else {
        format!(" stroke-dasharray=\"{dash}\"")
    };
    let shape = format!(
        "<path d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.8\"{dash}/>\n<circle cx=\"{end_x:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{colour}\"/>\n",
        y(c.current)
    );
    out.push_str(&titled(&tooltip(frame.summary, c), &shape));
}

fn tooltip(s: &Summary, c: &Counter) -> String {
    format!(
        "{}: {} now, {} over {} (min {}, max {})",
        c.name,
        c.current,
        signed(c.delta),
        short_span(s.window),
        c.min,
        c.max
    )
}

/// The legend right of the chart; returns the rows it used.
fn legend(out: &mut String, s: &Summary, p: &Panel, chart_top: f64) -> usize {
    let mut rows = 0;
    for (i, c) in p.shown.iter().enumerate() {
        let y = chart_top + ROW * i as f64;
        let (colour, dash) = style(i);
        let dash = if dash.is_empty() {
            String::new()
        } else {
            format!(" stroke-dasharray=\"{dash}\"")
        };
        let name = c
            .name
            .strip_prefix(p.group)
            .and_then(|n| n.strip_prefix('.'))
            .unwrap_or(&c.name);
        let row = format!(
            "<line x1=\"{LEGEND_X}\" y1=\"{:.1}\" x2=\"{}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-width=\"2.5\"{dash}/>\n{}{}",
            y + 8.0,
            LEGEND_X + 16.0,
            y + 8.0,
            text(LEGEND_X + 22.0, y + 12.0, 12.0, INK, "", &shorten(name)),
            text(
                WIDTH - MARGIN,
                y + 12.0,
                12.0,
                INK,
                " text-anchor=\"end\"",
                &format!("{} ({})", c.current, signed(c.delta))
            ),
        );
        out.push_str(&titled(&tooltip(s, c), &row));
        rows += 1;
    }
    if !p.zero.is_empty() {
        let names: Vec<&str> = p.zero.iter().map(|c| c.name.as_str()).collect();
        let y = chart_top + ROW * rows as f64;
        let label = format!("+{} at 0 throughout", p.zero.len());
        out.push_str(&titled(
            &names.join(", "),
            &text(LEGEND_X + 22.0, y + 12.0, 12.0, MUTED, "", &label),
        ));
        rows += 1;
    }
    rows
}

fn shorten(name: &str) -> String {
    if name.chars().count() <= NAME_CHARS {
        name.to_owned()
    } else {
        let mut s: String = name.chars().take(NAME_CHARS - 1).collect();
        s.push('…');
        s
    }
}

fn line(x1: f64, y1: f64, x2: f64, y2: f64, colour: &str) -> String {
    format!(
        "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"{colour}\" stroke-width=\"1\"/>\n"
    )
}

/// A text element; `attrs` are extra attributes (constant, already valid markup).
fn text(x: f64, y: f64, size: f64, colour: &str, attrs: &str, content: &str) -> String {
    format!(
        "<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"{size}\" fill=\"{colour}\"{attrs}>{}</text>\n",
        esc(content)
    )
}

/// Shapes with a hover tooltip.
fn titled(title: &str, inner: &str) -> String {
    format!("<g><title>{}</title>\n{inner}</g>\n", esc(title))
}

/// Text as XML character data or attribute value: markup characters escaped,
/// and characters XML 1.0 forbids (most C0 controls) replaced, since counter
/// names come from files anyone could have edited.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || matches!(c, '\u{fffe}' | '\u{ffff}') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod scale_tests {
    use super::power_of_ten_below;
    use proptest::prelude::*;

    #[test]
    fn powers_of_ten_are_their_own_magnitude() {
        for k in -1..=18 {
            let p = 10f64.powi(k);
            assert_eq!(power_of_ten_below(p), 10f64.powf(p.log10().floor()), "1e{k}");
        }
    }

    proptest! {
        /// The same magnitude as libm's `powf`/`log10` over the ranges the
        /// axis sees (a fifth of a counter range: 0.2 to ~3.7e18).
        #[test]
        fn the_magnitude_is_libms(raw in 0.2f64..4e18, small in 0.2f64..1000.0) {
            for x in [raw, small] {
                prop_assert_eq!(power_of_ten_below(x), 10f64.powf(x.log10().floor()), "{}", x);
            }
        }
    }
}
