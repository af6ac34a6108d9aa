//! Counters and latency percentiles since the server started, for `GET /api/stats`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

/// Percentiles are taken over this many most recent requests, so memory stays bounded.
const LATENCY_WINDOW: usize = 10_000;

pub struct Stats {
    started: Instant,
    requests: AtomicU64,
    errors: AtomicU64,
    busy: AtomicU64,
    latencies_ms: Mutex<VecDeque<f64>>,
}

/// How one classification request ended.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Refused with 503 because the pool was full.
    Busy,
    /// Any other 4xx or 5xx answer.
    Error,
}

#[derive(Serialize)]
pub struct Snapshot {
    uptime_s: f64,
    /// Classification requests (`/predict`, `/api/classify`, `/test`) answered so far.
    requests: u64,
    /// Of those, answered with an error other than 503.
    errors: u64,
    /// Of those, refused with 503 because every worker was busy and the queue was full.
    busy_rejections: u64,
    /// Answered requests per second of uptime.
    throughput_rps: f64,
    /// Server-side latency of successful requests, over the last `latency_window` of them.
    latency_ms: Percentiles,
    latency_window: usize,
}

#[derive(Serialize)]
struct Percentiles {
    p50: Option<f64>,
    p90: Option<f64>,
    p99: Option<f64>,
}

impl Stats {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            busy: AtomicU64::new(0),
            latencies_ms: Mutex::new(VecDeque::with_capacity(LATENCY_WINDOW)),
        }
    }

    pub fn record(&self, outcome: Outcome, elapsed: Duration) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Outcome::Busy => {
                self.busy.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Error => {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Ok => {
                let mut latencies = self.latencies_ms.lock().unwrap_or_else(|p| p.into_inner());
                if latencies.len() == LATENCY_WINDOW {
                    latencies.pop_front();
                }
                latencies.push_back(elapsed.as_secs_f64() * 1000.0);
            }
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let uptime_s = self.started.elapsed().as_secs_f64();
        let requests = self.requests.load(Ordering::Relaxed);
        let mut sorted: Vec<f64> = self
            .latencies_ms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect();
        sorted.sort_by(f64::total_cmp);
        Snapshot {
            uptime_s,
            requests,
            errors: self.errors.load(Ordering::Relaxed),
            busy_rejections: self.busy.load(Ordering::Relaxed),
            throughput_rps: if uptime_s > 0.0 {
                requests as f64 / uptime_s
            } else {
                0.0
            },
            latency_ms: Percentiles {
                p50: percentile(&sorted, 0.50),
                p90: percentile(&sorted, 0.90),
                p99: percentile(&sorted, 0.99),
            },
            latency_window: LATENCY_WINDOW,
        }
    }
}

/// Nearest-rank percentile of an ascending slice.
fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.50), Some(50.0));
        assert_eq!(percentile(&values, 0.99), Some(99.0));
        assert_eq!(percentile(&[7.0], 0.90), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn outcomes_are_counted_separately() {
        let stats = Stats::new();
        stats.record(Outcome::Ok, Duration::from_millis(10));
        stats.record(Outcome::Busy, Duration::from_millis(1));
        stats.record(Outcome::Error, Duration::from_millis(1));
        let snapshot = stats.snapshot();
        assert_eq!(
            (snapshot.requests, snapshot.errors, snapshot.busy_rejections),
            (3, 1, 1)
        );
        assert_eq!(snapshot.latency_ms.p50, Some(10.0));
    }
}
