use super::*;
use crate::clock::Span;

#[test]
fn groups_sort_in_display_order_then_by_name() {
    let mut names = vec![
        "zeta.x",
        "agents.load.r",
        "claims.paused",
        "claims.active",
        "runs.failed",
        "alpha",
    ];
    names.sort_by_key(|n| display_key(n));
    assert_eq!(
        names,
        [
            "claims.active",
            "claims.paused",
            "runs.failed",
            "agents.load.r",
            "alpha",
            "zeta.x"
        ]
    );
    assert_eq!(group_of("agents.load.my.role"), "agents");
    assert_eq!(group_of("plain"), "plain");
}

#[test]
fn short_spans_read_like_the_flag() {
    assert_eq!(short_span(Span::parse("7d").unwrap()), "7d");
    assert_eq!(short_span(Span::parse("36h").unwrap()), "36h");
    assert_eq!(short_span(Span::parse("90m").unwrap()), "90m");
    assert_eq!(short_span(Span::parse("61s").unwrap()), "61s");
    assert_eq!(short_span(Span::from_secs(0)), "0s");
}

#[test]
fn control_characters_in_names_are_escaped() {
    assert_eq!(printable("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\\n");
    assert_eq!(printable("claims.active"), "claims.active");
}

mod summaries {
    use std::collections::BTreeMap;

    use crate::clock::{parse_timestamp, Span, Timestamp};
    use crate::codec::SCHEMA;
    use crate::metrics::snapshot::{Counters, MetricsSnapshot};
    use crate::metrics::summary::{buckets, render_text, sparkline, summarize, Counter, Summary, SPARK_WIDTH};

    pub fn t0() -> Timestamp {
        parse_timestamp("2026-01-01T00:00:00Z").unwrap()
    }

    pub fn hours(h: i64) -> Timestamp {
        t0() + chrono::Duration::hours(h)
    }

    pub fn snap(taken_at: Timestamp, counters: &[(&str, i64)]) -> MetricsSnapshot {
        MetricsSnapshot {
            schema: SCHEMA,
            taken_at,
            counters: counters.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            extra: Default::default(),
        }
    }

    /// Ticks at T0, T0+1h, T0+25h and T0+8d; `agents.load.rev` appears at T0+25h.
    pub fn scripted() -> Vec<MetricsSnapshot> {
        vec![
            snap(t0(), &[("claims.active", 1), ("claims.paused", 0), ("runs.failed", 0)]),
            snap(
                hours(1),
                &[("claims.active", 2), ("claims.paused", 0), ("runs.failed", 0)],
            ),
            snap(
                hours(25),
                &[
                    ("claims.active", 4),
                    ("claims.paused", 0),
                    ("runs.failed", 1),
                    ("agents.load.rev", 3),
                ],
            ),
            snap(
                hours(8 * 24),
                &[
                    ("claims.active", 7),
                    ("claims.paused", 0),
                    ("runs.failed", 1),
                    ("agents.load.rev", 2),
                ],
            ),
        ]
    }

    fn window(raw: &str) -> Span {
        Span::parse(raw).unwrap()
    }

    pub fn get<'a>(s: &'a Summary, name: &str) -> &'a Counter {
        s.counters.iter().find(|c| c.name == name).unwrap()
    }

    /// (current, start, delta) of a counter.
    fn csd(s: &Summary, name: &str) -> (i64, i64, i64) {
        let c = get(s, name);
        (c.current, c.start, c.delta)
    }

    #[test]
    fn one_day_window_counts_from_the_last_snapshot_before_it() {
        let s = summarize(&scripted(), hours(8 * 24), window("1d"));
        assert_eq!(s.window_start, hours(7 * 24));
        assert_eq!(s.baseline, Some(hours(25)));
        assert_eq!(s.latest, Some(hours(8 * 24)));
        assert_eq!(s.times, [hours(8 * 24)]);
        assert_eq!(csd(&s, "claims.active"), (7, 4, 3));
        assert_eq!(csd(&s, "runs.failed"), (1, 1, 0));
        assert_eq!(csd(&s, "agents.load.rev"), (2, 3, -1));
        let names: Vec<&str> = s.counters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["claims.active", "claims.paused", "runs.failed", "agents.load.rev"]
        );
    }

    #[test]
    fn seven_day_window_spans_the_older_ticks_and_missing_counters_count_as_zero() {
        let s = summarize(&scripted(), hours(8 * 24), window("7d"));
        assert_eq!(s.baseline, Some(hours(1)));
        assert_eq!(s.times, [hours(25), hours(8 * 24)]);
        assert!(s.baseline_before_window());
        let active = get(&s, "claims.active");
        assert_eq!((active.current, active.start, active.delta), (7, 2, 5));
        assert_eq!((active.min, active.max), (2, 7));
        assert_eq!(active.values, [4, 7]);
        let load = get(&s, "agents.load.rev");
        assert_eq!((load.current, load.start, load.delta, load.max), (2, 0, 2, 3));
        assert_eq!(csd(&s, "runs.failed"), (1, 0, 1));
    }

    #[test]
    fn snapshots_after_now_are_not_seen() {
        let s = summarize(&scripted(), hours(48), window("1d"));
        assert_eq!(s.latest, Some(hours(25)));
        assert_eq!(s.baseline, Some(hours(1)));
        assert_eq!(csd(&s, "claims.active"), (4, 2, 2));
    }

    #[test]
    fn a_snapshot_on_the_window_start_is_the_baseline_not_a_change_inside() {
        let s = summarize(&scripted(), hours(49), window("1d"));
        assert_eq!(s.baseline, Some(hours(25)));
        assert!(s.baseline_before_window());
        assert!(s.times.is_empty());
        assert_eq!(csd(&s, "claims.active"), (4, 4, 0));
    }

    #[test]
    fn without_an_older_snapshot_the_first_in_the_window_is_the_baseline() {
        let s = summarize(&scripted(), hours(8 * 24), window("30d"));
        assert_eq!(s.baseline, Some(t0()));
        assert!(!s.baseline_before_window());
        assert_eq!(s.times.len(), 4);
        assert_eq!(csd(&s, "claims.active"), (7, 1, 6));
        let text = render_text(&s);
        assert!(
            text.contains(
                "no snapshot before the window: changes count from the first one, taken 2026-01-01T00:00:00Z"
            ),
            "{text}"
        );
        // The sparkline is blank until the first snapshot... which is at the
        // window's 22nd day: 22/30 of 24 buckets.
        let trend = &get(&s, "claims.active").trend;
        assert_eq!(trend.chars().take_while(|c| *c == ' ').count(), 17, "{trend:?}");
    }

    #[test]
    fn a_quiet_window_keeps_the_latest_values_with_no_change() {
        let s = summarize(&scripted(), hours(20 * 24), window("1d"));
        assert_eq!(s.baseline, Some(hours(8 * 24)));
        assert!(s.times.is_empty());
        assert_eq!(csd(&s, "claims.active"), (7, 7, 0));
        assert_eq!(get(&s, "claims.active").trend, "▁".repeat(SPARK_WIDTH));
        assert!(render_text(&s).contains("no snapshot in the window"));
    }

    #[test]
    fn no_history_is_an_empty_summary_that_says_so() {
        let s = summarize(&scripted(), hours(-1), window("7d"));
        assert_eq!((s.latest, s.baseline), (None, None));
        assert!(s.counters.is_empty());
        assert!(render_text(&s).starts_with("no metrics snapshot taken at or before 2025-12-31T23:00:00Z"));
        let empty = summarize(&[], t0(), window("7d"));
        assert_eq!(empty, s_with_now(&s, t0()));
    }

    fn s_with_now(s: &Summary, now: Timestamp) -> Summary {
        Summary {
            now,
            window_start: Span::parse("7d").unwrap().before(now),
            ..s.clone()
        }
    }

    #[test]
    fn input_order_and_repeated_snapshots_do_not_change_the_summary() {
        let mut history = scripted();
        let forward = summarize(&history, hours(8 * 24), window("7d"));
        history.reverse();
        history.extend(scripted());
        assert_eq!(summarize(&history, hours(8 * 24), window("7d")), forward);
    }

    #[test]
    fn json_has_the_window_as_written_and_values_aligned_with_times() {
        let s = summarize(&scripted(), hours(8 * 24), window("7d"));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["window"], "7d");
        assert_eq!(json["window_start"], "2026-01-02T00:00:00Z");
        assert_eq!(json["times"].as_array().unwrap().len(), 2);
        let active = &json["counters"][0];
        assert_eq!(active["name"], "claims.active");
        assert_eq!(active["delta"], 5);
        assert_eq!(active["values"], serde_json::json!([4, 7]));
    }

    #[test]
    fn buckets_carry_the_last_value_forward() {
        let day = 86_400;
        // One point at noon of a one-day window, nothing held from before.
        let b = buckets(None, &[day / 2], &[5], day, 24);
        assert_eq!(b.iter().filter(|v| v.is_none()).count(), 11);
        assert!(b[11..].iter().all(|v| *v == Some(5)));
        // Held from before, two points; the last bucket is the current value.
        let b = buckets(Some(1), &[0, day / 4, day], &[2, 3, 9], day, 4);
        assert_eq!(b, [Some(3), Some(3), Some(3), Some(9)]);
        // A zero-length window shows the current value everywhere.
        assert_eq!(buckets(Some(1), &[0], &[4], 0, 3), [Some(4); 3]);
        assert!(buckets(Some(1), &[], &[], day, 0).is_empty());
    }

    #[test]
    fn sparklines_rise_with_the_series_and_stay_flat_when_constant() {
        let rising: Vec<Option<i64>> = (0..8).map(Some).collect();
        assert_eq!(sparkline(&rising), "▁▂▃▄▅▆▇█");
        assert_eq!(sparkline(&[Some(4); 5]), "▁▁▁▁▁");
        assert_eq!(sparkline(&[None, None, Some(0), Some(10)]), "  ▁█");
        assert_eq!(sparkline(&[Some(i64::MIN), Some(i64::MAX)]), "▁█");
        assert_eq!(sparkline(&[]), "");
    }

    #[test]
    fn text_table_rows_changes_and_folded_zero_counters() {
        let s = summarize(&scripted(), hours(8 * 24), window("7d"));
        let text = render_text(&s);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "metrics over 7d: 2026-01-02T00:00:00Z .. 2026-01-09T00:00:00Z"
        );
        assert_eq!(
            lines[1],
            "2 snapshot(s) in the window, the latest taken 2026-01-09T00:00:00Z"
        );
        assert_eq!(lines[2], "counter          now  change  trend");
        assert!(lines[3].starts_with("claims.active      7      +5  ▁"), "{text}");
        assert!(lines[3].ends_with('█'), "{text}");
        assert!(lines[4].starts_with("runs.failed        1      +1  "), "{text}");
        assert!(lines[5].starts_with("agents.load.rev    2      +2  "), "{text}");
        assert_eq!(lines[6], "1 counter at 0 throughout: claims.paused");
        assert_eq!(lines.len(), 7);
        assert_eq!(lines[3].chars().count(), lines[5].chars().count());
    }

    #[test]
    fn every_counter_at_zero_folds_into_one_wrapped_line() {
        let names: Vec<String> = (0..30).map(|i| format!("learn.decisions.level_{i}")).collect();
        let counters: Vec<(&str, i64)> = names.iter().map(|n| (n.as_str(), 0)).collect();
        let s = summarize(&[snap(t0(), &counters)], hours(1), window("1d"));
        let text = render_text(&s);
        assert!(!text.contains("counter "), "{text}");
        assert!(text.contains("all 30 counters at 0 throughout: learn.decisions.level_0,"));
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        for n in &names {
            assert!(text.contains(n.as_str()));
        }
    }

    #[test]
    fn names_from_files_cannot_reach_the_terminal_raw() {
        let s = summarize(&[snap(t0(), &[("x.\u{1b}[2J", 1)])], hours(1), window("1d"));
        let text = render_text(&s);
        assert!(!text.contains('\u{1b}'));
        assert!(text.contains("x.\\u{1b}[2J"));
    }

    #[test]
    fn a_huge_window_reaches_back_to_the_first_snapshot() {
        let s = summarize(&scripted(), hours(8 * 24), Span::from_secs(u64::MAX));
        assert_eq!(s.baseline, Some(t0()));
        assert_eq!(csd(&s, "claims.active"), (7, 1, 6));
        assert_eq!(get(&s, "claims.active").trend.chars().count(), SPARK_WIDTH);
    }

    #[test]
    fn counters_appear_once_even_when_only_some_snapshots_have_them() {
        let history = vec![
            snap(t0(), &[("b.x", 1)]),
            snap(hours(1), &[("a.y", 2), ("c.z", 3)]),
            snap(hours(2), &[("b.x", 4)]),
        ];
        let s = summarize(&history, hours(2), window("3h"));
        let got: BTreeMap<&str, Vec<i64>> = s.counters.iter().map(|c| (c.name.as_str(), c.values.clone())).collect();
        assert_eq!(got["a.y"], [0, 2, 0]);
        assert_eq!(got["b.x"], [1, 0, 4]);
        assert_eq!(got["c.z"], [0, 3, 0]);
        let _: Counters = Counters::new();
    }
}

