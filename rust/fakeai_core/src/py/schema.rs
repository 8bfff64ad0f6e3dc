//! `sample_json(schema, key)`: a tool call's arguments (the Responses API's functions, Anthropic's
//! tools) satisfying its parameters' JSON schema, from the one schema-driven generator
//! ([`crate::text::schema_gen`]) that chat's tool arguments and structured outputs use.

use super::InvalidInput;
use crate::rng::Rng;
use crate::text::schema_gen;
use pyo3::prelude::*;
use serde_json::Value;
use xxhash_rust::xxh3::xxh3_64;

/// JSON text valid against the tool parameters' `schema` (JSON text); the same `key` gives the same
/// document. A schema the generator cannot satisfy, or whose root is not an object schema (arguments
/// are a JSON object), raises `InvalidInput` saying where.
#[pyfunction]
pub(crate) fn sample_json(schema: &[u8], key: &str) -> PyResult<String> {
    let root: Value = serde_json::from_slice(schema)
        .map_err(|e| InvalidInput::new_err(format!("the schema is not valid JSON: {e}")))?;
    schema_gen::check_parameters(&root).map_err(|e| InvalidInput::new_err(e.to_string()))?;
    let mut rng = Rng::new(xxh3_64(key.as_bytes()));
    Ok(schema_gen::generate(&root, &mut rng).to_string())
}
