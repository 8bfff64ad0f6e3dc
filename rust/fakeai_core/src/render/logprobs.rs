//! Deterministic log-probabilities for generated tokens, with plausible alternatives.
//!
//! Each position has one next-token distribution: the chosen token holds probability `p` (mostly
//! high: `ln p = -2.5 u^3` for a uniform `u`), and of the rest `1 - p` the listed alternatives share a
//! fraction (60-95%, in geometrically falling parts) while the unlisted vocabulary holds the remainder.
//! So `top_logprobs` is a real distribution's head: sorted, most likely first, its probabilities
//! summing to less than 1, and the chosen token's entry, when it is among the `top_n` most likely,
//! carries exactly its own `logprob`. When the chosen token was an unlikely draw it can rank below an
//! alternative, or fall out of a short list, as sampling at temperature 1 does.

use crate::rng::Rng;
use crate::text::vocab;

pub struct TokenLogprob<'a> {
    pub token: &'a str,
    pub logprob: f32,
    /// The `top_n` most likely tokens of this position's distribution, most likely first.
    pub top: Vec<(&'a str, f32)>,
}

/// The chosen token never takes more than this share, so the alternatives' logprobs stay finite.
const MAX_CHOSEN: f64 = 0.9999;

/// Log-probabilities for `tokens`, each with its `top_n` (<= 20) most likely tokens.
pub fn for_tokens<'a>(rng: &mut Rng, tokens: &[&'a str], top_n: usize) -> Vec<TokenLogprob<'a>> {
    let table = vocab::table();
    let mut shares = Vec::with_capacity(top_n);
    tokens
        .iter()
        .map(|&token| {
            let u = rng.unit();
            let chosen = (-(u * u * u * 2.5)).exp().min(MAX_CHOSEN);
            let logprob = chosen.ln() as f32;
            let mut top = Vec::with_capacity(top_n + 1);
            if top_n > 0 {
                // Falling shares of the listed alternatives' mass.
                shares.clear();
                let mut share = 1.0;
                for _ in 0..top_n {
                    shares.push(share);
                    share *= 0.2 + 0.6 * rng.unit();
                }
                let listed = (1.0 - chosen) * (0.6 + 0.35 * rng.unit()) / shares.iter().sum::<f64>();
                top.push((token, logprob));
                for s in &shares {
                    let alt = loop {
                        let alt = table.any(rng.below(table.pieces.len() as u64) as usize);
                        if !top.iter().any(|(t, _)| *t == alt) {
                            break alt;
                        }
                    };
                    top.push((alt, (s * listed).ln() as f32));
                }
                top.sort_by(|a, b| b.1.total_cmp(&a.1));
                top.truncate(top_n);
            }
            TokenLogprob { token, logprob, top }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mass(top: &[(&str, f32)]) -> f64 {
        top.iter().map(|t| f64::from(t.1).exp()).sum()
    }

    #[test]
    fn alternatives_are_a_sorted_distinct_distribution_head() {
        let pieces: Vec<&str> = vocab::table().pieces.iter().take(400).map(String::as_str).collect();
        for top_n in [1, 3, 5, 20] {
            let lps = for_tokens(&mut Rng::new(26), &pieces, top_n);
            for lp in &lps {
                assert!(lp.logprob < 0.0 && lp.logprob.is_finite());
                assert_eq!(lp.top.len(), top_n);
                assert!(lp.top.windows(2).all(|w| w[0].1 >= w[1].1), "not sorted: {:?}", lp.top);
                assert!(lp.top.iter().all(|t| t.1.is_finite() && t.1 < 0.0));
                assert!(mass(&lp.top) <= 1.0, "mass {} of {:?}", mass(&lp.top), lp.top);
                let mut names: Vec<_> = lp.top.iter().map(|t| t.0).collect();
                names.sort_unstable();
                names.dedup();
                assert_eq!(names.len(), top_n);
                if let Some(own) = lp.top.iter().find(|t| t.0 == lp.token) {
                    assert_eq!(own.1, lp.logprob);
                }
            }
        }
        assert!(for_tokens(&mut Rng::new(9), &["a"], 0)[0].top.is_empty());
    }

    #[test]
    fn a_likely_chosen_token_leads_and_takes_most_of_the_mass() {
        let lps = for_tokens(&mut Rng::new(3), &["x"; 2000], 5);
        let leading = lps.iter().filter(|lp| lp.top[0].0 == lp.token).count();
        assert!(leading > 1400, "{leading} of 2000 lead");
        for lp in lps.iter().filter(|lp| lp.logprob > -0.01) {
            assert_eq!(lp.top[0], (lp.token, lp.logprob));
            assert!(mass(&lp.top[1..]) < 0.01);
        }
    }
}
