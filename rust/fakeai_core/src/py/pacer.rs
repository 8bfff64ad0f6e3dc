//! `Pacer`: the streams and waiters of one worker process's ticker, written from one timer callback.
//!
//! Python keeps one event-loop timer armed for [`Pacer::earliest`] and calls [`Pacer::fire`] when it
//! goes off. `fire` takes every due item ([`SlotQueue`]): a waiter's future gets its result, a
//! stream's due steps ([`Cursor`]) go out as one ASGI
//! `http.response.body` message through the stream's own `send`, and the stream is parked again
//! for its next step. A streamed token thus costs one `send` call made from Rust, with no Python
//! frame of fakeai's in between.
//!
//! `send` returns an awaitable. Servers that write at once (granian) return one that is already
//! complete: it is driven here with `PyIter_Send` and nothing else happens. One that must wait
//! (back-pressure) is handed back to Python as `(stream, iterator, first_yielded)` to finish as a
//! task; Python then calls [`Pacer::resume`]. A stream's `done` future gets `True` when every step
//! was written, `False` when the client went away (a send raising `OSError`, or [`Pacer::cancel`])
//! and the exception when `send` failed otherwise.
//!
//! Python code (sends, future results) never runs while the pacer is borrowed, so a send that
//! touches the ticker cannot trip PyO3's borrow check.

use super::reply::Answer;
use super::shared_engine::SharedEngine;
use super::steps::Steps;
use crate::shm::engine::Settled;
use crate::simulation::pacing::{Cursor, SlotQueue};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// What a slot holds: a stream's next write (by id) or a waiter's future.
enum Entry {
    Step(u64),
    Waiter(Py<PyAny>, Option<Settling>),
}

/// A request timed by the engine model whose first or last token's time is not settled yet: when
/// the forecast time of that token is due, the engine says when it really comes
/// ([`SharedEngine::settle`]) and what follows moves by the difference. A stream settles its first
/// token (step 0; every step moves) and then its last (held back until settled); a waiter (a whole
/// answer, whose client sees only its end) settles its deadline, the last token, alone.
struct Settling {
    engine: Py<SharedEngine>,
    ticket: u64,
    /// Settling the last token (else the first).
    last: bool,
    /// The token's forecast time (monotonic seconds).
    expected: f64,
    /// When to ask. The first token's forecast is a lower bound of the real one (it assumes
    /// nothing else arrives before it), so it is asked when forecast. The last token's forecast
    /// assumes the load persists, which may be late, so it is asked as soon as the first token is
    /// settled, and then when the engine says its step can start at the earliest.
    ask: f64,
    /// The settled first token, once known (for the last token's settling).
    first_at: f64,
    /// The answer whose token timing is counted once settled (its `timing`: metrics and the cluster's phase histograms).
    answer: Option<Py<Answer>>,
}

impl Settling {
    /// Ask the engine at `due`: `Ok(shift)` once the token's time is known (`shift` seconds after
    /// the forecast; 0 when the engine no longer knows the request), `Err(at)` to ask again at `at`.
    fn ask(&self, due: f64) -> Result<f64, f64> {
        match self.engine.get().settle(self.ticket, due, self.last) {
            Settled::At(t) => Ok(t - self.expected),
            Settled::Later(at) => Err(at),
            Settled::Gone => Ok(0.0),
        }
    }

    /// The same request, now settling its last token, forecast (after the first's shift) at `at`,
    /// once the first token was settled at `first`.
    fn last_at(self, first: f64, at: f64) -> Settling {
        Settling { last: true, expected: at, ask: first, first_at: first, ..self }
    }

    /// Count the settled timing: the first token at `first`, the last at `last`.
    fn record(&self, first: f64, last: f64) {
        if let Some(timing) = self.timing() {
            timing.record(first, last);
        }
    }

    fn timing(&self) -> Option<&super::meter::Timing> {
        self.answer.as_ref().and_then(|a| a.get().timing.as_ref())
    }

    /// Ask the engine at `due` for a whole answer's last token, as [`Settling::ask`]; once it is
    /// known, its timing is counted (under the same lock, the first token as the engine delivered
    /// it: the request is still in the engine while its last step runs; or as forecast once the
    /// engine no longer knows it). Returns the settled deadline, or `Err(at)` to ask again at `at`.
    fn ask_whole(&self, due: f64) -> Result<f64, f64> {
        let (last, first) = self.engine.get().settle_last_and_first(self.ticket, due);
        let deadline = match last {
            Settled::At(t) => t,
            Settled::Later(at) => return Err(at),
            Settled::Gone => self.expected,
        };
        if self.timing().is_some() {
            let first = match first {
                Settled::At(t) => t,
                _ => self.first_at,
            };
            self.record(first.min(deadline), deadline);
        }
        Ok(deadline)
    }
}

