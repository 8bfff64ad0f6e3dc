//! Simulated timing: when each streamed step is due, and how long a whole generation takes.
//!
//! Offsets are measured from the request's start (absolute deadlines), so a late wake-up never
//! shifts the tokens after it.

use crate::rng::Rng;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Latency {
    /// Time to first token, seconds.
    pub ttft: f64,
    /// Inter-token latency, seconds.
    pub itl: f64,
    /// Relative spread of each delay: 0.1 draws every delay within +-10% of its mean.
    pub jitter: f64,
}

impl Latency {
    pub fn is_zero(&self) -> bool {
        self.ttft <= 0.0 && self.itl <= 0.0
    }
}

/// Due time (seconds from request start) of each of `steps` streamed steps.
pub fn step_offsets(rng: &mut Rng, lat: Latency, steps: usize) -> Vec<f64> {
    let mut t = lat.ttft.max(0.0) * rng.jitter(lat.jitter);
    let mut out = Vec::with_capacity(steps);
    for k in 0..steps {
        if k > 0 {
            t += lat.itl.max(0.0) * rng.jitter(lat.jitter);
        }
        out.push(t);
    }
    out
}

/// Time until a non-streamed answer of `tokens` tokens is complete.
pub fn total(rng: &mut Rng, lat: Latency, tokens: usize) -> f64 {
    phases(rng, lat, tokens)[1]
}

/// `[time to first token, time to the last]` of a non-streamed answer of `tokens` tokens.
pub fn phases(rng: &mut Rng, lat: Latency, tokens: usize) -> [f64; 2] {
    let ttft = lat.ttft.max(0.0) * rng.jitter(lat.jitter);
    let decode = lat.itl.max(0.0) * tokens.saturating_sub(1) as f64 * rng.jitter(lat.jitter);
    [ttft, ttft + decode]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_start_at_ttft_and_step_by_itl() {
        let lat = Latency { ttft: 0.05, itl: 0.01, jitter: 0.0 };
        let o = step_offsets(&mut Rng::new(1), lat, 4);
        let expect = [0.05, 0.06, 0.07, 0.08];
        assert!(o.iter().zip(expect).all(|(a, b)| (a - b).abs() < 1e-12), "{o:?}");
        assert!((total(&mut Rng::new(1), lat, 4) - 0.08).abs() < 1e-12);
        assert_eq!(total(&mut Rng::new(1), Latency::default(), 10), 0.0);
    }

    #[test]
    fn jitter_stays_within_its_spread() {
        let lat = Latency { ttft: 0.1, itl: 0.01, jitter: 0.1 };
        let o = step_offsets(&mut Rng::new(2), lat, 100);
        assert!((0.09..=0.11).contains(&o[0]));
        assert!(o.windows(2).all(|w| (0.009..=0.011).contains(&(w[1] - w[0]))));
    }
}
