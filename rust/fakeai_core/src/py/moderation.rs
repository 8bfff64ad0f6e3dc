//! `moderation_scores(...)` and `image_moderation_scores(...)`: the moderation endpoint's scores, one
//! per category of `MODERATION_CATEGORIES` ([`crate::scoring::moderation`]).

use crate::scoring::moderation;
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