mod charts {
    use super::summaries::{hours, scripted, snap, t0};
    use crate::clock::Span;
    use crate::metrics::summary::summarize;
    use crate::metrics::svg::render;

    /// A small XML checker: tags balance, entities are the escaped five, no
    /// raw control characters. Enough to catch unescaped text from names.
    pub fn check_xml(svg: &str) -> Result<(), String> {
        if let Some(c) = svg.chars().find(|c| (*c as u32) < 0x20 && *c != '\n') {
            return Err(format!("control character {c:?}"));
        }
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find(['<', '&']) {
            let tail = &rest[i..];
            if tail.starts_with('&') {
                let end = tail.find(';').ok_or("bare &")?;
                if !["amp", "lt", "gt", "quot", "#39"].contains(&&tail[1..end]) {
                    return Err(format!("unknown entity {}", &tail[..=end]));
                }
                rest = &tail[end + 1..];
                continue;
            }
            let end = tail.find('>').ok_or("unclosed tag")?;
            let tag = &tail[1..end];
            if tag.contains('<') {
                return Err(format!("< inside tag {tag}"));
            }
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop() != Some(name) {
                    return Err(format!("unbalanced </{name}>"));
                }
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().unwrap_or(""));
            }
            rest = &tail[end + 1..];
        }
        if stack.is_empty() {
            Ok(())
        } else {
            Err(format!("unclosed {stack:?}"))
        }
    }

    fn self_contained(svg: &str) {
        for banned in [
            "<script",
            "href",
            "url(",
            "@import",
            "<style",
            "<foreignObject",
            "NaN",
            "inf",
        ] {
            assert!(!svg.contains(banned), "{banned} in the chart");
        }
        check_xml(svg).unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    }

    #[test]
    fn chart_of_a_history_is_self_contained_deterministic_and_labelled() {
        let s = summarize(&scripted(), hours(8 * 24), Span::parse("7d").unwrap());
        let svg = render(&s);
        self_contained(&svg);
        assert_eq!(svg, render(&s));
        // One panel per group with counters, a line and an end dot per shown counter.
        for title in ["claims by state", "workflow runs by status", "agents by role"] {
            assert!(svg.contains(title), "{title}");
        }
        assert_eq!(svg.matches("<path ").count(), 3);
        assert_eq!(svg.matches("<circle ").count(), 3);
        // Dates on the time axis, values and changes in the legend, the zero counter folded.
        assert!(svg.contains(">2026-01-03<"), "{svg}");
        assert!(svg.contains(">7 (+5)<"));
        assert!(svg.contains(">+1 at 0 throughout<"));
        assert!(svg.contains("<title>claims.active: 7 now, +5 over 7d (min 2, max 7)</title>"));
    }

    #[test]
    fn one_snapshot_or_flat_values_still_draw() {
        let one = summarize(&[snap(t0(), &[("claims.active", 3)])], t0(), Span::parse("1d").unwrap());
        let svg = render(&one);
        self_contained(&svg);
        assert!(svg.contains("<circle cx=\"572.0\""), "{svg}");
        let flat = summarize(
            &[snap(t0(), &[("runs.failed", 2)]), snap(hours(5), &[("runs.failed", 2)])],
            hours(6),
            Span::from_secs(0),
        );
        self_contained(&render(&flat));
        let empty = summarize(&[], t0(), Span::parse("7d").unwrap());
        let svg = render(&empty);
        self_contained(&svg);
        assert!(svg.contains("no metrics snapshot"));
    }

    #[test]
    fn names_are_escaped_and_forbidden_characters_replaced() {
        let s = summarize(
            &[snap(t0(), &[("x.<b>&\"'\u{1}", 1), ("y.only", 0)])],
            hours(1),
            Span::parse("1d").unwrap(),
        );
        let svg = render(&s);
        self_contained(&svg);
        assert!(svg.contains("&lt;b&gt;&amp;&quot;&#39;\u{fffd}"));
        assert!(svg.contains("all 1 at 0 throughout the window"));
    }

    #[test]
    fn many_counters_in_one_group_cycle_colours_with_dashes() {
        let names: Vec<String> = (0..12).map(|i| format!("agents.load.role-{i:02}")).collect();
        let counters: Vec<(&str, i64)> = names.iter().map(|n| (n.as_str(), 1)).collect();
        let s = summarize(&[snap(t0(), &counters)], hours(1), Span::parse("1d").unwrap());
        let svg = render(&s);
        self_contained(&svg);
        assert_eq!(
            svg.matches("stroke-dasharray=\"6 3\"").count(),
            4,
            "2 lines and 2 legend swatches"
        );
    }
}

