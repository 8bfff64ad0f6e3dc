//! `HotApp`: the ASGI callable granian calls. It serves the hot routes (`POST /v1/chat/completions`,
//! `/v1/completions`, `/v1/embeddings`, Anthropic's `/v1/messages`) from Rust when nothing about the
//! request needs Python, and hands every other request to the Python app (`fakeai.http.hot_routes.HotRoutes`) unchanged.
//!
//! A request takes the Rust path ([`super::hot_call::HotCall`]) when:
//!
//! 1. it is an HTTP `POST` to one of the hot paths, with a `content-length` of at most
//!    `--max-body-bytes`, not `multipart/form-data`, and no header the Python chain acts on
//!    (`x-fakeai-*`, `x-return-error`); `/v1/messages` also needs its `anthropic-version` header;
//! 2. the server is *quiet*: the Python `rearm` callable said so the last time the control table's
//!    change counter or the LoRA registry's version moved (both shared words, read per request, so a
//!    fault, a rate limit, a key, a sleep or an adapter switched on through any worker is seen by the
//!    very next request of every worker).
//!
//! Per model, a route caches what Python prepares once (`prepare(model)`: the core call's arguments,
//! or an embedding model's native dimensions); the caches are emptied whenever `rearm` runs, i.e.
//! whenever the live configuration may have changed. Whatever the Rust path cannot answer exactly as
//! the Python chain would (a body that does not decode, a field with its own rule, an error from the
//! core) goes back to the Python chain with the body replayed.

use super::chat::render as render_chat;
use super::chat_call::ChatCall;
use super::completions::render as render_completion;
use super::embeddings;
use super::hot_call::{awaiting, HotCall};
use super::messages_call::MessagesCall;
use super::meter::Meter;
use super::reply::Answer;
use super::request_ids::RequestIds;
use super::shared::{slot_error, SharedTable};
use crate::shm::metrics::{Inference, Pins};
use crate::text::json_scan;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The most models a route caches; past it a model is prepared per request.
const MAX_CACHED: usize = 4096;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Chat,
    Completion,
    Embeddings,
    Messages,
}

struct Route {
    /// The path, also the metrics' route label (each hot route's template is its path).
    path: String,
    kind: Kind,
    /// The route's `msgspec.json.Decoder(...).decode`.
    decode: Py<PyAny>,
    /// `prepare(model)`: a [`ChatCall`] (chat, completions: the core call's arguments after the
    /// request), a [`MessagesCall`] (messages), or the model's native dimensions (embeddings).
    prepare: Py<PyAny>,
    cache: Mutex<HashMap<String, Arc<Prepared>>>,
}

/// What a route keeps per model: what `prepare(model)` made (for chat a [`ChatCall`]),
/// and the metrics slots its requests finish into.
pub(crate) struct Prepared {
    made: Py<PyAny>,
    /// The model label the first finished request counted under (requests of one model keep it).
    label: OnceLock<Option<String>>,
    pins: Pins,
}

impl Prepared {
    /// The slots a request that ends with `status` under `label` records into, if they are this
    /// model's kept ones (a 200 under the model's label).
    pub(crate) fn pins(&self, status: u16, label: Option<&str>) -> Option<&Pins> {
        let kept = self.label.get_or_init(|| label.map(str::to_owned));
        (status == 200 && kept.as_deref() == label).then_some(&self.pins)
    }

    pub(crate) fn begin_pins(&self) -> &Pins {
        &self.pins
    }
}

/// A route as Python gives it: `(path, kind, decode, prepare)`.
type RouteSpec = (String, String, Py<PyAny>, Py<PyAny>);

/// What a request rendered on the Rust path gives.
pub(crate) enum Rendered<'py> {
    /// A body due now: sent at once.
    Now { body: Bound<'py, PyBytes>, label: Option<String>, prepared: Arc<Prepared> },
    /// An answer with a schedule (timing, a stream): sent by the Python pacer (`cluster.respond`).
    Paced { answer: Bound<'py, PyAny>, now: f64, label: Option<String>, prepared: Arc<Prepared> },
}

impl<'py> Rendered<'py> {
    /// A rendered answer: sent now when it is a body due now, else paced.
    fn of(answer: Bound<'py, Answer>, now: f64, prepared: Arc<Prepared>) -> Self {
        let a = answer.get();
        let label = a.label().map(str::to_owned);
        if a.due_now(answer.py()) {
            if let Ok(body) = a.payload(answer.py()).cast_into::<PyBytes>() {
                return Self::Now { body, label, prepared };
            }
        }
        Self::Paced { answer: answer.into_any(), now, label, prepared }
    }
}

/// A request the Rust path takes: its route, the `x-request-id` it brought, its body's length.
struct Taken<'py> {
    route: usize,
    request_id: Option<Bound<'py, PyAny>>,
    length: u64,
}

