//! Rendering `chat.completion` objects and `chat.completion.chunk` streams as bytes.

use crate::choices::Choice;
use crate::json;
use crate::logprobs::TokenLogprob;
use crate::sse::{self, ChunkStyle, Envelope};
use crate::usage::Usage;

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

/// A whole non-streaming `chat.completion` object. With `audio` (one rendered `"id":..,"data":..,
/// "expires_at":..` fragment per choice), each message carries it as `audio` with the text as its
/// `transcript`, and `content` is null, as OpenAI answers `modalities: ["text", "audio"]`.
pub fn render_completion(
    env: &Envelope<'_>,
    choices: &[Choice],
    usage: &Usage,
    logprobs: bool,
    audio: Option<&[Vec<u8>]>,
) -> Vec<u8> {
    let text_len: usize = choices.iter().flat_map(|c| &c.tokens).map(|t| t.len()).sum();
    let mut buf = Vec::with_capacity(512 + text_len + if logprobs { text_len * 40 } else { 0 });
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
        buf.extend_from_slice(b",\"message\":{\"role\":\"assistant\",\"content\":");
        match audio.and_then(|a| a.get(i)) {
            Some(fragment) => {
                buf.extend_from_slice(b"null,\"audio\":{");
                buf.extend_from_slice(fragment);
                buf.extend_from_slice(b",\"transcript\":");
                json::string(&mut buf, &c.tokens.concat());
                buf.push(b'}');
            }
            None => json::string(&mut buf, &c.tokens.concat()),
        }
        buf.extend_from_slice(b",\"refusal\":null,\"annotations\":[]},\"logprobs\":");
        if logprobs {
            logprobs_content(&mut buf, &c.logprobs);
        } else {
            buf.extend_from_slice(b"null");
        }
        buf.extend_from_slice(b",\"finish_reason\":\"");
        buf.extend_from_slice(c.finish.as_str().as_bytes());
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
    choices: &'a [Choice<'a>],
    logprobs: bool,
    audio: Option<&'a [Vec<u8>]>,
}

impl ChunkStyle for ChatChunks<'_> {
    fn choices(&self) -> usize {
        self.choices.len()
    }

    fn choice(&self, i: usize) -> &Choice<'_> {
        &self.choices[i]
    }

    fn opening(&self, b: &mut Vec<u8>, _i: usize) -> bool {
        b.extend_from_slice(
            b",\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null",
        );
        true
    }

    fn token(&self, b: &mut Vec<u8>, i: usize, k: usize) {
        let c = &self.choices[i];
        if self.audio.is_some() {
            b.extend_from_slice(b",\"delta\":{\"audio\":{\"transcript\":");
            json::string(b, c.tokens[k]);
            b.push(b'}');
        } else {
            b.extend_from_slice(b",\"delta\":{\"content\":");
            json::string(b, c.tokens[k]);
        }
        b.extend_from_slice(b"},\"logprobs\":");
        match c.logprobs.get(k).filter(|_| self.logprobs) {
            Some(lp) => logprobs_content(b, std::slice::from_ref(lp)),
            None => b.extend_from_slice(b"null"),
        }
        b.extend_from_slice(b",\"finish_reason\":null");
    }

    fn finish(&self, b: &mut Vec<u8>, i: usize) {
        let c = &self.choices[i];
        match self.audio.and_then(|a| a.get(i)) {
            Some(fragment) => {
                b.extend_from_slice(b",\"delta\":{\"audio\":{");
                b.extend_from_slice(fragment);
                b.extend_from_slice(b"}},\"logprobs\":null,\"finish_reason\":\"");
            }
            None => b.extend_from_slice(b",\"delta\":{},\"logprobs\":null,\"finish_reason\":\""),
        }
        b.extend_from_slice(c.finish.as_str().as_bytes());
        b.push(b'"');
    }
}

