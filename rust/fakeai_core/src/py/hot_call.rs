//! `HotCall`: one request on the Rust hot path ([`super::hot_app`]), as the awaitable granian awaits.
//!
//! It is a state machine that drives granian's `receive()` and `send()` awaitables (and, when it hands
//! over, a Python coroutine) with `yield from` semantics: it calls each one's `__await__`, forwards what
//! it yields to the event loop and what the loop sends or throws back into it, and takes its result
//! from the `StopIteration` that ends it. States, in order:
//!
//! - `Reading`: `http.request` messages until the last, or until the `content-length` bytes the
//!   request announced have come (granian sends the body with `more_body` set, then an empty last
//!   message: waiting for that one costs a round trip to granian's I/O thread per request, and tells
//!   nothing the length did not); a `http.disconnect` hands the request to the Python chain with
//!   what was read replayed (it then ends the request as it always does; a request handed back
//!   early reads on from the server's `receive`);
//! - then the body is decoded and rendered ([`HotApp::render`]); what the Rust path does not answer
//!   is `Handed` to the Python app with the body replayed ([`Replay`]), so its envelopes, statuses and
//!   metrics are the Python chain's own;
//! - a body due now is written: `Starting` (the response start) then `Writing` (the body);
//! - an answer with a schedule is `Paced`: the Python pacer's coroutine (`cluster.respond`) sends it,
//!   through a [`SpySend`] that notes the status and appends the trailing headers. The pacer watches
//!   `receive` for the client leaving, so when the body's last message was not read it is read first
//!   (`Draining`; whatever else comes, a disconnect, is replayed to the pacer).
//!
//! Metrics are recorded as `MetricsMiddleware` records them: in flight from the render, finished with
//! the route, the status (499 when nothing was sent), the duration since the call and the model label.

use super::hot_app::{json_type, trailing_headers, HotApp, Prepared, Rendered};
use crate::shm::metrics::{self, Finish};
use pyo3::exceptions::asyncio::CancelledError;
use pyo3::exceptions::{PyBaseException, PyRuntimeError, PyStopIteration};
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

/// What driving an awaitable one step gave.
enum Step<'py> {
    Yield(Bound<'py, PyAny>),
    Return(Bound<'py, PyAny>),
}

/// `awaitable.__await__()`: the iterator to drive (through the type's `am_await` slot when it has one:
/// no attribute lookup, no bound method).
pub(crate) fn awaiting<'py>(awaitable: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = awaitable.py();
    // SAFETY: `PyType_GetSlot` reads a slot of a live type (any type from Python 3.10, the abi3
    // floor); `am_await` is a `unaryfunc` returning a new reference or NULL with an exception set.
    unsafe {
        let slot = ffi::PyType_GetSlot(ffi::Py_TYPE(awaitable.as_ptr()), ffi::Py_am_await);
        if !slot.is_null() {
            let am_await: ffi::unaryfunc = std::mem::transmute(slot);
            return Bound::from_owned_ptr_or_err(py, am_await(awaitable.as_ptr()));
        }
    }
    awaitable.call_method0(intern!(py, "__await__"))
}

fn send_into<'py>(it: &Bound<'py, PyAny>, value: Option<Bound<'py, PyAny>>) -> PyResult<Step<'py>> {
    let py = it.py();
    let value = value.unwrap_or_else(|| py.None().into_bound(py));
    let mut out: *mut ffi::PyObject = std::ptr::null_mut();
    // SAFETY: `it` and `value` are live objects; `out` receives a new reference (or NULL on error).
    let status = unsafe { ffi::PyIter_Send(it.as_ptr(), value.as_ptr(), &mut out) };
    match status {
        // SAFETY: on return and on yield `out` holds a new reference.
        ffi::PySendResult::PYGEN_RETURN => Ok(Step::Return(unsafe { Bound::from_owned_ptr(py, out) })),
        ffi::PySendResult::PYGEN_NEXT => Ok(Step::Yield(unsafe { Bound::from_owned_ptr(py, out) })),
        ffi::PySendResult::PYGEN_ERROR => Err(PyErr::take(py)
            .unwrap_or_else(|| PyRuntimeError::new_err("awaitable failed without an exception"))),
    }
}

