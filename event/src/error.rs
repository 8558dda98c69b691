//! The one error a client sees when an event breaks a rule.
//!
//! It always names the offending field (when there is one) so a developer integrating with Beacon
//! can fix their payload from the response alone.

use alloc::string::String;

/// Why an event was refused: which field, and which rule it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "std", derive(serde::Serialize, thiserror::Error))]
#[cfg_attr(feature = "std", error("{message}"))]
pub struct EventError {
    /// The JSON field at fault, `None` when the event as a whole is malformed.
    pub field: Option<&'static str>,
    /// A human-readable sentence naming the field and the rule.
    pub message: String,
}

impl EventError {
    /// A rule broken by one field.
    #[cfg(feature = "std")]
    pub fn field(field: &'static str, rule: impl core::fmt::Display) -> Self {
        Self {
            field: Some(field),
            message: alloc::format!("`{field}` {rule}"),
        }
    }

    /// [`EventError::field`] for a fixed rule, without the formatting machinery: the same
    /// message, byte for byte.
    ///
    /// Without `std` (the wasm tracker) the message is left empty and only `field` is set:
    /// the tracker only asks whether a value passes and never shows the sentence, whose texts
    /// would cost its wasm ~0.4 KB gzip.
    pub(crate) fn rule(field: &'static str, rule: &str) -> Self {
        if cfg!(not(feature = "std")) {
            return Self {
                field: Some(field),
                message: String::new(),
            };
        }
        let mut message = String::with_capacity(field.len() + rule.len() + 3);
        message.push('`');
        message.push_str(field);
        message.push_str("` ");
        message.push_str(rule);
        Self {
            field: Some(field),
            message,
        }
    }

    /// A problem with the event as a whole (e.g. it is not a JSON object).
    pub fn whole(message: impl Into<String>) -> Self {
        Self {
            field: None,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "std")]
    fn rule_reads_like_field() {
        assert_eq!(
            EventError::rule("site_id", "is required"),
            EventError::field("site_id", "is required")
        );
        assert_eq!(
            EventError::rule("site_id", "is required").message,
            "`site_id` is required"
        );
    }

    #[test]
    #[cfg(not(feature = "std"))]
    fn without_std_only_the_field_is_named() {
        let e = EventError::rule("site_id", "is required");
        assert_eq!((e.field, e.message.as_str()), (Some("site_id"), ""));
    }
}
