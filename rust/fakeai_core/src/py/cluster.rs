//! `Cluster`: the simulated cluster ([`crate::simulation::cluster`]) as a Python object, passed to
//! `chat(...)` and `completion(...)` so that routing, prefix caching, queueing and rendering stay one
//! core call.
//!
//! When built with a `SharedTable`, every request is also counted there, server-wide (all worker
//! processes add to the same keys; histograms have `HISTOGRAM_WIDTH` words):
//!
//! | key | kind | meaning |
//! |---|---|---|
//! | `cluster|requests` | counter | requests routed |
//! | `cluster|queued_requests` | counter | requests that waited for a batch slot |
//! | `cluster|query_tokens` | counter | prompt tokens looked up in the prefix cache |
//! | `cluster|hit_tokens` | counter | prompt tokens found cached |
//! | `cluster|hit_requests` | counter | requests with a cache hit |
//! | `cluster|evicted_blocks` | counter | KV blocks evicted |
//! | `cluster|output_tokens` | counter | completion tokens generated |
//! | `cluster|released_early` | counter | requests that ended before their schedule (client gone) |
//! | `cluster|w<i>|requests`, `cluster|w<i>|hit_tokens` | counter | the same, per simulated worker |
//! | `cluster|queue_seconds`, `cluster|prefill_seconds`, `cluster|decode_seconds`, `cluster|ttft_seconds`, `cluster|itl_seconds`, `cluster|tpot_seconds`, `cluster|e2e_seconds` | histogram | simulated phase durations |
//!
//! Timings are recorded when the request is scheduled (they are the simulation's, known up front),
//! except an engine-timed live request's, counted once the pacer settled its first and last token.

use super::shared::SharedTable;
use crate::shm::histogram;
use crate::shm::table::{Pinned, Table};
use crate::simulation::cluster::{self, Config, KvEvent, Limits, Routed};
use crate::simulation::router::Weights;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard, PoisonError};

#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct Cluster {
    inner: Mutex<cluster::Cluster>,
    table: Option<Py<SharedTable>>,
    /// The table's slots every request counts into, each looked up once.
    slots: Slots,
}

/// The slots of the cluster's counters and histograms (see the module docs), found on first use.
#[derive(Default)]
struct Slots {
    requests: Pinned,
    query_tokens: Pinned,
    hit_tokens: Pinned,
    hit_requests: Pinned,
    evicted_blocks: Pinned,
    queued_requests: Pinned,
    output_tokens: Pinned,
    queue_seconds: Pinned,
    prefill_seconds: Pinned,
    ttft_seconds: Pinned,
    decode_seconds: Pinned,
    e2e_seconds: Pinned,
    tpot_seconds: Pinned,
    itl_seconds: Pinned,
    /// `cluster|w<i>|requests` and `cluster|w<i>|hit_tokens` of each simulated worker.
    workers: Vec<[Pinned; 2]>,
}

