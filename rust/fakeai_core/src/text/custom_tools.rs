//! Custom tools (`{"type": "custom", "custom": {"name", "description"?, "format"?}}`): tools whose
//! input is free text rather than JSON arguments, as GPT-5 calls them.
//!
//! A custom tool's `format` decides the input a call carries:
//! - `{"type": "text"}` (the default): a sentence of fakeai's prose.
//! - `{"type": "grammar", "grammar": {"syntax": "regex", "definition": ...}}`: a string matching the
//!   regular expression in full, drawn by the structured-outputs pattern generator (the one a JSON
//!   Schema `pattern` uses, reached through [`schema_gen`] with the schema `{"type": "string",
//!   "pattern": definition}`), so its syntax, bounds and errors are the same: look-arounds and
//!   backreferences are not interpreted, a pattern that matches nothing is a 400.
//! - `{"type": "grammar", "grammar": {"syntax": "lark", ...}}`: the definition is checked for size
//!   only and the input is prose: fakeai does not parse Lark grammars.
//!
//! A definition is at most [`MAX_DEFINITION_BYTES`] (a regex also within the pattern generator's
//! 4096 bytes).

use crate::invalid::Invalid;
use crate::rng::Rng;
use crate::text::{prose, schema_gen};
use serde_json::{json, Value};

/// Longest grammar `definition` accepted, in bytes (OpenAI documents none; real grammars are a few KB).
pub const MAX_DEFINITION_BYTES: usize = 32 * 1024;
/// Tokens of prose in a free-text input.
const TEXT_TOKENS: usize = 12;

/// What a custom tool's input must look like.
pub enum Format {
    Text,
    /// A Lark grammar: the input is prose (the grammar is not interpreted).
    Lark,
    /// A regular expression, as the JSON schema handed to the pattern generator.
    Regex(Value),
}

/// The `format` of the custom tool `def` declared at `at` (`tools[0].custom`): absent is text. A
/// grammar's `syntax` and `definition` sit under `format.grammar` in chat (`nested`), directly under
/// `format` in the Responses API.
pub fn format(def: &Value, at: &str, nested: bool) -> Result<Format, Invalid> {
    let Some(format) = def.get("format").filter(|f| !f.is_null()) else { return Ok(Format::Text) };
    let at = format!("{at}.format");
    let kind = format.get("type").and_then(Value::as_str);
    match kind {
        Some("text") => return Ok(Format::Text),
        Some("grammar") => {}
        None => return Err(Invalid::missing(format!("{at}.type"))),
        Some(other) => {
            return Err(Invalid::new(
                format!("{at}.type"),
                format!("Invalid value: '{other}'. Supported values are: 'text' and 'grammar'."),
            ))
        }
    }
    let (grammar, at) = if nested {
        (format.get("grammar").unwrap_or(&Value::Null), format!("{at}.grammar"))
    } else {
        (format, at)
    };
    if !grammar.is_object() {
        return Err(Invalid::missing(at));
    }
    let Some(definition) = grammar.get("definition").and_then(Value::as_str) else {
        return Err(Invalid::missing(format!("{at}.definition")));
    };
    if definition.len() > MAX_DEFINITION_BYTES {
        return Err(Invalid::new(
            format!("{at}.definition"),
            format!("Invalid '{at}.definition': string too long. Expected a string with maximum length {MAX_DEFINITION_BYTES}, but got a string with length {}.", definition.len()),
        )
        .code("string_above_max_length"));
    }
    match grammar.get("syntax").and_then(Value::as_str) {
        Some("lark") => Ok(Format::Lark),
        Some("regex") => {
            let schema = json!({"type": "string", "pattern": definition});
            schema_gen::check(&schema).map_err(|e| {
                Invalid::new(
                    format!("{at}.definition"),
                    format!(
                        "Invalid regex grammar in '{at}.definition': {}.",
                        e.to_string().trim_end_matches(" (at 'pattern')")
                    ),
                )
            })?;
            Ok(Format::Regex(schema))
        }
        None => Err(Invalid::missing(format!("{at}.syntax"))),
        Some(other) => Err(Invalid::new(
            format!("{at}.syntax"),
            format!("Invalid value: '{other}'. Supported values are: 'lark' and 'regex'."),
        )),
    }
}

/// The input of one call of a tool with `format`.
pub fn input(format: &Format, rng: &mut Rng) -> String {
    match format {
        Format::Text | Format::Lark => prose::generate(rng, TEXT_TOKENS).concat().trim().to_owned(),
        Format::Regex(schema) => match schema_gen::generate(schema, rng) {
            Value::String(s) => s,
            other => other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_inputs() {
        let mut rng = Rng::new(3);
        let text = format(&json!({"name": "t"}), "tools[0].custom", true).unwrap();
        assert!(!input(&text, &mut rng).is_empty());
        let regex = json!({"format": {"type": "grammar", "grammar": {"syntax": "regex", "definition": "^[A-Z]{3}-\\d{4}$"}}});
        let f = format(&regex, "tools[0].custom", true).unwrap();
        for _ in 0..20 {
            let s = input(&f, &mut rng);
            assert_eq!(s.len(), 8, "{s}");
            assert!(s[..3].bytes().all(|b| b.is_ascii_uppercase()) && &s[3..4] == "-");
        }
        let flat = json!({"format": {"type": "grammar", "syntax": "lark", "definition": "start: \"a\""}});
        assert!(matches!(format(&flat, "tools[0]", false).unwrap(), Format::Lark));
        let bad = [
            (
                json!({"format": {"type": "grammar", "syntax": "regex", "definition": "("}}),
                "tools[0].format.definition",
            ),
            (
                json!({"format": {"type": "grammar", "syntax": "ebnf", "definition": "a"}}),
                "tools[0].format.syntax",
            ),
            (json!({"format": {"type": "json"}}), "tools[0].format.type"),
            (json!({"format": {"type": "grammar", "syntax": "lark"}}), "tools[0].format.definition"),
            (
                json!({"format": {"type": "grammar", "syntax": "lark", "definition": "a".repeat(MAX_DEFINITION_BYTES + 1)}}),
                "tools[0].format.definition",
            ),
        ];
        for (def, param) in bad {
            assert_eq!(format(&def, "tools[0]", false).err().unwrap().param, param);
        }
    }
}
