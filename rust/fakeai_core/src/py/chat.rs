//! `chat(...)`: one call renders a whole chat completion or its stream.

use super::cluster::Cluster;
use super::{latency_for, request_key, stop_list, streamed, whole, Outcome, Sim};
use crate::chat::{render_completion, render_stream};
use crate::choices::{self, ChoiceSpec};
use crate::ids;
use crate::sse::Envelope;
use crate::text::LengthSpec;
use crate::tokens;
use crate::usage::Usage;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};
use xxhash_rust::xxh3::Xxh3;

/// Tokens OpenAI adds per message, and once to prime the reply.
const PER_MESSAGE: usize = 3;
const REPLY_PRIMING: usize = 3;

/// Count the prompt tokens of `messages` (objects with `role`, `content`, optional `name`), hashing
/// their text as we go. Content may be a string, None, or a list of parts; parts with a `text`
/// attribute count as text, other parts are counted by the caller (`extra_prompt_tokens`).
/// With `ids`, the prompt's token ids (each message's role, name and text) are appended to it, for
/// the prefix cache.
fn read_messages(messages: &Bound<'_, PyList>, mut ids: Option<&mut Vec<u32>>) -> PyResult<(usize, u64)> {
    let py = messages.py();
    let mut hasher = Xxh3::new();
    let mut count = REPLY_PRIMING;
    let mut add = |text: &str, count: &mut usize| {
        hasher.update(text.as_bytes());
        hasher.update(b"\x00");
        match ids.as_deref_mut() {
            Some(ids) => {
                let before = ids.len();
                tokens::encode_into(text, ids);
                *count += ids.len() - before;
            }
            None => *count += tokens::count(text),
        }
    };
    for msg in messages.iter() {
        count += PER_MESSAGE;
        let role = msg.getattr(intern!(py, "role"))?;
        add(role.cast::<PyString>()?.to_str()?, &mut count);
        let name = msg.getattr(intern!(py, "name"))?;
        if let Ok(name) = name.cast::<PyString>() {
            count += 1;
            add(name.to_str()?, &mut count);
        }
        let content = msg.getattr(intern!(py, "content"))?;
        if let Ok(text) = content.cast::<PyString>() {
            add(text.to_str()?, &mut count);
        } else if let Ok(parts) = content.cast::<PyList>() {
            for part in parts.iter() {
                if let Some(text) = part.getattr_opt(intern!(py, "text"))? {
                    if let Ok(text) = text.cast::<PyString>() {
                        add(text.to_str()?, &mut count);
                    }
                }
            }
        }
    }
    Ok((count, hasher.digest()))
}

#[pyfunction]
#[pyo3(signature = (
    model, messages, *, n=1, max_tokens=None, min_tokens=0, ignore_eos=false, stop=None, seed=None,
    top_logprobs=None, stream=false, include_usage=false, fingerprint="fp_fakeai", ttft=0.0, itl=0.0,
    jitter=0.0, extra_prompt_tokens=0, forced_tokens=None, cached_tokens=0, prefill_per_token=0.0, cluster=None,
    now=0.0
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn chat<'py>(
    py: Python<'py>,
    model: &str,
    messages: &Bound<'py, PyList>,
    n: u32,
    max_tokens: Option<u32>,
    min_tokens: u32,
    ignore_eos: bool,
    stop: Option<&Bound<'py, PyAny>>,
    seed: Option<i64>,
    top_logprobs: Option<u32>,
    stream: bool,
    include_usage: bool,
    fingerprint: &str,
    ttft: f64,
    itl: f64,
    jitter: f64,
    extra_prompt_tokens: u32,
    forced_tokens: Option<u32>,
    cached_tokens: u32,
    prefill_per_token: f64,
    cluster: Option<Bound<'py, Cluster>>,
    now: f64,
) -> PyResult<Bound<'py, PyTuple>> {
    let sim = Sim { cluster: cluster.as_ref().map(Bound::get), now };
    let mut ids = Vec::new();
    let (prompt_tokens, input_hash) = read_messages(messages, sim.cluster.map(|_| &mut ids))?;
    let spec = ChoiceSpec {
        n,
        length: LengthSpec { max_tokens, min_tokens, ignore_eos, forced: forced_tokens },
        stops: stop_list(stop)?,
        top_logprobs,
    };
    let choices = choices::generate(request_key(seed, input_hash), &spec);
    let routed = sim.route(&ids);
    let cached_tokens = routed.map_or(cached_tokens, |r| r.1);
    let completion_tokens = choices::completion_tokens(&choices);
    let prompt_tokens = prompt_tokens as u32 + extra_prompt_tokens;
    let usage = Usage {
        prompt_tokens,
        completion_tokens,
        cached_tokens: cached_tokens.min(prompt_tokens),
        reasoning_tokens: 0,
    };
    let id = ids::new_id("chatcmpl-", 29);
    let object = if stream { "chat.completion.chunk" } else { "chat.completion" };
    let env = Envelope { id: &id, object, created: ids::unix_now(), model, fingerprint };
    let lat = latency_for(ttft, itl, jitter, prefill_per_token, prompt_tokens, usage.cached_tokens);
    let logprobs = top_logprobs.is_some();
    let out = Outcome { prompt_tokens, completion_tokens, worker: routed.map(|r| r.0) };
    if stream {
        let steps = render_stream(&env, &choices, include_usage.then_some(&usage), logprobs);
        streamed(py, steps, lat, sim, out)
    } else {
        let body = render_completion(&env, &choices, &usage, logprobs);
        let longest = choices.iter().map(|c| c.tokens.len()).max().unwrap_or(0);
        whole(py, &body, lat, sim, out, longest)
    }
}
