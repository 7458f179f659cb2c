//! A person's appointments as the person page and the escort handover sheet
//! show them: today's and the next ones, each with its escort needs and
//! at-risk reasons. Both pages go through an appointment view's JSON (as the
//! summary's `appointments` section carries it), so they show the same thing.

use super::pages::label;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// One appointment, ready to show.
pub struct AppointmentLine {
    pub when: String,
    pub what: String,
    pub place: String,
    pub external: bool,
    /// The planned escort in words; `None` on an external appointment: not yet planned.
    pub escort: Option<String>,
    pub risks: Vec<String>,
    pub outcome: Option<String>,
    pub late_change: bool,
    pub cancelled: bool,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A line from an appointment view's JSON; `None` when it is not one.
pub fn from_view_json(v: &Value, now: DateTime<Utc>) -> Option<AppointmentLine> {
    let starts: DateTime<Utc> = text(v, "startsAt")?.parse().ok()?;
    let place = v.get("place")?;
    let external = place.get("kind").and_then(Value::as_str) == Some("external");
    let place_text = match place.get("kind").and_then(Value::as_str) {
        Some("internal") => format!(
            "Healthcare unit, {}",
            text(place, "room").unwrap_or_default()
        ),
        Some("in-cell") => "In cell".to_owned(),
        _ => text(place, "location").unwrap_or_default(),
    };
    let escort = v.get("escort").filter(|e| !e.is_null()).map(|e| {
        let n = e.get("officers").and_then(Value::as_i64).unwrap_or(0);
        format!(
            "{n} officer{}, {}, restraint: {}",
            if n == 1 { "" } else { "s" },
            label(&text(e, "vehicle").unwrap_or_default()).to_lowercase(),
            label(&text(e, "restraint").unwrap_or_default()).to_lowercase()
        )
    });
    let when = if starts.date_naive() == now.date_naive() {
        format!("Today {}", starts.format("%H:%M"))
    } else {
        starts.format("%a %-d %b %H:%M").to_string()
    };
    Some(AppointmentLine {
        when,
        what: format!(
            "{} ({})",
            text(v, "typeDescription").unwrap_or_default(),
            text(v, "type").unwrap_or_default()
        ),
        place: place_text,
        external,
        escort,
        risks: v
            .get("risks")
            .and_then(Value::as_array)
            .map(|rs| rs.iter().filter_map(|r| text(r, "detail")).collect())
            .unwrap_or_default(),
        outcome: v.get("outcome").filter(|o| !o.is_null()).map(|o| {
            let kind = label(&text(o, "outcome").unwrap_or_default());
            match text(o, "reason") {
                Some(r) => format!("{kind}: {}", label(&r).to_lowercase()),
                None => kind,
            }
        }),
        late_change: v.get("lateChange").and_then(Value::as_bool) == Some(true),
        cancelled: text(v, "status").as_deref() == Some("cancelled"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_unplanned_external_appointment_says_so_and_keeps_its_risks() {
        let now: DateTime<Utc> = "2026-03-02T08:00:00Z".parse().unwrap();
        let v = json!({"startsAt": "2026-03-02T10:30:00Z", "type": "HOSP-OP", "typeDescription": "Hospital outpatient",
            "place": {"kind": "external", "location": "Leeds General Infirmary"}, "status": "booked",
            "escort": null, "outcome": null, "lateChange": true,
            "risks": [{"reason": "court-same-day", "source": "plan:1", "detail": "Court on the same day"}]});
        let l = from_view_json(&v, now).unwrap();
        assert_eq!(l.when, "Today 10:30");
        assert!(l.external && l.escort.is_none() && l.late_change && !l.cancelled);
        assert_eq!(l.risks, ["Court on the same day"]);
        let v = json!({"startsAt": "2026-03-04T09:00:00Z", "type": "MEDE", "typeDescription": "Dentist",
            "place": {"kind": "internal", "room": "Dental suite"}, "status": "cancelled",
            "escort": {"officers": 2, "vehicle": "cellular-vehicle", "restraint": "handcuffs"},
            "outcome": {"outcome": "was-not-brought", "reason": "no-escort-staff"}});
        let l = from_view_json(&v, now).unwrap();
        assert_eq!(l.when, "Wed 4 Mar 09:00");
        assert_eq!(l.place, "Healthcare unit, Dental suite");
        assert_eq!(
            l.escort.as_deref(),
            Some("2 officers, cellular vehicle, restraint: handcuffs")
        );
        assert_eq!(
            l.outcome.as_deref(),
            Some("Was not brought: no escort staff")
        );
        assert!(l.cancelled);
        assert!(from_view_json(&json!({"nope": 1}), now).is_none());
    }
}
