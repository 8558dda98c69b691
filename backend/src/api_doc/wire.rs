//! Schemas of the wire types `beacon-event` defines (site ids, days, the client event): built
//! from its field names and limits, so the document states the rules ingestion applies.

use std::borrow::Cow;

use beacon_event::fields::names;
use beacon_event::limits;
use serde_json::json;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder,
    Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::report::ReportedDay;
use crate::rollup::Dimension;

/// The control characters (C0, DEL and C1), as the inside of a regex class.
macro_rules! control_chars {
    () => {
        r"\u0000-\u001f\u007f-\u009f"
    };
}
pub(crate) use control_chars;

/// One character that is not a control character, as a regex class.
pub const NOT_CONTROL: &str = concat!("[^", control_chars!(), "]");

/// A reference to a schema of `components/schemas`.
pub fn schema_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

/// A schema with a JSON Schema keyword utoipa has no field for (`const`, `contains`).
fn keyword(name: &str, value: serde_json::Value) -> Option<Extensions> {
    Some(Extensions::from_iter([(name, value)]))
}

/// Declares a schema component named `$name`, built by `$build`.
macro_rules! component {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $build:expr) => {
        $(#[$doc])*
        pub struct $ty;

        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                let build: fn() -> Schema = $build;
                RefOr::T(build())
            }
        }

        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

component!(
    /// `site_id`: 1–128 characters of `[A-Za-z0-9._:-]`.
    SiteIdSchema,
    "SiteId",
    || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!(
                "^[A-Za-z0-9._:-]{{1,{}}}$",
                limits::MAX_SITE_ID_CHARS
            )))
            .examples(["site123"])
            .into()
    }
);

component!(
    /// A report day.
    DaySchema,
    "Day",
    || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .pattern(Some(
                "^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
            ))
            .description(Some("A UTC day, `YYYY-MM-DD`, from 1970 to 9999."))
            .examples(["2026-11-25"])
            .into()
    }
);

/// A day in a report's answer: a compared range may begin before 1970, which [`DaySchema`]
/// refuses in a request.
impl PartialSchema for ReportedDay {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .pattern(Some(r"^\d{4}-\d{2}-\d{2}$"))
            .examples(["2026-11-25"])
            .into()
    }
}

impl ToSchema for ReportedDay {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ReportedDay")
    }
}

component!(
    /// What a breakdown or a filter can name: a built-in property or a custom one.
    PropertySchema,
    "Property",
    || {
        let builtin = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(
                Dimension::ALL
                    .iter()
                    .map(|d| d.name())
                    .chain([crate::rollup::property::PROP_KEYS]),
            ))
            .description(Some(
                "A built-in property, or `props`: the keys of the custom properties the \
                 events carry (breakdowns only).",
            ));
        let custom = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(custom_property()))
            .description(Some(
                "`props.` and a custom property's key, as the tracker sends it with \
                 `props` (`props.plan`): read from the raw events of the range, each value \
                 as text.",
            ))
            .examples(["props.plan"]);
        OneOfBuilder::new().item(builtin).item(custom).into()
    }
);

/// The pattern of a custom property's name: `props.` and a key under the event's key rules.
pub fn custom_property() -> String {
    format!(
        "^{}{NOT_CONTROL}{{1,{}}}$",
        regex_escape(crate::rollup::property::PROPS_PREFIX),
        limits::MAX_PROP_KEY_CHARS
    )
}

fn regex_escape(text: &str) -> String {
    text.replace('.', "\\.")
}

component!(
    /// `POST /event`'s body: one event or a batch.
    EventOrBatchSchema,
    "EventOrBatch",
    || {
        let batch = ArrayBuilder::new()
            .min_items(Some(1))
            .max_items(Some(crate::ingest::MAX_EVENTS))
            .description(Some(
                "A batch: each item is checked on its own, and invalid ones are skipped and \
                 listed in `rejected` with the 202; at least one must be a valid event, or the \
                 answer is a 400.",
            ))
            .extensions(keyword("contains", json!({ "$ref": "#/components/schemas/Event" })));
        OneOfBuilder::new()
            .item(schema_ref("Event"))
            .item(batch)
            .into()
    }
);

component!(
    /// One client event, as `ClientEvent::from_json` reads it.
    EventSchema,
    "Event",
    event
);

fn event() -> Schema {
    let mut object = ObjectBuilder::new()
        .description(Some(
            "One event. Unknown fields are ignored; optional fields that are null or \"\" count \
             as absent.",
        ))
        .property(names::SITE_ID, schema_ref("SiteId"))
        .property(names::EVENT_TYPE, event_type())
        .property(names::PATH, path())
        .property(names::USER_ID, user_id())
        .property(
            names::TIMESTAMP,
            or_absent(KnownFormat::DateTime, timestamp()),
        )
        .property(names::EID, or_absent(KnownFormat::Uuid, eid()))
        .property(names::REFERRER, referrer())
        .property(names::SCREEN_WIDTH, screen_width())
        .property(names::PROPS, props())
        .property(names::REVENUE, revenue());
    for required in &names::CLIENT[..3] {
        object = object.required(*required);
    }
    object.into()
}

