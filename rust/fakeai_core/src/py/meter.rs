//! `Meter`: what an answered request records, in the same core call that renders it.
//!
//! A generating call (`chat`, `completion`) given a meter adds the answer's tokens to the usage table
//! (entry `kind|minute|model`: input, output, cached tokens and one request) and, on the live path with
//! metrics on, records the inference in the metrics table ([`crate::shm::metrics`]: the model label,
//! tokens, time to first token and inter-token latency read from the schedule it just computed).
//! Either used to be its own call from Python per request. [`Meter::record`] does the same for a
//! caller that renders elsewhere (embeddings), and [`Meter::usage`] the usage alone (images, speech).

use super::metrics::inference_of;
use super::shared::SharedTable;
use super::InvalidInput;
use crate::shm::metrics::{self, Inference, Pins};
use crate::shm::table::Pinned;
use pyo3::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// A usage entry keeps at most this many characters of the model id.
const MAX_MODEL_CHARS: usize = 200;
/// The most models whose slots a meter keeps (ids are user-controlled); past it a model's
/// entries are looked up per request.
const MAX_KNOWN: usize = 1024;

#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct Meter {
    usage: Py<SharedTable>,
    metrics: Option<Py<SharedTable>>,
    max_models: u64,
    dropped: AtomicU64,
    /// Per model: its metrics label and slots, and its usage entries' slots, found once.
    known: Mutex<HashMap<String, Known>>,
}

/// What a meter found once for one model.
#[derive(Default)]
struct Known {
    /// The model label (metrics on): once given, a model keeps its label (a registered model stays
    /// registered; one folded into `other` stays folded, the cap being reached for good).
    label: Option<String>,
    pins: Pins,
    /// Per usage kind: the minute its entry was found for, and the entry.
    usage: Vec<(String, u64, Pinned)>,
}

impl Meter {
    /// Run `f` with `model`'s kept slots (fresh ones, looked up as they are used, past [`MAX_KNOWN`]).
    fn with_known<T>(&self, model: &str, f: impl FnOnce(&mut Known) -> T) -> T {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(k) = known.get_mut(model) {
            return f(k);
        }
        if known.len() >= MAX_KNOWN {
            return f(&mut Known::default());
        }
        f(known.entry(model.to_owned()).or_default())
    }

    /// Add one request's tokens to `kind`'s usage entry of this minute; a full table drops it.
    pub(crate) fn add_usage(&self, kind: &str, model: &str, input: u64, output: u64, cached: u64) {
        self.with_known(model, |k| self.add_usage_in(k, kind, model, input, output, cached));
    }