mod properties {
    use proptest::prelude::*;

    use super::charts::check_xml;
    use super::summaries::{snap, t0};
    use crate::clock::{Span, Timestamp};
    use crate::metrics::snapshot::MetricsSnapshot;
    use crate::metrics::summary::{buckets, render_text, sparkline, summarize, SPARK_WIDTH};
    use crate::metrics::svg;

    const NAMES: [&str; 5] = [
        "claims.active",
        "claims.paused",
        "runs.failed",
        "agents.load.rev",
        "odd",
    ];

    fn value() -> impl Strategy<Value = i64> {
        prop_oneof![8 => -3i64..40, 1 => any::<i64>()]
    }

    fn history() -> impl Strategy<Value = Vec<MetricsSnapshot>> {
        let counters = proptest::collection::btree_map(proptest::sample::select(&NAMES[..]), value(), 0..5);
        // Whole hours, so that snapshots often sit exactly on a window's edges.
        let at = prop_oneof![(0i64..720).prop_map(|h| h * 3600), 0i64..30 * 86_400];
        proptest::collection::vec((at, counters), 0..25).prop_map(|points| {
            points
                .into_iter()
                .map(|(secs, counters)| {
                    let counters: Vec<(&str, i64)> = counters.into_iter().collect();
                    snap(t0() + chrono::Duration::seconds(secs), &counters)
                })
                .collect()
        })
    }

