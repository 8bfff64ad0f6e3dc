//! A table of named atomic counters in a shared-memory file, usable from every worker process.
//!
//! granian runs several worker processes; anything that must be counted once server-wide (metrics,
//! rate-limit buckets) lives here. The file is mapped `MAP_SHARED`, so an atomic operation by one
//! process is seen by all. The table is open-addressed and lock-free:
//!
//! ```text
//! header:  [magic, capacity, width]
//! entry i: [state, key_len, key bytes (KEY_WORDS words), data (width words)]
//! state:   0 = empty, (hash << 2) | 1 = being claimed, (hash << 2) | 2 = ready
//! ```
//!
//! A key is inserted by CAS-ing an empty entry's state to "claimed", writing the key, then publishing
//! "ready" with release ordering; readers that meet a claimed entry with their hash wait for it. Entries
//! are never removed, so a slot found once stays valid for the life of the file.

use memmap2::MmapMut;
use std::fs::OpenOptions;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use xxhash_rust::xxh3::xxh3_64;

const MAGIC: u64 = 0x4641_4B45_4149_0001; // "FAKEAI" v1
const HEADER_WORDS: usize = 3;
/// Longest key, in bytes (keys are e.g. `chat|200|meta-llama/Llama-3.1-8B-Instruct`).
pub const KEY_BYTES: usize = 248;
const KEY_WORDS: usize = KEY_BYTES / 8;
const ENTRY_META: usize = 2 + KEY_WORDS;

const EMPTY: u64 = 0;
const CLAIMED: u64 = 1;
const READY: u64 = 2;

pub struct Table {
    map: MmapMut,
    capacity: usize,
    width: usize,
}

/// An entry of a [`Table`], found once by [`Table::locate`]: valid for the life of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Located(usize);

#[derive(Debug, PartialEq, Eq)]
pub enum SlotError {
    KeyTooLong,
    Full,
}

impl Table {
    /// Bytes needed for `capacity` entries of `width` data words.
    pub fn size_for(capacity: usize, width: usize) -> usize {
        (HEADER_WORDS + capacity * (ENTRY_META + width)) * 8
    }

