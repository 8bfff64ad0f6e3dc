//! `anthropic_message(...)`: one call renders a whole Anthropic Messages API response or its stream.

use super::chat::read_messages;
use super::length::{natural, LengthDistribution};
use super::reply::{latency, request_key, stop_list, streamed, whole, Answer, Outcome, Sim};
use super::steps::{is_lazy, Steps};
use crate::render::anthropic::{self, Message, MessageSteps, OwnedMessage, StopReason, ToolUse};
use crate::render::choices::{self, ChoiceSpec};
use crate::render::ids;
use crate::text::length::{Finish, LengthSpec};
use crate::text::prose;
use crate::text::tokens;
use pyo3::prelude::*;
use pyo3::types::PyList;

/// `messages` are objects with `role`, `name` and `content` (a string or blocks with `text`);
/// `tool` is `(name, input_json)` when the answer is a tool call. Returns the usual
/// `(payload, schedule, input_tokens, output_tokens)`. The natural length (the model ends by
/// itself, before `max_tokens`) is drawn from `lengths` (`--output-length-distribution`).
#[pyfunction]
#[pyo3(signature = (
    model, messages, *, max_tokens, stop_sequences=None, stream=false, tool=None, seed=None,
    extra_input_tokens=0, ttft=0.0, itl=0.0, jitter=0.0, lengths=None
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn anthropic_message<'py>(
    py: Python<'py>,
    model: &str,
    messages: &Bound<'py, PyList>,
    max_tokens: u32,
    stop_sequences: Option<&Bound<'py, PyAny>>,
    stream: bool,
    tool: Option<(String, String)>,
    seed: Option<i64>,
    extra_input_tokens: u32,
    ttft: f64,
    itl: f64,
    jitter: f64,
    lengths: Option<&Bound<'py, LengthDistribution>>,
) -> PyResult<Bound<'py, Answer>> {
    let (prompt_tokens, input_hash, _) = read_messages(messages, None)?;
    let input_tokens = prompt_tokens as u32 + extra_input_tokens;
    let stops = stop_list(stop_sequences)?;
    let id = ids::new_id("msg_01", 22);
    let tool_id = ids::new_id("toolu_01", 22);
    let (mut pieces, finish) = match &tool {
        Some(_) => (Vec::new(), Finish::Stop),
        None => {
            let spec = ChoiceSpec {
                n: 1,
                length: LengthSpec {
                    max_tokens: Some(max_tokens),
                    natural: natural(lengths),
                    ..Default::default()
                },
                ..Default::default()
            };
            let c = choices::generate(request_key(seed, input_hash), &spec).remove(0);
            (c.tokens, c.finish)
        }
    };
    let stop_sequence = anthropic::first_stop(&pieces.concat(), &stops);
    if stop_sequence.is_some() {
        prose::apply_stop(&mut pieces, &stops);
    }
    let output_tokens = match &tool {
        Some((_, input)) => tokens::count(input) as u32 + 8,
        None => pieces.len() as u32,
    };
    let stop_reason = match (&tool, stop_sequence, finish) {
        (Some(_), _, _) => StopReason::ToolUse,
        (None, Some(_), _) => StopReason::StopSequence,
        (None, None, Finish::Length) => StopReason::MaxTokens,
        (None, None, Finish::Stop) => StopReason::EndTurn,
    };
    let message = Message {
        id: &id,
        model,
        text: &pieces,
        tool: tool.as_ref().map(|(name, input)| ToolUse { id: &tool_id, name, input }),
        stop_reason,
        stop_sequence,
        input_tokens,
        output_tokens,
    };
    let lat = latency(ttft, itl, jitter);
    let outcome = Outcome {
        prompt_tokens: input_tokens,
        completion_tokens: output_tokens,
        cached_tokens: 0,
        worker: None,
    };
    if stream && is_lazy(pieces.len(), lat.itl > 0.0) {
        let owned = OwnedMessage {
            id,
            model: model.to_owned(),
            stop_sequence: stop_sequence.map(str::to_owned),
            tool: tool.map(|(name, input)| (tool_id, name, input)),
            text: pieces,
            stop_reason,
            input_tokens,
            output_tokens,
        };
        let lazy = Steps::new(MessageSteps::new(owned));
        streamed(py, super::reply::StreamSteps::Lazy(lazy), lat, Sim::none(), outcome)
    } else if stream {
        streamed(py, anthropic::render_stream(&message), lat, Sim::none(), outcome)
    } else {
        whole(py, &anthropic::render(&message), lat, Sim::none(), outcome, output_tokens as usize)
    }
}
