//! What a decoded Anthropic Messages request (or count-tokens request) counts as input, read once
//! in the prompt's order (`tools`, then `system`, then `messages`, as Anthropic caches them):
//!
//! - text: `text` blocks, a `document`'s text (`text` source, `content` source blocks, `title`,
//!   `context`), a `search_result`'s title and text, a `tool_result`'s content (a string, or text,
//!   image and document blocks), a `tool_use`'s name and input (its JSON), each custom tool's name,
//!   description and `input_schema` (their JSON), each counted by fakeai's tokenizer;
//! - an Anthropic-defined tool (`bash_20250124`, `web_search_20250305` ...) by the figure Anthropic's
//!   tool-use pricing documents for its definition ([`defined_tokens`]: bash 245, the text editor
//!   700, computer use 735, 683 for `computer_20241022`); the others, for which Anthropic publishes
//!   none (memory, web search and fetch, code execution, tool search, the browser toolset), as the
//!   JSON of their `type` and `name`, as a custom tool's name is counted. A tool with
//!   `defer_loading: true` is left out of the prompt until tool search loads it: not counted;
//! - images and PDFs by Anthropic's rules ([`crate::media::claude_media`]);
//! - `thinking` (its text) and `redacted_thinking` (a token per four bytes of its data) only in the
//!   current assistant turn, the last assistant message followed by nothing but `tool_result`
//!   turns: Anthropic strips the thinking of earlier turns from the context, uncounted;
//! - the framing chat counts: a few tokens to prime the reply, a few per message, and its role.
//!
//! With a prefix-cache sink, the same tokens' ids go to it (an image or PDF as ids drawn from a hash
//! of its data, as many as its tokens; the framing as fixed ids), one id per token counted, so that
//! a cache hit and a breakpoint are measured alike; requests that share their leading tools, system prompt
//! and messages share a prefix. Every block (and a tool) marked `cache_control`, and the request's
//! own top-level `cache_control` (the whole prompt), is a cache breakpoint: [`Breakpoints`] holds
//! where the last ones end, which prompt caching's usage is split by.

use super::chat::{PER_MESSAGE, REPLY_PRIMING};
use crate::invalid::Invalid;
use crate::media::claude_media::{self, MAX_PDF_PAGES, PDF_PAGE_TOKENS};
use crate::render::json;
use crate::text::tokens;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use xxhash_rust::xxh3::xxh3_64;

/// Nesting deeper than this in a `tool_use` input or a tool schema is written as `null` (msgspec
/// has bounded what was decoded already).
const MAX_JSON_DEPTH: usize = 64;

/// Where the last cache breakpoints end, in input tokens from the prompt's start (0: none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Breakpoints {
    /// The last breakpoint, of either `ttl`.
    pub(super) last: u32,
    /// The last breakpoint with `ttl: "1h"` (Anthropic requires them before the 5-minute ones).
    pub(super) last_1h: u32,
}

impl Breakpoints {
    /// `(read, written for 5 minutes, written for an hour)` when the prefix cache holds the prompt's
    /// first `hit` tokens, in blocks of `block` tokens: what is cached is read up to the last
    /// breakpoint (all of it when the hit reaches the breakpoint's last block: Anthropic caches up to
    /// the breakpoint itself), the rest up to it is written (an hour's worth up to the last `1h`
    /// breakpoint). No breakpoint: nothing either way.
    pub(super) fn split(self, hit: u32, block: u32) -> (u32, u32, u32) {
        let read =
            if hit > 0 && hit.saturating_add(block) > self.last { self.last } else { hit.min(self.last) };
        let written_1h = self.last_1h.saturating_sub(read);
        (read, self.last - read - written_1h, written_1h)
    }
}

/// A request's input, as [`read`] counts it.
pub(super) struct Input {
    pub(super) tokens: u32,
    pub(super) breakpoints: Breakpoints,
    /// The text blocks of the last user message, joined by a space (what echo mode answers).
    pub(super) last_user_text: String,
}

struct Reader<'a> {
    count: u64,
    ids: Option<&'a mut Vec<u32>>,
    breakpoints: Breakpoints,
}

