//! `chat(request, ...)`: one call renders a whole chat completion or its stream.
//!
//! The decoded request object is read here, attribute by attribute (a call with one object costs far
//! less than one with twenty keyword arguments); the keyword arguments carry what the server decides:
//! timing, echo mode, the length distribution, cached tokens, rendered audio.

use super::chat_call::ChatCall;
use super::chat_options::{self, last_user_text, Window};
use super::length::natural;
use super::reply::{request_key, stop_list, streamed, whole, Answer, Outcome, Sim};
use super::rich_content::{self, RichTokens};
use super::steps::{is_lazy, Steps};
use crate::media::chat_audio;
use crate::render::chat::{lazy_stream, render_completion, render_stream};
use crate::render::chat_choices::{self, prose, ChatChoice, ChatSpec};
use crate::render::choices::ChoiceSpec;
use crate::render::echo;
use crate::render::ids;
use crate::render::sse::Envelope;
use crate::render::usage::{AudioTokens, Usage};
use crate::text::chat_template::Mark;
use crate::text::length::LengthSpec;
use crate::text::prediction;
use crate::text::response_format::Format;
use crate::text::tokens;
use crate::text::{budget, context_window};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFrozenSet, PyList, PyString};
use xxhash_rust::xxh3::Xxh3;

/// Tokens OpenAI adds per message, and once to prime the reply.
pub(super) const PER_MESSAGE: usize = 3;
pub(super) const REPLY_PRIMING: usize = 3;

/// Where [`read_messages`] puts a prompt's tokens: each text's ids, and (for `/tokenize`) the chat
/// template's tokens between them ([`chat_template`]), so that the ids listed are the ones counted.
pub(super) trait PromptSink {
    /// Take the tokens of one text (a role, a name or content); returns how many.
    fn text(&mut self, text: &str) -> usize;
    /// A point of the chat template (its tokens are counted by the caller's accounting).
    fn mark(&mut self, _mark: Mark) {}
}

/// The prompt's token ids of its texts only, for the prefix cache.
impl PromptSink for Vec<u32> {
    fn text(&mut self, text: &str) -> usize {
        let before = self.len();
        tokens::encode_into(text, self);
        self.len() - before
    }
}

/// Count the prompt tokens of `messages` (objects with `role`, `content`, optional `name`), hashing
/// their text as we go. Content may be a string, None, or a list of parts; parts with a `text`
/// attribute count as text. Also says whether anything else (a non-text part, a message without
/// text content) needs [`rich_content`] to count it. With a `sink`, the prompt's tokens go to it.
pub(super) fn read_messages(
    messages: &Bound<'_, PyList>,
    mut sink: Option<&mut dyn PromptSink>,
) -> PyResult<(usize, u64, bool)> {
    let py = messages.py();
    let mut hasher = Xxh3::new();
    let mut count = REPLY_PRIMING;
    let mut rich = false;
    let mut add = |text: &str, count: &mut usize, sink: &mut Option<&mut dyn PromptSink>| {
        hasher.update(text.as_bytes());
        hasher.update(b"\x00");
        *count += match sink {
            Some(sink) => sink.text(text),
            None => tokens::count(text),
        };
    };
    let mark = |m: Mark, sink: &mut Option<&mut dyn PromptSink>| {
        if let Some(sink) = sink {
            sink.mark(m);
        }
    };
    for msg in messages.iter() {
        count += PER_MESSAGE;
        mark(Mark::Start, &mut sink);
        let role = msg.getattr(intern!(py, "role"))?;
        add(role.cast::<PyString>()?.to_str()?, &mut count, &mut sink);
        let name = msg.getattr(intern!(py, "name"))?;
        if let Ok(name) = name.cast::<PyString>() {
            count += 1;
            mark(Mark::Name, &mut sink);
            add(name.to_str()?, &mut count, &mut sink);
        }
        mark(Mark::Sep, &mut sink);
        let content = msg.getattr(intern!(py, "content"))?;
        if let Ok(text) = content.cast::<PyString>() {
            add(text.to_str()?, &mut count, &mut sink);
        } else if let Ok(parts) = content.cast::<PyList>() {
            for part in parts.iter() {
                match part.getattr_opt(intern!(py, "text"))? {
                    Some(text) => {
                        if let Ok(text) = text.cast::<PyString>() {
                            add(text.to_str()?, &mut count, &mut sink);
                        }
                    }
                    None => rich = true,
                }
            }
        } else {
            rich = true;
        }
        mark(Mark::End, &mut sink);
    }
    mark(Mark::Reply, &mut sink);
    Ok((count, hasher.digest(), rich))
}

