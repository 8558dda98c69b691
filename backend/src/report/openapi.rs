//! The OpenAPI document of the report and ingestion APIs (`docs/openapi.json`), served by
//! `report_service` at `/openapi.json`. The tests below hold it to the code: every parameter
//! an endpoint accepts is documented and every documented one accepted, and the names the
//! document lists (event fields, properties, metrics) are the code's.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The document, as written in `docs/openapi.json`.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use beacon_event::fields::names;
    use serde_json::Value;

    use super::OPENAPI;
    use crate::report::query::{accepts, Metric};
    use crate::rollup::Dimension;

    fn document() -> Value {
        serde_json::from_str(OPENAPI).expect("docs/openapi.json is JSON")
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
            let parameter = resolve(doc, parameter);
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
    fn documented_properties_and_metrics_are_the_code_s() {
        let doc = document();
        let properties: BTreeSet<String> = doc["components"]["schemas"]["Property"]["enum"]
            .as_array()
            .expect("Property is an enum")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        let dimensions: Vec<&str> = Dimension::ALL.iter().map(|d| d.name()).collect();
        assert_eq!(properties, set(&dimensions));
        // The filter pattern names every property, and the metrics pattern every metric.
        let filters = doc["components"]["parameters"]["filters"]["schema"]["pattern"]
            .as_str()
            .expect("filters has a pattern");
        for name in &dimensions {
            assert!(filters.contains(name), "filters pattern lacks {name}");
        }
        let stats = &doc["paths"]["/stats"]["get"]["parameters"];
        let metrics = stats
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
    }
}
