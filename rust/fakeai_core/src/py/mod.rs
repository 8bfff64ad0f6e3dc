//! The Python bindings: convert Python values into owned Rust values, call the core, hand back bytes.
//!
//! Every call returns `(payload, schedule, prompt_tokens, completion_tokens, ticket)`: for a plain
//! response `payload` is the JSON body and `schedule` the seconds to wait before sending it; for a
//! stream they are parallel lists of SSE steps and their due offsets from the request's start.
//! `ticket` names the request's batch slot in the `Cluster` passed in (0 without one), for
//! `Cluster.release` when the request ends early.

mod audio;
mod chat;
mod chat_options;
mod cluster;
mod completions;
mod echo;
mod embeddings;
mod engine;
mod images;
mod inputs;
mod messages;
mod metrics;
mod pacer;
mod ranking;
mod ratelimit;
mod rich_content;
mod schema;
mod search;
mod shared;

use crate::rng::{fresh_seed, Rng};
use crate::schedule::{self, Latency};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

create_exception!(
    fakeai._core,
    InvalidInput,
    PyValueError,
    "A request value the core cannot use; the message says why (the caller knows the parameter)."
);

/// A rejected request value becomes `InvalidInput(message, param, code)`.
impl From<crate::invalid::Invalid> for PyErr {
    fn from(e: crate::invalid::Invalid) -> PyErr {
        InvalidInput::new_err((e.message, e.param, e.code))
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("InvalidInput", m.py().get_type::<InvalidInput>())?;
    m.add("VOCAB_SIZE", crate::tokens::VOCAB_SIZE)?;
    m.add("HISTOGRAM_WIDTH", crate::histogram::WIDTH)?;
    m.add("HISTOGRAM_BOUNDS", crate::histogram::BOUNDS.to_vec())?;
    m.add_class::<shared::SharedTable>()?;
    m.add_class::<echo::LengthDistribution>()?;
    m.add_class::<ratelimit::RateLimiter>()?;
    m.add_class::<cluster::Cluster>()?;
    m.add_class::<pacer::Pacer>()?;
    m.add_class::<cluster::PrefixCache>()?;
    m.add_function(wrap_pyfunction!(cluster::block_hashes, m)?)?;
    m.add_function(wrap_pyfunction!(count_tokens, m)?)?;
    m.add_function(wrap_pyfunction!(schema::sample_json, m)?)?;
    m.add_function(wrap_pyfunction!(generate_text, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metrics_begin, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metrics_started, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metrics_inference, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metrics_finish, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::histogram_quantile, m)?)?;
    m.add_function(wrap_pyfunction!(chat::chat, m)?)?;
    m.add_function(wrap_pyfunction!(completions::completion, m)?)?;
    m.add_function(wrap_pyfunction!(embeddings::embed, m)?)?;
    m.add_function(wrap_pyfunction!(embeddings::cosine, m)?)?;
    m.add("MODERATION_CATEGORIES", crate::moderation::CATEGORIES.to_vec())?;
    m.add("MODERATION_IMAGE_CATEGORIES", crate::moderation::IMAGE_CATEGORIES.to_vec())?;
    m.add("SPEECH_SAMPLE_RATE", crate::speech::SAMPLE_RATE)?;
    m.add("SPEECH_CHARS_PER_SECOND", crate::speech::CHARS_PER_SECOND)?;
    m.add_function(wrap_pyfunction!(images::png_images, m)?)?;
    m.add_function(wrap_pyfunction!(images::png_size, m)?)?;
    m.add_function(wrap_pyfunction!(audio::speech, m)?)?;
    m.add_function(wrap_pyfunction!(audio::probe_audio, m)?)?;
    m.add_function(wrap_pyfunction!(audio::transcription, m)?)?;
    m.add_function(wrap_pyfunction!(ranking::moderation_scores, m)?)?;
    m.add_function(wrap_pyfunction!(ranking::image_moderation_scores, m)?)?;
    m.add_function(wrap_pyfunction!(ranking::rank_logits, m)?)?;
    m.add_function(wrap_pyfunction!(messages::anthropic_message, m)?)?;
    m.add_function(wrap_pyfunction!(search::chunk_text, m)?)?;
    m.add_function(wrap_pyfunction!(search::embedding_matrix, m)?)?;
    m.add_function(wrap_pyfunction!(search::top_k, m)?)?;
    m.add_class::<engine::EngineModel>()?;
    m.add_function(wrap_pyfunction!(engine::simulate_closed_loop, m)?)?;
    m.add_function(wrap_pyfunction!(engine::simulate_poisson, m)?)?;
    m.add_function(wrap_pyfunction!(engine::simulate_trace, m)?)?;
    m.add_function(wrap_pyfunction!(engine::deployment_info, m)?)?;
    m.add_function(wrap_pyfunction!(engine::engine_catalog, m)?)?;
    Ok(())
}

/// Number of tokens fakeai's tokenizer gives `text`.
#[pyfunction]
fn count_tokens(py: Python<'_>, text: &str) -> usize {
    if text.len() > 1 << 16 {
        py.detach(|| crate::tokens::count(text))
    } else {
        crate::tokens::count(text)
    }
}

/// `n` tokens of fakeai's generated prose for `seed` (the same seed gives the same text).
#[pyfunction]
fn generate_text(n: usize, seed: u64) -> String {
    crate::text::generate(&mut Rng::new(seed), n).concat()
}

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

pub(crate) fn latency(ttft: f64, itl: f64, jitter: f64) -> Latency {
    Latency { ttft, itl, jitter }
}

/// The simulated cluster a request runs on, if any, and when it arrived (the caller's monotonic clock).
#[derive(Clone, Copy)]
pub(crate) struct Sim<'a> {
    pub(crate) cluster: Option<&'a cluster::Cluster>,
    pub(crate) now: f64,
}

