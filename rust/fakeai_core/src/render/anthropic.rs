//! Rendering Anthropic Messages API responses: a whole `message` object, or its SSE event stream
//! (`message_start`, `content_block_start`, `ping`, `content_block_delta`, `content_block_stop`,
//! `message_delta`, `message_stop`, each as `event: X\ndata: {...}\n\n`).
//!
//! A message's content is, in this order: a `thinking` block (extended thinking: its text, then its
//! `signature`), the server tools' calls (a `server_tool_use` block then its result block, e.g.
//! `web_search_tool_result`, per call), a `text` block (present unless the message is only a tool
//! call; with `citations` after a web search), and a `tool_use` block. Streamed, each block opens
//! with `content_block_start`, carries its deltas (`thinking_delta`s then one `signature_delta`,
//! `input_json_delta`s of a server call's input, `citations_delta`s then `text_delta`s,
//! `input_json_delta`s) and closes with `content_block_stop` before the next one opens; a result
//! block comes whole in its `content_block_start`, as Anthropic streams it. A message that used a
//! server tool reports `usage.server_tool_use` (`web_search_requests`, `web_fetch_requests`), and
//! one that ran code its `container` (in the message, and streamed in `message_delta`).

use crate::render::json;
use std::ops::Range;

/// Why the message ended, as Anthropic reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    EndTurn,
    MaxTokens,
    StopSequence,
    ToolUse,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::EndTurn => "end_turn",
            StopReason::MaxTokens => "max_tokens",
            StopReason::StopSequence => "stop_sequence",
            StopReason::ToolUse => "tool_use",
        }
    }
}

/// A `tool_use` content block; `input` is its JSON object, already rendered.
#[derive(Clone, Copy)]
pub struct ToolUse<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub input: &'a str,
}

/// A server tool's call and result: a `server_tool_use` block (`id`, `name`, `input` JSON) and the
/// result block that follows it, whole (`{"type": "web_search_tool_result", ...}`), both rendered by
/// the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerBlock {
    pub id: String,
    pub name: String,
    pub input: String,
    pub result: String,
}

/// A `thinking` content block: its text pieces (one per token) and its `signature`.
#[derive(Clone, Copy)]
pub struct Thinking<'a> {
    pub text: &'a [&'a str],
    pub signature: &'a str,
}

/// A message's `usage`, split as Anthropic splits it: `input` is what was neither read from the
/// prompt cache (`cache_read`) nor written to it (`cache_write_5m`, `cache_write_1h`, by the
/// breakpoints' `ttl`); `output` includes the `thinking` tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub input: u32,
    pub cache_read: u32,
    pub cache_write_5m: u32,
    pub cache_write_1h: u32,
    pub output: u32,
    pub thinking: u32,
    /// `(web_search_requests, web_fetch_requests)` when a server tool ran.
    pub server_tool_use: Option<(u32, u32)>,
}

/// One assistant message: optional thinking, text pieces (one per token) and/or a tool call.
pub struct Message<'a> {
    pub id: &'a str,
    pub model: &'a str,
    pub thinking: Option<Thinking<'a>>,
    /// The server tools' calls and results, before the text.
    pub server: &'a [ServerBlock],
    pub text: &'a [&'a str],
    /// The text block's citations, each a JSON object.
    pub citations: &'a [String],
    pub tool: Option<ToolUse<'a>>,
    pub stop_reason: StopReason,
    pub stop_sequence: Option<&'a str>,
    pub usage: Usage,
    /// The code execution `container` object (JSON).
    pub container: Option<&'a str>,
}

impl Message<'_> {
    /// Whether the message has a `text` block (all do but a bare tool call).
    fn has_text(&self) -> bool {
        !self.text.is_empty() || self.tool.is_none()
    }
}

/// Bytes of tool input JSON sent per `input_json_delta`.
const JSON_DELTA_BYTES: usize = 24;

