//! Echo mode: the reply is the request's own text (the last user message of a chat, or the prompt of
//! a legacy completion), split by fakeai's tokenizer so the token counts are exact.
//!
//! The echo is cut at `max_tokens` (finish reason `length` when the text reaches the cap) and at
//! stop sequences (finish reason `stop`); `min_tokens` and `ignore_eos` do not pad it. Every one of
//! the `n` choices carries the same text; logprobs are drawn per choice from the request key.

use crate::render::choices::{Choice, ChoiceSpec};
use crate::render::logprobs;
use crate::rng::Rng;
use crate::text::length::Finish;
use crate::text::prose;
use crate::text::tokens;

/// The `n` echo choices of `text`.
pub fn choices<'a>(text: &'a str, key: u64, spec: &ChoiceSpec) -> Vec<Choice<'a>> {
    let mut pieces: Vec<&'a str> = tokens::pieces(text).collect();
    let mut finish = Finish::Stop;
    if let Some(max) = spec.length.max_tokens {
        if pieces.len() >= max as usize {
            pieces.truncate(max as usize);
            finish = Finish::Length;
        }
    }
    if prose::apply_stop(&mut pieces, &spec.stops) {
        finish = Finish::Stop;
    }
    (0..spec.n.max(1))
        .map(|index| {
            let logprobs = match spec.top_logprobs {
                Some(k) => {
                    let mut rng = Rng::new(key.wrapping_add(u64::from(index)));
                    logprobs::for_tokens(&mut rng, &pieces, k.min(20) as usize)
                }
                None => Vec::new(),
            };
            Choice { tokens: pieces.clone(), finish, logprobs }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::length::LengthSpec;

    fn spec(n: u32, max_tokens: Option<u32>) -> ChoiceSpec {
        ChoiceSpec { n, length: LengthSpec { max_tokens, ..Default::default() }, ..Default::default() }
    }

    #[test]
    fn echo_repeats_the_text_with_exact_tokens() {
        let text = "Hello there, echo me back: 12345 times!";
        let c = choices(text, 1, &spec(2, None));
        assert_eq!(c.len(), 2);
        for choice in &c {
            assert_eq!(choice.tokens.concat(), text);
            assert_eq!(choice.tokens.len(), tokens::count(text));
            assert_eq!(choice.finish, Finish::Stop);
        }
    }

    #[test]
    fn max_tokens_truncates_with_finish_length() {
        let text = "one two three four five";
        let c = &choices(text, 1, &spec(1, Some(3)))[0];
        assert_eq!(c.tokens, ["one", " two", " three"]);
        assert_eq!(c.finish, Finish::Length);
        let exact = &choices(text, 1, &spec(1, Some(5)))[0];
        assert_eq!((exact.tokens.len(), exact.finish), (5, Finish::Length));
        let roomy = &choices(text, 1, &spec(1, Some(6)))[0];
        assert_eq!((roomy.tokens.concat().as_str(), roomy.finish), (text, Finish::Stop));
    }

    #[test]
    fn ignore_eos_and_min_tokens_do_not_pad_and_stop_cuts() {
        let mut s = spec(1, Some(100));
        s.length.ignore_eos = true;
        s.length.min_tokens = 50;
        s.stops = vec![" three".into()];
        s.top_logprobs = Some(2);
        let c = &choices("one two three four", 9, &s)[0];
        assert_eq!(c.tokens, ["one", " two"]);
        assert_eq!(c.finish, Finish::Stop);
        assert_eq!(c.logprobs.len(), 2);
        assert_eq!(c.logprobs[0].token, "one");
        assert!(choices("", 1, &spec(1, None))[0].tokens.is_empty());
    }
}