impl Sim<'_> {
    /// No simulated cluster: the request only follows its latency.
    pub(crate) fn none() -> Self {
        Self { cluster: None, now: 0.0 }
    }

    /// Route `tokens` (only computed when there is a cluster): `(worker, cached_tokens)`.
    pub(crate) fn route(&self, tokens: &[u32]) -> Option<(usize, u32)> {
        self.cluster.map(|c| {
            let r = c.route(tokens, self.now);
            (r.worker, r.cached_tokens as u32)
        })
    }

    fn book(&self, out: &Outcome, stream: bool, offsets: &mut [f64]) -> u64 {
        match (self.cluster, out.worker) {
            (Some(c), Some(worker)) => {
                let b = cluster::Booking {
                    worker,
                    prompt_tokens: out.prompt_tokens as usize,
                    output_tokens: out.completion_tokens,
                    stream,
                    now: self.now,
                };
                c.book(&b, offsets)
            }
            _ => 0,
        }
    }
}

/// Latency of a request whose `cached_tokens` of `prompt_tokens` were found in the prefix cache:
/// the base TTFT plus `prefill_per_token` for every uncached token.
pub(crate) fn latency_for(
    ttft: f64,
    itl: f64,
    jitter: f64,
    prefill_per_token: f64,
    prompt_tokens: u32,
    cached_tokens: u32,
) -> Latency {
    let prefill =
        crate::cluster::prefill_seconds(prefill_per_token, prompt_tokens as usize, cached_tokens as usize);
    latency(ttft.max(0.0) + prefill, itl, jitter)
}

/// What a rendered request reports back: its token counts and where it ran.
pub(crate) struct Outcome {
    pub(crate) prompt_tokens: u32,
    pub(crate) completion_tokens: u32,
    pub(crate) worker: Option<usize>,
}

/// `(body, seconds_to_wait, prompt_tokens, completion_tokens, ticket)`.
pub(crate) fn whole<'py>(
    py: Python<'py>,
    body: &[u8],
    lat: Latency,
    sim: Sim<'_>,
    out: Outcome,
    decode_tokens: usize,
) -> PyResult<Bound<'py, PyTuple>> {
    let mut phases = schedule::phases(&mut Rng::new(fresh_seed()), lat, decode_tokens);
    let ticket = sim.book(&out, false, &mut phases);
    let schedule = (phases[0], phases[1]);
    (PyBytes::new(py, body), schedule, out.prompt_tokens, out.completion_tokens, ticket).into_pyobject(py)
}

/// `([step, ...], [offset, ...], prompt_tokens, completion_tokens, ticket)`; with no inter-token
/// latency the steps are merged into one write.
pub(crate) fn streamed<'py>(
    py: Python<'py>,
    mut steps: Vec<Vec<u8>>,
    lat: Latency,
    sim: Sim<'_>,
    out: Outcome,
) -> PyResult<Bound<'py, PyTuple>> {
    if lat.itl <= 0.0 && steps.len() > 1 {
        steps = vec![steps.concat()];
    }
    let mut offsets = schedule::step_offsets(&mut Rng::new(fresh_seed()), lat, steps.len());
    let ticket = sim.book(&out, true, &mut offsets);
    let payload = PyList::new(py, steps.iter().map(|s| PyBytes::new(py, s)))?;
    (payload, PyList::new(py, offsets)?, out.prompt_tokens, out.completion_tokens, ticket).into_pyobject(py)
}