/// `usage` with `output` output tokens (the message's own, or the 1 `message_start` reports).
fn usage(buf: &mut Vec<u8>, u: &Usage, output: u32) {
    input_split(buf, u);
    buf.extend_from_slice(b",\"cache_creation\":{\"ephemeral_5m_input_tokens\":");
    json::uint(buf, u.cache_write_5m);
    buf.extend_from_slice(b",\"ephemeral_1h_input_tokens\":");
    json::uint(buf, u.cache_write_1h);
    buf.extend_from_slice(b"},\"output_tokens\":");
    json::uint(buf, output);
    thinking_details(buf, u);
    if u.server_tool_use.is_some() {
        buf.push(b',');
        server_tool_use(buf, u);
    }
    buf.push(b'}');
}

/// `"server_tool_use":{...}` (or `null` when no server tool ran).
fn server_tool_use(buf: &mut Vec<u8>, u: &Usage) {
    buf.extend_from_slice(b"\"server_tool_use\":");
    match u.server_tool_use {
        Some((search, fetch)) => {
            buf.extend_from_slice(b"{\"web_search_requests\":");
            json::uint(buf, search);
            buf.extend_from_slice(b",\"web_fetch_requests\":");
            json::uint(buf, fetch);
            buf.push(b'}');
        }
        None => buf.extend_from_slice(b"null"),
    }
}

/// A `usage` object's opening and its input split: uncached, cache written, cache read.
fn input_split(buf: &mut Vec<u8>, u: &Usage) {
    buf.extend_from_slice(b"{\"input_tokens\":");
    json::uint(buf, u.input);
    buf.extend_from_slice(b",\"cache_creation_input_tokens\":");
    json::uint(buf, u.cache_write_5m.saturating_add(u.cache_write_1h));
    buf.extend_from_slice(b",\"cache_read_input_tokens\":");
    json::uint(buf, u.cache_read);
}

/// `message_delta`'s `usage`: cumulative, so the whole input split as well as the output tokens.
fn delta_usage(buf: &mut Vec<u8>, u: &Usage) {
    input_split(buf, u);
    buf.extend_from_slice(b",\"output_tokens\":");
    json::uint(buf, u.output);
    thinking_details(buf, u);
    buf.push(b',');
    server_tool_use(buf, u);
    buf.push(b'}');
}

/// `,"output_tokens_details":{"thinking_tokens":N}` when the message thought.
fn thinking_details(buf: &mut Vec<u8>, u: &Usage) {
    if u.thinking > 0 {
        buf.extend_from_slice(b",\"output_tokens_details\":{\"thinking_tokens\":");
        json::uint(buf, u.thinking);
        buf.push(b'}');
    }
}

fn stop_fields(buf: &mut Vec<u8>, m: &Message<'_>) {
    buf.extend_from_slice(b"\"stop_reason\":\"");
    buf.extend_from_slice(m.stop_reason.as_str().as_bytes());
    buf.extend_from_slice(b"\",\"stop_sequence\":");
    match m.stop_sequence {
        Some(s) => json::string(buf, s),
        None => buf.extend_from_slice(b"null"),
    }
}

fn head(buf: &mut Vec<u8>, m: &Message<'_>) {
    buf.extend_from_slice(b"{\"id\":");
    json::string(buf, m.id);
    buf.extend_from_slice(b",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
    json::string(buf, m.model);
}

fn tool_block(buf: &mut Vec<u8>, t: &ToolUse<'_>, input: &str) {
    buf.extend_from_slice(b"{\"type\":\"tool_use\",\"id\":");
    json::string(buf, t.id);
    buf.extend_from_slice(b",\"name\":");
    json::string(buf, t.name);
    buf.extend_from_slice(b",\"input\":");
    buf.extend_from_slice(input.as_bytes());
    buf.push(b'}');
}

fn server_use_block(buf: &mut Vec<u8>, s: &ServerBlock, input: &str) {
    buf.extend_from_slice(b"{\"type\":\"server_tool_use\",\"id\":");
    json::string(buf, &s.id);
    buf.extend_from_slice(b",\"name\":");
    json::string(buf, &s.name);
    buf.extend_from_slice(b",\"input\":");
    buf.extend_from_slice(input.as_bytes());
    buf.push(b'}');
}

/// `,"citations":[...]` when the text block has some.
fn citations(buf: &mut Vec<u8>, cited: &[String]) {
    if cited.is_empty() {
        return;
    }
    buf.extend_from_slice(b",\"citations\":[");
    for (i, c) in cited.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(c.as_bytes());
    }
    buf.push(b']');
}

