//! `MessagesCall`: what the server decides for every Anthropic Messages request of one model, held
//! once, and the reading of a decoded `MessagesRequest` that both `POST /v1/messages` paths share.
//!
//! It holds the model's [`ChatCall`] (latency, lengths, the generation cap, and on the live path the
//! cluster, the engine and the meter): a Messages request is timed by the simulated engine, routed
//! through the prefix cache and metered (usage, inference metrics) exactly as a chat completion is.
//! The Python route (`fakeai.api.messages`) makes one per request and calls it with the request, its
//! arrival time, the tool call it chose and the tools' schema tokens; the Rust hot path
//! ([`super::hot_app`]) keeps one per model and calls [`MessagesCall::plain`] with each decoded
//! request that names no tools. Both end in the one renderer, [`super::messages::anthropic_message`].

use super::chat_call::ChatCall;
use super::messages::{anthropic_message, Asked};
use super::reply::Answer;
use super::text::count_tokens;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct MessagesCall {
    call: Py<ChatCall>,
}

/// Calls `each` with every text of `system` (a string, or blocks with `text`; None has none).
fn system_texts(system: &Bound<'_, PyAny>, mut each: impl FnMut(&str)) -> PyResult<()> {
    if system.is_none() {
        return Ok(());
    }
    if let Ok(text) = system.cast::<PyString>() {
        each(text.to_str()?);
        return Ok(());
    }
    let py = system.py();
    for block in system.try_iter()? {
        let part = block?.getattr(intern!(py, "text"))?;
        if !part.is_none() {
            each(part.cast::<PyString>()?.to_str()?);
        }
    }
    Ok(())
}

/// The tokens of `system` (a string, or blocks with `text`), as the input counts them. Blocks are
/// separate texts, each counted on its own as a message's content blocks are: joined with nothing
/// between them, 300,000 `"hello"` blocks would read as one 1.5 MB word of 125,000 tokens, not
/// 300,000 words, and slip past the context-window check.
pub(super) fn system_tokens(py: Python<'_>, system: &Bound<'_, PyAny>) -> PyResult<u32> {
    let mut count = 0usize;
    system_texts(system, |text| count += count_tokens(py, text))?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

/// The token ids of `system`'s texts, in front of the messages' in the prompt the prefix cache sees
/// (the chat template puts the system prompt first): two requests that differ only in their system
/// prompt share no prefix.
pub(super) fn system_ids(system: &Bound<'_, PyAny>, ids: &mut Vec<u32>) -> PyResult<()> {
    system_texts(system, |text| crate::text::tokens::encode_into(text, ids))
}

impl MessagesCall {
    /// The answer to a decoded `MessagesRequest` without tools that arrived at `now` (None when it
    /// names some: their choice and schema tokens are the Python route's).
    pub(crate) fn plain<'py>(
        &self,
        request: &Bound<'py, PyAny>,
        now: f64,
    ) -> PyResult<Option<Bound<'py, Answer>>> {
        let tools = request.getattr(intern!(request.py(), "tools"))?;
        if !tools.is_none() && tools.len()? > 0 {
            return Ok(None);
        }
        self.render(request, now, None, 0).map(Some)
    }

    fn render<'py>(
        &self,
        request: &Bound<'py, PyAny>,
        now: f64,
        tool: Option<(String, String)>,
        tools_tokens: u32,
    ) -> PyResult<Bound<'py, Answer>> {
        let py = request.py();
        let field = |name: &Bound<'py, PyString>| request.getattr(name);
        let model = field(intern!(py, "model"))?;
        let messages = field(intern!(py, "messages"))?;
        let stop = field(intern!(py, "stop_sequences"))?;
        let system = field(intern!(py, "system"))?;
        let asked = Asked {
            model: model.cast::<PyString>()?.to_str()?,
            messages: messages.cast::<PyList>()?,
            max_tokens: field(intern!(py, "max_tokens"))?.extract()?,
            stop_sequences: Some(&stop),
            stream: field(intern!(py, "stream"))?.extract()?,
            tool,
            extra_input_tokens: tools_tokens,
            system: Some(&system),
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

    /// The answer to a decoded `MessagesRequest` that arrived at `now`: the system prompt's tokens
    /// and `tools_tokens` (the tools' schemas) count as input; `tool` is `(name, input_json)` when
    /// the answer is a tool call.
    #[pyo3(signature = (request, *, now=0.0, tool=None, tools_tokens=0))]
    fn __call__<'py>(
        &self,
        request: &Bound<'py, PyAny>,
        now: f64,
        tool: Option<(String, String)>,
        tools_tokens: u32,
    ) -> PyResult<Bound<'py, Answer>> {
        self.render(request, now, tool, tools_tokens)
    }
}

/// The input tokens a decoded Messages request (or count-tokens request) is charged, as
/// `usage.input_tokens` reports them: its messages, its system prompt and `tools_tokens` (the
/// tools' schemas). Anthropic's `POST /v1/messages/count_tokens` answers this.
#[pyfunction]
#[pyo3(signature = (request, tools_tokens=0))]
pub(crate) fn messages_input_tokens(request: &Bound<'_, PyAny>, tools_tokens: u32) -> PyResult<u32> {
    let py = request.py();
    let messages = request.getattr(intern!(py, "messages"))?;
    let (prompt_tokens, _, _) = super::chat::read_messages(messages.cast::<PyList>()?, None)?;
    let system = system_tokens(py, &request.getattr(intern!(py, "system"))?)?;
    Ok((prompt_tokens as u32).saturating_add(system).saturating_add(tools_tokens))
}

#[cfg(test)]
mod tests {
    use super::system_tokens;
    use pyo3::prelude::*;
    use pyo3::types::{PyDict, PyList, PyString};

    /// `system` as Anthropic sends it: a string, or `n` text blocks of `text` each.
    fn tokens(n: usize, text: &str, as_blocks: bool) -> u32 {
        Python::initialize();
        Python::attach(|py| {
            let system: Bound<'_, PyAny> = if as_blocks {
                let block = py.import("types").unwrap().getattr("SimpleNamespace").unwrap();
                let kwargs = PyDict::new(py);
                kwargs.set_item("type", "text").unwrap();
                kwargs.set_item("text", text).unwrap();
                let block = block.call((), Some(&kwargs)).unwrap();
                PyList::new(py, std::iter::repeat_n(block, n)).unwrap().into_any()
            } else {
                PyString::new(py, &text.repeat(n)).into_any()
            };
            system_tokens(py, &system).unwrap()
        })
    }

    #[test]
    fn system_blocks_are_counted_one_by_one_not_glued_into_one_word() {
        // "hello" blocks are 1 token each, as the words of "hello hello ..." are; glued into
        // "hellohello..." they would be one word cut every 12 letters (5 blocks to 2 tokens).
        assert_eq!(tokens(300_000, "hello", true), 300_000);
        assert_eq!(tokens(300_000, "hello ", false), 300_001); // the trailing space is a token
        assert_eq!(tokens(3, "two words", true), 3 * 2);
        assert_eq!(tokens(1, "", true), 0);
    }
}