fn throw_into<'py>(it: &Bound<'py, PyAny>, error: PyErr) -> PyResult<Step<'py>> {
    let py = it.py();
    let Some(throw) = it.getattr_opt(intern!(py, "throw"))? else { return Err(error) };
    match throw.call1((error.into_value(py),)) {
        Ok(yielded) => Ok(Step::Yield(yielded)),
        Err(e) if e.is_instance_of::<PyStopIteration>(py) => {
            Ok(Step::Return(e.value(py).getattr(intern!(py, "value"))?))
        }
        Err(e) => Err(e),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Reading,
    Handed,
    Starting,
    Writing,
    Draining,
    Paced,
    Done,
}

#[pyclass(module = "fakeai._core")]
pub(crate) struct HotCall {
    app: Py<HotApp>,
    route: usize,
    scope: Py<PyAny>,
    receive: Py<PyAny>,
    send: Py<PyAny>,
    request_id: Option<Py<PyAny>>,
    /// `time.monotonic()` when the request came: its start, as the pacer and the metrics count it.
    started: f64,
    state: State,
    current: Option<Py<PyAny>>,
    /// Every message received, for a replay.
    messages: Vec<Py<PyAny>>,
    /// The body's announced length (`content-length`), and the bytes received so far.
    length: u64,
    received: u64,
    /// The body's last (empty) message is still unread: the whole length came before it.
    unread_end: bool,
    /// A paced answer waiting for that message: `(answer, now)`.
    paced: Option<(Py<PyAny>, f64)>,
    /// The body to write once the start is sent.
    body: Option<Py<PyBytes>>,
    label: Option<String>,
    /// The route's kept entry for the request's model (its metrics slots).
    prepared: Option<Arc<Prepared>>,
    spy: Option<Py<SpySend>>,
    metered: bool,
}

