//! One engine for the whole server: the state of the engine model's replicas
//! ([`crate::simulation::engine`]) in a memory-mapped file that every worker process opens, so that
//! `--workers 4` simulates the same GPUs as `--workers 1`.
//!
//! The region is plain old data of fixed capacity (`S` = max_num_seqs, `W` = waiting capacity,
//! `N = S + W` request slots per replica; preemption moves a sequence from the batch to the queue, so
//! a replica never holds more than `N`):
//!
//! ```text
//! Header (lock, clock, counters, iteration-tokens histogram)
//! per replica: ReplicaHead | waiting ring [N] | running [S] | step in flight [S] (slot, tokens)
//!              | first tokens due [S] | free-slot stack [N] | slots [N] (one request's progress)
//! ```
//!
//! Every operation takes the header's spinlock, loads the replicas it touches into the heap
//! [`Engine`] (the same scheduler code as `fakeai simulate`), advances them to the caller's clock and
//! stores them back: O(requests on the replica), microseconds. A request's forecast (its token times
//! if nothing else arrives) runs on the loaded copy after the lock is released. The lock word holds the
//! holder's pid: a waiter takes the lock over from a holder whose process is gone or that held it
//! longer than [`STEAL_AFTER_NS`], so a killed worker cannot wedge the server.
//!
//! [`layout`] is the region's layout, [`load`] moves a replica between it and the heap engine, and
//! [`settle`] answers when a request's first and last tokens really come.

mod layout;
mod load;
mod settle;
#[cfg(test)]
mod tests;

use super::region::Region;
use crate::simulation::engine::workload::{first_free, frontend_service};
use crate::simulation::engine::{CostModel, Deployment, Engine};
use layout::{align8, Header, Layout};
use load::Loaded;
use std::fs::OpenOptions;
use std::io;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use xxhash_rust::xxh3::xxh3_64;

const MAGIC: u64 = 0x4641_4B45_454E_4704; // "FAKEENG" v4
pub use super::lock::STEAL_AFTER_NS;
/// Upper bounds (inclusive) of the iteration-tokens histogram, vLLM's buckets.
pub const ITERATION_BOUNDS: [u32; 13] = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];
/// Most replicas a region holds (a ticket names one in 8 bits).
const MAX_REPLICAS: usize = 256;
/// Most slots per replica a ticket can name.
const SLOT_BITS: u32 = 24;
const GEN_BITS: u32 = 24;

/// Server-wide totals since start.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub submitted: u64,
    pub finished: u64,
    pub cancelled: u64,
    /// Requests refused because the waiting queue was full.
    pub refused: u64,
    pub preemptions: u64,
    pub output_tokens: u64,
    pub steps: u64,
    /// Tokens scheduled over all steps (prefill chunks and decodes).
    pub scheduled_tokens: u64,
}

/// A request's place in the region: `1 << 63 | (replica << 48) | (generation << 24) | slot` (bits
/// 56..62 are left to the caller).
pub type Ticket = u64;

/// Why a request was not submitted.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    /// The waiting queue of the least-loaded replica is full (the server answers 503).
    QueueFull(u32),
    /// The request can never run on this deployment (too large for a replica's KV cache).
    Invalid(String),
}

/// What the engine knows of a request's first or last token ([`SharedEngine::settle`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Settled {
    /// It is delivered at this time (already, or when the step in flight ends).
    At(f64),
    /// Not known yet: ask again at this time (the replica's next step start or end).
    Later(f64),
    /// The request is no longer in the engine (it finished or its client left).
    Gone,
}

/// Engine state right now, summed over replicas.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Status {
    pub now: f64,
    pub running: u32,
    pub waiting: u32,
    pub kv_blocks: u64,
    pub kv_blocks_free: u64,
    pub counters: Counters,
    pub iteration_buckets: [u64; ITERATION_BOUNDS.len() + 1],
}

impl Status {
    pub fn kv_usage(&self) -> f64 {
        if self.kv_blocks == 0 {
            0.0
        } else {
            1.0 - self.kv_blocks_free as f64 / self.kv_blocks as f64
        }
    }
}

