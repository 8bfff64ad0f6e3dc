//! The engine model ([`crate::simulation::engine`]) for Python: `simulate_*` run a whole load level
//! with the GIL released, `EngineModel` is one deployment's engine stepped by the caller (the live
//! server's use), `deployment_info` describes a checked deployment.
//!
//! A deployment is given as a dict of `Spec` fields (`model`, `gpu`, `precision`, `tp`, `replicas`,
//! `kv_cache_dtype`, `max_num_seqs`, `max_num_batched_tokens`, `chunked_prefill`, `block_size`,
//! `gpu_memory_utilization`, `kv_policy`, and `coefficients`: a dict overriding fitted ones); a bad
//! value raises `InvalidInput(message, param, "invalid_deployment")`.

use super::InvalidInput;
use crate::simulation::engine::time_windows;
use crate::simulation::engine::workload::{self, Level, Summary, TraceEntry};
use crate::simulation::engine::{Coefficients, Deployment, Engine, KvPolicy, Spec};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::{Mutex, MutexGuard, PoisonError};

fn invalid(message: String, param: &str) -> PyErr {
    InvalidInput::new_err((message, param.to_owned(), "invalid_deployment"))
}

fn spec_from(d: &Bound<'_, PyDict>) -> PyResult<Spec> {
    let mut s = Spec::default();
    for (k, v) in d.iter() {
        let key: String = k.extract()?;
        if v.is_none() {
            continue;
        }
        match key.as_str() {
            "model" => s.model = v.extract()?,
            "gpu" => s.gpu = Some(v.extract()?),
            "precision" => s.precision = Some(v.extract()?),
            "kv_cache_dtype" => s.kv_cache_dtype = Some(v.extract()?),
            "tp" => s.tp = Some(v.extract()?),
            "replicas" => s.replicas = v.extract()?,
            "max_num_seqs" => s.max_num_seqs = v.extract()?,
            "max_num_batched_tokens" => s.max_num_batched_tokens = v.extract()?,
            "chunked_prefill" => s.chunked_prefill = v.extract()?,
            "block_size" => s.block_size = v.extract()?,
            "gpu_memory_utilization" => s.gpu_memory_utilization = v.extract()?,
            "kv_policy" => {
                let name: String = v.extract()?;
                s.kv_policy = KvPolicy::parse(&name).ok_or_else(|| {
                    invalid(
                        format!("unknown KV policy '{name}' (choose from on-demand, reserve)"),
                        "kv_policy",
                    )
                })?;
            }
            "coefficients" => {
                for (ck, cv) in v.cast::<PyDict>()?.iter() {
                    let name: String = ck.extract()?;
                    if !s.coefficients.set(&name, cv.extract()?) {
                        return Err(invalid(format!("unknown coefficient '{name}'"), "coefficients"));
                    }
                }
            }
            _ => return Err(invalid(format!("unknown deployment key '{key}'"), "deployment")),
        }
    }
    Ok(s)
}

pub(super) fn deployment(d: &Bound<'_, PyDict>) -> PyResult<Deployment> {
    Deployment::new(&spec_from(d)?).map_err(|e| invalid(e.message, e.param))
}

fn summary<'py>(py: Python<'py>, s: &Summary) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("mean", s.mean * 1e3)?;
    d.set_item("p50", s.p50 * 1e3)?;
    d.set_item("p99", s.p99 * 1e3)?;
    Ok(d)
}

fn level<'py>(py: Python<'py>, l: &Level) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("ttft_ms", summary(py, &l.ttft)?)?;
    d.set_item("itl_ms", summary(py, &l.itl)?)?;
    d.set_item("e2e_ms", summary(py, &l.e2e)?)?;
    d.set_item("output_tokens_per_s", l.output_tokens_per_s)?;
    d.set_item("requests_per_s", l.requests_per_s)?;
    d.set_item("preemptions", l.preemptions)?;
    d.set_item("requests", l.requests)?;
    d.set_item("warmup_requests", l.warmup)?;
    d.set_item("simulated_s", l.duration)?;
    Ok(d)
}

