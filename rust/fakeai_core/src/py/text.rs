//! `count_tokens(...)` and `generate_text(...)`: fakeai's tokenizer ([`crate::text::tokens`]) and its
//! seeded prose ([`crate::text::prose`]) for direct use.

use crate::rng::Rng;
use pyo3::prelude::*;

/// Number of tokens fakeai's tokenizer gives `text`.
#[pyfunction]
pub(crate) fn count_tokens(py: Python<'_>, text: &str) -> usize {
    if text.len() > 1 << 16 {
        py.detach(|| crate::text::tokens::count(text))
    } else {
        crate::text::tokens::count(text)
    }
}

/// `n` tokens of fakeai's generated prose for `seed` (the same seed gives the same text).
#[pyfunction]
pub(crate) fn generate_text(n: usize, seed: u64) -> String {
    crate::text::prose::generate(&mut Rng::new(seed), n).concat()
}
