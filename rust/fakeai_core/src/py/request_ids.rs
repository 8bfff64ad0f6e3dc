//! `RequestIds`: the `x-request-id` of a request that brings none, for the gateway (Python) and the
//! hot path ([`super::hot_app`]) alike: 32 hex digits like vLLM's `uuid4().hex`, unique per server
//! (a random per-object prefix, then a counter), at the cost of one small format.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct RequestIds {
    prefix: u64,
    counter: AtomicU64,
}

impl RequestIds {
    pub(crate) fn fresh() -> Self {
        // std's per-process random hash keys, mixed with the pid and the time: 64 random bits.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        h.write_u128(nanos);
        Self { prefix: h.finish(), counter: AtomicU64::new(0) }
    }

    /// The next id's 32 bytes: the prefix and the counter, 16 lowercase hex digits each.
    pub(crate) fn next_id(&self) -> [u8; 32] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut out = [0u8; 32];
        for (i, value) in [self.prefix, n].into_iter().enumerate() {
            for d in 0..16 {
                out[i * 16 + d] = HEX[((value >> (60 - 4 * d)) & 0xf) as usize];
            }
        }
        out
    }

    pub(crate) fn next_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.next_id())
    }
}

#[pymethods]
impl RequestIds {
    #[new]
    fn py_new() -> Self {
        Self::fresh()
    }

    /// A new id, as bytes.
    #[pyo3(name = "new")]
    fn make<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.next_bytes(py)
    }
}

#[cfg(test)]
mod tests {
    use super::RequestIds;

    #[test]
    fn ids_are_32_hex_digits_and_unique() {
        let ids = RequestIds::fresh();
        let (a, b) = (ids.next_id(), ids.next_id());
        assert!(a.iter().all(u8::is_ascii_hexdigit));
        assert_ne!(a, b);
        assert_eq!(a[..16], b[..16]);
        assert_eq!(&a[16..], b"0000000000000000");
        assert_eq!(&b[16..], b"0000000000000001");
        assert_ne!(RequestIds::fresh().next_id()[..16], a[..16]);
        let fixed = RequestIds { prefix: 0x0123_4567_89ab_cdef, counter: 255.into() };
        assert_eq!(&fixed.next_id(), b"0123456789abcdef00000000000000ff");
    }
}
