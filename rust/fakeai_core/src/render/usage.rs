//! The `usage` object of chat and text completions.
//!
//! Its `prompt_tokens_details` and `completion_tokens_details` always carry `audio_tokens`, 0 unless
//! the request has audio ([`AudioTokens`]): then, as gpt-4o-audio-preview reports, each also carries
//! `text_tokens`, and the audio tokens are counted in `prompt_tokens` and `completion_tokens`.

use crate::render::json;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u32,
    /// All of them: text (with reasoning and rejected prediction tokens) and audio.
    pub completion_tokens: u32,
    pub cached_tokens: u32,
    pub reasoning_tokens: u32,
    pub accepted_prediction_tokens: u32,
    pub rejected_prediction_tokens: u32,
    /// Only for a request with audio input or output; `None` renders the details as text-only
    /// requests always had them.
    pub audio: Option<AudioTokens>,
}

/// The audio and text tokens of a request with `input_audio` parts or a spoken answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AudioTokens {
    /// The `input_audio` parts' tokens ([`crate::media::multimodal::audio_tokens`]).
    pub prompt_audio: u32,
    /// The prompt's text tokens: `prompt_tokens` less audio and any image or video parts.
    pub prompt_text: u32,
    /// The spoken answers' tokens ([`crate::media::chat_audio::tokens`]).
    pub completion_audio: u32,
    /// `completion_tokens` less `completion_audio`: the transcripts' tokens.
    pub completion_text: u32,
}

impl Usage {
    pub fn total(&self) -> u32 {
        self.prompt_tokens + self.completion_tokens
    }

    /// Append `"usage":{...}` with the token details objects the OpenAI SDK types declare.
    pub fn render(&self, buf: &mut Vec<u8>) {
        json::key(buf, "usage");
        buf.extend_from_slice(b"{\"prompt_tokens\":");
        json::uint(buf, self.prompt_tokens);
        buf.extend_from_slice(b",\"completion_tokens\":");
        json::uint(buf, self.completion_tokens);
        buf.extend_from_slice(b",\"total_tokens\":");
        json::uint(buf, self.total());
        buf.extend_from_slice(b",\"prompt_tokens_details\":{\"cached_tokens\":");
        json::uint(buf, self.cached_tokens);
        match &self.audio {
            None => buf.extend_from_slice(b",\"audio_tokens\":0"),
            Some(a) => {
                buf.extend_from_slice(b",\"audio_tokens\":");
                json::uint(buf, a.prompt_audio);
                buf.extend_from_slice(b",\"text_tokens\":");
                json::uint(buf, a.prompt_text);
            }
        }
        buf.extend_from_slice(b"},\"completion_tokens_details\":{\"reasoning_tokens\":");
        json::uint(buf, self.reasoning_tokens);
        match &self.audio {
            None => buf.extend_from_slice(b",\"audio_tokens\":0"),
            Some(a) => {
                buf.extend_from_slice(b",\"audio_tokens\":");
                json::uint(buf, a.completion_audio);
            }
        }
        buf.extend_from_slice(b",\"accepted_prediction_tokens\":");
        json::uint(buf, self.accepted_prediction_tokens);
        buf.extend_from_slice(b",\"rejected_prediction_tokens\":");
        json::uint(buf, self.rejected_prediction_tokens);
        if let Some(a) = &self.audio {
            buf.extend_from_slice(b",\"text_tokens\":");
            json::uint(buf, a.completion_text);
        }
        buf.extend_from_slice(b"}}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(usage: Usage) -> String {
        let mut buf = Vec::new();
        usage.render(&mut buf);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn renders_totals_and_details() {
        let s = rendered(Usage {
            prompt_tokens: 10,
            completion_tokens: 5,
            cached_tokens: 4,
            ..Default::default()
        });
        assert!(s.starts_with("\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15,"));
        assert!(s.contains("\"cached_tokens\":4"));
    }

    #[test]
    fn usage_without_audio_is_rendered_as_before() {
        let s = rendered(Usage {
            prompt_tokens: 10,
            completion_tokens: 9,
            cached_tokens: 4,
            reasoning_tokens: 3,
            accepted_prediction_tokens: 2,
            rejected_prediction_tokens: 1,
            audio: None,
        });
        assert_eq!(
            s,
            "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":9,\"total_tokens\":19,\
             \"prompt_tokens_details\":{\"cached_tokens\":4,\"audio_tokens\":0},\
             \"completion_tokens_details\":{\"reasoning_tokens\":3,\"audio_tokens\":0,\
             \"accepted_prediction_tokens\":2,\"rejected_prediction_tokens\":1}}"
        );
    }

    #[test]
    fn usage_with_audio_details_its_audio_and_text_tokens() {
        let audio =
            AudioTokens { prompt_audio: 31, prompt_text: 14, completion_audio: 120, completion_text: 20 };
        let s = rendered(Usage {
            prompt_tokens: 45,
            completion_tokens: 140,
            audio: Some(audio),
            ..Default::default()
        });
        let v: serde_json::Value = serde_json::from_str(&format!("{{{s}}}")).unwrap();
        let u = &v["usage"];
        assert_eq!((u["prompt_tokens"].as_u64(), u["total_tokens"].as_u64()), (Some(45), Some(185)));
        let p = &u["prompt_tokens_details"];
        assert_eq!(p, &serde_json::json!({"cached_tokens": 0, "audio_tokens": 31, "text_tokens": 14}));
        let c = &u["completion_tokens_details"];
        assert_eq!(
            c,
            &serde_json::json!({
                "reasoning_tokens": 0,
                "audio_tokens": 120,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
                "text_tokens": 20,
            })
        );
        // Audio output alone still names the prompt's audio (0) and text tokens.
        let s = rendered(Usage {
            prompt_tokens: 7,
            completion_tokens: 9,
            audio: Some(AudioTokens {
                prompt_text: 7,
                completion_audio: 5,
                completion_text: 4,
                ..Default::default()
            }),
            ..Default::default()
        });
        assert!(s.contains("{\"cached_tokens\":0,\"audio_tokens\":0,\"text_tokens\":7}"), "{s}");
        assert!(s.contains("\"audio_tokens\":5,"), "{s}");
    }
}
