//! `moderation_scores(...)` and `rank_logits(...)`: scoring text for the moderation and reranking
//! endpoints.

use crate::{moderation, rank};
use pyo3::prelude::*;

/// Scores of `text` for each of `MODERATION_CATEGORIES`.
#[pyfunction]
pub(crate) fn moderation_scores(text: &str) -> Vec<f64> {
    moderation::scores(text).to_vec()
}

/// Scores of an image (by URL) for each of `MODERATION_CATEGORIES`.
#[pyfunction]
pub(crate) fn image_moderation_scores(url: &str) -> Vec<f64> {
    moderation::image_scores(url).to_vec()
}

/// One relevance logit per passage (BM25 plus embedding cosine), in the passages' order.
#[pyfunction]
pub(crate) fn rank_logits(py: Python<'_>, query: &str, passages: Vec<String>) -> Vec<f64> {
    py.detach(|| rank::logits(query, &passages.iter().map(String::as_str).collect::<Vec<_>>()))
}