impl HotCall {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        app: &Bound<'_, HotApp>,
        route: usize,
        scope: &Bound<'_, PyAny>,
        receive: &Bound<'_, PyAny>,
        send: &Bound<'_, PyAny>,
        request_id: Option<Bound<'_, PyAny>>,
        reading: Bound<'_, PyAny>,
        started: f64,
        length: u64,
    ) -> Self {
        Self {
            app: app.clone().unbind(),
            route,
            scope: scope.clone().unbind(),
            receive: receive.clone().unbind(),
            send: send.clone().unbind(),
            request_id: request_id.map(Bound::unbind),
            started,
            state: State::Reading,
            current: Some(reading.unbind()),
            messages: Vec::with_capacity(1),
            length,
            received: 0,
            unread_end: false,
            paced: None,
            body: None,
            label: None,
            prepared: None,
            spy: None,
            metered: false,
        }
    }

    /// Run until something must be awaited (its yielded value) or the request is over (None).
    fn drive(
        &mut self,
        py: Python<'_>,
        mut value: Option<Bound<'_, PyAny>>,
        mut error: Option<PyErr>,
    ) -> PyResult<Option<Py<PyAny>>> {
        loop {
            let step = match self.current.take() {
                Some(it) => {
                    let it = it.into_bound(py);
                    let step = match error.take() {
                        Some(e) => throw_into(&it, e),
                        None => send_into(&it, value.take()),
                    };
                    if matches!(step, Ok(Step::Yield(_))) {
                        self.current = Some(it.unbind());
                    } else if self.state == State::Reading {
                        self.app.get().unwatch(py, &it);
                    }
                    step
                }
                None => match error.take() {
                    Some(e) => Err(e),
                    None => return Ok(None),
                },
            };
            match step {
                Ok(Step::Yield(y)) => return Ok(Some(y.unbind())),
                Ok(Step::Return(v)) => self.advance(py, v)?,
                Err(e) if self.state == State::Reading && body_timed_out(py, &e) => {
                    // the Python chain answers the 408 (its envelope, headers and metrics)
                    let key = self.app.get().timed_out_key.clone_ref(py);
                    self.scope.bind(py).set_item(key, true)?;
                    self.hand_back(py)?;
                }
                Err(e) => {
                    self.fail(py, e)?;
                    return Ok(None);
                }
            }
            if self.state == State::Done {
                return Ok(None);
            }
        }
    }

    /// The awaited step finished with `result`: set up the next one (or finish).
    fn advance(&mut self, py: Python<'_>, result: Bound<'_, PyAny>) -> PyResult<()> {
        match self.state {
            State::Reading => {
                let message = result.cast_into::<PyDict>()?;
                self.messages.push(message.clone().into_any().unbind());
                let kind = message.get_item(intern!(py, "type"))?;
                let request = kind.is_some_and(|k| {
                    k.cast::<PyString>().is_ok_and(|s| s.to_str().is_ok_and(|s| s == "http.request"))
                });
                if !request {
                    return self.hand_back(py); // the client left: the Python chain ends it as always
                }
                if let Some(body) = message.get_item(intern!(py, "body"))? {
                    self.received += body.len().unwrap_or(0) as u64;
                }
                let more = match message.get_item(intern!(py, "more_body"))? {
                    Some(more) => more.is_truthy()?,
                    None => false,
                };
                if more && self.received < self.length {
                    let reading = awaiting(&self.receive.bind(py).call0()?)?;
                    let app = self.app.get();
                    app.watch(py, &reading, app.monotonic(py)?)?;
                    self.current = Some(reading.unbind());
                    return Ok(());
                }
                self.unread_end = more;
                self.respond(py)
            }
            State::Draining => {
                let message = result.cast::<PyDict>().ok();
                let kind = message.and_then(|m| m.get_item(intern!(py, "type")).ok().flatten());
                let request = kind.is_some_and(|k| {
                    k.cast::<PyString>().is_ok_and(|s| s.to_str().is_ok_and(|s| s == "http.request"))
                });
                let more = message
                    .and_then(|m| m.get_item(intern!(py, "more_body")).ok().flatten())
                    .is_some_and(|m| m.is_truthy().unwrap_or(false));
                if request && more {
                    // HTTP/2: a request ending in its own empty DATA frame comes as an empty message
                    // with more_body, then the last one; read on until the body's end
                    self.current = Some(awaiting(&self.receive.bind(py).call0()?)?.unbind());
                    return Ok(());
                }
                let receive = if request {
                    self.receive.clone_ref(py)
                } else {
                    let queue = Mutex::new((vec![result.unbind()], 0));
                    Py::new(py, Replay { queue, receive: self.receive.clone_ref(py) })?.into_any()
                };
                let (answer, now) = self.paced.take().expect("a paced answer waits while draining");
                self.pace(py, receive.bind(py), answer.bind(py), now)
            }
            State::Starting => {
                let message = PyDict::new(py);
                message.set_item(intern!(py, "type"), intern!(py, "http.response.body"))?;
                message.set_item(
                    intern!(py, "body"),
                    self.body.take().map_or_else(|| py.None(), Py::into_any),
                )?;
                self.current = Some(awaiting(&self.send.bind(py).call1((message,))?)?.unbind());
                self.state = State::Writing;
                Ok(())
            }
            State::Writing => {
                self.finish(py, 200);
                Ok(())
            }
            State::Paced => {
                let status = self.spied();
                self.finish(py, if status == 0 { 499 } else { status });
                Ok(())
            }
            State::Handed | State::Done => {
                self.state = State::Done;
                Ok(())
            }
        }
    }

    /// The awaited step raised: record what the metrics middleware would, then raise it on.
    fn fail(&mut self, py: Python<'_>, error: PyErr) -> PyResult<()> {
        match self.state {
            State::Starting => self.finish(py, 500),
            State::Writing => self.finish(py, 200),
            State::Paced | State::Draining => {
                let status = self.spied();
                self.finish(py, if status == 0 { 500 } else { status });
            }
            _ => self.state = State::Done,
        }
        Err(error)
    }

    fn spied(&self) -> u16 {
        self.spy.as_ref().map_or(0, |s| s.get().status.load(Ordering::Relaxed))
    }

    /// The whole body is read: render it, or hand it back.
    fn respond(&mut self, py: Python<'_>) -> PyResult<()> {
        let app_ref = self.app.clone_ref(py);
        let app = app_ref.get();
        let body = self.body_bytes(py)?;
        let rendered = match app.render(py, self.route, &body, self.started) {
            Ok(Some(rendered)) => rendered,
            Ok(None) | Err(_) => return self.hand_back(py),
        };
        let request_id = self.request_id.as_ref().map(|r| r.bind(py).clone());
        let request_id = request_id.as_ref();
        match rendered {
            Rendered::Now { body, label, prepared } => {
                self.begin(app, &prepared, label);
                let mut headers = Vec::with_capacity(app.trailing_count() + 4);
                headers.push(json_type(py, app));
                let mut digits = itoa::Buffer::new();
                let length = PyBytes::new(py, digits.format(body.as_bytes().len()).as_bytes());
                headers.push(PyTuple::new(py, [app.names(py)[2].clone(), length])?);
                trailing_headers(py, app, self.route, request_id, &mut headers)?;
                let start = PyDict::new(py);
                start.set_item(intern!(py, "type"), intern!(py, "http.response.start"))?;
                start.set_item(intern!(py, "status"), 200)?;
                start.set_item(intern!(py, "headers"), PyList::new(py, headers)?)?;
                self.body = Some(body.unbind());
                self.current = Some(awaiting(&self.send.bind(py).call1((start,))?)?.unbind());
                self.state = State::Starting;
            }
            Rendered::Paced { answer, now, label, prepared } => {
                self.begin(app, &prepared, label);
                let mut trailing = Vec::with_capacity(app.trailing_count() + 2);
                trailing_headers(py, app, self.route, request_id, &mut trailing)?;
                let spy = SpySend {
                    send: self.send.clone_ref(py),
                    trailing: PyList::new(py, trailing)?.unbind(),
                    status: AtomicU16::new(0),
                };
                self.spy = Some(Py::new(py, spy)?);
                if self.unread_end {
                    self.paced = Some((answer.unbind(), now));
                    self.current = Some(awaiting(&self.receive.bind(py).call0()?)?.unbind());
                    self.state = State::Draining;
                    return Ok(());
                }
                let receive = self.receive.clone_ref(py);
                return self.pace(py, receive.bind(py), &answer, now);
            }
        }
        Ok(())
    }

    /// Hand a paced answer to the Python pacer (`cluster.respond`), watching `receive`.
    fn pace(
        &mut self,
        py: Python<'_>,
        receive: &Bound<'_, PyAny>,
        answer: &Bound<'_, PyAny>,
        now: f64,
    ) -> PyResult<()> {
        let app = self.app.get();
        let spy = self.spy.as_ref().expect("the spy is made before pacing").clone_ref(py);
        let coroutine = app.respond.bind(py).call1((receive, spy, answer, now, self.send.bind(py)))?;
        self.current = Some(awaiting(&coroutine)?.unbind());
        self.state = State::Paced;
        Ok(())
    }

    /// The request is answered here: count it (in flight; served by the Rust path).
    fn begin(&mut self, app: &HotApp, prepared: &Arc<Prepared>, label: Option<String>) {
        if let Some((table, _)) = &app.metrics {
            let _ = prepared.begin_pins().begin(table.get().table()); // a full table never fails a request
            self.metered = true;
        }
        app.count_served();
        self.label = label;
        self.prepared = Some(Arc::clone(prepared));
    }

    fn body_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let mut parts = Vec::with_capacity(self.messages.len());
        for message in &self.messages {
            let message = message.bind(py).cast::<PyDict>()?.clone();
            if let Some(body) = message.get_item(intern!(py, "body"))? {
                parts.push(body.cast_into::<PyBytes>()?);
            }
        }
        if parts.len() == 1 {
            return Ok(parts.pop().expect("one part"));
        }
        let mut joined = Vec::with_capacity(parts.iter().map(|p| p.as_bytes().len()).sum());
        for part in &parts {
            joined.extend_from_slice(part.as_bytes());
        }
        Ok(PyBytes::new(py, &joined))
    }

    /// Give the request to the Python app, replaying what was received.
    fn hand_back(&mut self, py: Python<'_>) -> PyResult<()> {
        let app = self.app.get();
        let messages = std::mem::take(&mut self.messages);
        let replay =
            Py::new(py, Replay { queue: Mutex::new((messages, 0)), receive: self.receive.clone_ref(py) })?;
        let coroutine = app.fallback().bind(py).call1((self.scope.bind(py), replay, self.send.bind(py)))?;
        self.current = Some(awaiting(&coroutine)?.unbind());
        self.state = State::Handed;
        Ok(())
    }

    fn finish(&mut self, py: Python<'_>, status: u16) {
        self.state = State::Done;
        if !self.metered {
            return;
        }
        self.metered = false;
        let app = self.app.get();
        if let Some((table, slo_seconds)) = &app.metrics {
            let finish = Finish {
                endpoint: app.path(self.route),
                status,
                seconds: app.monotonic(py).map_or(0.0, |now| now - self.started),
                slo_seconds: *slo_seconds,
                model: self.label.as_deref(),
                error: None,
            };
            // a full table never fails a request
            let _ = match self.prepared.as_ref().and_then(|p| p.pins(status, finish.model)) {
                Some(pins) => pins.finish(table.get().table(), finish),
                None => metrics::finish(table.get().table(), finish),
            };
        }
    }
}

