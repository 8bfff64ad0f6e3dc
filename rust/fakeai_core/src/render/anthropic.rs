//! Rendering Anthropic Messages API responses: a whole `message` object, or its SSE event stream
//! (`message_start`, `content_block_start`, `ping`, `content_block_delta`, `content_block_stop`,
//! `message_delta`, `message_stop`, each as `event: X\ndata: {...}\n\n`).

use crate::render::json;

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

/// Split `s` into pieces of about `size` bytes, on character boundaries.
fn pieces(s: &str, size: usize) -> Vec<&str> {
    let mut out = Vec::with_capacity(s.len() / size + 1);
    let mut start = 0;
    while start < s.len() {
        let mut end = (start + size).min(s.len());
        while !s.is_char_boundary(end) {
            end += 1;
        }
        out.push(&s[start..end]);
        start = end;
    }
    out
}

/// The stream as timed steps: step 0 opens the message (and its first block, a ping and the first
/// delta), each further step carries one delta, the last also closes the block and the message.
pub fn render_stream(m: &Message<'_>) -> Vec<Vec<u8>> {
    let mut deltas: Vec<Vec<u8>> = Vec::new();
    let mut index = 0;
    let text_block = !m.text.is_empty() || m.tool.is_none();
    let mut steps: Vec<Vec<u8>> = Vec::with_capacity(m.text.len() + 8);
    let mut first = Vec::with_capacity(512);
    event(&mut first, "message_start", |b| {
        b.extend_from_slice(b"{\"type\":\"message_start\",\"message\":");
        head(b, m);
        b.extend_from_slice(b",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":");
        usage(b, m.input_tokens, 1);
        b.extend_from_slice(b"}}");
    });
    if text_block {
        block_event(&mut first, "content_block_start", index, |b| {
            b.extend_from_slice(b",\"content_block\":{\"type\":\"text\",\"text\":\"\"}");
        });
        event(&mut first, "ping", |b| b.extend_from_slice(b"{\"type\":\"ping\"}"));
        for piece in m.text {
            let mut d = Vec::with_capacity(96 + piece.len());
            block_event(&mut d, "content_block_delta", index, |b| {
                b.extend_from_slice(b",\"delta\":{\"type\":\"text_delta\",\"text\":");
                json::string(b, piece);
                b.push(b'}');
            });
            deltas.push(d);
        }
    }
    let mut tool_open = Vec::new();
    if let Some(t) = &m.tool {
        if text_block {
            index += 1;
        }
        block_event(&mut tool_open, "content_block_start", index, |b| {
            b.extend_from_slice(b",\"content_block\":");
            tool_block(b, t, "{}");
        });
        if !text_block {
            event(&mut tool_open, "ping", |b| b.extend_from_slice(b"{\"type\":\"ping\"}"));
        }
    }
    // Text deltas, one per step; the tool block opens with its first JSON delta.
    first.extend_from_slice(deltas.first().map_or(&[][..], |d| &d[..]));
    let rest_text = deltas.into_iter().skip(1);
    let mut queue: Vec<Vec<u8>> = rest_text.collect();
    let mut close_text = Vec::new();
    if text_block {
        block_event(&mut close_text, "content_block_stop", 0, |_| {});
    }
    if let Some(t) = &m.tool {
        let mut opening = close_text;
        opening.extend_from_slice(&tool_open);
        let json_pieces = pieces(t.input, JSON_DELTA_BYTES);
        for (k, piece) in json_pieces.iter().enumerate() {
            let mut d = if k == 0 { std::mem::take(&mut opening) } else { Vec::new() };
            block_event(&mut d, "content_block_delta", index, |b| {
                b.extend_from_slice(b",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":");
                json::string(b, piece);
                b.push(b'}');
            });
            queue.push(d);
        }
        if json_pieces.is_empty() {
            queue.push(opening);
        }
        close_text = Vec::new();
        block_event(&mut close_text, "content_block_stop", index, |_| {});
    }
    steps.push(first);
    steps.extend(queue);
    let mut last = close_text;
    event(&mut last, "message_delta", |b| {
        b.extend_from_slice(b"{\"type\":\"message_delta\",\"delta\":{");
        stop_fields(b, m);
        b.extend_from_slice(b"},\"usage\":{\"output_tokens\":");
        json::uint(b, m.output_tokens);
        b.extend_from_slice(b"}}");
    });
    event(&mut last, "message_stop", |b| b.extend_from_slice(b"{\"type\":\"message_stop\"}"));
    if m.tool.is_none() {
        steps.last_mut().expect("the opening step").extend_from_slice(&last);
    } else {
        steps.push(last);
    }
    steps
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
    fn first_stop_is_the_earliest_match() {
        let stops = vec!["zz".to_owned(), "lo".to_owned(), "He".to_owned()];
        assert_eq!(first_stop("Hello", &stops), Some("He"));
        assert_eq!(first_stop("abc", &stops), None);
    }
}
