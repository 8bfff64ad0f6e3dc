//! Prompt token ids -> chained block hashes, the keys of the prefix (KV) cache.
//!
//! A prompt is cut into blocks of `block_size` tokens (vLLM's and AI-Dynamo's KV block); only full
//! blocks are cacheable. Each block's hash covers its tokens *and* its parent's hash, so a block hash
//! names the whole prefix ending at that block: two prompts share block `k` exactly when they share
//! their first `(k + 1) * block_size` tokens.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Seed of the first block's parent hash.
const ROOT_SEED: u64 = 0x6b76_6361_6368_6531; // "kvcache1"

/// The chained hashes of the full `block_size`-token blocks of `tokens`.
pub fn block_hashes(tokens: &[u32], block_size: usize) -> Vec<u64> {
    if block_size == 0 {
        return Vec::new();
    }
    let mut bytes = Vec::with_capacity(block_size * 4);
    let mut parent = ROOT_SEED;
    tokens
        .chunks_exact(block_size)
        .map(|block| {
            bytes.clear();
            bytes.extend(block.iter().flat_map(|t| t.to_le_bytes()));
            parent = xxh3_64_with_seed(&bytes, parent);
            parent
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_full_blocks_are_hashed() {
        let t: Vec<u32> = (0..40).collect();
        assert_eq!(block_hashes(&t, 16).len(), 2);
        assert!(block_hashes(&t[..15], 16).is_empty());
        assert!(block_hashes(&t, 0).is_empty());
    }

    #[test]
    fn hashes_are_chained_on_the_prefix() {
        let a: Vec<u32> = (0..48).collect();
        let mut b = a.clone();
        b[20] = 999; // differs in the second block
        let (ha, hb) = (block_hashes(&a, 16), block_hashes(&b, 16));
        assert_eq!(ha[0], hb[0]);
        assert_ne!(ha[1], hb[1]);
        assert_ne!(ha[2], hb[2], "a later block differs once any earlier block does");
        // The same block content under a different parent hashes differently.
        let shifted: Vec<u32> = a[16..32].iter().chain(&a[16..32]).copied().collect();
        let hs = block_hashes(&shifted, 16);
        assert_ne!(hs[0], hs[1]);
    }
}
