//! `embed(...)`: the `/v1/embeddings` endpoint, one call per request.
//!
//! [`body`] is shared by the Python chain (`embed`) and the Rust hot path
//! ([`super::hot_app`]): the vectors, then the response rendered into a Python `bytes` object.
//! A base64 list (the openai SDK's default) is written straight into the `bytes` object, its
//! length computed first; a JSON float list (values on the decimal grid, `render::decimal_grid`)
//! is written into a buffer of its longest size, then copied.
//!
//! The GIL is released around the work only when it is long: a small request (one input of at most
//! [`SMALL_TEXT`] bytes: ~5 us for a 1536-dimension vector, ~3 us more to print it as JSON floats)
//! keeps it, since handing the GIL to another thread and taking it back costs a good part of that
//! (two context switches when one waits).

use super::inputs::{self, TextOrTokens};
use super::InvalidInput;
use crate::scoring::embedding::{self, Base64List, Input};
use crate::text::tokens;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

/// The most text one input may have for a base64 request to be computed holding the GIL.
const SMALL_TEXT: usize = 4096;

/// `(body, prompt_tokens)` for embedding `input` into `dims` dimensions.
#[pyfunction]
#[pyo3(signature = (model, input, dims, base64=false))]
pub(crate) fn embed<'py>(
    py: Python<'py>,
    model: &str,
    input: &Bound<'py, PyAny>,
    dims: usize,
    base64: bool,
) -> PyResult<Bound<'py, PyTuple>> {
    let (body, prompt_tokens) = body(py, model, input, dims, base64)?;
    (body, prompt_tokens).into_pyobject(py)
}

/// The response body for embedding `input` (a decoded request's `input`) into `dims` dimensions,
/// and its prompt tokens. A bad input raises `InvalidInput`.
pub(crate) fn body<'py>(
    py: Python<'py>,
    model: &str,
    input: &Bound<'py, PyAny>,
    dims: usize,
    base64: bool,
) -> PyResult<(Bound<'py, PyBytes>, u32)> {
    let inputs = inputs::extract(input)?;
    if inputs.iter().any(|i| matches!(i, TextOrTokens::Text(t) if t.is_empty())) {
        return Err(InvalidInput::new_err("must not contain empty strings"));
    }
    let small = match inputs.as_slice() {
        [TextOrTokens::Text(t)] => t.len() <= SMALL_TEXT,
        [TextOrTokens::Tokens(ids)] => ids.len() <= SMALL_TEXT / 4,
        _ => false,
    };
    if !base64 {
        let render = || {
            let (vectors, prompt_tokens) = vectors(&inputs, dims);
            (embedding::float_list(model, &vectors, prompt_tokens), prompt_tokens)
        };
        let (body, prompt_tokens) = if small { render() } else { py.detach(render) };
        return Ok((PyBytes::new(py, &body), prompt_tokens));
    }
    let (vectors, prompt_tokens) =
        if small { vectors(&inputs, dims) } else { py.detach(|| vectors(&inputs, dims)) };
    let list = Base64List::new(model, &vectors, prompt_tokens);
    let body = PyBytes::new_with(py, list.size(), |out| {
        list.write(out);
        Ok(())
    })?;
    Ok((body, prompt_tokens))
}

/// Each input's embedding, and the prompt tokens of them all.
fn vectors(inputs: &[TextOrTokens], dims: usize) -> (Vec<Vec<f32>>, u32) {
    let mut prompt_tokens = 0u32;
    let vectors = inputs
        .iter()
        .map(|i| match i {
            TextOrTokens::Text(t) => {
                prompt_tokens += tokens::count(t) as u32;
                embedding::embed(&Input::Text(t), dims)
            }
            TextOrTokens::Tokens(ids) => {
                prompt_tokens += ids.len() as u32;
                embedding::embed(&Input::Tokens(ids), dims)
            }
        })
        .collect();
    (vectors, prompt_tokens)
}

/// Cosine similarity of two texts' embeddings (for tests and for ranking).
#[pyfunction]
#[pyo3(signature = (a, b, dims=256))]
pub(crate) fn cosine(a: &str, b: &str, dims: usize) -> f32 {
    embedding::cosine(&embedding::embed(&Input::Text(a), dims), &embedding::embed(&Input::Text(b), dims))
}
