//! Rendering Anthropic Messages API responses: a whole `message` object, or its SSE event stream
//! (`message_start`, `content_block_start`, `ping`, `content_block_delta`, `content_block_stop`,
//! `message_delta`, `message_stop`, each as `event: X\ndata: {...}\n\n`).

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
pub struct ToolUse<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub input: &'a str,
}

/// One assistant message: text pieces (one per token) and/or a tool call.
pub struct Message<'a> {
    pub id: &'a str,
    pub model: &'a str,
    pub text: &'a [&'a str],
    pub tool: Option<ToolUse<'a>>,
    pub stop_reason: StopReason,
    pub stop_sequence: Option<&'a str>,
    pub input_tokens: u32,
    pub output_tokens: u32,
}

/// Bytes of tool input JSON sent per `input_json_delta`.
const JSON_DELTA_BYTES: usize = 24;

fn usage(buf: &mut Vec<u8>, input: u32, output: u32) {
    buf.extend_from_slice(b"{\"input_tokens\":");
    json::uint(buf, input);
    buf.extend_from_slice(
        b",\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":",
    );
    json::uint(buf, output);
    buf.push(b'}');
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

/// The whole non-streaming `message` object.
pub fn render(m: &Message<'_>) -> Vec<u8> {
    let mut buf = Vec::with_capacity(256 + m.text.iter().map(|t| t.len()).sum::<usize>());
    head(&mut buf, m);
    buf.extend_from_slice(b",\"content\":[");
    if !m.text.is_empty() || m.tool.is_none() {
        buf.extend_from_slice(b"{\"type\":\"text\",\"text\":");
        json::string(&mut buf, &m.text.concat());
        buf.push(b'}');
    }
    if let Some(t) = &m.tool {
        if !m.text.is_empty() {
            buf.push(b',');
        }
        tool_block(&mut buf, t, t.input);
    }
    buf.extend_from_slice(b"],");
    stop_fields(&mut buf, m);
    buf.extend_from_slice(b",\"usage\":");
    usage(&mut buf, m.input_tokens, m.output_tokens);
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
        Message { tool: self.tool.as_ref().map(|t| ToolUse { ..*t }), ..*self }
    }
}

/// A message that owns what it renders (its text pieces are the generator's static ones).
pub struct OwnedMessage {
    pub id: String,
    pub model: String,
    pub text: Vec<&'static str>,
    /// `(id, name, input)`.
    pub tool: Option<(String, String, String)>,
    pub stop_reason: StopReason,
    pub stop_sequence: Option<String>,
    pub input_tokens: u32,
    pub output_tokens: u32,
}

impl MessageSource for OwnedMessage {
    fn message(&self) -> Message<'_> {
        Message {
            id: &self.id,
            model: &self.model,
            text: &self.text,
            tool: self.tool.as_ref().map(|(id, name, input)| ToolUse { id, name, input }),
            stop_reason: self.stop_reason,
            stop_sequence: self.stop_sequence.as_deref(),
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
        }
    }
}

/// A message's stream as timed steps, each rendered when asked for: step 0 opens the message (and
/// its first block, a ping and the first delta), each further step carries one delta (a tool block
/// opens with its first JSON delta), the last also closes the block and the message (after a tool
/// block, the close is a step of its own).
pub struct MessageSteps<M> {
    message: M,
    /// The tool input's byte ranges, one per `input_json_delta`.
    json: Vec<Range<usize>>,
    /// Steps of the text block (at least the opening one).
    text_steps: usize,
    steps: usize,
}