fn thinking_block(buf: &mut Vec<u8>, text: &[&str], signature: &str) {
    buf.extend_from_slice(b"{\"type\":\"thinking\",\"thinking\":");
    json::string_of(buf, text);
    buf.extend_from_slice(b",\"signature\":");
    json::string(buf, signature);
    buf.push(b'}');
}

/// The whole non-streaming `message` object.
pub fn render(m: &Message<'_>) -> Vec<u8> {
    let thought = m.thinking.map_or(0, |t| t.text.iter().map(|p| p.len()).sum::<usize>() + 128);
    let server: usize = m.server.iter().map(|s| s.input.len() + s.result.len() + 96).sum();
    let mut buf = Vec::with_capacity(384 + thought + server + m.text.iter().map(|t| t.len()).sum::<usize>());
    head(&mut buf, m);
    buf.extend_from_slice(b",\"content\":[");
    let mut first = true;
    let mut next = |buf: &mut Vec<u8>| {
        if !std::mem::take(&mut first) {
            buf.push(b',');
        }
    };
    if let Some(t) = &m.thinking {
        next(&mut buf);
        thinking_block(&mut buf, t.text, t.signature);
    }
    for s in m.server {
        next(&mut buf);
        server_use_block(&mut buf, s, &s.input);
        buf.push(b',');
        buf.extend_from_slice(s.result.as_bytes());
    }
    if m.has_text() {
        next(&mut buf);
        buf.extend_from_slice(b"{\"type\":\"text\",\"text\":");
        json::string_of(&mut buf, m.text);
        citations(&mut buf, m.citations);
        buf.push(b'}');
    }
    if let Some(t) = &m.tool {
        next(&mut buf);
        tool_block(&mut buf, t, t.input);
    }
    buf.extend_from_slice(b"],");
    stop_fields(&mut buf, m);
    buf.extend_from_slice(b",\"usage\":");
    usage(&mut buf, &m.usage, m.usage.output);
    if let Some(c) = m.container {
        buf.extend_from_slice(b",\"container\":");
        buf.extend_from_slice(c.as_bytes());
    }
    buf.push(b'}');
    buf
}

fn event(buf: &mut Vec<u8>, name: &str, data: impl FnOnce(&mut Vec<u8>)) {
    buf.extend_from_slice(b"event: ");
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b"\ndata: ");
    data(buf);
    buf.extend_from_slice(b"\n\n");
}

fn block_event(buf: &mut Vec<u8>, name: &str, index: usize, rest: impl FnOnce(&mut Vec<u8>)) {
    event(buf, name, |b| {
        b.extend_from_slice(b"{\"type\":\"");
        b.extend_from_slice(name.as_bytes());
        b.extend_from_slice(b"\",\"index\":");
        json::uint(b, index);
        rest(b);
        b.push(b'}');
    });
}

fn delta(buf: &mut Vec<u8>, index: usize, kind: &str, field: &str, value: &str) {
    block_event(buf, "content_block_delta", index, |b| {
        b.extend_from_slice(b",\"delta\":{\"type\":\"");
        b.extend_from_slice(kind.as_bytes());
        b.extend_from_slice(b"\",\"");
        b.extend_from_slice(field.as_bytes());
        b.extend_from_slice(b"\":");
        json::string(b, value);
        b.push(b'}');
    });
}

