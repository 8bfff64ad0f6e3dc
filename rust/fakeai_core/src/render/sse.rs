//! Server-sent-event streams of completion chunks, as timed steps.
//!
//! A stream is rendered up front as a list of steps: step `k` holds the chunks of every choice's `k`-th
//! token, to be written together at that token's deadline. Every chunk of a stream shares one
//! pre-rendered head (`data: {"id":...,"choices":[`), so a chunk costs a copy and its delta.

use crate::render::json;
use crate::render::usage::Usage;

/// The fields every object of one response shares.
pub struct Envelope<'a> {
    pub id: &'a str,
    pub object: &'a str,
    pub created: u64,
    pub model: &'a str,
    pub fingerprint: &'a str,
}

pub const DONE: &[u8] = b"data: [DONE]\n\n";

/// How one API shapes its chunks' choice objects (everything after `{"index":i`).
pub trait ChunkStyle {
    fn choices(&self) -> usize;
    /// Timed steps of choice `i` (one per token, for plain text).
    fn steps(&self, i: usize) -> usize;
    /// The chunk choice `i` opens with before its first token (chat: the role chunk), if any.
    fn opening(&self, _buf: &mut Vec<u8>, _i: usize) -> bool {
        false
    }
    fn token(&self, buf: &mut Vec<u8>, i: usize, k: usize);
    fn finish(&self, buf: &mut Vec<u8>, i: usize);
    /// How many of choice `i`'s first steps send nothing: they keep their time, but write no chunk
    /// (chat: the reasoning of a model that hides it). The opening waits for the first step that
    /// writes one (or for the last step).
    fn quiet(&self, _i: usize) -> usize {
        0
    }
}

pub struct ChunkWriter {
    head: Vec<u8>,
    tail: &'static [u8],
}

impl ChunkWriter {
    pub fn new(env: &Envelope<'_>, include_usage: bool) -> Self {
        let mut head = Vec::with_capacity(200);
        head.extend_from_slice(b"data: {\"id\":");
        json::string(&mut head, env.id);
        head.extend_from_slice(b",\"object\":");
        json::string(&mut head, env.object);
        head.extend_from_slice(b",\"created\":");
        json::uint(&mut head, env.created);
        head.extend_from_slice(b",\"model\":");
        json::string(&mut head, env.model);
        if env.object == "chat.completion.chunk" {
            head.extend_from_slice(b",\"service_tier\":\"default\""); // as OpenAI's chat chunks carry it
        }
        head.extend_from_slice(b",\"system_fingerprint\":");
        json::string(&mut head, env.fingerprint);
        head.extend_from_slice(b",\"choices\":[");
        let tail: &[u8] = if include_usage { b"],\"usage\":null}\n\n" } else { b"]}\n\n" };
        Self { head, tail }
    }

    fn chunk(&self, buf: &mut Vec<u8>, index: usize, body: impl FnOnce(&mut Vec<u8>) -> bool) {
        let start = buf.len();
        buf.extend_from_slice(&self.head);
        buf.extend_from_slice(b"{\"index\":");
        json::uint(buf, index);
        if body(buf) {
            buf.push(b'}');
            buf.extend_from_slice(self.tail);
        } else {
            buf.truncate(start);
        }
    }

    fn usage(&self, buf: &mut Vec<u8>, usage: &Usage) {
        buf.extend_from_slice(&self.head);
        buf.extend_from_slice(b"],");
        usage.render(buf);
        buf.extend_from_slice(b"}\n\n");
    }
}

impl<T: ChunkStyle> ChunkStyle for &T {
    fn choices(&self) -> usize {
        (**self).choices()
    }
    fn steps(&self, i: usize) -> usize {
        (**self).steps(i)
    }
    fn opening(&self, buf: &mut Vec<u8>, i: usize) -> bool {
        (**self).opening(buf, i)
    }
    fn token(&self, buf: &mut Vec<u8>, i: usize, k: usize) {
        (**self).token(buf, i, k)
    }
    fn finish(&self, buf: &mut Vec<u8>, i: usize) {
        (**self).finish(buf, i)
    }
    fn quiet(&self, i: usize) -> usize {
        (**self).quiet(i)
    }
}

/// A stream's steps, each rendered when asked for: what [`render_steps`] renders all at once, so a
/// long stream can hold its tokens instead of their rendered chunks (see `fakeai._core.Steps`).
/// With `usage`, a final chunk with empty `choices` carries it, and every other chunk has
/// `"usage":null`, as OpenAI's `include_usage` does.
pub struct StreamSteps<S> {
    writer: ChunkWriter,
    usage: Option<Usage>,
    style: S,
    steps: usize,
}

impl<S: ChunkStyle> StreamSteps<S> {
    pub fn new(env: &Envelope<'_>, usage: Option<&Usage>, style: S) -> Self {
        let writer = ChunkWriter::new(env, usage.is_some());
        let steps = (0..style.choices()).map(|i| style.steps(i)).max().unwrap_or(0).max(1);
        Self { writer, usage: usage.copied(), style, steps }
    }

    /// How many steps (at least one).
    pub fn len(&self) -> usize {
        self.steps
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Append step `k` (< `len()`): the chunks of every choice's `k`-th token; the last step also
    /// carries the usage chunk and `[DONE]`. A step of quiet tokens only ([`ChunkStyle::quiet`])
    /// appends nothing.
    pub fn render(&self, k: usize, buf: &mut Vec<u8>) {
        let (w, style) = (&self.writer, &self.style);
        for i in 0..style.choices() {
            let len = style.steps(i);
            let quiet = style.quiet(i);
            if k == quiet.min(len.saturating_sub(1)) {
                w.chunk(buf, i, |b| style.opening(b, i));
            }
            if k < len && k >= quiet {
                w.chunk(buf, i, |b| {
                    style.token(b, i, k);
                    true
                });
            }
            if k + 1 == len.max(1) {
                w.chunk(buf, i, |b| {
                    style.finish(b, i);
                    true
                });
            }
        }
        if k + 1 == self.steps {
            if let Some(u) = &self.usage {
                w.usage(buf, u);
            }
            buf.extend_from_slice(DONE);
        }
    }
}

/// Render a whole stream as steps (see the module docs and [`StreamSteps`]).
pub fn render_steps(env: &Envelope<'_>, usage: Option<&Usage>, style: &impl ChunkStyle) -> Vec<Vec<u8>> {
    let steps = StreamSteps::new(env, usage, style);
    let width = (steps.writer.head.len() + 64) * style.choices();
    (0..steps.len())
        .map(|k| {
            let mut buf = Vec::with_capacity(width);
            steps.render(k, &mut buf);
            buf
        })
        .collect()
}