#[pymethods]
impl HotCall {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.drive(py, None, None)
    }

    fn send(&mut self, py: Python<'_>, value: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let value = if value.is_none() { None } else { Some(value) };
        self.drive(py, value, None)?.ok_or_else(|| PyStopIteration::new_err(()))
    }

    #[pyo3(signature = (kind, value=None, _traceback=None))]
    fn throw(
        &mut self,
        py: Python<'_>,
        kind: Bound<'_, PyAny>,
        value: Option<Bound<'_, PyAny>>,
        _traceback: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let error = if kind.is_instance_of::<PyBaseException>() {
            PyErr::from_value(kind)
        } else {
            let made = match value {
                Some(v) if v.is_instance_of::<PyBaseException>() => v,
                Some(v) if !v.is_none() => kind.call1((v,))?,
                _ => kind.call0()?,
            };
            PyErr::from_value(made)
        };
        self.drive(py, None, Some(error))?.ok_or_else(|| PyStopIteration::new_err(()))
    }

    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        if let Some(it) = self.current.take() {
            if self.state == State::Reading {
                self.app.get().unwatch(py, it.bind(py));
            }
            if let Some(close) = it.bind(py).getattr_opt(intern!(py, "close"))? {
                close.call0()?;
            }
        }
        if matches!(self.state, State::Starting | State::Draining | State::Paced) {
            self.finish(py, 499);
        }
        self.state = State::Done;
        Ok(())
    }
}

