//! Anthropic's structured outputs, read into the [`Format`] chat's `response_format` uses: the GA
//! `output_config.format` or the beta top-level `output_format` (`anthropic-beta:
//! structured-outputs-2025-11-13`), each `{"type": "json_schema", "schema": {...}}`. The answer's
//! text is then JSON made valid against the schema by the one schema-driven generator
//! ([`crate::text::schema_gen`]); a schema it cannot honour is refused naming `<field>.schema`.
//!
//! The schema arrives as JSON text (`msgspec.Raw`) and is parsed and checked once per distinct text
//! and thread ([`crate::text::parse_cache`]).

use crate::invalid::Invalid;
use crate::text::parse_cache::cached;
use crate::text::response_format::Format;
use crate::text::schema_gen;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use serde_json::Value;
use std::rc::Rc;

/// [`crate::text::parse_cache`] namespace of Anthropic output schemas.
const OUTPUT_FORMAT: u64 = 0x616e_7468_726f_7066;

/// The structured output `request` (a decoded Messages request) asks for, or None for prose.
pub(super) fn read(request: &Bound<'_, PyAny>) -> PyResult<Option<Rc<Format>>> {
    let py = request.py();
    let config = request.getattr_opt(intern!(py, "output_config"))?.filter(|c| !c.is_none());
    let ga = match config {
        Some(c) => c.getattr_opt(intern!(py, "format"))?.filter(|f| !f.is_none()),
        None => None,
    };
    let beta = request.getattr_opt(intern!(py, "output_format"))?.filter(|f| !f.is_none());
    let (format, param) =
        match (ga, beta) {
            (Some(_), Some(_)) => return Err(Invalid::new(
                "output_format",
                "output_format: cannot be used together with output_config.format; use output_config.format",
            )
            .into()),
            (Some(f), None) => (f, "output_config.format.schema"),
            (None, Some(f)) => (f, "output_format.schema"),
            (None, None) => return Ok(None),
        };
    let text = raw_text(&format.getattr(intern!(py, "schema"))?)?;
    Ok(Some(cached(OUTPUT_FORMAT, &text, |t| parse(t, param))?))
}

/// The bytes of a `msgspec.Raw` (or `str`/`bytes`) value.
fn raw_text(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_str()?.as_bytes().to_vec());
    }
    let bytes = obj.py().get_type::<PyBytes>().call1((obj,))?;
    Ok(bytes.cast::<PyBytes>()?.as_bytes().to_vec())
}

/// A schema's JSON text as a [`Format::JsonSchema`], refused (naming `param`) when it is not a JSON
/// object or the generator cannot honour it. Constraints the SDKs moved into descriptions
/// ([`with_hints`]) are honoured as Claude would read them, when the schema with them is sound.
fn parse(text: &[u8], param: &str) -> Result<Format, Invalid> {
    let schema: Value = serde_json::from_slice(text)
        .map_err(|e| Invalid::new(param, format!("{param}: the schema is not valid JSON: {e}")))?;
    if !schema.is_object() {
        return Err(Invalid::new(param, format!("{param}: Input should be a valid dictionary")));
    }
    let mut hinted = schema.clone();
    if with_hints(&mut hinted) && schema_gen::check(&hinted).is_ok() {
        return Ok(Format::JsonSchema(hinted));
    }
    schema_gen::check(&schema).map_err(|e| {
        Invalid::new(param, format!("{param}: invalid JSON schema for structured outputs: {e}"))
    })?;
    Ok(Format::JsonSchema(schema))
}

/// Keywords Anthropic's structured outputs do not take, which the SDKs' `transform_schema` (what
/// `messages.parse(output_format=Model)` sends) moves to the end of the `description` as
/// `{minimum: 1, maximum: 5}`, so that the model follows them.
const HINTED: [&str; 14] = [
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
];

/// Put back, in `schema` and every subschema, the keywords its `description` ends with in the SDKs'
/// `{key: value, ...}` form (a keyword the subschema has already is left alone); whether any was.
fn with_hints(schema: &mut Value) -> bool {
    let mut found = false;
    match schema {
        Value::Object(map) => {
            let hints = map.get("description").and_then(Value::as_str).map(hints).unwrap_or_default();
            for (key, value) in hints {
                if !map.contains_key(key) {
                    map.insert(key.to_owned(), value);
                    found = true;
                }
            }
            for value in map.values_mut() {
                found |= with_hints(value);
            }
        }
        Value::Array(items) => {
            for item in items {
                found |= with_hints(item);
            }
        }
        _ => {}
    }
    found
}

