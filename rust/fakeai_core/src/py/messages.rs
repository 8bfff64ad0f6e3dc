//! [`anthropic_message`]: one call renders a whole Anthropic Messages API response or its stream.

use super::chat::{read_messages, PromptSink};
use super::chat_call::ChatCall;
use super::length::natural;
use super::reply::{request_key, stop_list, streamed, whole, Answer, Outcome, Sim};
use super::steps::{is_lazy, Steps};
use crate::invalid::Invalid;
use crate::render::anthropic::{self, Message, MessageSteps, OwnedMessage, StopReason, ToolUse};
use crate::render::choices::{self, ChoiceSpec};
use crate::render::ids;
use crate::text::budget;
use crate::text::length::{Finish, LengthSpec};
use crate::text::prose;
use crate::text::tokens;
use pyo3::prelude::*;
use pyo3::types::PyList;

/// One Anthropic Messages request as the renderer reads it: `messages` are objects with `role`,
/// `name` and `content` (a string or blocks with `text`); `tool` is `(name, input_json)` when the
/// answer is a tool call; `extra_input_tokens` (the system prompt, the tools' schemas) count as input.
pub(super) struct Asked<'a, 'py> {
    pub(super) model: &'a str,
    pub(super) messages: &'a Bound<'py, PyList>,
    pub(super) max_tokens: u32,
    pub(super) stop_sequences: Option<&'a Bound<'py, PyAny>>,
    pub(super) stream: bool,
    pub(super) tool: Option<(String, String)>,
    /// Input tokens besides the messages' and the system prompt's (the tools' schemas).
    pub(super) extra_input_tokens: u32,
    /// The request's `system` (a string or text blocks): input tokens, and the lead of the prompt the
    /// prefix cache sees ([`super::messages_call::system_ids`]).
    pub(super) system: Option<&'a Bound<'py, PyAny>>,
}

/// Render the `message` (or its SSE events) `asked` for, with the server's decisions for its model
/// held in `call` (a [`ChatCall`]: latency and prefill per uncached token, the length distribution,
/// the cap on generated tokens, a forced length, and on the live path the cluster, the engine and the
/// meter; not the echo mode, which is chat's and legacy completions'), the request having arrived
/// at `now`: timed, routed (prefix-cache hits) and metered as a chat completion is, its usage
/// counted as `completions`.
pub(super) fn anthropic_message<'py>(
    py: Python<'py>,
    asked: Asked<'_, 'py>,
    call: &ChatCall,
    now: f64,
) -> PyResult<Bound<'py, Answer>> {
    let Asked { model, messages, max_tokens, stop_sequences, stream, tool, extra_input_tokens, system } =
        asked;
    // A tool call costs its input's tokens and a few for the block: past `max_tokens` the model is cut
    // off before the call is whole, which Anthropic answers with stop_reason max_tokens and no call.
    let cut_tool = tool.as_ref().is_some_and(|(_, input)| tokens::count(input) as u32 + 8 > max_tokens);
    let tool = if cut_tool { None } else { tool };
    let (cluster, engine, meter) = call.sim_parts(py);
    let lengths = call.lengths.as_ref().map(|l| l.bind(py));
    let sim = Sim::of(&cluster, &engine, now, &meter, "completions", model, call.live);
    let mut ids = Vec::new();
    // With the prefix cache the system prompt is tokenized once, into the ids it leads; else counted.
    let system_tokens = match (sim.cluster, system) {
        (Some(_), Some(system)) => {
            super::messages_call::system_ids(system, &mut ids)?;
            u32::try_from(ids.len()).unwrap_or(u32::MAX)
        }
        (None, Some(system)) => super::messages_call::system_tokens(py, system)?,
        (_, None) => 0,
    };
    let (prompt_tokens, input_hash, _) =
        read_messages(messages, sim.cluster.map(|_| &mut ids as &mut dyn PromptSink))?;
    let input_tokens =
        (prompt_tokens as u32).saturating_add(system_tokens).saturating_add(extra_input_tokens);
    if let Some(info) = call.model_info.as_ref() {
        let limit: u32 = info.bind(py).getattr(pyo3::intern!(py, "context_length"))?.extract()?;
        context_limit(limit, input_tokens, max_tokens)?;
    }
    let stops = stop_list(stop_sequences)?;
    let mut length = LengthSpec {
        max_tokens: Some(max_tokens),
        natural: natural(lengths),
        forced: call.forced_tokens, // x-fakeai-output-tokens
        ..Default::default()
    };
    budget::bound(&mut length, 1, call.max_generated)?;
    let id = ids::new_id("msg_01", 22);
    let tool_id = ids::new_id("toolu_01", 22);
    let (mut pieces, finish) = match &tool {
        Some(_) => (Vec::new(), Finish::Stop),
        None if cut_tool => (Vec::new(), Finish::Length),
        None => {
            let spec = ChoiceSpec { n: 1, length, ..Default::default() };
            let c = choices::generate(request_key(None, input_hash), &spec).remove(0);
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
    let routed = sim.route(&ids);
    let cached_tokens = routed.map_or(0, |r| r.1).min(input_tokens);
    let lat = call.latency(input_tokens, cached_tokens);
    let outcome = Outcome {
        prompt_tokens: input_tokens,
        completion_tokens: output_tokens,
        cached_tokens,
        worker: routed.map(|r| r.0),
    };
    if stream && is_lazy(pieces.len(), lat.itl > 0.0 || sim.engine.is_some()) {
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
        streamed(py, super::reply::StreamSteps::Lazy(lazy), lat, sim, outcome)
    } else if stream {
        streamed(py, anthropic::render_stream(&message), lat, sim, outcome)
    } else {
        whole(py, &anthropic::render(&message), lat, sim, outcome, output_tokens as usize)
    }
}

/// Anthropic's context-window check: the input, then the input with `max_tokens`, within `limit`
/// (in Anthropic's words), before the engine times anything.
fn context_limit(limit: u32, input: u32, max_tokens: u32) -> Result<(), Invalid> {
    if input > limit {
        return Err(Invalid::new(
            "messages",
            format!("prompt is too long: {input} tokens > {limit} maximum"),
        ));
    }
    if u64::from(input) + u64::from(max_tokens) > u64::from(limit) {
        return Err(Invalid::new(
            "max_tokens",
            format!(
                "input length and `max_tokens` exceed context limit: {input} + {max_tokens} > {limit}, decrease \
                 input length or `max_tokens` and try again"
            ),
        ));
    }
    Ok(())
}