/// A streamed chat completion as timed steps (see [`crate::sse`]). With `audio`, the text streams as
/// `delta.audio.transcript` and each choice's last chunk carries its audio fragment.
pub fn render_stream(
    env: &Envelope<'_>,
    choices: &[Choice],
    usage: Option<&Usage>,
    logprobs: bool,
    audio: Option<&[Vec<u8>]>,
) -> Vec<Vec<u8>> {
    sse::render_steps(env, usage, &ChatChunks { choices, logprobs, audio })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::Finish;

    fn env(object: &'static str) -> Envelope<'static> {
        Envelope { id: "chatcmpl-x", object, created: 1, model: "m", fingerprint: "fp_1" }
    }

    fn choice(tokens: Vec<&'static str>) -> Choice<'static> {
        Choice { tokens, finish: Finish::Length, logprobs: Vec::new() }
    }

    #[test]
    fn completion_object_has_the_sdk_fields() {
        let usage = Usage { prompt_tokens: 3, completion_tokens: 2, ..Default::default() };
        let choices = [choice(vec!["Hi", " \"you\""])];
        let body =
            String::from_utf8(render_completion(&env("chat.completion"), &choices, &usage, false, None))
                .unwrap();
        assert!(body.starts_with(
            "{\"id\":\"chatcmpl-x\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\""
        ));
        assert!(body.contains("\"content\":\"Hi \\\"you\\\"\""));
        assert!(body.contains("\"finish_reason\":\"length\""));
        assert!(body.ends_with("\"system_fingerprint\":\"fp_1\"}"));
    }

    #[test]
    fn stream_steps_follow_tokens_and_end_with_done() {
        let choices = [choice(vec!["A", " b", " c"]), choice(vec!["X"])];
        let steps =
            render_stream(&env("chat.completion.chunk"), &choices, Some(&Usage::default()), false, None);
        assert_eq!(steps.len(), 3);
        let first = String::from_utf8(steps[0].clone()).unwrap();
        assert_eq!(first.matches("\"role\":\"assistant\"").count(), 2);
        assert!(first.contains("\"index\":1,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"length\""));
        assert!(first.contains("\"usage\":null"));
        let last = String::from_utf8(steps[2].clone()).unwrap();
        assert!(last.contains("\"choices\":[],\"usage\":{"));
        assert!(last.ends_with("data: [DONE]\n\n"));
        assert!(steps.iter().all(|s| s.starts_with(b"data: ")));
        // role x2, tokens x4, finish x2, usage, [DONE]
        let text = String::from_utf8(steps.concat()).unwrap();
        assert_eq!(text.matches("\n\n").count(), 10);
    }

    #[test]
    fn audio_replaces_content_with_the_audio_object() {
        let fragment = vec![b"\"id\":\"audio_1\",\"data\":\"UklG\",\"expires_at\":9".to_vec()];
        let choices = [choice(vec!["Hi", " there"])];
        let usage = Usage::default();
        let env = env("chat.completion");
        let body =
            String::from_utf8(render_completion(&env, &choices, &usage, false, Some(&fragment))).unwrap();
        assert!(body.contains(
            "\"content\":null,\"audio\":{\"id\":\"audio_1\",\"data\":\"UklG\",\"expires_at\":9,\"transcript\":\"Hi there\"}"
        ));
        let steps = render_stream(&env, &choices, None, false, Some(&fragment)).concat();
        let text = String::from_utf8(steps).unwrap();
        assert!(text.contains("\"delta\":{\"audio\":{\"transcript\":\" there\"}}"));
        assert!(
            text.contains("\"delta\":{\"audio\":{\"id\":\"audio_1\",\"data\":\"UklG\",\"expires_at\":9}}")
        );
        assert!(!text.contains("\"content\":\"Hi\""));
    }

    #[test]
    fn empty_choice_still_streams_role_and_finish() {
        let steps = render_stream(&env("chat.completion.chunk"), &[choice(vec![])], None, false, None);
        assert_eq!(steps.len(), 1);
        let s = String::from_utf8(steps[0].clone()).unwrap();
        assert!(s.contains("role") && s.contains("finish_reason\":\"length") && !s.contains("usage"));
    }
}
