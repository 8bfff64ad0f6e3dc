//! `SharedEngine`: the live server's one engine ([`crate::shm::engine`]), opened by every worker
//! process from the same file. `chat(...)` and `completion(...)` take it as `engine=` and submit the
//! request inside their one core call; Python calls `cancel` when a client leaves and `status` for the
//! metrics.
//!
//! Beside the engine's region, in `<path>.prefix`, every handle opens the replicas' prefix caches
//! ([`crate::shm::prefix`]): the core call looks a prompt up there ([`SharedEngine::route`]), which
//! chooses the replica (longest prefix hit against load, as AI-Dynamo's KV router) and the cached
//! tokens, then submits it to that replica, so both are the same whichever worker answers.
//!
//! Times are seconds on `time.monotonic()`'s clock (CLOCK_MONOTONIC, the same in every process).

use super::engine::deployment;
use super::InvalidInput;
use crate::shm::engine::{self, Refusal, ITERATION_BOUNDS};
use crate::shm::prefix::{Load, PrefixCache, Routed};
use crate::simulation::block_hash::block_hashes;
use crate::simulation::router::Weights;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct SharedEngine {
    inner: engine::SharedEngine,
    /// The replicas' prefix caches.
    prefix: PrefixCache,
    /// Set in bits 56..62 of this handle's tickets (the caller's index of its engines).
    tag: u64,
    /// Forecast as if the load persists (else as if nothing else arrives).
    sustain: bool,
}

const TAG_SHIFT: u32 = 56;
const TAG_MASK: u64 = 0x7F << TAG_SHIFT;

impl SharedEngine {
    /// Look the prompt `tokens` up in the replicas' prefix caches at `now`: the replica to submit it to
    /// and the tokens it finds cached there (its blocks are stored in that replica's cache), and the
    /// prompt's block hashes; the hashes of the blocks it evicted go to `evicted` when given.
    pub(crate) fn route(
        &self,
        tokens: &[u32],
        now: f64,
        evicted: Option<&mut Vec<u64>>,
    ) -> (Routed, Vec<u64>) {
        let hashes = block_hashes(tokens, self.prefix.block_size());
        let loads: Vec<Load> = self
            .inner
            .replicas(now)
            .iter()
            .map(|r| Load { requests: r.running + r.waiting, blocks: r.kv_blocks - r.kv_blocks_free })
            .collect();
        (self.prefix.route(&hashes, tokens.len(), &loads, evicted), hashes)
    }

    /// Submit a request arriving at `now` with `outputs` tokens to generate, to `replica` (as
    /// [`SharedEngine::route`] chose) or else the least-loaded one: its ticket and each
    /// token's offset from `now`. A full queue raises `InvalidInput(.., "engine", "overloaded")`, a
    /// request no replica can hold `InvalidInput(.., "max_tokens", "context_length_exceeded")`.
    pub(crate) fn submit(
        &self,
        now: f64,
        prompt: u32,
        cached: u32,
        outputs: u32,
        replica: Option<usize>,
    ) -> PyResult<(u64, Vec<f64>)> {
        match self.inner.submit_on(replica, now, prompt, cached, outputs.max(1), self.sustain) {
            Ok((ticket, times)) => {
                let offsets = times.into_iter().map(|t| (t - now).max(0.0)).collect();
                Ok((ticket | self.tag << TAG_SHIFT, offsets))
            }
            Err(Refusal::QueueFull(limit)) => Err(InvalidInput::new_err((
                format!(
                    "The engine is currently overloaded, please try again later: the waiting queue is full ({limit} requests)."
                ),
                "engine",
                "overloaded",
            ))),
            Err(Refusal::Invalid(message)) => {
                Err(InvalidInput::new_err((message, "max_tokens", "context_length_exceeded")))
            }
        }
    }
}

impl SharedEngine {
    /// When the request of `ticket` delivers its first (or `last`) token, as the engine knows at
    /// `now` ([`engine::SharedEngine::settle`]).
    pub(crate) fn settle(&self, ticket: u64, now: f64, last: bool) -> engine::Settled {
        self.inner.settle(ticket & !TAG_MASK, now, last)
    }

