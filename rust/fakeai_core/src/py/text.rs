//! `count_tokens(...)` and `generate_text(...)`: fakeai's tokenizer ([`crate::text::tokens`]) and its
//! seeded prose ([`crate::text::prose`]) for direct use; `json_deeper_than(...)`, the nesting check
//! every JSON body passes before it is decoded ([`crate::text::json_depth`]).

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

/// Whether the JSON document `data` nests more than `limit` arrays or objects anywhere.
#[pyfunction]
pub(crate) fn json_deeper_than(data: &[u8], limit: usize) -> bool {
    crate::text::json_depth::deeper_than(data, limit)
}
