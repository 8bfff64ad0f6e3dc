//! The server's bound on what one request generates: at most `--max-generated-tokens` tokens over all
//! its choices (`n`, times the prompts of a legacy completion).
//!
//! What a request *commits* the server to (an `x-fakeai-output-tokens` length, `ignore_eos` with
//! `max_tokens`, `min_tokens`) is checked first: past the cap it is a 400 naming that parameter.
//! Then every choice gets the ceiling `cap / choices`, so a natural length (drawn from
//! `--output-length-distribution`) can never add up past the cap either; a choice cut there ends
//! with `finish_reason` `length`.

use crate::invalid::Invalid;
use crate::text::length::LengthSpec;

/// The tokens every choice of `spec` must generate whatever its natural length, and the parameter
/// that asks for them: a forced length, `ignore_eos`'s `max_tokens`, or `min_tokens`; all capped
/// by `max_tokens`.
pub fn committed(spec: &LengthSpec) -> (u32, &'static str) {
    let (asked, param) = match (spec.forced, spec.ignore_eos, spec.max_tokens) {
        (Some(n), _, _) => (n, "x-fakeai-output-tokens"),
        (None, true, Some(max)) => (max, "max_tokens"),
        _ => (0, "max_tokens"),
    };
    let (asked, param) =
        if spec.min_tokens > asked { (spec.min_tokens, "min_tokens") } else { (asked, param) };
    (spec.max_tokens.map_or(asked, |max| asked.min(max)), param)
}

/// Refuse `choices` choices of `spec` that must generate more than `cap` tokens in all; otherwise
/// set the per-choice ceiling that keeps their total within `cap`.
pub fn bound(spec: &mut LengthSpec, choices: u64, cap: u32) -> Result<(), Invalid> {
    let choices = choices.max(1);
    let (each, param) = committed(spec);
    // Every choice generates at least one token: more choices than the cap is refused too.
    let (each, param) = if each == 0 { (1, "n") } else { (each, param) };
    let total = u64::from(each).saturating_mul(choices);
    if total > u64::from(cap) {
        return Err(Invalid::new(
            param,
            format!(
                "This request must generate {total} tokens ({choices} choices of {each}), more than the \
                 {cap} tokens this server generates for one request (--max-generated-tokens)."
            ),
        ));
    }
    spec.ceiling = Some(u32::try_from(u64::from(cap) / choices).unwrap_or(u32::MAX).max(1));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::text::length::{choose_length, Finish, LengthDist};

    #[test]
    fn committed_lengths_name_their_parameter() {
        let spec = LengthSpec { forced: Some(1_000_000), ..Default::default() };
        assert_eq!(committed(&spec), (1_000_000, "x-fakeai-output-tokens"));
        let spec = LengthSpec { forced: Some(1_000_000), max_tokens: Some(10), ..Default::default() };
        assert_eq!(committed(&spec), (10, "x-fakeai-output-tokens"));
        let spec = LengthSpec { ignore_eos: true, max_tokens: Some(700), ..Default::default() };
        assert_eq!(committed(&spec), (700, "max_tokens"));
        let spec = LengthSpec { min_tokens: 90, max_tokens: Some(4_000), ..Default::default() };
        assert_eq!(committed(&spec), (90, "min_tokens"));
        assert_eq!(committed(&LengthSpec { max_tokens: Some(131_072), ..Default::default() }).0, 0);
    }

    #[test]
    fn a_total_past_the_cap_is_refused_and_natural_lengths_are_clamped() {
        let mut spec = LengthSpec { forced: Some(1_000_000), ..Default::default() };
        let e = bound(&mut spec, 128, 131_072).unwrap_err();
        assert_eq!(e.param, "x-fakeai-output-tokens");
        assert!(e.message.contains("128000000 tokens (128 choices of 1000000)"), "{}", e.message);
        let mut spec = LengthSpec { ignore_eos: true, max_tokens: Some(1024), ..Default::default() };
        assert!(bound(&mut spec, 128, 131_072).is_ok());
        assert_eq!(choose_length(&mut Rng::new(1), spec), (1024, Finish::Length));
        assert_eq!(bound(&mut spec, 129, 131_072).unwrap_err().param, "max_tokens");
        // n=128 answers of a natural 100k tokens each stop at 1024.
        let mut spec = LengthSpec { natural: LengthDist::Fixed(100_000), ..Default::default() };
        bound(&mut spec, 128, 131_072).unwrap();
        assert_eq!(choose_length(&mut Rng::new(1), spec), (1024, Finish::Length));
        // Every choice costs at least one token: more choices than the cap are refused.
        bound(&mut spec, 10, 10).unwrap();
        assert_eq!(spec.ceiling, Some(1));
        assert_eq!(bound(&mut spec, u64::MAX, 10).unwrap_err().param, "n");
    }
}
