//! The prefix (KV) cache of one simulated worker: a radix tree over chained block hashes with a
//! capacity in blocks and least-recently-used eviction.
//!
//! As in AI-Dynamo's KV indexer, each node is one KV block and its children are keyed by their
//! block hash (see [`super::block_hash`]); a prompt's cached prefix is the path matched from the root.
//! Every request that walks a path touches each node on it with the same tick, so a parent is never
//! older than its children. Ordering the LRU set by `(tick, deeper first)` therefore always yields a
//! leaf first: eviction trims branches from their tips and never orphans a cached suffix.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// Block hashes are already uniformly distributed: hash maps keyed by them need no further hashing.
#[derive(Default)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Children = HashMap<u64, usize, BuildHasherDefault<PassThrough>>;

const ROOT: usize = 0;

struct Node {
    hash: u64,
    parent: usize,
    depth: u32,
    tick: u64,
    children: Children,
}

/// Outcome of [`RadixTree::insert`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inserted {
    /// Leading blocks that were already cached.
    pub matched: usize,
    /// Blocks added to the tree.
    pub added: usize,
    /// Blocks evicted to make room.
    pub evicted: usize,
}

pub struct RadixTree {
    nodes: Vec<Node>,
    free: Vec<usize>,
    /// Every cached block as `(last use, deeper first, node)`: the first entry is the LRU leaf.
    lru: BTreeSet<(u64, Reverse<u32>, usize)>,
    capacity: usize,
    tick: u64,
}

