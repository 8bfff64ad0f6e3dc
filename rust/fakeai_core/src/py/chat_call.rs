//! `ChatCall`: what the server decides for every chat (or legacy completion) request of one model
//! (the keyword arguments of [`super::chat::chat`] and [`super::completions::completion`]: timing,
//! echo mode, lengths, the cluster, the engine, the meter), held once.
//!
//! The Rust hot path ([`super::hot_app`]) prepares one per model and route and renders each decoded
//! chat or completion request with it: the Python call's keyword-argument parsing (up to twenty of
//! them) is paid once, not per request. `chat(request, ...)` and `completion(request, ...)` build one
//! on the stack and run the same code; a completion uses the fields it has (not
//! `extra_prompt_tokens`, `cached_tokens` nor `audio`) and the model's `context_length`.

use super::chat;
use super::cluster::Cluster;
use super::length::LengthDistribution;
use super::meter::Meter;
use super::reply::Answer;
use super::shared_engine::SharedEngine;
use crate::simulation::schedule::Latency;
use pyo3::prelude::*;
use pyo3::types::PyDict;

#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct ChatCall {
    pub(super) model_info: Option<Py<PyAny>>,
    pub(super) fingerprint: String,
    pub(super) ttft: f64,
    pub(super) itl: f64,
    pub(super) jitter: f64,
    pub(super) extra_prompt_tokens: u32,
    pub(super) forced_tokens: Option<u32>,
    pub(super) cached_tokens: u32,
    pub(super) echo_mode: bool,
    pub(super) lengths: Option<Py<LengthDistribution>>,
    pub(super) audio: Option<Py<PyAny>>,
    pub(super) prefill_per_token: f64,
    pub(super) cluster: Option<Py<Cluster>>,
    pub(super) engine: Option<Py<SharedEngine>>,
    pub(super) max_generated: u32,
    pub(super) meter: Option<Py<Meter>>,
    pub(super) live: bool,
    /// Show the reasoning of a model that hides it in chat (capability `hidden_reasoning`): for the
    /// Responses API, which builds its reasoning item from it.
    pub(super) reveal_reasoning: bool,
}

/// A call's cluster, engine and meter, bound to the GIL: what [`super::reply::Sim::of`] borrows.
pub(super) type SimParts<'py> =
    (Option<Bound<'py, Cluster>>, Option<Bound<'py, SharedEngine>>, Option<Bound<'py, Meter>>);

impl ChatCall {
    /// The call `chat(request, model_info, **kwargs)` or `completion(...)` is made with.
    pub(super) fn of_kwargs<'py>(
        py: Python<'py>,
        model_info: Option<Bound<'py, PyAny>>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, ChatCall>> {
        Ok(py.get_type::<ChatCall>().call((model_info,), kwargs)?.cast_into::<ChatCall>()?)
    }

    /// The latency of a request whose `cached_tokens` of `prompt_tokens` were found in the prefix
    /// cache: the base TTFT plus `prefill_per_token` for every uncached token.
    pub(super) fn latency(&self, prompt_tokens: u32, cached_tokens: u32) -> Latency {
        let prefill = crate::simulation::cluster::prefill_seconds(
            self.prefill_per_token,
            prompt_tokens as usize,
            cached_tokens as usize,
        );
        Latency { ttft: self.ttft.max(0.0) + prefill, itl: self.itl, jitter: self.jitter }
    }

    pub(super) fn sim_parts<'py>(&self, py: Python<'py>) -> SimParts<'py> {
        (
            self.cluster.as_ref().map(|c| c.bind(py).clone()),
            self.engine.as_ref().map(|e| e.bind(py).clone()),
            self.meter.as_ref().map(|m| m.bind(py).clone()),
        )
    }
}

#[pymethods]
impl ChatCall {
    /// The arguments of `chat` after the request, but `now` (given per call).
    #[new]
    #[pyo3(signature = (
        model_info=None, *, fingerprint="fp_fakeai".to_owned(), ttft=0.0, itl=0.0, jitter=0.0,
        extra_prompt_tokens=0, forced_tokens=None, cached_tokens=0, echo_mode=false, lengths=None,
        audio=None, prefill_per_token=0.0, cluster=None, engine=None, max_generated=u32::MAX, meter=None,
        live=false, reveal_reasoning=false
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        model_info: Option<Py<PyAny>>,
        fingerprint: String,
        ttft: f64,
        itl: f64,
        jitter: f64,
        extra_prompt_tokens: u32,
        forced_tokens: Option<u32>,
        cached_tokens: u32,
        echo_mode: bool,
        lengths: Option<Py<LengthDistribution>>,
        audio: Option<Py<PyAny>>,
        prefill_per_token: f64,
        cluster: Option<Py<Cluster>>,
        engine: Option<Py<SharedEngine>>,
        max_generated: u32,
        meter: Option<Py<Meter>>,
        live: bool,
        reveal_reasoning: bool,
    ) -> Self {
        Self {
            model_info,
            fingerprint,
            ttft,
            itl,
            jitter,
            extra_prompt_tokens,
            forced_tokens,
            cached_tokens,
            echo_mode,
            lengths,
            audio,
            prefill_per_token,
            cluster,
            engine,
            max_generated,
            meter,
            live,
            reveal_reasoning,
        }
    }

    /// `chat(request, model_info, ..., now=now)` with this call's arguments.
    #[pyo3(signature = (request, now=0.0))]
    fn __call__<'py>(&self, request: &Bound<'py, PyAny>, now: f64) -> PyResult<Bound<'py, Answer>> {
        chat::render(request, self, now)
    }
}
