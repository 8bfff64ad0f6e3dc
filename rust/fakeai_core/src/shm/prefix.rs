//! One prefix (KV) cache per replica of the engine model, in a memory-mapped file every worker process
//! opens, so that which replica a request goes to and how much of its prompt is found cached are the
//! same whichever worker answers.
//!
//! As vLLM's automatic prefix caching does, a replica's cache is the set of the chained hashes
//! ([`crate::simulation::block_hash`]) of the full `block_size`-token blocks its requests computed; a
//! prompt hits on the longest run of its leading blocks found there. Its capacity is the replica's KV
//! blocks (the deployment's `kv_blocks`, at most [`MAX_BLOCKS`] over all replicas), and the least
//! recently used block goes first. To keep every probe bounded the set is *set-associative*: a block
//! hash names one set of [`WAYS`] entries, and a new block evicts the least recently used entry of its
//! set (LRU within the set, which approximates global LRU when hashes spread evenly). Blocks stored
//! by one request are stamped so that its later blocks are older than its earlier ones: under
//! pressure a prompt's tail is evicted before its head, as in vLLM.
//!
//! ```text
//! Header (lock, fingerprint, router rotation, LRU clock) | Stats [replicas] | sets [replicas x sets]
//! set: hashes [WAYS] (0 = empty) | last-use stamps [WAYS]
//! ```
//!
//! Every operation takes the header's spinlock ([`super::lock`]): a lookup costs at most one set probe
//! per replica per leading block that hits, plus one.

use super::lock::{self, Guard};
use super::region::Region;
use crate::simulation::router::{self, Candidate, Weights};
use std::fs::OpenOptions;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use xxhash_rust::xxh3::xxh3_64;

const MAGIC: u64 = 0x4641_4B45_5052_4601; // "FAKEPRF" v1
/// Entries per set: one probe reads them all (two cache lines).
pub const WAYS: usize = 8;
/// Most blocks the caches of one file hold in all (16 bytes each: 256 MiB, sparse until touched).
pub const MAX_BLOCKS: u64 = 1 << 24;

#[repr(C)]
struct Header {
    magic: AtomicU64,
    lock: AtomicU32,
    _pad: u32,
    locked_at: AtomicU64,
    layout: u64,
    /// Where the router's tie-break starts (a server-wide counter).
    rotation: u64,
    /// The LRU clock: stamps grow with every stored or touched block.
    clock: u64,
}

/// One replica's prefix-cache figures since the server started (tokens, as vLLM counts them).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub requests: u64,
    /// Requests that found at least one block cached.
    pub hit_requests: u64,
    /// Prompt tokens looked up.
    pub query_tokens: u64,
    /// Prompt tokens found cached.
    pub hit_tokens: u64,
    /// Blocks held now.
    pub blocks_used: u64,
    pub evicted_blocks: u64,
}

#[repr(C)]
struct Set {
    hashes: [u64; WAYS],
    stamps: [u64; WAYS],
}

/// Where a request goes and what it finds there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Routed {
    pub replica: usize,
    /// Prompt tokens found cached on that replica (whole blocks, never the prompt's last token).
    pub cached_tokens: u32,
    /// Leading blocks found cached (the blocks after them were stored by this request).
    pub matched_blocks: usize,
    pub evicted_blocks: u64,
}

/// What the router needs of a replica besides its cache: the engine's load on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Load {
    /// Requests running or waiting.
    pub requests: u32,
    /// KV blocks its sequences hold.
    pub blocks: u32,
}

pub struct PrefixCache {
    map: Region,
    replicas: usize,
    sets: usize,
    block_size: usize,
    weights: Weights,
}

fn align64(n: usize) -> usize {
    n.div_ceil(64) * 64
}

