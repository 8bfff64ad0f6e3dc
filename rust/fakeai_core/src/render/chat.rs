//! Rendering `chat.completion` objects and `chat.completion.chunk` streams as bytes.

use crate::render::chat_choices::{Answer, ChatChoice, ToolCall};
use crate::render::json;
use crate::render::logprobs::TokenLogprob;
use crate::render::sse::{self, ChunkStyle, Envelope, StreamSteps};
use crate::render::usage::Usage;

fn logprob_entry(buf: &mut Vec<u8>, token: &str, logprob: f32) {
    buf.extend_from_slice(b"{\"token\":");
    json::string(buf, token);
    buf.extend_from_slice(b",\"logprob\":");
    json::float(buf, logprob);
    buf.extend_from_slice(b",\"bytes\":");
    json::byte_array(buf, token);
}

fn logprobs_content(buf: &mut Vec<u8>, lps: &[TokenLogprob]) {
    buf.extend_from_slice(b"{\"content\":[");
    for (i, lp) in lps.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        logprob_entry(buf, lp.token, lp.logprob);
        buf.extend_from_slice(b",\"top_logprobs\":[");
        for (j, (tok, alt)) in lp.top.iter().enumerate() {
            if j > 0 {
                buf.push(b',');
            }
            logprob_entry(buf, tok, *alt);
            buf.push(b'}');
        }
        buf.extend_from_slice(b"]}");
    }
    buf.extend_from_slice(b"],\"refusal\":null}");
}

/// `"id":...,"type":"function","function":{"name":...,"arguments":` of a tool call; of a custom
/// tool's, `"id":...,"type":"custom","custom":{"name":...,"input":`.
fn call_head(buf: &mut Vec<u8>, call: &ToolCall) {
    buf.extend_from_slice(b"\"id\":");
    json::string(buf, &call.id);
    buf.extend_from_slice(if call.custom {
        b",\"type\":\"custom\",\"custom\":{\"name\":"
    } else {
        b",\"type\":\"function\",\"function\":{\"name\":"
    });
    json::string(buf, &call.name);
    buf.extend_from_slice(if call.custom { b",\"input\":" } else { b",\"arguments\":" });
}

/// The `message` object of one choice. With `audio` (its rendered `"id":..,"data":..,"expires_at":..`
/// fragment), the message carries it as `audio` with the text as its `transcript`, and `content` is
/// null, as OpenAI answers `modalities: ["text", "audio"]`. The reasoning is `reasoning_content`, as
/// vLLM serves it, unless `hide_reasoning` (OpenAI's own reasoning models show none in chat).
fn message(buf: &mut Vec<u8>, c: &ChatChoice<'_>, audio: Option<&[u8]>, hide_reasoning: bool) {
    buf.extend_from_slice(b"{\"role\":\"assistant\",\"content\":");
    match (&c.answer, audio) {
        (Answer::Calls { .. }, _) => buf.extend_from_slice(b"null"),
        (Answer::Prose(p), None) => json::string_of(buf, &p.tokens),
        (Answer::Composed { content, .. }, None) => json::string(buf, &content.text),
        (_, Some(fragment)) => {
            buf.extend_from_slice(b"null,\"audio\":{");
            buf.extend_from_slice(fragment);
            buf.extend_from_slice(b",\"transcript\":");
            json::string(buf, &c.text());
            buf.push(b'}');
        }
    }
    if !c.reasoning.is_empty() && !hide_reasoning {
        buf.extend_from_slice(b",\"reasoning_content\":");
        json::string(buf, &c.reasoning.concat());
    }
    match &c.answer {
        Answer::Calls { calls, legacy: true, .. } => {
            buf.extend_from_slice(b",\"function_call\":{\"name\":");
            json::string(buf, &calls[0].name);
            buf.extend_from_slice(b",\"arguments\":");
            json::string(buf, &calls[0].arguments.text);
            buf.push(b'}');
        }
        Answer::Calls { calls, legacy: false, .. } => {
            buf.extend_from_slice(b",\"tool_calls\":[");
            for (i, call) in calls.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                buf.push(b'{');
                call_head(buf, call);
                json::string(buf, &call.arguments.text);
                buf.extend_from_slice(b"}}");
            }
            buf.push(b']');
        }
        _ => {}
    }
    buf.extend_from_slice(b",\"refusal\":null,\"annotations\":[]}");
}