/// Most steps of a lazily rendered stream ([`Steps`]) rendered for one write: the rest, already due,
/// goes out at the next fire (at once), so a stream never holds more than this window rendered.
const WINDOW: usize = 512;

/// A stream's steps: rendered up front, or rendered window by window as they come due.
enum Source {
    Rendered(Vec<Py<PyBytes>>),
    Lazy(Py<Steps>),
}

struct Stream {
    send: Py<PyAny>,
    steps: Source,
    cursor: Cursor,
    done: Py<PyAny>,
    settling: Option<Settling>,
}

impl Stream {
    /// Ask the engine what is due to be asked (`is_due` says whether a time's slot is due); returns
    /// how many steps may be written now: none while the first token is unsettled, all but the last
    /// while the last is.
    fn settle(&mut self, due: f64, is_due: &impl Fn(f64) -> bool) -> usize {
        if let Some(settling) = self.settling.take_if(|s| is_due(s.ask)) {
            match settling.ask(due) {
                Err(at) => self.settling = Some(Settling { ask: at, ..settling }),
                Ok(shift) if settling.last => {
                    self.cursor.shift_last(shift);
                    settling.record(settling.first_at, self.cursor.last_deadline().unwrap_or(due));
                }
                Ok(shift) => {
                    self.cursor.shift(shift);
                    let first = self.cursor.next_deadline().unwrap_or(due);
                    match (self.cursor.remaining() > 1, self.cursor.last_deadline()) {
                        (true, Some(last)) => self.settling = Some(settling.last_at(first, last)),
                        _ => settling.record(first, first),
                    }
                }
            }
        }
        match &self.settling {
            Some(s) if !s.last => 0,
            Some(_) => self.cursor.remaining().saturating_sub(1),
            None => self.cursor.remaining(),
        }
    }

    /// When the stream next has something to do: write its next step or ask the engine.
    fn wake_at(&self) -> Option<f64> {
        let next = self.cursor.next_deadline();
        match &self.settling {
            None => next,
            Some(s) if !s.last || self.cursor.remaining() <= 1 => Some(s.ask),
            Some(s) => next.map(|t| t.min(s.ask)),
        }
    }
}

/// One slab place: the stream using it, and a generation that makes stale ids harmless.
#[derive(Default)]
struct Place {
    generation: u32,
    stream: Option<Stream>,
}

/// How a write went.
enum Written {
    Now,
    Pending(Py<PyAny>, Py<PyAny>),
    Failed(PyErr),
}

/// A write `send` did not finish at once: `(stream, iterator, first_yielded)`, for Python to finish.
type PendingWrite = (u64, Py<PyAny>, Py<PyAny>);

/// A stream's end: its `done` future and what to put in it.
enum Ending {
    Result(Py<PyAny>, bool),
    Error(Py<PyAny>, PyErr),
}

/// Longest the ticker sleeps, seconds, while an engine-timed item waits: a cancellation in another
/// worker process (its client left) is seen this soon (see [`Pacer::reask`]).
const CANCELLATION_POLL: f64 = 0.01;

#[pyclass(module = "fakeai._core")]
pub(crate) struct Pacer {
    queue: SlotQueue<Entry>,
    places: Vec<Place>,
    free: Vec<u32>,
    /// Every engine an item was timed by, and its cancellation count when last looked at.
    engines: Vec<(Py<SharedEngine>, u64)>,
    /// The slot of the last fire (for [`CANCELLATION_POLL`]).
    fired: i64,
}

impl Pacer {
    fn id(index: u32, generation: u32) -> u64 {
        (u64::from(generation) << 32) | u64::from(index)
    }

    /// The live stream `id` names (None once it ended: its place may hold another stream now).
    /// Note `engine`, which times an item now parked, to watch its cancellations.
    fn watch(&mut self, py: Python<'_>, engine: &Py<SharedEngine>) {
        if !self.engines.iter().any(|(e, _)| e.as_ptr() == engine.as_ptr()) {
            let seen = engine.get().cancellations();
            self.engines.push((engine.clone_ref(py), seen));
        }
    }

