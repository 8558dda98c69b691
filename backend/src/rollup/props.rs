//! A custom property's value as reports show it, the one rule for rollups and raw events: a
//! string as it is, a number as written in JSON (`3`, `2.5`), a boolean as `true` or `false`.

use serde_json::Value;

/// The shown text of a property value; `None` for what no tracker sends (arrays, objects,
/// null), which is left out.
pub fn prop_text(value: &Value) -> Option<String> {
    Some(match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => n.as_f64().filter(|f| f.is_finite())?.to_string(),
        },
        Value::Null | Value::Array(_) | Value::Object(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_read_as_written() {
        let shown = |v: Value| prop_text(&v);
        assert_eq!(shown(json!("pro")).as_deref(), Some("pro"));
        assert_eq!(shown(json!(3)).as_deref(), Some("3"));
        assert_eq!(shown(json!(-42)).as_deref(), Some("-42"));
        assert_eq!(shown(json!(2.5)).as_deref(), Some("2.5"));
        assert_eq!(shown(json!(3.0)).as_deref(), Some("3"));
        assert_eq!(shown(json!(true)).as_deref(), Some("true"));
        assert_eq!(shown(json!(null)), None);
        assert_eq!(shown(json!([1])), None);
    }
}