/// The header scan of a hot request: what the Python chain would act on sends it there.
#[derive(Default, Debug)]
struct Scan {
    length: Option<u64>,
    /// Whether the header just taken is `x-request-id`.
    request_id: bool,
    /// Whether an `anthropic-version` header came (Anthropic's route answers a 400 without one).
    anthropic_version: bool,
}

impl Scan {
    /// Take one header; false when the request must go to the Python chain: an `x-fakeai-*` or
    /// `x-return-error` header, a multipart body, a `content-length` the gateway reads otherwise.
    fn take(&mut self, name: &[u8], value: &[u8], prefix: &[u8], return_error: &[u8]) -> bool {
        self.request_id = name == b"x-request-id";
        self.anthropic_version |= name == b"anthropic-version";
        match name {
            b"content-length" => {
                if value.is_empty() || value.len() >= 19 || !value.iter().all(u8::is_ascii_digit) {
                    return false;
                }
                self.length = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok());
                self.length.is_some()
            }
            b"content-type" => {
                !(value.len() >= 19 && value[..19].eq_ignore_ascii_case(b"multipart/form-data"))
            }
            _ => !(name.starts_with(prefix) || name == return_error),
        }
    }

    /// Whether the scanned request may take the Rust path: a body of known length within `limit`
    /// (a chunked body, or one over the limit, follows the gateway's rules).
    fn admits(&self, limit: u64) -> bool {
        self.length.is_some_and(|n| n <= limit)
    }
}

#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct HotApp {
    fallback: Py<PyAny>,
    rearm: Py<PyAny>,
    /// The control table's change counter, and the LoRA registry's version.
    changes: Word,
    lora_version: Word,
    /// The control counter and LoRA version `rearm` last answered for (-1: ask again).
    armed: AtomicI64,
    armed_loras: AtomicI64,
    quiet: AtomicBool,
    routes: Vec<Route>,
    limit: u64,
    max_depth: usize,
    max_weight: u64,
    override_prefix: Vec<u8>,
    return_error: Vec<u8>,
    pub(crate) metrics: Option<(Py<SharedTable>, f64)>,
    meter: Py<Meter>,
    pub(crate) respond: Py<PyAny>,
    monotonic: Py<PyAny>,
    pub(crate) ids: RequestIds,
    /// Counts the requests served here, server-wide (a control-table word).
    served: Word,
    /// Response header names and values every answer uses.
    names: [Py<PyBytes>; 4],
    /// `request-id`, Anthropic's name for the request's id (sent on its route besides `x-request-id`).
    anthropic_request_id: Py<PyBytes>,
    /// `(b"content-type", b"application/json")`, and the headers every response ends with before
    /// `x-request-id` (the pod headers), as the tuples the start message lists.
    json_type: Py<PyTuple>,
    trailing: Vec<Py<PyTuple>>,
    /// The worker's body clock (`fakeai.http.body_timeout.BodyClock`), its `waiting` map, and the scope
    /// key that tells the Python chain a body was given up on.
    body_clock: Py<PyAny>,
    waiting: Py<PyDict>,
    pub(crate) timed_out_key: Py<PyString>,
}

/// Word 0 of one key of a shared table, found once (a hash probe per request saved).
struct Word {
    /// Keeps the table's mapping, which `word` points into, alive (a table is never remapped).
    _table: Py<SharedTable>,
    word: std::ptr::NonNull<AtomicU64>,
}

// SAFETY: `word` points into a shared mapping that `_table` keeps alive and only atomics touch; an
// `AtomicU64` may be used from any thread.
unsafe impl Send for Word {}
// SAFETY: as above.
unsafe impl Sync for Word {}

impl Word {
    fn new(table: Py<SharedTable>, key: &str) -> PyResult<Self> {
        let word = std::ptr::NonNull::from(&table.get().table().slot(key).map_err(slot_error)?[0]);
        Ok(Self { _table: table, word })
    }