/// The byte ranges of `s` in pieces of about `size` bytes, on character boundaries.
fn pieces(s: &str, size: usize) -> Vec<Range<usize>> {
    let mut out = Vec::with_capacity(s.len() / size + 1);
    let mut start = 0;
    while start < s.len() {
        let mut end = (start + size).min(s.len());
        while !s.is_char_boundary(end) {
            end += 1;
        }
        out.push(start..end);
        start = end;
    }
    out
}

/// What a stream renders from: a borrowed [`Message`], or an [`OwnedMessage`] that a lazily
/// rendered stream keeps.
pub trait MessageSource {
    fn message(&self) -> Message<'_>;
}

impl MessageSource for Message<'_> {
    fn message(&self) -> Message<'_> {
        Message { ..*self }
    }
}

/// A message that owns what it renders (its text pieces are the generator's static ones).
pub struct OwnedMessage {
    pub id: String,
    pub model: String,
    /// The thinking's pieces and signature.
    pub thinking: Option<(Vec<&'static str>, String)>,
    pub server: Vec<ServerBlock>,
    pub text: Vec<&'static str>,
    pub citations: Vec<String>,
    /// `(id, name, input)`.
    pub tool: Option<(String, String, String)>,
    pub stop_reason: StopReason,
    pub stop_sequence: Option<String>,
    pub usage: Usage,
    pub container: Option<String>,
}

impl MessageSource for OwnedMessage {
    fn message(&self) -> Message<'_> {
        Message {
            id: &self.id,
            model: &self.model,
            thinking: self.thinking.as_ref().map(|(text, signature)| Thinking { text, signature }),
            server: &self.server,
            text: &self.text,
            citations: &self.citations,
            tool: self.tool.as_ref().map(|(id, name, input)| ToolUse { id, name, input }),
            stop_reason: self.stop_reason,
            stop_sequence: self.stop_sequence.as_deref(),
            usage: self.usage,
            container: self.container.as_deref(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Thinking,
    /// Server call `i`'s `server_tool_use` block, and its result block.
    ServerUse(usize),
    ServerResult(usize),
    Text,
    Tool,
}

/// A message's stream as timed steps, each rendered when asked for. Every step carries one delta of
/// one block: a thinking block takes a step per piece and one for its signature, a server call's
/// block one per JSON piece of its input (at least one) and its result block one (no delta), a text
/// block one per piece (at least one; the first also carries the citations), a tool block one per
/// JSON piece (at least one). Step 0 also opens the
/// message; a block's first step closes the block before it, opens its own (the first block is
/// followed by a `ping`); the last step closes the last block and the message.
pub struct MessageSteps<M> {
    message: M,
    /// The tool input's byte ranges, one per `input_json_delta`.
    json: Vec<Range<usize>>,
    /// Each server call's input's byte ranges.
    server_json: Vec<Vec<Range<usize>>>,
    /// The blocks, in content order, with their steps.
    blocks: Vec<(Kind, usize)>,
    steps: usize,
}

impl<M: MessageSource> MessageSteps<M> {
    pub fn new(message: M) -> Self {
        let m = message.message();
        let json = m.tool.as_ref().map_or_else(Vec::new, |t| pieces(t.input, JSON_DELTA_BYTES));
        let server_json: Vec<_> = m.server.iter().map(|s| pieces(&s.input, JSON_DELTA_BYTES)).collect();
        let mut blocks = Vec::with_capacity(3 + 2 * m.server.len());
        if let Some(t) = &m.thinking {
            blocks.push((Kind::Thinking, t.text.len() + 1));
        }
        for (i, json) in server_json.iter().enumerate() {
            blocks.push((Kind::ServerUse(i), json.len().max(1)));
            blocks.push((Kind::ServerResult(i), 1));
        }
        if m.has_text() {
            blocks.push((Kind::Text, m.text.len().max(1)));
        }
        if m.tool.is_some() {
            blocks.push((Kind::Tool, json.len().max(1)));
        }
        let steps = blocks.iter().map(|b| b.1).sum();
        Self { message, json, server_json, blocks, steps }
    }

    /// How many steps (at least one).
    pub fn len(&self) -> usize {
        self.steps
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Append step `k` (< `len()`).
    pub fn render(&self, k: usize, buf: &mut Vec<u8>) {
        let m = self.message.message();
        if k == 0 {
            event(buf, "message_start", |b| {
                b.extend_from_slice(b"{\"type\":\"message_start\",\"message\":");
                head(b, &m);
                b.extend_from_slice(
                    b",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":",
                );
                usage(b, &Usage { thinking: 0, ..m.usage }, 1);
                b.extend_from_slice(b"}}");
            });
        }
        let (mut index, mut j) = (0, k);
        while index + 1 < self.blocks.len() && j >= self.blocks[index].1 {
            j -= self.blocks[index].1;
            index += 1;
        }
        let kind = self.blocks[index].0;
        if j == 0 {
            if index > 0 {
                block_event(buf, "content_block_stop", index - 1, |_| {});
            }
            block_event(buf, "content_block_start", index, |b| {
                b.extend_from_slice(b",\"content_block\":");
                match (kind, &m.tool) {
                    (Kind::Thinking, _) => thinking_block(b, &[], ""),
                    (Kind::ServerUse(i), _) => server_use_block(b, &m.server[i], "{}"),
                    (Kind::ServerResult(i), _) => b.extend_from_slice(m.server[i].result.as_bytes()),
                    (Kind::Tool, Some(t)) => tool_block(b, t, "{}"),
                    _ => b.extend_from_slice(b"{\"type\":\"text\",\"text\":\"\"}"),
                }
            });
            if index == 0 {
                event(buf, "ping", |b| b.extend_from_slice(b"{\"type\":\"ping\"}"));
            }
        }
        match (kind, &m.thinking, &m.tool) {
            (Kind::Thinking, Some(t), _) => match t.text.get(j) {
                Some(piece) => delta(buf, index, "thinking_delta", "thinking", piece),
                None => delta(buf, index, "signature_delta", "signature", t.signature),
            },
            (Kind::ServerUse(i), _, _) => {
                if let Some(range) = self.server_json[i].get(j) {
                    let input = &m.server[i].input;
                    delta(buf, index, "input_json_delta", "partial_json", &input[range.clone()]);
                }
            }
            (Kind::Text, _, _) => {
                if j == 0 {
                    for c in m.citations {
                        block_event(buf, "content_block_delta", index, |b| {
                            b.extend_from_slice(b",\"delta\":{\"type\":\"citations_delta\",\"citation\":");
                            b.extend_from_slice(c.as_bytes());
                            b.push(b'}');
                        });
                    }
                }
                if let Some(piece) = m.text.get(j) {
                    delta(buf, index, "text_delta", "text", piece);
                }
            }
            (Kind::Tool, _, Some(t)) => {
                if let Some(range) = self.json.get(j) {
                    delta(buf, index, "input_json_delta", "partial_json", &t.input[range.clone()]);
                }
            }
            _ => {}
        }
        if k + 1 == self.steps {
            block_event(buf, "content_block_stop", index, |_| {});
            close(buf, &m);
        }
    }
}

/// The message's closing events: `message_delta` (stop reason, and the cumulative usage Anthropic's
/// `MessageDeltaUsage` carries: input, cache reads and writes, output, `server_tool_use`) and
/// `message_stop`. Clients such as LangChain read the whole usage from this event alone.
fn close(buf: &mut Vec<u8>, m: &Message<'_>) {
    event(buf, "message_delta", |b| {
        b.extend_from_slice(b"{\"type\":\"message_delta\",\"delta\":{");
        stop_fields(b, m);
        if let Some(c) = m.container {
            b.extend_from_slice(b",\"container\":");
            b.extend_from_slice(c.as_bytes());
        }
        b.extend_from_slice(b"},\"usage\":");
        delta_usage(b, &m.usage);
        b.push(b'}');
    });
    event(buf, "message_stop", |b| b.extend_from_slice(b"{\"type\":\"message_stop\"}"));
}

/// The whole stream as timed steps (see [`MessageSteps`]).
pub fn render_stream(m: &Message<'_>) -> Vec<Vec<u8>> {
    let steps = MessageSteps::new(m.message());
    (0..steps.len())
        .map(|k| {
            let mut buf = Vec::with_capacity(if k == 0 { 512 } else { 128 });
            steps.render(k, &mut buf);
            buf
        })
        .collect()
}

/// The earliest of `stops` in `text`, if any (the `stop_sequence` Anthropic reports).
pub fn first_stop<'s>(text: &str, stops: &'s [String]) -> Option<&'s str> {
    stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()).map(|at| (at, s)))
        .min()
        .map(|(_, s)| s.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message<'a>(text: &'a [&'a str], tool: Option<ToolUse<'a>>) -> Message<'a> {
        Message {
            id: "msg_1",
            model: "claude",
            thinking: None,
            server: &[],
            text,
            citations: &[],
            stop_reason: if tool.is_some() { StopReason::ToolUse } else { StopReason::EndTurn },
            tool,
            stop_sequence: None,
            usage: Usage { input: 7, output: 3, ..Usage::default() },
            container: None,
        }
    }

