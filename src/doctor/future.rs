//! Timestamps from the future: a record stamped later than now (plus a
//! little clock skew between machines) was written with a clock set ahead
//! — a wrong system clock, or `BATON_NOW` pointed at a later time — and
//! once shared it makes every machine misjudge staleness, leases and
//! expiry until real time catches up. Pure: doctor hands in what it loaded.

use chrono::Duration;

use crate::clock::{age, format_timestamp, Timestamp};
use crate::finding::Finding;

/// How far ahead of this machine's clock another machine's may run before
/// its stamps count as from the future.
pub fn skew() -> Duration {
    Duration::minutes(5)
}

/// One timestamp of one record.
pub struct Stamp<'a> {
    /// The doctor check it belongs to (`claims.future`).
    pub check: &'static str,
    /// The record and the field, as people say it (`claim T-42 updated_at`).
    pub what: String,
    /// The file it was read from.
    pub path: &'a str,
    pub at: Timestamp,
}

/// A warning for each stamp later than `now` + [`skew`].
pub fn check<'a>(stamps: impl IntoIterator<Item = Stamp<'a>>, now: Timestamp) -> Vec<Finding> {
    let limit = now + skew();
    stamps
        .into_iter()
        .filter(|s| s.at > limit)
        .map(|s| {
            Finding::warn(
                s.check,
                format!(
                    "{} is {}, {} from now: written with a clock set ahead",
                    s.what,
                    format_timestamp(&s.at),
                    age(s.at, now)
                ),
            )
            .hint("check the clock of the machine that wrote it (and BATON_NOW, which is for tests); the record counts as fresh until then")
            .at(s.path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stamps_beyond_the_skew_are_flagged() {
        let now = crate::clock::parse_timestamp("2026-01-01T00:00:00Z").unwrap();
        let stamp = |minutes: i64| Stamp {
            check: "claims.future",
            what: "claim T-1 updated_at".into(),
            path: "claims/t/T-1.toml",
            at: now + Duration::minutes(minutes),
        };
        assert!(check([stamp(-60), stamp(0), stamp(5)], now).is_empty());
        let found = check([stamp(6), stamp(24 * 60)], now);
        assert_eq!(found.len(), 2);
        assert!(
            found[1].message.contains("2027") || found[1].message.contains("2026-01-02"),
            "{}",
            found[1].message
        );
    }
}
