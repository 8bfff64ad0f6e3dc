//! The chat request fields beyond prose, read into core values: tools (and legacy functions),
//! `response_format`, `reasoning_effort` and `prediction`, read as attributes of the decoded request.
//! JSON-valued fields arrive as `msgspec.Raw` (or `bytes`/`str`) and are parsed here, once.

use crate::invalid::Invalid;
use crate::text::context_window;
use crate::text::parse_cache::cached;
use crate::text::reasoning::Effort;
use crate::text::response_format::Format;
use crate::text::tokens;
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
    /// One of OpenAI's hosted reasoning models (capability `hidden_reasoning`): its chat answer
    /// shows no reasoning text, only `reasoning_tokens` (see [`refuse_sampling`] for what it refuses).
    pub(crate) hidden_reasoning: bool,
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

/// JSON mode's format from the prompt ([`crate::text::prompt_schema`]): a schema (or an example)
/// the `system`, `developer` and `user` messages' texts hold, or `None`. Called for
/// `response_format: json_object` requests only.
pub(crate) fn prompt_format(messages: &Bound<'_, PyList>) -> PyResult<Option<Rc<Format>>> {
    let py = messages.py();
    let mut held: Vec<Bound<'_, PyString>> = Vec::new();
    for msg in messages.iter() {
        let role = msg.getattr(intern!(py, "role"))?;
        if !matches!(role.cast::<PyString>()?.to_str()?, "system" | "developer" | "user") {
            continue;
        }
        let content = msg.getattr(intern!(py, "content"))?;
        if let Ok(text) = content.cast::<PyString>() {
            held.push(text.clone());
        } else if let Ok(parts) = content.cast::<PyList>() {
            for part in parts.iter() {
                if let Some(text) = part.getattr_opt(intern!(py, "text"))? {
                    if let Ok(text) = text.cast_into::<PyString>() {
                        held.push(text);
                    }
                }
            }
        }
    }
    let texts = held.iter().map(|t| t.to_str()).collect::<PyResult<Vec<&str>>>()?;
    Ok(crate::text::prompt_schema::find(&texts))
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

/// The context window a request's tool definitions must fit, with the prompt tokens before them and
/// the completion the request asks for (see [`crate::text::context_window::check`]).
#[derive(Clone, Copy)]
pub(crate) struct Window {
    pub(crate) limit: u32,
    pub(crate) prompt: u32,
    pub(crate) asked: Option<u32>,
}

/// Tool definitions longer than this are counted against the [`Window`] before they are parsed.
const PRECHECK_BYTES: usize = 64 << 10;

impl Window {
    /// The context-window error a definitions text (`tools` or `functions`) already earns by its
    /// tokens, checked before it is parsed: a parsed schema costs tens of times its text in memory,
    /// and a text past the window would be refused after parsing anyway. Short texts pass unchecked
    /// (the full check after parsing counts them).
    fn precheck(window: Option<Window>, text: &[u8]) -> Result<(), Invalid> {
        match window {
            Some(w) if text.len() > PRECHECK_BYTES => {
                let tokens = u32::try_from(tokens::count(&String::from_utf8_lossy(text))).unwrap_or(u32::MAX);
                context_window::check(w.limit, w.prompt.saturating_add(tokens), tokens, w.asked)
            }
            _ => Ok(()),
        }
    }
}

/// Read the options of `request` (the decoded request: its `tools`, `tool_choice`,
/// `parallel_tool_calls`, `functions`, `function_call`, `response_format`, `reasoning_effort` and
/// `prediction` attributes; a missing attribute counts as absent) for a model with `caps`; tool
/// definitions past `window` are refused before they are parsed.
pub(crate) fn read<'py>(
    request: Option<&Bound<'py, PyAny>>,
    caps: Option<&Bound<'py, PyFrozenSet>>,
    window: Option<Window>,
) -> PyResult<ChatOptions> {
    let Some(req) = request.filter(|r| !r.is_none()) else {
        return Ok(ChatOptions {
            tools: None,
            tool_tokens: 0,
            format: None,
            reasoning: None,
            prediction: None,
            hidden_reasoning: false,
        });
    };
    let py = req.py();
    let field = |name: &Bound<'py, PyString>| req.getattr_opt(name);
    let tools = declared(field(intern!(py, "tools"))?.as_ref(), TOOLS, |t| {
        Window::precheck(window, t)?;
        Declared::parse(t, false)
    })?;
    let functions = declared(field(intern!(py, "functions"))?.as_ref(), FUNCTIONS, |t| {
        Window::precheck(window, t)?;
        Declared::parse(t, true)
    })?;
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
    // One frozenset lookup per request; the rest only for OpenAI's reasoning models. GPT-5.1 and
    // later (`sampling_at_effort_none`) reason at `none` unless asked to, and then sample.
    let (hidden_reasoning, effort_none) = match caps {
        Some(c) if has(c, intern!(py, "hidden_reasoning"))? => {
            let samples = has(c, intern!(py, "sampling_at_effort_none"))?;
            if !samples && effort == Some("none") {
                // OpenAI's reasoning models before GPT-5.1 (gpt-5, the o-series) always reason.
                return Err(Invalid::new(
                    "reasoning_effort",
                    "Unsupported value: 'reasoning_effort' does not support 'none' with this model. \
                     Supported values are: 'minimal', 'low', 'medium', and 'high'.",
                )
                .code("unsupported_value")
                .into());
            }
            let effort_none = samples && matches!(effort, None | Some("none"));
            refuse_sampling(req, effort_none)?;
            (true, effort_none)
        }
        _ => (false, false),
    };
    let reasoning = match (caps, effort) {
        (Some(_), None) if effort_none => Some(Effort::Off),
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
        hidden_reasoning,
    })
}

