//! The `usage` object of chat and text completions.

use crate::render::json;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub cached_tokens: u32,
    pub reasoning_tokens: u32,
    pub accepted_prediction_tokens: u32,
    pub rejected_prediction_tokens: u32,
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
        buf.extend_from_slice(b",\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":");
        json::uint(buf, self.reasoning_tokens);
        buf.extend_from_slice(b",\"audio_tokens\":0,\"accepted_prediction_tokens\":");
        json::uint(buf, self.accepted_prediction_tokens);
        buf.extend_from_slice(b",\"rejected_prediction_tokens\":");
        json::uint(buf, self.rejected_prediction_tokens);
        buf.extend_from_slice(b"}}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_totals_and_details() {
        let mut buf = Vec::new();
        Usage { prompt_tokens: 10, completion_tokens: 5, cached_tokens: 4, ..Default::default() }
            .render(&mut buf);
        let s = String::from_utf8(buf).unwrap();
        assert!(s.starts_with("\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15,"));
        assert!(s.contains("\"cached_tokens\":4"));
    }
}