/// Each choice's `"id":..,"data":..,"expires_at":..` fragment of `message.audio`: `render(transcript)`
/// returns the audio file, base64-encoded here straight into the fragment. Transcripts that would
/// speak past [`chat_audio::MAX_SECONDS`] are refused, naming `param`, before any audio is made.
/// Also returns the audio tokens of them all ([`chat_audio::tokens`]).
fn audio_fragments(
    render: &Bound<'_, PyAny>,
    choices: &[ChatChoice<'_>],
    param: &str,
) -> PyResult<(Vec<Vec<u8>>, u32)> {
    let py = render.py();
    let transcripts: Vec<String> = choices.iter().map(ChatChoice::text).collect();
    chat_audio::check(&transcripts, param)?;
    let tokens = transcripts.iter().map(|t| chat_audio::tokens(t)).sum();
    let now = ids::unix_now();
    let fragments = transcripts
        .into_iter()
        .map(|t| {
            let file = render.call1((t,))?.cast_into::<PyBytes>()?;
            let file = file.as_bytes();
            Ok(py.detach(|| chat_audio::fragment(file, now)))
        })
        .collect::<PyResult<_>>()?;
    Ok((fragments, tokens))
}

/// The plain fields of a decoded chat request (`fakeai.schemas.chat.ChatRequest`).
struct Basics<'py> {
    model: Bound<'py, PyString>,
    messages: Bound<'py, PyList>,
    n: u32,
    max_tokens: Option<u32>,
    min_tokens: u32,
    ignore_eos: bool,
    stop: Bound<'py, PyAny>,
    seed: Option<i64>,
    top_logprobs: Option<u32>,
    stream: bool,
    include_usage: bool,
}

fn read_basics<'py>(req: &Bound<'py, PyAny>) -> PyResult<Basics<'py>> {
    let py = req.py();
    let get = |name: &Bound<'py, PyString>| req.getattr(name);
    let max_completion = get(intern!(py, "max_completion_tokens"))?.extract::<Option<u32>>()?;
    let logprobs = get(intern!(py, "logprobs"))?.extract::<Option<bool>>()?.unwrap_or(false);
    let top = get(intern!(py, "top_logprobs"))?.extract::<Option<u32>>()?;
    let options = get(intern!(py, "stream_options"))?;
    let include_usage =
        !options.is_none() && options.getattr(intern!(py, "include_usage"))?.extract::<bool>()?;
    Ok(Basics {
        model: get(intern!(py, "model"))?.cast_into::<PyString>()?,
        messages: get(intern!(py, "messages"))?.cast_into::<PyList>()?,
        n: get(intern!(py, "n"))?.extract()?,
        max_tokens: max_completion.or(get(intern!(py, "max_tokens"))?.extract()?),
        min_tokens: get(intern!(py, "min_tokens"))?.extract()?,
        ignore_eos: get(intern!(py, "ignore_eos"))?.extract()?,
        stop: get(intern!(py, "stop"))?,
        seed: get(intern!(py, "seed"))?.extract()?,
        top_logprobs: logprobs.then(|| top.unwrap_or(0)),
        stream: get(intern!(py, "stream"))?.extract()?,
        include_usage,
    })
}

/// Render the chat completion (or its stream) asked by `request`, the decoded request. `model_info`
/// (with `capabilities`, a frozenset, and `context_length`) enables the capability and
/// context-window checks. `echo_mode` answers plain requests with the last user message;
/// `audio(transcript) -> bytes` returns each choice's text spoken, as an audio file (how much
/// speech one request may hold: [`chat_audio`]). A rejected value raises
/// `InvalidInput(message, param, code)`. With `cluster`, the prompt is routed through the simulated
/// cluster at time `now` (prefix-cache hits shorten the prefill, `prefill_per_token` seconds per
/// uncached token) and the request books a batch slot, named by the returned ticket. The choices
/// generate at most `max_generated` tokens in all ([`crate::text::budget`]). With `meter`, the answer's
/// usage (and with `live` its inference metrics) is recorded before this returns ([`super::meter::Meter`]).
/// The keyword arguments are [`ChatCall`]'s (that `chat` builds and calls once): a caller that makes
/// many calls with the same ones holds a `ChatCall` instead.
#[pyfunction]
#[pyo3(signature = (request, model_info=None, *, now=0.0, **kwargs))]
pub(crate) fn chat<'py>(
    request: &Bound<'py, PyAny>,
    model_info: Option<Bound<'py, PyAny>>,
    now: f64,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, Answer>> {
    let call = ChatCall::of_kwargs(request.py(), model_info, kwargs)?;
    render(request, call.get(), now)
}

