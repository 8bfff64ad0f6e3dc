//! The chat request fields beyond prose, read into core values: tools (and legacy functions),
//! `response_format`, `reasoning_effort` and `prediction`, read as attributes of the decoded request.
//! JSON-valued fields arrive as `msgspec.Raw` (or `bytes`/`str`) and are parsed here, once.

use crate::invalid::Invalid;
use crate::text::parse_cache::cached;
use crate::text::reasoning::Effort;
use crate::text::response_format::Format;
use crate::text::tools::{Declared, ToolParams, Tools};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFrozenSet, PyList, PyString};
use serde_json::Value;
use std::rc::Rc;

/// [`crate::text::parse_cache`] namespaces.
const TOOLS: u64 = 1;
const FUNCTIONS: u64 = 2;
const RESPONSE_FORMAT: u64 = 3;

pub(crate) struct ChatOptions {
    pub(crate) tools: Option<Tools>,
    /// Prompt tokens of the function definitions.
    pub(crate) tool_tokens: u32,
    /// `None`: plain text.
    pub(crate) format: Option<Rc<Format>>,
    pub(crate) reasoning: Option<Effort>,
    pub(crate) prediction: Option<String>,
}

/// The text of a JSON field: `None` for an absent field (None, or an empty `msgspec.Raw`).
fn raw_text(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<u8>>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Some(s.to_str()?.as_bytes().to_vec()));
    }
    if obj.len()? == 0 {
        return Ok(None);
    }
    let bytes = obj.py().get_type::<PyBytes>().call1((obj,))?;
    Ok(Some(bytes.cast::<PyBytes>()?.as_bytes().to_vec()))
}

fn json(obj: Option<&Bound<'_, PyAny>>, param: &str) -> PyResult<Option<Value>> {
    let Some(text) = raw_text(obj)? else { return Ok(None) };
    let value: Value = serde_json::from_slice(&text)
        .map_err(|e| Invalid::new(param, format!("Invalid JSON in '{param}': {e}.")))?;
    Ok(Some(value).filter(|v| !v.is_null()))
}

/// A declaration field (`tools`, `functions`, `response_format`), parsed through the cache.
fn declared<T: 'static>(
    obj: Option<&Bound<'_, PyAny>>,
    kind: u64,
    parse: impl FnOnce(&[u8]) -> Result<T, Invalid>,
) -> PyResult<Option<Rc<T>>> {
    match raw_text(obj)? {
        Some(text) if text.as_slice() != b"null" => Ok(Some(cached(kind, &text, parse)?)),
        _ => Ok(None),
    }
}

/// The text of the last `user` message (its string content, or its text parts joined by a space, as
/// vLLM's simulators echo it), or "".
pub(crate) fn last_user_text(messages: &Bound<'_, PyList>) -> PyResult<String> {
    let py = messages.py();
    for i in (0..messages.len()).rev() {
        let msg = messages.get_item(i)?;
        if msg.getattr(intern!(py, "role"))?.cast::<PyString>()?.to_str()? == "user" {
            return content_text(&msg, " ");
        }
    }
    Ok(String::new())
}

/// `.content` of a message or a prediction: a string, a list of parts (their texts joined by `sep`),
/// or None.
fn content_text(holder: &Bound<'_, PyAny>, sep: &str) -> PyResult<String> {
    let py = holder.py();
    let content = holder.getattr(intern!(py, "content"))?;
    if let Ok(s) = content.cast::<PyString>() {
        return Ok(s.to_str()?.to_owned());
    }
    let mut texts = Vec::new();
    if let Ok(parts) = content.cast::<PyList>() {
        for part in parts.iter() {
            if let Some(t) = part.getattr_opt(intern!(py, "text"))? {
                texts.push(t.cast::<PyString>()?.to_str()?.to_owned());
            }
        }
    }
    Ok(texts.join(sep))
}

/// Read the options of `request` (the decoded request: its `tools`, `tool_choice`,
/// `parallel_tool_calls`, `functions`, `function_call`, `response_format`, `reasoning_effort` and
/// `prediction` attributes; a missing attribute counts as absent) for a model with `caps`.
pub(crate) fn read<'py>(
    request: Option<&Bound<'py, PyAny>>,
    caps: Option<&Bound<'py, PyFrozenSet>>,
) -> PyResult<ChatOptions> {
    let Some(req) = request.filter(|r| !r.is_none()) else {
        return Ok(ChatOptions {
            tools: None,
            tool_tokens: 0,
            format: None,
            reasoning: None,
            prediction: None,
        });
    };
    let py = req.py();
    let field = |name: &Bound<'py, PyString>| req.getattr_opt(name);
    let tools = declared(field(intern!(py, "tools"))?.as_ref(), TOOLS, |t| Declared::parse(t, false))?;
    let functions =
        declared(field(intern!(py, "functions"))?.as_ref(), FUNCTIONS, |t| Declared::parse(t, true))?;
    let parallel_tool_calls = match field(intern!(py, "parallel_tool_calls"))? {
        Some(p) if !p.is_none() => Some(p.extract::<bool>()?),
        _ => None,
    };
    let params = ToolParams {
        tools,
        tool_choice: json(field(intern!(py, "tool_choice"))?.as_ref(), "tool_choice")?,
        parallel_tool_calls,
        functions,
        function_call: json(field(intern!(py, "function_call"))?.as_ref(), "function_call")?,
    };
    let tools = Tools::parse(params)?;
    let has = |c: &Bound<'_, PyFrozenSet>, name: &Bound<'_, PyString>| c.contains(name);
    if let (Some(t), Some(c)) = (&tools, caps) {
        if !has(c, intern!(py, "tools"))? {
            let param = if t.legacy { "functions" } else { "tools" };
            return Err(Invalid::new(param, format!("'{param}' is not supported with this model."))
                .code("unsupported_parameter")
                .into());
        }
    }
    let format =
        declared(field(intern!(py, "response_format"))?.as_ref(), RESPONSE_FORMAT, Format::from_json)?;
    let effort = field(intern!(py, "reasoning_effort"))?.filter(|e| !e.is_none());
    let effort = effort.as_ref().map(|e| e.cast::<PyString>()?.to_str()).transpose()?;
    let reasoning = match (caps, effort) {
        (Some(c), effort) if has(c, intern!(py, "reasoning"))? => Some(Effort::parse(effort)?),
        (_, None) => None,
        (_, Some(_)) => {
            return Err(Invalid::new(
                "reasoning_effort",
                "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
            )
            .code("unsupported_parameter")
            .into())
        }
    };
    let prediction = field(intern!(py, "prediction"))?.filter(|p| !p.is_none());
    let prediction = prediction.as_ref().map(|p| content_text(p, "")).transpose()?;
    Ok(ChatOptions {
        tool_tokens: tools.as_ref().map_or(0, |t| t.declared.tokens),
        tools,
        format,
        reasoning,
        prediction,
    })
}
