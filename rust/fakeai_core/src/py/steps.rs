//! `Steps`: a paced stream's SSE steps, held for the pacer to write as they come due.
//!
//! A stream whose steps go out over time ([`is_lazy`]: more than one step, spaced by an inter-token
//! latency or timed by the engine model, or a very long one) is not held as a list of bytes objects
//! (~250 bytes each, one allocation per step, scattered over the heap):
//!
//! - up to [`PACKED_STEPS`] steps, it is rendered at once into **one buffer** (its steps back to back
//!   and where each ends): a write is one copy out of a contiguous block that the CPU's prefetcher
//!   streams in. Rendering a step only when it comes due (what longer streams do) chases a chain of
//!   pointers per token (the stream's source, its choices, the token list, the vocabulary piece) that
//!   has gone cold in the 10 ms since the stream's last token: with 200 streams in flight those cache
//!   misses cost ~0.5 us per token, most of what fakeai's tokens cost over the bare floor's;
//! - longer streams keep their generated tokens and render each window of due steps as it is written
//!   ([`crate::render::sse::StreamSteps`] for chat and legacy completions,
//!   [`crate::render::anthropic::MessageSteps`] for Anthropic messages): a pointer per token rather
//!   than ~250 rendered bytes (a 100k-token stream holds ~2 MB, not 25 MB).
//!
//! A stream sent in one write (no inter-token latency) is rendered whole, as a list of bytes. The
//! bytes are the same every way.

use crate::render::anthropic::{MessageSource, MessageSteps};
use crate::render::sse::{ChunkStyle, StreamSteps};
use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// Streams with at least this many steps (summed over their choices, ~250 bytes each rendered:
/// about 1 MiB) are rendered step by step as they go out, even when sent in one write.
pub(crate) const LAZY_STEPS: usize = 4096;

/// Streams with at most this many steps are rendered into one buffer up front (~64 KB at most): memory
/// spent for cache locality. Longer ones render each step as it goes out.
pub(crate) const PACKED_STEPS: usize = 256;

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

/// How a stream's steps are held (see the module docs).
enum Body {
    /// Every step rendered, back to back; step `k` ends at `ends[k]`.
    Packed { bytes: Vec<u8>, ends: Vec<u32> },
    /// Rendered when asked for.
    Lazy(Box<dyn StepSource>),
}

/// A stream's steps: `len()` steps, `steps[k]` the bytes of step `k`, `window(start, end)` those of
/// steps `start..end` joined.
#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct Steps {
    body: Body,
}

impl Steps {
    pub(crate) fn new(source: impl StepSource + 'static) -> Self {
        let count = source.len();
        if count > PACKED_STEPS {
            return Steps { body: Body::Lazy(Box::new(source)) };
        }
        let mut bytes = Vec::new();
        let mut ends = Vec::with_capacity(count);
        for k in 0..count {
            if k == 2 {
                // the first step carries the opening, the last the end: the second is a typical one
                let typical = ends[1] as usize - ends[0] as usize;
                bytes.reserve(typical * (count - 2) + 1024);
            }
            source.render(k, &mut bytes);
            // a few hundred steps of at most a few KB each: far below 4 GiB
            ends.push(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        }
        Steps { body: Body::Packed { bytes, ends } }
    }

    pub(crate) fn count(&self) -> usize {
        match &self.body {
            Body::Packed { ends, .. } => ends.len(),
            Body::Lazy(source) => source.len(),
        }
    }

    /// Steps `range` joined: a slice of the packed buffer, or rendered into `scratch` (cleared first).
    pub(crate) fn bytes<'a>(&'a self, range: std::ops::Range<usize>, scratch: &'a mut Vec<u8>) -> &'a [u8] {
        match &self.body {
            Body::Packed { bytes, ends } => {
                if range.is_empty() {
                    return &[];
                }
                let start = if range.start == 0 { 0 } else { ends[range.start - 1] as usize };
                &bytes[start..ends[range.end - 1] as usize]
            }
            Body::Lazy(source) => {
                scratch.clear();
                for k in range {
                    source.render(k, scratch);
                }
                scratch
            }
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
        let mut scratch = Vec::new();
        Ok(PyBytes::new(py, self.bytes(start.min(end)..end, &mut scratch)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Step `k` is `k % 7 + 1` copies of the letter `k % 26`: steps of uneven sizes.
    struct Letters(usize);

    impl StepSource for Letters {
        fn len(&self) -> usize {
            self.0
        }

        fn render(&self, k: usize, buf: &mut Vec<u8>) {
            buf.extend(std::iter::repeat_n(b'a' + (k % 26) as u8, k % 7 + 1));
        }
    }

    #[test]
    fn packed_and_lazy_streams_give_the_same_bytes_for_every_window() {
        for count in [1, 2, 3, 64, PACKED_STEPS, PACKED_STEPS + 1, 300] {
            let steps = Steps::new(Letters(count));
            assert_eq!(matches!(steps.body, Body::Packed { .. }), count <= PACKED_STEPS);
            assert_eq!(steps.count(), count);
            let mut scratch = Vec::new();
            for (start, end) in [(0, 1), (0, count), (count - 1, count), (count / 2, count), (1, 1)] {
                let mut want = Vec::new();
                (start..end).for_each(|k| Letters(count).render(k, &mut want));
                assert_eq!(steps.bytes(start..end, &mut scratch), &want[..], "{count}: {start}..{end}");
            }
        }
    }
}
