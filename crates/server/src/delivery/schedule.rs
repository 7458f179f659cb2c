//! When a failed delivery is tried again, and when an endpoint is given up on.
//!
//! The schedule follows the Standard Webhooks recommendation: after the first
//! attempt fails, retries at 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h
//! (eight attempts over about 27.6 hours), each delay varied by ±10% so that
//! a recovering receiver is not hit by every retry at once. After the last
//! attempt the delivery is a dead letter. A subscription whose deliveries
//! have failed without a success for [`DISABLE_AFTER`] is disabled when one of
//! them goes dead; its waiting deliveries resume when it is enabled again.
//! A receiver answering 410 Gone is disabled at once.

use chrono::Duration;
use rand::Rng;

pub const DELAYS_SECS: [i64; 7] = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600];

/// How long an endpoint may fail, with no success, before it is disabled.
pub const DISABLE_AFTER: Duration = Duration::hours(24);

/// The delay before the next attempt after `attempts_made` failed attempts, or
/// `None` when that was the last.
pub fn next_delay(attempts_made: i64) -> Option<Duration> {
    let base = *DELAYS_SECS.get(usize::try_from(attempts_made - 1).ok()?)?;
    let ms = base * 1000;
    let jitter = rand::rng().random_range(-(ms / 10)..=(ms / 10));
    Some(Duration::milliseconds(ms + jitter))
}

/// The total span of the schedule without jitter.
pub fn span() -> Duration {
    Duration::seconds(DELAYS_SECS.iter().sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_lasts_more_than_a_day_and_then_stops() {
        assert!(span() >= Duration::hours(24));
        assert_eq!(next_delay(0), None, "no delay before the first attempt");
        for (i, base) in DELAYS_SECS.iter().enumerate() {
            let d = next_delay(i as i64 + 1).unwrap().num_milliseconds();
            assert!((base * 900..=base * 1100).contains(&d), "{i}: {d}");
        }
        assert_eq!(next_delay(8), None, "eight attempts, then a dead letter");
    }
}
