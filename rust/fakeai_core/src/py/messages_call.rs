//! `MessagesCall`: what the server decides for every Anthropic Messages request of one model (its
//! latency and the length distribution), held once, and the reading of a decoded `MessagesRequest`
//! that both `POST /v1/messages` paths share.
//!
//! The Python route (`fakeai.api.messages`) makes one per request and calls it with the request, the
//! tool call it chose and the tools' schema tokens; the Rust hot path ([`super::hot_app`]) keeps one per
//! model and calls [`MessagesCall::plain`] with each decoded request that names no tools. Both end in
//! the one renderer, [`super::messages::anthropic_message`].

use super::length::LengthDistribution;
use super::messages::anthropic_message;
use super::reply::Answer;
use super::text::count_tokens;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct MessagesCall {
    ttft: f64,
    itl: f64,
    jitter: f64,
    lengths: Option<Py<LengthDistribution>>,
}

/// The tokens of `system` (a string, or blocks whose `text`s are joined), as the input counts them.
fn system_tokens(py: Python<'_>, system: &Bound<'_, PyAny>) -> PyResult<u32> {
    if system.is_none() {
        return Ok(0);
    }
    if let Ok(text) = system.cast::<PyString>() {
        return Ok(count_tokens(py, text.to_str()?) as u32);
    }
    let mut text = String::new();
    for block in system.try_iter()? {
        let part = block?.getattr(intern!(py, "text"))?;
        if !part.is_none() {
            text.push_str(part.cast::<PyString>()?.to_str()?);
        }
    }
    Ok(count_tokens(py, &text) as u32)
}

impl MessagesCall {
    /// The answer to a decoded `MessagesRequest` without tools (None when it names some: their choice
    /// and schema tokens are the Python route's).
    pub(crate) fn plain<'py>(&self, request: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, Answer>>> {
        let tools = request.getattr(intern!(request.py(), "tools"))?;
        if !tools.is_none() && tools.len()? > 0 {
            return Ok(None);
        }
        self.render(request, None, 0).map(Some)
    }

    fn render<'py>(
        &self,
        request: &Bound<'py, PyAny>,
        tool: Option<(String, String)>,
        tools_tokens: u32,
    ) -> PyResult<Bound<'py, Answer>> {
        let py = request.py();
        let field = |name: &Bound<'py, PyString>| request.getattr(name);
        let model = field(intern!(py, "model"))?;
        let messages = field(intern!(py, "messages"))?;
        let stop = field(intern!(py, "stop_sequences"))?;
        let extra = system_tokens(py, &field(intern!(py, "system"))?)? + tools_tokens;
        anthropic_message(
            py,
            model.cast::<PyString>()?.to_str()?,
            messages.cast::<PyList>()?,
            field(intern!(py, "max_tokens"))?.extract()?,
            Some(&stop),
            field(intern!(py, "stream"))?.extract()?,
            tool,
            None,
            extra,
            self.ttft,
            self.itl,
            self.jitter,
            self.lengths.as_ref().map(|l| l.bind(py)),
        )
    }
}

#[pymethods]
impl MessagesCall {
    #[new]
    #[pyo3(signature = (*, ttft=0.0, itl=0.0, jitter=0.0, lengths=None))]
    fn new(ttft: f64, itl: f64, jitter: f64, lengths: Option<Py<LengthDistribution>>) -> Self {
        Self { ttft, itl, jitter, lengths }
    }

    /// `anthropic_message(...)` of a decoded `MessagesRequest` with this call's timing: the system
    /// prompt's tokens and `tools_tokens` (the tools' schemas) count as input; `tool` is
    /// `(name, input_json)` when the answer is a tool call.
    #[pyo3(signature = (request, *, tool=None, tools_tokens=0))]
    fn __call__<'py>(
        &self,
        request: &Bound<'py, PyAny>,
        tool: Option<(String, String)>,
        tools_tokens: u32,
    ) -> PyResult<Bound<'py, Answer>> {
        self.render(request, tool, tools_tokens)
    }
}