fn event_type() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(limits::MAX_NAME_CHARS))
        .pattern(Some(format!("^{NOT_CONTROL}+$")))
        .description(Some(format!(
            "`page_view` for a page view (what `total_views` counts), or a custom event name \
             such as `signup`. 1–{} characters, no control characters.",
            limits::MAX_NAME_CHARS
        )))
        .examples(["page_view", "signup"])
}

fn path() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^/{NOT_CONTROL}*$")))
        .max_length(Some(limits::MAX_URL_BYTES))
        .description(Some(format!(
            "The page, as a URL path: starts with `/`, at most {} bytes (UTF-8), no control \
             characters. Send the query string (campaign tags are read from it: `utm_*`, `ref`, \
             `source`); it is then dropped, but for the parameters a registered site keeps, \
             and so is a fragment that is not a route (`#/cart`).",
            limits::MAX_URL_BYTES
        )))
        .examples(["/pricing"])
}

fn user_id() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .max_length(Some(limits::MAX_USER_ID_CHARS))
        .pattern(Some(format!("^{NOT_CONTROL}*$")))
        .description(Some(format!(
            "The site's own id for a signed-in person (1–{} characters, no control characters; \
             `\"\"` counts as absent); without it an anonymous daily visitor id is derived.",
            limits::MAX_USER_ID_CHARS
        )))
}

/// A formatted string, `""` or `null`: the last two count as absent.
fn or_absent(format: KnownFormat, described: ObjectBuilder) -> Schema {
    let value = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(format)));
    let empty = ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .extensions(keyword("const", json!("")));
    let null = ObjectBuilder::new().schema_type(Type::Null);
    let described = described.build();
    let mut any_of = AnyOfBuilder::new()
        .item(value)
        .item(empty)
        .item(null)
        .description(described.description);
    if let Some(example) = described.examples.first() {
        any_of = any_of.examples([example.clone()]);
    }
    any_of.into()
}

fn timestamp() -> ObjectBuilder {
    ObjectBuilder::new()
        .description(Some(
            "RFC 3339; at most 5 minutes in the future and 30 days in the past (a 400 naming \
             `timestamp` otherwise). Default: the time of receipt.",
        ))
        .examples(["2026-11-24T10:00:00Z"])
}

fn eid() -> ObjectBuilder {
    ObjectBuilder::new().description(Some(
        "Client event id, for exactly-once counting across retries. Default: a UUIDv7 \
         assigned at ingestion.",
    ))
}

fn referrer() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .max_length(Some(limits::MAX_URL_BYTES))
        .description(Some(format!(
            "Absolute URL (`scheme://…`) of the referring page, at most {} bytes (UTF-8), no \
             whitespace or control characters.",
            limits::MAX_URL_BYTES
        )))
        .pattern(Some(
            r"^$|^[A-Za-z][A-Za-z0-9+.-]*://[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$",
        ))
}

fn screen_width() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
        .minimum(Some(0))
        .maximum(Some(limits::MAX_SCREEN_WIDTH))
        .description(Some("CSS pixels."))
}

fn props() -> ObjectBuilder {
    let key = ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .min_length(Some(1))
        .max_length(Some(limits::MAX_PROP_KEY_CHARS))
        .pattern(Some(format!("^{NOT_CONTROL}+$")));
    let string = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(limits::MAX_PROP_STRING_BYTES))
        .pattern(Some(format!("^{NOT_CONTROL}*$")));
    let value = OneOfBuilder::new()
        .item(string)
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .item(ObjectBuilder::new().schema_type(Type::Boolean));
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .max_properties(Some(limits::MAX_PROP_KEYS))
        .property_names(Some(key))
        .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(value.into()))))
        .description(Some(format!(
            "Custom properties, flat: at most {} keys of 1–{} characters; values are strings \
             (≤ {} bytes in UTF-8), numbers or booleans; no control characters in keys or \
             strings.",
            limits::MAX_PROP_KEYS,
            limits::MAX_PROP_KEY_CHARS,
            limits::MAX_PROP_STRING_BYTES
        )))
}

fn revenue() -> ObjectBuilder {
    let amount = OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Number)
                .minimum(Some(-999_999_999_999.0))
                .maximum(Some(999_999_999_999.0)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^-?[0-9]{1,12}(\.[0-9]{1,6})?$")),
        );
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .property("amount", amount)
        .property(
            "currency",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[A-Z]{3}$")),
        )
        .required("amount")
        .required("currency")
        .description(Some(
            "What the event was worth, e.g. `{\"amount\": 19.9, \"currency\": \"EUR\"}`: \
             an amount with at most 6 decimals, below 10^12 either way, kept exactly; the \
             currency as three upper-case letters. Goal reports sum and average it per \
             currency.",
        ))
}

component!(
    /// `POST /event/receipts`'s body.
    ReceiptsAsked,
    "ReceiptsAsked",
    || {
        let eids = ArrayBuilder::new()
            .max_items(Some(crate::ingest::MAX_EIDS_ASKED))
            .items(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
            )
            .description(Some(
                "Eids of events sent with `POST /event?receipt=1` whose delivery is not known.",
            ));
        ObjectBuilder::new()
            .property("eids", eids)
            .required("eids")
            .into()
    }
);

component!(
    /// A refused event or a refused batch.
    ErrorOrBatch,
    "ErrorOrBatch",
    || {
        AnyOfBuilder::new()
            .item(schema_ref("Error"))
            .item(schema_ref("BatchRejected"))
            .into()
    }
);
