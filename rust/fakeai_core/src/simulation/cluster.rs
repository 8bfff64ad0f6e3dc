//! The simulated inference cluster: N workers, each with a prefix (KV) cache and a batch of
//! concurrent request slots, behind a KV-aware router.
//!
//! A request is handled in two steps, both inside the one core call that renders it:
//! [`Cluster::route`] hashes the prompt into blocks, picks a worker ([`router`]) and caches the
//! prompt there, reporting how many prompt tokens were already cached; then [`Cluster::occupy`] takes
//! the worker's earliest free batch slot for the request's simulated duration. When all `batch_size`
//! slots are busy the request waits for the first to free, and that wait is added to its time to first
//! token, so TTFT rises with concurrency as on a real server. A request that ends early (the client went
//! away) gives its slot back with [`Cluster::release`]. Times are seconds on the caller's monotonic
//! clock.
//!
//! With `prefill_workers > 0` the cluster is disaggregated, as AI-Dynamo deploys it: the first
//! `prefill_workers` workers hold the prefix caches and run prompts up to the first token, the other
//! `workers` run the decode, each pool with its own batch slots. [`Cluster::schedule`] then takes a
//! prefill slot for the time to first token and a decode slot (on the least-loaded decode worker) for
//! the rest; a wait for either shifts the tokens after it.

use crate::simulation::block_hash::block_hashes;
use crate::simulation::radix::RadixTree;
use crate::simulation::router::{self, Candidate, Weights};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    /// Workers (decode workers when disaggregated).
    pub workers: usize,
    /// Prefill workers of a disaggregated cluster (0 = aggregated: every worker does both).
    pub prefill_workers: usize,
    /// Tokens per KV block.
    pub block_size: usize,
    /// Prefix-cache capacity of each worker, in blocks (0 disables caching).
    pub cache_blocks: usize,
    /// Requests a worker runs at once; more wait for a slot (0 = unlimited, no queueing).
    pub batch_size: usize,
    pub weights: Weights,
    /// Record a [`KvEvent`] for every block stored or evicted (drained with [`Cluster::drain_events`]).
    pub kv_events: bool,
    pub limits: Limits,
}

/// vLLM's scheduler limits, for the whole cluster (a vLLM rank) on top of each worker's batch slots.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Requests running at once (vLLM's `--max-num-seqs`; 0 = no cap beyond the workers' batches).
    pub max_num_seqs: usize,
    /// Requests allowed to wait for a slot; more are refused by [`Cluster::admit`] (None = no limit).
    pub max_waiting: Option<usize>,
    /// Slowdown at a full batch: timings are multiplied by `1 + (factor - 1) * running / max_num_seqs`.
    pub time_factor: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_num_seqs: 0, max_waiting: None, time_factor: 1.0 }
    }
}

/// A change to a worker's prefix cache, as vLLM reports it (`BlockStored` / `BlockRemoved`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvEvent {
    /// Consecutive blocks of one prompt: `parent` is the hash of the block before the first (None at
    /// the root), `tokens` the blocks' token ids (`hashes.len() * block_size` of them).
    Stored {
        worker: usize,
        hashes: Vec<u64>,
        parent: Option<u64>,
        tokens: Vec<u32>,
    },
    Removed {
        worker: usize,
        hashes: Vec<u64>,
    },
}

/// Per-worker counters since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerStats {
    pub requests: u64,
    /// Requests that had to wait for a batch slot.
    pub queued_requests: u64,
    /// Prompt tokens looked up in the prefix cache (vLLM's `prefix_cache_queries`).
    pub query_tokens: u64,
    /// Prompt tokens found in the cache (vLLM's `prefix_cache_hits`).
    pub hit_tokens: u64,
    /// Requests with at least one cached block.
    pub hit_requests: u64,
    pub evicted_blocks: u64,
}

/// A worker's state at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerSnapshot {
    /// Requests holding a batch slot now.
    pub active: usize,
    /// Requests waiting for a slot.
    pub queued: usize,
    pub blocks_used: usize,
    pub blocks_capacity: usize,
    pub stats: WorkerStats,
}

/// Where a request went and what it found cached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Routed {
    pub worker: usize,
    pub cached_tokens: usize,
    pub evicted_blocks: usize,
}

/// A request's batch slot: `ticket` identifies it for [`Cluster::release`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slot {
    pub ticket: u64,
    pub queue_delay: f64,
}

#[derive(Clone, Copy)]
struct Lane {
    free_at: f64,
    owner: u64,
}