impl<M: MessageSource> MessageSteps<M> {
    pub fn new(message: M) -> Self {
        let m = message.message();
        let json = m.tool.as_ref().map_or_else(Vec::new, |t| pieces(t.input, JSON_DELTA_BYTES));
        let text_steps = m.text.len().max(1);
        let steps = if m.tool.is_some() { text_steps + json.len().max(1) + 1 } else { text_steps };
        Self { message, json, text_steps, steps }
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
        let text_block = !m.text.is_empty() || m.tool.is_none();
        if k == 0 {
            event(buf, "message_start", |b| {
                b.extend_from_slice(b"{\"type\":\"message_start\",\"message\":");
                head(b, &m);
                b.extend_from_slice(
                    b",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":",
                );
                usage(b, m.input_tokens, 1);
                b.extend_from_slice(b"}}");
            });
            if text_block {
                block_event(buf, "content_block_start", 0, |b| {
                    b.extend_from_slice(b",\"content_block\":{\"type\":\"text\",\"text\":\"\"}");
                });
                event(buf, "ping", |b| b.extend_from_slice(b"{\"type\":\"ping\"}"));
            }
        }
        if let Some(piece) = m.text.get(k) {
            block_event(buf, "content_block_delta", 0, |b| {
                b.extend_from_slice(b",\"delta\":{\"type\":\"text_delta\",\"text\":");
                json::string(b, piece);
                b.push(b'}');
            });
        }
        let Some(t) = &m.tool else {
            if k + 1 == self.steps {
                block_event(buf, "content_block_stop", 0, |_| {});
                close(buf, &m);
            }
            return;
        };
        let index = usize::from(text_block);
        if k == self.text_steps {
            if text_block {
                block_event(buf, "content_block_stop", 0, |_| {});
            }
            block_event(buf, "content_block_start", index, |b| {
                b.extend_from_slice(b",\"content_block\":");
                tool_block(b, t, "{}");
            });
            if !text_block {
                event(buf, "ping", |b| b.extend_from_slice(b"{\"type\":\"ping\"}"));
            }
        }
        if let Some(range) = k.checked_sub(self.text_steps).and_then(|j| self.json.get(j)) {
            block_event(buf, "content_block_delta", index, |b| {
                b.extend_from_slice(b",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":");
                json::string(b, &t.input[range.clone()]);
                b.push(b'}');
            });
        }
        if k + 1 == self.steps {
            block_event(buf, "content_block_stop", index, |_| {});
            close(buf, &m);
        }
    }
}

/// The message's closing events: `message_delta` (stop reason, output tokens) and `message_stop`.
fn close(buf: &mut Vec<u8>, m: &Message<'_>) {
    event(buf, "message_delta", |b| {
        b.extend_from_slice(b"{\"type\":\"message_delta\",\"delta\":{");
        stop_fields(b, m);
        b.extend_from_slice(b"},\"usage\":{\"output_tokens\":");
        json::uint(b, m.output_tokens);
        b.extend_from_slice(b"}}");
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
            text,
            stop_reason: if tool.is_some() { StopReason::ToolUse } else { StopReason::EndTurn },
            tool,
            stop_sequence: None,
            input_tokens: 7,
            output_tokens: 3,
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
             \"output_tokens\":3}}"
        );
        let tool = ToolUse { id: "toolu_1", name: "f", input: "{\"a\":1}" };
        let body = String::from_utf8(render(&message(&[], Some(tool)))).unwrap();
        assert!(body.contains(
            "\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{\"a\":1}}]"
        ));
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
        assert!(text.contains("\"usage\":{\"output_tokens\":3}"));
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
        let cases: [(&[&'static str], Option<&str>); 5] =
            [(&long, None), (&[], None), (&long[..3], Some(input)), (&[], Some(input)), (&[], Some(""))];
        for (text, input) in cases {
            let tool = input.map(|input| ToolUse { id: "toolu_1", name: "w", input });
            let mut m = message(text, tool);
            m.stop_sequence = Some("\"b\"");
            let whole = render_stream(&m);
            let owned = OwnedMessage {
                id: m.id.to_owned(),
                model: m.model.to_owned(),
                text: text.to_vec(),
                tool: input.map(|input| ("toolu_1".to_owned(), "w".to_owned(), input.to_owned())),
                stop_reason: m.stop_reason,
                stop_sequence: m.stop_sequence.map(str::to_owned),
                input_tokens: m.input_tokens,
                output_tokens: m.output_tokens,
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

    #[test]
    fn first_stop_is_the_earliest_match() {
        let stops = vec!["zz".to_owned(), "lo".to_owned(), "He".to_owned()];
        assert_eq!(first_stop("Hello", &stops), Some("He"));
        assert_eq!(first_stop("abc", &stops), None);
    }
}
