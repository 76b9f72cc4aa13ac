//! Turning measured durations into the figures the benchmarks print.

// Each bench uses part of this module.
#![allow(dead_code)]

use std::time::Duration;

/// The `p` quantile (0.0–1.0) of durations sorted ascending (nearest rank).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Milliseconds, for printing.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