    fn window() -> impl Strategy<Value = Span> {
        prop_oneof![
            4 => (0u64..960).prop_map(|h| Span::from_secs(h * 3600)),
            4 => (0u64..40 * 86_400).prop_map(Span::from_secs),
            1 => any::<u64>().prop_map(Span::from_secs),
        ]
    }

    /// The snapshot a careful reader would pick: latest by time, ties by counters.
    fn latest_at_or_before(history: &[MetricsSnapshot], t: Timestamp) -> Option<&MetricsSnapshot> {
        history
            .iter()
            .filter(|s| s.taken_at <= t)
            .max_by(|a, b| a.taken_at.cmp(&b.taken_at).then_with(|| a.counters.cmp(&b.counters)))
    }

    fn earliest_after(history: &[MetricsSnapshot], t: Timestamp, now: Timestamp) -> Option<&MetricsSnapshot> {
        history
            .iter()
            .filter(|s| s.taken_at > t && s.taken_at <= now)
            .min_by(|a, b| a.taken_at.cmp(&b.taken_at).then_with(|| a.counters.cmp(&b.counters)))
    }

    /// Names are unique.
    fn expected_len(s: &crate::metrics::Summary) -> usize {
        s.counters
            .iter()
            .map(|c| c.name.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    }

    proptest! {
        #[test]
        fn summary_matches_a_direct_reading_of_the_history(
            history in history(),
            now_secs in prop_oneof![(-24i64..840).prop_map(|h| h * 3600), -86_400i64..35 * 86_400],
            window in window(),
            pin in proptest::option::of(any::<proptest::sample::Index>()),
        ) {
            let now = t0() + chrono::Duration::seconds(now_secs);
            // Sometimes the window starts exactly at a snapshot: the edge case of "at or before".
            let pinned = pin.and_then(|i| (!history.is_empty()).then(|| &history[i.index(history.len())]));
            let window = match pinned {
                Some(h) if h.taken_at <= now => {
                    Span::from_secs((now - h.taken_at).num_seconds() as u64)
                }
                _ => window,
            };
            let s = summarize(&history, now, window);
            let latest = latest_at_or_before(&history, now);
            let baseline = latest_at_or_before(&history, s.window_start)
                .or_else(|| earliest_after(&history, s.window_start, now));
            prop_assert_eq!(s.latest, latest.map(|l| l.taken_at));
            prop_assert_eq!(s.baseline, baseline.map(|b| b.taken_at));
            for c in &s.counters {
                prop_assert_eq!(c.current, latest.map_or(0, |l| l.get(&c.name)));
                prop_assert_eq!(c.start, baseline.map_or(0, |b| b.get(&c.name)));
                prop_assert_eq!(c.delta, c.current.saturating_sub(c.start));
                prop_assert!(c.min <= c.start.min(c.current) && c.max >= c.start.max(c.current));
                prop_assert_eq!(c.values.len(), s.times.len());
                prop_assert_eq!(c.trend.chars().count(), SPARK_WIDTH);
            }
            prop_assert!(s.times.iter().all(|t| *t > s.window_start && *t <= now));
            let expected: std::collections::BTreeSet<&str> = baseline
                .into_iter()
                .chain(history.iter().filter(|h| h.taken_at > s.window_start && h.taken_at <= now))
                .flat_map(|h| h.counters.keys().map(String::as_str))
                .collect();
            let got: std::collections::BTreeSet<&str> = s.counters.iter().map(|c| c.name.as_str()).collect();
            prop_assert_eq!(got, expected);
            prop_assert_eq!(s.counters.len(), expected_len(&s));
            let mut reversed = history.clone();
            reversed.reverse();
            prop_assert_eq!(&summarize(&reversed, now, window), &s);
            let _ = render_text(&s);
            let chart = svg::render(&s);
            prop_assert!(check_xml(&chart).is_ok(), "{:?}", check_xml(&chart));
            prop_assert!(!chart.contains("NaN") && !chart.contains("inf"));
        }

        #[test]
        fn a_rising_series_never_draws_a_falling_bar(
            steps in proptest::collection::vec((1i64..5_000, 0i64..1_000), 0..40),
            held in proptest::option::of(0i64..10),
            window_secs in 0i64..200_000,
        ) {
            let (mut t, mut v) = (0i64, held.unwrap_or(0));
            let (mut offsets, mut values) = (Vec::new(), Vec::new());
            for (dt, dv) in steps {
                t += dt;
                v += dv;
                if t > window_secs {
                    break;
                }
                offsets.push(t);
                values.push(v);
            }
            let line = sparkline(&buckets(held, &offsets, &values, window_secs, SPARK_WIDTH));
            let bars: Vec<char> = line.chars().filter(|c| *c != ' ').collect();
            prop_assert!(bars.windows(2).all(|w| w[0] <= w[1]), "{}", line);
            // Blanks only lead: once a value is known, it is carried forward.
            prop_assert!(!line.trim_start().contains(' '), "{:?}", line);
        }

        #[test]
        fn a_constant_series_is_flat(
            value in any::<i64>(),
            offsets in proptest::collection::btree_set(0i64..86_400, 0..10),
        ) {
            let offsets: Vec<i64> = offsets.into_iter().collect();
            let values = vec![value; offsets.len()];
            let line = sparkline(&buckets(Some(value), &offsets, &values, 86_400, SPARK_WIDTH));
            prop_assert_eq!(line, "▁".repeat(SPARK_WIDTH));
        }
    }
}
