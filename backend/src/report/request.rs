//! A report request as its handler receives it: the caller's access checked first, then the
//! query string typed, each once.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use beacon_event::EventError;
use time::{Date, OffsetDateTime};

use super::query::{accepts, Params};
use super::{ReportError, ReportQuery};
use crate::rollup::Zone;
use crate::sites::{bearer_token, may_read, Site, Sites};
use crate::store::MongoStore;

/// An endpoint, by the parameters it takes.
pub trait Endpoint {
    const ACCEPTS: &'static [&'static str];
    /// What it reads besides Beacon's parameters (Plausible's metrics, for its Stats API).
    type Extra: Default;

    /// Its parameters in Beacon's terms (`today` in the site's zone); Beacon's own endpoints
    /// take them as they are.
    fn translate(params: Params, _today: Date) -> Result<(Params, Self::Extra), EventError> {
        Ok((params, Self::Extra::default()))
    }
}

/// The endpoints under `/stats`.
pub mod endpoint {
    use super::{accepts, Endpoint};

    pub struct Stats;
    pub struct Timeseries;
    pub struct Breakdown;
    pub struct Realtime;
    pub struct Goals;
    pub struct Funnel;

    impl Endpoint for Stats {
        const ACCEPTS: &'static [&'static str] = accepts::STATS;
        type Extra = ();
    }
    impl Endpoint for Timeseries {
        const ACCEPTS: &'static [&'static str] = accepts::TIMESERIES;
        type Extra = ();
    }
    impl Endpoint for Breakdown {
        const ACCEPTS: &'static [&'static str] = accepts::BREAKDOWN;
        type Extra = ();
    }
    impl Endpoint for Realtime {
        const ACCEPTS: &'static [&'static str] = accepts::REALTIME;
        type Extra = ();
    }
    impl Endpoint for Goals {
        const ACCEPTS: &'static [&'static str] = accepts::GOALS;
        type Extra = ();
    }
    impl Endpoint for Funnel {
        const ACCEPTS: &'static [&'static str] = accepts::FUNNEL;
        type Extra = ();
    }
}

/// The query of a request to endpoint `E` that its caller may read.
///
/// Reports of a registered private site need one of its keys or shared links
/// ([`crate::sites`]). Every `site_id` given is checked, before any other parameter is looked
/// at, so a caller without a key learns nothing from validation errors either, and a repeated
/// `site_id` (refused as such afterwards) can never let a private site through.
pub struct Report<E: Endpoint>(pub ReportQuery, pub Registration<E>);

/// The report's site as registered, read once with the access check (goals and funnels live
/// there); `None` for an unregistered site.
pub struct Registration<E: Endpoint> {
    pub site: Option<Site>,
    /// What [`Endpoint::translate`] read besides Beacon's parameters.
    pub extra: E::Extra,
    endpoint: PhantomData<E>,
}

impl<E: Endpoint> FromRequestParts<Arc<MongoStore>> for Report<E> {
    type Rejection = ReportError;

    async fn from_request_parts(
        parts: &mut Parts,
        store: &Arc<MongoStore>,
    ) -> Result<Self, ReportError> {
        let params = Params::decode(parts.uri.query())?;
        let token = bearer_token(&parts.headers);
        let Some(registered) = may_read(&Sites::new(store), params.site_ids(), token).await? else {
            return Err(ReportError::Unauthorized);
        };
        // One site (a repeated `site_id` is refused next); a registered one's days are its
        // time zone's.
        let site = registered.into_iter().next();
        let zone = site
            .as_ref()
            .and_then(|site| site.timezone.as_deref())
            .and_then(Zone::named)
            .unwrap_or_default();
        let now = OffsetDateTime::now_utc();
        let (params, extra) = E::translate(params, zone.date_of(now))?;
        let q = ReportQuery::from_params(params, E::ACCEPTS, now, zone)?;
        let endpoint = PhantomData;
        Ok(Self(
            q,
            Registration {
                site,
                extra,
                endpoint,
            },
        ))
    }
}
