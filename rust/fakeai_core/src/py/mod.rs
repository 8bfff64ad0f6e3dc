//! The Python bindings: convert Python values into owned Rust values, call the core, hand back bytes.
//!
//! Every call returns `(payload, schedule, prompt_tokens, completion_tokens)`: for a plain response
//! `payload` is the JSON body and `schedule` the seconds to wait before sending it; for a stream they
//! are parallel lists of SSE steps and their due offsets from the request's start.

mod audio;
mod chat;
mod chat_options;
mod completions;
mod echo;
mod embeddings;
mod images;
mod inputs;
mod messages;
mod metrics;
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

/// `(body, seconds_to_wait, prompt_tokens, completion_tokens)`.
pub(crate) fn whole<'py>(
    py: Python<'py>,
    body: &[u8],
    lat: Latency,
    prompt_tokens: u32,
    completion_tokens: u32,
    decode_tokens: usize,
) -> PyResult<Bound<'py, PyTuple>> {
    let wait = schedule::total(&mut Rng::new(fresh_seed()), lat, decode_tokens);
    (PyBytes::new(py, body), wait, prompt_tokens, completion_tokens).into_pyobject(py)
}

/// `([step, ...], [offset, ...], prompt_tokens, completion_tokens)`; with no inter-token latency the
/// steps are merged into one write.
pub(crate) fn streamed<'py>(
    py: Python<'py>,
    mut steps: Vec<Vec<u8>>,
    lat: Latency,
    prompt_tokens: u32,
    completion_tokens: u32,
) -> PyResult<Bound<'py, PyTuple>> {
    if lat.itl <= 0.0 && steps.len() > 1 {
        steps = vec![steps.concat()];
    }
    let offsets = schedule::step_offsets(&mut Rng::new(fresh_seed()), lat, steps.len());
    let payload = PyList::new(py, steps.iter().map(|s| PyBytes::new(py, s)))?;
    (payload, PyList::new(py, offsets)?, prompt_tokens, completion_tokens).into_pyobject(py)
}
