use std::collections::BTreeSet;

use beacon_event::fields::names;
use serde_json::Value;

use super::json;

/// `docs/openapi.json` as committed.
const COMMITTED: &str = include_str!("../../../docs/openapi.json");
use crate::report::query::{accepts, Metric};
use crate::rollup::Dimension;

fn document() -> Value {
    serde_json::from_str(json()).expect("the generated document is JSON")
}

#[test]
fn the_committed_document_is_the_generated_one() {
    if std::env::var_os("BLESS_OPENAPI").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
        std::fs::write(path, json()).expect("docs/openapi.json is writable");
        return;
    }
    let committed: Value = serde_json::from_str(COMMITTED).expect("docs/openapi.json is JSON");
    assert!(
        committed == document(),
        "docs/openapi.json is not what the code generates: run \
         `BLESS_OPENAPI=1 cargo test -p beacon-backend --lib api_doc` and commit the result"
    );
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(pointer) => doc
            .pointer(pointer.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{pointer} is not in the document")),
        None => value,
    }
}

/// The query parameter names of an operation; an exploded object parameter stands for its
/// properties (the report range: `date`, `from`, `to`).
fn query_names(doc: &Value, path: &str, method: &str) -> BTreeSet<String> {
    let operation = &doc["paths"][path][method];
    let mut names = BTreeSet::new();
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        assert_eq!(parameter["in"], "query", "{path}: {parameter}");
        let schema = resolve(doc, &parameter["schema"]);
        if parameter["explode"] == true && parameter["style"] == "form" {
            let shapes = schema["oneOf"].as_array().cloned();
            for shape in shapes.unwrap_or_else(|| vec![schema.clone()]) {
                let properties = shape["properties"].as_object().expect("properties");
                names.extend(properties.keys().cloned());
            }
        } else {
            names.insert(parameter["name"].as_str().expect("a name").to_owned());
        }
    }
    names
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

#[test]
fn every_report_parameter_is_documented_and_every_documented_one_accepted() {
    let doc = document();
    for (path, accepted) in [
        ("/stats", accepts::STATS),
        ("/stats/timeseries", accepts::TIMESERIES),
        ("/stats/breakdown", accepts::BREAKDOWN),
        ("/stats/realtime", accepts::REALTIME),
    ] {
        assert_eq!(query_names(&doc, path, "get"), set(accepted), "{path}");
    }
    assert_eq!(query_names(&doc, "/event", "post"), set(&["receipt"]));
    assert_eq!(query_names(&doc, "/sites", "get"), set(&[]));
}

#[test]
fn the_documented_event_is_the_one_ingestion_reads() {
    let doc = document();
    let event = &doc["components"]["schemas"]["Event"];
    let documented: BTreeSet<String> = event["properties"]
        .as_object()
        .expect("Event has properties")
        .keys()
        .cloned()
        .collect();
    assert_eq!(documented, set(&names::CLIENT));
    let required: Vec<&str> = event["required"]
        .as_array()
        .expect("Event lists its required fields")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required, names::CLIENT[..3]);
}

#[test]
fn documented_properties_and_limits_are_the_code_s() {
    let doc = document();
    let property = &doc["components"]["schemas"]["Property"]["oneOf"];
    let properties: BTreeSet<String> = property[0]["enum"]
        .as_array()
        .expect("built-in properties are an enum")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let mut dimensions: Vec<&str> = Dimension::ALL.iter().map(|d| d.name()).collect();
    dimensions.push(crate::rollup::property::PROP_KEYS);
    assert_eq!(properties, set(&dimensions));
    assert_eq!(property[1]["pattern"], super::wire::custom_property());
    let receipts = &doc["components"]["schemas"]["Receipts"]["properties"]["received"];
    assert_eq!(receipts["maxItems"], crate::ingest::MAX_EIDS_ASKED);
    let stats = &doc["components"]["schemas"]["Stats"];
    let top = serde_json::to_string(stats).unwrap();
    assert!(
        top.contains(&format!("\"maxItems\":{}", crate::report::TOP_PATHS)),
        "{top}"
    );
}

/// Every documented metric is one `/stats` computes, and every one it computes is documented
/// in the pattern of `metrics` and as a field of the response.
#[test]
fn documented_metrics_are_the_code_s() {
    let doc = document();
    let metrics = doc["paths"]["/stats"]["get"]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "metrics")
        .expect("/stats documents metrics");
    let pattern = metrics["schema"]["pattern"].as_str().expect("a pattern");
    let alternatives = format!("({})", Metric::ALL.map(|(name, _)| name).join("|"));
    assert!(
        pattern.contains(&alternatives),
        "{pattern} vs {alternatives}"
    );
    let fields = properties(&doc, &doc["components"]["schemas"]["Metrics"]);
    assert_eq!(fields, Metric::ALL.map(|(name, _)| name.to_owned()).into());
}

/// The property names of a schema, through its `allOf` parts and their references.
fn properties(doc: &Value, schema: &Value) -> BTreeSet<String> {
    if let Some(name) = schema["$ref"].as_str() {
        let name = name.trim_start_matches("#/components/schemas/");
        return properties(doc, &doc["components"]["schemas"][name]);
    }
    let own = schema["properties"].as_object().into_iter().flatten();
    let parts = schema["allOf"].as_array().into_iter().flatten();
    own.map(|(name, _)| name.clone())
        .chain(parts.flat_map(|part| properties(doc, part)))
        .collect()
}

/// Every `filters` value the document accepts, the parser reads: a custom property's key that
/// holds or ends in operator characters would be cut by the first operator (Schemathesis found
/// `props.…~=` rejected).
#[test]
fn documented_filters_are_the_ones_the_parser_reads() {
    let doc = document();
    let parameters = doc["paths"]["/stats/goals"]["get"]["parameters"].as_array();
    let filters = parameters
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "filters")
        .expect("a filters parameter");
    let pattern = filters["schema"]["pattern"].as_str().expect("a pattern");
    // Values of up to 2,048 characters in up to ten filters make a large automaton.
    let documented = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 30)
        .build()
        .expect("the pattern is a regex");
    let read = |f: &str| crate::report::filter::parse_filters(f).is_ok();
    let ok = [
        "props.plan==pro",
        "props.a b!=x",
        "props.a!~=x",
        "source==Google;props.k~=v",
        "",
    ];
    for ok in ok {
        assert!(documented.is_match(ok) && read(ok), "{ok}");
    }
    for cut in ["props.!==x", "props.===x", "props.~==x", "props.a=b==x"] {
        assert!(!documented.is_match(cut), "{cut} is documented");
    }
}
