//! The one error a client sees when an event breaks a rule.
//!
//! It always names the offending field (when there is one) so a developer integrating with Beacon
//! can fix their payload from the response alone.

use serde::Serialize;

/// Why an event was refused: which field, and which rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct EventError {
    /// The JSON field at fault, `None` when the event as a whole is malformed.
    pub field: Option<&'static str>,
    /// A human-readable sentence naming the field and the rule.
    pub message: String,
}

impl EventError {
    /// A rule broken by one field.
    pub fn field(field: &'static str, rule: impl std::fmt::Display) -> Self {
        Self {
            field: Some(field),
            message: format!("`{field}` {rule}"),
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