#[derive(Clone, Copy)]
struct Flight {
    start: f64,
    blocks: usize,
    lane: usize,
    /// Its slot among the cluster's `max_num_seqs` (NO_LANE without the cap).
    seq: usize,
    /// When it asked for its slot (a disaggregated decode asks at its hand-off, after its prefill).
    ready: f64,
}

struct Worker {
    cache: RadixTree,
    lanes: Vec<Lane>,
    /// Requests in flight by ticket; `ends` orders them by finish time (ns) for pruning.
    flights: HashMap<u64, Flight>,
    ends: BinaryHeap<Reverse<(u64, u64)>>,
    active_blocks: usize,
    stats: WorkerStats,
}

const WORKER_BITS: u32 = 16;
/// Most simulated workers a cluster can have.
pub const MAX_WORKERS: usize = 1 << WORKER_BITS;
const NO_LANE: usize = usize::MAX;

fn nanos(seconds: f64) -> u64 {
    (seconds.max(0.0) * 1e9) as u64
}

impl Worker {
    fn prune(&mut self, now: f64) {
        let now = nanos(now);
        while let Some(&Reverse((end, ticket))) = self.ends.peek() {
            if end > now {
                break;
            }
            self.ends.pop();
            if let Some(f) = self.flights.remove(&ticket) {
                self.active_blocks -= f.blocks;
            }
        }
    }
}

pub struct Cluster {
    cfg: Config,
    workers: Vec<Worker>,
    next_ticket: u64,
    rotation: usize,
    /// Pending KV events, when `cfg.kv_events`.
    events: Vec<KvEvent>,
    /// The cluster-wide `max_num_seqs` slots.
    seqs: Vec<Lane>,
}

impl Cluster {
    pub fn new(cfg: Config) -> Self {
        let prefill_workers = cfg.prefill_workers.min(MAX_WORKERS / 2);
        let workers = cfg.workers.clamp(1, MAX_WORKERS - prefill_workers);
        let cfg = Config { workers, prefill_workers, block_size: cfg.block_size.max(1), ..cfg };
        let caching = |i: usize| prefill_workers == 0 || i < prefill_workers;
        let workers = (0..prefill_workers + workers)
            .map(|i| Worker {
                cache: RadixTree::new(if caching(i) { cfg.cache_blocks } else { 0 }),
                lanes: vec![Lane { free_at: 0.0, owner: 0 }; cfg.batch_size],
                flights: HashMap::new(),
                ends: BinaryHeap::new(),
                active_blocks: 0,
                stats: WorkerStats::default(),
            })
            .collect();
        let seqs = vec![Lane { free_at: 0.0, owner: 0 }; cfg.limits.max_num_seqs];
        Self { cfg, workers, next_ticket: 1, rotation: 0, events: Vec::new(), seqs }
    }

    /// The simulated workers (prefill workers first, when disaggregated).
    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Choose a worker for a prompt of `tokens` and cache the prompt there.
    pub fn route(&mut self, tokens: &[u32], now: f64) -> Routed {
        let hashes =
            if self.cfg.cache_blocks > 0 { block_hashes(tokens, self.cfg.block_size) } else { Vec::new() };
        let blocks = tokens.len().div_ceil(self.cfg.block_size).max(1);
        let pool = if self.cfg.prefill_workers > 0 { self.cfg.prefill_workers } else { self.workers.len() };
        let candidates: Vec<Candidate> = self.workers[..pool]
            .iter_mut()
            .map(|w| {
                w.prune(now);
                Candidate {
                    new_blocks: blocks - w.cache.matched(&hashes),
                    active_blocks: w.active_blocks,
                    inflight: w.flights.len(),
                }
            })
            .collect();
        let index = router::choose(&candidates, self.cfg.weights, self.rotation);
        self.rotation = self.rotation.wrapping_add(1);
        let ins = if self.cfg.kv_events {
            let mut evicted = Vec::new();
            let ins = self.workers[index].cache.insert_reporting(&hashes, Some(&mut evicted));
            self.record_events(index, tokens, &hashes, ins.matched..ins.matched + ins.added, evicted);
            ins
        } else {
            self.workers[index].cache.insert(&hashes)
        };
        let w = &mut self.workers[index];
        let cached_tokens = (ins.matched * self.cfg.block_size).min(tokens.len());
        let s = &mut w.stats;
        s.requests += 1;
        s.query_tokens += tokens.len() as u64;
        s.hit_tokens += cached_tokens as u64;
        s.hit_requests += u64::from(cached_tokens > 0);
        s.evicted_blocks += ins.evicted as u64;
        Routed { worker: index, cached_tokens, evicted_blocks: ins.evicted }
    }