    /// Whether a watched engine cancelled a request (in any process) since it was last looked at.
    fn cancelled_since(&mut self) -> bool {
        let mut moved = false;
        for (engine, seen) in &mut self.engines {
            let count = engine.get().cancellations();
            moved |= count != *seen;
            *seen = count;
        }
        moved
    }

    /// A request was cancelled: tokens the engine said come `Later` may come earlier now (a
    /// request queued behind it is admitted at once), so every item waiting to ask the engine asks
    /// again at `due`. Only a cancellation does this: an arrival can only delay other tokens, so
    /// the engine's `Later` stays a lower bound until one.
    fn reask(&mut self, due: f64) {
        let Pacer { queue, places, .. } = self;
        queue.advance(|entry| match entry {
            Entry::Waiter(_, Some(settling)) => {
                settling.ask = settling.ask.min(due);
                Some(due)
            }
            Entry::Step(id) => {
                let stream = stream_in(places, *id)?;
                let settling = stream.settling.as_mut()?;
                settling.ask = settling.ask.min(due);
                stream.wake_at()
            }
            Entry::Waiter(_, None) => None,
        });
    }

    /// `slot`, or sooner while engine-timed items wait: the ticker then looks for cancellations
    /// every [`CANCELLATION_POLL`].
    fn polled(&self, slot: i64) -> i64 {
        if self.engines.is_empty() {
            return slot;
        }
        slot.min(self.fired + self.queue.slot(CANCELLATION_POLL))
    }

    fn stream_mut(&mut self, id: u64) -> Option<&mut Stream> {
        stream_in(&mut self.places, id)
    }

    /// Remove stream `id`, freeing its place.
    fn take(&mut self, id: u64) -> Option<Stream> {
        let index = (id & 0xffff_ffff) as u32;
        let place = self.places.get_mut(index as usize)?;
        if u64::from(place.generation) != id >> 32 {
            return None;
        }
        let stream = place.stream.take()?;
        place.generation = place.generation.wrapping_add(1);
        self.free.push(index);
        Some(stream)
    }

    /// After stream `id`'s write: park it for its next step, or end it.
    fn written(&mut self, id: u64, error: Option<PyErr>, py: Python<'_>, endings: &mut Vec<Ending>) {
        let Some(stream) = self.stream_mut(id) else { return };
        let next = if error.is_none() { stream.wake_at() } else { None };
        match (error, next) {
            (None, Some(deadline)) => {
                self.queue.push(deadline, Entry::Step(id));
            }
            (error, _) => {
                if let Some(stream) = self.take(id) {
                    endings.push(match error {
                        None => Ending::Result(stream.done, true),
                        Some(e) if e.is_instance_of::<PyOSError>(py) => Ending::Result(stream.done, false),
                        Some(e) => Ending::Error(stream.done, e),
                    });
                }
            }
        }
    }
}

/// Put a stream's outcome in its `done` future, unless it already has one (a failure to is reported
/// as unraisable: it must not stop the other streams).
/// The stream of `id` among `places` (None for a stale id).
fn stream_in(places: &mut [Place], id: u64) -> Option<&mut Stream> {
    let place = places.get_mut((id & 0xffff_ffff) as usize)?;
    if u64::from(place.generation) != id >> 32 {
        return None;
    }
    place.stream.as_mut()
}

fn end(py: Python<'_>, ending: Ending) {
    let future = match &ending {
        Ending::Result(f, _) | Ending::Error(f, _) => f.bind(py),
    };
    let set = future.call_method0(intern!(py, "done")).and_then(|done| {
        if done.is_truthy()? {
            return Ok(());
        }
        match &ending {
            Ending::Result(_, ok) => future.call_method1(intern!(py, "set_result"), (*ok,)),
            Ending::Error(_, e) => future.call_method1(intern!(py, "set_exception"), (e.value(py),)),
        }
        .map(drop)
    });
    if let Err(e) = set {
        e.write_unraisable(py, Some(future));
    }
}