impl Cluster {
    fn lock(&self) -> MutexGuard<'_, cluster::Cluster> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn table(&self) -> Option<&Table> {
        self.table.as_ref().map(|t| &t.get().table)
    }

    /// Route a prompt and count the lookup.
    pub(crate) fn route(&self, tokens: &[u32], now: f64) -> Routed {
        let routed = self.lock().route(tokens, now);
        self.count(Some(routed.worker), tokens.len(), routed.cached_tokens, routed.evicted_blocks);
        routed
    }

    /// Whether the cluster records KV events (`--kv-events`).
    pub(crate) fn kv_events(&self) -> bool {
        self.lock().config().kv_events
    }

    /// Record the KV events of a prompt an engine replica's prefix cache routed (`worker` = the
    /// replica): it found `matched` leading blocks of `hashes`, stored the rest, and evicted `evicted`.
    pub(crate) fn record_events(
        &self,
        worker: usize,
        tokens: &[u32],
        hashes: &[u64],
        matched: usize,
        evicted: Vec<u64>,
    ) {
        let mut cluster = self.lock();
        if cluster.config().kv_events {
            cluster.record_events(worker, tokens, hashes, matched..hashes.len(), evicted);
        }
    }

    /// Count a prefix-cache lookup of `query_tokens` that found `cached_tokens`, routed to simulated
    /// `worker` (None: a request the engine model routed to one of its replicas).
    pub(crate) fn count(
        &self,
        worker: Option<usize>,
        query_tokens: usize,
        cached_tokens: usize,
        evicted: usize,
    ) {
        let Some(t) = self.table() else { return };
        let s = &self.slots;
        add(t, &s.requests, "cluster|requests", 1);
        add(t, &s.query_tokens, "cluster|query_tokens", query_tokens as u64);
        add(t, &s.hit_tokens, "cluster|hit_tokens", cached_tokens as u64);
        add(t, &s.hit_requests, "cluster|hit_requests", u64::from(cached_tokens > 0));
        add(t, &s.evicted_blocks, "cluster|evicted_blocks", evicted as u64);
        if let Some(w) = worker {
            let unpinned = <[Pinned; 2]>::default();
            let [requests, hits] = s.workers.get(w).unwrap_or(&unpinned);
            add_with(t, requests, || format!("cluster|w{w}|requests"), 1);
            add_with(t, hits, || format!("cluster|w{w}|hit_tokens"), cached_tokens as u64);
        }
    }

    /// Take batch slots for a request scheduled as `offsets` (due times from `now`: of each streamed
    /// step, or `[first token, end]` of a whole answer), shift the schedule by any queueing delay, and
    /// record its timings. Returns the ticket of the slot held until the end.
    pub(crate) fn book(&self, b: &Booking, offsets: &mut [f64]) -> u64 {
        let mut cluster = self.lock();
        let factor = cluster.load_factor(b.now);
        if factor != 1.0 {
            offsets.iter_mut().for_each(|o| *o *= factor);
        }
        let first = offsets.first().copied().unwrap_or(0.0);
        let last = offsets.last().copied().unwrap_or(0.0);
        let (ticket, prefill_wait, decode_wait) =
            cluster.schedule(b.worker, b.prompt_tokens, first, last, b.now);
        drop(cluster);
        if let Some((head, tail)) = offsets.split_first_mut() {
            *head += prefill_wait;
            tail.iter_mut().for_each(|o| *o += prefill_wait + decode_wait);
        }
        self.record(b, offsets, prefill_wait, prefill_wait + decode_wait);
        ticket
    }

    /// Record a request's simulated timings (its schedule `offsets` from `b.now`, of which
    /// `prefill_wait` before its prefill and `queued` in all were spent waiting) in the shared table.
    pub(crate) fn record(&self, b: &Booking, offsets: &[f64], prefill_wait: f64, queued: f64) {
        let Some(t) = self.table() else { return };
        let first = offsets.first().copied().unwrap_or(0.0);
        let total = offsets.last().copied().unwrap_or(0.0);
        let s = &self.slots;
        record_phases(t, s, b.output_tokens, first - prefill_wait, first, total, queued);
        if let (true, Ok(slot)) = (b.stream, s.itl_seconds.slot(t, || "cluster|itl_seconds")) {
            if slot.len() >= histogram::WIDTH {
                offsets.windows(2).for_each(|w| histogram::observe(slot, w[1] - w[0]));
            }
        }
    }

    /// The shared table the cluster counts into, if any (for an engine-timed answer's [`Timing`],
    /// counted once the pacer settled it).
    ///
    /// [`Timing`]: super::meter::Timing
    pub(crate) fn table_handle(&self, py: Python<'_>) -> Option<Py<SharedTable>> {
        self.table.as_ref().map(|t| t.clone_ref(py))
    }
}

/// Count a request's phases in the cluster's table: `output_tokens` tokens, the first `first`
/// seconds after arrival (after `prefill` of prefill), the last at `total`, having queued `queued`.
fn record_phases(
    t: &Table,
    s: &Slots,
    output_tokens: u32,
    prefill: f64,
    first: f64,
    total: f64,
    queued: f64,
) {
    let decode = total - first;
    add(t, &s.queued_requests, "cluster|queued_requests", u64::from(queued > 0.0));
    add(t, &s.output_tokens, "cluster|output_tokens", u64::from(output_tokens));
    observe(t, &s.queue_seconds, "cluster|queue_seconds", queued);
    observe(t, &s.prefill_seconds, "cluster|prefill_seconds", prefill);
    observe(t, &s.ttft_seconds, "cluster|ttft_seconds", first);
    observe(t, &s.decode_seconds, "cluster|decode_seconds", decode);
    observe(t, &s.e2e_seconds, "cluster|e2e_seconds", total);
    if output_tokens > 1 {
        observe(t, &s.tpot_seconds, "cluster|tpot_seconds", decode / f64::from(output_tokens - 1));
    }
}

/// Count an engine-timed request's phases once its first and last token are settled (`first` and
/// `last` seconds after arrival): a stream of `steps` steps counts `steps - 1` inter-token gaps of
/// their mean (the pacer re-spaces the steps between the settled ends), a whole answer none.
pub(crate) fn record_settled(t: &Table, output_tokens: u32, steps: usize, first: f64, last: f64) {
    record_phases(t, &Slots::default(), output_tokens, first, first, last, 0.0);
    if let (true, Ok(slot)) = (steps > 1, t.slot("cluster|itl_seconds")) {
        if slot.len() >= histogram::WIDTH {
            histogram::observe_n(slot, (last - first) / (steps - 1) as f64, steps as u64 - 1);
        }
    }
}

/// What [`Cluster::book`] needs to know about a routed request.
pub(crate) struct Booking {
    pub(crate) worker: usize,
    pub(crate) prompt_tokens: usize,
    pub(crate) output_tokens: u32,
    /// Streamed (offsets are steps, whose gaps are inter-token latencies) or whole.
    pub(crate) stream: bool,
    pub(crate) now: f64,
}