impl Reader<'_> {
    fn text(&mut self, text: &str) {
        self.count += match self.ids.as_deref_mut() {
            Some(ids) => {
                let before = ids.len();
                tokens::encode_into(text, ids);
                (ids.len() - before) as u64
            }
            None => tokens::count(text) as u64,
        };
    }

    /// `n` tokens of the chat template's framing (their ids fixed, so ids and tokens stay in step).
    fn framing(&mut self, n: usize) {
        self.count += n as u64;
        if let Some(ids) = self.ids.as_deref_mut() {
            ids.extend((0..n as u32).map(|k| u32::MAX - k));
        }
    }

    /// `n` tokens of media whose data hashes to `key`.
    fn media(&mut self, n: u32, key: u64) {
        self.count += u64::from(n);
        if let Some(ids) = self.ids.as_deref_mut() {
            ids.extend((0..n).map(|k| (key as u32).wrapping_add(k.wrapping_mul(0x9e37_79b9))));
        }
    }

    fn tokens(&self) -> u32 {
        u32::try_from(self.count).unwrap_or(u32::MAX)
    }

    /// A breakpoint here when `cache_control` (a struct or dict with an optional `ttl`) is set.
    fn mark(&mut self, cache_control: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        let Some(cc) = cache_control else { return Ok(()) };
        let at = self.tokens();
        self.breakpoints.last = at;
        if field_str(&cc, "ttl")?.as_deref() == Some("1h") {
            self.breakpoints.last_1h = at;
        }
        Ok(())
    }
}

/// Field `name` of a decoded struct (an attribute) or a dict (an item); None when absent or None.
fn field<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    let value = match obj.cast::<PyDict>() {
        Ok(d) => d.get_item(name)?,
        Err(_) => obj.getattr_opt(PyString::new(obj.py(), name))?,
    };
    Ok(value.filter(|v| !v.is_none()))
}

fn field_str(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<String>> {
    Ok(field(obj, name)?.and_then(|v| v.cast::<PyString>().ok().map(|s| s.to_string_lossy().into_owned())))
}

/// Appends `obj` (decoded JSON: dicts, lists, strings, numbers, booleans, None) as JSON text.
fn write_json(obj: &Bound<'_, PyAny>, buf: &mut Vec<u8>, depth: usize) -> PyResult<()> {
    if obj.is_none() || depth > MAX_JSON_DEPTH {
        buf.extend_from_slice(b"null");
    } else if let Ok(b) = obj.cast::<PyBool>() {
        buf.extend_from_slice(if b.is_true() { b"true" } else { b"false" });
    } else if obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyFloat>() {
        buf.extend_from_slice(obj.str()?.to_str()?.as_bytes());
    } else if let Ok(s) = obj.cast::<PyString>() {
        json::string(buf, &s.to_string_lossy());
    } else if let Ok(d) = obj.cast::<PyDict>() {
        buf.push(b'{');
        for (i, (k, v)) in d.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            json::string(buf, &k.str()?.to_string_lossy());
            buf.push(b':');
            write_json(&v, buf, depth + 1)?;
        }
        buf.push(b'}');
    } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        buf.push(b'[');
        for (i, v) in obj.try_iter()?.enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            write_json(&v?, buf, depth + 1)?;
        }
        buf.push(b']');
    } else {
        json::string(buf, &obj.str()?.to_string_lossy());
    }
    Ok(())
}

fn invalid(at: String, message: String) -> PyErr {
    Invalid::new(at, message).into()
}