    fn get(&self) -> &AtomicU64 {
        // SAFETY: see the type: the mapping outlives `self`.
        unsafe { self.word.as_ref() }
    }
}

impl HotApp {
    pub(crate) fn fallback(&self) -> &Py<PyAny> {
        &self.fallback
    }

    /// Count one request served on the Rust path.
    pub(crate) fn count_served(&self) {
        self.served.get().fetch_add(1, Ordering::Relaxed);
    }

    /// `time.monotonic()` (the pacer's and the engine's clock).
    pub(crate) fn monotonic(&self, py: Python<'_>) -> PyResult<f64> {
        self.monotonic.bind(py).call0()?.extract()
    }

    /// `content-type`, `application/json`, `content-length`, `x-request-id`.
    pub(crate) fn names<'a, 'py>(&'a self, py: Python<'py>) -> [&'a Bound<'py, PyBytes>; 4] {
        self.names.each_ref().map(|n| n.bind(py))
    }

    /// How many trailing headers a response ends with (before `x-request-id`).
    pub(crate) fn trailing_count(&self) -> usize {
        self.trailing.len()
    }

    pub(crate) fn path(&self, route: usize) -> &str {
        &self.routes[route].path
    }

    /// Time `reading`, an awaited piece of a request body, on the body clock from `since`
    /// (`time.monotonic()`): it is cancelled once it has waited `--body-read-timeout` (the clock is
    /// started when nothing else waits, see `BodyClock`).
    pub(crate) fn watch(&self, py: Python<'_>, reading: &Bound<'_, PyAny>, since: f64) -> PyResult<()> {
        let waiting = self.waiting.bind(py);
        if waiting.is_empty() {
            self.body_clock.bind(py).call_method0(intern!(py, "start"))?;
        }
        waiting.set_item(reading, since)
    }

    /// `reading` came (or failed): no longer timed.
    pub(crate) fn unwatch(&self, py: Python<'_>, reading: &Bound<'_, PyAny>) {
        let _ = self.waiting.bind(py).del_item(reading); // the clock may have taken it already
    }

    /// Whether the server is quiet now (see the module docs), asking `rearm` when the shared words moved.
    fn quiet(&self, py: Python<'_>) -> PyResult<bool> {
        let changes = self.changes.get().load(Ordering::Acquire) as i64;
        let loras = self.lora_version.get().load(Ordering::Acquire) as i64;
        if changes == self.armed.load(Ordering::Relaxed) && loras == self.armed_loras.load(Ordering::Relaxed)
        {
            return Ok(self.quiet.load(Ordering::Relaxed));
        }
        let (seen, lora_version, quiet): (i64, i64, bool) = self.rearm.bind(py).call0()?.extract()?;
        for route in &self.routes {
            route.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
        }
        self.quiet.store(quiet, Ordering::Relaxed);
        self.armed_loras.store(lora_version, Ordering::Relaxed);
        self.armed.store(seen, Ordering::Relaxed);
        Ok(quiet)
    }

    /// The hot route a request takes, or None for the Python app.
    fn take<'py>(&self, py: Python<'py>, scope: &Bound<'py, PyAny>) -> PyResult<Option<Taken<'py>>> {
        let Ok(scope) = scope.cast::<PyDict>() else { return Ok(None) };
        let is = |key: &Bound<'py, PyString>, want: &str| -> PyResult<Option<Bound<'py, PyAny>>> {
            Ok(scope
                .get_item(key)?
                .filter(|v| v.cast::<PyString>().is_ok_and(|s| s.to_str().is_ok_and(|s| s == want))))
        };
        if is(intern!(py, "type"), "http")?.is_none() || is(intern!(py, "method"), "POST")?.is_none() {
            return Ok(None);
        }
        let Some(path) = scope.get_item(intern!(py, "path"))? else { return Ok(None) };
        let Ok(path) = path.cast::<PyString>() else { return Ok(None) };
        let path = path.to_str()?;
        let Some(route) = self.routes.iter().position(|r| r.path == path) else { return Ok(None) };
        if !self.quiet(py)? {
            return Ok(None);
        }
        let Some(headers) = scope.get_item(intern!(py, "headers"))? else { return Ok(None) };
        let mut scan = Scan::default();
        let mut request_id = None;
        for item in headers.try_iter()? {
            let item = item?;
            let Ok(pair) = item.cast::<PyTuple>() else { return Ok(None) };
            if pair.len() != 2 {
                return Ok(None);
            }
            let (name, value) = (pair.get_item(0)?, pair.get_item(1)?);
            let (Ok(name), Ok(value_bytes)) = (name.cast::<PyBytes>(), value.cast::<PyBytes>()) else {
                return Ok(None);
            };
            if !scan.take(name.as_bytes(), value_bytes.as_bytes(), &self.override_prefix, &self.return_error)
            {
                return Ok(None);
            }
            if scan.request_id {
                request_id = Some(value); // the last one, as the gateway's scan keeps
            }
        }
        if self.routes[route].kind == Kind::Messages && !scan.anthropic_version {
            return Ok(None);
        }
        let length = scan.length.unwrap_or(0);
        Ok(scan.admits(self.limit).then_some(Taken { route, request_id, length }))
    }

