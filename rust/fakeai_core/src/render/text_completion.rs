//! Rendering legacy `text_completion` objects (`/v1/completions`) and their streams.

use crate::render::choices::Choice;
use crate::render::json;
use crate::render::logprobs::TokenLogprob;
use crate::render::sse::{self, ChunkStyle, Envelope, StreamSteps};
use crate::render::usage::Usage;
use crate::text::tokens;

/// One choice of a text completion: generated tokens, and the prompt when `echo` asked for it.
pub struct TextChoice<'a> {
    pub echo: Option<&'a str>,
    pub choice: Choice<'a>,
}

/// A stable pseudo log-probability for an echoed prompt token.
fn prompt_logprob(piece: &str) -> f32 {
    -((tokens::piece_id(piece) % 1000) as f32 / 400.0)
}

/// The legacy `logprobs` object: parallel arrays of tokens, logprobs, alternatives and text offsets.
/// Echoed prompt tokens come first; the very first of them has `null`s, as OpenAI gives it.
fn legacy_logprobs(buf: &mut Vec<u8>, prompt: &[&str], gen: &[TokenLogprob]) {
    let all = || prompt.iter().copied().chain(gen.iter().map(|lp| lp.token));
    // Per token: its logprob and alternatives, or None for the first echoed prompt token.
    let entries = || {
        let echoed = prompt
            .iter()
            .enumerate()
            .map(|(i, p)| (i > 0).then(|| (prompt_logprob(p), vec![(*p, prompt_logprob(p))])));
        echoed.chain(gen.iter().map(|lp| Some((lp.logprob, lp.top.clone()))))
    };
    buf.extend_from_slice(b"{\"tokens\":[");
    for (i, t) in all().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        json::string(buf, t);
    }
    buf.extend_from_slice(b"],\"token_logprobs\":[");
    for (i, e) in entries().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        match e {
            Some((lp, _)) => json::float(buf, lp),
            None => buf.extend_from_slice(b"null"),
        }
    }
    buf.extend_from_slice(b"],\"top_logprobs\":[");
    for (i, e) in entries().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        let Some((_, top)) = e else {
            buf.extend_from_slice(b"null");
            continue;
        };
        buf.push(b'{');
        for (j, (tok, alt)) in top.iter().enumerate() {
            if j > 0 {
                buf.push(b',');
            }
            json::string(buf, tok);
            buf.push(b':');
            json::float(buf, *alt);
        }
        buf.push(b'}');
    }
    buf.extend_from_slice(b"],\"text_offset\":[");
    let mut offset = 0usize;
    for (i, t) in all().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        json::uint(buf, offset);
        offset += t.len();
    }
    buf.extend_from_slice(b"]}");
}

/// A whole non-streaming `text_completion` object.
pub fn render_completion(
    env: &Envelope<'_>,
    items: &[TextChoice<'_>],
    usage: &Usage,
    logprobs: bool,
) -> Vec<u8> {
    let mut buf = Vec::with_capacity(512);
    buf.extend_from_slice(b"{\"id\":");
    json::string(&mut buf, env.id);
    buf.extend_from_slice(b",\"object\":\"text_completion\",\"created\":");
    json::uint(&mut buf, env.created);
    buf.extend_from_slice(b",\"model\":");
    json::string(&mut buf, env.model);
    buf.extend_from_slice(b",\"choices\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(b"{\"index\":");
        json::uint(&mut buf, i);
        buf.extend_from_slice(b",\"text\":");
        let text = item.echo.unwrap_or("").to_owned() + &item.choice.tokens.concat();
        json::string(&mut buf, &text);
        buf.extend_from_slice(b",\"logprobs\":");
        if logprobs {
            let prompt: Vec<&str> = item.echo.map(|p| tokens::pieces(p).collect()).unwrap_or_default();
            legacy_logprobs(&mut buf, &prompt, &item.choice.logprobs);
        } else {
            buf.extend_from_slice(b"null");
        }
        buf.extend_from_slice(b",\"finish_reason\":\"");
        buf.extend_from_slice(item.choice.finish.as_str().as_bytes());
        buf.extend_from_slice(b"\"}");
    }
    buf.extend_from_slice(b"],");
    usage.render(&mut buf);
    buf.extend_from_slice(b",\"system_fingerprint\":");
    json::string(&mut buf, env.fingerprint);
    buf.push(b'}');
    buf
}

struct TextChunks<'a> {
    items: &'a [TextChoice<'a>],
    logprobs: bool,
}