/// Run `work` without the GIL, calling `progress(fraction)` (if given) now and then; a Python error
/// raised by `progress` (KeyboardInterrupt) stops the run and is re-raised.
fn run<'py>(
    py: Python<'py>,
    progress: Option<Py<PyAny>>,
    work: impl FnOnce(workload::Progress<'_>) -> Result<Level, String> + Send,
) -> PyResult<Bound<'py, PyDict>> {
    let mut failure: Option<PyErr> = None;
    let result = py.detach(|| {
        let mut report = |fraction: f64| match &progress {
            None => true,
            Some(cb) => Python::attach(|py| match cb.call1(py, (fraction,)) {
                Ok(_) => true,
                Err(e) => {
                    failure = Some(e);
                    false
                }
            }),
        };
        work(&mut report)
    });
    if let Some(e) = failure {
        return Err(e);
    }
    level(py, &result.map_err(|m| invalid(m, "workload"))?)
}

/// One closed-loop level: `concurrency` clients, `requests` requests of `isl` in / `osl` out tokens,
/// measured in its steady state; or, with `measurement_interval` (seconds), in time windows from the
/// start as GenAI-Perf measures, agreeing within `stability` (a fraction; GenAI-Perf's 9.99 by
/// default; `requests` then bounds the requests sent).
#[pyfunction]
#[pyo3(signature = (deployment_spec, isl, osl, concurrency, requests, progress=None, measurement_interval=None, stability=time_windows::GENAI_PERF_STABILITY))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn simulate_closed_loop<'py>(
    py: Python<'py>,
    deployment_spec: &Bound<'py, PyDict>,
    isl: u32,
    osl: u32,
    concurrency: u32,
    requests: u32,
    progress: Option<Py<PyAny>>,
    measurement_interval: Option<f64>,
    stability: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let dep = deployment(deployment_spec)?;
    match measurement_interval {
        None => run(py, progress, |p| workload::closed_loop(&dep, isl, osl, concurrency, requests, p)),
        Some(interval) => run(py, progress, |p| {
            let windows = time_windows::Windows { interval, stability };
            time_windows::closed_loop_windows(&dep, isl, osl, concurrency, windows, requests, p)
        }),
    }
}

/// One Poisson level: `requests` arrivals at `rate` per second (seeded).
#[pyfunction]
#[pyo3(signature = (deployment_spec, isl, osl, rate, requests, seed=0, progress=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn simulate_poisson<'py>(
    py: Python<'py>,
    deployment_spec: &Bound<'py, PyDict>,
    isl: u32,
    osl: u32,
    rate: f64,
    requests: u32,
    seed: u64,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    if !(rate > 0.0 && rate.is_finite()) {
        return Err(invalid(format!("rate must be > 0, got {rate}"), "rate"));
    }
    let dep = deployment(deployment_spec)?;
    run(py, progress, |p| workload::poisson(&dep, isl, osl, rate, requests, seed, p))
}

/// Replay a trace of `(arrival_s, input_tokens, output_tokens, hash_ids)`, sorted by arrival.
#[pyfunction]
#[pyo3(signature = (deployment_spec, entries, progress=None))]
pub(crate) fn simulate_trace<'py>(
    py: Python<'py>,
    deployment_spec: &Bound<'py, PyDict>,
    entries: Vec<(f64, u32, u32, Vec<u64>)>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let dep = deployment(deployment_spec)?;
    let entries: Vec<TraceEntry> = entries
        .into_iter()
        .map(|(at, input, output, hash_ids)| TraceEntry { at, input, output, hash_ids })
        .collect();
    run(py, progress, |p| workload::trace(&dep, &entries, p))
}

/// When requests that reach the server at `sends` (seconds, in the order the server takes them)
/// reach the engine: each holds the front-end lane free first (one per replica) for the service
/// time the live server and `fakeai simulate`'s closed loop draw for the k-th request
/// ([`workload::frontend_service`]), so a replay of recorded arrivals can go through the same front end.
#[pyfunction]
pub(crate) fn frontend_arrivals(deployment_spec: &Bound<'_, PyDict>, sends: Vec<f64>) -> PyResult<Vec<f64>> {
    let dep = deployment(deployment_spec)?;
    let mean = dep.coefficients.frontend.max(0.0);
    let mut lanes = vec![0.0f64; dep.replicas.max(1) as usize];
    Ok(sends
        .iter()
        .zip(0u64..)
        .map(|(&now, k)| workload::frontend_arrival(&mut lanes, now, workload::frontend_service(mean, k)))
        .collect())
}