    fn entry<'py>(
        &self,
        py: Python<'py>,
        route: &Route,
        model: &Bound<'py, PyString>,
    ) -> PyResult<Arc<Prepared>> {
        let key = model.to_str()?;
        if let Some(found) = route.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(key) {
            return Ok(Arc::clone(found));
        }
        // a ChatCall (chat, completions), `(args, kwargs)` of the route's core call, or the native
        // dimensions (embeddings)
        let made = route.prepare.bind(py).call1((model,))?;
        let prepared =
            Arc::new(Prepared { made: made.unbind(), label: OnceLock::new(), pins: Pins::default() });
        let mut cache = route.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() < MAX_CACHED {
            cache.insert(key.to_owned(), Arc::clone(&prepared));
        }
        Ok(prepared)
    }

    /// Decode and render one request's body; None (or an error) hands it to the Python chain.
    pub(crate) fn render<'py>(
        &self,
        py: Python<'py>,
        route: usize,
        body: &Bound<'py, PyBytes>,
        now: f64,
    ) -> PyResult<Option<Rendered<'py>>> {
        let r = &self.routes[route];
        // too deep or too heavy to decode: the Python chain answers its 400
        if json_scan::scan(body.as_bytes(), self.max_depth, self.max_weight) != json_scan::Shape::Fits {
            return Ok(None);
        }
        let req = r.decode.bind(py).call1((body,))?;
        let model = req.getattr(intern!(py, "model"))?.cast_into::<PyString>()?;
        let attr = |name: &Bound<'py, PyString>| req.getattr(name);
        match r.kind {
            Kind::Chat => {
                // a rule of render.chat's own, chat audio, and a completion to store
                // (fakeai.api.chat_store): the Python chain's
                if !attr(intern!(py, "top_logprobs"))?.is_none()
                    || !attr(intern!(py, "modalities"))?.is_none()
                    || attr(intern!(py, "store"))?.is_truthy()?
                {
                    return Ok(None);
                }
            }
            Kind::Completion => {
                if attr(intern!(py, "max_tokens"))?.extract::<Option<i64>>()? == Some(0) {
                    return Ok(None); // render.completion's rule
                }
            }
            Kind::Embeddings => return self.embed(py, r, &req, &model),
            Kind::Messages => return self.messages(py, r, &req, &model, now),
        }
        let prepared = self.entry(py, r, &model)?;
        let call = prepared.made.bind(py).cast::<ChatCall>()?.clone();
        let answer = match r.kind {
            Kind::Completion => render_completion(&req, call.get(), now)?,
            _ => render_chat(&req, call.get(), now)?,
        };
        Ok(Some(Rendered::of(answer, now, prepared)))
    }

    /// Anthropic's `/v1/messages`: a request without tools, rendered by the model's [`MessagesCall`].
    fn messages<'py>(
        &self,
        py: Python<'py>,
        r: &Route,
        req: &Bound<'py, PyAny>,
        model: &Bound<'py, PyString>,
        now: f64,
    ) -> PyResult<Option<Rendered<'py>>> {
        let prepared = self.entry(py, r, model)?;
        let call = prepared.made.bind(py).cast::<MessagesCall>()?.clone();
        Ok(call.get().plain(req, now)?.map(|answer| Rendered::of(answer, now, prepared)))
    }

    fn embed<'py>(
        &self,
        py: Python<'py>,
        r: &Route,
        req: &Bound<'py, PyAny>,
        model: &Bound<'py, PyString>,
    ) -> PyResult<Option<Rendered<'py>>> {
        let prepared = self.entry(py, r, model)?;
        let native: usize = prepared.made.extract(py)?;
        let dims = match req.getattr(intern!(py, "dimensions"))?.extract::<Option<usize>>()? {
            None => native,
            Some(d) if d <= native => d,
            Some(_) => return Ok(None), // render.embeddings' 400
        };
        let format = req.getattr(intern!(py, "encoding_format"))?;
        let base64 = format.cast::<PyString>().is_ok_and(|s| s.to_str().is_ok_and(|s| s == "base64"));
        let input = req.getattr(intern!(py, "input"))?;
        if input.is_none() || !req.getattr(intern!(py, "messages"))?.is_none() {
            return Ok(None); // vLLM's chat form (`messages`), neither or both: render.embeddings answers
        }
        let model = model.to_str()?;
        let (body, tokens) = embeddings::body(py, model, &input, dims, base64)?;
        let inference =
            Inference { prompt_tokens: tokens.into(), completion_tokens: 0, ttft: None, itl: None };
        let label = self.meter.get().answered("embeddings", model, true, inference);
        Ok(Some(Rendered::Now { body, label, prepared }))
    }
}

