//! Latency-based fault avoidance, as the Java producer's `MQFaultStrategy`: a broker that answered
//! slowly, or not at all, is not chosen again for a while, unless no other broker is left.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Send latency thresholds (ms) and how long a broker is avoided after such a latency.
const LATENCY_MS: [u64; 7] = [50, 100, 550, 1_800, 3_000, 5_000, 15_000];
const AVOID_MS: [u64; 7] = [0, 0, 2_000, 5_000, 6_000, 10_000, 30_000];
/// How long a broker that failed (timeout, connection refused, busy) is avoided.
pub(crate) const FAILURE_AVOIDANCE: Duration = Duration::from_secs(30);

/// Which brokers to avoid, and until when.
#[derive(Debug, Default)]
pub(crate) struct FaultTolerance {
    avoid_until: Mutex<HashMap<String, Instant>>,
}

impl FaultTolerance {
    /// Records a send to `broker` that took `latency` (or failed, when `failed`).
    pub fn record(&self, broker: &str, latency: Duration, failed: bool) {
        let pause = if failed { FAILURE_AVOIDANCE } else { avoidance_for(latency) };
        let Ok(mut map) = self.avoid_until.lock() else { return };
        if pause.is_zero() {
            map.remove(broker);
        } else {
            map.insert(broker.to_owned(), Instant::now() + pause);
        }
    }

    /// Whether `broker` may be chosen now.
    pub fn is_available(&self, broker: &str) -> bool {
        self.avoid_until.lock().map_or(true, |map| map.get(broker).is_none_or(|until| Instant::now() >= *until))
    }
}

fn avoidance_for(latency: Duration) -> Duration {
    let ms = latency.as_millis() as u64;
    let idx = LATENCY_MS.iter().rposition(|limit| ms >= *limit);
    Duration::from_millis(idx.map_or(0, |i| AVOID_MS[i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_broker_is_avoided_and_fast_one_is_not() {
        let f = FaultTolerance::default();
        f.record("a", Duration::from_millis(3), false);
        f.record("b", Duration::from_millis(3), true);
        assert!(f.is_available("a"));
        assert!(!f.is_available("b"));
        assert!(f.is_available("never-seen"));
    }

    #[test]
    fn slow_answers_pause_the_broker_by_the_java_table() {
        assert_eq!(avoidance_for(Duration::from_millis(99)), Duration::ZERO);
        assert_eq!(avoidance_for(Duration::from_millis(600)), Duration::from_secs(2));
        assert_eq!(avoidance_for(Duration::from_secs(20)), Duration::from_secs(30));
    }

    #[test]
    fn a_later_fast_answer_clears_the_pause() {
        let f = FaultTolerance::default();
        f.record("a", Duration::from_secs(4), false);
        assert!(!f.is_available("a"));
        f.record("a", Duration::from_millis(1), false);
        assert!(f.is_available("a"));
    }
}
