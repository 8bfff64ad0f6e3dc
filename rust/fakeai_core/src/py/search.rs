//! `chunk_text`, `embedding_matrix`, `top_k`: vector-store chunking and search, without the GIL.

use crate::scoring::search;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// The token-window chunks of `text` (OpenAI's static chunking strategy).
#[pyfunction]
#[pyo3(signature = (text, max_tokens, overlap))]
pub(crate) fn chunk_text(py: Python<'_>, text: &str, max_tokens: usize, overlap: usize) -> Vec<String> {
    py.detach(|| search::chunk(text, max_tokens, overlap).into_iter().map(str::to_owned).collect())
}

/// The embeddings of `texts` as one little-endian `f32` matrix (rows of `dims`).
#[pyfunction]
pub(crate) fn embedding_matrix<'py>(py: Python<'py>, texts: Vec<String>, dims: usize) -> Bound<'py, PyBytes> {
    let bytes = py.detach(|| {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        search::matrix(&refs, dims)
    });
    PyBytes::new(py, &bytes)
}

/// The `k` best rows of `matrix` for `query`: `[(row, score), ...]`, best first.
#[pyfunction]
pub(crate) fn top_k(py: Python<'_>, query: &str, matrix: &[u8], dims: usize, k: usize) -> Vec<(usize, f32)> {
    py.detach(|| search::top_k(query, matrix, dims.max(1), k))
}