#[pymethods]
impl HotApp {
    /// `routes`: `(path, kind, decode, prepare)` per hot route, `kind` one of `chat`,
    /// `completion`, `embeddings`, `messages` (whose `prepare` makes a `MessagesCall`). `rearm()`
    /// returns `(control_counter_seen, lora_version, quiet)`.
    #[new]
    #[pyo3(signature = (*, fallback, rearm, control, control_key, served_key, loras, lora_key, routes, limit, max_depth,
        max_weight, override_prefix, return_error, metrics, meter, respond, monotonic, headers, body_clock, timed_out_key))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        fallback: Py<PyAny>,
        rearm: Py<PyAny>,
        control: Py<SharedTable>,
        control_key: String,
        served_key: String,
        loras: Py<SharedTable>,
        lora_key: String,
        routes: Vec<RouteSpec>,
        limit: u64,
        max_depth: usize,
        max_weight: u64,
        override_prefix: Vec<u8>,
        return_error: Vec<u8>,
        metrics: Option<(Py<SharedTable>, f64)>,
        meter: Py<Meter>,
        respond: Py<PyAny>,
        monotonic: Py<PyAny>,
        headers: Vec<(Py<PyBytes>, Py<PyBytes>)>,
        body_clock: Py<PyAny>,
        timed_out_key: Py<PyString>,
    ) -> PyResult<Self> {
        let waiting = body_clock.bind(py).getattr(intern!(py, "waiting"))?.cast_into::<PyDict>()?.unbind();
        let routes = routes
            .into_iter()
            .map(|(path, kind, decode, prepare)| {
                let kind = match kind.as_str() {
                    "chat" => Kind::Chat,
                    "completion" => Kind::Completion,
                    "embeddings" => Kind::Embeddings,
                    "messages" => Kind::Messages,
                    other => {
                        return Err(super::InvalidInput::new_err(format!("unknown hot route kind {other:?}")))
                    }
                };
                Ok(Route { path, kind, decode, prepare, cache: Mutex::new(HashMap::new()) })
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Self {
            fallback,
            rearm,
            armed: AtomicI64::new(-1),
            armed_loras: AtomicI64::new(-1),
            quiet: AtomicBool::new(false),
            routes,
            limit,
            max_depth,
            max_weight,
            override_prefix,
            return_error,
            metrics,
            meter,
            respond,
            monotonic,
            ids: RequestIds::fresh(),
            body_clock,
            waiting,
            timed_out_key,
            served: Word::new(control.clone_ref(py), &served_key)?,
            changes: Word::new(control, &control_key)?,
            lora_version: Word::new(loras, &lora_key)?,
            json_type: PyTuple::new(
                py,
                [&b"content-type"[..], b"application/json"].map(|n| PyBytes::new(py, n)),
            )?
            .unbind(),
            trailing: headers
                .iter()
                .map(|(n, v)| Ok(PyTuple::new(py, [n.bind(py), v.bind(py)])?.unbind()))
                .collect::<PyResult<_>>()?,
            names: [&b"content-type"[..], b"application/json", b"content-length", b"x-request-id"]
                .map(|n| PyBytes::new(py, n).unbind()),
            anthropic_request_id: PyBytes::new(py, b"request-id").unbind(),
        })
    }

    fn __call__<'py>(
        slf: &Bound<'py, Self>,
        scope: &Bound<'py, PyAny>,
        receive: &Bound<'py, PyAny>,
        send: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.get();
        if let Some(Taken { route, request_id, length }) = this.take(py, scope)? {
            let started = this.monotonic(py)?;
            let reading = awaiting(&receive.call0()?)?;
            this.watch(py, &reading, started)?;
            let call = HotCall::new(slf, route, scope, receive, send, request_id, reading, started, length);
            return Ok(Bound::new(py, call)?.into_any());
        }
        this.fallback.bind(py).call1((scope, receive, send))
    }

    /// The Python app's attributes (`state`, `routes`, `app`), for whoever holds the ASGI app.
    fn __getattr__<'py>(&self, py: Python<'py>, name: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyAny>> {
        self.fallback.bind(py).getattr(name)
    }
}

