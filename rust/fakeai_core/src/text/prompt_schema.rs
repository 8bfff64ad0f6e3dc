//! JSON mode's schema from the prompt: a `response_format: json_object` request (Responses:
//! `text.format: json_object`) whose prompt holds a JSON Schema is answered with JSON generated
//! from that schema, as a real model follows the schema its instructions describe. LangChain's
//! `PydanticOutputParser` / `JsonOutputParser` format instructions and
//! `with_structured_output(method="json_mode")`, instructor's `Mode.JSON`, LlamaIndex and Guidance
//! write the schema into the prompt and then parse the answer into the model it came from.
//!
//! The rules, in order:
//!
//! 1. Only JSON-mode requests look (the caller calls [`find`] for them alone: every other request
//!    pays nothing). The texts read are the `system`, `developer` and `user` messages' string
//!    contents and text parts, in conversation order.
//! 2. A candidate is a balanced `{...}` that opens with a key (`{`, whitespace, `"`), inside a
//!    ```` ``` ```` fence or bare: fences are not needed and not treated differently. One pass over
//!    each text finds them: outside braces it jumps from `{` to `{` (`memchr`); inside it skips JSON
//!    strings (a raw newline ends a string, as no JSON string holds one, so a stray quote in prose
//!    spoils at most its line). An object inside a candidate is part of it, not a candidate of its
//!    own; an unmatched `{` in prose does not hide the objects after it.
//! 3. The last candidate of the conversation is looked at first (messages last to first, then
//!    candidates in a message last to first). A candidate is *schema-shaped* when it parses to an
//!    object that has `properties` (an object of subschemas: objects or booleans) and no `type` or
//!    `type: "object"` (LangChain drops `title` and `type` at the top), or a `$ref` into its own
//!    `$defs`/`definitions` that leads to such an object schema. The first (i.e. the last written)
//!    schema-shaped candidate decides: if the structured-outputs generator
//!    ([`schema_gen::check`]) accepts it, the answer is generated from it like a
//!    `json_schema` response format's (same per-request byte and work budget, see
//!    `schema_gen::within_request`); if it refuses it, the answer is today's arbitrary object. An
//!    earlier schema never replaces a refused later one (so the example schema of LangChain's
//!    template is never followed instead of the real one), and JSON mode never fails because of
//!    prompt text.
//! 4. With no schema-shaped candidate at all, the last candidate that parses to an object is taken as
//!    an *example* of the answer (`Respond as {"answer": "...", "confidence": 0.9}`): the answer has
//!    the same keys, every one of them, with values of the same JSON types (an array's items are
//!    shaped like its first item; an empty array's are strings), new values drawn as for a schema.
//!    A schema anywhere in the prompt wins over an example, wherever they are.
//! 5. Nothing found: the arbitrary object (`schema_gen::any_object`).
//!
//! The work is bounded: the scan is linear in the prompt (each byte read once, mostly by
//! `memchr`); at most [`MAX_NESTING`] open braces are tracked (the innermost), and [`MAX_KEPT`]
//! candidates kept per message (its last ones). Candidates over [`MAX_CANDIDATE_BYTES`] are
//! skipped, those nested deeper than [`MAX_CANDIDATE_DEPTH`] are not parsed, text without
//! `"properties"` or `"$ref"` is not parsed for a schema, and at most [`MAX_PARSED`] candidates are
//! tried per request. The verdict on a candidate that mentions `properties` or `$ref` (the checked
//! schema, its refusal, or "no schema") is kept in the parse cache ([`crate::text::parse_cache`])
//! under its text, so a client that sends the same instructions with every request parses and
//! checks them once per thread; examples are not cached (they are parsed only when the prompt has
//! no schema).

use crate::text::json_scan;
use crate::text::parse_cache::cached;
use crate::text::response_format::Format;
use crate::text::schema_gen;
use serde_json::{json, Map, Value};
use std::collections::VecDeque;
use std::ops::Range;
use std::rc::Rc;