    fn add_usage_in(&self, k: &mut Known, kind: &str, model: &str, input: u64, output: u64, cached: u64) {
        let minute = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() / 60);
        let at = match k.usage.iter().position(|(known, _, _)| known == kind) {
            Some(i) => i,
            None => {
                k.usage.push((kind.to_owned(), minute, Pinned::new()));
                k.usage.len() - 1
            }
        };
        let (_, found_for, pinned) = &mut k.usage[at];
        if *found_for != minute {
            *found_for = minute;
            pinned.clear();
        }
        let key = || {
            let model = model.char_indices().nth(MAX_MODEL_CHARS).map_or(model, |(i, _)| &model[..i]);
            format!("{kind}|{minute}|{model}")
        };
        match pinned.slot(self.usage.get().table(), key) {
            Ok(words) => {
                for (word, delta) in words.iter().zip([input, output, cached, 1]) {
                    if delta != 0 {
                        word.fetch_add(delta, Ordering::Relaxed);
                    }
                }
            }
            Err(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Record an answered request: its usage, and with `live` and metrics on its inference. Returns
    /// the model label its request counts under (the id itself with metrics off), or None when the
    /// metrics table is full (labels are bounded; a full table never fails a request).
    pub(crate) fn answered(
        &self,
        kind: &str,
        model: &str,
        live: bool,
        inference: Inference,
    ) -> Option<String> {
        self.with_known(model, |k| {
            self.add_usage_in(k, kind, model, inference.prompt_tokens, inference.completion_tokens, 0);
            let Some(table) = self.metrics.as_ref().filter(|_| live) else { return Some(model.to_owned()) };
            let t = table.get().table();
            if k.label.is_none() {
                k.label = Some(metrics::model_label(t, model, self.max_models).ok()?.to_owned());
            }
            let label = k.label.as_deref()?;
            k.pins.start_inference(t, label, inference).ok()?;
            Some(label.to_owned())
        })
    }
}

/// The token timing of an engine-timed answer, counted once the pacer settled its first and last
/// token with the engine (see `Pacer`): the forecast it was rendered with assumes nothing else arrives
/// before its first token, so under load it would count too early. It is counted in the metrics
/// (TTFT and ITL of its model label) and in the simulated cluster's phase histograms (Dynamo's
/// views). Kept in the [`super::reply::Answer`] (no Python object of its own: one per request, alive
/// until its last token, would only feed the collector).
pub(crate) struct Timing {
    /// The metrics table and the label the request counts under (metrics on).
    metrics: Option<(Py<SharedTable>, String)>,
    /// The simulated cluster's table.
    cluster: Option<Py<SharedTable>>,
    /// When the request arrived (monotonic seconds).
    start: f64,
    completion_tokens: u64,
    /// The stream's steps, or 0 for a whole answer.
    steps: usize,
}

impl Timing {
    /// What to count once settled, if anything: `None` with neither table.
    pub(crate) fn new(
        metrics: Option<(Py<SharedTable>, String)>,
        cluster: Option<Py<SharedTable>>,
        start: f64,
        completion_tokens: u64,
        steps: usize,
    ) -> Option<Timing> {
        (metrics.is_some() || cluster.is_some()).then_some(Timing {
            metrics,
            cluster,
            start,
            completion_tokens,
            steps,
        })
    }

    /// Count the answer's first and last token, delivered at `first` and `last` (monotonic seconds).
    pub(crate) fn record(&self, first: f64, last: f64) {
        let (first, last) = ((first - self.start).max(0.0), (last - self.start).max(0.0));
        if let Some((table, label)) = &self.metrics {
            let inf = match self.steps {
                0 => Inference::whole(0, self.completion_tokens, last, first),
                steps => Inference::streamed(0, self.completion_tokens, first, last, steps),
            };
            // A full table (labels are bounded) never fails a request.
            let _ = metrics::observe_timing(table.get().table(), label, inf);
        }
        if let Some(table) = &self.cluster {
            let tokens = u32::try_from(self.completion_tokens).unwrap_or(u32::MAX);
            super::cluster::record_settled(table.get().table(), tokens, self.steps, first, last);
        }
    }
}

impl Meter {
    /// With metrics on: the metrics table and `label`, for an engine-timed answer's [`Timing`].
    pub(crate) fn timing_metrics(&self, py: Python<'_>, label: &str) -> Option<(Py<SharedTable>, String)> {
        Some((self.metrics.as_ref()?.clone_ref(py), label.to_owned()))
    }
}

/// What a generating call reports to its meter: the kind of usage and whether it is a live request
/// (whose inference the metrics count).
#[derive(Clone, Copy)]
pub(crate) struct Metered<'a> {
    pub(crate) meter: &'a Meter,
    pub(crate) kind: &'a str,
    pub(crate) model: &'a str,
    pub(crate) live: bool,
}

#[pymethods]
impl Meter {
    /// A meter over the usage table (width 4) and, with metrics on, the metrics table, whose model
    /// labels are capped at `max_models` distinct ids.
    #[new]
    #[pyo3(signature = (usage, metrics=None, max_models=u64::MAX))]
    fn new(usage: Py<SharedTable>, metrics: Option<Py<SharedTable>>, max_models: u64) -> PyResult<Self> {
        if usage.get().table().width() < 4 {
            return Err(InvalidInput::new_err("the usage table needs 4 words per entry"));
        }
        Ok(Self { usage, metrics, max_models, dropped: AtomicU64::new(0), known: Mutex::default() })
    }

    /// Add usage only: `input` and `output` units (tokens, characters, seconds, images) of `kind`.
    #[pyo3(signature = (kind, model, input, output=0, cached=0))]
    fn usage(&self, kind: &str, model: &str, input: u64, output: u64, cached: u64) {
        self.add_usage(kind, model, input, output, cached);
    }

    /// Record a request answered outside the generating calls: its usage, and its inference when
    /// `live` (metrics on). `schedule` is a list of stream step offsets, a whole answer's
    /// `(first_token_at, done_at)`, or None when nothing is generated. Returns the model label.
    #[pyo3(signature = (kind, model, prompt_tokens, completion_tokens=0, schedule=None, live=true))]
    fn record(
        &self,
        kind: &str,
        model: &str,
        prompt_tokens: u64,
        completion_tokens: u64,
        schedule: Option<&Bound<'_, PyAny>>,
        live: bool,
    ) -> PyResult<Option<String>> {
        let inference = match schedule {
            Some(s) => inference_of(prompt_tokens, completion_tokens, s)?,
            None => Inference { prompt_tokens, completion_tokens, ttft: None, itl: None },
        };
        Ok(self.answered(kind, model, live, inference))
    }

    /// Usage entries dropped because the usage table was full (this process).
    #[getter]
    fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
