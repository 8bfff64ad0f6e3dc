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

use super::lock::Guard;
use super::region::Region;
use crate::simulation::engine::request::Request;
use crate::simulation::engine::workload::{first_free, frontend_service};
use crate::simulation::engine::{CostModel, Deployment, Engine, StepLoad};
use std::cell::RefCell;
use std::fs::OpenOptions;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
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

#[repr(C)]
struct Header {
    magic: AtomicU64,
    lock: AtomicU32,
    _pad: u32,
    locked_at: AtomicU64,
    layout: u64,
    now: f64,
    /// When each lane of the server's front end (one per replica) is next free (seconds, shared
    /// clock).
    frontend: [f64; MAX_REPLICAS],
    counters: Counters,
    iteration_buckets: [u64; ITERATION_BOUNDS.len() + 1],
}

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

#[repr(C)]
struct ReplicaHead {
    step_end: f64,
    due: f64,
    steps: u64,
    free_blocks: u32,
    waiting_head: u32,
    waiting_len: u32,
    running_len: u32,
    work_len: u32,
    /// The free slots are a ring (oldest freed first), so a finished request's record (its finish
    /// time, under the next generation) stays readable for a while: see [`SharedEngine::settle`].
    free_head: u32,
    free_len: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Slot {
    arrival: f64,
    first_token: f64,
    finish: f64,
    generation: u32,
    live: u32,
    /// Index in the loaded engine while a replica is loaded.
    local: u32,
    prompt: u32,
    cached: u32,
    max_output: u32,
    computed: u32,
    generated: u32,
    blocks: u32,
    preemptions: u32,
}

/// Byte offsets of one replica's arrays from the replica's start.
#[derive(Clone, Copy, Debug)]
struct Layout {
    seqs: usize,
    slots: usize,
    waiting: usize,
    running: usize,
    work: usize,
    free: usize,
    records: usize,
    stride: usize,
}

fn align8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

impl Layout {
    fn new(seqs: usize, waiting: usize) -> Layout {
        let slots = seqs + waiting;
        let waiting_at = align8(size_of::<ReplicaHead>());
        let running = waiting_at + align8(4 * slots);
        let work = running + align8(4 * seqs);
        let free = work + align8(8 * seqs);
        let records = free + align8(4 * slots);
        let stride = records + slots * size_of::<Slot>();
        Layout { seqs, slots, waiting: waiting_at, running, work, free, records, stride }
    }
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

/// The slot of a loaded request that finished and was stored back (its slot is free again).
const RETIRED: u32 = u32::MAX;

/// One replica loaded into the heap engine, with the slot of each of its requests ([`RETIRED`] once
/// stored back finished: a loaded replica stays usable after a store).
struct Loaded {
    engine: Engine,
    slots: Vec<u32>,
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

/// [`SharedEngine::remaining_seconds`]' buffers, reused from call to call.
struct BoundScratch {
    /// Each slot's tokens in the step in flight (all zero between calls).
    new_of: Vec<u32>,
    /// The other running sequences' `(tokens left, context)`.
    others: Vec<(u32, u32)>,
}

thread_local! {
    static SCRATCH: RefCell<BoundScratch> =
        const { RefCell::new(BoundScratch { new_of: Vec::new(), others: Vec::new() }) };
}

/// Spare loaded engines kept for reuse (one per thread that uses the engine at once is enough).
const SPARE: usize = 4;

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

    // --- raw access (callers hold the lock, except for the header's atomics) ---

    #[allow(clippy::mut_from_ref)]
    fn at<T>(&self, offset: usize) -> &mut T {
        self.map.at(offset)
    }

    #[allow(clippy::mut_from_ref)]
    fn array<T>(&self, offset: usize, len: usize) -> &mut [T] {
        self.map.array(offset, len)
    }

    #[allow(clippy::mut_from_ref)]
    fn header(&self) -> &mut Header {
        self.at(0)
    }

    fn base(&self, replica: usize) -> usize {
        align8(size_of::<Header>()) + replica * self.layout.stride
    }

    #[allow(clippy::mut_from_ref)]
    fn head(&self, r: usize) -> &mut ReplicaHead {
        self.at(self.base(r))
    }

    #[allow(clippy::mut_from_ref)]
    fn u32s(&self, r: usize, field: usize, len: usize) -> &mut [u32] {
        self.array(self.base(r) + field, len)
    }

    #[allow(clippy::mut_from_ref)]
    fn work(&self, r: usize) -> &mut [[u32; 2]] {
        self.array(self.base(r) + self.layout.work, self.layout.seqs)
    }

