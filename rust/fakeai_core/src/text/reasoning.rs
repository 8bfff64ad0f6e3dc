//! Reasoning models: how long they think before answering.
//!
//! The reasoning length is uniform in a range set by `reasoning_effort` (default `medium`); the
//! reasoning tokens come before the answer, are reported as `reasoning_content` and in
//! `completion_tokens_details.reasoning_tokens`, and count towards `completion_tokens` and the
//! `max_completion_tokens` budget, as OpenAI's reasoning models do: a budget spent on reasoning
//! leaves an empty answer with `finish_reason: "length"`.

use crate::invalid::Invalid;
use crate::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effort {
    Minimal,
    Low,
    Medium,
    High,
}

impl Effort {
    pub fn parse(effort: Option<&str>) -> Result<Effort, Invalid> {
        Ok(match effort {
            None | Some("medium") => Effort::Medium,
            Some("minimal") => Effort::Minimal,
            Some("low") => Effort::Low,
            Some("high") => Effort::High,
            Some(other) => {
                return Err(Invalid::new(
                    "reasoning_effort",
                    format!(
                    "Invalid value: '{other}'. Supported values are: 'minimal', 'low', 'medium' and 'high'."
                ),
                ))
            }
        })
    }

    /// Range of reasoning tokens for this effort.
    pub fn range(self) -> (u32, u32) {
        match self {
            Effort::Minimal => (8, 32),
            Effort::Low => (32, 128),
            Effort::Medium => (128, 512),
            Effort::High => (512, 2048),
        }
    }

    /// Reasoning tokens for one reply, never more than `budget`.
    pub fn length(self, rng: &mut Rng, budget: Option<u32>) -> u32 {
        let (lo, hi) = self.range();
        let n = rng.range(u64::from(lo), u64::from(hi)) as u32;
        budget.map_or(n, |b| n.min(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effort_scales_length_and_budget_caps_it() {
        let mean = |e: Effort| (0..200).map(|i| e.length(&mut Rng::new(i), None)).sum::<u32>() / 200;
        assert!(mean(Effort::Low) < mean(Effort::Medium) && mean(Effort::Medium) < mean(Effort::High));
        assert!((0..50).all(|i| Effort::High.length(&mut Rng::new(i), Some(100)) <= 100));
        assert_eq!(Effort::parse(None).unwrap(), Effort::Medium);
        assert_eq!(Effort::parse(Some("extreme")).unwrap_err().param, "reasoning_effort");
    }
}