impl PrefixCache {
    /// Open (creating when new) the caches in `path`: `replicas` caches of `blocks` blocks of
    /// `block_size` tokens each; the router weighs overlap against load with `weights` (see
    /// [`crate::simulation::router`]). Every process must pass the same sizes.
    pub fn open(
        path: &Path,
        replicas: u32,
        blocks: u32,
        block_size: u32,
        weights: Weights,
    ) -> io::Result<PrefixCache> {
        let replicas = replicas.clamp(1, 256) as usize;
        let per_replica = u64::from(blocks).min(MAX_BLOCKS / replicas as u64).max(WAYS as u64);
        let sets = per_replica.div_ceil(WAYS as u64) as usize;
        let size = Self::sets_at(replicas) + replicas * sets * size_of::<Set>();
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        if file.metadata()?.len() < size as u64 {
            file.set_len(size as u64)?;
        }
        let map = Region::map(&file)?;
        let cache = PrefixCache { map, replicas, sets, block_size: block_size.max(1) as usize, weights };
        let fingerprint = xxh3_64(format!("{replicas}|{sets}|{block_size}").as_bytes());
        let h = cache.header();
        let _guard = lock::acquire(&h.lock, &h.locked_at);
        match h.magic.load(Ordering::Acquire) {
            // A new file is all zeros: empty sets, zero counters.
            0 => {
                h.layout = fingerprint;
                h.magic.store(MAGIC, Ordering::Release);
            }
            MAGIC if h.layout == fingerprint => {}
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "prefix-cache file holds another layout",
                ))
            }
        }
        drop(_guard);
        Ok(cache)
    }

    /// Blocks each replica's cache holds.
    pub fn capacity(&self) -> u64 {
        (self.sets * WAYS) as u64
    }

    pub fn block_size(&self) -> usize {
        self.block_size
    }

    fn sets_at(replicas: usize) -> usize {
        align64(size_of::<Header>()) + align64(replicas * size_of::<Stats>())
    }

    #[allow(clippy::mut_from_ref)]
    fn at<T>(&self, offset: usize) -> &mut T {
        self.map.at(offset)
    }

    #[allow(clippy::mut_from_ref)]
    fn header(&self) -> &mut Header {
        self.at(0)
    }

    #[allow(clippy::mut_from_ref)]
    fn stats_of(&self, r: usize) -> &mut Stats {
        self.at(align64(size_of::<Header>()) + r * size_of::<Stats>())
    }

    #[allow(clippy::mut_from_ref)]
    fn set(&self, r: usize, hash: u64) -> &mut Set {
        let index = r * self.sets + (hash % self.sets as u64) as usize;
        self.at(Self::sets_at(self.replicas) + index * size_of::<Set>())
    }

    fn lock(&self) -> Guard<'_> {
        let h = self.header();
        lock::acquire(&h.lock, &h.locked_at)
    }

    /// Leading blocks of `hashes` held by replica `r` (lock held).
    fn matched(&self, r: usize, hashes: &[u64]) -> usize {
        hashes.iter().take_while(|&&h| self.set(r, key(h)).hashes.contains(&key(h))).count()
    }

    /// Store (or refresh) `hashes` in replica `r`'s cache, the earlier blocks the more recent;
    /// returns the blocks evicted, whose hashes go to `evicted` when given (lock held).
    fn insert(&self, r: usize, hashes: &[u64], mut evicted_hashes: Option<&mut Vec<u64>>) -> u64 {
        let h = self.header();
        let base = h.clock;
        h.clock += hashes.len() as u64;
        let stats = self.stats_of(r);
        let mut evicted = 0;
        for (i, &hash) in hashes.iter().enumerate() {
            let (k, stamp) = (key(hash), base + (hashes.len() - i) as u64);
            let set = self.set(r, k);
            let way = match set.hashes.iter().position(|&x| x == k) {
                Some(way) => way,
                None => {
                    // The least recently used way (an empty one has stamp 0).
                    let way = (0..WAYS).min_by_key(|&w| set.stamps[w]).unwrap_or(0);
                    if set.hashes[way] == 0 {
                        stats.blocks_used += 1;
                    } else {
                        evicted += 1;
                        if let Some(out) = evicted_hashes.as_deref_mut() {
                            out.push(set.hashes[way]);
                        }
                    }
                    set.hashes[way] = k;
                    way
                }
            };
            set.stamps[way] = stamp;
        }
        stats.evicted_blocks += evicted;
        evicted
    }

    /// Route a prompt of `tokens` tokens whose full blocks hash to `hashes`, given the engine's load
    /// on each replica (`loads`, one per replica): the replica whose cost (blocks to prefill, weighed
    /// by `overlap`, plus the blocks its sequences hold, weighed by `load`) is least, as AI-Dynamo's KV
    /// router does. The prompt's blocks are then stored in that replica's cache and the lookup counted;
    /// the hashes of the blocks that evicts go to `evicted` when given (for KV events).
    pub fn route(
        &self,
        hashes: &[u64],
        tokens: usize,
        loads: &[Load],
        evicted: Option<&mut Vec<u64>>,
    ) -> Routed {
        // A full hit still computes the last token (vLLM), and a prompt longer than the cache cannot
        // be held whole.
        let limit = self.capacity() as usize;
        let lookup = &hashes[..hashes.len().min(tokens.saturating_sub(1) / self.block_size).min(limit)];
        let blocks = tokens.div_ceil(self.block_size).max(1);
        let _guard = self.lock();
        let n = self.replicas;
        let mut matched = vec![0; n];
        let candidates: Vec<Candidate> = (0..n)
            .map(|r| {
                matched[r] = self.matched(r, lookup);
                let load = loads.get(r).copied().unwrap_or_default();
                Candidate {
                    new_blocks: blocks - matched[r],
                    active_blocks: load.blocks as usize,
                    inflight: load.requests as usize,
                }
            })
            .collect();
        let h = self.header();
        let replica = router::choose(&candidates, self.weights, h.rotation as usize);
        h.rotation = h.rotation.wrapping_add(1);
        let evicted = self.insert(replica, &hashes[..hashes.len().min(limit)], evicted);
        let cached = (matched[replica] * self.block_size).min(tokens) as u32;
        let s = self.stats_of(replica);
        s.requests += 1;
        s.hit_requests += u64::from(cached > 0);
        s.query_tokens += tokens as u64;
        s.hit_tokens += u64::from(cached);
        Routed { replica, cached_tokens: cached, matched_blocks: matched[replica], evicted_blocks: evicted }
    }

    /// Each replica's figures.
    pub fn stats(&self) -> Vec<Stats> {
        let _guard = self.lock();
        (0..self.replicas).map(|r| *self.stats_of(r)).collect()
    }
}