    /// Book a routed request whose first token is due `first` seconds after `now` and its last `last`
    /// seconds after: `(ticket, wait before the first token, further wait before the rest)`.
    /// Aggregated, one slot on `worker` covers the whole request; disaggregated, a prefill slot on
    /// `worker` covers the first token and a decode slot the rest.
    pub fn schedule(
        &mut self,
        worker: usize,
        tokens: usize,
        first: f64,
        last: f64,
        now: f64,
    ) -> (u64, f64, f64) {
        if self.cfg.prefill_workers == 0 {
            let slot = self.occupy(worker, tokens, last, now);
            return (slot.ticket, slot.queue_delay, 0.0);
        }
        let prefill = self.occupy(worker, tokens, first, now);
        let handoff = now + prefill.queue_delay + first;
        let decoder = self.decode_worker(handoff);
        let decode = self.occupy(decoder, tokens, last - first, handoff);
        (decode.ticket, prefill.queue_delay, decode.queue_delay)
    }

    /// The decode worker with the fewest active blocks at `now`.
    fn decode_worker(&mut self, now: f64) -> usize {
        let first = self.cfg.prefill_workers;
        let candidates: Vec<Candidate> = self.workers[first..]
            .iter_mut()
            .map(|w| {
                w.prune(now);
                Candidate { new_blocks: 0, active_blocks: w.active_blocks, inflight: w.flights.len() }
            })
            .collect();
        first + router::choose(&candidates, Weights { overlap: 0.0, load: 1.0 }, self.rotation)
    }

    /// Give a request of `prompt_tokens` on `worker` a batch slot for `duration` seconds from `now`
    /// (or from when a slot frees, if all are busy).
    pub fn occupy(&mut self, worker: usize, prompt_tokens: usize, duration: f64, now: f64) -> Slot {
        let ticket = (self.next_ticket << WORKER_BITS) | worker as u64;
        self.next_ticket += 1;
        let (seq_start, seq) = earliest(&self.seqs, now);
        let w = &mut self.workers[worker];
        let (lane_start, lane) = earliest(&w.lanes, now);
        let start = seq_start.max(lane_start);
        let finish = start + duration.max(0.0);
        if lane != NO_LANE {
            w.lanes[lane] = Lane { free_at: finish, owner: ticket };
        }
        if seq != NO_LANE {
            self.seqs[seq] = Lane { free_at: finish, owner: ticket };
        }
        let blocks = prompt_tokens.div_ceil(self.cfg.block_size).max(1);
        w.flights.insert(ticket, Flight { start, blocks, lane, seq, ready: now });
        w.ends.push(Reverse((nanos(finish), ticket)));
        w.active_blocks += blocks;
        if start > now {
            w.stats.queued_requests += 1;
        }
        Slot { ticket, queue_delay: start - now }
    }

    /// End a request early: its slot is free from `now` (requests already queued behind it keep the
    /// schedule they were given).
    pub fn release(&mut self, ticket: u64, now: f64) {
        let Some(w) = self.workers.get_mut((ticket & (MAX_WORKERS as u64 - 1)) as usize) else { return };
        if let Some(f) = w.flights.remove(&ticket) {
            w.active_blocks -= f.blocks;
            if let Some(lane) = w.lanes.get_mut(f.lane).filter(|l| l.owner == ticket) {
                lane.free_at = lane.free_at.min(now);
            }
            if let Some(seq) = self.seqs.get_mut(f.seq).filter(|l| l.owner == ticket) {
                seq.free_at = seq.free_at.min(now);
            }
        }
    }

    /// `(running, waiting)` requests over all workers at `now` (a disaggregated request still in its
    /// prefill is not yet waiting for its decode slot).
    pub fn load(&mut self, now: f64) -> (usize, usize) {
        self.workers.iter_mut().fold((0, 0), |(running, waiting), w| {
            w.prune(now);
            let started = w.flights.values().filter(|f| f.start <= now).count();
            let queued = w.flights.values().filter(|f| f.ready <= now && now < f.start).count();
            (running + started, waiting + queued)
        })
    }

    /// Whether a request arriving at `now` may enter: false when it would have to wait and
    /// `max_waiting` requests already do.
    pub fn admit(&mut self, now: f64) -> bool {
        let Some(limit) = self.cfg.limits.max_waiting else { return true };
        let (_, waiting) = self.load(now);
        waiting < limit || self.seqs.iter().any(|l| l.free_at <= now)
    }

