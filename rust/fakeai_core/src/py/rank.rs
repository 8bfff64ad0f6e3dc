//! `rank_logits(...)`: relevance of passages to a query for the reranking endpoints.

use crate::scoring::rank;
use pyo3::prelude::*;

/// One relevance logit per passage (BM25 plus embedding cosine), in the passages' order.
#[pyfunction]
pub(crate) fn rank_logits(py: Python<'_>, query: &str, passages: Vec<String>) -> Vec<f64> {
    py.detach(|| rank::logits(query, &passages.iter().map(String::as_str).collect::<Vec<_>>()))
}