/// A number as OpenAI's errors quote it: `0.2`, and an integral value without decimals (`0`).
fn quoted(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// Refuse what OpenAI's reasoning models refuse on chat completions, in OpenAI's words: `max_tokens`
/// always ("Use 'max_completion_tokens' instead"); and, unless the model samples (`sampling`:
/// GPT-5.1 and later at `reasoning_effort` `none`, their default), `temperature` and `top_p` other
/// than 1 (`unsupported_value`), non-zero `presence_penalty` and `frequency_penalty`, `logprobs:
/// true` and `top_logprobs` (`unsupported_parameter`). The defaults (1, 0, `logprobs: false`) pass,
/// as OpenAI takes them; so does `n`.
fn refuse_sampling(req: &Bound<'_, PyAny>, sampling: bool) -> PyResult<()> {
    let py = req.py();
    let value = |name: &Bound<'_, PyString>| -> PyResult<Option<f64>> {
        match req.getattr_opt(name)? {
            Some(v) if !v.is_none() => Ok(Some(v.extract::<f64>()?)),
            _ => Ok(None),
        }
    };
    let unsupported = |param: &str, advice: &str| -> PyErr {
        Invalid::new(
            param,
            format!("Unsupported parameter: '{param}' is not supported with this model.{advice}"),
        )
        .code("unsupported_parameter")
        .into()
    };
    if value(intern!(py, "max_tokens"))?.is_some() {
        return Err(unsupported("max_tokens", " Use 'max_completion_tokens' instead."));
    }
    if sampling {
        return Ok(());
    }
    for (name, param) in [(intern!(py, "temperature"), "temperature"), (intern!(py, "top_p"), "top_p")] {
        if let Some(v) = value(name)?.filter(|&v| v != 1.0) {
            let message = format!(
                "Unsupported value: '{param}' does not support {} with this model. Only the default (1) value is supported.",
                quoted(v)
            );
            return Err(Invalid::new(param, message).code("unsupported_value").into());
        }
    }
    for (name, param) in [
        (intern!(py, "presence_penalty"), "presence_penalty"),
        (intern!(py, "frequency_penalty"), "frequency_penalty"),
    ] {
        if value(name)?.is_some_and(|v| v != 0.0) {
            return Err(unsupported(param, ""));
        }
    }
    if let Some(logprobs) = req.getattr_opt(intern!(py, "logprobs"))? {
        if logprobs.is_truthy()? {
            return Err(unsupported("logprobs", ""));
        }
    }
    if value(intern!(py, "top_logprobs"))?.is_some() {
        return Err(unsupported("top_logprobs", ""));
    }
    Ok(())
}