/// Open braces tracked at once (the innermost; outer ones are counted, not remembered): no JSON
/// that `serde_json` parses nests deeper than 128.
pub const MAX_NESTING: usize = 128;
/// Candidates kept per message: its last ones.
pub const MAX_KEPT: usize = 64;
/// Largest candidate read (256 KiB): the JSON Schemas of real models are a few KB.
pub const MAX_CANDIDATE_BYTES: usize = 256 << 10;
/// Deepest candidate read (objects and arrays).
pub const MAX_CANDIDATE_DEPTH: usize = 64;
/// Most candidates tried per request (parsed, or found in the parse cache).
pub const MAX_PARSED: usize = 8;

/// [`crate::text::parse_cache`] namespace of the verdicts on schema-shaped candidates.
const PROMPT_SCHEMA: u64 = 0x7072_6f6d_7074_7363;

/// What a candidate that may be a schema turned out to be.
enum Verdict {
    Schema(Rc<Format>),
    /// Schema-shaped, but the generator refuses it.
    Refused,
    /// Parses, but is no schema: maybe an example.
    NotSchema,
}

/// The format JSON mode follows for a prompt made of `texts` (in conversation order): a schema
/// found in them, or one made from an example object, or `None` for the arbitrary object.
pub fn find(texts: &[&str]) -> Option<Rc<Format>> {
    let mut parsed = 0;
    let mut examples: Vec<&str> = Vec::new();
    for text in texts.iter().rev() {
        let found = candidates(text);
        for span in found.into_iter().rev() {
            let candidate = &text[span];
            if candidate.len() > MAX_CANDIDATE_BYTES {
                continue;
            }
            let schema_like = memchr::memmem::find(candidate.as_bytes(), b"\"properties\"").is_some()
                || memchr::memmem::find(candidate.as_bytes(), b"\"$ref\"").is_some();
            if !schema_like {
                if examples.len() < MAX_PARSED {
                    examples.push(candidate);
                }
                continue;
            }
            if parsed == MAX_PARSED {
                return None;
            }
            parsed += 1;
            let Ok(verdict) = cached(PROMPT_SCHEMA, candidate.as_bytes(), |t| {
                parse(t).map(judge).ok_or_else(|| crate::invalid::Invalid::new("messages", "not JSON"))
            }) else {
                continue;
            };
            match &*verdict {
                Verdict::Schema(format) => return Some(format.clone()),
                Verdict::Refused => return None,
                Verdict::NotSchema if examples.len() < MAX_PARSED => examples.push(candidate),
                Verdict::NotSchema => {}
            }
        }
    }
    // No schema: the last example that parses to a non-empty object.
    for example in examples {
        if parsed == MAX_PARSED {
            break;
        }
        parsed += 1;
        if let Some(Value::Object(obj)) = parse(example.as_bytes()) {
            if !obj.is_empty() {
                let schema = shape_of(&Value::Object(obj));
                return schema_gen::check(&schema).ok().map(|()| Rc::new(Format::JsonSchema(schema)));
            }
        }
    }
    None
}

/// A candidate's JSON, unless it is nested too deep or is not JSON.
fn parse(candidate: &[u8]) -> Option<Value> {
    if json_scan::deeper_than(candidate, MAX_CANDIDATE_DEPTH) {
        return None;
    }
    serde_json::from_slice(candidate).ok()
}

/// The verdict on a parsed candidate that mentions `properties` or `$ref`.
fn judge(v: Value) -> Verdict {
    if !is_schema_shaped(&v) {
        return Verdict::NotSchema;
    }
    match schema_gen::check(&v) {
        Ok(()) => Verdict::Schema(Rc::new(Format::JsonSchema(v))),
        Err(_) => Verdict::Refused,
    }
}

