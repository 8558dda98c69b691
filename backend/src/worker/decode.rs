//! Turning a batch of Kafka records into events, and those that can never be events into dead
//! letters.

use beacon_event::Event;
use serde::Serialize;

use crate::pipeline::consumer::Record;
use crate::rollup::Position;

/// A record that can never be stored, as written to the dead-letter topic.
#[derive(Debug, Serialize)]
pub struct DeadLetter {
    pub reason: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The original bytes, lossily decoded so the envelope stays readable JSON.
    pub payload: String,
}

/// Splits a batch into storable events (with their positions) and dead letters.
pub fn decode(records: &[Record], topic: &str) -> (Vec<(Event, Position)>, Vec<DeadLetter>) {
    let mut events = Vec::with_capacity(records.len());
    let mut dead = Vec::new();
    for record in records {
        match serde_json::from_slice::<Event>(&record.payload) {
            Ok(event) => events.push((
                event,
                Position {
                    partition: record.partition,
                    offset: record.offset,
                },
            )),
            Err(e) => dead.push(DeadLetter {
                reason: e.to_string(),
                topic: topic.to_owned(),
                partition: record.partition,
                offset: record.offset,
                payload: String::from_utf8_lossy(&record.payload).into_owned(),
            }),
        }
    }
    (events, dead)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(offset: i64, payload: &str) -> Record {
        Record {
            partition: 1,
            offset,
            payload: payload.as_bytes().to_vec(),
        }
    }

    #[test]
    fn poison_records_become_dead_letters() {
        let good = r#"{"eid":"0192f0e4-7b1a-7cc3-8d3e-1f2a3b4c5d6e","site_id":"s","event_type":"page_view",
            "path":"/","visitor_id":"v","timestamp":"2026-11-24T00:00:00Z","received_at":"2026-11-24T00:00:00Z"}"#;
        let records = [
            record(0, good),
            record(1, "not json"),
            record(2, r#"{"site_id":"s"}"#),
        ];
        let (events, dead) = decode(&records, "events");
        assert_eq!(events.len(), 1);
        assert_eq!(dead.iter().map(|d| d.offset).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(dead[0].payload, "not json");
        assert!(
            dead[1].reason.contains("missing field"),
            "{}",
            dead[1].reason
        );
    }
}
