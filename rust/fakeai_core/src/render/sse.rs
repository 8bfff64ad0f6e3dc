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

/// Render a whole stream as steps (see the module docs). With `usage`, a final chunk with empty
/// `choices` carries it, and every other chunk has `"usage":null`, as OpenAI's `include_usage` does.
pub fn render_steps(env: &Envelope<'_>, usage: Option<&Usage>, style: &impl ChunkStyle) -> Vec<Vec<u8>> {
    let w = ChunkWriter::new(env, usage.is_some());
    let n = style.choices();
    let steps = (0..n).map(|i| style.steps(i)).max().unwrap_or(0).max(1);
    let mut out = Vec::with_capacity(steps);
    for k in 0..steps {
        let mut buf = Vec::with_capacity((w.head.len() + 64) * n);
        for i in 0..n {
            let len = style.steps(i);
            if k == 0 {
                w.chunk(&mut buf, i, |b| style.opening(b, i));
            }
            if k < len {
                w.chunk(&mut buf, i, |b| {
                    style.token(b, i, k);
                    true
                });
            }
            if k + 1 == len.max(1) {
                w.chunk(&mut buf, i, |b| {
                    style.finish(b, i);
                    true
                });
            }
        }
        out.push(buf);
    }
    let last = out.last_mut().expect("at least one step");
    if let Some(u) = usage {
        w.usage(last, u);
    }
    last.extend_from_slice(DONE);
    out
}