    /// The last token's and, once that is known, the first token's settling under one lock
    /// ([`engine::SharedEngine::settle_last_and_first`]).
    pub(crate) fn settle_last_and_first(&self, ticket: u64, now: f64) -> (engine::Settled, engine::Settled) {
        self.inner.settle_last_and_first(ticket & !TAG_MASK, now)
    }

    /// Requests cancelled so far, in any process ([`engine::SharedEngine::cancellations`]).
    pub(crate) fn cancellations(&self) -> u64 {
        self.inner.cancellations()
    }
}

#[pymethods]
impl SharedEngine {
    /// Open (creating when new) the engine region in file `path` for the deployment (a dict as
    /// `deployment_info` takes), with room for `waiting` queued requests per replica; `tag` (0..127)
    /// is set in bits 56..62 of the tickets this handle gives. `sustain`: forecast a request's tokens
    /// as if the load persists (every other request that finishes is replaced by one like it) rather
    /// than as if nothing else arrives. The prefix caches' router weighs the blocks a replica would
    /// prefill (`overlap_weight`) against the KV blocks its sequences hold (`load_weight`).
    #[new]
    #[pyo3(signature = (path, deployment_spec, waiting, tag=0, sustain=true, overlap_weight=1.0, load_weight=1.0))]
    fn new(
        path: PathBuf,
        deployment_spec: &Bound<'_, PyDict>,
        waiting: u32,
        tag: u8,
        sustain: bool,
        overlap_weight: f64,
        load_weight: f64,
    ) -> PyResult<Self> {
        let dep = deployment(deployment_spec)?;
        if tag > 0x7F {
            return Err(InvalidInput::new_err((
                format!("tag must be 0..127, got {tag}"),
                "tag",
                "invalid_value",
            )));
        }
        let failed = |p: &PathBuf, e: std::io::Error| PyOSError::new_err(format!("{}: {e}", p.display()));
        let inner = engine::SharedEngine::open(&path, &dep, waiting).map_err(|e| failed(&path, e))?;
        let mut prefix_path = path.into_os_string();
        prefix_path.push(".prefix");
        let prefix_path = PathBuf::from(prefix_path);
        let weights = Weights { overlap: overlap_weight, load: load_weight };
        let prefix = PrefixCache::open(&prefix_path, dep.replicas, dep.kv_blocks, dep.block_size, weights)
            .map_err(|e| failed(&prefix_path, e))?;
        Ok(SharedEngine { inner, prefix, tag: u64::from(tag), sustain })
    }

    /// `(ticket, offsets)`: submit a request of `prompt_tokens` (`cached_tokens` of them in the
    /// prefix cache) that generates `output_tokens`, arriving at `now`; offsets are its token times
    /// from `now` if nothing else arrives.
    #[pyo3(name = "submit", signature = (now, prompt_tokens, output_tokens, cached_tokens=0))]
    fn py_submit(
        &self,
        now: f64,
        prompt_tokens: u32,
        output_tokens: u32,
        cached_tokens: u32,
    ) -> PyResult<(u64, Vec<f64>)> {
        self.submit(now, prompt_tokens, cached_tokens, output_tokens, None)
    }

    /// `(replica, cached_tokens)`: look the prompt `token_ids` up in the replicas' prefix caches at
    /// `now` as a request does (its blocks are then stored in the chosen replica's cache); submit it
    /// with `submit(..., cached_tokens=...)`.
    #[pyo3(name = "route")]
    fn py_route(&self, token_ids: Vec<u32>, now: f64) -> (usize, u32) {
        let (r, _) = self.route(&token_ids, now, None);
        (r.replica, r.cached_tokens)
    }

