//! Deterministic log-probabilities for generated tokens, with plausible alternatives.

use crate::rng::Rng;
use crate::text::vocab;

pub struct TokenLogprob<'a> {
    pub token: &'a str,
    pub logprob: f32,
    /// The most likely alternatives, best first; the chosen token leads when alternatives are asked.
    pub top: Vec<(&'a str, f32)>,
}

/// Log-probabilities for `tokens`, each with `top_n` (<= 20) alternatives.
pub fn for_tokens<'a>(rng: &mut Rng, tokens: &[&'a str], top_n: usize) -> Vec<TokenLogprob<'a>> {
    let table = vocab::table();
    tokens
        .iter()
        .map(|&token| {
            let u = rng.unit() as f32;
            let logprob = -(u * u * 2.5);
            let mut top = Vec::with_capacity(top_n);
            if top_n > 0 {
                top.push((token, logprob));
                let mut lp = logprob;
                while top.len() < top_n {
                    lp -= 0.3 + rng.unit() as f32 * 1.5;
                    let alt = table.any(rng.below(table.pieces.len() as u64) as usize);
                    if alt != token && !top.iter().any(|(t, _)| *t == alt) {
                        top.push((alt, lp));
                    }
                }
            }
            TokenLogprob { token, logprob, top }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chosen_token_leads_and_alternatives_are_less_likely_and_distinct() {
        let lps = for_tokens(&mut Rng::new(9), &["Hello", " world"], 5);
        assert_eq!(lps.len(), 2);
        for lp in &lps {
            assert!(lp.logprob <= 0.0);
            assert_eq!(lp.top.len(), 5);
            assert_eq!(lp.top[0], (lp.token, lp.logprob));
            assert!(lp.top.windows(2).all(|w| w[0].1 > w[1].1));
            let mut names: Vec<_> = lp.top.iter().map(|t| t.0).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), 5);
        }
        assert!(for_tokens(&mut Rng::new(9), &["a"], 0)[0].top.is_empty());
    }
}
