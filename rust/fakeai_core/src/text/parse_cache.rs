//! A per-thread cache of parsed request declarations (tool lists, response-format schemas, schemas
//! found in a prompt), keyed by their JSON text.
//!
//! Clients (agents, load generators) send the same tool definitions with every request; parsing and
//! checking a schema costs far more than hashing its text, so each distinct text is parsed once per
//! thread. The cache holds at most [`CAPACITY`] entries and [`MAX_BYTES`] of text (each at most
//! [`MAX_ENTRY_BYTES`]), and is emptied when either is reached. It is thread-local: no lock is taken. Rejections are not cached. A hit compares
//! the text itself, not only its hash: clients choose these texts, and a crafted 64-bit collision must
//! not hand one request another's parse.

use crate::invalid::Invalid;
use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use xxhash_rust::xxh3::xxh3_64_with_seed;

pub const CAPACITY: usize = 256;
/// The most bytes of text the cache keeps. A parse costs up to ~40 times its text in memory (a
/// `serde_json::Value` per JSON value: a 12 MB tool schema parsed to ~450 MB), so this bounds what
/// the cache holds per thread to about 40 MB (a hundred distinct 10 KB tool lists fit).
pub const MAX_BYTES: usize = 1 << 20;
/// The longest text the cache keeps; a longer one is parsed every time (and freed after its request).
pub const MAX_ENTRY_BYTES: usize = 256 << 10;

/// A cached text and its parse.
type Entry = (Box<[u8]>, Rc<dyn Any>);

struct Cache {
    entries: HashMap<u64, Entry>,
    bytes: usize,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache { entries: HashMap::new(), bytes: 0 });
}

/// The parsed value of `text` for declarations of kind `kind` (each kind its own namespace),
/// parsing it with `parse` on a miss.
pub fn cached<T: 'static>(
    kind: u64,
    text: &[u8],
    parse: impl FnOnce(&[u8]) -> Result<T, Invalid>,
) -> Result<Rc<T>, Invalid> {
    let key = xxh3_64_with_seed(text, kind);
    let hit = CACHE
        .with(|c| c.borrow().entries.get(&key).filter(|(kept, _)| **kept == *text).map(|(_, v)| v.clone()));
    if let Some(hit) = hit.and_then(|h| h.downcast::<T>().ok()) {
        return Ok(hit);
    }
    let value = Rc::new(parse(text)?);
    if text.len() <= MAX_ENTRY_BYTES {
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.entries.len() >= CAPACITY || c.bytes + text.len() > MAX_BYTES {
                c.entries.clear();
                c.bytes = 0;
            }
            let old = c.entries.insert(key, (text.into(), value.clone()));
            c.bytes += text.len() - old.map_or(0, |(t, _)| t.len()).min(text.len());
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn parses_each_text_once_per_kind_and_never_caches_errors() {
        let calls = Cell::new(0);
        let parse = |t: &[u8]| {
            calls.set(calls.get() + 1);
            if t == b"bad" {
                Err(Invalid::new("x", "bad"))
            } else {
                Ok(t.len())
            }
        };
        assert_eq!(*cached(1, b"abc", parse).unwrap(), 3);
        assert_eq!(*cached(1, b"abc", parse).unwrap(), 3);
        assert_eq!(calls.get(), 1);
        assert_eq!(*cached(2, b"abc", parse).unwrap(), 3);
        assert_eq!(calls.get(), 2);
        assert!(cached(1, b"bad", parse).is_err());
        assert!(cached(1, b"bad", parse).is_err());
        assert_eq!(calls.get(), 4);
        for i in 0..(CAPACITY + 5) {
            cached(3, i.to_string().as_bytes(), |t| Ok(t.len())).unwrap();
        }
        CACHE.with(|c| assert!(c.borrow().entries.len() <= CAPACITY));
    }

    #[test]
    fn a_hit_needs_the_same_text_not_only_the_same_hash() {
        let parse = |t: &[u8]| Ok(t.to_vec());
        assert_eq!(*cached(7, b"first", parse).unwrap(), b"first");
        // forge a collision: the second text's key holds the first text's parse
        let forged = xxh3_64_with_seed(b"second", 7);
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            let first = c.entries.get(&xxh3_64_with_seed(b"first", 7)).unwrap().clone();
            c.entries.insert(forged, first);
        });
        assert_eq!(*cached(7, b"second", parse).unwrap(), b"second");
    }

    #[test]
    fn the_cache_keeps_a_bounded_number_of_bytes() {
        let big = vec![b'x'; MAX_ENTRY_BYTES];
        for i in 0..(MAX_BYTES / MAX_ENTRY_BYTES + 3) as u8 {
            let mut text = big.clone();
            text[0] = i;
            cached(9, &text, |t| Ok(t.len())).unwrap();
            CACHE.with(|c| assert!(c.borrow().bytes <= MAX_BYTES));
        }
        // a text longer than an entry may be is parsed every time, and never kept
        let huge = vec![b'y'; MAX_ENTRY_BYTES + 1];
        let parses = Cell::new(0);
        for _ in 0..2 {
            let n = cached(9, &huge, |t| {
                parses.set(parses.get() + 1);
                Ok(t.len())
            });
            assert_eq!(*n.unwrap(), MAX_ENTRY_BYTES + 1);
        }
        assert_eq!(parses.get(), 2);
        CACHE.with(|c| assert!(c.borrow().entries.values().all(|(t, _)| t.len() <= MAX_ENTRY_BYTES)));
    }
}
