//! `count_tokens(...)` and `generate_text(...)`: fakeai's tokenizer ([`crate::text::tokens`]) and its
//! seeded prose ([`crate::text::prose`]) for direct use; `json_shape(...)`, the depth and weight check
//! every JSON body passes before it is decoded ([`crate::text::json_scan`]).

use crate::rng::Rng;
use crate::text::json_scan::Shape;
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

/// What one scan of the JSON document `data` finds ([`crate::text::json_scan`]): `"fits"`,
/// `"too_deep"` (more than `depth` nested arrays or objects) or `"too_heavy"` (weighing more than
/// `heaviest`).
#[pyfunction]
pub(crate) fn json_shape(data: &[u8], depth: usize, heaviest: u64) -> &'static str {
    match crate::text::json_scan::scan(data, depth, heaviest) {
        Shape::Fits => "fits",
        Shape::TooDeep => "too_deep",
        Shape::TooHeavy => "too_heavy",
    }
}
