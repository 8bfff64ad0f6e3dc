//! A per-thread cache of parsed request declarations (tool lists, response-format schemas), keyed by
//! a hash of their JSON text.
//!
//! Clients (agents, load generators) send the same tool definitions with every request; parsing and
//! checking a schema costs far more than hashing its text, so each distinct text is parsed once per
//! thread. The cache holds at most [`CAPACITY`] entries and is emptied when full. It is
//! thread-local: no lock is taken. Rejections are not cached.

use crate::invalid::Invalid;
use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use xxhash_rust::xxh3::xxh3_64_with_seed;

pub const CAPACITY: usize = 256;

thread_local! {
    static CACHE: RefCell<HashMap<u64, Rc<dyn Any>>> = RefCell::new(HashMap::new());
}

/// The parsed value of `text` for declarations of kind `kind` (each kind its own namespace),
/// parsing it with `parse` on a miss.
pub fn cached<T: 'static>(
    kind: u64,
    text: &[u8],
    parse: impl FnOnce(&[u8]) -> Result<T, Invalid>,
) -> Result<Rc<T>, Invalid> {
    let key = xxh3_64_with_seed(text, kind);
    let hit = CACHE.with(|c| c.borrow().get(&key).cloned());
    if let Some(hit) = hit.and_then(|h| h.downcast::<T>().ok()) {
        return Ok(hit);
    }
    let value = Rc::new(parse(text)?);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CAPACITY {
            c.clear();
        }
        c.insert(key, value.clone());
    });
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
        CACHE.with(|c| assert!(c.borrow().len() <= CAPACITY));
    }
}
