//! Time: the clock every command reads (overridable with `BATON_NOW` for tests
//! and demos of expiry and trends) and durations, parsed once into [`Span`].

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};

use crate::error::with_cause;

pub type Timestamp = DateTime<Utc>;

/// A time that is not RFC 3339; the parser's account is the source. The
/// code and hint are given where it becomes the user's error
/// (`ops::refusals`), which shows the cause in parentheses after this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{raw:?} is not an RFC 3339 time")]
pub struct BadTime {
    pub raw: String,
    #[source]
    pub source: chrono::ParseError,
}

/// `BATON_NOW` is set to something that is not a time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("BATON_NOW: {0}")]
pub struct BadNow(#[source] pub BadTime);

/// A duration baton cannot use; the code and hint are given where it
/// becomes the user's error (`ops::refusals`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BadDuration {
    /// Not a duration at all; humantime's account is the source. `bounds`
    /// are the ones it had to lie in, where a person gave it (`None`: read
    /// back from the state).
    #[error("{raw:?} is not a duration")]
    NotADuration {
        raw: String,
        bounds: Option<Bounds>,
        #[source]
        source: humantime::DurationError,
    },
    /// A duration outside `bounds` (`given` is the text, trimmed).
    #[error("{given:?} is out of range: durations here are {}", bounds.describe())]
    OutOfRange { given: String, bounds: Bounds },
}

impl BadDuration {
    /// How a duration is written here, as a refusal's hint or a problem's
    /// note shows it.
    pub fn form(&self) -> String {
        match self {
            BadDuration::NotADuration { bounds: None, .. } => "write durations like 90s, 30m, 48h or 7d".to_owned(),
            BadDuration::NotADuration {
                bounds: Some(bounds), ..
            }
            | BadDuration::OutOfRange { bounds, .. } => {
                format!("write a duration {}, such as 90s, 30m, 48h or 7d", bounds.describe())
            }
        }
    }
}

/// The current time, second precision, RFC 3339 UTC; `BATON_NOW` overrides it.
pub fn now() -> Result<Timestamp, BadNow> {
    match std::env::var("BATON_NOW") {
        Ok(raw) if !raw.is_empty() => parse_timestamp(&raw).map_err(BadNow),
        _ => Ok(Utc::now().trunc_subsecs(0)),
    }
}

pub fn parse_timestamp(raw: &str) -> Result<Timestamp, BadTime> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(0))
        .map_err(|source| BadTime {
            raw: raw.to_owned(),
            source,
        })
}

/// RFC 3339 with a `Z`, the one way timestamps are written.
pub fn format_timestamp(t: &Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The longest duration baton accepts anywhere: ten years, as `10y` is
/// counted (365.25 days a year). Long enough for any lease or threshold,
/// short enough that adding it to any clock reading cannot overflow.
pub const MAX_SPAN: std::time::Duration = std::time::Duration::from_secs(315_576_000);

/// The range a duration must lie in where it is given (docs/command-handbook.md, `config`; docs/workflows.md;
/// docs/command-handbook.md lists which use has which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub min: std::time::Duration,
    pub max: std::time::Duration,
}

impl Bounds {
    /// Timeouts, leases, thresholds, intervals: zero would make no sense.
    pub const POSITIVE: Bounds = Bounds {
        min: std::time::Duration::from_secs(1),
        max: MAX_SPAN,
    };
    /// Waits (`retry_backoff`): zero means "at once".
    pub const WAIT: Bounds = Bounds {
        min: std::time::Duration::ZERO,
        max: MAX_SPAN,
    };

    /// The range, as a refusal says it ("from 1s to 10y").
    pub fn describe(self) -> String {
        format!("from {} to {}", humantime::format_duration(self.min), Span::MAX_TEXT)
    }
}

/// How many bytes of the text a duration was written with are kept (inline,
/// so a [`Span`] stays `Copy`); longer texts display in humantime's form.
const WRITTEN_MAX: usize = 30;

/// A duration as people write it (`90s`, `30m`, `48h`, `7d`), parsed once.
/// It keeps the text it was written with, which is how it displays and is
/// stored again (`24h` stays `24h`); it compares by the duration.
#[derive(Clone, Copy)]
pub struct Span {
    duration: std::time::Duration,
    /// The first `len` bytes of `text` as written; `len == 0`: not kept.
    len: u8,
    text: [u8; WRITTEN_MAX],
}

