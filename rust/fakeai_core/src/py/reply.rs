//! What the generating calls (`chat`, `completion`, `anthropic_message`) share: reading `stop` and the
//! seed, routing on the simulated cluster, and the shape of what they return.
//!
//! Every call returns an [`Answer`]: for a plain response `payload` is the JSON body and `schedule`
//! its `(first_token_at, done_at)` offsets; for a stream they are parallel lists of SSE steps and their
//! due offsets from the request's start. `ticket` names the request's batch slot in the `Cluster`
//! passed in (0 without one), for `Cluster.release` when the request ends early; with a
//! `SharedEngine` the schedule is the engine's forecast and `ticket` (top bit set) is for
//! `SharedEngine.cancel`.

use super::cluster;
use super::meter::{Meter, Metered, Timing};
use super::shared_engine::SharedEngine;
use super::steps::Steps;
use super::InvalidInput;
use crate::rng::{fresh_seed, Rng};
use crate::shm::metrics::Inference;
use crate::simulation::schedule::{self, Latency};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

/// `stop` as given by a request: a string, a list of strings, or None.
pub(crate) fn stop_list(stop: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    match stop {
        None => Ok(Vec::new()),
        Some(s) if s.is_none() => Ok(Vec::new()),
        Some(s) => match s.cast::<PyString>() {
            Ok(one) => Ok(vec![one.to_str()?.to_owned()]),
            Err(_) => s
                .extract::<Vec<String>>()
                .map_err(|_| InvalidInput::new_err("stop must be a string or a list of strings")),
        },
    }
}

/// The RNG key of a request: the input's hash mixed with the seed, or a fresh seed when none given.
pub(crate) fn request_key(seed: Option<i64>, input_hash: u64) -> u64 {
    match seed {
        Some(s) => Rng::keyed(s as u64, &input_hash.to_le_bytes()).next_u64(),
        None => fresh_seed(),
    }
}

/// The simulated cluster a request runs on, if any, the engine that times it, if any, when it
/// arrived (the caller's monotonic clock), and the meter that records its answer, if any.
#[derive(Clone, Copy)]
pub(crate) struct Sim<'a> {
    pub(crate) cluster: Option<&'a cluster::Cluster>,
    pub(crate) engine: Option<&'a SharedEngine>,
    pub(crate) now: f64,
    pub(crate) metered: Option<Metered<'a>>,
}

impl<'a> Sim<'a> {
    /// A live or batch request's simulation, from a generating call's arguments: its answer's usage
    /// counts as `kind` for `model`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn of(
        cluster: &'a Option<Bound<'_, cluster::Cluster>>,
        engine: &'a Option<Bound<'_, SharedEngine>>,
        now: f64,
        meter: &'a Option<Bound<'_, Meter>>,
        kind: &'a str,
        model: &'a str,
        live: bool,
    ) -> Self {
        Sim {
            cluster: cluster.as_ref().map(Bound::get),
            engine: engine.as_ref().map(Bound::get),
            now,
            metered: meter.as_ref().map(|m| Metered { meter: m.get(), kind, model, live }),
        }
    }
}