/// A whole non-streaming `chat.completion` object; `audio` holds each choice's rendered audio
/// fragment when the request asked for audio output (see [`message`]); with `hide_reasoning`, no
/// `reasoning_content` (its tokens are still counted in `usage`).
pub fn render_completion(
    env: &Envelope<'_>,
    choices: &[ChatChoice<'_>],
    usage: &Usage,
    logprobs: bool,
    audio: Option<&[Vec<u8>]>,
    hide_reasoning: bool,
) -> Vec<u8> {
    let text_len: usize = choices.iter().map(|c| c.steps() * 6).sum();
    let audio_len: usize = audio.map_or(0, |a| a.iter().map(Vec::len).sum());
    let mut buf = Vec::with_capacity(512 + text_len + audio_len + if logprobs { text_len * 8 } else { 0 });
    buf.extend_from_slice(b"{\"id\":");
    json::string(&mut buf, env.id);
    buf.extend_from_slice(b",\"object\":\"chat.completion\",\"created\":");
    json::uint(&mut buf, env.created);
    buf.extend_from_slice(b",\"model\":");
    json::string(&mut buf, env.model);
    buf.extend_from_slice(b",\"choices\":[");
    for (i, c) in choices.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(b"{\"index\":");
        json::uint(&mut buf, i);
        buf.extend_from_slice(b",\"message\":");
        message(&mut buf, c, audio.and_then(|a| a.get(i)).map(Vec::as_slice), hide_reasoning);
        buf.extend_from_slice(b",\"logprobs\":");
        match &c.answer {
            Answer::Prose(p) if logprobs => logprobs_content(&mut buf, &p.logprobs),
            _ if logprobs => logprobs_content(&mut buf, &[]),
            _ => buf.extend_from_slice(b"null"),
        }
        buf.extend_from_slice(b",\"finish_reason\":\"");
        buf.extend_from_slice(c.finish().as_bytes());
        buf.extend_from_slice(b"\"}");
    }
    buf.extend_from_slice(b"],");
    usage.render(&mut buf);
    buf.extend_from_slice(b",\"service_tier\":\"default\",\"system_fingerprint\":");
    json::string(&mut buf, env.fingerprint);
    buf.push(b'}');
    buf
}

struct ChatChunks<'a> {
    choices: &'a [ChatChoice<'a>],
    logprobs: bool,
    audio: Option<&'a [Vec<u8>]>,
    /// The reasoning tokens keep their time but send nothing (see [`ChunkStyle::quiet`]).
    hide_reasoning: bool,
}

impl ChatChunks<'_> {
    /// The delta of answer step `k` of a choice that calls functions.
    fn call_delta(b: &mut Vec<u8>, calls: &[ToolCall], legacy: bool, mut k: usize) {
        for (index, call) in calls.iter().enumerate() {
            if k > call.arguments.len() {
                k -= 1 + call.arguments.len();
                continue;
            }
            match (legacy, k) {
                (true, 0) => {
                    b.extend_from_slice(b"\"function_call\":{\"name\":");
                    json::string(b, &call.name);
                    b.extend_from_slice(b",\"arguments\":\"\"}");
                }
                (true, _) => {
                    b.extend_from_slice(b"\"function_call\":{\"arguments\":");
                    json::string(b, call.arguments.piece(k - 1));
                    b.push(b'}');
                }
                (false, 0) => {
                    b.extend_from_slice(b"\"tool_calls\":[{\"index\":");
                    json::uint(b, index);
                    b.push(b',');
                    call_head(b, call);
                    b.extend_from_slice(b"\"\"}}]");
                }
                (false, _) => {
                    b.extend_from_slice(b"\"tool_calls\":[{\"index\":");
                    json::uint(b, index);
                    b.extend_from_slice(if call.custom {
                        b",\"custom\":{\"input\":"
                    } else {
                        b",\"function\":{\"arguments\":"
                    });
                    json::string(b, call.arguments.piece(k - 1));
                    b.extend_from_slice(b"}}]");
                }
            }
            return;
        }
    }
}