pub struct SharedEngine {
    map: Region,
    dep: Deployment,
    /// An idle single-replica engine of the deployment, cloned for each load.
    template: Engine,
    layout: Layout,
    waiting_capacity: u32,
    /// The deployment's step cost (bounds for [`SharedEngine::settle`]).
    cost: CostModel,
    /// Engines of finished loads, whose buffers the next loads reuse (a load then allocates nothing).
    spare: Mutex<Vec<Loaded>>,
}

/// A time the region stores as NaN when unset.
fn opt(t: f64) -> Option<f64> {
    (!t.is_nan()).then_some(t)
}

impl SharedEngine {
    /// Open (creating when new) the region in `path` for `dep`, with room for `waiting` queued
    /// requests per replica. Every process must pass the same deployment and sizes.
    pub fn open(path: &Path, dep: &Deployment, waiting: u32) -> io::Result<SharedEngine> {
        let seqs = dep.max_num_seqs as usize;
        let waiting = waiting.max(1);
        if dep.replicas as usize > MAX_REPLICAS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a shared engine has at most 256 replicas",
            ));
        }
        if seqs + waiting as usize >= 1 << SLOT_BITS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "max-num-seqs + waiting queue too large",
            ));
        }
        let layout = Layout::new(seqs, waiting as usize);
        let size = align8(size_of::<Header>()) + layout.stride * dep.replicas as usize;
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        if file.metadata()?.len() < size as u64 {
            file.set_len(size as u64)?;
        }
        let map = Region::map(&file)?;
        let mut one = dep.clone();
        one.replicas = 1;
        let template = Engine::new(&one, false);
        let engine = SharedEngine {
            map,
            cost: CostModel::new(&one),
            template,
            dep: dep.clone(),
            layout,
            waiting_capacity: waiting,
            spare: Mutex::new(Vec::new()),
        };
        let fingerprint = xxh3_64(format!("{:?}|{:?}|{}", dep, layout, size).as_bytes());
        let _g = engine.lock();
        let h = engine.header();
        if h.magic.load(Ordering::Acquire) == 0 {
            engine.initialise(fingerprint);
            h.magic.store(MAGIC, Ordering::Release);
        } else if h.magic.load(Ordering::Acquire) != MAGIC || h.layout != fingerprint {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "engine region holds another deployment"));
        }
        drop(_g);
        Ok(engine)
    }

    pub fn deployment(&self) -> &Deployment {
        &self.dep
    }

    pub fn waiting_capacity(&self) -> u32 {
        self.waiting_capacity
    }

    /// Submit a request arriving at `now` (seconds on a clock every process shares) to the
    /// least-loaded replica and forecast its token times (same clock) if nothing else arrives, or,
    /// with `sustain`, if the load persists ([`Engine::into_forecast`]).
    ///
    /// As in `fakeai simulate`'s closed loop, the request first holds the server's front end (one
    /// queue, in order, shared by every worker, served by one lane per replica: each replica is a
    /// server with its own API front end) for a service time of mean `Coefficients::frontend`,
    /// drawn from the number of requests submitted before it ([`frontend_service`]): it reaches the
    /// engine when the lane free first is done with it ([`first_free`]).
    pub fn submit(
        &self,
        now: f64,
        prompt: u32,
        cached: u32,
        max_output: u32,
        sustain: bool,
    ) -> Result<(Ticket, Vec<f64>), Refusal> {
        self.submit_on(None, now, prompt, cached, max_output, sustain)
    }

    /// [`SharedEngine::submit`] to `replica` (chosen by the prefix cache's router,
    /// [`crate::shm::prefix`]) rather than the least-loaded one, when given and in range.
    pub fn submit_on(
        &self,
        replica: Option<usize>,
        now: f64,
        prompt: u32,
        cached: u32,
        max_output: u32,
        sustain: bool,
    ) -> Result<(Ticket, Vec<f64>), Refusal> {
        let guard = self.lock();
        let frontend = self.dep.coefficients.frontend.max(0.0);
        let replicas = self.dep.replicas as usize;
        // The request holds the front-end lane free first, then reaches the engine. The replica it
        // was routed to (else replica 0, the only one by default), if advanced, is not loaded twice.
        let lanes = &self.header().frontend[..replicas.clamp(1, MAX_REPLICAS)];
        let lane = first_free(lanes);
        let service = frontend_service(frontend, self.header().counters.submitted);
        // The lane is held until the request's own exit, as in `fakeai simulate`'s closed loop
        // (`workload::frontend_arrival`); the engine's clock may already be past it (another lane's
        // request advanced it), and the request then reaches the engine at the engine's now.
        let exit = lanes[lane].max(now) + service;
        let keep = replica.filter(|&r| r < replicas).unwrap_or(0);
        let kept = self.advance_keeping(exit, keep);
        let now = self.header().now;
        let load = |r: usize| {
            let h = self.head(r);
            h.waiting_len + h.running_len
        };
        let least = || (0..replicas).min_by_key(|&r| load(r)).unwrap_or(0);
        // A chosen replica whose queue is full gives way to the least-loaded one (without its hit).
        let full = |r: usize| self.head(r).waiting_len >= self.waiting_capacity || self.head(r).free_len == 0;
        let (r, cached) = match replica.filter(|&r| r < replicas && !full(r)) {
            Some(r) => (r, cached),
            None if replica.is_some() => (least(), 0),
            None => (least(), cached),
        };
        let head = self.head(r);
        if head.waiting_len >= self.waiting_capacity || head.free_len == 0 {
            self.header().counters.refused += 1;
            return Err(Refusal::QueueFull(self.waiting_capacity));
        }
        let mut l = match kept {
            Some(l) if r == keep => l,
            other => {
                if let Some(l) = other {
                    self.recycle(l);
                }
                self.load(r)
            }
        };
        let id = match l.engine.submit_to(0, now, prompt, cached, max_output) {
            Ok(id) => id,
            Err(message) => {
                self.recycle(l);
                return Err(Refusal::Invalid(message));
            }
        };
        let added = self.store(r, &mut l);
        let slot = added[0];
        let generation = self.records(r)[slot as usize].generation;
        let h = self.header();
        h.counters.submitted += 1;
        h.frontend[lane] = exit;
        drop(guard);
        let ticket =
            ((r as u64) << (SLOT_BITS + GEN_BITS)) | (u64::from(generation) << SLOT_BITS) | u64::from(slot);
        let times = match sustain {
            true => sustained_forecast(&mut l.engine, id),
            false => l.engine.forecast_here(id, sustain),
        };
        self.recycle(l);
        Ok((ticket | 1 << 63, times))
    }

    /// The replica, generation and slot a ticket names (None when out of range).
    fn place(&self, ticket: Ticket) -> Option<(usize, u32, usize)> {
        let ticket = ticket & !(0xFF << 56);
        let r = (ticket >> (SLOT_BITS + GEN_BITS)) as usize;
        let generation = ((ticket >> SLOT_BITS) & ((1 << GEN_BITS) - 1)) as u32;
        let slot = (ticket & ((1 << SLOT_BITS) - 1)) as usize;
        (r < self.dep.replicas as usize && slot < self.layout.slots).then_some((r, generation, slot))
    }

    /// Whether the request of `(r, generation, slot)` is still in the engine (lock held).
    fn is_live(&self, r: usize, generation: u32, slot: usize) -> bool {
        let rec = &self.records(r)[slot];
        rec.live != 0 && rec.generation == generation
    }

    /// End a request before its forecast (its client left): it leaves the queue or the batch at
    /// `now`. A ticket of a request that already finished is ignored.
    pub fn cancel(&self, ticket: Ticket, now: f64) -> bool {
        let Some((r, generation, slot)) = self.place(ticket) else { return false };
        let _guard = self.lock();
        self.advance(now);
        if !self.is_live(r, generation, slot) {
            return false;
        }
        let mut l = self.load(r);
        let local = self.records(r)[slot].local;
        if l.slots.get(local as usize) != Some(&(slot as u32)) {
            return false;
        }
        l.engine.cancel(local);
        self.store(r, &mut l);
        self.recycle(l);
        let h = self.header();
        h.counters.cancelled += 1;
        h.counters.finished -= 1;
        h.cancellations.fetch_add(1, Ordering::Release);
        true
    }

    /// How many requests were cancelled so far, without the lock. A cancellation is the one event that
    /// brings other requests' tokens earlier than the engine last said (an arrival only delays
    /// them), so whoever waits on [`SharedEngine::settle`]'s `Later` asks again when this moves.
    pub fn cancellations(&self) -> u64 {
        self.header().cancellations.load(Ordering::Acquire)
    }

    /// The state at `now` (advancing the engine to it).
    pub fn status(&self, now: f64) -> Status {
        let _guard = self.lock();
        self.advance(now);
        let h = self.header();
        let mut out = Status {
            now: h.now,
            counters: h.counters,
            iteration_buckets: h.iteration_buckets,
            ..Status::default()
        };
        for r in 0..self.dep.replicas as usize {
            let head = self.head(r);
            out.running += head.running_len;
            out.waiting += head.waiting_len;
            out.kv_blocks += u64::from(self.dep.kv_blocks);
            out.kv_blocks_free += u64::from(head.free_blocks);
        }
        out
    }
}

