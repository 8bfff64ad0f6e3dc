//! `embed(...)`: the `/v1/embeddings` endpoint, one call per request, computed without the GIL.

use super::inputs::{self, TextOrTokens};
use super::InvalidInput;
use crate::scoring::embedding::{self, Input};
use crate::text::tokens;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

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
    let inputs = inputs::extract(input)?;
    if inputs.iter().any(|i| matches!(i, TextOrTokens::Text(t) if t.is_empty())) {
        return Err(InvalidInput::new_err("must not contain empty strings"));
    }
    let (body, prompt_tokens) = py.detach(|| {
        let mut prompt_tokens = 0u32;
        let vectors: Vec<Vec<f32>> = inputs
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
        (embedding::render_list(model, &vectors, base64, prompt_tokens), prompt_tokens)
    });
    (PyBytes::new(py, &body), prompt_tokens).into_pyobject(py)
}

/// Cosine similarity of two texts' embeddings (for tests and for ranking).
#[pyfunction]
#[pyo3(signature = (a, b, dims=256))]
pub(crate) fn cosine(a: &str, b: &str, dims: usize) -> f32 {
    embedding::cosine(&embedding::embed(&Input::Text(a), dims), &embedding::embed(&Input::Text(b), dims))
}