/// The `send` a paced answer goes through: notes the response's status and appends the trailing
/// headers to its start, as the metrics middleware's wrapper does.
#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct SpySend {
    send: Py<PyAny>,
    trailing: Py<PyList>,
    status: AtomicU16,
}

#[pymethods]
impl SpySend {
    fn __call__<'py>(&self, py: Python<'py>, message: Bound<'py, PyDict>) -> PyResult<Bound<'py, PyAny>> {
        let kind = message.get_item(intern!(py, "type"))?;
        if kind.is_some_and(|k| {
            k.cast::<PyString>().is_ok_and(|s| s.to_str().is_ok_and(|s| s == "http.response.start"))
        }) {
            if let Some(status) = message.get_item(intern!(py, "status"))? {
                self.status.store(status.extract()?, Ordering::Relaxed);
            }
            let headers = PyList::empty(py);
            if let Some(own) = message.get_item(intern!(py, "headers"))? {
                for h in own.try_iter()? {
                    headers.append(h?)?;
                }
            }
            for h in self.trailing.bind(py).iter() {
                headers.append(h)?;
            }
            message.set_item(intern!(py, "headers"), headers)?;
        }
        self.send.bind(py).call1((message,))
    }
}

/// Whether `error`, raised by an awaited piece of the body, is the body clock's doing: the piece was
/// cancelled (`CancelledError`) while the task itself was not (`Task.cancel()` counts in
/// `cancelling()`; the clock cancels only the awaited future).
fn body_timed_out(py: Python<'_>, error: &PyErr) -> bool {
    error.is_instance_of::<CancelledError>(py)
        && py
            .import(intern!(py, "asyncio"))
            .and_then(|asyncio| asyncio.call_method0(intern!(py, "current_task")))
            .and_then(|task| task.call_method0(intern!(py, "cancelling")))
            .and_then(|n| n.extract::<i64>())
            .is_ok_and(|n| n == 0)
}

/// `receive` of a request handed back: the messages already received, then the server's `receive`.
#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct Replay {
    queue: Mutex<(Vec<Py<PyAny>>, usize)>,
    receive: Py<PyAny>,
}

#[pymethods]
impl Replay {
    fn __call__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let next = {
            let mut queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let (messages, at) = &mut *queue;
            let next = messages.get(*at).map(|m| m.clone_ref(py));
            *at += usize::from(next.is_some());
            next
        };
        match next {
            Some(message) => Ok(Bound::new(py, Ready { value: message })?.into_any()),
            None => self.receive.bind(py).call0(),
        }
    }
}

/// An awaitable whose result is ready: `await` gives `value` at once.
#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct Ready {
    value: Py<PyAny>,
}

#[pymethods]
impl Ready {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        Err(PyStopIteration::new_err((self.value.clone_ref(py),)))
    }
}