    fn events(steps: &[Vec<u8>]) -> Vec<String> {
        let text = String::from_utf8(steps.concat()).unwrap();
        text.split("\n\n")
            .filter(|e| !e.is_empty())
            .map(|e| e.lines().next().unwrap().trim_start_matches("event: ").to_owned())
            .collect()
    }

    #[test]
    fn whole_message_has_the_sdk_fields() {
        let body = String::from_utf8(render(&message(&["Hi", " there"], None))).unwrap();
        assert_eq!(
            body,
            "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":\
             [{\"type\":\"text\",\"text\":\"Hi there\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\
             \"usage\":{\"input_tokens\":7,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\
             \"cache_creation\":{\"ephemeral_5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":0},\
             \"output_tokens\":3}}"
        );
        let tool = ToolUse { id: "toolu_1", name: "f", input: "{\"a\":1}" };
        let body = String::from_utf8(render(&message(&[], Some(tool)))).unwrap();
        assert!(body.contains(
            "\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{\"a\":1}}]"
        ));
    }

    #[test]
    fn usage_splits_cache_reads_and_writes_by_ttl() {
        let mut m = message(&["x"], None);
        m.usage = Usage {
            input: 5,
            cache_read: 100,
            cache_write_5m: 20,
            cache_write_1h: 30,
            output: 9,
            thinking: 4,
            server_tool_use: None,
        };
        let body = String::from_utf8(render(&m)).unwrap();
        assert!(body.contains(
            "\"usage\":{\"input_tokens\":5,\"cache_creation_input_tokens\":50,\"cache_read_input_tokens\":100,\
             \"cache_creation\":{\"ephemeral_5m_input_tokens\":20,\"ephemeral_1h_input_tokens\":30},\
             \"output_tokens\":9,\"output_tokens_details\":{\"thinking_tokens\":4}}"
        ));
        let stream = String::from_utf8(render_stream(&m).concat()).unwrap();
        assert!(stream.contains("\"cache_read_input_tokens\":100"));
        assert!(stream.contains(
            "\"usage\":{\"input_tokens\":5,\"cache_creation_input_tokens\":50,\"cache_read_input_tokens\":100,\
             \"output_tokens\":9,\"output_tokens_details\":{\"thinking_tokens\":4},\"server_tool_use\":null}}"
        ));
    }

    #[test]
    fn thinking_comes_first_with_its_signature() {
        let thought = ["Let", " me", " think"];
        let mut m = message(&["Hi"], None);
        m.thinking = Some(Thinking { text: &thought, signature: "c2ln" });
        let body = String::from_utf8(render(&m)).unwrap();
        assert!(body.contains(
            "\"content\":[{\"type\":\"thinking\",\"thinking\":\"Let me think\",\"signature\":\"c2ln\"},\
             {\"type\":\"text\",\"text\":\"Hi\"}]"
        ));
        let steps = render_stream(&m);
        assert_eq!(steps.len(), 3 + 1 + 1);
        assert_eq!(
            events(&steps),
            [
                "message_start",
                "content_block_start",
                "ping",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        let text = String::from_utf8(steps.concat()).unwrap();
        assert!(text.contains(
            "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\
             \"thinking\":\"\",\"signature\":\"\"}}"
        ));
        assert!(text.contains("\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\" me\"}"));
        assert!(text.contains("\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"c2ln\"}"));
        assert!(text.contains("{\"type\":\"content_block_stop\",\"index\":0}"));
        assert!(text.contains("\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}"));
        // thinking then a bare tool call: the tool block is index 1
        let tool = ToolUse { id: "toolu_1", name: "f", input: "{}" };
        let mut m = message(&[], Some(tool));
        m.thinking = Some(Thinking { text: &thought, signature: "c2ln" });
        let text = String::from_utf8(render_stream(&m).concat()).unwrap();
        assert!(text.contains("\"index\":1,\"content_block\":{\"type\":\"tool_use\""));
        assert!(!text.contains("\"type\":\"text\""));
    }

    #[test]
    fn stream_follows_anthropics_event_sequence() {
        let steps = render_stream(&message(&["A", " b", " c"], None));
        assert_eq!(steps.len(), 3);
        assert_eq!(
            events(&steps),
            [
                "message_start",
                "content_block_start",
                "ping",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        let text = String::from_utf8(steps.concat()).unwrap();
        assert!(text.contains("\"delta\":{\"type\":\"text_delta\",\"text\":\" b\"}"));
        assert!(text.contains(
            "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\
             \"usage\":{\"input_tokens\":7,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\
             \"output_tokens\":3,\"server_tool_use\":null}}"
        ));
    }

    #[test]
    fn tool_input_streams_as_json_deltas_that_rejoin() {
        let input = "{\"location\":\"San Francisco, CA\",\"unit\":\"celsius\"}";
        let steps = render_stream(&message(&[], Some(ToolUse { id: "toolu_1", name: "w", input })));
        let names = events(&steps);
        assert_eq!(names[..3], ["message_start", "content_block_start", "ping"]);
        let text = String::from_utf8(steps.concat()).unwrap();
        let joined: String = text
            .split("\"partial_json\":")
            .skip(1)
            .map(|rest| {
                let end = rest.find("}}").unwrap();
                let lit = &rest[..end];
                lit[1..lit.len() - 1].replace("\\\"", "\"")
            })
            .collect();
        assert_eq!(joined, input);
        assert!(names.ends_with(&[
            "content_block_stop".into(),
            "message_delta".into(),
            "message_stop".into()
        ]));
        assert!(text.contains("\"stop_reason\":\"tool_use\""));
    }

    #[test]
    fn lazy_steps_equal_the_whole_rendering() {
        let long: Vec<&'static str> = (0..5000).map(|k| [" a", " \"b\"", "\u{e9}"][k % 3]).collect();
        let input = "{\"city\":\"Z\u{fc}rich, \u{e9}t\u{e9}\",\"days\":[1,2,3,4,5,6,7,8,9,10]}";
        let thought: &[&'static str] = &long[..7];
        let cases: [(&[&'static str], Option<&str>, bool); 7] = [
            (&long, None, false),
            (&[], None, false),
            (&long[..3], Some(input), false),
            (&[], Some(input), false),
            (&[], Some(""), false),
            (&long[..3], None, true),
            (&[], Some(input), true),
        ];
        for (text, input, thinks) in cases {
            let tool = input.map(|input| ToolUse { id: "toolu_1", name: "w", input });
            let mut m = message(text, tool);
            m.stop_sequence = Some("\"b\"");
            m.thinking = thinks.then_some(Thinking { text: thought, signature: "c2ln" });
            let server = if thinks { search() } else { Vec::new() };
            let cited = if thinks {
                vec!["{\"type\":\"web_search_result_location\"}".to_owned()]
            } else {
                Vec::new()
            };
            m.server = &server;
            m.citations = &cited;
            let whole = render_stream(&m);
            let owned = OwnedMessage {
                id: m.id.to_owned(),
                model: m.model.to_owned(),
                thinking: thinks.then(|| (thought.to_vec(), "c2ln".to_owned())),
                server: server.clone(),
                text: text.to_vec(),
                citations: cited.clone(),
                tool: input.map(|input| ("toolu_1".to_owned(), "w".to_owned(), input.to_owned())),
                stop_reason: m.stop_reason,
                stop_sequence: m.stop_sequence.map(str::to_owned),
                usage: m.usage,
                container: None,
            };
            let lazy = MessageSteps::new(owned);
            assert_eq!(lazy.len(), whole.len());
            for (k, step) in whole.iter().enumerate() {
                let mut buf = Vec::new();
                lazy.render(k, &mut buf);
                assert_eq!(&buf, step, "step {k}");
            }
        }
    }

    fn search() -> Vec<ServerBlock> {
        vec![ServerBlock {
            id: "srvtoolu_1".into(),
            name: "web_search".into(),
            input: "{\"query\":\"rust async runtimes compared\"}".into(),
            result: "{\"type\":\"web_search_tool_result\",\"tool_use_id\":\"srvtoolu_1\",\"content\":[]}"
                .into(),
        }]
    }

    #[test]
    fn server_calls_come_before_the_cited_text() {
        let server = search();
        let cited = vec!["{\"type\":\"web_search_result_location\",\"url\":\"u\"}".to_owned()];
        let mut m = message(&["Hi"], None);
        m.server = &server;
        m.citations = &cited;
        m.usage.server_tool_use = Some((1, 0));
        m.container = Some("{\"id\":\"container_1\",\"expires_at\":\"2030-01-01T00:00:00Z\"}");
        let body = String::from_utf8(render(&m)).unwrap();
        assert!(body.contains(
            "\"content\":[{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\",\
             \"input\":{\"query\":\"rust async runtimes compared\"}},{\"type\":\"web_search_tool_result\",\
             \"tool_use_id\":\"srvtoolu_1\",\"content\":[]},{\"type\":\"text\",\"text\":\"Hi\",\"citations\":\
             [{\"type\":\"web_search_result_location\",\"url\":\"u\"}]}]"
        ));
        assert!(body.contains("\"server_tool_use\":{\"web_search_requests\":1,\"web_fetch_requests\":0}"));
        assert!(body
            .ends_with(",\"container\":{\"id\":\"container_1\",\"expires_at\":\"2030-01-01T00:00:00Z\"}}"));
        let steps = render_stream(&m);
        assert_eq!(
            events(&steps),
            [
                "message_start",
                "content_block_start",
                "ping",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        let text = String::from_utf8(steps.concat()).unwrap();
        assert!(text.contains(
            "\"index\":0,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\
             \"name\":\"web_search\",\"input\":{}}"
        ));
        assert!(text.contains("\"index\":1,\"content_block\":{\"type\":\"web_search_tool_result\""));
        assert!(text.contains(
            "\"index\":2,\"delta\":{\"type\":\"citations_delta\",\"citation\":{\"type\":\"web_search_result_location\""
        ));
        assert!(
            text.contains("\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"container\":{")
        );
        assert!(text.contains("\"server_tool_use\":{\"web_search_requests\":1,\"web_fetch_requests\":0}}}"));
    }

    #[test]
    fn first_stop_is_the_earliest_match() {
        let stops = vec!["zz".to_owned(), "lo".to_owned(), "He".to_owned()];
        assert_eq!(first_stop("Hello", &stops), Some("He"));
        assert_eq!(first_stop("abc", &stops), None);
    }
}