/// Rule 3's shape: an object schema by its `properties`, or a `$ref` to one in its own definitions.
fn is_schema_shaped(v: &Value) -> bool {
    let object_schema = |s: &Value| {
        let typed = match s.get("type") {
            None => true,
            Some(t) => t == "object",
        };
        typed
            && s.get("properties")
                .and_then(Value::as_object)
                .is_some_and(|p| p.values().all(|s| s.is_object() || s.is_boolean()))
    };
    if object_schema(v) {
        return true;
    }
    let Some(target) = v.get("$ref").and_then(Value::as_str) else { return false };
    let found = ["#/$defs/", "#/definitions/"].iter().find_map(|prefix| {
        let name = target.strip_prefix(prefix)?;
        v.get(&prefix[2..prefix.len() - 1])?.get(name)
    });
    found.is_some_and(object_schema)
}

/// Rule 4: the schema of values shaped like `example` (every key required, same JSON types).
fn shape_of(example: &Value) -> Value {
    match example {
        Value::Null => json!({"type": "null"}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(n) if n.is_f64() => json!({"type": "number"}),
        Value::Number(_) => json!({"type": "integer"}),
        Value::String(_) => json!({"type": "string"}),
        Value::Array(items) => {
            let item = items.first().map_or_else(|| json!({"type": "string"}), shape_of);
            json!({"type": "array", "items": item})
        }
        Value::Object(obj) => {
            let properties: Map<String, Value> = obj.iter().map(|(k, v)| (k.clone(), shape_of(v))).collect();
            let required: Vec<Value> = obj.keys().map(|k| Value::from(k.as_str())).collect();
            json!({"type": "object", "properties": properties, "required": required})
        }
    }
}

/// Rule 2: the candidate objects of `text`, in order (at most [`MAX_KEPT`], the last ones).
fn candidates(text: &str) -> VecDeque<Range<usize>> {
    let b = text.as_bytes();
    // The innermost unclosed braces (at most MAX_NESTING: outer ones are forgotten, still counted
    // in `depth`, so a run of unmatched `{` never hides the objects after it).
    let mut open: VecDeque<usize> = VecDeque::new();
    let mut depth = 0usize;
    let mut found = VecDeque::new();
    let mut i = 0;
    while i < b.len() {
        let next = if depth == 0 {
            memchr::memchr(b'{', &b[i..])
        } else {
            memchr::memchr3(b'{', b'}', b'"', &b[i..])
        };
        let Some(at) = next else { break };
        i += at;
        match b[i] {
            b'{' => {
                depth += 1;
                if open.len() == MAX_NESTING {
                    open.pop_front();
                }
                open.push_back(i);
                i += 1;
            }
            b'}' => {
                if let Some(start) = open.pop_back() {
                    keep(&mut found, start..i + 1, b);
                }
                depth -= 1;
                i += 1;
            }
            _ => i = string_end(b, i + 1),
        }
    }
    found
}

/// Where the JSON string starting at `i` (after its quote) ends: after its closing quote, or at a
/// raw newline (no JSON string holds one: this quote was prose), or at the end.
fn string_end(b: &[u8], mut i: usize) -> usize {
    while let Some(at) = b.get(i..).and_then(|rest| memchr::memchr3(b'"', b'\\', b'\n', rest)) {
        i += at;
        match b[i] {
            b'"' => return i + 1,
            b'\n' => return i,
            _ => i += 2, // a backslash and the byte it escapes
        }
    }
    b.len()
}

/// Keep `span` if it opens with a key, in place of the kept candidates inside it.
fn keep(found: &mut VecDeque<Range<usize>>, span: Range<usize>, b: &[u8]) {
    let inner = &b[span.start + 1..span.end];
    if inner.iter().find(|c| !c.is_ascii_whitespace()) != Some(&b'"') {
        return;
    }
    while found.back().is_some_and(|r| r.start > span.start) {
        found.pop_back();
    }
    found.push_back(span);
    if found.len() > MAX_KEPT {
        found.pop_front();
    }
}

#[cfg(test)]
mod tests;
