//! The query parameters of the report endpoints, built from the rules the query parser applies
//! (property and metric names, limits), so the document cannot promise another set.

use serde_json::json;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn, ParameterStyle};
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
use utoipa::openapi::{Ref, RefOr, Required};
use utoipa::IntoParams;

use super::wire::{control_chars, schema_ref};
use crate::report::query as limits;
use crate::report::Metric;
use crate::rollup::Dimension;

fn query(name: &str, required: bool, description: &str) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(description))
}

fn one_of(values: &[&str]) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
}

/// Declares a marker type whose `IntoParams` gives `$params`.
macro_rules! params {
    ($(#[$doc:meta])* $ty:ident, $params:expr) => {
        $(#[$doc])*
        pub struct $ty;

        impl IntoParams for $ty {
            fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
                let build: fn() -> Vec<Parameter> = $params;
                build()
            }
        }
    };
}

params!(
    /// `site_id`, `date` or `from`/`to`, and `filters`: what every range report takes.
    Range,
    || vec![site_id(), days(), filters()]
);

params!(
    /// `site_id` alone.
    SiteOnly,
    || vec![site_id()]
);

params!(
    /// `/stats/realtime`'s parameters.
    RealtimeParams,
    || vec![site_id(), query("detail", false, "`true`: also the last 30 minutes, minute by \
        minute, and their top pages and sources (read from raw events).")
        .schema(Some(ObjectBuilder::new().schema_type(Type::Boolean).default(Some(json!(false)))))
        .build()]
);

params!(
    /// `/stats/funnel`'s `funnel`.
    FunnelParam,
    || vec![query("funnel", true, "The funnel's name, as registered with `beacon-admin funnel add`.")
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(64)).pattern(Some(format!("^{}+$", crate::api_doc::wire::NOT_CONTROL)))))
        .build()]
);

params!(
    /// `compare`.
    CompareParam,
    || vec![compare()]
);

params!(
    /// `/stats`'s `metrics`.
    MetricsParam,
    || vec![metrics()]
);

params!(
    /// `/stats/timeseries`'s `interval`.
    IntervalParam,
    || {
        vec![query(
            "interval",
            false,
            "Bucket size. Default: `hour` when the range is one day, `day` otherwise.",
        )
        .schema(Some(one_of(&["hour", "day"])))
        .build()]
    }
);

params!(
    /// `/stats/breakdown`'s own parameters.
    BreakdownParams,
    breakdown
);

params!(
    /// `POST /event`'s `receipt`.
    ReceiptParam,
    || {
        vec![query(
            "receipt",
            false,
            "`1` or `true`: once the events are accepted (the 202), this process also remembers \
             the `eid`s they were sent with (not the ones it assigned), so that \
             `POST /event/receipts` can confirm them. Any other value, like any other query \
             parameter, is ignored. Without it nothing is remembered.",
        )
        .schema(Some(
            ObjectBuilder::new().schema_type(Type::String).examples(["1"]),
        ))
        .build()]
    }
);

fn site_id() -> Parameter {
    query("site_id", true, "The site to report on.")
        .schema(Some(schema_ref("SiteId")))
        .build()
}

/// `date`, or `from` and `to`: one exploded object parameter, so that a client (or a fuzzer)
/// reading the document never combines them.
fn days() -> Parameter {
    let day = |description: &str| {
        let mut day = Ref::from_schema_name("Day");
        day.description = description.to_owned();
        RefOr::Ref(day)
    };
    let one = ObjectBuilder::new()
        .title(Some("One day"))
        .property("date", schema_ref("Day"))
        .required("date")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    let range = ObjectBuilder::new()
        .title(Some("A range of days"))
        .property("from", day("First day (inclusive)."))
        .property("to", day("Last day (inclusive), not before `from`."))
        .required("from")
        .required("to")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    query(
        "range",
        false,
        &format!(
            "The UTC days to report on, sent as plain query parameters (this object is exploded: \
         `date=2026-11-25`, or `from=2026-11-19&to=2026-11-25`): either `date` (one day) or \
         both `from` and `to` (inclusive), never `date` with `from`/`to`; with none, today. \
         `to` must not be before `from` and at most {} days after it (`/stats/timeseries` with \
         `interval=hour`: at most {} days); a range that breaks this is a 400 naming `to` (or \
         `interval`).",
            limits::MAX_RANGE_DAYS - 1,
            limits::MAX_HOURLY_DAYS - 1
        ),
    )
    .style(Some(ParameterStyle::Form))
    .explode(Some(true))
    .schema(Some(OneOfBuilder::new().item(one).item(range)))
    .example(Some(json!({ "date": "2026-11-25" })))
    .build()
}