impl Span {
    const MAX_TEXT: &'static str = "10y";

    /// A duration given by a person (a flag, `config set`): at least 1s, at most 10y.
    pub fn parse(raw: &str) -> Result<Span, BadDuration> {
        Span::parse_within(raw, Bounds::POSITIVE)
    }

    /// A duration given by a person, within `bounds`.
    pub fn parse_within(raw: &str, bounds: Bounds) -> Result<Span, BadDuration> {
        let span = Span::parse_stored(raw).map_err(|e| match e {
            BadDuration::NotADuration { raw, source, .. } => BadDuration::NotADuration {
                raw,
                bounds: Some(bounds),
                source,
            },
            out_of_range => out_of_range,
        })?;
        if span.duration < bounds.min || span.duration > bounds.max {
            return Err(BadDuration::OutOfRange {
                given: raw.trim().to_owned(),
                bounds,
            });
        }
        Ok(span)
    }

    /// A duration read back from the state, where a value out of today's
    /// bounds may have been written by hand or by an older baton: it loads
    /// (arithmetic on it saturates), so one odd value cannot make every
    /// command that reads the config fail.
    pub fn parse_stored(raw: &str) -> Result<Span, BadDuration> {
        let text = raw.trim();
        let duration = humantime::parse_duration(text).map_err(|source| BadDuration::NotADuration {
            raw: raw.to_owned(),
            bounds: None,
            source,
        })?;
        Ok(Span::written(duration, text))
    }

    fn written(duration: std::time::Duration, text: &str) -> Span {
        let mut span = Span {
            duration,
            len: 0,
            text: [0; WRITTEN_MAX],
        };
        if text.len() <= WRITTEN_MAX {
            span.text[..text.len()].copy_from_slice(text.as_bytes());
            span.len = text.len() as u8;
        }
        span
    }

    /// Whole seconds, written `<n>s`.
    pub fn from_secs(secs: u64) -> Span {
        Span::written(std::time::Duration::from_secs(secs), &format!("{secs}s"))
    }

    pub fn as_std(self) -> std::time::Duration {
        self.duration
    }

    pub fn as_chrono(self) -> chrono::Duration {
        chrono::Duration::from_std(self.duration).unwrap_or(chrono::Duration::MAX)
    }

