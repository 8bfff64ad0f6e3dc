//! `completion(...)`: the legacy `/v1/completions` endpoint, one call per request.

use super::chat_call::ChatCall;
use super::inputs::{self, TextOrTokens};
use super::length::natural;
use super::reply::{request_key, stop_list, streamed, whole, Answer, Outcome, Sim};
use super::steps::{is_lazy, Steps};
use crate::render::choices::{self, ChoiceSpec};
use crate::render::echo;
use crate::render::ids;
use crate::render::sse::Envelope;
use crate::render::text_completion::{lazy_stream, render_completion, render_stream, TextChoice};
use crate::render::usage::Usage;
use crate::text::length::LengthSpec;
use crate::text::tokens;
use crate::text::vocab;
use crate::text::{budget, context_window};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use xxhash_rust::xxh3::xxh3_64;

/// A prompt as text (token-id prompts are rendered through the vocabulary) and its token count.
fn prompt_text(p: &TextOrTokens) -> (String, u32) {
    match p {
        TextOrTokens::Text(t) => (t.clone(), tokens::count(t) as u32),
        TextOrTokens::Tokens(ids) => {
            let table = vocab::table();
            (ids.iter().map(|&id| table.any(id as usize)).collect(), ids.len() as u32)
        }
    }
}

/// Render the legacy completion (or its stream) asked by `request`, the decoded
/// `fakeai.schemas.completions.CompletionRequest`; the keyword arguments carry what the server decides.
/// All the prompts' token ids in one sequence, for the prefix cache.
fn prompt_ids(inputs: &[TextOrTokens]) -> Vec<u32> {
    let mut ids = Vec::new();
    for p in inputs {
        match p {
            TextOrTokens::Text(t) => tokens::encode_into(t, &mut ids),
            TextOrTokens::Tokens(t) => ids.extend_from_slice(t),
        }
    }
    ids
}

/// Render the legacy completion (or its stream) asked by `request`, a decoded `CompletionRequest`.
/// `model_info` (its `context_length`) enables the context-window check; the keyword arguments are
/// [`ChatCall`]'s (those of a chat's rendering that a completion has: not `extra_prompt_tokens`,
/// `cached_tokens` nor `audio`), built once and called, as `chat` does: a caller that makes many
/// calls with the same ones holds a `ChatCall` and calls [`render`].
#[pyfunction]
#[pyo3(signature = (request, model_info=None, *, now=0.0, **kwargs))]
pub(crate) fn completion<'py>(
    request: &Bound<'py, PyAny>,
    model_info: Option<Bound<'py, PyAny>>,
    now: f64,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, Answer>> {
    let call = ChatCall::of_kwargs(request.py(), model_info, kwargs)?;
    render(request, call.get(), now)
}