impl ChunkStyle for ChatChunks<'_> {
    fn choices(&self) -> usize {
        self.choices.len()
    }

    fn steps(&self, i: usize) -> usize {
        self.choices[i].steps()
    }

    fn opening(&self, b: &mut Vec<u8>, i: usize) -> bool {
        let content: &[u8] = match self.choices[i].answer {
            Answer::Calls { .. } => b"null",
            _ => b"\"\"",
        };
        b.extend_from_slice(b",\"delta\":{\"role\":\"assistant\",\"content\":");
        b.extend_from_slice(content);
        b.extend_from_slice(b",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null");
        true
    }

    fn token(&self, b: &mut Vec<u8>, i: usize, k: usize) {
        let c = &self.choices[i];
        b.extend_from_slice(b",\"delta\":{");
        let mut lp = None;
        match (k.checked_sub(c.reasoning.len()), &c.answer) {
            (None, _) => {
                b.extend_from_slice(b"\"reasoning_content\":");
                json::string(b, c.reasoning[k]);
            }
            (Some(j), Answer::Prose(p)) if self.audio.is_some() => {
                b.extend_from_slice(b"\"audio\":{\"transcript\":");
                json::string(b, p.tokens[j]);
                b.push(b'}');
            }
            (Some(j), Answer::Prose(p)) => {
                b.extend_from_slice(b"\"content\":");
                json::string(b, p.tokens[j]);
                lp = p.logprobs.get(j).filter(|_| self.logprobs);
            }
            (Some(j), Answer::Composed { content, .. }) => {
                b.extend_from_slice(b"\"content\":");
                json::string(b, content.piece(j));
            }
            (Some(j), Answer::Calls { calls, legacy, .. }) => Self::call_delta(b, calls, *legacy, j),
        }
        b.extend_from_slice(b"},\"logprobs\":");
        match lp {
            Some(lp) => logprobs_content(b, std::slice::from_ref(lp)),
            None => b.extend_from_slice(b"null"),
        }
        b.extend_from_slice(b",\"finish_reason\":null");
    }

    fn finish(&self, b: &mut Vec<u8>, i: usize) {
        match self.audio.and_then(|a| a.get(i)) {
            Some(fragment) => {
                b.extend_from_slice(b",\"delta\":{\"audio\":{");
                b.extend_from_slice(fragment);
                b.extend_from_slice(b"}},\"logprobs\":null,\"finish_reason\":\"");
            }
            None => b.extend_from_slice(b",\"delta\":{},\"logprobs\":null,\"finish_reason\":\""),
        }
        b.extend_from_slice(self.choices[i].finish().as_bytes());
        b.push(b'"');
    }

    fn quiet(&self, i: usize) -> usize {
        if self.hide_reasoning {
            self.choices[i].reasoning.len()
        } else {
            0
        }
    }
}

/// A streamed chat completion as timed steps (see [`crate::render::sse`]); with `audio`, prose arrives as
/// `delta.audio.transcript` pieces and each choice's audio fragment comes with its finish chunk. With
/// `hide_reasoning` the reasoning tokens send nothing (OpenAI sends nothing while its models think):
/// their steps stay, empty, so the first chunk comes as late as the answer's first token.
pub fn render_stream<'a>(
    env: &Envelope<'_>,
    choices: &'a [ChatChoice<'a>],
    usage: Option<&Usage>,
    logprobs: bool,
    audio: Option<&'a [Vec<u8>]>,
    hide_reasoning: bool,
) -> Vec<Vec<u8>> {
    sse::render_steps(env, usage, &ChatChunks { choices, logprobs, audio, hide_reasoning })
}

