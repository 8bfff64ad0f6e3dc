//! [`anthropic_message`]: one call renders a whole Anthropic Messages API response or its stream.

use super::chat_call::ChatCall;
use super::length::natural;
use super::messages_input;
use super::reply::{request_key, stop_list, streamed, whole, Answer, Outcome, Sim};
use super::steps::{is_lazy, Steps};
use crate::invalid::Invalid;
use crate::render::anthropic::{
    self, Message, MessageSteps, OwnedMessage, ServerBlock, StopReason, Thinking, ToolUse, Usage,
};
use crate::render::choices::{self, ChoiceSpec};
use crate::render::{base64, echo, ids};
use crate::rng::Rng;
use crate::text::budget;
use crate::text::length::{Finish, LengthSpec};
use crate::text::prose;
use crate::text::reasoning::{self, Effort};
use crate::text::tokenized::Tokenized;
use crate::text::tokens;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// The smallest `thinking.budget_tokens` Anthropic accepts.
pub(super) const MIN_THINKING_BUDGET: u32 = 1024;
/// Random bytes of a thinking block's `signature` (base64 in the answer).
const SIGNATURE_BYTES: usize = 192;

/// Extended thinking as a request asks for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Think {
    /// No `thinking`, or `{"type": "disabled"}`.
    Off,
    /// `{"type": "enabled", "budget_tokens": N}`.
    Budget(u32),
    /// `{"type": "adaptive"}`: as long as `output_config.effort` (default `high`) has it.
    Adaptive(Effort),
}

/// Reads a decoded request's `thinking` (and `output_config.effort`), with Anthropic's rules: a
/// budget of at least [`MIN_THINKING_BUDGET`] tokens, below `max_tokens` (None: count_tokens, which
/// has no `max_tokens`).
pub(super) fn thinking(request: &Bound<'_, PyAny>, max_tokens: Option<u32>) -> PyResult<Think> {
    let py = request.py();
    let asked = request.getattr(intern!(py, "thinking"))?;
    if asked.is_none() {
        return Ok(Think::Off);
    }
    let kind = asked.getattr(intern!(py, "type"))?;
    match kind.cast::<PyString>()?.to_str()? {
        "enabled" => {
            let Some(budget) = asked.getattr(intern!(py, "budget_tokens"))?.extract::<Option<u32>>()? else {
                return Err(Invalid::new("thinking.enabled.budget_tokens", "Field required").into());
            };
            if budget < MIN_THINKING_BUDGET {
                return Err(Invalid::new(
                    "thinking.enabled.budget_tokens",
                    format!("Input should be greater than or equal to {MIN_THINKING_BUDGET}"),
                )
                .into());
            }
            if max_tokens.is_some_and(|max| budget >= max) {
                return Err(Invalid::new(
                    "",
                    "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation \
                     at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size",
                )
                .into());
            }
            Ok(Think::Budget(budget))
        }
        "adaptive" => {
            let config = request.getattr(intern!(py, "output_config"))?;
            let effort = if config.is_none() { config } else { config.getattr(intern!(py, "effort"))? };
            let effort = effort.extract::<Option<String>>()?;
            Ok(Think::Adaptive(Effort::parse(Some(effort.as_deref().unwrap_or("high")))?))
        }
        _ => Ok(Think::Off),
    }
}

/// What a server tool (web search, web fetch, code execution, tool search) adds to an answer, made
/// by the Python route (`fakeai.engine.anthropic_tools.ServerTurn`): its calls and their results
/// (before the text), the text's citations, the requests `usage.server_tool_use` counts, and the
/// code execution `container` (JSON).
#[derive(Debug, Default)]
pub(super) struct Served {
    pub(super) blocks: Vec<ServerBlock>,
    pub(super) citations: Vec<String>,
    pub(super) web_search_requests: u32,
    pub(super) web_fetch_requests: u32,
    pub(super) container: Option<String>,
}

impl Served {
    /// Output tokens the calls' inputs cost (each as a tool call's: its JSON and a few for the block).
    fn written(&self) -> u32 {
        self.blocks.iter().map(|b| tokens::count(&b.input) as u32 + 8).sum()
    }

    /// Input tokens the results add to the context (Anthropic bills search results as input), less
    /// the calls' ids (random: the same request counts the same).
    fn read(&self) -> u32 {
        self.blocks.iter().map(|b| tokens::count(&b.result.replace(&b.id, "")) as u32).sum()
    }
}

/// One Anthropic Messages request as the renderer reads it: `request` is the decoded request (its
/// `messages`, `system`, `tools` and `cache_control` are read by [`messages_input::read`]); `tool`
/// is `(name, input_json)` when the answer is a tool call, `server` what a server tool's calls add.
pub(super) struct Asked<'a, 'py> {
    pub(super) model: &'a str,
    pub(super) request: &'a Bound<'py, PyAny>,
    pub(super) max_tokens: u32,
    pub(super) stop_sequences: Option<&'a Bound<'py, PyAny>>,
    pub(super) stream: bool,
    pub(super) tool: Option<(String, String)>,
    pub(super) server: Option<Served>,
    pub(super) thinking: Think,
}

