//! `PrefixCache` and `block_hashes`: one radix-tree prefix cache ([`crate::simulation::radix`]) and the
//! block hashes it is keyed by ([`crate::simulation::block_hash`]), for direct use without a `Cluster`.

use crate::simulation::block_hash;
use crate::simulation::radix::RadixTree;
use pyo3::prelude::*;

/// One radix-tree prefix cache ([`RadixTree`]) over block hashes.
#[pyclass(module = "fakeai._core")]
pub(crate) struct PrefixCache {
    tree: RadixTree,
}

#[pymethods]
impl PrefixCache {
    #[new]
    fn new(capacity: usize) -> Self {
        Self { tree: RadixTree::new(capacity) }
    }

    /// Leading `hashes` cached, without touching them.
    fn matched(&self, hashes: Vec<u64>) -> usize {
        self.tree.matched(&hashes)
    }

    /// Cache `hashes`; returns `(matched, added, evicted)` block counts.
    fn insert(&mut self, hashes: Vec<u64>) -> (usize, usize, usize) {
        let r = self.tree.insert(&hashes);
        (r.matched, r.added, r.evicted)
    }

    fn __len__(&self) -> usize {
        self.tree.len()
    }
}

/// The chained hashes of the full `block_size`-token blocks of `tokens`.
#[pyfunction]
#[pyo3(signature = (tokens, block_size=16))]
pub(crate) fn block_hashes(tokens: Vec<u32>, block_size: usize) -> Vec<u64> {
    block_hash::block_hashes(&tokens, block_size)
}
