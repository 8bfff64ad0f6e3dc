//! Fixed-bucket latency histograms stored in shared-memory table slots (see [`crate::shm::table`]).
//!
//! A histogram occupies [`WIDTH`] words of a slot: `[count, sum_ns, bucket_0, ..., bucket_k, +Inf]`,
//! each bucket counting the observations `<=` its upper bound (not cumulative; exposition makes them
//! cumulative). Bounds are vLLM's latency buckets, so Grafana dashboards built for vLLM read them as is.

use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds in seconds (vLLM's `time_to_first_token_seconds` buckets, extended to one hour).
pub const BOUNDS: [f64; 24] = [
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0,
    7.5, 10.0, 20.0, 40.0, 80.0, 3600.0,
];
/// Words a histogram needs: count, sum, one per bound, and +Inf.
pub const WIDTH: usize = 2 + BOUNDS.len() + 1;

/// Record one observation of `seconds` into `words` (a slot at least [`WIDTH`] long).
pub fn observe(words: &[AtomicU64], seconds: f64) {
    observe_n(words, seconds, 1);
}

/// Count `n` observations of the same `seconds` at once.
pub fn observe_n(words: &[AtomicU64], seconds: f64, n: u64) {
    if n == 0 {
        return;
    }
    let seconds = if seconds.is_finite() { seconds.max(0.0) } else { 0.0 };
    let bucket = BOUNDS.iter().position(|&b| seconds <= b).unwrap_or(BOUNDS.len());
    words[0].fetch_add(n, Ordering::Relaxed);
    words[1].fetch_add(((seconds * 1e9) as u64).saturating_mul(n), Ordering::Relaxed);
    words[2 + bucket].fetch_add(n, Ordering::Relaxed);
}

/// A point-in-time copy of one histogram.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub count: u64,
    pub sum_seconds: f64,
    /// Per-bucket counts, `BOUNDS.len() + 1` long (the last is +Inf).
    pub buckets: Vec<u64>,
}

impl Snapshot {
    pub fn read(words: &[AtomicU64]) -> Self {
        let buckets: Vec<u64> = words[2..WIDTH].iter().map(|w| w.load(Ordering::Relaxed)).collect();
        Self {
            count: buckets.iter().sum(),
            sum_seconds: words[1].load(Ordering::Relaxed) as f64 / 1e9,
            buckets,
        }
    }

    /// Cumulative counts per bound (Prometheus `_bucket{le=...}`), ending with +Inf.
    pub fn cumulative(&self) -> Vec<u64> {
        self.buckets
            .iter()
            .scan(0u64, |acc, &b| {
                *acc += b;
                Some(*acc)
            })
            .collect()
    }

    /// The `q`-quantile (0..=1), interpolated linearly inside its bucket as Prometheus'
    /// `histogram_quantile` does; 0 when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = q.clamp(0.0, 1.0) * self.count as f64;
        let mut below = 0u64;
        for (i, &n) in self.buckets.iter().enumerate() {
            if n > 0 && (below + n) as f64 >= rank {
                let lo = if i == 0 { 0.0 } else { BOUNDS[i - 1] };
                let Some(&hi) = BOUNDS.get(i) else { return lo };
                return lo + (hi - lo) * ((rank - below as f64) / n as f64).clamp(0.0, 1.0);
            }
            below += n;
        }
        BOUNDS[BOUNDS.len() - 1]
    }

    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_seconds / self.count as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Vec<AtomicU64> {
        (0..WIDTH).map(|_| AtomicU64::new(0)).collect()
    }

    #[test]
    fn observations_land_in_their_bucket_and_sum() {
        let w = words();
        for s in [0.0005, 0.003, 0.003, 0.05, 5000.0] {
            observe(&w, s);
        }
        let snap = Snapshot::read(&w);
        assert_eq!(snap.count, 5);
        assert_eq!(snap.buckets[0], 1);
        assert_eq!(snap.buckets[1], 2);
        assert_eq!(snap.buckets[5], 1);
        assert_eq!(*snap.buckets.last().unwrap(), 1);
        assert!((snap.sum_seconds - 5000.0565).abs() < 1e-6);
        assert_eq!(*snap.cumulative().last().unwrap(), 5);
        assert!(snap.cumulative().windows(2).all(|p| p[0] <= p[1]));
    }

    #[test]
    fn quantiles_interpolate_within_buckets() {
        let w = words();
        for _ in 0..100 {
            observe(&w, 0.015); // bucket (0.01, 0.02]
        }
        let snap = Snapshot::read(&w);
        let p50 = snap.quantile(0.5);
        assert!((0.01..=0.02).contains(&p50), "{p50}");
        assert!(snap.quantile(0.99) <= 0.02);
        assert!((snap.mean() - 0.015).abs() < 1e-9);
        assert_eq!(Snapshot::read(&words()).quantile(0.5), 0.0);
    }

    #[test]
    fn bad_values_count_as_zero() {
        let w = words();
        observe(&w, f64::NAN);
        observe(&w, -1.0);
        assert_eq!(Snapshot::read(&w).buckets[0], 2);
    }
}