    #[allow(clippy::mut_from_ref)]
    fn records(&self, r: usize) -> &mut [Slot] {
        self.array(self.base(r) + self.layout.records, self.layout.slots)
    }

    fn lock(&self) -> Guard<'_> {
        let h = self.header();
        super::lock::acquire(&h.lock, &h.locked_at)
    }

    fn initialise(&self, fingerprint: u64) {
        let h = self.header();
        h.layout = fingerprint;
        h.now = 0.0;
        h.frontend = [0.0; MAX_REPLICAS];
        h.counters = Counters::default();
        h.iteration_buckets = [0; ITERATION_BOUNDS.len() + 1];
        let n = self.layout.slots;
        for r in 0..self.dep.replicas as usize {
            *self.head(r) = ReplicaHead {
                step_end: f64::NAN,
                due: f64::NAN,
                steps: 0,
                free_blocks: self.dep.kv_blocks,
                waiting_head: 0,
                waiting_len: 0,
                running_len: 0,
                work_len: 0,
                free_head: 0,
                free_len: n as u32,
            };
            let free = self.u32s(r, self.layout.free, n);
            for (i, f) in free.iter_mut().enumerate() {
                *f = (n - 1 - i) as u32;
            }
            for s in self.records(r).iter_mut() {
                *s = Slot { arrival: 0.0, first_token: f64::NAN, finish: f64::NAN, ..Slot::zero() };
            }
        }
    }

    fn next_event(&self, r: usize) -> Option<f64> {
        let h = self.head(r);
        opt(h.step_end).or(opt(h.due))
    }

    /// Load replica `r` into a heap engine at the region's clock.
    fn load(&self, r: usize) -> Loaded {
        let head = self.head(r);
        let n = self.layout.slots;
        let s = self.layout.seqs;
        let spare = self.spare.lock().ok().and_then(|mut spare| spare.pop());
        let Loaded { mut engine, mut slots } =
            spare.unwrap_or_else(|| Loaded { engine: self.template.clone(), slots: Vec::new() });
        let mut log = engine.step_tokens.take().unwrap_or_default();
        engine.clone_from(&self.template);
        engine.now = self.header().now;
        log.clear();
        engine.step_tokens = Some(log);
        slots.clear();
        let records = self.records(r);
        let waiting_len = (head.waiting_len as usize).min(n);
        let running_len = (head.running_len as usize).min(s);
        slots.reserve(waiting_len + running_len + 1);
        // Room for a submit and a sustained forecast's replacements without growing.
        engine.requests.reserve(waiting_len + 2 * running_len + 1);
        let mut take = |slot: u32, requests: &mut Vec<Request>| -> Option<u32> {
            let rec = records.get_mut(slot as usize).filter(|x| x.live != 0)?;
            let local = requests.len() as u32;
            rec.local = local;
            requests.push(Request {
                id: local,
                replica: 0,
                arrival: rec.arrival,
                prompt: rec.prompt,
                cached: rec.cached,
                max_output: rec.max_output,
                computed: rec.computed,
                generated: rec.generated,
                blocks: rec.blocks,
                preemptions: rec.preemptions,
                first_token: rec.first_token,
                finish: rec.finish,
                runs: Vec::new(),
            });
            slots.push(slot);
            Some(local)
        };
        let ring = self.u32s(r, self.layout.waiting, n);
        let rep = &mut engine.replicas[0];
        for i in 0..waiting_len {
            let slot = ring[(head.waiting_head as usize + i) % n];
            if let Some(local) = take(slot, &mut engine.requests) {
                rep.waiting.push_back(local);
            }
        }
        for &slot in &self.u32s(r, self.layout.running, s)[..running_len] {
            if let Some(local) = take(slot, &mut engine.requests) {
                rep.running.push(local);
            }
        }
        let local_of = |slot: u32| -> Option<u32> {
            let rec = records.get(slot as usize).filter(|x| x.live != 0)?;
            (slots.get(rec.local as usize) == Some(&slot)).then_some(rec.local)
        };
        for &[slot, new] in &self.work(r)[..(head.work_len as usize).min(s)] {
            if let Some(local) = local_of(slot) {
                rep.work.push((local, new));
            }
        }
        rep.free_blocks = head.free_blocks;
        rep.step_end = opt(head.step_end);
        rep.due = opt(head.due);
        rep.steps = head.steps;
        Loaded { engine, slots }
    }

