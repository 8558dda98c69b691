//! A site's time zone: where its days and hours begin.
//!
//! A registered site may name an IANA zone (`Europe/Berlin`); its rollups are then cut into
//! that zone's days and hours, and its reports read them so. Everything else is UTC. Offsets
//! come from the zone database bundled with `jiff`, so a day is 23 or 25 hours long across a
//! DST change and a half-hour zone's hours start at :30 UTC.

use jiff::tz::TimeZone;
use time::{Date, OffsetDateTime};

/// A time zone by its IANA name; UTC when the name is empty.
#[derive(Debug, Clone)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl Default for Zone {
    fn default() -> Self {
        Self::utc()
    }
}

impl Zone {
    pub fn utc() -> Self {
        Self {
            name: String::new(),
            tz: TimeZone::UTC,
        }
    }

    /// The zone named `name` (`Europe/Berlin`, `UTC`), if the database has it.
    pub fn named(name: &str) -> Option<Self> {
        if name.is_empty() || name == "UTC" {
            return Some(Self::utc());
        }
        let tz = TimeZone::get(name).ok()?;
        Some(Self {
            name: name.to_owned(),
            tz,
        })
    }

    /// The zone an event carries; one this build does not know counts as UTC.
    pub fn of_event(name: &str) -> Self {
        Self::named(name).unwrap_or_else(Self::utc)
    }

    /// The IANA name; "" for UTC.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_utc(&self) -> bool {
        self.name.is_empty()
    }

    /// The zone's offset from UTC at `t`, in seconds.
    pub fn offset_seconds(&self, t: OffsetDateTime) -> i64 {
        match jiff::Timestamp::from_second(t.unix_timestamp()) {
            Ok(ts) => i64::from(self.tz.to_offset(ts).seconds()),
            Err(_) => 0,
        }
    }

    /// The local calendar day `t` falls on.
    pub fn date_of(&self, t: OffsetDateTime) -> Date {
        let local = t + time::Duration::seconds(self.offset_seconds(t));
        local.to_offset(time::UtcOffset::UTC).date()
    }

    /// Unix seconds of the start of the local hour `t` falls in.
    pub fn hour_start(&self, t: OffsetDateTime) -> i64 {
        let offset = self.offset_seconds(t);
        let local = t.unix_timestamp() + offset;
        local - local.rem_euclid(3600) - offset
    }

    /// The first instant of the local day `date` (after a DST gap at midnight, its end).
    pub fn midnight(&self, date: Date) -> OffsetDateTime {
        let utc = date.midnight().assume_utc();
        let civil = jiff::civil::date(
            date.year() as i16,
            u8::from(date.month()) as i8,
            date.day() as i8,
        )
        .at(0, 0, 0, 0);
        self.tz
            .to_timestamp(civil)
            .ok()
            .and_then(|ts| OffsetDateTime::from_unix_timestamp(ts.as_second()).ok())
            .unwrap_or(utc)
    }

    /// `t` as local wall time with its offset: `2026-03-29T03:00:00+02:00` (`Z` in UTC).
    pub fn label(&self, t: OffsetDateTime) -> String {
        let offset = self.offset_seconds(t);
        let local = (t + time::Duration::seconds(offset)).to_offset(time::UtcOffset::UTC);
        let stamp = format!(
            "{}T{:02}:{:02}:{:02}",
            local.date(),
            local.hour(),
            local.minute(),
            local.second()
        );
        if self.is_utc() {
            return format!("{stamp}Z");
        }
        let sign = if offset < 0 { '-' } else { '+' };
        let (h, m) = (offset.abs() / 3600, offset.abs() % 3600 / 60);
        format!("{stamp}{sign}{h:02}:{m:02}")
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn days_and_hours_follow_dst_and_half_hour_offsets() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        // 2026-03-29: clocks go from 02:00 to 03:00, a day of 23 hours.
        let start = berlin.midnight(date!(2026 - 03 - 29));
        let end = berlin.midnight(date!(2026 - 03 - 30));
        assert_eq!(start, datetime!(2026-03-28 23:00 UTC));
        assert_eq!((end - start).whole_hours(), 23);
        assert_eq!(
            berlin.date_of(datetime!(2026-03-28 23:30 UTC)),
            date!(2026 - 03 - 29)
        );
        assert_eq!(
            berlin.label(datetime!(2026-03-29 01:00 UTC)),
            "2026-03-29T03:00:00+02:00"
        );
        // 2026-10-25: back from 03:00 to 02:00, 25 hours.
        let long = berlin.midnight(date!(2026 - 10 - 26)) - berlin.midnight(date!(2026 - 10 - 25));
        assert_eq!(long.whole_hours(), 25);
        let kolkata = Zone::named("Asia/Kolkata").unwrap();
        let t = datetime!(2026-11-20 18:45 UTC);
        assert_eq!(kolkata.date_of(t), date!(2026 - 11 - 21));
        assert_eq!(
            kolkata.hour_start(t),
            datetime!(2026-11-20 18:30 UTC).unix_timestamp()
        );
        assert_eq!(kolkata.label(t), "2026-11-21T00:15:00+05:30");
        let utc = Zone::utc();
        assert_eq!(utc.label(t), "2026-11-20T18:45:00Z");
        assert_eq!(
            utc.hour_start(t),
            datetime!(2026-11-20 18:00 UTC).unix_timestamp()
        );
        assert!(Zone::named("Mars/Olympus").is_none());
        assert_eq!(Zone::of_event("Mars/Olympus"), Zone::utc());
    }
}
