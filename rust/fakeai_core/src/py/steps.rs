//! `Steps`: a long stream's SSE steps, rendered when the pacer asks for them.
//!
//! A short stream is rendered whole (a list of bytes, one per step: the cheapest to write). A long
//! one ([`LAZY_STEPS`] or more steps in all its choices) keeps its generated tokens instead and
//! renders each window of due steps as it is written ([`crate::render::sse::StreamSteps`] for chat
//! and legacy completions, [`crate::render::anthropic::MessageSteps`] for Anthropic messages), so a
//! stream of 100k tokens holds its tokens (a pointer each) rather than tens of MB of chunks. The
//! bytes are the same either way.

use crate::render::anthropic::{MessageSource, MessageSteps};
use crate::render::sse::{ChunkStyle, StreamSteps};
use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// Streams with at least this many steps (summed over their choices, ~250 bytes each rendered:
/// about 1 MiB) are rendered step by step as they go out.
pub(crate) const LAZY_STEPS: usize = 4096;

/// What the pacer needs of a lazily rendered stream.
pub(crate) trait StepSource: Send + Sync {
    fn len(&self) -> usize;
    /// Append step `k`.
    fn render(&self, k: usize, buf: &mut Vec<u8>);
}

impl<S: ChunkStyle + Send + Sync> StepSource for StreamSteps<S> {
    fn len(&self) -> usize {
        StreamSteps::len(self)
    }

    fn render(&self, k: usize, buf: &mut Vec<u8>) {
        StreamSteps::render(self, k, buf);
    }
}

impl<M: MessageSource + Send + Sync> StepSource for MessageSteps<M> {
    fn len(&self) -> usize {
        MessageSteps::len(self)
    }

    fn render(&self, k: usize, buf: &mut Vec<u8>) {
        MessageSteps::render(self, k, buf);
    }
}

/// A stream's steps, rendered on demand: `len()` steps, `steps[k]` the bytes of step `k`,
/// `window(start, end)` those of steps `start..end` joined.
#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct Steps {
    source: Box<dyn StepSource>,
}

impl Steps {
    pub(crate) fn new(source: impl StepSource + 'static) -> Self {
        Steps { source: Box::new(source) }
    }

    pub(crate) fn count(&self) -> usize {
        self.source.len()
    }

    /// Steps `range` joined, appended to `buf`.
    pub(crate) fn render_into(&self, range: std::ops::Range<usize>, buf: &mut Vec<u8>) {
        for k in range {
            self.source.render(k, buf);
        }
    }
}

#[pymethods]
impl Steps {
    fn __len__(&self) -> usize {
        self.count()
    }

    fn __getitem__<'py>(&self, py: Python<'py>, k: isize) -> PyResult<Bound<'py, PyBytes>> {
        let len = self.count() as isize;
        let k = if k < 0 { k + len } else { k };
        if !(0..len).contains(&k) {
            return Err(PyIndexError::new_err("step index out of range"));
        }
        self.window(py, k as usize, k as usize + 1)
    }

    /// Steps `start..end` (clamped to the stream) joined in one bytes object.
    fn window<'py>(&self, py: Python<'py>, start: usize, end: usize) -> PyResult<Bound<'py, PyBytes>> {
        let end = end.min(self.count());
        let mut buf = Vec::new();
        self.render_into(start.min(end)..end, &mut buf);
        Ok(PyBytes::new(py, &buf))
    }
}