/// The headers a response of hot route `route` ends with (the app's trailing ones, then
/// `x-request-id`, and on Anthropic's route its `request-id` with the same id, as the gateway sends
/// them), appended to `out`.
pub(crate) fn trailing_headers<'py>(
    py: Python<'py>,
    app: &HotApp,
    route: usize,
    request_id: Option<&Bound<'py, PyAny>>,
    out: &mut Vec<Bound<'py, PyTuple>>,
) -> PyResult<()> {
    out.extend(app.trailing.iter().map(|t| t.bind(py).clone()));
    let id = match request_id {
        Some(id) => id.clone(),
        None => app.ids.next_bytes(py).into_any(),
    };
    if app.routes[route].kind == Kind::Messages {
        out.push(PyTuple::new(py, [app.names(py)[3].as_any().clone(), id.clone()])?);
        out.push(PyTuple::new(py, [app.anthropic_request_id.bind(py).as_any().clone(), id])?);
    } else {
        out.push(PyTuple::new(py, [app.names(py)[3].as_any().clone(), id])?);
    }
    Ok(())
}

/// `(b"content-type", b"application/json")`, made once.
pub(crate) fn json_type<'py>(py: Python<'py>, app: &HotApp) -> Bound<'py, PyTuple> {
    app.json_type.bind(py).clone()
}

#[cfg(test)]
mod tests {
    use super::Scan;

    fn scan(headers: &[(&[u8], &[u8])], limit: u64) -> bool {
        let mut scan = Scan::default();
        headers.iter().all(|(n, v)| scan.take(n, v, b"x-fakeai-", b"x-return-error")) && scan.admits(limit)
    }

    #[test]
    fn a_plain_json_post_within_the_limit_is_taken() {
        let plain: &[(&[u8], &[u8])] = &[
            (b"host", b"x"),
            (b"content-type", b"application/json"),
            (b"content-length", b"120"),
            (b"authorization", b"Bearer k"),
        ];
        assert!(scan(plain, 120));
        assert!(!scan(plain, 119));
    }

    #[test]
    fn what_the_python_chain_acts_on_is_not_taken() {
        let len: (&[u8], &[u8]) = (b"content-length", b"10");
        assert!(!scan(&[len, (b"x-fakeai-ttft-ms", b"0")], 100));
        assert!(!scan(&[len, (b"x-return-error", b"500")], 100));
        assert!(!scan(&[len, (b"content-type", b"Multipart/Form-Data; boundary=x")], 100));
        assert!(!scan(&[(b"transfer-encoding", b"chunked")], 100)); // no length
        assert!(!scan(&[(b"content-length", b"1x")], 100));
        assert!(!scan(&[(b"content-length", b"")], 100));
        assert!(!scan(&[(b"content-length", b"1234567890123456789")], u64::MAX));
        assert!(scan(&[len, (b"x-fakeai", b"not the prefix")], 100));
    }

    #[test]
    fn the_anthropic_version_header_is_noted() {
        let mut s = Scan::default();
        assert!(s.take(b"anthropic-version", b"2023-06-01", b"x-fakeai-", b"x-return-error"));
        assert!(s.take(b"accept", b"*/*", b"x-fakeai-", b"x-return-error") && s.anthropic_version);
        assert!(!Scan::default().anthropic_version);
    }

    #[test]
    fn the_request_id_header_is_flagged() {
        let mut s = Scan::default();
        assert!(s.take(b"x-request-id", b"abc", b"x-fakeai-", b"x-return-error") && s.request_id);
        assert!(s.take(b"accept", b"*/*", b"x-fakeai-", b"x-return-error") && !s.request_id);
    }
}