/// A thinking block's pieces and signature, drawn from `key`: `n` tokens of prose.
fn thought(key: u64, n: u32) -> (Vec<&'static str>, String) {
    let mut rng = Rng::new(key.rotate_left(23) ^ 0x7468_696e_6b69_6e67);
    let pieces = prose::generate(&mut rng, n as usize);
    let raw: Vec<u8> = (0..SIGNATURE_BYTES).map(|_| rng.next_u64() as u8).collect();
    let mut signature = Vec::with_capacity(base64::encoded_len(raw.len()));
    base64::encode_into(&mut signature, &raw);
    (pieces, String::from_utf8(signature).unwrap_or_default())
}

/// Render the `message` (or its SSE events) `asked` for, with the server's decisions for its model
/// held in `call` (a [`ChatCall`]: latency and prefill per uncached token, the length distribution,
/// the cap on generated tokens, a forced length, echo mode, and on the live path the cluster, the
/// engine and the meter), the request having arrived at `now`: timed, routed (prefix-cache hits)
/// and metered as a chat completion is, its usage counted as `completions`.
///
/// Thinking comes first and out of `max_tokens`; the answer (prose, the last user message in echo
/// mode, the structured output's JSON ([`super::messages_format`]), or the tool call) gets what is
/// left. Usage splits the input as Anthropic does: with cache
/// breakpoints, the prefix-cache hit up to the last one is `cache_read_input_tokens` and the rest
/// up to it `cache_creation_input_tokens` ([`messages_input::Breakpoints::split`]); `input_tokens`
/// is what remains.
pub(super) fn anthropic_message<'py>(
    py: Python<'py>,
    asked: Asked<'_, 'py>,
    call: &ChatCall,
    now: f64,
) -> PyResult<Bound<'py, Answer>> {
    let Asked { model, request, max_tokens, stop_sequences, stream, tool, server, thinking } = asked;
    let (cluster, engine, meter) = call.sim_parts(py);
    let lengths = call.lengths.as_ref().map(|l| l.bind(py));
    let sim = Sim::of(&cluster, &engine, now, &meter, "completions", model, call.live);
    let mut ids = Vec::new();
    // With the prefix cache the prompt is tokenized once, into the ids it routes by; else counted.
    let input = messages_input::read(request, sim.cluster.map(|_| &mut ids))?;
    // Structured outputs: checked whatever the answer is, used when it is text.
    let format = super::messages_format::read(request)?;
    // A server tool's results are read into the context: input, as Anthropic bills them.
    let input_tokens = input.tokens.saturating_add(server.as_ref().map_or(0, Served::read));
    if let Some(info) = call.model_info.as_ref() {
        let limit: u32 = info.bind(py).getattr(intern!(py, "context_length"))?.extract()?;
        context_limit(limit, input_tokens, max_tokens)?;
    }
    let key = request_key(None, 0);
    // Thinking first: at most the budget, and never all of `max_tokens` (nor of the server's cap).
    let most = max_tokens.min(call.max_generated).saturating_sub(1);
    let thought_tokens = match thinking {
        Think::Off => 0,
        Think::Budget(budget) => reasoning::budgeted(&mut Rng::new(key), budget),
        Think::Adaptive(effort) => effort.length(&mut Rng::new(key), None),
    }
    .min(most);
    let thought = (thinking != Think::Off && thought_tokens > 0).then(|| thought(key, thought_tokens));
    let mut left = max_tokens - thought_tokens;
    // The server calls come before the text, out of what is left (dropped when they would take all).
    let server = server.filter(|s| s.written() < left);
    let server_tokens = server.as_ref().map_or(0, Served::written);
    left -= server_tokens;
    // A tool call costs its input's tokens and a few for the block: past what is left of `max_tokens`
    // the model is cut off before the call is whole, which Anthropic answers with stop_reason
    // max_tokens and no call.
    let cut_tool = tool.as_ref().is_some_and(|(_, input)| tokens::count(input) as u32 + 8 > left);
    let tool = if cut_tool { None } else { tool };
    let stops = stop_list(stop_sequences)?;
    let mut length = LengthSpec {
        max_tokens: Some(left),
        natural: natural(lengths),
        forced: call.forced_tokens, // x-fakeai-output-tokens
        ..Default::default()
    };
    budget::bound(&mut length, 1, call.max_generated.saturating_sub(thought_tokens + server_tokens).max(1))?;
    // Structured outputs: the text is the schema's JSON, a token a step, cut (stop_reason
    // max_tokens) where the tokens left end, as chat's `response_format` content is.
    let json = match (&tool, &format) {
        (None, Some(f)) if !cut_tool => f.render(&mut choices::rng_for(key, 0)).map(|j| {
            let mut json = Tokenized::new(j);
            let room = left.min(length.ceiling.unwrap_or(u32::MAX)) as usize;
            let cut = json.len() > room;
            json.truncate(room);
            (json, cut)
        }),
        _ => None,
    };
    let json_pieces: Vec<&str> =
        json.as_ref().map_or_else(Vec::new, |(j, _)| (0..j.len()).map(|k| j.piece(k)).collect());
    // Stops are applied after (to report which one ended the text), not by the generator.
    let spec = ChoiceSpec { n: 1, length, ..Default::default() };
    let id = ids::new_id("msg_01", 22);
    let tool_id = ids::new_id("toolu_01", 22);
    // Echoed pieces borrow the request's text; generated ones can outlive it (a lazy stream).
    let echoes = call.echo_mode && tool.is_none() && !cut_tool && json.is_none();
    let (mut echoed, mut generated, finish) = match &tool {
        Some(_) => (Vec::new(), Vec::new(), Finish::Stop),
        None if cut_tool => (Vec::new(), Vec::new(), Finish::Length),
        None if json.is_some() => {
            let cut = json.as_ref().is_some_and(|(_, cut)| *cut);
            (Vec::new(), Vec::new(), if cut { Finish::Length } else { Finish::Stop })
        }
        None if echoes => {
            let c = echo::choices(&input.last_user_text, key, &spec).remove(0);
            (c.tokens, Vec::new(), c.finish)
        }
        None => {
            let c = choices::generate(key, &spec).remove(0);
            (Vec::new(), c.tokens, c.finish)
        }
    };
    // (a structured output's JSON is not cut at stop sequences: it stays whole JSON)
    let stop_sequence = if echoes { stop_at(&mut echoed, &stops) } else { stop_at(&mut generated, &stops) };
    let text: &[&str] = if json.is_some() {
        &json_pieces
    } else if echoes {
        &echoed
    } else {
        &generated
    };
    let text_tokens = match &tool {
        Some((_, input)) => tokens::count(input) as u32 + 8,
        None => text.len() as u32,
    };
    let output_tokens = thought_tokens + server_tokens + text_tokens;
    let stop_reason = match (&tool, stop_sequence, finish) {
        (Some(_), _, _) => StopReason::ToolUse,
        (None, Some(_), _) => StopReason::StopSequence,
        (None, None, Finish::Length) => StopReason::MaxTokens,
        (None, None, Finish::Stop) => StopReason::EndTurn,
    };
    let routed = sim.route(&ids);
    let cached_tokens = routed.map_or(call.cached_tokens, |r| r.1).min(input_tokens);
    let block = sim.cluster.map_or(1, |c| c.block_size()) as u32;
    let (cache_read, cache_write_5m, cache_write_1h) = input.breakpoints.split(cached_tokens, block);
    let usage = Usage {
        input: input_tokens - cache_read - cache_write_5m - cache_write_1h,
        cache_read,
        cache_write_5m,
        cache_write_1h,
        output: output_tokens,
        thinking: thought_tokens,
        server_tool_use: server.as_ref().map(|s| (s.web_search_requests, s.web_fetch_requests)),
    };
    let served = server.unwrap_or_default();
    let message = Message {
        id: &id,
        model,
        thinking: thought.as_ref().map(|(text, signature)| Thinking { text, signature }),
        server: &served.blocks,
        text,
        citations: &served.citations,
        tool: tool.as_ref().map(|(name, input)| ToolUse { id: &tool_id, name, input }),
        stop_reason,
        stop_sequence,
        usage,
        container: served.container.as_deref(),
    };
    let lat = call.latency(input_tokens, cached_tokens);
    let outcome = Outcome {
        prompt_tokens: input_tokens,
        completion_tokens: output_tokens,
        cached_tokens,
        worker: routed.map(|r| r.0),
    };
    let steps = thought.as_ref().map_or(0, |t| t.0.len() + 1) + 2 * served.blocks.len() + text.len();
    // Echoed and JSON pieces borrow what this call holds: their streams are rendered now.
    if stream && !echoes && json.is_none() && is_lazy(steps, lat.itl > 0.0 || sim.engine.is_some()) {
        let owned = OwnedMessage {
            id,
            model: model.to_owned(),
            stop_sequence: stop_sequence.map(str::to_owned),
            thinking: thought,
            server: served.blocks,
            tool: tool.map(|(name, input)| (tool_id, name, input)),
            text: generated,
            citations: served.citations,
            stop_reason,
            usage,
            container: served.container,
        };
        let lazy = Steps::new(MessageSteps::new(owned));
        streamed(py, super::reply::StreamSteps::Lazy(lazy), lat, sim, outcome)
    } else if stream {
        streamed(py, anthropic::render_stream(&message), lat, sim, outcome)
    } else {
        whole(py, &anthropic::render(&message), lat, sim, outcome, output_tokens as usize)
    }
}

/// Cuts `pieces` at the earliest of `stops`; returns the stop sequence found, if any.
fn stop_at<'s>(pieces: &mut Vec<&str>, stops: &'s [String]) -> Option<&'s str> {
    let found = anthropic::first_stop(&pieces.concat(), stops);
    if found.is_some() {
        prose::apply_stop(pieces, stops);
    }
    found
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
