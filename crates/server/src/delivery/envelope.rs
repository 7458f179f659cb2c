//! The CloudEvents 1.0 JSON envelope every channel sends.

use gatehouse_store::OutboxEvent;
use serde_json::{Value, json};

/// `source` of every Gatehouse event.
pub const SOURCE: &str = "urn:gatehouse";

/// The envelope for one event, with the subscriber's view as `data`.
pub fn cloud_event(e: &OutboxEvent, data: Value) -> Value {
    json!({
        "specversion": "1.0",
        "id": e.id,
        "source": SOURCE,
        "type": e.event_type,
        "subject": e.subject,
        "time": e.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "datacontenttype": "application/json",
        // Extensions: the per-person sequence (ordering within a person) and the
        // establishment, and when Gatehouse recorded it.
        "sequence": e.subject_seq.to_string(),
        "establishment": e.establishment,
        "recordedtime": e.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
}