/// [`completion`] with the server's arguments held in `call`.
pub(super) fn render<'py>(
    request: &Bound<'py, PyAny>,
    call: &ChatCall,
    now: f64,
) -> PyResult<Bound<'py, Answer>> {
    let py = request.py();
    let lengths = call.lengths.as_ref().map(|l| l.bind(py).clone());
    let lengths = lengths.as_ref();
    let (cluster, engine, meter) = call.sim_parts(py);
    let context_length = match call.model_info.as_ref().map(|m| m.bind(py)).filter(|m| !m.is_none()) {
        Some(m) => Some(m.getattr(intern!(py, "context_length"))?.extract::<u32>()?),
        None => None,
    };
    let ChatCall { ref fingerprint, forced_tokens, echo_mode, max_generated, live, .. } = *call;
    let fingerprint = fingerprint.as_str();
    let get = |name: &Bound<'py, PyString>| request.getattr(name);
    let model = get(intern!(py, "model"))?.cast_into::<PyString>()?;
    let model = model.to_str()?;
    let prompt = get(intern!(py, "prompt"))?;
    let n: u32 = get(intern!(py, "n"))?.extract()?;
    let max_tokens: Option<u32> = get(intern!(py, "max_tokens"))?.extract()?;
    let min_tokens: u32 = get(intern!(py, "min_tokens"))?.extract()?;
    let ignore_eos: bool = get(intern!(py, "ignore_eos"))?.extract()?;
    let stop = get(intern!(py, "stop"))?;
    let seed: Option<i64> = get(intern!(py, "seed"))?.extract()?;
    let logprobs: Option<u32> = get(intern!(py, "logprobs"))?.extract()?;
    let echo: bool = get(intern!(py, "echo"))?.extract()?;
    let stream: bool = get(intern!(py, "stream"))?.extract()?;
    let options = get(intern!(py, "stream_options"))?;
    let include_usage =
        !options.is_none() && options.getattr(intern!(py, "include_usage"))?.extract::<bool>()?;
    let stop = Some(&stop);
    let prompt = &prompt;
    let sim = Sim::of(&cluster, &engine, now, &meter, "completions", model, live);
    let inputs = inputs::extract(prompt)?;
    // Several prompts in one request are looked up as one token sequence (their concatenation).
    let routed = match sim.cluster {
        Some(_) => sim.route(&prompt_ids(&inputs)),
        None => None,
    };
    let prompts: Vec<(String, u32)> = inputs.iter().map(prompt_text).collect();
    let mut length = LengthSpec {
        max_tokens,
        min_tokens,
        ignore_eos,
        forced: forced_tokens,
        natural: natural(lengths),
        ceiling: None,
    };
    if let Some(limit) = context_length {
        let asked = max_tokens.unwrap_or_else(|| budget::committed(&length).0);
        for (_, tokens) in &prompts {
            context_window::check_prompt(limit, *tokens, asked)?;
        }
    }
    budget::bound(&mut length, prompts.len() as u64 * u64::from(n), max_generated)?;
    let spec = ChoiceSpec { n, length, stops: stop_list(stop)?, top_logprobs: logprobs };
    // Echoed choices borrow the prompts' text; generated ones can outlive it (a lazy stream): each
    // with the index of its prompt.
    let mut echoed = Vec::new();
    let mut generated = Vec::new();
    for (p, (text, _)) in prompts.iter().enumerate() {
        let key = request_key(seed, xxh3_64(text.as_bytes()));
        if echo_mode {
            echoed.extend(echo::choices(text, key, &spec).into_iter().map(|c| (c, p)));
        } else {
            generated.extend(choices::generate(key, &spec).into_iter().map(|c| (c, p)));
        }
    }
    let prompt_tokens = prompts.iter().map(|p| p.1).sum();
    let all = || echoed.iter().map(|(c, _)| c).chain(generated.iter().map(|(c, _)| c));
    let steps: usize = all().map(|c| c.tokens.len()).sum();
    let completion_tokens = steps as u32;
    let longest = all().map(|c| c.tokens.len()).max().unwrap_or(0);
    let cached_tokens = routed.map_or(0, |r| r.1.min(prompt_tokens));
    let usage = Usage { prompt_tokens, completion_tokens, cached_tokens, ..Default::default() };
    let id = ids::new_id("cmpl-", 29);
    let env = Envelope { id: &id, object: "text_completion", created: ids::unix_now(), model, fingerprint };
    let lat = call.latency(prompt_tokens, cached_tokens);
    let out = Outcome {
        prompt_tokens,
        completion_tokens,
        cached_tokens: usage.cached_tokens,
        worker: routed.map(|r| r.0),
    };
    let usage_chunk = include_usage.then_some(&usage);
    if stream && echoed.is_empty() && is_lazy(steps, lat.itl > 0.0 || sim.engine.is_some()) {
        let items = generated.into_iter().map(|(c, p)| (c, echo.then_some(p))).collect();
        let prompts = prompts.into_iter().map(|p| p.0).collect();
        let lazy = lazy_stream(&env, items, prompts, usage_chunk, logprobs.is_some());
        return streamed(py, super::reply::StreamSteps::Lazy(Steps::new(lazy)), lat, sim, out);
    }
    let items: Vec<TextChoice<'_>> = echoed
        .into_iter()
        .chain(generated)
        .map(|(choice, p)| TextChoice { echo: echo.then_some(prompts[p].0.as_str()), choice })
        .collect();
    if stream {
        let steps = render_stream(&env, &items, usage_chunk, logprobs.is_some());
        streamed(py, steps, lat, sim, out)
    } else {
        let body = render_completion(&env, &items, &usage, logprobs.is_some());
        whole(py, &body, lat, sim, out, longest)
    }
}