/// The `{key: value, ...}` a description ends with (after a blank line, or as all of it), read as
/// Python wrote it (`str(value)`: numbers, `True`/`False`, bare strings); empty when it is not that.
fn hints(description: &str) -> Vec<(&'static str, Value)> {
    let tail = match description.rfind("\n\n{") {
        Some(at) => &description[at + 2..],
        None => description,
    };
    let Some(body) = tail.strip_prefix('{').and_then(|t| t.strip_suffix('}')) else { return Vec::new() };
    // Split before each `, key: ` of a known keyword (a pattern may hold ", " itself).
    let mut starts = Vec::new();
    for key in HINTED {
        if body.starts_with(&format!("{key}: ")) {
            starts.push((0, key));
        }
        let needle = format!(", {key}: ");
        starts.extend(body.match_indices(&needle).map(|(at, _)| (at + 2, key)));
    }
    starts.sort_unstable();
    if starts.first().is_none_or(|s| s.0 != 0) {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(starts.len());
    for (i, &(at, key)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(body.len(), |next| next.0 - 2);
        let raw = &body[at + key.len() + 2..end];
        let value = match key {
            "pattern" | "format" => Value::String(raw.to_owned()),
            "uniqueItems" => match raw {
                "True" => Value::Bool(true),
                "False" => Value::Bool(false),
                _ => return Vec::new(),
            },
            _ => match serde_json::from_str::<Value>(raw) {
                Ok(n @ Value::Number(_)) => n,
                _ => return Vec::new(),
            },
        };
        out.push((key, value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn a_schema_becomes_json_that_follows_it() {
        let text = br#"{"type":"object","properties":{"a":{"type":"string"},"n":{"type":"integer","minimum":3}},"required":["a","n"],"additionalProperties":false}"#;
        let format = parse(text, "output_config.format.schema").unwrap();
        let out: Value = serde_json::from_str(&format.render(&mut Rng::new(7)).unwrap()).unwrap();
        assert!(out["a"].is_string() && out["n"].as_i64().unwrap() >= 3);
    }

    #[test]
    fn constraints_the_sdk_moved_to_descriptions_are_honoured() {
        // what `transform_schema` of `rating: int = Field(ge=1, le=5)`, `code: str = Field(pattern=...)` sends
        let text = br#"{"type":"object","additionalProperties":false,"required":["rating","code","tags"],"properties":{
            "rating":{"type":"integer","title":"Rating","description":"{minimum: 1, maximum: 5}"},
            "code":{"type":"string","description":"A code\n\n{pattern: ^[A-Z]{2}, [0-9]{3}$, minLength: 7}"},
            "tags":{"type":"array","items":{"type":"string"},"description":"{minItems: 2, uniqueItems: True}"},
            "ratio":{"type":"number","description":"{exclusiveMinimum: 0.5, maximum: 1.0}"}}}"#;
        let Format::JsonSchema(schema) = parse(text, "p").unwrap() else { panic!() };
        assert_eq!(schema["properties"]["rating"]["maximum"], 5);
        assert_eq!(schema["properties"]["code"]["pattern"], "^[A-Z]{2}, [0-9]{3}$");
        assert_eq!(schema["properties"]["tags"]["uniqueItems"], true);
        assert_eq!(schema["properties"]["ratio"]["exclusiveMinimum"], 0.5);
        let format = Format::JsonSchema(schema);
        for seed in 0..50 {
            let out: Value = serde_json::from_str(&format.render(&mut Rng::new(seed)).unwrap()).unwrap();
            let rating = out["rating"].as_i64().unwrap();
            assert!((1..=5).contains(&rating), "{out}");
            assert_eq!(out["code"].as_str().unwrap().len(), 7, "{out}");
            assert!(out["tags"].as_array().unwrap().len() >= 2, "{out}");
        }
        // a contradiction (no number in the range): the hints are dropped, not the schema refused
        let text = br#"{"type":"number","description":"{exclusiveMinimum: 0.5, maximum: 1e-05}"}"#;
        let Format::JsonSchema(schema) = parse(text, "p").unwrap() else { panic!() };
        assert!(schema.get("maximum").is_none());
        // prose in a description is left alone
        assert!(hints("The {minimum: wage} of a worker").is_empty());
        assert!(hints("{minimum: x}").is_empty());
    }

    #[test]
    fn a_bad_schema_names_the_field() {
        for (text, param) in [
            (&b"[1]"[..], "output_format.schema"),
            (b"{\"type\": 7}", "output_config.format.schema"),
            (b"{\"type\": \"string\", \"pattern\": \"(\"}", "output_format.schema"),
            (b"{", "output_format.schema"),
        ] {
            let e = parse(text, param).err().unwrap();
            assert_eq!(e.param, param);
            assert!(e.message.starts_with(param), "{}", e.message);
        }
    }
}