    /// Open the table in `path`, creating and sizing the file if it is new. Every process must pass
    /// the same `capacity` and `width`.
    pub fn open(path: &Path, capacity: usize, width: usize) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        let size = Self::size_for(capacity, width) as u64;
        if file.metadata()?.len() < size {
            file.set_len(size)?;
        }
        // SAFETY: the file is only ever accessed through atomics by fakeai processes; nothing
        // truncates it while mapped.
        #[allow(unsafe_code)]
        let map = unsafe { MmapMut::map_mut(&file)? };
        let table = Self { map, capacity, width };
        let header = table.words();
        match header[0].compare_exchange(0, MAGIC, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                header[1].store(capacity as u64, Ordering::Release);
                header[2].store(width as u64, Ordering::Release);
            }
            Err(MAGIC) => {
                let (cap, w) = (header[1].load(Ordering::Acquire), header[2].load(Ordering::Acquire));
                if (cap != 0 && cap != capacity as u64) || (w != 0 && w != width as u64) {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "shared table layout differs"));
                }
            }
            Err(_) => return Err(io::Error::new(io::ErrorKind::InvalidData, "not a fakeai shared table")),
        }
        Ok(table)
    }

    fn words(&self) -> &[AtomicU64] {
        let len = self.map.len() / 8;
        let ptr = self.map.as_ptr().cast::<AtomicU64>();
        // SAFETY: the mapping is page-aligned, `len` words long, and only used atomically.
        #[allow(unsafe_code)]
        unsafe {
            std::slice::from_raw_parts(ptr, len)
        }
    }

    fn entry(&self, i: usize) -> &[AtomicU64] {
        let stride = ENTRY_META + self.width;
        let start = HEADER_WORDS + i * stride;
        &self.words()[start..start + stride]
    }

    fn key_matches(entry: &[AtomicU64], key: &[u8]) -> bool {
        if entry[1].load(Ordering::Acquire) as usize != key.len() {
            return false;
        }
        key.chunks(8).enumerate().all(|(w, chunk)| {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            entry[2 + w].load(Ordering::Relaxed) == u64::from_le_bytes(word)
        })
    }

    fn key_of(entry: &[AtomicU64]) -> String {
        let len = (entry[1].load(Ordering::Acquire) as usize).min(KEY_BYTES);
        let bytes: Vec<u8> =
            entry[2..2 + KEY_WORDS].iter().flat_map(|w| w.load(Ordering::Relaxed).to_le_bytes()).collect();
        String::from_utf8_lossy(&bytes[..len]).into_owned()
    }

    /// The data words of `key`, inserting the key (with zeroed data) on first use.
    pub fn slot(&self, key: &str) -> Result<&[AtomicU64], SlotError> {
        Ok(self.at(self.locate(key)?))
    }

    /// The data words of `key` if it was ever inserted (a hash lookup; never inserts).
    pub fn get(&self, key: &str) -> Option<&[AtomicU64]> {
        self.probe(key, false).ok().flatten().map(|i| self.at(Located(i)))
    }

    /// Where `key`'s data words are, inserting the key on first use, as [`Table::slot`]: entries
    /// never move or go, so a caller that records into the same keys request after request looks
    /// each up once and reads it with [`Table::at`] from then on (no hash, no probe).
    pub fn locate(&self, key: &str) -> Result<Located, SlotError> {
        self.probe(key, true)?.map(Located).ok_or(SlotError::Full)
    }

    /// The data words at `at`, found by [`Table::locate`] on this table.
    pub fn at(&self, at: Located) -> &[AtomicU64] {
        &self.entry(at.0 % self.capacity)[ENTRY_META..]
    }

    /// Find `key`'s entry index by linear probing from its hash; with `insert`, claim the first
    /// empty entry met.
    fn probe(&self, key: &str, insert: bool) -> Result<Option<usize>, SlotError> {
        let key = key.as_bytes();
        if key.len() > KEY_BYTES {
            return Err(SlotError::KeyTooLong);
        }
        let tag = xxh3_64(key) >> 2 << 2;
        let start = (tag >> 2) as usize % self.capacity;
        for probe in 0..self.capacity {
            let index = (start + probe) % self.capacity;
            let entry = self.entry(index);
            loop {
                let state = entry[0].load(Ordering::Acquire);
                if state == EMPTY {
                    if !insert {
                        return Ok(None); // entries are never removed: the key is not further on
                    }
                    if entry[0]
                        .compare_exchange(EMPTY, tag | CLAIMED, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        for (w, chunk) in key.chunks(8).enumerate() {
                            let mut word = [0u8; 8];
                            word[..chunk.len()].copy_from_slice(chunk);
                            entry[2 + w].store(u64::from_le_bytes(word), Ordering::Relaxed);
                        }
                        entry[1].store(key.len() as u64, Ordering::Relaxed);
                        entry[0].store(tag | READY, Ordering::Release);
                        return Ok(Some(index));
                    }
                    continue; // lost the race: look at what the winner wrote
                }
                if state & !3 != tag {
                    break; // another key: probe on
                }
                if state & 3 == CLAIMED {
                    std::hint::spin_loop();
                    continue; // same hash being written: wait for it
                }
                if Self::key_matches(entry, key) {
                    return Ok(Some(index));
                }
                break;
            }
        }
        Ok(None)
    }

    /// Every ready entry, in table order.
    pub fn entries(&self) -> impl Iterator<Item = (String, &[AtomicU64])> + '_ {
        (0..self.capacity).filter_map(move |i| {
            let entry = self.entry(i);
            (entry[0].load(Ordering::Acquire) & 3 == READY)
                .then(|| (Self::key_of(entry), &entry[ENTRY_META..]))
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }
}

/// The slot of one fixed key of one table, looked up on first use and kept ([`Table::locate`]): a
/// hot path's counters cost an index each instead of a hash and a probe. One `Pinned` serves one
/// table; a failed lookup (a full table) is tried again next time.
#[derive(Debug, Default)]
pub struct Pinned(AtomicUsize);

