//! Time: the clock every command reads (overridable with `BATON_NOW` for tests
//! and demos of expiry and trends) and durations, parsed once into [`Span`].

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};

use crate::error::{Error, Result};

pub type Timestamp = DateTime<Utc>;

/// The current time, second precision, RFC 3339 UTC; `BATON_NOW` overrides it.
pub fn now() -> Result<Timestamp> {
    match std::env::var("BATON_NOW") {
        Ok(raw) if !raw.is_empty() => parse_timestamp(&raw).map_err(|e| {
            e.context("BATON_NOW")
                .with_hint("set BATON_NOW to an RFC 3339 time such as 2026-01-31T12:00:00Z, or unset it")
        }),
        _ => Ok(Utc::now().trunc_subsecs(0)),
    }
}

pub fn parse_timestamp(raw: &str) -> Result<Timestamp> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(0))
        .map_err(|e| {
            Error::invalid("invalid_time", format!("{raw:?} is not an RFC 3339 time ({e})"))
                .with_hint("write times like 2026-01-31T12:00:00Z")
        })
}

/// RFC 3339 with a `Z`, the one way timestamps are written.
pub fn format_timestamp(t: &Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A duration as people write it (`90s`, `30m`, `48h`, `7d`), parsed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(std::time::Duration);

impl Span {
    pub fn parse(raw: &str) -> Result<Span> {
        humantime::parse_duration(raw.trim()).map(Span).map_err(|e| {
            Error::invalid("invalid_duration", format!("{raw:?} is not a duration ({e})"))
                .with_hint("write durations like 90s, 30m, 48h or 7d")
        })
    }

    /// An empty string means "not set" in config (`default_lease = ""`).
    pub fn parse_optional(raw: &str) -> Result<Option<Span>> {
        if raw.trim().is_empty() {
            Ok(None)
        } else {
            Span::parse(raw).map(Some)
        }
    }

    pub fn from_secs(secs: u64) -> Span {
        Span(std::time::Duration::from_secs(secs))
    }

    pub fn as_std(self) -> std::time::Duration {
        self.0
    }

    pub fn as_chrono(self) -> chrono::Duration {
        chrono::Duration::from_std(self.0).unwrap_or(chrono::Duration::MAX)
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

impl FromStr for Span {
    type Err = Error;
    fn from_str(s: &str) -> Result<Span> {
        Span::parse(s)
    }
}

serde_via_str!(Span);

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

/// How long ago `then` was, for display ("3h 2m"); never negative.
pub fn age(now: Timestamp, then: Timestamp) -> String {
    let secs = (now - then).num_seconds().max(0) as u64;
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}

/// Serde for optional spans stored as strings where "" means unset.
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
        Span::parse_optional(&raw).map_err(|e| serde::de::Error::custom(e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_parse_people_durations() {
        assert_eq!(Span::parse("48h").unwrap().as_std().as_secs(), 48 * 3600);
        assert_eq!(Span::parse("7d").unwrap().as_std().as_secs(), 7 * 86400);
        assert_eq!(Span::parse_optional("").unwrap(), None);
        assert_eq!(Span::parse("-1s").unwrap_err().exit_code(), 2);
        assert_eq!(Span::parse("soon").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn timestamps_are_rfc3339_utc_seconds() {
        let t = parse_timestamp("2026-01-31T12:00:00.5+01:00").unwrap();
        assert_eq!(format_timestamp(&t), "2026-01-31T11:00:00Z");
    }
}
