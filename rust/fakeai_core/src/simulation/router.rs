//! KV-aware routing: pick the simulated worker whose cached overlap and current load make a request
//! cheapest, as AI-Dynamo's KV router does.
//!
//! Dynamo's cost of sending a request to a worker is
//! `overlap_weight * blocks_to_prefill + active_blocks`: the blocks the worker would have to compute
//! (prompt blocks minus those already in its prefix cache) plus the blocks its running requests hold.
//! fakeai weighs both terms (`--kv-overlap-weight`, `--kv-load-weight`); the cheapest worker wins, ties
//! go to the worker with fewer requests in flight, then to the next one in round-robin order.

/// Relative weights of the two cost terms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights {
    pub overlap: f64,
    pub load: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self { overlap: 1.0, load: 1.0 }
    }
}

/// What the router knows about one worker for one request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Candidate {
    /// Prompt blocks not in this worker's prefix cache.
    pub new_blocks: usize,
    /// Blocks held by the requests running or queued on the worker.
    pub active_blocks: usize,
    /// Requests running or queued on the worker.
    pub inflight: usize,
}

pub fn cost(c: &Candidate, w: Weights) -> f64 {
    w.overlap * c.new_blocks as f64 + w.load * c.active_blocks as f64
}

/// Index of the cheapest candidate; ties are broken by fewer requests in flight, then by the order
/// starting at `start` (a rotating counter spreads cold requests over idle workers).
pub fn choose(candidates: &[Candidate], w: Weights, start: usize) -> usize {
    let n = candidates.len();
    let mut best = start % n.max(1);
    for k in 1..n {
        let i = (start + k) % n;
        let (c, b) = (&candidates[i], &candidates[best]);
        let (ci, cb) = (cost(c, w), cost(b, w));
        if ci < cb || (ci == cb && c.inflight < b.inflight) {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(new_blocks: usize, active_blocks: usize, inflight: usize) -> Candidate {
        Candidate { new_blocks, active_blocks, inflight }
    }

    #[test]
    fn overlap_wins_when_loads_are_equal() {
        let c = [cand(10, 0, 0), cand(2, 0, 0), cand(10, 0, 0)];
        assert_eq!(choose(&c, Weights::default(), 0), 1);
    }

    #[test]
    fn without_overlap_the_least_loaded_worker_wins() {
        let c = [cand(10, 30, 3), cand(10, 5, 1), cand(10, 20, 2)];
        assert_eq!(choose(&c, Weights::default(), 0), 1);
    }

    #[test]
    fn load_can_outweigh_overlap() {
        // Worker 0 has the prefix cached but is busy; worker 1 is idle.
        let c = [cand(0, 100, 8), cand(20, 0, 0)];
        assert_eq!(choose(&c, Weights::default(), 0), 1);
        // Caring only about overlap keeps the request on the cached worker.
        assert_eq!(choose(&c, Weights { overlap: 1.0, load: 0.0 }, 0), 0);
    }

    #[test]
    fn ties_rotate_over_idle_workers() {
        let c = [cand(4, 0, 0); 3];
        let picks: Vec<usize> = (0..3).map(|s| choose(&c, Weights::default(), s)).collect();
        assert_eq!(picks, [0, 1, 2]);
        assert_eq!(choose(&[cand(1, 0, 2), cand(1, 0, 1)], Weights { overlap: 1.0, load: 0.0 }, 0), 1);
    }
}
