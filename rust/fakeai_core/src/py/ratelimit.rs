//! `RateLimiter`: the shared GCRA buckets of [`crate::shm::ratelimit`] over a shared-memory table.

use super::shared::slot_error;
use crate::shm::ratelimit::{self, Bucket, Limits, Verdict};
use crate::shm::table::Table;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use std::path::PathBuf;

#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct RateLimiter {
    table: Table,
}

/// Header names of the requests trio, then the tokens trio.
const NAMES: [[&[u8]; 3]; 2] = [
    [b"x-ratelimit-limit-requests", b"x-ratelimit-remaining-requests", b"x-ratelimit-reset-requests"],
    [b"x-ratelimit-limit-tokens", b"x-ratelimit-remaining-tokens", b"x-ratelimit-reset-tokens"],
];

fn push_headers<'py>(
    py: Python<'py>,
    out: &Bound<'py, PyList>,
    names: [&[u8]; 3],
    b: Bucket,
) -> PyResult<()> {
    let mut num = itoa::Buffer::new();
    out.append((PyBytes::new(py, names[0]), PyBytes::new(py, num.format(b.limit).as_bytes())))?;
    out.append((PyBytes::new(py, names[1]), PyBytes::new(py, num.format(b.remaining).as_bytes())))?;
    out.append((PyBytes::new(py, names[2]), PyBytes::new(py, ratelimit::duration(b.reset_ns).as_bytes())))?;
    Ok(())
}

#[pymethods]
impl RateLimiter {
    /// Open (or create) the shared table in file `path` with room for `capacity` keys.
    #[new]
    fn new(path: PathBuf, capacity: usize) -> PyResult<Self> {
        Table::open(&path, capacity.max(1), ratelimit::WIDTH)
            .map(|table| Self { table })
            .map_err(|e| PyOSError::new_err(format!("{}: {e}", path.display())))
    }

    /// Admit one request of `tokens` estimated tokens for `key` under the given limits (0 = none).
    /// Returns `(refused, retry_after_seconds, headers)`: refused is 0 when allowed, else the limit
    /// that refused (1 rpm, 2 tpm, 3 rpd, 4 tpd); headers are the `x-ratelimit-*` pairs as bytes.
    #[pyo3(signature = (key, rpm, tpm, rpd, tpd, tokens))]
    #[allow(clippy::too_many_arguments)]
    fn admit<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        rpm: u64,
        tpm: u64,
        rpd: u64,
        tpd: u64,
        tokens: u64,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let slot = self.table.slot(key).map_err(slot_error)?;
        let out = ratelimit::admit(slot, Limits { rpm, tpm, rpd, tpd }, tokens, ratelimit::now_ns());
        let headers = PyList::empty(py);
        if let Some(b) = out.requests {
            push_headers(py, &headers, NAMES[0], b)?;
        }
        if let Some(b) = out.tokens {
            push_headers(py, &headers, NAMES[1], b)?;
        }
        let wait = match out.verdict {
            Verdict::Allowed => 0,
            Verdict::Requests(w) | Verdict::Tokens(w) => w,
        };
        let refused = out.refused.map_or(0, |i| i + 1);
        (refused, wait as f64 / 1e9, headers).into_pyobject(py)
    }

    /// Every key as `(key, [allowed requests, allowed tokens, throttled by requests, throttled by
    /// tokens], [rpm, tpm, rpd, tpd])`.
    fn usage(&self) -> Vec<(String, [u64; 4], [u64; 4])> {
        self.table
            .entries()
            .map(|(key, slot)| {
                let (stats, l) = ratelimit::usage(slot);
                (key, stats, [l.rpm, l.tpm, l.rpd, l.tpd])
            })
            .collect()
    }
}