/// Counts one content block at `at` (`messages.0.content.1`); `thinks`: whether thinking counts
/// here; `nested`: inside a `tool_result` or a document (whose own nested blocks are not read).
fn block(
    r: &mut Reader<'_>,
    pages: &mut u32,
    b: &Bound<'_, PyAny>,
    at: &str,
    thinks: bool,
    nested: bool,
) -> PyResult<()> {
    let kind = field_str(b, "type")?.unwrap_or_default();
    match kind.as_str() {
        "image" => {
            let Some(source) = field(b, "source")? else { return Ok(()) };
            let kind = field_str(&source, "type")?.unwrap_or_default();
            let data = field_str(&source, "data")?;
            let n = claude_media::source_image_tokens(&kind, data.as_deref())
                .map_err(|e| invalid(format!("{at}.image.source.{kind}"), e))?;
            let key = data
                .as_deref()
                .or(field_str(&source, "url")?.as_deref())
                .map_or(0, |d| xxh3_64(d.as_bytes()));
            r.media(n, key);
        }
        "document" => {
            for name in ["title", "context"] {
                if let Some(text) = field_str(b, name)? {
                    r.text(&text);
                }
            }
            let Some(source) = field(b, "source")? else { return Ok(()) };
            let kind = field_str(&source, "type")?.unwrap_or_default();
            match kind.as_str() {
                "text" => r.text(&field_str(&source, "data")?.unwrap_or_default()),
                "content" => {
                    if let Some(content) = field(&source, "content")? {
                        content_of(r, pages, &content, &format!("{at}.document.source.content"), nested)?;
                    }
                }
                _ => {
                    let data = field_str(&source, "data")?;
                    let n = claude_media::source_pdf_pages(&kind, data.as_deref())
                        .map_err(|e| invalid(format!("{at}.document.source.{kind}"), e))?;
                    *pages = pages.saturating_add(n);
                    if *pages > MAX_PDF_PAGES {
                        return Err(invalid(
                            at.to_owned(),
                            format!("A maximum of {MAX_PDF_PAGES} PDF pages may be provided."),
                        ));
                    }
                    let key = data.as_deref().map_or(0, |d| xxh3_64(d.as_bytes()));
                    r.media(n * PDF_PAGE_TOKENS, key);
                }
            }
        }
        "search_result" => {
            for name in ["title", "source"] {
                if let Some(text) = field_str(b, name)? {
                    r.text(&text);
                }
            }
            if let Some(content) = field(b, "content")? {
                content_of(r, pages, &content, &format!("{at}.search_result.content"), nested)?;
            }
        }
        "tool_use" | "server_tool_use" => {
            r.text(&field_str(b, "name")?.unwrap_or_default());
            let mut input = Vec::new();
            write_json(&field(b, "input")?.unwrap_or_else(|| PyDict::new(b.py()).into_any()), &mut input, 0)?;
            r.text(&String::from_utf8_lossy(&input));
        }
        "thinking" if thinks => r.text(&field_str(b, "thinking")?.unwrap_or_default()),
        "redacted_thinking" if thinks => {
            let data = field_str(b, "data")?.unwrap_or_default();
            r.media(u32::try_from(data.len() / 4).unwrap_or(u32::MAX), xxh3_64(data.as_bytes()));
        }
        "thinking" | "redacted_thinking" => {}
        _ if kind.ends_with("tool_result") && !nested => {
            if let Some(content) = field(b, "content")? {
                content_of(r, pages, &content, &format!("{at}.{kind}.content"), true)?;
            }
        }
        _ => {
            if let Some(text) = field_str(b, "text")? {
                r.text(&text);
            }
        }
    }
    Ok(())
}

/// Counts `content`: a string, or a list of blocks (none of them a breakpoint: these are nested).
fn content_of(
    r: &mut Reader<'_>,
    pages: &mut u32,
    content: &Bound<'_, PyAny>,
    at: &str,
    nested: bool,
) -> PyResult<()> {
    if let Ok(text) = content.cast::<PyString>() {
        r.text(&text.to_string_lossy());
    } else if let Ok(list) = content.cast::<PyList>() {
        for (i, b) in list.iter().enumerate() {
            block(r, pages, &b, &format!("{at}.{i}"), false, nested)?;
        }
    }
    Ok(())
}

/// The index of the message whose thinking counts: the last assistant message, when only user turns
/// made of `tool_result` blocks follow it (the turn is still going).
fn current_turn(messages: &Bound<'_, PyList>) -> PyResult<Option<usize>> {
    let py = messages.py();
    for i in (0..messages.len()).rev() {
        let msg = messages.get_item(i)?;
        let role = msg.getattr(intern!(py, "role"))?;
        if role.cast::<PyString>()?.to_str()? == "assistant" {
            return Ok(Some(i));
        }
        let content = msg.getattr(intern!(py, "content"))?;
        let Ok(list) = content.cast::<PyList>() else { return Ok(None) };
        for b in list.iter() {
            if !field_str(&b, "type")?.is_some_and(|t| t.ends_with("tool_result")) {
                return Ok(None);
            }
        }
    }
    Ok(None)
}

/// The input tokens Anthropic's tool-use pricing documents for the definition of the Anthropic-defined
/// tool of type `kind`, if it documents one: the bash tool 245, the text editor 700 (every version),
/// computer use 735 (683 for `computer_20241022`, the Claude 3.5 Sonnet version; the computer
/// toolset is the same tool family).
pub(super) fn defined_tokens(kind: &str) -> Option<u32> {
    if kind.starts_with("bash_") {
        Some(245)
    } else if kind.starts_with("text_editor_") {
        Some(700)
    } else if kind == "computer_20241022" {
        Some(683)
    } else if kind.starts_with("computer_") {
        Some(735)
    } else {
        None
    }
}

