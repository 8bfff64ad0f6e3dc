//! Reasoning models: how long they think before answering.
//!
//! The reasoning length is uniform in a range set by `reasoning_effort` (default `medium`, but `none`
//! for GPT-5.1 and later, as OpenAI's; `none` thinks not at all and so leaves no reasoning in the reply); the
//! reasoning tokens come before the answer, are reported as `reasoning_content` and in
//! `completion_tokens_details.reasoning_tokens`, and count towards `completion_tokens` and the
//! `max_completion_tokens` budget, as OpenAI's reasoning models do: a budget spent on reasoning
//! leaves an empty answer with `finish_reason: "length"`.
//!
//! Anthropic's extended thinking is the same machinery: with `budget_tokens` the thinking is uniform
//! between a quarter of the budget and the whole of it ([`budgeted`]: Claude need not spend all of
//! its budget); adaptive thinking takes the effort's range. Either comes out of `max_tokens` first.

use crate::invalid::Invalid;
use crate::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effort {
    /// `none`: no reasoning at all.
    Off,
    Minimal,
    Low,
    Medium,
    High,
    XHigh,
    Max,
}

impl Effort {
    pub fn parse(effort: Option<&str>) -> Result<Effort, Invalid> {
        Ok(match effort {
            None | Some("medium") => Effort::Medium,
            Some("minimal") => Effort::Minimal,
            Some("low") => Effort::Low,
            Some("high") => Effort::High,
            Some("none") => Effort::Off,
            Some("xhigh") => Effort::XHigh,
            Some("max") => Effort::Max,
            Some(other) => {
                return Err(Invalid::new(
                    "reasoning_effort",
                    format!(
                    "Invalid value: '{other}'. Supported values are: 'none', 'minimal', 'low', 'medium', 'high', 'xhigh' and 'max'."
                ),
                ))
            }
        })
    }

    /// Range of reasoning tokens for this effort.
    pub fn range(self) -> (u32, u32) {
        match self {
            Effort::Off => (0, 0),
            Effort::Minimal => (8, 32),
            Effort::Low => (32, 128),
            Effort::Medium => (128, 512),
            Effort::High => (512, 2048),
            Effort::XHigh => (2048, 8192),
            Effort::Max => (8192, 32768),
        }
    }

    /// Reasoning tokens for one reply, never more than `budget`.
    pub fn length(self, rng: &mut Rng, budget: Option<u32>) -> u32 {
        let (lo, hi) = self.range();
        if hi == 0 {
            return 0;
        }
        let n = rng.range(u64::from(lo), u64::from(hi)) as u32;
        budget.map_or(n, |b| n.min(b))
    }
}

/// Thinking tokens for one reply with a thinking budget of `budget` tokens (Anthropic's
/// `budget_tokens`): uniform in `[budget / 4, budget]`, at least 1.
pub fn budgeted(rng: &mut Rng, budget: u32) -> u32 {
    let budget = u64::from(budget.max(1));
    rng.range((budget / 4).max(1), budget) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effort_scales_length_and_budget_caps_it() {
        let mean = |e: Effort| (0..200).map(|i| e.length(&mut Rng::new(i), None)).sum::<u32>() / 200;
        let order = [
            Effort::Off,
            Effort::Minimal,
            Effort::Low,
            Effort::Medium,
            Effort::High,
            Effort::XHigh,
            Effort::Max,
        ];
        assert!(order.windows(2).all(|w| mean(w[0]) < mean(w[1])), "{:?}", order.map(mean));
        assert!((0..50).all(|i| Effort::Off.length(&mut Rng::new(i), None) == 0));
        for (name, effort) in [("none", Effort::Off), ("xhigh", Effort::XHigh), ("max", Effort::Max)] {
            assert_eq!(Effort::parse(Some(name)).unwrap(), effort);
        }
        assert!((0..50).all(|i| Effort::High.length(&mut Rng::new(i), Some(100)) <= 100));
        assert_eq!(Effort::parse(None).unwrap(), Effort::Medium);
        assert_eq!(Effort::parse(Some("extreme")).unwrap_err().param, "reasoning_effort");
    }

    #[test]
    fn a_thinking_budget_bounds_the_thinking() {
        let lengths: Vec<u32> = (0..500).map(|i| budgeted(&mut Rng::new(i), 2048)).collect();
        assert!(lengths.iter().all(|&n| (512..=2048).contains(&n)));
        let mean = lengths.iter().sum::<u32>() / 500;
        assert!((1100..1460).contains(&mean), "{mean}");
        assert_eq!(budgeted(&mut Rng::new(1), 1), 1);
        assert_eq!(budgeted(&mut Rng::new(1), 0), 1);
    }
}