impl Sim<'_> {
    /// Record the answer with the meter, if any: the model label it counts under, and for an
    /// engine-timed (`timed`) live answer the [`Timing`] the pacer counts once it settled the first
    /// and last token (the forecast's TTFT and ITL are left out here, and out of the cluster's table:
    /// [`Sim::engine_times`]).
    fn meter(
        &self,
        py: Python<'_>,
        inference: Inference,
        timed: bool,
        steps: usize,
    ) -> (Option<String>, Option<Timing>) {
        let settled = timed && self.settles();
        let inference = if settled { Inference { ttft: None, itl: None, ..inference } } else { inference };
        let label = self.metered.and_then(|m| m.meter.answered(m.kind, m.model, m.live, inference));
        if !settled {
            return (label, None);
        }
        let metrics = match (self.metered, label.as_deref()) {
            (Some(m), Some(label)) => m.meter.timing_metrics(py, label),
            _ => None,
        };
        let cluster = self.cluster.and_then(|c| c.table_handle(py));
        (label, Timing::new(metrics, cluster, self.now, inference.completion_tokens, steps))
    }

    /// Whether an engine-timed answer of this call is settled by the pacer (a live request: one
    /// with a meter that counts it live), so that its timing is counted then, not as forecast.
    fn settles(&self) -> bool {
        self.metered.is_some_and(|m| m.live)
    }

    /// Route `tokens` (only computed when there is a cluster): `(worker, cached_tokens)`. A request
    /// the engine times is looked up in the engine's prefix caches instead (one per replica, shared by
    /// every worker process): `worker` is then the replica it is submitted to.
    pub(crate) fn route(&self, tokens: &[u32]) -> Option<(usize, u32)> {
        if let (Some(engine), Some(c)) = (self.engine, self.cluster) {
            let mut evicted = Vec::new();
            let events = c.kv_events().then_some(&mut evicted);
            let (r, hashes) = engine.route(tokens, self.now, events);
            c.count(None, tokens.len(), r.cached_tokens as usize, r.evicted_blocks as usize);
            c.record_events(r.replica, tokens, &hashes, r.matched_blocks, evicted);
            return Some((r.replica, r.cached_tokens));
        }
        self.cluster.map(|c| {
            let r = c.route(tokens, self.now);
            (r.worker, r.cached_tokens as u32)
        })
    }

    fn booking(&self, out: &Outcome, stream: bool) -> Option<(&cluster::Cluster, cluster::Booking)> {
        let (c, worker) = (self.cluster?, out.worker?);
        let b = cluster::Booking {
            worker,
            prompt_tokens: out.prompt_tokens as usize,
            output_tokens: out.completion_tokens,
            stream,
            now: self.now,
        };
        Some((c, b))
    }

    fn book(&self, out: &Outcome, stream: bool, offsets: &mut [f64]) -> u64 {
        self.booking(out, stream).map_or(0, |(c, b)| c.book(&b, offsets))
    }

    /// With an engine: submit `tokens` output tokens and return `(ticket, each token's offset)`,
    /// recorded in the cluster's table like a booked schedule, unless the pacer settles it (then
    /// its [`Timing`] counts it there once settled).
    fn engine_times(&self, out: &Outcome, stream: bool, tokens: usize) -> PyResult<Option<(u64, Vec<f64>)>> {
        let Some(engine) = self.engine else { return Ok(None) };
        let (ticket, times) =
            engine.submit(self.now, out.prompt_tokens, out.cached_tokens, tokens as u32, out.worker)?;
        if !self.settles() {
            if let Some((c, b)) = self.booking(out, stream) {
                c.record(&b, &times, 0.0, 0.0);
            }
        }
        Ok(Some((ticket, times)))
    }
}

/// What a generating call returns: the rendered payload, when to send it, the token counts and the
/// request's batch-slot ticket.
#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct Answer {
    /// The JSON body, or the list of SSE steps of a stream.
    #[pyo3(get)]
    payload: Py<PyAny>,
    /// `(first_token_at, done_at)` for a body, or each step's due offset for a stream (seconds).
    #[pyo3(get)]
    schedule: Py<PyAny>,
    #[pyo3(get)]
    prompt_tokens: u32,
    #[pyo3(get)]
    completion_tokens: u32,
    /// The request's slot in the simulated cluster (0 without one), for `Cluster.release`.
    #[pyo3(get)]
    ticket: u64,
    /// With a meter: the model label the request counts under in the metrics (the model id with
    /// metrics off; None when the metrics table is full). None without a meter.
    #[pyo3(get)]
    label: Option<String>,
    /// An engine-timed live answer's token timing (metrics, cluster histograms), for the pacer to count once settled
    /// (it is given the answer: `Pacer.play`/`Pacer.wait`'s `answer`).
    pub(crate) timing: Option<Timing>,
}

impl Answer {
    /// Whether this is a whole body due now (`schedule`'s `done_at` not after the start), which the
    /// pacer would send at once.
    pub(crate) fn due_now(&self, py: Python<'_>) -> bool {
        self.payload.bind(py).is_instance_of::<PyBytes>()
            && self.schedule.bind(py).extract::<(f64, f64)>().is_ok_and(|(_, done)| done <= 0.0)
    }

    pub(crate) fn payload<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.payload.bind(py).clone()
    }

    pub(crate) fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }
}