/// The chunks of a stream that owns its choices, for [`lazy_stream`].
pub struct OwnedChatChunks {
    choices: Vec<ChatChoice<'static>>,
    logprobs: bool,
    audio: Option<Vec<Vec<u8>>>,
    hide_reasoning: bool,
}

impl OwnedChatChunks {
    fn view(&self) -> ChatChunks<'_> {
        ChatChunks {
            choices: &self.choices,
            logprobs: self.logprobs,
            audio: self.audio.as_deref(),
            hide_reasoning: self.hide_reasoning,
        }
    }
}

impl ChunkStyle for OwnedChatChunks {
    fn choices(&self) -> usize {
        self.choices.len()
    }

    fn steps(&self, i: usize) -> usize {
        self.choices[i].steps()
    }

    fn opening(&self, b: &mut Vec<u8>, i: usize) -> bool {
        self.view().opening(b, i)
    }

    fn token(&self, b: &mut Vec<u8>, i: usize, k: usize) {
        self.view().token(b, i, k)
    }

    fn finish(&self, b: &mut Vec<u8>, i: usize) {
        self.view().finish(b, i)
    }

    fn quiet(&self, i: usize) -> usize {
        self.view().quiet(i)
    }
}

/// [`render_stream`]'s steps, rendered one by one when asked for (the same bytes).
pub fn lazy_stream(
    env: &Envelope<'_>,
    choices: Vec<ChatChoice<'static>>,
    usage: Option<&Usage>,
    logprobs: bool,
    audio: Option<Vec<Vec<u8>>>,
    hide_reasoning: bool,
) -> StreamSteps<OwnedChatChunks> {
    StreamSteps::new(env, usage, OwnedChatChunks { choices, logprobs, audio, hide_reasoning })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::choices::Choice;
    use crate::text::length::Finish;
    use crate::text::tokenized::Tokenized;

    fn env(object: &'static str) -> Envelope<'static> {
        Envelope { id: "chatcmpl-x", object, created: 1, model: "m", fingerprint: "fp_1" }
    }

    fn choice(tokens: Vec<&'static str>) -> ChatChoice<'static> {
        let answer = Answer::Prose(Choice { tokens, finish: Finish::Length, logprobs: Vec::new() });
        ChatChoice { reasoning: Vec::new(), answer, accepted_prediction: 0, rejected_prediction: 0 }
    }

    #[test]
    fn completion_object_has_the_sdk_fields() {
        let usage = Usage { prompt_tokens: 3, completion_tokens: 2, ..Default::default() };
        let choices = [choice(vec!["Hi", " \"you\""])];
        let body = String::from_utf8(render_completion(
            &env("chat.completion"),
            &choices,
            &usage,
            false,
            None,
            false,
        ))
        .unwrap();
        assert!(body.starts_with(
            "{\"id\":\"chatcmpl-x\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\""
        ));
        assert!(body.contains("\"content\":\"Hi \\\"you\\\"\""));
        assert!(body.contains("\"finish_reason\":\"length\""));
        assert!(body.ends_with("\"system_fingerprint\":\"fp_1\"}"));
    }

    #[test]
    fn prose_written_piece_by_piece_parses_to_the_joined_text() {
        let pieces = vec!["Say", " \"hi\"", "\n\n", "back\\", "\u{1}", " \u{e9}t\u{e9}"];
        let usage = Usage::default();
        let choices = [choice(pieces.clone())];
        for audio in [None, Some(&[b"\"id\":\"a\"".to_vec()][..])] {
            let body = render_completion(&env("chat.completion"), &choices, &usage, false, audio, false);
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let message = &v["choices"][0]["message"];
            match audio {
                None => assert_eq!(message["content"], pieces.concat()),
                Some(_) => {
                    assert!(message["content"].is_null());
                    assert_eq!(message["audio"]["transcript"], pieces.concat());
                }
            }
        }
    }

    #[test]
    fn stream_steps_follow_tokens_and_end_with_done() {
        let choices = [choice(vec!["A", " b", " c"]), choice(vec!["X"])];
        let steps = render_stream(
            &env("chat.completion.chunk"),
            &choices,
            Some(&Usage::default()),
            false,
            None,
            false,
        );
        assert_eq!(steps.len(), 3);
        let first = String::from_utf8(steps[0].clone()).unwrap();
        assert_eq!(first.matches("\"role\":\"assistant\"").count(), 2);
        assert!(first.contains("\"index\":1,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"length\""));
        assert!(first.contains("\"usage\":null"));
        // every chunk carries OpenAI's service tier, as the non-streamed object does
        let all = String::from_utf8(steps.concat()).unwrap();
        let tiers = all.matches("\"service_tier\":\"default\",\"system_fingerprint\"").count();
        assert_eq!(tiers, all.matches("data: {").count());
        let last = String::from_utf8(steps[2].clone()).unwrap();
        assert!(last.contains("\"choices\":[],\"usage\":{"));
        assert!(last.ends_with("data: [DONE]\n\n"));
        assert!(steps.iter().all(|s| s.starts_with(b"data: ")));
        // role x2, tokens x4, finish x2, usage, [DONE]
        let text = String::from_utf8(steps.concat()).unwrap();
        assert_eq!(text.matches("\n\n").count(), 10);
    }

    #[test]
    fn lazy_steps_equal_the_whole_rendering() {
        let long: Vec<&'static str> = (0..5000).map(|k| [" a", " \"b\"", "\u{e9}"][k % 3]).collect();
        let make = || vec![choice(long.clone()), choice(vec!["X"]), calls(false)];
        let usage = Usage { prompt_tokens: 3, completion_tokens: 4, ..Default::default() };
        let env = env("chat.completion.chunk");
        let whole = render_stream(&env, &make(), Some(&usage), false, None, false);
        let lazy = lazy_stream(&env, make(), Some(&usage), false, None, false);
        assert_eq!(lazy.len(), whole.len());
        for (k, step) in whole.iter().enumerate() {
            let mut buf = Vec::new();
            lazy.render(k, &mut buf);
            assert_eq!(&buf, step, "step {k}");
        }
    }

    #[test]
    fn empty_choice_still_streams_role_and_finish() {
        let steps = render_stream(&env("chat.completion.chunk"), &[choice(vec![])], None, false, None, false);
        assert_eq!(steps.len(), 1);
        let s = String::from_utf8(steps[0].clone()).unwrap();
        assert!(s.contains("role") && s.contains("finish_reason\":\"length") && !s.contains("usage"));
    }

    fn calls(legacy: bool) -> ChatChoice<'static> {
        let call = |name: &str, args: &str| ToolCall {
            id: format!("call_{name}"),
            name: name.into(),
            arguments: Tokenized::new(args.into()),
            custom: name == "g",
        };
        let answer =
            Answer::Calls { calls: vec![call("f", "{\"a\":1}"), call("g", "{}")], legacy, cut: false };
        ChatChoice { reasoning: vec!["Think", "."], answer, accepted_prediction: 0, rejected_prediction: 0 }
    }

    #[test]
    fn tool_calls_render_in_the_message_and_as_deltas() {
        let usage = Usage::default();
        let body = String::from_utf8(render_completion(
            &env("chat.completion"),
            &[calls(false)],
            &usage,
            false,
            None,
            false,
        ))
        .unwrap();
        assert!(body.contains(
            "\"content\":null,\"reasoning_content\":\"Think.\",\"tool_calls\":[{\"id\":\"call_f\",\"type\":\"function\",\
             \"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}},{\"id\":\"call_g\""
        ));
        assert!(body.contains("\"finish_reason\":\"tool_calls\""));
        let steps = render_stream(&env("chat.completion.chunk"), &[calls(false)], None, false, None, false);
        // 2 reasoning tokens, f: header + 7 argument tokens, g: header + 2.
        assert_eq!(steps.len(), 2 + 8 + 3);
        let s = |k: usize| String::from_utf8(steps[k].clone()).unwrap();
        assert!(s(0).contains("\"content\":null") && s(0).contains("{\"reasoning_content\":\"Think\"}"));
        assert!(s(2).contains(
            "{\"tool_calls\":[{\"index\":0,\"id\":\"call_f\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}"
        ));
        assert!(s(3).contains("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\"}}]}"));
        assert!(s(10).contains("\"index\":1,\"id\":\"call_g\""));
        // g is a custom tool: its input, in the custom shape
        assert!(body.contains(
            "{\"id\":\"call_g\",\"type\":\"custom\",\"custom\":{\"name\":\"g\",\"input\":\"{}\"}}]"
        ));
        assert!(s(10).contains("\"type\":\"custom\",\"custom\":{\"name\":\"g\",\"input\":\"\"}}]"));
        assert!(s(11).contains("{\"tool_calls\":[{\"index\":1,\"custom\":{\"input\":\"{\"}}]}"));
        assert!(s(12).contains("\"finish_reason\":\"tool_calls\""));
    }

    #[test]
    fn hidden_reasoning_keeps_its_steps_but_sends_nothing() {
        let usage = Usage { reasoning_tokens: 2, ..Default::default() };
        let env_c = env("chat.completion");
        let body =
            String::from_utf8(render_completion(&env_c, &[calls(false)], &usage, false, None, true)).unwrap();
        assert!(!body.contains("reasoning_content") && body.contains("\"reasoning_tokens\":2"));
        let env = env("chat.completion.chunk");
        let shown = render_stream(&env, &[calls(false)], Some(&usage), false, None, false);
        let steps = render_stream(&env, &[calls(false)], Some(&usage), false, None, true);
        // the same steps (the same timing), the reasoning's two empty
        assert_eq!(steps.len(), shown.len());
        assert!(steps[0].is_empty() && steps[1].is_empty());
        let s = |k: usize| String::from_utf8(steps[k].clone()).unwrap();
        // the role chunk opens the first step that sends something, before the answer's first token
        assert!(s(2).starts_with("data: ") && s(2).contains("\"role\":\"assistant\",\"content\":null"));
        assert_eq!(s(2).matches("data: ").count(), 2);
        assert!(s(2).contains("\"function\":{\"name\":\"f\""));
        assert_eq!(steps[3..], shown[3..]);
        assert!(!String::from_utf8(steps.concat()).unwrap().contains("reasoning_content"));
        let lazy = lazy_stream(&env, vec![calls(false)], Some(&usage), false, None, true);
        for (k, step) in steps.iter().enumerate() {
            let mut buf = Vec::new();
            lazy.render(k, &mut buf);
            assert_eq!(&buf, step, "step {k}");
        }
        // a choice whose budget went to reasoning alone opens and finishes on its last step; another
        // choice answering sooner is not held back
        let mut thought = choice(vec![]);
        thought.reasoning = vec!["a", "b", "c"];
        let mut quick = choice(vec!["X", "Y"]);
        quick.reasoning = vec!["r"];
        let steps = render_stream(&env, &[thought, quick], None, false, None, true);
        assert_eq!(steps.len(), 3);
        let s = |k: usize| String::from_utf8(steps[k].clone()).unwrap();
        assert!(s(0).is_empty());
        assert!(s(1).contains("\"index\":1,\"delta\":{\"role\"") && !s(1).contains("\"index\":0"));
        assert!(
            s(2).contains("\"index\":0,\"delta\":{\"role\"") && s(2).contains("\"index\":0,\"delta\":{},")
        );
    }

    #[test]
    fn legacy_function_call_shape() {
        let usage = Usage::default();
        let body = String::from_utf8(render_completion(
            &env("chat.completion"),
            &[calls(true)],
            &usage,
            false,
            None,
            false,
        ))
        .unwrap();
        assert!(body.contains("\"function_call\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}"));
        assert!(body.contains("\"finish_reason\":\"function_call\""));
        let steps = render_stream(&env("chat.completion.chunk"), &[calls(true)], None, false, None, false);
        let all = String::from_utf8(steps.concat()).unwrap();
        assert!(all.contains("{\"function_call\":{\"name\":\"f\",\"arguments\":\"\"}}"));
        assert!(all.contains("{\"function_call\":{\"arguments\":\"a\"}}"));
    }
}