/// A chunk's fields for choice `c` (echoing `echo`): its opening, its `k`-th token, its finish.
fn opening(b: &mut Vec<u8>, echo: Option<&str>) -> bool {
    let Some(echo) = echo else { return false };
    b.extend_from_slice(b",\"text\":");
    json::string(b, echo);
    b.extend_from_slice(b",\"logprobs\":null,\"finish_reason\":null");
    true
}

fn token(b: &mut Vec<u8>, c: &Choice<'_>, k: usize, logprobs: bool) {
    b.extend_from_slice(b",\"text\":");
    json::string(b, c.tokens[k]);
    b.extend_from_slice(b",\"logprobs\":");
    match c.logprobs.get(k..=k).filter(|_| logprobs) {
        Some(one) => legacy_logprobs(b, &[], one),
        None => b.extend_from_slice(b"null"),
    }
    b.extend_from_slice(b",\"finish_reason\":null");
}

fn finish(b: &mut Vec<u8>, c: &Choice<'_>) {
    b.extend_from_slice(b",\"text\":\"\",\"logprobs\":null,\"finish_reason\":\"");
    b.extend_from_slice(c.finish.as_str().as_bytes());
    b.push(b'"');
}

impl ChunkStyle for TextChunks<'_> {
    fn choices(&self) -> usize {
        self.items.len()
    }

    fn steps(&self, i: usize) -> usize {
        self.items[i].choice.tokens.len()
    }

    fn opening(&self, b: &mut Vec<u8>, i: usize) -> bool {
        opening(b, self.items[i].echo)
    }

    fn token(&self, b: &mut Vec<u8>, i: usize, k: usize) {
        token(b, &self.items[i].choice, k, self.logprobs)
    }

    fn finish(&self, b: &mut Vec<u8>, i: usize) {
        finish(b, &self.items[i].choice)
    }
}

/// The chunks of a stream that owns its choices and echoed prompts, for [`lazy_stream`].
pub struct OwnedTextChunks {
    /// Each choice and the index in `prompts` of the prompt it echoes, if any.
    items: Vec<(Choice<'static>, Option<usize>)>,
    prompts: Vec<String>,
    logprobs: bool,
}

impl ChunkStyle for OwnedTextChunks {
    fn choices(&self) -> usize {
        self.items.len()
    }

    fn steps(&self, i: usize) -> usize {
        self.items[i].0.tokens.len()
    }

    fn opening(&self, b: &mut Vec<u8>, i: usize) -> bool {
        opening(b, self.items[i].1.map(|p| self.prompts[p].as_str()))
    }

    fn token(&self, b: &mut Vec<u8>, i: usize, k: usize) {
        token(b, &self.items[i].0, k, self.logprobs)
    }