/// Reads `request`'s input (see the module docs); with `ids`, the prompt's ids go there.
pub(super) fn read(request: &Bound<'_, PyAny>, ids: Option<&mut Vec<u32>>) -> PyResult<Input> {
    let py = request.py();
    let mut r = Reader { count: 0, ids, breakpoints: Breakpoints::default() };
    let mut pages = 0u32;
    if let Some(tools) = field(request, "tools")? {
        let mut buf = Vec::new();
        for tool in tools.try_iter()? {
            let tool = tool?;
            if field(&tool, "defer_loading")?.is_some_and(|d| d.is_truthy().unwrap_or(false)) {
                r.mark(field(&tool, "cache_control")?)?;
                continue;
            }
            buf.clear();
            let kind = field_str(&tool, "type")?.filter(|k| k != "custom");
            if let Some(kind) = kind {
                match defined_tokens(&kind) {
                    Some(n) => r.media(n, xxh3_64(kind.as_bytes())),
                    None => {
                        buf.extend_from_slice(b"{\"type\":");
                        json::string(&mut buf, &kind);
                        if let Some(name) = field_str(&tool, "name")? {
                            buf.extend_from_slice(b",\"name\":");
                            json::string(&mut buf, &name);
                        }
                        buf.push(b'}');
                        r.text(&String::from_utf8_lossy(&buf));
                    }
                }
                r.mark(field(&tool, "cache_control")?)?;
                continue;
            }
            buf.extend_from_slice(b"{\"name\":");
            json::string(&mut buf, &field_str(&tool, "name")?.unwrap_or_default());
            if let Some(description) = field_str(&tool, "description")? {
                buf.extend_from_slice(b",\"description\":");
                json::string(&mut buf, &description);
            }
            if let Some(schema) = field(&tool, "input_schema")? {
                buf.extend_from_slice(b",\"input_schema\":");
                write_json(&schema, &mut buf, 1)?;
            }
            buf.push(b'}');
            r.text(&String::from_utf8_lossy(&buf));
            r.mark(field(&tool, "cache_control")?)?;
        }
    }
    if let Some(system) = field(request, "system")? {
        if let Ok(text) = system.cast::<PyString>() {
            r.text(text.to_str()?);
        } else {
            for (i, b) in system.try_iter()?.enumerate() {
                let b = b?;
                block(&mut r, &mut pages, &b, &format!("system.{i}"), false, false)?;
                r.mark(field(&b, "cache_control")?)?;
            }
        }
    }
    r.framing(REPLY_PRIMING);
    let messages = request.getattr(intern!(py, "messages"))?;
    let messages = messages.cast::<PyList>()?;
    let current = current_turn(messages)?;
    let mut last_user_text = String::new();
    for (m, msg) in messages.iter().enumerate() {
        r.framing(PER_MESSAGE);
        let role = msg.getattr(intern!(py, "role"))?;
        let role = role.cast::<PyString>()?.to_str()?;
        r.text(role);
        let user = role == "user";
        if user {
            last_user_text.clear();
        }
        let content = msg.getattr(intern!(py, "content"))?;
        if let Ok(text) = content.cast::<PyString>() {
            let text = text.to_str()?;
            r.text(text);
            if user {
                last_user_text.push_str(text);
            }
            continue;
        }
        for (p, b) in content.cast::<PyList>()?.iter().enumerate() {
            block(&mut r, &mut pages, &b, &format!("messages.{m}.content.{p}"), current == Some(m), false)?;
            r.mark(field(&b, "cache_control")?)?;
            if user && field_str(&b, "type")?.as_deref() == Some("text") {
                if !last_user_text.is_empty() {
                    last_user_text.push(' ');
                }
                last_user_text.push_str(&field_str(&b, "text")?.unwrap_or_default());
            }
        }
    }
    r.mark(field(request, "cache_control")?)?;
    Ok(Input { tokens: r.tokens(), breakpoints: r.breakpoints, last_user_text })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pyo3::types::PyDict;

    fn obj<'py>(py: Python<'py>, json: &str) -> Bound<'py, PyAny> {
        let loads = py.import("json").unwrap().getattr("loads").unwrap();
        let ns = py.import("types").unwrap().getattr("SimpleNamespace").unwrap();
        let d = loads.call1((json,)).unwrap();
        // The request and its messages are structs (attributes); blocks are dicts here, as nested
        // blocks are on the server (`field` reads both).
        let d = d.cast::<PyDict>().unwrap();
        let messages = PyList::empty(py);
        for m in d.get_item("messages").unwrap().unwrap().try_iter().unwrap() {
            let m = m.unwrap();
            messages.append(ns.call((), Some(m.cast::<PyDict>().unwrap())).unwrap()).unwrap();
        }
        d.set_item("messages", messages).unwrap();
        for key in ["tools", "system", "cache_control"] {
            if !d.contains(key).unwrap() {
                d.set_item(key, py.None()).unwrap();
            }
        }
        ns.call((), Some(d)).unwrap()
    }

    fn read_json(json: &str) -> Result<(u32, Breakpoints, String), String> {
        Python::initialize();
        Python::attach(|py| {
            read(&obj(py, json), None)
                .map(|i| (i.tokens, i.breakpoints, i.last_user_text))
                .map_err(|e| e.to_string())
        })
    }

    fn tokens(json: &str) -> u32 {
        read_json(json).unwrap().0
    }

    const HI: &str = r#"{"role": "user", "content": "hi"}"#;

    #[test]
    fn every_kind_of_block_counts() {
        let plain = tokens(&format!(r#"{{"messages": [{HI}]}}"#));
        let with =
            |block: &str| tokens(&format!(r#"{{"messages": [{{"role": "user", "content": [{block}]}}]}}"#));
        let words = vec!["word"; 200].join(" ");
        let base = with(r#"{"type": "text", "text": ""}"#);
        assert!(base < plain);
        assert_eq!(with(&format!(r#"{{"type": "text", "text": "{words}"}}"#)) - base, 200);
        let result = with(&format!(r#"{{"type": "tool_result", "tool_use_id": "t", "content": "{words}"}}"#));
        assert_eq!(result - base, 200);
        let blocks = with(&format!(
            r#"{{"type": "tool_result", "tool_use_id": "t", "content": [{{"type": "text", "text": "{words}"}}]}}"#
        ));
        assert_eq!(blocks - base, 200);
        let doc = with(&format!(
            r#"{{"type": "document", "source": {{"type": "text", "media_type": "text/plain", "data": "{words}"}}}}"#
        ));
        assert_eq!(doc - base, 200);
        let image = with(r#"{"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}"#);
        assert_eq!(image - base, claude_media::image_tokens(1024, 1024));
        let pdf = with(r#"{"type": "document", "source": {"type": "url", "url": "https://x/y.pdf"}}"#);
        assert_eq!(pdf - base, PDF_PAGE_TOKENS);
        let used = with(
            r#"{"type": "tool_use", "id": "t", "name": "f", "input": {"city": "Paris", "n": [1, 2.5, true, null]}}"#,
        );
        assert_eq!(
            used - base,
            (tokens::count("f") + tokens::count(r#"{"city":"Paris","n":[1,2.5,true,null]}"#)) as u32
        );
        let bad = read_json(
            r#"{"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "!!!notbase64"}}]}]}"#,
        );
        assert!(bad.unwrap_err().contains("messages.0.content.0.image.source.base64"));
    }

    #[test]
    fn thinking_counts_only_in_the_current_turn() {
        let words = vec!["word"; 100].join(" ");
        let thought = format!(r#"{{"type": "thinking", "thinking": "{words}", "signature": "s"}}"#);
        let turn = |thinking: &str, last: &str| {
            tokens(&format!(
                r#"{{"messages": [{HI}, {{"role": "assistant", "content": [{thinking}{{"type": "tool_use", "id": "t", "name": "f", "input": {{}}}}]}}, {last}]}}"#
            ))
        };
        let result =
            r#"{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]}"#;
        assert_eq!(turn(&format!("{thought},"), result) - turn("", result), 100);
        // A new user turn ends the tool-use turn: the earlier thinking is stripped.
        let new_turn = r#"{"role": "user", "content": "next"}"#;
        assert_eq!(turn(&format!("{thought},"), new_turn), turn("", new_turn));
        let redacted = r#"{"type": "redacted_thinking", "data": "AAAABBBBCCCCDDDD"},"#;
        assert_eq!(turn(redacted, result) - turn("", result), 4);
    }

    #[test]
    fn tools_and_breakpoints_in_prompt_order() {
        let tool =
            r#"{"name": "get_weather", "description": "Weather.", "input_schema": {"type": "object"}}"#;
        let (no_tools, _, _) = read_json(&format!(r#"{{"messages": [{HI}]}}"#)).unwrap();
        let (with_tool, none, echo) =
            read_json(&format!(r#"{{"tools": [{tool}], "messages": [{HI}]}}"#)).unwrap();
        let schema = r#"{"name":"get_weather","description":"Weather.","input_schema":{"type":"object"}}"#;
        assert_eq!(with_tool - no_tools, tokens::count(schema) as u32);
        assert_eq!((none, echo.as_str()), (Breakpoints::default(), "hi"));
        let cached_tool =
            r#"{"name": "t", "input_schema": {}, "cache_control": {"type": "ephemeral", "ttl": "1h"}}"#;
        let system = r#"[{"type": "text", "text": "one two three", "cache_control": {"type": "ephemeral"}}]"#;
        let (total, bp, _) = read_json(&format!(
            r#"{{"tools": [{cached_tool}], "system": {system}, "messages": [{{"role": "user", "content": [{{"type": "text", "text": "a"}}, {{"type": "text", "text": "b"}}]}}]}}"#
        ))
        .unwrap();
        let tool_tokens = tokens::count(r#"{"name":"t","input_schema":{}}"#) as u32;
        assert_eq!(bp, Breakpoints { last: tool_tokens + 3, last_1h: tool_tokens });
        assert!(total > bp.last);
        let (total, bp, echo) = read_json(
            r#"{"cache_control": {"type": "ephemeral"}, "messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]}"#,
        )
        .unwrap();
        assert_eq!((bp.last, bp.last_1h, echo.as_str()), (total, 0, "a b"));
    }

    #[test]
    fn anthropic_defined_tools_count_their_documented_definitions() {
        let base = tokens(&format!(r#"{{"messages": [{HI}]}}"#));
        let with = |tool: &str| tokens(&format!(r#"{{"tools": [{tool}], "messages": [{HI}]}}"#)) - base;
        assert_eq!(with(r#"{"type": "bash_20250124", "name": "bash"}"#), 245);
        assert_eq!(with(r#"{"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"}"#), 700);
        assert_eq!(
            with(r#"{"type": "computer_20250124", "name": "computer", "display_width_px": 1024}"#),
            735
        );
        assert_eq!(with(r#"{"type": "computer_20241022", "name": "computer"}"#), 683);
        let search = with(r#"{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}"#);
        assert_eq!(search, tokens::count(r#"{"type":"web_search_20250305","name":"web_search"}"#) as u32);
        let custom = r#"{"type": "custom", "name": "f", "input_schema": {"type": "object"}}"#;
        assert_eq!(with(custom), tokens::count(r#"{"name":"f","input_schema":{"type":"object"}}"#) as u32);
        let deferred = r#"{"name": "f", "input_schema": {"type": "object"}, "defer_loading": true}"#;
        assert_eq!(with(deferred), 0);
    }

    #[test]
    fn system_blocks_are_counted_one_by_one_not_glued_into_one_word() {
        // "hello" blocks are 1 token each, as the words of "hello hello ..." are; glued into
        // "hellohello..." they would be one word cut every 12 letters (5 blocks to 2 tokens).
        let system = |n: usize, text: &str, blocks: bool| {
            let system = if blocks {
                format!("[{}]", vec![format!(r#"{{"type": "text", "text": "{text}"}}"#); n].join(","))
            } else {
                format!("\"{}\"", text.repeat(n))
            };
            tokens(&format!(r#"{{"system": {system}, "messages": [{HI}]}}"#))
                - tokens(&format!(r#"{{"messages": [{HI}]}}"#))
        };
        assert_eq!(system(100_000, "hello", true), 100_000);
        assert_eq!(system(100_000, "hello ", false), 100_001); // the trailing space is a token
        assert_eq!(system(3, "two words", true), 3 * 2);
        assert_eq!(system(1, "", true), 0);
    }

    #[test]
    fn breakpoints_split_reads_and_writes() {
        let bp = Breakpoints { last: 1000, last_1h: 400 };
        assert_eq!(bp.split(0, 16), (0, 600, 400));
        assert_eq!(bp.split(512, 16), (512, 488, 0));
        assert_eq!(bp.split(256, 16), (256, 600, 144));
        assert_eq!(bp.split(5000, 16), (1000, 0, 0));
        assert_eq!(bp.split(992, 16), (1000, 0, 0)); // the breakpoint's last block is partial
        assert_eq!(bp.split(976, 16), (976, 24, 0));
        assert_eq!(Breakpoints::default().split(5000, 16), (0, 0, 0));
    }
}