    /// Store a loaded replica back; returns the slots of requests added since the load (in order).
    fn store(&self, r: usize, loaded: &mut Loaded) -> Vec<u32> {
        let head = self.head(r);
        let n = self.layout.slots;
        let s = self.layout.seqs;
        let free = self.u32s(r, self.layout.free, n);
        let records = self.records(r);
        let e = &mut loaded.engine;
        let mut added = Vec::new();
        let mut finished = 0;
        for (local, req) in e.requests.iter().enumerate() {
            let slot = match loaded.slots.get(local) {
                Some(&RETIRED) => continue,
                Some(&slot) => slot,
                None => {
                    // `submit` checked that a slot is free.
                    let slot = free[head.free_head as usize];
                    head.free_head = (head.free_head + 1) % n as u32;
                    head.free_len -= 1;
                    loaded.slots.push(slot);
                    added.push(slot);
                    slot
                }
            };
            let rec = &mut records[slot as usize];
            if req.done() {
                rec.live = 0;
                rec.generation = rec.generation.wrapping_add(1) & ((1 << GEN_BITS) - 1);
                rec.finish = req.finish;
                rec.generated = req.generated;
                free[(head.free_head + head.free_len) as usize % n] = slot;
                head.free_len += 1;
                finished += 1;
                loaded.slots[local] = RETIRED;
                continue;
            }
            *rec = Slot {
                arrival: req.arrival,
                first_token: req.first_token,
                finish: req.finish,
                generation: rec.generation,
                live: 1,
                local: local as u32,
                prompt: req.prompt,
                cached: req.cached,
                max_output: req.max_output,
                computed: req.computed,
                generated: req.generated,
                blocks: req.blocks,
                preemptions: req.preemptions,
            };
        }
        let slots = &loaded.slots;
        let rep = &e.replicas[0];
        let ring = self.u32s(r, self.layout.waiting, n);
        for (i, &local) in rep.waiting.iter().take(n).enumerate() {
            ring[i] = slots[local as usize];
        }
        head.waiting_head = 0;
        head.waiting_len = rep.waiting.len().min(n) as u32;
        let running = self.u32s(r, self.layout.running, s);
        for (i, &local) in rep.running.iter().take(s).enumerate() {
            running[i] = slots[local as usize];
        }
        head.running_len = rep.running.len().min(s) as u32;
        let work = self.work(r);
        for (i, &(local, new)) in rep.work.iter().take(s).enumerate() {
            work[i] = [slots[local as usize], new];
        }
        head.work_len = rep.work.len().min(s) as u32;
        head.free_blocks = rep.free_blocks;
        head.step_end = rep.step_end.unwrap_or(f64::NAN);
        head.due = rep.due.unwrap_or(f64::NAN);
        head.steps = rep.steps;
        let h = self.header();
        h.now = h.now.max(e.now);
        let c = &mut h.counters;
        c.finished += finished;
        c.preemptions += std::mem::take(&mut e.preemptions);
        c.output_tokens += std::mem::take(&mut e.tokens_out);
        for tokens in e.step_tokens.as_mut().map(std::mem::take).unwrap_or_default() {
            c.steps += 1;
            c.scheduled_tokens += u64::from(tokens);
            let bucket = ITERATION_BOUNDS.iter().position(|&b| tokens <= b).unwrap_or(ITERATION_BOUNDS.len());
            h.iteration_buckets[bucket] += 1;
        }
        // Finished requests were counted and freed above; the loaded engine keeps them for a forecast.
        e.finished.clear();
        added
    }

    /// Advance every replica with an event before `now` (lock held).
    fn advance(&self, now: f64) {
        self.advance_keeping(now, usize::MAX);
    }