/// Add `delta` to counter `key` (pinned in `at`); zero adds nothing (and creates no key).
fn add(t: &Table, at: &Pinned, key: &str, delta: u64) {
    add_with(t, at, || key, delta);
}

fn add_with<K: AsRef<str>>(t: &Table, at: &Pinned, key: impl FnOnce() -> K, delta: u64) {
    if delta > 0 {
        if let Ok(slot) = at.slot(t, key) {
            slot[0].fetch_add(delta, Ordering::Relaxed);
        }
    }
}

fn observe(t: &Table, at: &Pinned, key: &str, seconds: f64) {
    if let Ok(slot) = at.slot(t, || key) {
        if slot.len() >= histogram::WIDTH {
            histogram::observe(slot, seconds);
        }
    }
}

#[pymethods]
impl Cluster {
    #[new]
    #[pyo3(signature = (
        workers=4, *, block_size=16, cache_blocks=16384, batch_size=256, overlap_weight=1.0, load_weight=1.0,
        prefill_workers=0, table=None, kv_events=false, max_num_seqs=0, max_waiting=None, time_factor=1.0
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        workers: usize,
        block_size: usize,
        cache_blocks: usize,
        batch_size: usize,
        overlap_weight: f64,
        load_weight: f64,
        prefill_workers: usize,
        table: Option<Py<SharedTable>>,
        kv_events: bool,
        max_num_seqs: usize,
        max_waiting: Option<usize>,
        time_factor: f64,
    ) -> Self {
        let weights = Weights { overlap: overlap_weight, load: load_weight };
        let limits = Limits { max_num_seqs, max_waiting, time_factor };
        let cfg = Config {
            workers,
            prefill_workers,
            block_size,
            cache_blocks,
            batch_size,
            weights,
            kv_events,
            limits,
        };
        let inner = cluster::Cluster::new(cfg);
        let slots = Slots {
            workers: (0..inner.worker_count()).map(|_| Default::default()).collect(),
            ..Default::default()
        };
        Self { inner: Mutex::new(inner), table, slots }
    }

    /// Free the batch slot of a request that ended before its schedule (e.g. the client went away).
    fn release(&self, ticket: u64, now: f64) {
        self.lock().release(ticket, now);
        if let Some(t) = self.table() {
            add(t, &Pinned::new(), "cluster|released_early", 1);
        }
    }

    /// One dict per simulated worker: `role` (`"aggregated"`, `"prefill"` or `"decode"`), `active`,
    /// `queued`, `blocks_used`, `blocks_capacity`, and the
    /// counters `requests`, `queued_requests`, `query_tokens`, `hit_tokens`, `hit_requests`,
    /// `evicted_blocks` (this process's share).
    fn workers<'py>(&self, py: Python<'py>, now: f64) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let mut cluster = self.lock();
        let snapshot = cluster.snapshot(now);
        let prefill = cluster.config().prefill_workers;
        snapshot
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let d = PyDict::new(py);
                let role = match (prefill, i < prefill) {
                    (0, _) => "aggregated",
                    (_, true) => "prefill",
                    (_, false) => "decode",
                };
                d.set_item("role", role)?;
                d.set_item("active", w.active)?;
                d.set_item("queued", w.queued)?;
                d.set_item("blocks_used", w.blocks_used)?;
                d.set_item("blocks_capacity", w.blocks_capacity)?;
                let s = &w.stats;
                d.set_item("requests", s.requests)?;
                d.set_item("queued_requests", s.queued_requests)?;
                d.set_item("query_tokens", s.query_tokens)?;
                d.set_item("hit_tokens", s.hit_tokens)?;
                d.set_item("hit_requests", s.hit_requests)?;
                d.set_item("evicted_blocks", s.evicted_blocks)?;
                Ok(d)
            })
            .collect()
    }

    /// The KV events recorded since the last call (only with `kv_events=True`), oldest first:
    /// `(worker, block_hashes, parent_block_hash | None, token_ids)` for blocks stored and
    /// `(worker, block_hashes, None, None)` for blocks evicted.
    #[allow(clippy::type_complexity)]
    fn drain_events(&self) -> Vec<(usize, Vec<u64>, Option<u64>, Option<Vec<u32>>)> {
        let events = self.lock().drain_events();
        events
            .into_iter()
            .map(|e| match e {
                KvEvent::Stored { worker, hashes, parent, tokens } => (worker, hashes, parent, Some(tokens)),
                KvEvent::Removed { worker, hashes } => (worker, hashes, None, None),
            })
            .collect()
    }

    /// Whether a request arriving at `now` may enter (False: `max_waiting` requests already wait).
    fn admit(&self, now: f64) -> bool {
        self.lock().admit(now)
    }

    /// `(running, waiting)` requests of the whole cluster at `now`.
    fn load(&self, now: f64) -> (usize, usize) {
        self.lock().load(now)
    }

    #[getter]
    pub(crate) fn block_size(&self) -> usize {
        self.lock().config().block_size
    }

    #[getter]
    fn batch_size(&self) -> usize {
        self.lock().config().batch_size
    }
}
