//! Generating the `n` choices of a completion: length, text, stop sequences and logprobs.

use crate::render::logprobs::{self, TokenLogprob};
use crate::rng::Rng;
use crate::text::length::{self, Finish, LengthSpec};
use crate::text::prose;

pub struct Choice<'a> {
    pub tokens: Vec<&'a str>,
    pub finish: Finish,
    /// Empty unless logprobs were asked for.
    pub logprobs: Vec<TokenLogprob<'a>>,
}

#[derive(Clone, Debug, Default)]
pub struct ChoiceSpec {
    pub n: u32,
    pub length: LengthSpec,
    pub stops: Vec<String>,
    /// `None`: no logprobs; `Some(k)`: logprobs with `k` alternatives per token.
    pub top_logprobs: Option<u32>,
}

/// Generate the choices for one request. `key` identifies the input (prompt hash mixed with the
/// request seed) so that equal seeds and equal inputs give equal output.
pub fn generate(key: u64, spec: &ChoiceSpec) -> Vec<Choice<'static>> {
    (0..spec.n.max(1)).map(|index| one(&mut rng_for(key, index), spec)).collect()
}

/// The RNG of choice `index` of the request keyed `key`.
pub fn rng_for(key: u64, index: u32) -> Rng {
    Rng::new(key.wrapping_add(u64::from(index).wrapping_mul(0xA076_1D64_78BD_642F)))
}

/// One choice of prose drawn from `rng`.
pub fn one(rng: &mut Rng, spec: &ChoiceSpec) -> Choice<'static> {
    let (len, mut finish) = length::choose_length(rng, spec.length);
    let mut tokens = prose::generate(rng, len as usize);
    if prose::apply_stop(&mut tokens, &spec.stops) {
        finish = Finish::Stop;
    }
    let logprobs = match spec.top_logprobs {
        Some(k) => logprobs::for_tokens(rng, &tokens, k.min(20) as usize),
        None => Vec::new(),
    };
    Choice { tokens, finish, logprobs }
}

/// Total generated tokens across choices.
pub fn completion_tokens(choices: &[Choice<'_>]) -> u32 {
    choices.iter().map(|c| c.tokens.len() as u32).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(n: u32, max: u32) -> ChoiceSpec {
        ChoiceSpec {
            n,
            length: LengthSpec { max_tokens: Some(max), ..Default::default() },
            ..Default::default()
        }
    }

    #[test]
    fn n_choices_differ_but_repeat_for_the_same_key() {
        let a = generate(1, &spec(3, 30));
        let b = generate(1, &spec(3, 30));
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].tokens, b[0].tokens);
        assert_ne!(a[0].tokens, a[1].tokens);
        assert!(a.iter().all(|c| c.tokens.len() <= 30 && c.logprobs.is_empty()));
        assert_eq!(completion_tokens(&a), a.iter().map(|c| c.tokens.len() as u32).sum::<u32>());
    }

    #[test]
    fn stop_sets_finish_and_logprobs_follow_tokens() {
        let mut s = spec(1, 64);
        s.stops = vec![".".into()];
        s.top_logprobs = Some(2);
        let c = &generate(7, &s)[0];
        assert_eq!(c.finish, Finish::Stop);
        assert!(!c.tokens.concat().contains('.'));
        assert_eq!(c.logprobs.len(), c.tokens.len());
    }
}