    /// The slowdown of a request arriving at `now` (1 without `time_factor`): grows linearly with the
    /// requests running, including this one, up to `time_factor` at `max_num_seqs`.
    pub fn load_factor(&mut self, now: f64) -> f64 {
        let Limits { max_num_seqs, time_factor, .. } = self.cfg.limits;
        if time_factor <= 1.0 || max_num_seqs == 0 {
            return 1.0;
        }
        let running = (self.load(now).0 + 1).min(max_num_seqs);
        1.0 + (time_factor - 1.0) * running as f64 / max_num_seqs as f64
    }

    /// Record (when KV events are on) that `worker` evicted the blocks `evicted`, then stored the
    /// blocks `stored` of a prompt of `tokens` whose full blocks hash to `hashes`. Also used for the
    /// engine model's replicas, whose prefix caches live in shared memory (`crate::shm::prefix`).
    pub fn record_events(
        &mut self,
        worker: usize,
        tokens: &[u32],
        hashes: &[u64],
        stored: std::ops::Range<usize>,
        evicted: Vec<u64>,
    ) {
        if !self.cfg.kv_events {
            return;
        }
        if !evicted.is_empty() {
            self.events.push(KvEvent::Removed { worker, hashes: evicted });
        }
        let bs = self.cfg.block_size;
        let (from, to) = (stored.start, stored.end.min(hashes.len()).min(tokens.len() / bs.max(1)));
        if from < to {
            self.events.push(KvEvent::Stored {
                worker,
                hashes: hashes[from..to].to_vec(),
                parent: from.checked_sub(1).map(|i| hashes[i]),
                tokens: tokens[from * bs..to * bs].to_vec(),
            });
        }
    }

    /// The KV events recorded since the last call, oldest first.
    pub fn drain_events(&mut self) -> Vec<KvEvent> {
        std::mem::take(&mut self.events)
    }

    /// Every worker's state at `now`.
    pub fn snapshot(&mut self, now: f64) -> Vec<WorkerSnapshot> {
        self.workers
            .iter_mut()
            .map(|w| {
                w.prune(now);
                let queued = w.flights.values().filter(|f| f.start > now).count();
                WorkerSnapshot {
                    active: w.flights.len() - queued,
                    queued,
                    blocks_used: w.cache.len(),
                    blocks_capacity: w.cache.capacity(),
                    stats: w.stats,
                }
            })
            .collect()
    }
}

/// The lane of `lanes` free first, and from when (`now` at the earliest); `(now, NO_LANE)` if none.
fn earliest(lanes: &[Lane], now: f64) -> (f64, usize) {
    let Some(head) = lanes.first() else { return (now, NO_LANE) };
    // The first lane of the least `free_at` (a plain scan: this runs for every request, over
    // `batch_size` lanes; times are never NaN).
    let (mut best, mut at) = (head.free_at, 0);
    for (i, lane) in lanes.iter().enumerate().skip(1) {
        if lane.free_at < best {
            (best, at) = (lane.free_at, i);
        }
    }
    (best.max(now), at)
}