fn filters() -> Parameter {
    let mut names: Vec<&str> = Dimension::ALL.iter().map(|d| d.name()).collect();
    // A key with `=`, `!` or `~` could hold or end in an operator: the first operator ends the
    // property, so such a key cannot be filtered on.
    let custom = format!("props\\.[^;=!~{}]{{1,64}}?", control_chars!());
    names.push(&custom);
    let one = format!(
        "({})(==|!=|~=|!~=){}{{0,{}}}",
        names.join("|"),
        concat!("[^;", control_chars!(), "]"),
        limits::MAX_FILTER_VALUE_CHARS
    );
    let pattern = format!("^$|^{one}(;{one}){{0,{}}}$", limits::MAX_FILTERS - 1);
    query(
        "filters",
        false,
        &format!(
            "Empty: no filter. Otherwise only count what matches every filter: `prop==value`, \
         `prop!=value`, `prop~=text` (contains) or `prop!~=text`, separated by `;` \
         (URL-encoded as a whole, e.g. `filters=source%3D%3DGoogle%7CBing%3Bdevice!%3DMobile`). \
         `|` separates alternatives (either matches; a negation: none does). In `path`, \
         `entry_page` and `exit_page`, `*` matches any characters but `/` and `**` any \
         characters (`path==/blog/**`). `\\|`, `\\*` and `\\\\` are a literal `|`, `*` and \
         `\\`. Matching is case-sensitive. At most {} filters; a value is at most {} \
         characters, none of them a control character or `;` (it may hold an operator: the \
         first one ends the property). Properties: {}; a custom property is `props.` and \
         its key (`props.plan==pro`; a key with `=`, `!` or `~` cannot be filtered on).",
            limits::MAX_FILTERS,
            limits::MAX_FILTER_VALUE_CHARS,
            crate::rollup::property::Property::names()
        ),
    )
    .schema(Some(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(pattern)),
    ))
    .example(Some(json!("source==Google;device!=Mobile")))
    .build()
}

fn compare() -> Parameter {
    query(
        "compare",
        false,
        "Also report the range to compare with, in a `comparison` object beside the usual \
         fields (which stay as they are). `previous_period`: as many days as the range asked \
         for, ending the day before it starts (a day: the day before; 7 days: the 7 days \
         before). Filters and metrics apply to both ranges.",
    )
    .schema(Some(one_of(&["previous_period"])))
    .build()
}

fn metrics() -> Parameter {
    let names = format!("({})", Metric::ALL.map(|(name, _)| name).join("|"));
    query(
        "metrics",
        false,
        "Comma-separated extra metrics to include as top-level keys; empty: none.",
    )
    .schema(Some(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!("^$|^{names}(,{names})*$"))),
    ))
    .example(Some(json!(
        "visits,bounce_rate,visit_duration,views_per_visit"
    )))
    .build()
}

fn breakdown() -> Vec<Parameter> {
    let bounded = |default: u32, max: u32| {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(max))
            .default(Some(json!(default)))
    };
    vec![
        query(
            "property",
            true,
            "The property to break down by. A custom property (`props.plan`) lists the values \
             of the events that carry it, with `events` and `conversion_rate` like `event_type`.",
        )
        .schema(Some(schema_ref("Property")))
        .build(),
        query("limit", false, "Results per page.")
            .schema(Some(bounded(10, limits::MAX_LIMIT)))
            .build(),
        query("page", false, "Page number, from 1.")
            .schema(Some(bounded(1, limits::MAX_PAGE)))
            .build(),
        query(
            "format",
            false,
            "`csv` for CSV (same as `Accept: text/csv`).",
        )
        .schema(Some(one_of(&["json", "csv"]).default(Some(json!("json")))))
        .build(),
    ]
}
