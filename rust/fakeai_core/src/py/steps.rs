//! `Steps`: a paced stream's SSE steps, rendered when the pacer asks for them.
//!
//! A stream whose steps go out over time ([`is_lazy`]: more than one step, spaced by an inter-token
//! latency or timed by the engine model, or a very long one) keeps its generated tokens and renders
//! each window of due steps as it is written ([`crate::render::sse::StreamSteps`] for chat and legacy
//! completions, [`crate::render::anthropic::MessageSteps`] for Anthropic messages). So a stream holds
//! its tokens (a pointer each) rather than its rendered chunks (~250 bytes each: 16 KB for 64 tokens,
//! tens of MB for 100k), and each chunk is written while it is still in the CPU's cache: with 1,000
//! streams in flight, pre-rendered chunks are 16 MB that every write reads back cold, which cost more
//! than rendering them (see the streaming figures in docs/benchmarks.md). A stream sent in one write (no
//! inter-token latency) is rendered whole, as a list of bytes. The bytes are the same either way.

use crate::render::anthropic::{MessageSource, MessageSteps};
use crate::render::sse::{ChunkStyle, StreamSteps};
use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// Streams with at least this many steps (summed over their choices, ~250 bytes each rendered:
/// about 1 MiB) are rendered step by step as they go out, even when sent in one write.
pub(crate) const LAZY_STEPS: usize = 4096;

/// Whether a stream of `steps` steps (summed over its choices) is rendered step by step as it goes
/// out (a [`Steps`]) rather than whole: a long one, and one `paced` over time (an inter-token latency,
/// or the engine model's token times) with more than one step.
pub(crate) fn is_lazy(steps: usize, paced: bool) -> bool {
    steps >= LAZY_STEPS || (paced && steps > 1)
}

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