/// Prefill time of a prompt: `per_token` seconds for each token not found in the prefix cache.
pub fn prefill_seconds(per_token: f64, prompt_tokens: usize, cached_tokens: usize) -> f64 {
    per_token.max(0.0) * prompt_tokens.saturating_sub(cached_tokens) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_lane_is_the_first_of_the_least_free_time() {
        let lanes = |t: &[f64]| t.iter().map(|&free_at| Lane { free_at, owner: 0 }).collect::<Vec<_>>();
        assert_eq!(earliest(&lanes(&[3.0, 1.0, 2.0, 1.0]), 0.5), (1.0, 1));
        assert_eq!(earliest(&lanes(&[0.0, 0.0]), 0.5), (0.5, 0));
        assert_eq!(earliest(&lanes(&[2.0]), 5.0), (5.0, 0));
        assert_eq!(earliest(&[], 5.0), (5.0, NO_LANE));
    }

    fn config(workers: usize, prefill_workers: usize, cache_blocks: usize, batch_size: usize) -> Config {
        let weights = Weights::default();
        Config {
            workers,
            prefill_workers,
            block_size: 16,
            cache_blocks,
            batch_size,
            weights,
            kv_events: false,
            limits: Limits::default(),
        }
    }

    #[test]
    fn max_num_seqs_caps_the_cluster_and_waiting_is_bounded() {
        let limits = Limits { max_num_seqs: 2, max_waiting: Some(1), time_factor: 1.0 };
        let mut c = Cluster::new(Config { limits, ..config(4, 0, 0, 256) });
        assert!(c.admit(0.0));
        assert_eq!(c.occupy(0, 10, 1.0, 0.0).queue_delay, 0.0);
        assert_eq!(c.occupy(1, 10, 2.0, 0.0).queue_delay, 0.0);
        assert!(c.admit(0.1), "the queue is empty");
        let third = c.occupy(2, 10, 1.0, 0.1);
        assert!((third.queue_delay - 0.9).abs() < 1e-12, "waits for a seq although worker 2 is idle");
        assert_eq!(c.load(0.5), (2, 1));
        assert!(!c.admit(0.5), "one waiting already");
        assert!(c.admit(2.5), "all done");
        assert_eq!(c.load(2.5), (0, 0));
    }

    #[test]
    fn releasing_frees_the_seq_too() {
        let limits = Limits { max_num_seqs: 1, max_waiting: Some(0), time_factor: 1.0 };
        let mut c = Cluster::new(Config { limits, ..config(1, 0, 0, 0) });
        let long = c.occupy(0, 10, 100.0, 0.0);
        assert!(!c.admit(1.0));
        c.release(long.ticket, 1.0);
        assert!(c.admit(1.5));
        assert_eq!(c.occupy(0, 10, 1.0, 1.5).queue_delay, 0.0);
    }

    #[test]
    fn load_factor_grows_linearly_with_running_requests() {
        let limits = Limits { max_num_seqs: 4, max_waiting: None, time_factor: 3.0 };
        let mut c = Cluster::new(Config { limits, ..config(1, 0, 0, 0) });
        assert!((c.load_factor(0.0) - 1.5).abs() < 1e-12, "1 of 4 running (this one)");
        for _ in 0..3 {
            c.occupy(0, 10, 10.0, 0.0);
        }
        assert!((c.load_factor(1.0) - 3.0).abs() < 1e-12);
        assert_eq!(cluster(1, 0, 0).load_factor(0.0), 1.0, "off by default");
    }

    #[test]
    fn kv_events_chain_stored_blocks_and_report_evictions() {
        let mut c = Cluster::new(Config { kv_events: true, ..config(1, 0, 4, 0) });
        let p = prompt(1, 50); // three full blocks
        c.route(&p, 0.0);
        let hashes = block_hashes(&p, 16);
        let stored =
            KvEvent::Stored { worker: 0, hashes: hashes.clone(), parent: None, tokens: p[..48].to_vec() };
        assert_eq!(c.drain_events(), [stored]);
        assert!(c.drain_events().is_empty(), "drained");
        c.route(&p, 0.0);
        assert!(c.drain_events().is_empty(), "a cache hit stores nothing");
        // Same first block, then two new ones: one block must be evicted (capacity 4).
        let mut q = p.clone();
        q[20] = 7;
        c.route(&q, 0.0);
        let qh = block_hashes(&q, 16);
        let events = c.drain_events();
        assert_eq!(events[0], KvEvent::Removed { worker: 0, hashes: vec![hashes[2]] });
        let stored = KvEvent::Stored {
            worker: 0,
            hashes: qh[1..].to_vec(),
            parent: Some(qh[0]),
            tokens: q[16..48].to_vec(),
        };
        assert_eq!(events[1], stored);
        let mut off = cluster(1, 4, 0);
        off.route(&p, 0.0);
        assert!(off.drain_events().is_empty(), "nothing recorded when off");
    }

    fn cluster(workers: usize, cache_blocks: usize, batch_size: usize) -> Cluster {
        Cluster::new(config(workers, 0, cache_blocks, batch_size))
    }

    #[test]
    fn disaggregated_prefill_and_decode_use_separate_pools() {
        let mut c = Cluster::new(config(2, 1, 100, 1));
        let p = prompt(3, 64);
        let r = c.route(&p, 0.0);
        assert_eq!(r.worker, 0, "only prefill workers are routed to");
        // First token at 0.1 s, last at 1.1 s: prefill holds worker 0 until 0.1, a decode worker after.
        let (_, wait1, wait2) = c.schedule(r.worker, 64, 0.1, 1.1, 0.0);
        assert_eq!((wait1, wait2), (0.0, 0.0));
        let snap = c.snapshot(0.05);
        assert_eq!((snap[0].active, snap[1].queued + snap[2].queued), (1, 1));
        assert_eq!(c.load(0.05), (1, 0), "prefilling, not waiting for its decode slot");
        // A second request prefills after the first, then decodes on the other decode worker.
        let r2 = c.route(&p, 0.0);
        assert_eq!(r2.cached_tokens, 64);
        let (_, wait1, wait2) = c.schedule(r2.worker, 64, 0.1, 1.1, 0.0);
        assert!((wait1 - 0.1).abs() < 1e-9 && wait2 == 0.0, "{wait1} {wait2}");
        // A third waits for a decode slot: both decode workers are busy until after 1.1 s.
        let r3 = c.route(&p, 0.0);
        let (_, _, wait2) = c.schedule(r3.worker, 64, 0.1, 1.1, 0.0);
        assert!(wait2 > 0.5, "{wait2}");
        assert_eq!(c.snapshot(0.0)[1].blocks_capacity, 0, "decode workers keep no prefix cache");
    }

    fn prompt(seed: u32, len: usize) -> Vec<u32> {
        (0..len as u32).map(|i| i.wrapping_mul(2_654_435_761).wrapping_add(seed)).collect()
    }

    #[test]
    fn repeated_prefix_is_cached_on_the_same_worker() {
        let mut c = cluster(4, 1000, 0);
        let p = prompt(1, 100);
        let first = c.route(&p, 0.0);
        assert_eq!(first.cached_tokens, 0);
        let second = c.route(&p, 0.0);
        assert_eq!(second.worker, first.worker);
        assert_eq!(second.cached_tokens, 96, "six full blocks of 16");
        let snap = c.snapshot(0.0);
        assert_eq!(snap[first.worker].stats.hit_tokens, 96);
        assert_eq!(snap[first.worker].stats.query_tokens, 200);
        assert_eq!(snap[first.worker].blocks_used, 6);
    }

    #[test]
    fn cold_prompts_spread_over_idle_workers() {
        let mut c = cluster(4, 1000, 0);
        let picks: Vec<usize> = (0..4).map(|s| c.route(&prompt(s, 40), 0.0).worker).collect();
        let mut sorted = picks.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 2, 3]);
    }

    #[test]
    fn busy_workers_are_avoided() {
        let mut c = cluster(2, 1000, 0);
        let r = c.route(&prompt(1, 64), 0.0);
        c.occupy(r.worker, 640, 10.0, 0.0); // a long request holds 40 blocks
        assert_ne!(c.route(&prompt(2, 64), 1.0).worker, r.worker);
    }

    #[test]
    fn full_batch_queues_until_a_slot_frees() {
        let mut c = cluster(1, 0, 2);
        assert_eq!(c.occupy(0, 10, 1.0, 0.0).queue_delay, 0.0);
        assert_eq!(c.occupy(0, 10, 2.0, 0.0).queue_delay, 0.0);
        let third = c.occupy(0, 10, 1.0, 0.5);
        assert!((third.queue_delay - 0.5).abs() < 1e-12, "waits for the slot freed at t=1");
        let snap = c.snapshot(0.6)[0];
        assert_eq!((snap.active, snap.queued), (2, 1));
        assert_eq!(snap.stats.queued_requests, 1);
        assert_eq!(c.snapshot(3.0)[0].active, 0);
    }

    #[test]
    fn release_frees_the_slot_early() {
        let mut c = cluster(1, 0, 1);
        let long = c.occupy(0, 10, 100.0, 0.0);
        c.release(long.ticket, 1.0);
        assert_eq!(c.occupy(0, 10, 1.0, 2.0).queue_delay, 0.0);
        let snap = c.snapshot(2.5)[0];
        assert_eq!((snap.active, snap.queued), (1, 0));
        c.release(long.ticket, 3.0); // releasing twice is harmless
    }

    #[test]
    fn unlimited_batch_never_queues() {
        let mut c = cluster(1, 0, 0);
        assert!((0..100).all(|_| c.occupy(0, 10, 5.0, 0.0).queue_delay == 0.0));
        assert_eq!(c.snapshot(1.0)[0].active, 100);
    }

    #[test]
    fn prefill_grows_with_uncached_tokens_only() {
        assert!((prefill_seconds(0.001, 2000, 0) - 2.0).abs() < 1e-12);
        assert!((prefill_seconds(0.001, 2000, 1984) - 0.016).abs() < 1e-12);
        assert_eq!(prefill_seconds(0.001, 10, 16), 0.0);
    }
}