/// 0 marks an empty way: a hash of 0 is stored as 1.
fn key(hash: u64) -> u64 {
    hash.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulation::block_hash::block_hashes;

    fn file(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("fakeai-prefix-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        path
    }

    fn prompt(seed: u32, len: u32) -> Vec<u32> {
        (0..len).map(|i| seed.wrapping_mul(7919).wrapping_add(i)).collect()
    }

    fn open(name: &str, replicas: u32, blocks: u32) -> PrefixCache {
        PrefixCache::open(&file(name), replicas, blocks, 16, Weights::default()).unwrap()
    }

    #[test]
    fn a_repeated_prompt_hits_its_whole_blocks_but_the_last_token() {
        let c = open("hits", 1, 1024);
        let p = prompt(1, 100);
        let h = block_hashes(&p, 16);
        assert_eq!(c.route(&h, 100, &[Load::default()], None).cached_tokens, 0);
        assert_eq!(c.route(&h, 100, &[Load::default()], None).cached_tokens, 96);
        // Exactly six blocks long: the last block is recomputed for the last token.
        let exact = &p[..96];
        assert_eq!(c.route(&block_hashes(exact, 16), 96, &[Load::default()], None).cached_tokens, 80);
        // A prompt that shares the first three blocks.
        let mut q = p.clone();
        q[50] = 1;
        assert_eq!(c.route(&block_hashes(&q, 16), 100, &[Load::default()], None).cached_tokens, 48);
        let s = c.stats()[0];
        assert_eq!((s.requests, s.hit_requests, s.query_tokens, s.hit_tokens), (4, 3, 396, 224));
        assert_eq!(s.blocks_used, 6 + 3, "the other prompt's last three blocks are new");
    }

    #[test]
    fn the_least_recently_used_blocks_are_evicted_and_the_capacity_holds() {
        let c = open("evict", 1, 64);
        assert_eq!(c.capacity(), 64);
        let one = [Load::default()];
        let old = block_hashes(&prompt(1, 16 * 16 + 1), 16);
        c.route(&old, 16 * 16 + 1, &one, None);
        // Many other prompts: the cache stays at its capacity and `old` is pushed out.
        for k in 2..40 {
            c.route(&block_hashes(&prompt(k, 16 * 8 + 1), 16), 16 * 8 + 1, &one, None);
            assert!(c.stats()[0].blocks_used <= 64);
        }
        let s = c.stats()[0];
        assert_eq!(s.blocks_used + s.evicted_blocks, 16 + 38 * 8);
        assert!(s.blocks_used > 48, "sets fill before they evict: {}", s.blocks_used);
        // The most recent prompt is still there, the first is not.
        let recent = block_hashes(&prompt(39, 16 * 8 + 1), 16);
        assert_eq!(c.route(&recent, 16 * 8 + 1, &one, None).cached_tokens, 128);
        assert_eq!(c.route(&old, 16 * 16 + 1, &one, None).cached_tokens, 0);
    }

    #[test]
    fn under_pressure_a_prompts_tail_goes_before_its_head() {
        // One set: eight blocks in all.
        let c = open("tail", 1, 8);
        let one = [Load::default()];
        let a = block_hashes(&prompt(1, 6 * 16 + 1), 16);
        c.route(&a, 6 * 16 + 1, &one, None);
        let mut evicted = Vec::new();
        let b = c.route(&block_hashes(&prompt(2, 4 * 16 + 1), 16), 4 * 16 + 1, &one, Some(&mut evicted));
        assert_eq!((b.evicted_blocks, b.matched_blocks), (2, 0));
        // Two of a's blocks went, its last two: its first four still hit.
        assert_eq!(evicted, [a[5], a[4]]);
        assert_eq!(c.route(&a, 6 * 16 + 1, &one, None).cached_tokens, 64);
    }

    #[test]
    fn the_router_prefers_the_replica_holding_the_prefix_unless_it_is_busy() {
        let c = open("route", 3, 1024);
        let idle = [Load::default(); 3];
        let h = block_hashes(&prompt(5, 400), 16);
        let first = c.route(&h, 400, &idle, None);
        let again = c.route(&h, 400, &idle, None);
        assert_eq!((again.replica, again.cached_tokens), (first.replica, 384));
        // The replica that holds it is now full of other work: another one is cheaper.
        let mut busy = idle;
        busy[first.replica] = Load { requests: 50, blocks: 5000 };
        let moved = c.route(&h, 400, &busy, None);
        assert_ne!(moved.replica, first.replica);
        assert_eq!(moved.cached_tokens, 0);
        // Cold prompts spread over idle replicas.
        let spread: std::collections::HashSet<usize> =
            (10..13).map(|k| c.route(&block_hashes(&prompt(k, 64), 16), 64, &idle, None).replica).collect();
        assert_eq!(spread.len(), 3);
    }

    #[test]
    fn two_handles_share_one_cache_and_another_layout_is_refused() {
        let path = file("two");
        let a = PrefixCache::open(&path, 2, 512, 16, Weights::default()).unwrap();
        let b = PrefixCache::open(&path, 2, 512, 16, Weights::default()).unwrap();
        let h = block_hashes(&prompt(3, 200), 16);
        let idle = [Load::default(); 2];
        let first = a.route(&h, 200, &idle, None);
        let second = b.route(&h, 200, &idle, None);
        assert_eq!((second.replica, second.cached_tokens), (first.replica, 192));
        assert_eq!(a.stats(), b.stats());
        assert!(PrefixCache::open(&path, 2, 1024, 16, Weights::default()).is_err());
    }

    #[test]
    fn a_dead_lock_holder_does_not_wedge_the_cache() {
        let c = open("dead", 1, 64);
        c.header().lock.store(u32::MAX - 1, Ordering::Release);
        c.header().locked_at.store(super::super::ratelimit::now_ns(), Ordering::Release);
        let h = block_hashes(&prompt(1, 40), 16);
        assert_eq!(c.route(&h, 40, &[Load::default()], None).replica, 0);
        assert_eq!(c.header().lock.load(Ordering::Acquire), 0);
    }

    #[test]
    fn the_file_is_bounded_however_many_blocks_are_asked() {
        let c = open("bounded", 256, u32::MAX);
        assert_eq!(c.capacity(), MAX_BLOCKS / 256);
    }
}