/// Call `send(message)` and drive the awaitable it returns as far as it goes now.
///
/// The `http.response.body` message is `spare` when given (a dict a previous write left behind),
/// else a new dict. After a write that finished at once, the message is handed back through
/// `spare` when nothing else kept it (only this call holds a reference, and it still has its three
/// keys): granian copies the body out of the message and keeps no reference to it, so one dict serves
/// every write of a fire. A `send` that keeps its messages (a test recording them, a wrapper that
/// queues them) keeps a reference, and its next message is a new dict.
fn write<'py>(
    py: Python<'py>,
    send: &Bound<'py, PyAny>,
    body: Bound<'py, PyAny>,
    more: bool,
    spare: &mut Option<Bound<'py, PyDict>>,
) -> Written {
    let message = spare.take().unwrap_or_else(|| PyDict::new(py));
    let built = message
        .set_item(intern!(py, "type"), intern!(py, "http.response.body"))
        .and_then(|()| message.set_item(intern!(py, "body"), body))
        .and_then(|()| message.set_item(intern!(py, "more_body"), more));
    let steps = built
        .and_then(|()| send.call1((&message,)))
        .and_then(|awaitable| awaitable.call_method0(intern!(py, "__await__")));
    let steps = match steps {
        Ok(s) => s,
        Err(e) => return Written::Failed(e),
    };
    let mut yielded: *mut ffi::PyObject = std::ptr::null_mut();
    // SAFETY: `steps` is a live object (an iterator: what `__await__` returns), `None` is a valid
    // argument, and `yielded` receives a new reference (or NULL on error) that is owned below.
    let status = unsafe { ffi::PyIter_Send(steps.as_ptr(), py.None().as_ptr(), &mut yielded) };
    let written = match status {
        ffi::PySendResult::PYGEN_RETURN => {
            // SAFETY: on return `yielded` holds a new reference to the return value.
            drop(unsafe { Bound::from_owned_ptr(py, yielded) });
            Written::Now
        }
        ffi::PySendResult::PYGEN_NEXT => {
            // SAFETY: on yield `yielded` holds a new reference to the yielded value.
            let first = unsafe { Bound::from_owned_ptr(py, yielded) };
            return Written::Pending(steps.unbind(), first.unbind());
        }
        ffi::PySendResult::PYGEN_ERROR => Written::Failed(
            PyErr::take(py).unwrap_or_else(|| PyValueError::new_err("send failed without an exception")),
        ),
    };
    drop(steps);
    // SAFETY: `message` is a live object; reading its reference count has no other effect.
    let alone = unsafe { ffi::Py_REFCNT(message.as_ptr()) } == 1;
    if alone && message.len() == 3 {
        *spare = Some(message);
    }
    written
}

#[pymethods]
impl Pacer {
    /// A pacer with slots `resolution` seconds wide.
    #[new]
    fn new(resolution: f64) -> PyResult<Self> {
        if !(resolution > 0.0 && resolution.is_finite()) {
            return Err(PyValueError::new_err("resolution must be a positive number of seconds"));
        }
        Ok(Pacer {
            queue: SlotQueue::new(resolution),
            places: Vec::new(),
            free: Vec::new(),
            engines: Vec::new(),
            fired: 0,
        })
    }

