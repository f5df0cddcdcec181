//! Latency histograms (HdrHistogram, microsecond resolution) and the summaries the generators
//! print: average, p50, p99, p99.9 and maximum in milliseconds.

use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The largest latency recorded exactly: one hour, in microseconds (larger ones saturate).
const MAX_MICROS: u64 = 3_600_000_000;

/// Latencies in microseconds, 3 significant digits (0.1 % relative error).
#[derive(Clone)]
pub struct Latency {
    hist: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Latency { hist: Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("constant histogram bounds are valid") }
    }
}

impl Latency {
    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        self.record_micros(u64::try_from(latency.as_micros()).unwrap_or(MAX_MICROS));
    }

    /// Records one latency given in microseconds (0 counts as 1 µs; beyond one hour saturates).
    pub fn record_micros(&mut self, micros: u64) {
        self.hist.saturating_record(micros.clamp(1, MAX_MICROS));
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Latency) {
        // Same bounds on both sides, so adding cannot fail; saturate rather than panic regardless.
        if self.hist.add(&other.hist).is_err() {
            for v in other.hist.iter_recorded() {
                self.hist.saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
    }

    /// Forgets every value.
    pub fn reset(&mut self) {
        self.hist.reset();
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// Average and percentiles in milliseconds (all zero when nothing was recorded).
    pub fn summary(&self) -> LatencySummary {
        if self.hist.is_empty() {
            return LatencySummary::default();
        }
        let ms = |micros: u64| micros as f64 / 1000.0;
        LatencySummary {
            avg_ms: self.hist.mean() / 1000.0,
            p50_ms: ms(self.hist.value_at_quantile(0.50)),
            p99_ms: ms(self.hist.value_at_quantile(0.99)),
            p999_ms: ms(self.hist.value_at_quantile(0.999)),
            max_ms: ms(self.hist.max()),
        }
    }
}

/// A latency distribution in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Mean.
    pub avg_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest value.
    pub max_ms: f64,
}

impl fmt::Display for LatencySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "avg {:.3} p50 {:.3} p99 {:.3} p999 {:.3} max {:.3} ms",
            self.avg_ms, self.p50_ms, self.p99_ms, self.p999_ms, self.max_ms
        )
    }
}

/// Messages per second over `elapsed` (0 for an empty interval).
pub fn rate(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

/// MiB per second for `tps` messages of `size` bytes.
pub fn mib_per_s(tps: f64, size: usize) -> f64 {
    tps * size as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_uniform_spread() {
        let mut l = Latency::default();
        for micros in 1..=10_000u64 {
            l.record_micros(micros);
        }
        let s = l.summary();
        assert!((s.p50_ms - 5.0).abs() < 0.01, "{s}");
        assert!((s.p99_ms - 9.9).abs() < 0.01, "{s}");
        assert!((s.p999_ms - 9.99).abs() < 0.01, "{s}");
        assert!((s.max_ms - 10.0).abs() < 0.01, "{s}");
        assert!((s.avg_ms - 5.0).abs() < 0.01, "{s}");
    }

    #[test]
    fn merge_adds_and_reset_empties() {
        let mut a = Latency::default();
        let mut b = Latency::default();
        a.record(Duration::from_millis(1));
        b.record(Duration::from_millis(3));
        a.merge(&b);
        assert_eq!(a.count(), 2);
        assert!((a.summary().max_ms - 3.0).abs() < 0.01);
        a.reset();
        assert_eq!(a.count(), 0);
        assert_eq!(a.summary(), LatencySummary::default());
    }

    #[test]
    fn zero_and_huge_values_saturate() {
        let mut l = Latency::default();
        l.record_micros(0);
        l.record(Duration::from_secs(7200));
        assert_eq!(l.count(), 2);
        assert!(l.summary().max_ms >= 3_599_000.0);
    }

    #[test]
    fn rates() {
        assert_eq!(rate(500, Duration::from_millis(250)), 2000.0);
        assert_eq!(rate(5, Duration::ZERO), 0.0);
        assert_eq!(mib_per_s(1024.0, 1024), 1.0);
    }
}