    fn finish(&self, b: &mut Vec<u8>, i: usize) {
        finish(b, &self.items[i].0)
    }
}

/// [`render_stream`]'s steps, rendered one by one when asked for (the same bytes): `items` are the
/// choices, each with the index in `prompts` of the prompt it echoes (`echo`), if any.
pub fn lazy_stream(
    env: &Envelope<'_>,
    items: Vec<(Choice<'static>, Option<usize>)>,
    prompts: Vec<String>,
    usage: Option<&Usage>,
    logprobs: bool,
) -> StreamSteps<OwnedTextChunks> {
    StreamSteps::new(env, usage, OwnedTextChunks { items, prompts, logprobs })
}

/// A streamed text completion as timed steps (see [`crate::render::sse`]).
pub fn render_stream(
    env: &Envelope<'_>,
    items: &[TextChoice<'_>],
    usage: Option<&Usage>,
    logprobs: bool,
) -> Vec<Vec<u8>> {
    sse::render_steps(env, usage, &TextChunks { items, logprobs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::logprobs::for_tokens;
    use crate::rng::Rng;
    use crate::text::length::Finish;

    fn env() -> Envelope<'static> {
        Envelope { id: "cmpl-x", object: "text_completion", created: 1, model: "m", fingerprint: "fp" }
    }

    fn item(echo: Option<&'static str>, logprobs: bool) -> TextChoice<'static> {
        let tokens = vec!["A", " b"];
        let lps = if logprobs { for_tokens(&mut Rng::new(1), &tokens, 2) } else { Vec::new() };
        TextChoice { echo, choice: Choice { tokens, finish: Finish::Length, logprobs: lps } }
    }

    #[test]
    fn echo_prepends_the_prompt_and_logprobs_cover_it() {
        let body = render_completion(&env(), &[item(Some("Hi there"), true)], &Usage::default(), true);
        let s = String::from_utf8(body).unwrap();
        assert!(s.contains("\"text\":\"Hi thereA b\""));
        assert!(s.contains("\"tokens\":[\"Hi\",\" there\",\"A\",\" b\"]"));
        assert!(s.contains("\"token_logprobs\":[null,"));
        assert!(s.contains("\"top_logprobs\":[null,{"));
        assert!(s.contains("\"text_offset\":[0,2,8,9]"));
    }

    #[test]
    fn lazy_steps_equal_the_whole_rendering() {
        let long: Vec<&'static str> = (0..5000).map(|k| [" a", " \"b\"", "\u{e9}"][k % 3]).collect();
        let prompts = vec!["Hi \"you\"".to_owned(), "Bye".to_owned()];
        let choice = |tokens: Vec<&'static str>, finish| {
            let logprobs = for_tokens(&mut Rng::new(tokens.len() as u64), &tokens, 2);
            Choice { tokens, finish, logprobs }
        };
        let make = || {
            vec![
                (choice(long.clone(), Finish::Length), Some(0)),
                (choice(vec!["X"], Finish::Stop), None),
                (choice(vec![], Finish::Stop), Some(1)),
            ]
        };
        let usage = Usage { prompt_tokens: 3, completion_tokens: 5001, ..Default::default() };
        for (usage, logprobs) in [(Some(&usage), true), (None, false)] {
            let whole_items: Vec<TextChoice<'_>> = make()
                .into_iter()
                .map(|(choice, p)| TextChoice { echo: p.map(|p| prompts[p].as_str()), choice })
                .collect();
            let whole = render_stream(&env(), &whole_items, usage, logprobs);
            let lazy = lazy_stream(&env(), make(), prompts.clone(), usage, logprobs);
            assert_eq!(lazy.len(), whole.len());
            assert_eq!(whole.len(), 5000);
            for (k, step) in whole.iter().enumerate() {
                let mut buf = Vec::new();
                lazy.render(k, &mut buf);
                assert_eq!(&buf, step, "step {k}");
            }
        }
    }

    #[test]
    fn stream_has_text_chunks_then_finish() {
        let steps = render_stream(&env(), &[item(None, true)], None, true);
        assert_eq!(steps.len(), 2);
        let s = String::from_utf8(steps.concat()).unwrap();
        assert!(s.contains("\"text\":\" b\",\"logprobs\":{\"tokens\":[\" b\"]"));
        assert!(s.contains("\"finish_reason\":\"length\""));
        assert!(s.ends_with("data: [DONE]\n\n"));
    }
}