impl Pinned {
    pub const fn new() -> Self {
        Self(AtomicUsize::new(0))
    }

    /// The data words of the key `key()` makes (only called until the lookup succeeds).
    pub fn slot<'t, K: AsRef<str>>(
        &self,
        table: &'t Table,
        key: impl FnOnce() -> K,
    ) -> Result<&'t [AtomicU64], SlotError> {
        if let Some(words) = self.kept(table) {
            return Ok(words);
        }
        let at = table.locate(key().as_ref())?;
        self.0.store(at.0 + 1, Ordering::Relaxed);
        Ok(table.at(at))
    }

    /// The data words, if already looked up.
    pub fn kept<'t>(&self, table: &'t Table) -> Option<&'t [AtomicU64]> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            kept => Some(table.at(Located(kept - 1))),
        }
    }

    /// Forget the slot (the key changed): the next use looks it up again.
    pub fn clear(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn temp(name: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("fakeai-shm-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        p
    }

    #[test]
    fn counts_are_shared_between_two_mappings_of_one_file() {
        let path = temp("two");
        let a = Table::open(&path, 64, 2).unwrap();
        let b = Table::open(&path, 64, 2).unwrap();
        a.slot("chat|200").unwrap()[0].fetch_add(3, Ordering::Relaxed);
        b.slot("chat|200").unwrap()[0].fetch_add(4, Ordering::Relaxed);
        b.slot("embeddings|200").unwrap()[1].fetch_add(1, Ordering::Relaxed);
        assert_eq!(a.get("chat|200").unwrap()[0].load(Ordering::Relaxed), 7);
        assert!(a.get("chat|404").is_none());
        let mut keys: Vec<String> = a.entries().map(|(k, _)| k).collect();
        keys.sort();
        assert_eq!(keys, ["chat|200", "embeddings|200"]);
        assert!(Table::open(&path, 32, 2).is_err());
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn concurrent_inserts_of_the_same_keys_count_exactly_once_each() {
        let path = temp("race");
        let table = Arc::new(Table::open(&path, 256, 1).unwrap());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let t = Arc::clone(&table);
                std::thread::spawn(move || {
                    for i in 0..10_000 {
                        t.slot(&format!("key-{}", i % 50)).unwrap()[0].fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(table.entries().count(), 50);
        let total: u64 = table.entries().map(|(_, d)| d[0].load(Ordering::Relaxed)).sum();
        assert_eq!(total, 40_000);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn full_table_and_long_keys_are_errors() {
        let path = temp("full");
        let table = Table::open(&path, 2, 1).unwrap();
        table.slot("a").unwrap();
        table.slot("b").unwrap();
        assert_eq!(table.slot("c").unwrap_err(), SlotError::Full);
        assert!(table.slot("a").is_ok());
        assert!(table.get("c").is_none() && table.get("b").is_some());
        assert_eq!(table.slot(&"x".repeat(KEY_BYTES + 1)).unwrap_err(), SlotError::KeyTooLong);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_pinned_slot_is_the_key_s_slot_and_is_looked_up_once() {
        let path = temp("pinned");
        let table = Table::open(&path, 4, 1).unwrap();
        let (pinned, mut lookups) = (Pinned::new(), 0);
        for _ in 0..3 {
            let words = pinned
                .slot(&table, || {
                    lookups += 1;
                    "k"
                })
                .unwrap();
            words[0].fetch_add(1, Ordering::Relaxed);
        }
        assert_eq!(lookups, 1);
        assert_eq!(table.get("k").unwrap()[0].load(Ordering::Relaxed), 3);
        assert_eq!(table.at(table.locate("k").unwrap())[0].load(Ordering::Relaxed), 3);
        table.slot("a").unwrap();
        table.slot("b").unwrap();
        table.slot("c").unwrap();
        let full = Pinned::new();
        assert_eq!(full.slot(&table, || "d").unwrap_err(), SlotError::Full);
        assert!(full.slot(&table, || "c").is_ok(), "a failed lookup is tried again");
        std::fs::remove_file(path).unwrap();
    }
}