    /// Write `steps[i]` (a list of bytes, or a `Steps` rendering them on demand, at most a window of
    /// them per write) through `send` at `start + offsets[i]` (monotonic seconds); `done` (an
    /// asyncio future) gets the outcome. Returns `(stream, slot)`: the id for `cancel`/`resume` and
    /// the slot of the first step. With `engine` and its `ticket`, the steps are the request's tokens
    /// as the engine forecast them: the first and the last are settled with the engine when due
    /// ([`Settling`]); `answer` (the `Answer` rendered) then counts its settled TTFT and ITL in the
    /// metrics.
    #[pyo3(signature = (send, steps, offsets, start, done, engine=None, ticket=0, answer=None))]
    #[allow(clippy::too_many_arguments)]
    fn play(
        &mut self,
        py: Python<'_>,
        send: Py<PyAny>,
        steps: &Bound<'_, PyAny>,
        offsets: Vec<f64>,
        start: f64,
        done: Py<PyAny>,
        engine: Option<Py<SharedEngine>>,
        ticket: u64,
        answer: Option<Py<Answer>>,
    ) -> PyResult<(u64, i64)> {
        let (steps, len) = match steps.cast::<Steps>() {
            Ok(lazy) => (Source::Lazy(lazy.clone().unbind()), lazy.get().count()),
            Err(_) => {
                let rendered: Vec<Py<PyBytes>> = steps.extract()?;
                let len = rendered.len();
                (Source::Rendered(rendered), len)
            }
        };
        if len == 0 || len != offsets.len() {
            return Err(PyValueError::new_err("a stream needs one offset per step, and at least one step"));
        }
        let cursor = Cursor::new(start, offsets);
        let first = cursor.next_deadline().unwrap_or(start);
        if let Some(engine) = &engine {
            self.watch(py, engine);
        }
        let settling = engine.map(|engine| Settling {
            engine,
            ticket,
            last: false,
            expected: first,
            ask: first,
            first_at: first,
            answer,
        });
        let stream = Stream { send, steps, cursor, done, settling };
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.places.push(Place::default());
                (self.places.len() - 1) as u32
            }
        };
        let place = &mut self.places[index as usize];
        place.stream = Some(stream);
        let id = Pacer::id(index, place.generation);
        let slot = self.queue.push(first, Entry::Step(id));
        Ok((id, self.polled(slot)))
    }

    /// Give `future` the result None at `deadline`; returns its slot. With `engine` and its
    /// `ticket`, `deadline` is the request's last token as forecast, and `first` its first: the
    /// deadline is settled with the engine ([`Settling`]): asked at once when `now` is given (the
    /// engine's lower bound of the last token's time, from the batch it joined, tells when to ask
    /// next, which is later than its first token), else first asked at `first`. `answer` (the `Answer`
    /// rendered) then counts its settled TTFT and ITL.
    #[pyo3(signature = (future, deadline, engine=None, ticket=0, first=0.0, now=None, answer=None))]
    #[allow(clippy::too_many_arguments)]
    fn wait(
        &mut self,
        py: Python<'_>,
        future: Py<PyAny>,
        deadline: f64,
        engine: Option<Py<SharedEngine>>,
        ticket: u64,
        first: f64,
        now: Option<f64>,
        answer: Option<Py<Answer>>,
    ) -> i64 {
        let Some(engine) = engine else {
            return self.queue.push(deadline, Entry::Waiter(future, None));
        };
        self.watch(py, &engine);
        // A whole answer shows only its last token's time: that one is settled, first asked when
        // the first token is forecast (a lower bound of the last token's time).
        let ask = first.min(deadline);
        let settling =
            Settling { engine, ticket, last: true, expected: deadline, ask, first_at: first, answer };
        let slot = match now.map(|now| (now, settling.ask_whole(now))) {
            None => self.queue.push(ask, Entry::Waiter(future, Some(settling))),
            Some((_, Err(at))) => {
                let ask = at.max(ask);
                self.queue.push(ask, Entry::Waiter(future, Some(Settling { ask, ..settling })))
            }
            Some((now, Ok(settled))) => self.queue.push(settled.max(now), Entry::Waiter(future, None)),
        };
        self.polled(slot)
    }

    /// The client of `stream` went away: end it now (its `done` gets False). Stale ids are ignored.
    fn cancel(slf: &Bound<'_, Self>, stream: u64) {
        let taken = slf.borrow_mut().take(stream);
        if let Some(s) = taken {
            end(slf.py(), Ending::Result(s.done, false));
        }
    }

    /// The earliest slot anything waits in (slot × resolution is its time), or None when idle; while
    /// engine-timed items wait, at most [`CANCELLATION_POLL`] after the last fire, to look for
    /// cancellations made by other processes.
    fn earliest(&self) -> Option<i64> {
        self.queue.earliest().map(|slot| self.polled(slot))
    }

    /// Wake every waiter and write every stream step due by `due`; steps are due by `now` when more
    /// than one is (a late wake-up). Returns the writes still pending, as `(stream, iterator,
    /// first_yielded)`: finish each as a task, then call `resume`.
    fn fire(slf: &Bound<'_, Self>, due: f64, now: f64) -> PyResult<Vec<PendingWrite>> {
        let py = slf.py();
        let mut entries = Vec::new();
        let mut woken = Vec::new();
        let mut writes = Vec::new();
        let mut reparked = Vec::new();
        // one buffer for every lazily rendered write of this fire: each is copied into its bytes
        let mut scratch = Vec::new();
        {
            let mut me = slf.borrow_mut();
            if me.cancelled_since() {
                me.reask(due);
            }
            me.fired = me.queue.slot(due);
            me.queue.take_due(due, &mut entries);
            let is_due = me.queue.is_due(due);
            for entry in entries {
                let id = match entry {
                    Entry::Step(id) => id,
                    Entry::Waiter(future, None) => {
                        woken.push(future);
                        continue;
                    }
                    Entry::Waiter(future, Some(settling)) => {
                        match settling.ask_whole(due) {
                            Err(at) => reparked.push((at, Entry::Waiter(future, Some(settling)))),
                            Ok(deadline) => {
                                if deadline <= due {
                                    woken.push(future);
                                } else {
                                    reparked.push((deadline, Entry::Waiter(future, None)));
                                }
                            }
                        }
                        continue;
                    }
                };
                let Some(stream) = me.stream_mut(id) else { continue };
                let limit = stream.settle(due, &is_due);
                if limit == 0 || !stream.cursor.next_deadline().is_some_and(&is_due) {
                    if let Some(at) = stream.wake_at() {
                        reparked.push((at, Entry::Step(id)));
                    }
                    continue;
                }
                // None: the steps due send nothing (a reasoning model thinking, its reasoning
                // hidden), so nothing is written: the client sees no empty body, and the stream
                // moves on to its next step as after a write.
                let body = match &stream.steps {
                    Source::Rendered(steps) => {
                        let range = stream.cursor.take_at_most(now, limit);
                        if range.len() == 1 {
                            let step = &steps[range.start];
                            (!step.as_bytes(py).is_empty()).then(|| step.clone_ref(py).into_any())
                        } else {
                            let mut joined = Vec::new();
                            for step in &steps[range] {
                                joined.extend_from_slice(step.as_bytes(py));
                            }
                            (!joined.is_empty()).then(|| PyBytes::new(py, &joined).into_any().unbind())
                        }
                    }
                    Source::Lazy(steps) => {
                        scratch.clear();
                        steps
                            .get()
                            .render_into(stream.cursor.take_at_most(now, limit.min(WINDOW)), &mut scratch);
                        (!scratch.is_empty()).then(|| PyBytes::new(py, &scratch).into_any().unbind())
                    }
                };
                let more = !stream.cursor.finished();
                let body = match body {
                    Some(body) => Some(body),
                    None if more => None,
                    None => Some(PyBytes::new(py, b"").into_any().unbind()), // the end is always sent
                };
                writes.push((id, stream.send.clone_ref(py), body, more));
            }
        }
        if !reparked.is_empty() {
            let mut me = slf.borrow_mut();
            for (deadline, entry) in reparked {
                me.queue.push(deadline, entry);
            }
        }
        for future in woken {
            let future = future.bind(py);
            let woke = future.call_method0(intern!(py, "done")).and_then(|done| match done.is_truthy()? {
                true => Ok(()),
                false => future.call_method1(intern!(py, "set_result"), (py.None(),)).map(drop),
            });
            if let Err(e) = woke {
                e.write_unraisable(py, Some(future));
            }
        }
        let mut outcomes = Vec::with_capacity(writes.len());
        let mut pending = Vec::new();
        let mut spare = None;
        for (id, send, body, more) in writes {
            let Some(body) = body else {
                outcomes.push((id, None));
                continue;
            };
            match write(py, send.bind(py), body.into_bound(py), more, &mut spare) {
                Written::Now => outcomes.push((id, None)),
                Written::Failed(e) => outcomes.push((id, Some(e))),
                Written::Pending(steps, first) => pending.push((id, steps, first)),
            }
        }
        let mut endings = Vec::new();
        {
            let mut me = slf.borrow_mut();
            for (id, error) in outcomes {
                me.written(id, error, py, &mut endings);
            }
        }
        for ending in endings {
            end(py, ending);
        }
        Ok(pending)
    }

    /// A pending write of `stream` finished, with `error` (an exception) or None. Returns the slot
    /// the stream's next step waits in, or None when it ended.
    fn resume(slf: &Bound<'_, Self>, stream: u64, error: Option<Bound<'_, PyAny>>) -> PyResult<Option<i64>> {
        let py = slf.py();
        let mut endings = Vec::new();
        let slot = {
            let mut me = slf.borrow_mut();
            me.written(stream, error.map(PyErr::from_value), py, &mut endings);
            let next = me.stream_mut(stream).and_then(|s| s.wake_at());
            next.map(|deadline| me.queue.slot(deadline))
        };
        for ending in endings {
            end(py, ending);
        }
        Ok(slot)
    }

    /// Items parked (stream steps and waiters).
    fn __len__(&self) -> usize {
        self.queue.len()
    }

    /// Streams in flight.
    #[getter]
    fn streams(&self) -> usize {
        self.places.iter().filter(|p| p.stream.is_some()).count()
    }
}
