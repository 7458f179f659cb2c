//! A safety notice from raw bytes, as a health system posts it:
//! `serde_json::from_slice` into `NoticeInput`, then `parse` with every rule.
//! Invariants of an accepted notice: the instruction fits, the audience is not
//! empty, `with-condition` carries consent and a condition, and an
//! instruction-only notice never names its own condition.
#![no_main]

use gatehouse_domain::notice::{DisclosureLevel, INSTRUCTION_MAX_CHARS, NoticeInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<NoticeInput>(data) else {
        return;
    };
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-25T09:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    if let Ok(v) = input.parse(now) {
        let c = &v.content;
        assert!(c.instruction.chars().count() <= INSTRUCTION_MAX_CHARS);
        assert!(!c.audience.is_empty());
        if c.disclosure_level == DisclosureLevel::WithCondition {
            assert!(c.consent.is_some() && c.condition.is_some());
        } else if let Some(cond) = &c.condition {
            assert!(!c.instruction.to_lowercase().contains(&cond.to_lowercase()));
        }
    }
});