/// The checked deployment: resolved names, memory and KV capacity.
#[pyfunction]
pub(crate) fn deployment_info<'py>(
    py: Python<'py>,
    deployment_spec: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = deployment(deployment_spec)?;
    let out = PyDict::new(py);
    out.set_item("architecture", d.arch.name)?;
    out.set_item("gpu", d.gpu.name)?;
    out.set_item("precision", d.precision.name())?;
    out.set_item("kv_cache_dtype", d.kv_precision.name())?;
    out.set_item("tp", d.tp)?;
    out.set_item("replicas", d.replicas)?;
    out.set_item("max_num_seqs", d.max_num_seqs)?;
    out.set_item("max_num_batched_tokens", d.max_num_batched_tokens)?;
    out.set_item("block_size", d.block_size)?;
    out.set_item("kv_policy", if d.kv_policy == KvPolicy::Reserve { "reserve" } else { "on-demand" })?;
    out.set_item("weights_gb_per_gpu", d.weight_bytes_per_gpu() / 1e9)?;
    out.set_item("kv_gb_per_gpu", d.kv_memory_per_gpu() / 1e9)?;
    out.set_item("kv_blocks", d.kv_blocks)?;
    out.set_item("kv_tokens", d.kv_tokens())?;
    let c = PyDict::new(py);
    for name in Coefficients::NAMES {
        c.set_item(name, d.coefficients.get(name))?;
    }
    out.set_item("coefficients", c)?;
    Ok(out)
}

/// Architecture names and GPU names the engine model knows.
#[pyfunction]
pub(crate) fn engine_catalog() -> (Vec<&'static str>, Vec<&'static str>) {
    use crate::simulation::engine::hardware::Gpu;
    use crate::simulation::engine::models::Architecture;
    (Architecture::names(), Gpu::names())
}

/// One deployment's engine, stepped by the caller on its own clock (seconds).
#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct EngineModel {
    inner: Mutex<Engine>,
}

impl EngineModel {
    fn lock(&self) -> MutexGuard<'_, Engine> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[pymethods]
impl EngineModel {
    #[new]
    fn new(deployment_spec: &Bound<'_, PyDict>) -> PyResult<Self> {
        Ok(EngineModel { inner: Mutex::new(Engine::new(&deployment(deployment_spec)?, true)) })
    }

    /// Process every step event before `t`.
    fn run_until(&self, py: Python<'_>, t: f64) {
        py.detach(|| self.lock().run_until(t));
    }

    /// Add a request arriving at `now`; returns its id.
    #[pyo3(signature = (now, prompt_tokens, max_output_tokens, cached_tokens=0))]
    fn submit(
        &self,
        now: f64,
        prompt_tokens: u32,
        max_output_tokens: u32,
        cached_tokens: u32,
    ) -> PyResult<u32> {
        self.lock()
            .submit(now, prompt_tokens, cached_tokens, max_output_tokens)
            .map_err(|m| invalid(m, "request"))
    }

    /// Request `id`'s token times (seconds on the engine's clock) if nothing else arrives.
    fn forecast(&self, py: Python<'_>, id: u32) -> PyResult<Vec<f64>> {
        let engine = self.lock();
        if id as usize >= engine.requests.len() {
            return Err(invalid(format!("no request {id}"), "id"));
        }
        Ok(py.detach(|| engine.forecast(id)))
    }

    /// The times of the tokens request `id` has emitted so far.
    fn token_times(&self, id: u32) -> PyResult<Vec<f64>> {
        let engine = self.lock();
        if id as usize >= engine.requests.len() {
            return Err(invalid(format!("no request {id}"), "id"));
        }
        Ok(engine.token_times(id))
    }

    /// Clock, queue and batch sizes, KV use, counters.
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let e = self.lock();
        let d = PyDict::new(py);
        d.set_item("now", e.now)?;
        d.set_item("running", e.replicas.iter().map(|r| r.running.len()).sum::<usize>())?;
        d.set_item("waiting", e.replicas.iter().map(|r| r.waiting.len()).sum::<usize>())?;
        let total = f64::from(e.dep.kv_blocks) * e.replicas.len() as f64;
        let free: f64 = e.replicas.iter().map(|r| f64::from(r.free_blocks)).sum();
        d.set_item("kv_usage", 1.0 - free / total)?;
        d.set_item("preemptions", e.preemptions)?;
        d.set_item("output_tokens", e.tokens_out)?;
        d.set_item("requests", e.requests.len())?;
        d.set_item("steps", e.replicas.iter().map(|r| r.steps).sum::<u64>())?;
        Ok(d)
    }
}