    /// One dict per replica at `now`: the engine's `running`, `waiting`, `kv_blocks`, `kv_blocks_used`,
    /// `kv_usage` (0..1), and its prefix cache's `prefix_blocks` (held), `prefix_capacity` (blocks) and
    /// counters `requests`, `hit_requests`, `query_tokens`, `hit_tokens`, `evicted_blocks`.
    fn replicas<'py>(&self, py: Python<'py>, now: f64) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let stats = self.prefix.stats();
        self.inner
            .replicas(now)
            .iter()
            .zip(stats)
            .map(|(r, p)| {
                let d = PyDict::new(py);
                let used = r.kv_blocks - r.kv_blocks_free;
                d.set_item("running", r.running)?;
                d.set_item("waiting", r.waiting)?;
                d.set_item("kv_blocks", r.kv_blocks)?;
                d.set_item("kv_blocks_used", used)?;
                d.set_item(
                    "kv_usage",
                    if r.kv_blocks == 0 { 0.0 } else { f64::from(used) / f64::from(r.kv_blocks) },
                )?;
                d.set_item("prefix_blocks", p.blocks_used)?;
                d.set_item("prefix_capacity", self.prefix.capacity())?;
                d.set_item("requests", p.requests)?;
                d.set_item("hit_requests", p.hit_requests)?;
                d.set_item("query_tokens", p.query_tokens)?;
                d.set_item("hit_tokens", p.hit_tokens)?;
                d.set_item("evicted_blocks", p.evicted_blocks)?;
                Ok(d)
            })
            .collect()
    }

    /// When the request of `ticket` delivers its first token (or, with `last`, its last), as the
    /// engine knows at `now`: `("at", time)`, `("later", time to ask again)`, or `("gone", nan)` when
    /// the engine no longer knows the request. The server's pacer asks this when a forecast token is
    /// due; benches use it to replay the server on a virtual clock.
    #[pyo3(name = "settle", signature = (ticket, now, last=false))]
    fn py_settle(&self, ticket: u64, now: f64, last: bool) -> (&'static str, f64) {
        match self.settle(ticket, now, last) {
            engine::Settled::At(t) => ("at", t),
            engine::Settled::Later(t) => ("later", t),
            engine::Settled::Gone => ("gone", f64::NAN),
        }
    }

    /// The request of `ticket` ends at `now` (its client left); False when it had already finished.
    fn cancel(&self, ticket: u64, now: f64) -> bool {
        self.inner.cancel(ticket & !TAG_MASK, now)
    }

    /// The engine at `now`: `running`, `waiting`, `kv_usage` (0..1), `kv_blocks`, the counters
    /// `submitted`, `finished`, `cancelled`, `refused`, `preemptions`, `output_tokens`, `steps`,
    /// `scheduled_tokens`, `prefix_cache_queries` and `prefix_cache_hits` (prompt tokens looked up and
    /// found in the replicas' prefix caches), and `iteration_tokens`: `(bounds, per-bucket counts +
    /// [+Inf])`.
    fn status<'py>(&self, py: Python<'py>, now: f64) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.status(now);
        let d = PyDict::new(py);
        d.set_item("now", s.now)?;
        d.set_item("running", s.running)?;
        d.set_item("waiting", s.waiting)?;
        d.set_item("kv_usage", s.kv_usage())?;
        d.set_item("kv_blocks", s.kv_blocks)?;
        let c = s.counters;
        d.set_item("submitted", c.submitted)?;
        d.set_item("finished", c.finished)?;
        d.set_item("cancelled", c.cancelled)?;
        d.set_item("refused", c.refused)?;
        d.set_item("preemptions", c.preemptions)?;
        d.set_item("output_tokens", c.output_tokens)?;
        d.set_item("steps", c.steps)?;
        d.set_item("scheduled_tokens", c.scheduled_tokens)?;
        let prefix = self.prefix.stats();
        d.set_item("prefix_cache_queries", prefix.iter().map(|p| p.query_tokens).sum::<u64>())?;
        d.set_item("prefix_cache_hits", prefix.iter().map(|p| p.hit_tokens).sum::<u64>())?;
        d.set_item("iteration_tokens", (ITERATION_BOUNDS.to_vec(), s.iteration_buckets.to_vec()))?;
        Ok(d)
    }

    /// Queued requests one replica holds before refusing more.
    #[getter]
    fn waiting_capacity(&self) -> u32 {
        self.inner.waiting_capacity()
    }
}
