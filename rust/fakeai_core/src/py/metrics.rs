//! Request recording ([`crate::shm::metrics`]) on a `SharedTable`: one call per request phase.

use super::shared::{slot_error, SharedTable};
use crate::shm::histogram::Snapshot;
use crate::shm::metrics::{self, Finish, Inference};
use pyo3::prelude::*;
use pyo3::types::PyList;

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
/// past `max_models` distinct ids), to pass to `metrics_finish`. `schedule` is what the core returned
/// (a list of stream step offsets, or the seconds until a whole answer; None when nothing is
/// generated); a whole answer's schedule is `(first_token_at, done_at)`, seconds from its start.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub(crate) fn metrics_inference(
    table: &SharedTable,
    model: &str,
    max_models: u64,
    prompt_tokens: u64,
    completion_tokens: u64,
    schedule: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let inference = inference_of(prompt_tokens, completion_tokens, schedule)?;
    let t = table.table();
    let label = metrics::model_label(t, model, max_models).map_err(slot_error)?;
    metrics::start_inference(t, label, inference).map_err(slot_error)?;
    Ok(label.to_owned())
}

/// The inference of a request whose answer has `schedule` (as `metrics_inference` takes it).
pub(crate) fn inference_of(
    prompt_tokens: u64,
    completion_tokens: u64,
    schedule: &Bound<'_, PyAny>,
) -> PyResult<Inference> {
    Ok(if schedule.is_none() {
        Inference { prompt_tokens, completion_tokens, ttft: None, itl: None }
    } else if let Ok(steps) = schedule.cast::<PyList>() {
        let n = steps.len();
        let at = |i: usize| -> PyResult<f64> {
            if n == 0 {
                Ok(0.0)
            } else {
                steps.get_item(i)?.extract()
            }
        };
        Inference::streamed(prompt_tokens, completion_tokens, at(0)?, at(n.saturating_sub(1))?, n)
    } else {
        let (ttft, total): (f64, f64) = schedule.extract()?;
        Inference::whole(prompt_tokens, completion_tokens, total, ttft)
    })
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