/// [`chat`] with the server's arguments held in `call` (see [`ChatCall`]).
pub(super) fn render<'py>(
    request: &Bound<'py, PyAny>,
    call: &ChatCall,
    now: f64,
) -> PyResult<Bound<'py, Answer>> {
    let py = request.py();
    let bind = |o: &Option<Py<PyAny>>| o.as_ref().map(|o| o.bind(py).clone());
    let (model_info, audio) = (bind(&call.model_info), bind(&call.audio));
    let (model_info, audio) = (model_info.as_ref(), audio.as_ref());
    let lengths = call.lengths.as_ref().map(|l| l.bind(py).clone());
    let lengths = lengths.as_ref();
    let (cluster, engine, meter) = call.sim_parts(py);
    let ChatCall {
        ref fingerprint,
        extra_prompt_tokens,
        forced_tokens,
        cached_tokens,
        echo_mode,
        max_generated,
        live,
        ..
    } = *call;
    let req = read_basics(request)?;
    let messages = &req.messages;
    let model = req.model.to_str()?;
    let sim = Sim::of(&cluster, &engine, now, &meter, "completions", model, live);
    let mut ids = Vec::new();
    let (prompt_tokens, input_hash, rich) =
        read_messages(messages, sim.cluster.map(|_| &mut ids as &mut dyn PromptSink))?;
    let (capabilities, context_length) = match model_info.filter(|m| !m.is_none()) {
        Some(m) => (
            Some(m.getattr(intern!(py, "capabilities"))?.cast_into::<PyFrozenSet>()?),
            Some(m.getattr(intern!(py, "context_length"))?.extract::<u32>()?),
        ),
        None => (None, None),
    };
    let capabilities = capabilities.as_ref();
    let rich = if rich { rich_content::tokens(messages, capabilities)? } else { RichTokens::default() };
    let message_tokens = prompt_tokens as u32 + extra_prompt_tokens + rich.total();
    let mut length = LengthSpec {
        max_tokens: req.max_tokens,
        min_tokens: req.min_tokens,
        ignore_eos: req.ignore_eos,
        forced: forced_tokens,
        natural: natural(lengths),
        ceiling: None,
    };
    // Without max_tokens, what the request commits to (a forced length, min_tokens) must fit.
    let window = context_length.map(|limit| Window {
        limit,
        prompt: message_tokens,
        asked: req.max_tokens.or(Some(budget::committed(&length).0).filter(|&t| t > 0)),
    });
    let opts = chat_options::read(Some(request), capabilities, window)?;
    let prompt_tokens = message_tokens + opts.tool_tokens;
    if let Some(w) = window {
        context_window::check(w.limit, prompt_tokens, opts.tool_tokens, w.asked)?;
    }
    let audio = audio.filter(|a| !a.is_none());
    if audio.is_some() {
        chat_audio::bound(&mut length, u64::from(req.n), max_generated)?;
    } else {
        budget::bound(&mut length, u64::from(req.n), max_generated)?;
    }
    let last_role = messages.get_item(messages.len().saturating_sub(1))?.getattr(intern!(py, "role"))?;
    let last_role = last_role.cast::<PyString>()?.to_str()?;
    let asked = if opts.tools.is_some() || echo_mode { last_user_text(messages)? } else { String::new() };
    // JSON mode follows a schema the prompt holds (`text::prompt_schema`); only its requests look.
    let prompt_format = match opts.format.as_deref() {
        Some(Format::JsonObject) => chat_options::prompt_format(messages)?,
        _ => None,
    };
    let mut spec = ChatSpec {
        base: ChoiceSpec {
            n: req.n,
            length,
            stops: stop_list(Some(&req.stop))?,
            top_logprobs: req.top_logprobs,
        },
        tools: opts.tools.as_ref(),
        after_tool_result: last_role == "tool" || last_role == "function",
        asked: &asked,
        format: prompt_format.as_deref().or(opts.format.as_deref()),
        reasoning: opts.reasoning,
        prediction: opts.prediction.as_deref(),
    };
    let key = request_key(req.seed, input_hash);
    // Echoed choices borrow the request's text; generated ones can outlive it (a lazy stream).
    let (echoed, generated): (Vec<ChatChoice<'_>>, Vec<ChatChoice<'static>>) = if echo_mode && spec.is_plain()
    {
        (echo::choices(&asked, key, &spec.base).into_iter().map(prose).collect(), Vec::new())
    } else {
        // the JSON values of every choice and call share one budget: past it, a 400 naming `n` (a
        // plain request has no schema, so the hot path's plain chat pays nothing for it)
        if !spec.is_plain() {
            let checked = chat_choices::check_budget(&spec);
            if checked.is_err() && prompt_format.is_some() {
                // a prompt's schema the budget refuses gives any object: never a 400 for prompt text
                spec.format = opts.format.as_deref();
                chat_choices::check_budget(&spec)?;
            } else {
                checked?;
            }
        }
        (Vec::new(), chat_choices::generate(key, &spec))
    };
    let choices: &[ChatChoice<'_>] = if echoed.is_empty() { &generated } else { &echoed };
    // Refused past the speech bound (an echoed message names `messages`) before routing books anything.
    let param = if echoed.is_empty() { "max_tokens" } else { "messages" };
    let spoken = audio.map(|render| audio_fragments(render, choices, param)).transpose()?;
    let (audio, spoken_tokens) = spoken.map_or((None, 0), |(fragments, tokens)| (Some(fragments), tokens));
    let text_tokens: u32 = choices.iter().map(ChatChoice::completion_tokens).sum();
    // A spoken answer's audio tokens are completion tokens too (`chat_audio` rule 5).
    let completion_tokens = text_tokens + spoken_tokens;
    let routed = sim.route(&ids);
    let cached_tokens = routed.map_or(cached_tokens, |r| r.1);
    let usage = Usage {
        prompt_tokens,
        completion_tokens,
        cached_tokens: cached_tokens.min(prompt_tokens),
        reasoning_tokens: choices.iter().map(|c| c.reasoning.len() as u32).sum(),
        accepted_prediction_tokens: choices.iter().map(|c| c.accepted_prediction).sum(),
        rejected_prediction_tokens: choices.iter().map(|c| c.rejected_prediction).sum(),
        audio: (rich.audio > 0 || audio.is_some()).then(|| AudioTokens {
            prompt_audio: rich.audio,
            prompt_text: prompt_tokens - rich.audio - rich.media,
            completion_audio: spoken_tokens,
            completion_text: text_tokens,
        }),
    };
    let id = ids::new_id("chatcmpl-", 29);
    let object = if req.stream { "chat.completion.chunk" } else { "chat.completion" };
    let env = Envelope { id: &id, object, created: ids::unix_now(), model, fingerprint };
    let longest = choices.iter().map(ChatChoice::steps).max().unwrap_or(0);
    let mut lat = call.latency(prompt_tokens, usage.cached_tokens);
    if usage.accepted_prediction_tokens > 0 {
        let accepted = choices.iter().map(|c| c.accepted_prediction).max().unwrap_or(0);
        lat.itl *= prediction::decode_factor(longest, accepted);
    }
    let logprobs = req.top_logprobs.is_some();
    // OpenAI's reasoning models show no reasoning in chat (the Responses API asks to see it).
    let hide = opts.hidden_reasoning && !call.reveal_reasoning;
    let out = Outcome {
        prompt_tokens,
        completion_tokens,
        cached_tokens: usage.cached_tokens,
        worker: routed.map(|r| r.0),
    };
    let steps: usize = choices.iter().map(ChatChoice::steps).sum();
    if req.stream && echoed.is_empty() && is_lazy(steps, lat.itl > 0.0 || sim.engine.is_some()) {
        let usage = req.include_usage.then_some(&usage);
        let lazy = lazy_stream(&env, generated, usage, logprobs, audio, hide);
        streamed(py, super::reply::StreamSteps::Lazy(Steps::new(lazy)), lat, sim, out)
    } else if req.stream {
        let usage = req.include_usage.then_some(&usage);
        let steps = render_stream(&env, choices, usage, logprobs, audio.as_deref(), hide);
        streamed(py, steps, lat, sim, out)
    } else {
        let body = render_completion(&env, choices, &usage, logprobs, audio.as_deref(), hide);
        drop(audio); // the body holds it now: not a third copy beside the body's bytes object
        whole(py, &body, lat, sim, out, longest)
    }
}
