//! `custom_tool_input(tool, at, key)`: the input a Responses API custom tool call carries, from the
//! same generator chat's custom tool calls use ([`crate::text::custom_tools`]).

use crate::rng::Rng;
use crate::text::custom_tools;
use pyo3::prelude::*;
use serde_json::Value;
use xxhash_rust::xxh3::xxh3_64;

/// The input of one call of the Responses API custom tool `tool` (JSON text of `{"type": "custom",
/// "name", "format"?}`, its grammar's `syntax` and `definition` directly under `format`) declared at
/// `at` (`tools[2]`); the same `key` gives the same input. A bad `format` raises `InvalidInput`
/// naming the field (`tools[2].format.definition`).
#[pyfunction]
pub(crate) fn custom_tool_input(tool: &[u8], at: &str, key: &str) -> PyResult<String> {
    let def: Value = serde_json::from_slice(tool)
        .map_err(|e| super::InvalidInput::new_err(format!("the tool is not valid JSON: {e}")))?;
    let format = custom_tools::format(&def, at, false)?;
    Ok(custom_tools::input(&format, &mut Rng::new(xxh3_64(key.as_bytes()))))
}
