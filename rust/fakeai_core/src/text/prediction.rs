//! Predicted outputs (speculative decoding): the reply reuses the given prediction.
//!
//! The reply is the prediction with one edit: a middle span of 5-30% of its tokens is replaced by
//! newly generated prose of about the same length. The kept tokens are `accepted_prediction_tokens`,
//! the replaced ones `rejected_prediction_tokens`. Accepted tokens are verified in bulk, so each costs
//! [`1/SPEEDUP`](SPEEDUP) of an inter-token latency. As OpenAI bills them, rejected tokens count in
//! `completion_tokens` on top of the reply's own tokens, so `completion_tokens >= accepted + rejected`.
//! When `max_tokens` cuts the reply, only the prediction tokens the reply reached count: the kept
//! ones it holds are accepted, and the replaced span is rejected if the reply got to it.

use crate::rng::Rng;
use crate::text::length::Finish;
use crate::text::prose;
use crate::text::tokenized::Tokenized;

/// How many times faster an accepted prediction token is produced than a generated one.
pub const SPEEDUP: f64 = 4.0;

pub struct Predicted {
    pub content: Tokenized,
    pub finish: Finish,
    pub accepted: u32,
    pub rejected: u32,
}

/// The reply to a request whose prediction is `prediction`, capped at `max_tokens`.
pub fn edit(prediction: &str, rng: &mut Rng, max_tokens: Option<u32>) -> Predicted {
    let pred = Tokenized::new(prediction.to_owned());
    let p = pred.len();
    let replaced = if p < 4 { 0 } else { (p * rng.range(5, 30) as usize / 100).max(1) };
    let head = (p - replaced) / 2;
    let tail_start = head + replaced;
    let mut out = String::with_capacity(prediction.len() + 16);
    for k in 0..head {
        out.push_str(pred.piece(k));
    }
    let fresh = prose::generate(rng, replaced).concat();
    // The new span is a word of its own: a space keeps it off the kept word before it ("overYou").
    if !fresh.starts_with(char::is_whitespace) && out.ends_with(|c: char| !c.is_whitespace()) {
        out.push(' ');
    }
    out.push_str(&fresh);
    for k in tail_start..p {
        out.push_str(pred.piece(k));
    }
    let mut content = Tokenized::new(out);
    let mut accepted = p - replaced;
    let mut rejected = replaced;
    let mut finish = Finish::Stop;
    if let Some(max) = max_tokens.map(|m| m as usize) {
        if content.len() > max {
            content.truncate(max);
            let generated = content.len().saturating_sub(head).min(replaced);
            accepted = head.min(max) + max.saturating_sub(head + generated).min(p - tail_start);
            rejected = if max > head { replaced } else { 0 };
            finish = Finish::Length;
        }
    }
    // Re-tokenizing the joined text may merge a boundary: never claim more kept tokens than the reply has.
    let accepted = accepted.min(content.len()) as u32;
    Predicted { content, finish, accepted, rejected: rejected as u32 }
}

/// Decode time of `tokens` tokens of which `accepted` came from the prediction, as a fraction of
/// the time without a prediction.
pub fn decode_factor(tokens: usize, accepted: u32) -> f64 {
    if tokens == 0 {
        return 1.0;
    }
    let accepted = f64::from(accepted).min(tokens as f64);
    (tokens as f64 - accepted + accepted / SPEEDUP) / tokens as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str =
        "class User:\n    first_name: str = \"\"\n    last_name: str = \"\"\n    username: str = \"\"\n";

    #[test]
    fn the_new_span_is_never_glued_to_the_word_before_it() {
        let text = "the quick brown fox jumps over the lazy dog and runs far away into the woods";
        for seed in 0..50 {
            let reply = edit(text, &mut Rng::new(seed), None).content.text;
            for word in reply.split_whitespace() {
                let glued = text.split(' ').any(|o| {
                    word.len() > o.len()
                        && word.starts_with(o)
                        && word[o.len()..].starts_with(char::is_uppercase)
                });
                assert!(!glued, "{reply}"); // "overYou": a kept word and the new span's first
            }
        }
    }

    #[test]
    fn the_reply_keeps_most_of_the_prediction() {
        let p = edit(CODE, &mut Rng::new(1), None);
        let total = Tokenized::new(CODE.to_owned()).len() as u32;
        assert_eq!(p.accepted + p.rejected, total);
        assert!(p.accepted >= total * 7 / 10 && p.rejected >= 1);
        assert!(p.content.text.starts_with("class User"));
        assert!(p.content.text.ends_with("\"\"\n"));
        assert_eq!(p.finish, Finish::Stop);
    }

    #[test]
    fn max_tokens_caps_it_and_accepted_tokens_are_faster() {
        let p = edit(CODE, &mut Rng::new(1), Some(5));
        assert_eq!((p.content.len(), p.finish, p.accepted, p.rejected), (5, Finish::Length, 5, 0));
        assert!((decode_factor(100, 100) - 0.25).abs() < 1e-9);
        assert!((decode_factor(100, 0) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_cut_reply_counts_only_the_prediction_it_reached() {
        let whole = edit(CODE, &mut Rng::new(1), None);
        let cut = whole.content.len() as u32 - 2;
        let p = edit(CODE, &mut Rng::new(1), Some(cut));
        assert_eq!((p.content.len() as u32, p.finish, p.rejected), (cut, Finish::Length, whole.rejected));
        assert!(p.accepted < whole.accepted && p.accepted + 3 >= whole.accepted);
    }
}