    /// `t + self`, saturating instead of overflowing on absurd durations.
    pub fn after(self, t: Timestamp) -> Timestamp {
        t.checked_add_signed(self.as_chrono())
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// `t - self`, saturating.
    pub fn before(self, t: Timestamp) -> Timestamp {
        t.checked_sub_signed(self.as_chrono())
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

impl PartialEq for Span {
    fn eq(&self, other: &Span) -> bool {
        self.duration == other.duration
    }
}

impl Eq for Span {}

impl PartialOrd for Span {
    fn partial_cmp(&self, other: &Span) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Span {
    fn cmp(&self, other: &Span) -> std::cmp::Ordering {
        self.duration.cmp(&other.duration)
    }
}

impl FromStr for Span {
    type Err = BadDuration;
    fn from_str(s: &str) -> Result<Span, BadDuration> {
        Span::parse(s)
    }
}

impl serde::Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Span, D::Error> {
        let raw = <String as serde::Deserialize>::deserialize(d)?;
        Span::parse_stored(&raw).map_err(|e| serde::de::Error::custom(with_cause(&e)))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(&self.text[..usize::from(self.len)]) {
            Ok(text) if !text.is_empty() => f.write_str(text),
            _ => write!(f, "{}", humantime::format_duration(self.duration)),
        }
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Span({:?}, {:?})", self.to_string(), self.duration)
    }
}

/// How long ago `then` was, for display ("3h 2m"); never negative.
pub fn age(now: Timestamp, then: Timestamp) -> String {
    let secs = (now - then).num_seconds().max(0) as u64;
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}

/// Serde for optional spans stored as strings where "" means unset
/// (`default_lease = ""`).
pub mod optional_span {
    use super::Span;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Span>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(span) => s.collect_str(span),
            None => s.serialize_str(""),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Span>, D::Error> {
        let raw = String::deserialize(d)?;
        if raw.trim().is_empty() {
            return Ok(None);
        }
        Span::parse_stored(&raw)
            .map(Some)
            .map_err(|e| serde::de::Error::custom(crate::error::with_cause(&e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{code, Error};

    /// The refusal as the user's error.
    fn user(e: BadDuration) -> Error {
        Error::from(e)
    }

    #[test]
    fn spans_parse_people_durations() {
        assert_eq!(Span::parse("48h").unwrap().as_std().as_secs(), 48 * 3600);
        assert_eq!(Span::parse("7d").unwrap().as_std().as_secs(), 7 * 86400);
        assert_eq!(user(Span::parse("").unwrap_err()).exit_code(), 2);
        assert_eq!(user(Span::parse("-1s").unwrap_err()).exit_code(), 2);
        assert_eq!(user(Span::parse("soon").unwrap_err()).exit_code(), 2);
    }

    #[test]
    fn spans_have_bounds_that_errors_state() {
        for raw in ["0s", "999ms", "500000000000y", "10y 1s"] {
            let e = user(Span::parse(raw).unwrap_err());
            assert_eq!(e.code, code::INVALID_DURATION, "{raw}");
            assert!(e.message().contains("from 1s to 10y"), "{raw}: {}", e.message());
            assert!(e.hint.contains("from 1s to 10y"), "{raw}: {}", e.hint);
        }
        assert!(Span::parse("1s").is_ok());
        assert!(Span::parse("10y").is_ok());
        assert!(Span::parse("3650d").is_ok());
        assert!(Span::parse_within("0s", Bounds::WAIT).is_ok());
        assert!(Span::parse_within("11y", Bounds::WAIT).is_err());
        assert!(user(Span::parse("soon").unwrap_err()).hint.contains("from 1s to 10y"));
        // Read back from the state, out-of-bounds values load; arithmetic saturates.
        let huge = Span::parse_stored("500000000000y").unwrap();
        let t = parse_timestamp("2026-01-31T12:00:00Z").unwrap();
        assert_eq!(huge.after(t), DateTime::<Utc>::MAX_UTC);
        assert_eq!(huge.before(t), DateTime::<Utc>::MIN_UTC);
        assert_eq!(Span::parse_stored("0s").unwrap().as_std(), std::time::Duration::ZERO);
    }

    #[test]
    fn spans_keep_their_text_and_compare_by_duration() {
        let day = Span::parse("24h").unwrap();
        assert_eq!(day.to_string(), "24h");
        assert_eq!(Span::parse(" 1h 30m ").unwrap().to_string(), "1h 30m");
        assert_eq!(day, Span::parse("1d").unwrap());
        assert!(Span::parse("90m").unwrap() < Span::parse("2h").unwrap());
        assert_eq!(Span::from_secs(0).to_string(), "0s");
        let json = serde_json::to_string(&day).unwrap();
        assert_eq!(json, "\"24h\"");
        let back: Span = serde_json::from_str(&json).unwrap();
        assert_eq!(back.to_string(), "24h");
        // Too long to keep inline: shown in humantime's own form, same duration.
        let long = "1 hour 2 minutes 3 seconds 4 msec 5 usec";
        let span = Span::parse(long).unwrap();
        assert_eq!(Span::parse(&span.to_string()).unwrap(), span);
    }

    proptest::proptest! {
        #[test]
        fn any_accepted_span_keeps_its_text_and_adds_without_overflow(secs in 0u64..400_000_000, unit in 0usize..4) {
            let (div, suffix) = [(1, "s"), (60, "m"), (3600, "h"), (86400, "d")][unit];
            let text = format!("{}{suffix}", secs / div);
            if let Ok(span) = Span::parse(&text) {
                proptest::prop_assert_eq!(span.to_string(), text);
                proptest::prop_assert!(span.as_std() >= Bounds::POSITIVE.min && span.as_std() <= MAX_SPAN);
                proptest::prop_assert!(std::time::Instant::now().checked_add(span.as_std()).is_some());
                let t = parse_timestamp("2026-01-31T12:00:00Z").unwrap();
                proptest::prop_assert!(span.after(t) >= t);
            }
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc_seconds() {
        let t = parse_timestamp("2026-01-31T12:00:00.5+01:00").unwrap();
        assert_eq!(format_timestamp(&t), "2026-01-31T11:00:00Z");
    }
}
