//! Attempts per request id, for deterministic retries (`x-fakeai-fail-attempts`).
//!
//! A client retries one logical request under one `x-request-id`; whichever worker process answers an
//! attempt must know how many came before. The ids live in a set-associative array inside a shared
//! [`Table`]: an id hashes to one row (`attempts|<set>`) of [`WAYS`] ways, each way three words
//! `[tag, attempts, last_seen_ms]`. A known id counts up in place; a new id takes an empty way or the
//! one seen longest ago, so the memory is bounded (`sets x WAYS` ids) and old ids age out.
//!
//! Attempts of one id arrive one after another (a client waits for each answer before retrying), so
//! the only race that matters is two new ids claiming one way, settled by a compare-and-swap on its tag.

use super::table::{SlotError, Table};
use std::sync::atomic::Ordering;
use xxhash_rust::xxh3::xxh3_64;

/// Ids remembered per set.
pub const WAYS: usize = 8;
/// Data words per set (the table's width).
pub const WIDTH: usize = WAYS * 3;

/// Count one more attempt of `id` at `now_ms`; returns the attempt's number (1 for the first).
pub fn record(table: &Table, sets: usize, id: &str, now_ms: u64) -> Result<u64, SlotError> {
    let tag = xxh3_64(id.as_bytes()) | 1; // never 0, the empty tag
    let set = table.slot(&format!("attempts|{}", (tag >> 1) % sets.max(1) as u64))?;
    if set.len() < WIDTH {
        return Err(SlotError::Full);
    }
    for way in set.chunks_exact(3).take(WAYS) {
        if way[0].load(Ordering::Acquire) == tag {
            way[2].store(now_ms, Ordering::Relaxed);
            return Ok(way[1].fetch_add(1, Ordering::AcqRel) + 1);
        }
    }
    loop {
        let victim = set
            .chunks_exact(3)
            .take(WAYS)
            .min_by_key(|w| (w[0].load(Ordering::Acquire) != 0, w[2].load(Ordering::Relaxed)))
            .expect("WAYS > 0");
        let old = victim[0].load(Ordering::Acquire);
        if victim[0].compare_exchange(old, tag, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            victim[1].store(1, Ordering::Release);
            victim[2].store(now_ms, Ordering::Relaxed);
            return Ok(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, sets: usize) -> (Table, std::path::PathBuf) {
        let p = std::env::temp_dir().join(format!("fakeai-attempts-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        (Table::open(&p, sets, WIDTH).unwrap(), p)
    }

    #[test]
    fn an_id_counts_up_and_others_start_at_one() {
        let (t, p) = table("count", 4);
        assert_eq!(record(&t, 4, "req-a", 1).unwrap(), 1);
        assert_eq!(record(&t, 4, "req-a", 2).unwrap(), 2);
        assert_eq!(record(&t, 4, "req-b", 3).unwrap(), 1);
        assert_eq!(record(&t, 4, "req-a", 4).unwrap(), 3);
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn memory_is_bounded_and_the_oldest_ids_age_out() {
        let (t, p) = table("evict", 1);
        for i in 0..100u64 {
            assert_eq!(record(&t, 1, &format!("id-{i}"), i).unwrap(), 1);
        }
        assert_eq!(t.entries().count(), 1);
        // the last WAYS ids are still known; the first one was evicted long ago
        assert_eq!(record(&t, 1, "id-99", 200).unwrap(), 2);
        assert_eq!(record(&t, 1, "id-0", 201).unwrap(), 1);
        std::fs::remove_file(p).unwrap();
    }
}
