//! Request recording ([`crate::metrics`]) on a `SharedTable`: one call per request phase.

use super::shared::{slot_error, SharedTable};
use crate::histogram::Snapshot;
use crate::metrics::{self, Finish, Inference};
use pyo3::prelude::*;

/// A request entered the server (in-flight + 1).
#[pyfunction]
pub(crate) fn metrics_begin(table: &SharedTable) -> PyResult<()> {
    metrics::begin(table.table()).map_err(slot_error)
}

/// Record the server's start time (epoch ms) unless a worker already did; returns the recorded one.
#[pyfunction]
pub(crate) fn metrics_started(table: &SharedTable, now_ms: u64) -> PyResult<u64> {
    metrics::mark_started(table.table(), now_ms).map_err(slot_error)
}

/// An inference request started: returns the model label it is counted under (the id, or "other"
/// past `max_models` distinct ids), to pass to `metrics_finish`.
#[pyfunction]
#[pyo3(signature = (table, model, max_models, prompt_tokens, completion_tokens, ttft=None, itl=None))]
pub(crate) fn metrics_inference(
    table: &SharedTable,
    model: &str,
    max_models: u64,
    prompt_tokens: u64,
    completion_tokens: u64,
    ttft: Option<f64>,
    itl: Option<f64>,
) -> PyResult<String> {
    let t = table.table();
    let label = metrics::model_label(t, model, max_models).map_err(slot_error)?;
    metrics::start_inference(t, label, Inference { prompt_tokens, completion_tokens, ttft, itl })
        .map_err(slot_error)?;
    Ok(label.to_owned())
}

/// A request left the server with `status` after `seconds`.
#[pyfunction]
#[pyo3(signature = (table, endpoint, status, seconds, slo_seconds, model=None, error=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn metrics_finish(
    table: &SharedTable,
    endpoint: &str,
    status: u16,
    seconds: f64,
    slo_seconds: f64,
    model: Option<&str>,
    error: Option<(String, String)>,
) -> PyResult<()> {
    let error = error.as_ref().map(|(k, c)| (k.as_str(), c.as_str()));
    metrics::finish(table.table(), Finish { endpoint, status, seconds, slo_seconds, model, error })
        .map_err(slot_error)
}

/// The `q`-quantile of a histogram given as per-bucket counts (`HISTOGRAM_BOUNDS` then +Inf), e.g.
/// the sum of several histograms' buckets; interpolated as Prometheus' `histogram_quantile`.
#[pyfunction]
pub(crate) fn histogram_quantile(buckets: Vec<u64>, q: f64) -> f64 {
    let count = buckets.iter().sum();
    Snapshot { count, sum_seconds: 0.0, buckets }.quantile(q)
}