    /// [`SharedEngine::advance`], handing back replica `keep` if it was loaded to advance it (as
    /// stored: it saves loading it again).
    fn advance_keeping(&self, now: f64, keep: usize) -> Option<Loaded> {
        let mut kept = None;
        for r in 0..self.dep.replicas as usize {
            if self.next_event(r).is_some_and(|t| t < now) {
                let mut l = self.load(r);
                l.engine.run_until(now);
                self.store(r, &mut l);
                if r == keep {
                    kept = Some(l);
                } else {
                    self.recycle(l);
                }
            }
        }
        let h = self.header();
        h.now = h.now.max(now);
        kept
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

    /// Keep a finished load's engine for the next load to reuse.
    fn recycle(&self, loaded: Loaded) {
        if let Ok(mut spare) = self.spare.lock() {
            if spare.len() < SPARE {
                spare.push(loaded);
            }
        }
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

    /// When the request of `ticket` delivers its first token (or, with `last`, its last token), as
    /// far as the engine knows at `now`.
    ///
    /// A forecast made at arrival cannot see the requests that arrive after it and are prefilled in
    /// the same step (making that step longer), nor how the batch changes while it decodes: the live
    /// server asks again here when the forecast first token is due, and again for the last, so that
    /// what a client sees of a request (TTFT, end, mean ITL) is what the engine did.
    pub fn settle(&self, ticket: Ticket, now: f64, last: bool) -> Settled {
        let Some((r, generation, slot)) = self.place(ticket) else { return Settled::Gone };
        let _guard = self.lock();
        self.advance(now);
        self.settled(r, generation, slot, now, last)
    }

    /// [`SharedEngine::settle`] of the last token and, once that is known, of the first (else
    /// [`Settled::Gone`]), under one lock: what a whole answer asks (it counts both once its end is
    /// settled).
    pub fn settle_last_and_first(&self, ticket: Ticket, now: f64) -> (Settled, Settled) {
        let Some((r, generation, slot)) = self.place(ticket) else { return (Settled::Gone, Settled::Gone) };
        let _guard = self.lock();
        self.advance(now);
        match self.settled(r, generation, slot, now, true) {
            last @ Settled::At(_) => (last, self.settled(r, generation, slot, now, false)),
            other => (other, Settled::Gone),
        }
    }

    /// [`SharedEngine::settle`] of the request in `(r, generation, slot)`, the engine advanced to
    /// `now` (lock held).
    fn settled(&self, r: usize, generation: u32, slot: usize, now: f64, last: bool) -> Settled {
        let rec = self.records(r)[slot];
        let head = self.head(r);
        let s = self.layout.seqs;
        if !self.is_live(r, generation, slot) {
            // Finished, its record kept under the next generation until the slot is reused.
            let next = generation.wrapping_add(1) & ((1 << GEN_BITS) - 1);
            return match rec.live == 0 && rec.generation == next && last {
                true => Settled::At(rec.finish),
                false => Settled::Gone,
            };
        }
        let step_end = opt(head.step_end);
        let work = &self.work(r)[..(head.work_len as usize).min(s)];
        if last {
            // Its last token is sampled when the step in flight ends if that step completes its
            // context with one token left to generate.
            let finishing = work.iter().any(|&[w, new]| {
                w as usize == slot
                    && rec.computed + new >= rec.prompt + rec.generated
                    && rec.generated + 1 >= rec.max_output
            });
            if let (true, Some(end)) = (finishing, step_end) {
                return Settled::At(end);
            }
            // Every token still to come after the step in flight takes a step of its own, and
            // each of those steps holds at least the running sequences that still have tokens to
            // come by then: the last token cannot be sampled before they all ran.
            let next = self.next_event(r).unwrap_or(now).max(now);
            return Settled::Later(next + self.remaining_seconds(r, slot));
        }
        // Its first token is sampled, and delivered, when the step that completes its prompt ends:
        // the step in flight, if that one holds the prompt's last chunk.
        let prefilled = rec.generated == 0
            && work.iter().any(|&[w, new]| w as usize == slot && rec.computed + new >= rec.prompt);
        match (prefilled, step_end) {
            (true, Some(end)) => Settled::At(end),
            _ if !rec.first_token.is_nan() => Settled::At(rec.first_token),
            _ => Settled::Later(self.next_event(r).unwrap_or(now).max(now)),
        }
    }

    /// A lower bound of the time replica `r` takes, after its next event, to sample the last token
    /// of the request in `slot` (lock held): the sum over the steps it still needs of each step's
    /// cost with only the running sequences certain to be in it (those with at least that many
    /// tokens still to come, decoding one token each at their least context).
    fn remaining_seconds(&self, r: usize, slot: usize) -> f64 {
        SCRATCH.with_borrow_mut(|BoundScratch { new_of, others }| {
            let head = self.head(r);
            let (s, n) = (self.layout.seqs, self.layout.slots);
            let records = self.records(r);
            let work = &self.work(r)[..(head.work_len as usize).min(s)];
            // Each slot's new tokens in the step in flight (its first entry there, as `find` would).
            new_of.resize(new_of.len().max(n), 0);
            for &[w, new] in work.iter().rev() {
                if let Some(x) = new_of.get_mut(w as usize) {
                    *x = new;
                }
            }
            // Tokens a sequence still has to come after the step in flight, and its context then.
            let after = |j: usize| -> Option<(u32, u32)> {
                let rec = records.get(j).filter(|x| x.live != 0)?;
                let new = new_of[j];
                let emits = u32::from(new > 0 && rec.computed + new >= rec.prompt + rec.generated);
                let left = rec.max_output.saturating_sub(rec.generated + emits);
                Some((left, rec.computed + new))
            };
            others.clear();
            let total = after(slot).map_or(0.0, |(steps, _)| {
                let running = &self.u32s(r, self.layout.running, s)[..(head.running_len as usize).min(s)];
                others.extend(
                    running.iter().filter_map(|&j| after(j as usize % n)).filter(|&(left, _)| left > 0),
                );
                self.bound_seconds(steps, others)
            });
            for &[w, _] in work {
                if let Some(x) = new_of.get_mut(w as usize) {
                    *x = 0;
                }
            }
            total
        })
    }

    /// The least time `steps` more steps take when step k (1-based) holds every sequence of `others`
    /// (`(tokens left, context)`) with `left >= k`.
    fn bound_seconds(&self, steps: u32, others: &mut [(u32, u32)]) -> f64 {
        // Go through the steps in blocks between consecutive `left` values, fewest first, each priced
        // at its first step.
        others.sort_unstable_by_key(|&(left, _)| left);
        let mut load = StepLoad::default();
        for &(_, context) in others.iter() {
            load.add(context, 1);
        }
        // The longest context among others[i..], for the load's serial attention floor.
        let mut longest = vec![0.0_f64; others.len() + 1];
        for (i, &(_, context)) in others.iter().enumerate().rev() {
            longest[i] = longest[i + 1].max(f64::from(context) + 1.0);
        }
        let (mut total, mut done, mut i) = (0.0, 0u32, 0);
        while done < steps {
            let until = others.get(i).map_or(steps, |&(left, _)| left.min(steps));
            if until > done {
                total += f64::from(until - done) * self.cost.step_seconds(&load);
                done = until;
            }
            // The sequences whose last token comes in step `done` leave the load.
            while let Some(&(_, context)) = others.get(i).filter(|&&(left, _)| left <= done) {
                load.remove(context, 1);
                i += 1;
                load.set_longest(longest[i]);
            }
        }
        // Less the rounding of the sums, so that it stays a lower bound.
        total * (1.0 - 1e-9)
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
        true
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

impl Slot {
    const fn zero() -> Slot {
        Slot {
            arrival: 0.0,
            first_token: 0.0,
            finish: 0.0,
            generation: 0,
            live: 0,
            local: 0,
            prompt: 0,
            cached: 0,
            max_output: 0,
            computed: 0,
            generated: 0,
            blocks: 0,
            preemptions: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulation::engine::workload::frontend_arrival;
    use crate::simulation::engine::Spec;

    fn deployment(replicas: u32, max_num_seqs: u32) -> Deployment {
        let spec = Spec {
            model: "llama-3-8b".into(),
            gpu: Some("H100".into()),
            precision: Some("fp8".into()),
            tp: Some(1),
            replicas,
            max_num_seqs,
            ..Spec::default()
        };
        Deployment::new(&spec).unwrap()
    }

    /// When the `k`-th request sent at `now` reaches the engine through the front end's `lanes`.
    fn through(lanes: &mut [f64], dep: &Deployment, now: f64, k: u64) -> f64 {
        frontend_arrival(lanes, now, frontend_service(dep.coefficients.frontend, k))
    }

    fn region(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("fakeai-engine-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        path
    }

    #[test]
    fn matches_the_heap_engine_request_by_request() {
        let dep = deployment(2, 8);
        let shared = SharedEngine::open(&region("same"), &dep, 64).unwrap();
        let mut heap = Engine::new(&dep, true);
        let mut lanes = [0.0; 2];
        for k in 0..40u32 {
            let now = 1000.0 + f64::from(k) * 0.013;
            let (prompt, out) = (100 + 37 * (k % 5), 20 + 11 * (k % 7));
            let (_, times) = shared.submit(now, prompt, 0, out, false).unwrap();
            let at = through(&mut lanes, &dep, now, u64::from(k));
            heap.run_until(at);
            let id = heap.submit(at, prompt, 0, out).unwrap();
            let expect = heap.forecast(id);
            assert_eq!(times.len(), out as usize);
            assert!(times.iter().zip(&expect).all(|(a, b)| (a - b).abs() < 1e-9), "request {k}");
        }
        let status = shared.status(1010.0);
        heap.run_until(1010.0);
        let running: usize = heap.replicas.iter().map(|r| r.running.len()).sum();
        let waiting: usize = heap.replicas.iter().map(|r| r.waiting.len()).sum();
        assert_eq!((status.running as usize, status.waiting as usize), (running, waiting));
        assert_eq!(status.counters.output_tokens, heap.tokens_out);
        assert_eq!(status.counters.submitted, 40);
    }

    #[test]
    fn the_front_end_serves_requests_one_at_a_time() {
        let dep = deployment(1, 8);
        let a = region("frontend");
        let (a, other) = (SharedEngine::open(&a, &dep, 8).unwrap(), SharedEngine::open(&a, &dep, 8).unwrap());
        let mut heap = Engine::new(&dep, true);
        let service = |k: u64| frontend_service(dep.coefficients.frontend, k);
        // Three requests at once through two handles (two workers): they reach the engine in turn,
        // each after its own service time.
        let mut at = 2.0;
        for k in 0..3u32 {
            let handle = if k == 1 { &other } else { &a };
            let (_, times) = handle.submit(2.0, 200, 0, 30, false).unwrap();
            at += service(u64::from(k));
            heap.run_until(at);
            let id = heap.submit(at, 200, 0, 30).unwrap();
            let expect = heap.forecast(id);
            assert!(times.iter().zip(&expect).all(|(x, y)| (x - y).abs() < 1e-9), "request {k}");
        }
        // One that comes after the front end went idle waits only its own turn.
        let (_, times) = a.submit(9.0, 200, 0, 30, false).unwrap();
        heap.run_until(9.0 + service(3));
        let id = heap.submit(9.0 + service(3), 200, 0, 30).unwrap();
        assert!((times[0] - heap.forecast(id)[0]).abs() < 1e-9);
        assert!(dep.coefficients.frontend > 1e-3, "the fitted front end: {}", dep.coefficients.frontend);
    }

    #[test]
    fn two_handles_share_one_engine_and_a_full_queue_refuses() {
        let dep = deployment(1, 2);
        let path = region("two");
        let a = SharedEngine::open(&path, &dep, 1).unwrap();
        let b = SharedEngine::open(&path, &dep, 1).unwrap();
        a.submit(5.0, 100, 0, 1000, false).unwrap();
        let (ticket, _) = b.submit(5.01, 100, 0, 1000, false).unwrap();
        let (waiting, times) = a.submit(5.02, 100, 0, 1000, false).unwrap();
        assert!(times[0] > 5.5, "waits for a sequence slot: {}", times[0]);
        assert_eq!(b.submit(5.03, 100, 0, 10, false), Err(Refusal::QueueFull(1)));
        let s = b.status(5.1);
        assert_eq!((s.running, s.waiting, s.counters.refused), (2, 1, 1));
        assert!(s.kv_usage() > 0.0);
        assert!(a.cancel(ticket, 5.2));
        assert!(!a.cancel(ticket, 5.2), "already gone");
        let s = a.status(5.3);
        assert_eq!((s.running, s.waiting, s.counters.cancelled), (2, 0, 1), "the waiting one took its place");
        assert!(a.cancel(waiting, 5.4));
        let other = deployment(1, 4);
        assert!(SharedEngine::open(&path, &other, 1).is_err(), "a different deployment");
    }

    #[test]
    fn a_sustained_forecast_keeps_the_batch_full() {
        let dep = deployment(1, 64);
        let (a, b) = (region("drain"), region("sustain"));
        let (drain, sustain) =
            (SharedEngine::open(&a, &dep, 64).unwrap(), SharedEngine::open(&b, &dep, 64).unwrap());
        for k in 0..32 {
            let t = f64::from(k) * 0.01;
            drain.submit(t, 200, 0, 50, false).unwrap();
            sustain.submit(t, 200, 0, 50, true).unwrap();
        }
        let (_, drained) = drain.submit(0.5, 200, 0, 400, false).unwrap();
        let (_, sustained) = sustain.submit(0.5, 200, 0, 400, true).unwrap();
        // The others finish long before the new request: draining, it decodes alone at the end.
        let (s, d) = (sustained[399] - sustained[0], drained[399] - drained[0]);
        assert!(s > 1.05 * d, "{s} vs {d}");
    }

    /// The live forecast (sustained load) simulates the first tokens as the engine would and
    /// extrapolates the rest at their spacing: as many times as tokens, never decreasing, the
    /// simulated ones exactly those of a whole forecast, and an end near the whole forecast's on a
    /// batch that keeps its size.
    #[test]
    fn a_sustained_forecast_simulates_its_first_tokens_and_extrapolates_the_rest() {
        let dep = deployment(1, 64);
        let shared = SharedEngine::open(&region("extrapolated"), &dep, 64).unwrap();
        let mut heap = Engine::new(&dep, true);
        let mut lanes = [0.0];
        for k in 0..24u32 {
            let t = f64::from(k) * 0.002;
            let at = through(&mut lanes, &dep, t, u64::from(k));
            heap.run_until(at);
            let id = heap.submit(at, 300, 0, 200).unwrap();
            let (_, times) = shared.submit(t, 300, 0, 200, true).unwrap();
            let whole = heap.clone().into_forecast(id, true);
            assert_eq!(times.len(), 200, "request {k}");
            assert!(times.windows(2).all(|w| w[1] >= w[0]), "request {k}: {times:?}");
            let simulated = FORECAST_STEPS as usize;
            assert!(times[..simulated].iter().zip(&whole).all(|(a, b)| (a - b).abs() < 1e-9), "request {k}");
            let (e, w) = (times[199] - times[0], whole[199] - whole[0]);
            assert!((e - w).abs() < 0.35 * w, "request {k}: extrapolated {e} s vs simulated {w} s");
        }
        // Short answers are simulated whole.
        let at = through(&mut lanes, &dep, 1.0, 24);
        heap.run_until(at);
        let id = heap.submit(at, 300, 0, 3).unwrap();
        let (_, times) = shared.submit(1.0, 300, 0, 3, true).unwrap();
        let whole = heap.clone().into_forecast(id, true);
        assert!(times.len() == 3 && times.iter().zip(&whole).all(|(a, b)| (a - b).abs() < 1e-9));
    }

    #[test]
    fn settling_sees_the_requests_that_joined_the_prefill_step() {
        let dep = deployment(1, 64);
        let shared = SharedEngine::open(&region("settle"), &dep, 64).unwrap();
        let mut heap = Engine::new(&dep, true);
        // A long prefill is in flight; `a` arrives during it, then `b` with a larger prompt: both are
        // prefilled in the next step, which `a`'s forecast (made before `b` came) thinks is its alone.
        let arrivals = [(0.0, 6000, 20), (0.004, 300, 20), (0.006, 4000, 20)];
        let mut tickets = Vec::new();
        let mut forecasts = Vec::new();
        let mut ids = Vec::new();
        let mut lanes = [0.0];
        for (k, &(t, prompt, out)) in arrivals.iter().enumerate() {
            let (ticket, times) = shared.submit(t, prompt, 0, out, false).unwrap();
            // The front end serves them in turn.
            let at = through(&mut lanes, &dep, t, k as u64);
            heap.run_until(at);
            ids.push(heap.submit(at, prompt, 0, out).unwrap());
            tickets.push(ticket);
            forecasts.push(times);
        }
        heap.drain();
        let actual = heap.requests[ids[1] as usize].first_token;
        assert!(
            actual > forecasts[1][0] + 1e-3,
            "b makes a's first token later: {actual} vs {:?}",
            forecasts[1][0]
        );
        // Asked when its forecast token is due, then again when told to, the engine settles it.
        let settle = |ticket: Ticket, mut at: f64, last: bool| loop {
            match shared.settle(ticket, at, last) {
                Settled::At(t) => break t,
                Settled::Later(t) => {
                    assert!(t >= at, "{t} < {at}");
                    at = t + 1e-9;
                }
                Settled::Gone => panic!("still running"),
            }
        };
        let first = settle(tickets[1], forecasts[1][0], false);
        assert!((first - actual).abs() < 1e-9, "{first} vs {actual}");
        // Once delivered it stays settled.
        assert_eq!(shared.settle(tickets[1], actual + 1e-3, false), Settled::At(actual));
        // The last token too, and its time stays known after the request finished.
        let end = heap.requests[ids[1] as usize].finish;
        let last = settle(tickets[1], forecasts[1][19], true);
        assert!((last - end).abs() < 1e-9, "{last} vs {end}");
        assert_eq!(shared.settle(tickets[1], 100.0, true), Settled::At(end));
        assert_eq!(shared.settle(tickets[1], 100.0, false), Settled::Gone);
        assert_eq!(shared.settle(u64::MAX, 1.0, false), Settled::Gone, "a ticket out of range");
    }

    /// A closed loop of clients whose answers are settled as the pacer settles a whole answer: the
    /// last token asked at once, then when the engine says. Each answer comes as the engine
    /// finished the request (never asked after that), in few asks.
    #[test]
    fn settling_the_last_token_is_never_late_and_takes_few_asks() {
        let dep = deployment(1, 64);
        let shared = SharedEngine::open(&region("closed-loop"), &dep, 64).unwrap();
        // (time, client, ticket: 0 for a new request)
        let mut events: Vec<(f64, u32, Ticket)> = (0..48).map(|c| (f64::from(c) * 1e-4, c, 0)).collect();
        let (mut answers, mut asks) = (0u32, 0u32);
        while answers < 600 {
            let k = (0..events.len()).min_by(|&a, &b| events[a].0.total_cmp(&events[b].0)).unwrap();
            let (at, client, ticket) = events.swap_remove(k);
            if ticket == 0 {
                let out = 8 + 5 * (client % 7);
                let (ticket, _) = shared.submit(at, 60 + 20 * (client % 3), 0, out, true).unwrap();
                events.push((at, client, ticket));
                continue;
            }
            asks += 1;
            match shared.settle(ticket, at, true) {
                Settled::Later(t) => {
                    assert!(t >= at, "{t} < {at}");
                    events.push((t, client, ticket));
                }
                Settled::At(t) => {
                    assert!(t >= at - 1e-12, "asked at {at}, after the last token at {t}");
                    answers += 1;
                    events.push((t + 1e-3, client, 0));
                }
                Settled::Gone => panic!("a running request is gone"),
            }
        }
        // The first ask costs no wake-up (made when the answer is parked); a bound of one step
        // priced with the sequences that outlast the request took 3.45. The bound prices decode-only
        // steps: here most steps also prefill a returning client and pay its per-layer launches
        // (`prefill_layer_overhead`, which the bound cannot count on), so it is loose by about that:
        // 4.6 asks per answer (under 3.25 without that cost).
        let per_answer = f64::from(asks) / f64::from(answers);
        assert!(per_answer < 5.0, "{per_answer} asks per answer");
    }

    #[test]
    fn a_request_goes_to_the_chosen_replica_unless_its_queue_is_full() {
        let dep = deployment(2, 1);
        let e = SharedEngine::open(&region("chosen"), &dep, 1).unwrap();
        let on = |e: &SharedEngine| e.replicas(5.1).iter().map(|r| r.running + r.waiting).collect::<Vec<_>>();
        // Spaced wider than the front end's time, so each finds the one before it running.
        e.submit_on(Some(1), 5.0, 100, 0, 1000, false).unwrap();
        e.submit_on(Some(1), 5.01, 100, 64, 1000, false).unwrap();
        assert_eq!(on(&e), [0, 2]);
        // Replica 1 holds one running and one waiting: the next goes to replica 0.
        e.submit_on(Some(1), 5.02, 100, 64, 1000, false).unwrap();
        assert_eq!(on(&e), [1, 2]);
        assert_eq!(e.replicas(5.1)[0].kv_blocks, dep.kv_blocks);
    }

    #[test]
    fn each_replica_adds_a_front_end_lane() {
        // Four at once: one lane serves them in turn, two lanes two at a time; each reaches the
        // engine as the heap engine behind the same lanes says (a lane is held until its own
        // request's exit, whatever another lane did to the engine's clock).
        let mut reached = Vec::new();
        for replicas in [1, 2] {
            let dep = deployment(replicas, 8);
            let e = SharedEngine::open(&region(&format!("lanes{replicas}")), &dep, 8).unwrap();
            let mut heap = Engine::new(&dep, true);
            let mut lanes = vec![0.0; replicas as usize];
            let mut last = 0.0;
            for k in 0..4 {
                let (_, times) = e.submit(3.0, 50, 0, 4, false).unwrap();
                last = through(&mut lanes, &dep, 3.0, k);
                heap.run_until(last);
                let id = heap.submit(last, 50, 0, 4).unwrap();
                assert!((times[0] - heap.forecast(id)[0]).abs() < 1e-9, "{replicas} replicas, request {k}");
            }
            reached.push(last);
        }
        let service = |k| frontend_service(deployment(1, 8).coefficients.frontend, k);
        assert!((reached[0] - 3.0 - (0..4).map(service).sum::<f64>()).abs() < 1e-12);
        assert!(reached[1] < reached[0], "{reached:?}");
    }

    #[test]
    fn a_dead_holder_does_not_wedge_the_lock() {
        let dep = deployment(1, 4);
        let e = SharedEngine::open(&region("dead"), &dep, 4).unwrap();
        // A pid that cannot exist holds the lock.
        e.header().lock.store(u32::MAX - 1, Ordering::Release);
        e.header().locked_at.store(crate::shm::ratelimit::now_ns(), Ordering::Release);
        assert!(e.submit(1.0, 10, 0, 5, true).is_ok());
        assert_eq!(e.header().lock.load(Ordering::Acquire), 0);
    }

    #[test]
    fn finished_requests_free_their_slots() {
        let dep = deployment(1, 4);
        let e = SharedEngine::open(&region("free"), &dep, 2).unwrap();
        for k in 0..50 {
            let t = f64::from(k);
            let (_, times) = e.submit(t, 50, 0, 4, false).unwrap();
            assert!(times[3] < t + 1.0);
        }
        let s = e.status(100.0);
        assert_eq!((s.running, s.waiting, s.counters.finished), (0, 0, 50));
        assert_eq!(s.kv_blocks_free, s.kv_blocks);
        assert_eq!(s.counters.output_tokens, 200);
        assert_eq!(s.iteration_buckets.iter().sum::<u64>(), s.counters.steps);
    }
}
