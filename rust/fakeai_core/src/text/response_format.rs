//! `response_format`: plain text, any JSON object, or JSON that validates against a given schema.

use crate::invalid::Invalid;
use crate::rng::Rng;
use crate::text::schema_gen;
use serde_json::Value;

pub enum Format {
    Text,
    /// JSON mode: any object, or (the chat engine decides, see [`crate::text::prompt_schema`]) an
    /// object following the schema the prompt holds.
    JsonObject,
    JsonSchema(Value),
}

impl Format {
    /// Read `{"type": "text" | "json_object" | "json_schema", "json_schema": {name, schema, strict?}}`.
    pub fn parse(v: Option<&Value>) -> Result<Format, Invalid> {
        let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(Format::Text) };
        if !v.is_object() {
            return Err(Invalid::new(
                "response_format",
                "Invalid type for 'response_format': expected an object.",
            ));
        }
        match v.get("type").map(|t| t.as_str()) {
            None => Err(Invalid::missing("response_format.type")),
            Some(Some("text")) => Ok(Format::Text),
            Some(Some("json_object")) => Ok(Format::JsonObject),
            Some(Some("json_schema")) => {
                let Some(js) = v.get("json_schema").filter(|j| j.is_object()) else {
                    return Err(Invalid::missing("response_format.json_schema"));
                };
                let name = match js.get("name").and_then(Value::as_str) {
                    Some(n) => n,
                    None => return Err(Invalid::missing("response_format.json_schema.name")),
                };
                let Some(schema) = js.get("schema") else {
                    return Err(Invalid::missing("response_format.json_schema.schema"));
                };
                schema_gen::check(schema).map_err(|e| {
                    Invalid::new(
                        "response_format.json_schema.schema",
                        format!("Invalid schema for response_format '{name}': {e}."),
                    )
                    .code("invalid_json_schema")
                })?;
                Ok(Format::JsonSchema(schema.clone()))
            }
            Some(other) => Err(Invalid::new(
                "response_format.type",
                format!(
                    "Invalid value: {}. Supported values are: 'text', 'json_object' and 'json_schema'.",
                    other.map_or("a non-string".to_owned(), |o| format!("'{o}'"))
                ),
            )),
        }
    }

    /// Parse the JSON text of a `response_format`.
    pub fn from_json(text: &[u8]) -> Result<Format, Invalid> {
        let v: Value = serde_json::from_slice(text).map_err(|e| {
            Invalid::new("response_format", format!("Invalid JSON in 'response_format': {e}."))
        })?;
        Format::parse(Some(&v))
    }

    /// The JSON content of one reply, or `None` for plain text.
    pub fn render(&self, rng: &mut Rng) -> Option<String> {
        match self {
            Format::Text => None,
            Format::JsonObject => Some(schema_gen::any_object(rng).to_string()),
            Format::JsonSchema(schema) => Some(schema_gen::generate(schema, rng).to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_three_types() {
        assert!(matches!(Format::parse(None), Ok(Format::Text)));
        assert!(matches!(Format::parse(Some(&json!({"type": "text"}))), Ok(Format::Text)));
        let obj = Format::parse(Some(&json!({"type": "json_object"}))).unwrap();
        let out: Value = serde_json::from_str(&obj.render(&mut Rng::new(1)).unwrap()).unwrap();
        assert!(out.is_object());
        let schema = json!({"type": "json_schema", "json_schema": {"name": "x", "strict": true,
            "schema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}});
        let out = Format::parse(Some(&schema)).unwrap().render(&mut Rng::new(1)).unwrap();
        assert!(serde_json::from_str::<Value>(&out).unwrap()["n"].is_i64());
    }

    #[test]
    fn bad_formats_name_the_param() {
        let cases = [
            (json!({"type": "yaml"}), "response_format.type"),
            (json!({}), "response_format.type"),
            (json!({"type": "json_schema"}), "response_format.json_schema"),
            (
                json!({"type": "json_schema", "json_schema": {"name": "x"}}),
                "response_format.json_schema.schema",
            ),
            (
                json!({"type": "json_schema", "json_schema": {"schema": {}}}),
                "response_format.json_schema.name",
            ),
            (
                json!({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": 1}}}),
                "response_format.json_schema.schema",
            ),
        ];
        for (v, param) in cases {
            assert_eq!(Format::parse(Some(&v)).err().unwrap().param, param, "{v}");
        }
    }
}