impl RadixTree {
    /// An empty tree holding at most `capacity` blocks (0 disables caching).
    pub fn new(capacity: usize) -> Self {
        let root = Node { hash: 0, parent: ROOT, depth: 0, tick: 0, children: Children::default() };
        Self { nodes: vec![root], free: Vec::new(), lru: BTreeSet::new(), capacity, tick: 0 }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Blocks currently cached.
    pub fn len(&self) -> usize {
        self.lru.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lru.is_empty()
    }

    /// Number of leading `hashes` cached, without touching anything.
    pub fn matched(&self, hashes: &[u64]) -> usize {
        let mut node = ROOT;
        for (i, h) in hashes.iter().enumerate() {
            match self.nodes[node].children.get(h) {
                Some(&child) => node = child,
                None => return i,
            }
        }
        hashes.len()
    }

    /// Cache the prefix `hashes`: touch the blocks already cached, add the rest (at most `capacity`
    /// blocks of the prompt), evicting least-recently-used blocks to make room.
    pub fn insert(&mut self, hashes: &[u64]) -> Inserted {
        self.insert_reporting(hashes, None)
    }

    /// [`RadixTree::insert`], also appending the hash of every evicted block to `evicted` (for KV
    /// events). The blocks added are always `hashes[matched..matched + added]`: once a block is new,
    /// so are the blocks after it.
    pub fn insert_reporting(&mut self, hashes: &[u64], mut evicted: Option<&mut Vec<u64>>) -> Inserted {
        self.tick += 1;
        let mut out = Inserted::default();
        let mut node = ROOT;
        for &h in hashes.iter().take(self.capacity) {
            if let Some(&child) = self.nodes[node].children.get(&h) {
                self.touch(child);
                out.matched += 1;
                node = child;
                continue;
            }
            if self.lru.len() >= self.capacity {
                // Everything on this request's path carries the newest tick, so the LRU leaf is elsewhere.
                if let (Some(hash), Some(log)) = (self.evict_one(), evicted.as_deref_mut()) {
                    log.push(hash);
                }
                out.evicted += 1;
            }
            node = self.add_child(node, h);
            out.added += 1;
        }
        out
    }

    fn touch(&mut self, id: usize) {
        let n = &mut self.nodes[id];
        self.lru.remove(&(n.tick, Reverse(n.depth), id));
        n.tick = self.tick;
        self.lru.insert((n.tick, Reverse(n.depth), id));
    }

    fn add_child(&mut self, parent: usize, hash: u64) -> usize {
        let node = Node {
            hash,
            parent,
            depth: self.nodes[parent].depth + 1,
            tick: self.tick,
            children: Children::default(),
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.nodes[id] = node;
                id
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        };
        self.nodes[parent].children.insert(hash, id);
        self.lru.insert((self.tick, Reverse(self.nodes[id].depth), id));
        id
    }

    fn evict_one(&mut self) -> Option<u64> {
        let (_, _, id) = self.lru.pop_first()?;
        debug_assert!(self.nodes[id].children.is_empty(), "LRU order yields leaves");
        let (parent, hash) = (self.nodes[id].parent, self.nodes[id].hash);
        self.nodes[parent].children.remove(&hash);
        self.nodes[id].children = Children::default();
        self.free.push(id);
        Some(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(range: std::ops::Range<u64>) -> Vec<u64> {
        range.collect()
    }

    #[test]
    fn insert_then_match_whole_and_partial() {
        let mut t = RadixTree::new(100);
        assert_eq!(t.matched(&seq(0..10)), 0);
        assert_eq!(t.insert(&seq(0..10)), Inserted { matched: 0, added: 10, evicted: 0 });
        assert_eq!(t.matched(&seq(0..10)), 10);
        assert_eq!(t.matched(&seq(0..4)), 4);
        // A prompt that shares the first 6 blocks and then diverges.
        let other: Vec<u64> = (0..6).chain(50..54).collect();
        assert_eq!(t.matched(&other), 6);
        assert_eq!(t.insert(&other), Inserted { matched: 6, added: 4, evicted: 0 });
        assert_eq!(t.len(), 14);
        assert_eq!(t.matched(&[99]), 0);
    }

    #[test]
    fn capacity_is_never_exceeded() {
        let mut t = RadixTree::new(8);
        for k in 0..20u64 {
            t.insert(&seq(k * 100..k * 100 + 5));
            assert!(t.len() <= 8);
        }
        // A prompt longer than the cache caches its first `capacity` blocks.
        let mut t = RadixTree::new(4);
        assert_eq!(t.insert(&seq(0..10)).added, 4);
        assert_eq!(t.matched(&seq(0..10)), 4);
    }

    #[test]
    fn eviction_takes_least_recently_used_leaves_first() {
        let mut t = RadixTree::new(6);
        t.insert(&seq(0..3)); // A
        t.insert(&seq(10..13)); // B
        t.insert(&seq(0..3)); // use A again: B is now the oldest
        let r = t.insert(&seq(20..22)); // needs 2 blocks
        assert_eq!(r.evicted, 2);
        assert_eq!(t.matched(&seq(0..3)), 3, "recently used prefix kept");
        assert_eq!(t.matched(&seq(10..13)), 1, "B lost its tip first, its root block stays");
        assert_eq!(t.matched(&seq(20..22)), 2);
    }

    #[test]
    fn shared_prefix_outlives_its_branches() {
        let mut t = RadixTree::new(5);
        let a: Vec<u64> = vec![1, 2, 3];
        let b: Vec<u64> = vec![1, 2, 4];
        t.insert(&a);
        t.insert(&b);
        assert_eq!(t.len(), 4);
        t.insert(&[7, 8]); // evicts one block: the oldest leaf, 3
        assert_eq!(t.matched(&a), 2);
        assert_eq!(t.matched(&b), 3);
    }

    #[test]
    fn evicted_hashes_are_reported_leaf_first() {
        let mut t = RadixTree::new(4);
        t.insert(&seq(0..3));
        let mut evicted = Vec::new();
        let r = t.insert_reporting(&seq(10..12), Some(&mut evicted));
        assert_eq!((r.added, r.evicted), (2, 1));
        assert_eq!(evicted, [2], "the tip of the older branch goes first");
        t.insert_reporting(&seq(20..23), Some(&mut evicted));
        assert_eq!(evicted.len(), 4);
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn zero_capacity_caches_nothing() {
        let mut t = RadixTree::new(0);
        assert_eq!(t.insert(&seq(0..5)), Inserted::default());
        assert_eq!(t.matched(&seq(0..5)), 0);
        assert!(t.is_empty());
    }
}