/// What a rendered request reports back: its token counts and where it ran.
pub(crate) struct Outcome {
    pub(crate) prompt_tokens: u32,
    pub(crate) completion_tokens: u32,
    pub(crate) cached_tokens: u32,
    pub(crate) worker: Option<usize>,
}

/// The answer of a whole (non-streamed) response.
pub(crate) fn whole<'py>(
    py: Python<'py>,
    body: &[u8],
    lat: Latency,
    sim: Sim<'_>,
    out: Outcome,
    decode_tokens: usize,
) -> PyResult<Bound<'py, Answer>> {
    let (phases, ticket, timed) = match sim.engine_times(&out, false, decode_tokens)? {
        Some((ticket, times)) => ([times[0], times[times.len() - 1]], ticket, true),
        None => {
            let mut phases = schedule::phases(&mut Rng::new(fresh_seed()), lat, decode_tokens);
            let ticket = sim.book(&out, false, &mut phases);
            (phases, ticket, false)
        }
    };
    let (prompt, completion) = (u64::from(out.prompt_tokens), u64::from(out.completion_tokens));
    let (label, timing) = sim.meter(py, Inference::whole(prompt, completion, phases[1], phases[0]), timed, 0);
    let answer = Answer {
        payload: PyBytes::new(py, body).into_any().unbind(),
        schedule: (phases[0], phases[1]).into_pyobject(py)?.into_any().unbind(),
        prompt_tokens: out.prompt_tokens,
        completion_tokens: out.completion_tokens,
        ticket,
        label,
        timing,
    };
    Bound::new(py, answer)
}

/// A stream's steps: rendered whole, or rendered on demand as they go out (a long stream, see
/// [`Steps`]).
pub(crate) enum StreamSteps {
    Whole(Vec<Vec<u8>>),
    Lazy(Steps),
}

impl From<Vec<Vec<u8>>> for StreamSteps {
    fn from(steps: Vec<Vec<u8>>) -> Self {
        StreamSteps::Whole(steps)
    }
}

impl StreamSteps {
    fn len(&self) -> usize {
        match self {
            StreamSteps::Whole(steps) => steps.len(),
            StreamSteps::Lazy(steps) => steps.count(),
        }
    }
}

/// The answer of a stream: its steps (a list of bytes, or a [`Steps`]) and their offsets; with no
/// inter-token latency the steps of a whole rendering are merged into one write.
pub(crate) fn streamed<'py>(
    py: Python<'py>,
    steps: impl Into<StreamSteps>,
    lat: Latency,
    sim: Sim<'_>,
    out: Outcome,
) -> PyResult<Bound<'py, Answer>> {
    let mut steps = steps.into();
    let (offsets, ticket, timed) = match sim.engine_times(&out, true, steps.len())? {
        // One token per step (a stream's steps are its tokens, the last also carrying the end).
        Some((ticket, times)) => {
            let last = times.len() - 1;
            ((0..steps.len()).map(|k| times[k.min(last)]).collect(), ticket, true)
        }
        None => {
            if let StreamSteps::Whole(whole) = &mut steps {
                if lat.itl <= 0.0 && whole.len() > 1 {
                    *whole = vec![whole.concat()];
                }
            }
            let mut offsets = schedule::step_offsets(&mut Rng::new(fresh_seed()), lat, steps.len());
            let ticket = sim.book(&out, true, &mut offsets);
            (offsets, ticket, false)
        }
    };
    let (prompt, completion) = (u64::from(out.prompt_tokens), u64::from(out.completion_tokens));
    let (first, last) = (offsets.first().copied().unwrap_or(0.0), offsets.last().copied().unwrap_or(0.0));
    let inference = Inference::streamed(prompt, completion, first, last, offsets.len());
    let (label, timing) = sim.meter(py, inference, timed, offsets.len());
    let payload = match steps {
        StreamSteps::Whole(steps) => PyList::new(py, steps.iter().map(|s| PyBytes::new(py, s)))?.into_any(),
        StreamSteps::Lazy(steps) => Bound::new(py, steps)?.into_any(),
    };
    let answer = Answer {
        payload: payload.unbind(),
        schedule: PyList::new(py, offsets)?.into_any().unbind(),
        prompt_tokens: out.prompt_tokens,
        completion_tokens: out.completion_tokens,
        ticket,
        label,
        timing,
    };
    Bound::new(py, answer)
}
