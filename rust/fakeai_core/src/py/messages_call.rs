//! `MessagesCall`: what the server decides for every Anthropic Messages request of one model, held
//! once, and the reading of a decoded `MessagesRequest` that both `POST /v1/messages` paths share.
//!
//! It holds the model's [`ChatCall`] (latency, lengths, the generation cap, and on the live path the
//! cluster, the engine and the meter): a Messages request is timed by the simulated engine, routed
//! through the prefix cache and metered (usage, inference metrics) exactly as a chat completion is.
//! The Python route (`fakeai.api.messages`) makes one per request and calls it with the request, its
//! arrival time and the tool call it chose (a client tool's `(name, input)`, or a server tool's
//! calls and results: [`served`]); the Rust hot path
//! ([`super::hot_app`]) keeps one per model and calls [`MessagesCall::plain`] with each decoded
//! request that names no tools. Both end in the one renderer, [`super::messages::anthropic_message`].

use super::chat_call::ChatCall;
use super::messages::{anthropic_message, thinking, Asked, Served};
use super::reply::Answer;
use crate::render::anthropic::ServerBlock;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyString;

#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct MessagesCall {
    call: Py<ChatCall>,
}

impl MessagesCall {
    /// The answer to a decoded `MessagesRequest` without tools that arrived at `now` (None when it
    /// names some: their choice is the Python route's).
    pub(crate) fn plain<'py>(
        &self,
        request: &Bound<'py, PyAny>,
        now: f64,
    ) -> PyResult<Option<Bound<'py, Answer>>> {
        let tools = request.getattr(intern!(request.py(), "tools"))?;
        if !tools.is_none() && tools.len()? > 0 {
            return Ok(None);
        }
        self.render(request, now, None, None).map(Some)
    }

    fn render<'py>(
        &self,
        request: &Bound<'py, PyAny>,
        now: f64,
        tool: Option<(String, String)>,
        server: Option<Served>,
    ) -> PyResult<Bound<'py, Answer>> {
        let py = request.py();
        let field = |name: &Bound<'py, PyString>| request.getattr(name);
        let model = field(intern!(py, "model"))?;
        let stop = field(intern!(py, "stop_sequences"))?;
        let max_tokens: u32 = field(intern!(py, "max_tokens"))?.extract()?;
        let asked = Asked {
            model: model.cast::<PyString>()?.to_str()?,
            request,
            max_tokens,
            stop_sequences: Some(&stop),
            stream: field(intern!(py, "stream"))?.extract()?,
            tool,
            server,
            thinking: thinking(request, Some(max_tokens))?,
        };
        anthropic_message(py, asked, self.call.get(), now)
    }
}

#[pymethods]
impl MessagesCall {
    #[new]
    fn new(call: Py<ChatCall>) -> Self {
        Self { call }
    }

    /// The answer to a decoded `MessagesRequest` that arrived at `now`; `tool` is
    /// `(name, input_json)` when the answer is a tool call, `server` a server tool's turn
    /// (`fakeai.engine.anthropic_tools.ServerTurn`, read by [`served`]).
    #[pyo3(signature = (request, *, now=0.0, tool=None, server=None))]
    fn __call__<'py>(
        &self,
        request: &Bound<'py, PyAny>,
        now: f64,
        tool: Option<(String, String)>,
        server: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, Answer>> {
        let server = server.filter(|s| !s.is_none()).map(|s| served(&s)).transpose()?;
        self.render(request, now, tool, server)
    }
}

/// A server tool's turn, read from its Python value: `blocks` (`(id, name, input_json,
/// result_json)` each), `citations` (JSON objects), `web_search_requests`, `web_fetch_requests` and
/// `container` (JSON or None).
fn served(turn: &Bound<'_, PyAny>) -> PyResult<Served> {
    let py = turn.py();
    let blocks: Vec<(String, String, String, String)> = turn.getattr(intern!(py, "blocks"))?.extract()?;
    Ok(Served {
        blocks: blocks
            .into_iter()
            .map(|(id, name, input, result)| ServerBlock { id, name, input, result })
            .collect(),
        citations: turn.getattr(intern!(py, "citations"))?.extract()?,
        web_search_requests: turn.getattr(intern!(py, "web_search_requests"))?.extract()?,
        web_fetch_requests: turn.getattr(intern!(py, "web_fetch_requests"))?.extract()?,
        container: turn.getattr(intern!(py, "container"))?.extract()?,
    })
}

/// The input tokens a decoded Messages request (or count-tokens request) is charged, as
/// `usage.input_tokens` reports them without prompt caching: its tools, system prompt and messages,
/// every kind of block counted ([`super::messages_input`]). Anthropic's
/// `POST /v1/messages/count_tokens` answers this; its `thinking` and its structured output
/// (`output_config.format`, `output_format`: [`super::messages_format`]) are checked as a message's
/// are, in the same order.
#[pyfunction]
pub(crate) fn messages_input_tokens(request: &Bound<'_, PyAny>) -> PyResult<u32> {
    thinking(request, None)?;
    let tokens = super::messages_input::read(request, None)?.tokens;
    super::messages_format::read(request)?;
    Ok(tokens)
}