impl SharedEngine {
    /// Each replica's state at `now` (advancing the engine to it): what the prefix cache's router
    /// weighs and the per-worker figures of the Dynamo endpoints show.
    pub fn replicas(&self, now: f64) -> Vec<ReplicaStatus> {
        let _guard = self.lock();
        self.advance(now);
        (0..self.dep.replicas as usize)
            .map(|r| {
                let head = self.head(r);
                ReplicaStatus {
                    running: head.running_len,
                    waiting: head.waiting_len,
                    kv_blocks: self.dep.kv_blocks,
                    kv_blocks_free: head.free_blocks,
                }
            })
            .collect()
    }
}

/// One replica's state ([`SharedEngine::replicas`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplicaStatus {
    pub running: u32,
    pub waiting: u32,
    pub kv_blocks: u32,
    pub kv_blocks_free: u32,
}

/// Tokens a sustained forecast simulates step by step ([`sustained_forecast`]): the first (its
/// prefill step's) and [`FORECAST_SPACINGS`] steps after it.
const FORECAST_STEPS: u32 = 1 + FORECAST_SPACINGS;
/// Token spacings a sustained forecast measures before extrapolating.
const FORECAST_SPACINGS: u32 = 2;

/// Request `id`'s token times (one per output token) as the load persists
/// ([`Engine::forecast_here`] with `sustain`), simulated up to its first token and
/// [`FORECAST_SPACINGS`] steps after it, the rest extrapolated at the mean spacing of those steps.
///
/// A sustained batch keeps its size, so its steps keep about the same length; and the live server
/// settles the first and the last token with the engine when they are due ([`SharedEngine::settle`]),
/// re-spacing a stream's tokens between them, so the forecast of the tokens after the first is a
/// first estimate that the settled ends correct. Simulating every step of a long answer in every
/// submit (under the lock) cost what the answer's length costs: ~5 µs for 16 tokens, ~50 µs for 64
/// on a busy replica.
fn sustained_forecast(engine: &mut Engine, id: u32) -> Vec<f64> {
    let n = engine.requests[id as usize].max_output as usize;
    let mut times = engine.forecast_tokens(id, true, FORECAST_STEPS);
    if times.len() >= n || times.len() < 2 {
        return times;
    }
    // The mean spacing of the steps after the first token's.
    let last = times.len() - 1;
    let spacing = (times[last] - times[0]) / last as f64;
    let end = times[last];
    times.extend((1..=n - times.len()).map(|k| end + spacing * k as f64));
    times
}
