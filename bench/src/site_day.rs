//! The parts of a generated event that both mixes make alike: its `eid`, site, type, visitor id,
//! timestamp and position follow from the offset, the visitor and the time a mix drew, so that
//! the two mixes' events differ only in what each draws (path, time of day, context).

use beacon::rollup::Position;
use beacon_event::event::Context;
use beacon_event::{Event, EventType, PagePath, PropValue, Props, SiteId, VisitorId};
use time::{Date, OffsetDateTime};

use crate::seed::is_custom;

/// One site's generated day: turns an offset, a visitor and a mix's draws into an event.
pub struct SiteDay {
    site: SiteId,
    salt: u64,
    day_start: OffsetDateTime,
    signup: EventType,
    page_view: EventType,
}

impl SiteDay {
    /// The day `date` of `site`; `salt` makes its `eid`s (and the mix's visitors) its own.
    pub fn new(site: SiteId, salt: u64, date: Date) -> Self {
        Self {
            site,
            salt,
            day_start: date.midnight().assume_utc(),
            signup: EventType::parse("signup").expect("valid"),
            page_view: EventType::parse(beacon_event::fields::PAGE_VIEW).expect("valid"),
        }
    }

    pub fn salt(&self) -> u64 {
        self.salt
    }

    /// The event at `offset` by visitor `who` (a hash), `nanos` into the day, and its position
    /// (partition 0, offset = its index in the day).
    pub fn event(
        &self,
        offset: u64,
        who: u64,
        path: PagePath,
        nanos: i64,
        context: Context,
        received_at: OffsetDateTime,
    ) -> anyhow::Result<(Event, Position)> {
        let visitor =
            VisitorId::parse(&format!("{who:016x}")).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut eid = [0u8; 16];
        eid[..8].copy_from_slice(&self.salt.to_be_bytes());
        eid[8..].copy_from_slice(&offset.to_be_bytes());
        let event = Event {
            eid: uuid::Builder::from_custom_bytes(eid).into_uuid(),
            site_id: self.site.clone(),
            event_type: if is_custom(offset) {
                self.signup.clone()
            } else {
                self.page_view.clone()
            },
            path,
            visitor_id: visitor,
            user_id: None,
            timestamp: self.day_start + time::Duration::nanoseconds(nanos),
            received_at,
            referrer: None,
            screen_width: None,
            // Signups say which plan (filtered and custom-property reports read them).
            props: is_custom(offset).then(|| plan_of(offset)),
            revenue: None,
            context,
        };
        let position = Position {
            partition: 0,
            offset: offset as i64,
        };
        Ok((event, position))
    }
}

/// A signup's properties: `plan`, one in four `pro`.
fn plan_of(offset: u64) -> Props {
    let plan = if offset / 7 % 4 == 0 { "pro" } else { "free" };
    Props::from_values([("plan".to_owned(), PropValue::Str(plan.to_owned()))])
        .expect("a valid property")
}
