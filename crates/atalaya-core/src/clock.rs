//! Time as a parameter: the `Clock` trait, and `Timestamp`, an instant in UTC that always
//! serializes as RFC 3339 with millisecond precision and a `Z` suffix.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

/// An instant in UTC, millisecond precision.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

/// Why a timestamp was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TimestampError {
    /// Not RFC 3339.
    #[error("not an RFC 3339 timestamp: {0}")]
    Malformed(String),
    /// RFC 3339 but not in UTC.
    #[error("timestamp must be in UTC (end in Z): {0}")]
    NotUtc(String),
}

impl Timestamp {
    /// From milliseconds since the Unix epoch.
    pub fn from_unix_millis(ms: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .ok()
            .map(Self)
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(self) -> i64 {
        i64::try_from(self.0.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// Parse RFC 3339; only UTC (`Z` or `+00:00`) is accepted, precision is cut to milliseconds.
    pub fn parse(s: &str) -> Result<Self, TimestampError> {
        let t = OffsetDateTime::parse(s, &Rfc3339)
            .map_err(|_| TimestampError::Malformed(s.to_owned()))?;
        if t.offset() != UtcOffset::UTC {
            return Err(TimestampError::NotUtc(s.to_owned()));
        }
        Self::from_unix_millis(i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0))
            .ok_or_else(|| TimestampError::Malformed(s.to_owned()))
    }

    /// This instant plus a number of milliseconds (saturating at the representable range).
    pub fn plus_millis(self, ms: i64) -> Self {
        self.0
            .checked_add(Duration::milliseconds(ms))
            .map(Self)
            .unwrap_or(self)
    }

    /// Milliseconds from `earlier` to `self` (negative when `earlier` is later).
    pub fn millis_since(self, earlier: Timestamp) -> i64 {
        self.unix_millis() - earlier.unix_millis()
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse(s)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute(),
            d.second(),
            d.millisecond()
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Where the current time comes from. Production uses `SystemClock`; tests use `FixedClock`.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The operating system's wall clock. The one place allowed to read it.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Timestamp {
        let now = OffsetDateTime::now_utc();
        Timestamp::from_unix_millis(
            i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0),
        )
        .unwrap_or(Timestamp(now))
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct FixedClock {
    millis: AtomicI64,
}

impl FixedClock {
    /// A clock stopped at `at`.
    pub fn new(at: Timestamp) -> Self {
        Self {
            millis: AtomicI64::new(at.unix_millis()),
        }
    }

    /// Move the clock forward.
    pub fn advance_millis(&self, ms: i64) {
        self.millis.fetch_add(ms, Ordering::SeqCst);
    }

    /// Set the clock.
    pub fn set(&self, at: Timestamp) {
        self.millis.store(at.unix_millis(), Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.millis.load(Ordering::SeqCst))
            .unwrap_or(Timestamp(OffsetDateTime::UNIX_EPOCH))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_millis() {
        let t = Timestamp::parse("2026-11-22T10:11:12.345678Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-22T10:11:12.345Z");
        assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
    }

    #[test]
    fn refuses_offsets_and_garbage() {
        assert!(matches!(
            Timestamp::parse("2026-11-22T10:11:12-03:00"),
            Err(TimestampError::NotUtc(_))
        ));
        assert!(Timestamp::parse("yesterday").is_err());
        assert!(Timestamp::parse("2026-11-22T10:11:12+00:00").is_ok());
    }

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let c = FixedClock::new(Timestamp::from_unix_millis(1_000).unwrap());
        assert_eq!(c.now().unix_millis(), 1_000);
        c.advance_millis(500);
        assert_eq!(c.now().unix_millis(), 1_500);
    }
}
