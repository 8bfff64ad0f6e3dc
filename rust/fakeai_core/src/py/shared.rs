//! `SharedTable`: the shared-memory counter table ([`crate::shm::table::Table`]) as a Python object.

use super::InvalidInput;
use crate::shm::attempts;
use crate::shm::histogram::{self, Snapshot};
use crate::shm::table::{SlotError, Table};
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct SharedTable {
    pub(crate) table: Table,
}

pub(crate) fn slot_error(e: SlotError) -> PyErr {
    match e {
        SlotError::KeyTooLong => InvalidInput::new_err("shared table key too long"),
        SlotError::Full => InvalidInput::new_err("shared table is full"),
    }
}

impl SharedTable {
    pub(crate) fn table(&self) -> &Table {
        &self.table
    }
}

#[pymethods]
impl SharedTable {
    /// Open (or create) the table in file `path`; all processes must agree on capacity and width.
    #[new]
    fn new(path: PathBuf, capacity: usize, width: usize) -> PyResult<Self> {
        Table::open(&path, capacity.max(1), width.max(1))
            .map(|table| Self { table })
            .map_err(|e| PyOSError::new_err(format!("{}: {e}", path.display())))
    }

    /// Atomically add `delta` to word `index` of `key`'s entry; returns the new value.
    fn add(&self, key: &str, index: usize, delta: u64) -> PyResult<u64> {
        let slot = self.table.slot(key).map_err(slot_error)?;
        let word = slot.get(index).ok_or_else(|| InvalidInput::new_err("index out of range"))?;
        Ok(word.fetch_add(delta, Ordering::Relaxed).wrapping_add(delta))
    }

    /// Atomically add `deltas[i]` to word `i` of `key`'s entry (one lookup for a whole row).
    fn add_row(&self, key: &str, deltas: Vec<u64>) -> PyResult<()> {
        let slot = self.table.slot(key).map_err(slot_error)?;
        if deltas.len() > slot.len() {
            return Err(InvalidInput::new_err("more deltas than the table's width"));
        }
        for (word, delta) in slot.iter().zip(deltas) {
            if delta != 0 {
                word.fetch_add(delta, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    /// Word `index` of `key`'s entry (0 when the key was never inserted): one atomic read.
    fn load(&self, key: &str, index: usize) -> u64 {
        self.table.get(key).and_then(|d| d.get(index)).map_or(0, |w| w.load(Ordering::Acquire))
    }

    /// Set word `index` of `key`'s entry to `value`.
    fn store(&self, key: &str, index: usize, value: u64) -> PyResult<()> {
        let slot = self.table.slot(key).map_err(slot_error)?;
        let word = slot.get(index).ok_or_else(|| InvalidInput::new_err("index out of range"))?;
        word.store(value, Ordering::Release);
        Ok(())
    }

    /// Set word `index` of `key`'s entry to `new` if it holds `current`; returns the value it held
    /// (the swap happened when that equals `current`).
    fn compare_exchange(&self, key: &str, index: usize, current: u64, new: u64) -> PyResult<u64> {
        let slot = self.table.slot(key).map_err(slot_error)?;
        let word = slot.get(index).ok_or_else(|| InvalidInput::new_err("index out of range"))?;
        Ok(word.compare_exchange(current, new, Ordering::AcqRel, Ordering::Acquire).unwrap_or_else(|v| v))
    }

    /// Count one more attempt of request `id` at `now_ms` in this table of `sets` rows of width
    /// `ATTEMPTS_TABLE_WIDTH` ([`crate::shm::attempts`]); returns the attempt's number, 1 for the first.
    fn count_attempt(&self, id: &str, now_ms: u64, sets: usize) -> PyResult<u64> {
        attempts::record(&self.table, sets, id, now_ms).map_err(slot_error)
    }

    /// The data words of `key`, or None if it was never inserted.
    fn get(&self, key: &str) -> Option<Vec<u64>> {
        self.table.get(key).map(|d| d.iter().map(|w| w.load(Ordering::Relaxed)).collect())
    }

    /// Every entry as `(key, [words])`.
    fn items(&self) -> Vec<(String, Vec<u64>)> {
        self.table
            .entries()
            .map(|(k, d)| (k, d.iter().map(|w| w.load(Ordering::Relaxed)).collect()))
            .collect()
    }

    /// Record `seconds` in the histogram stored at `key` (the table's width must be at least
    /// `HISTOGRAM_WIDTH`).
    fn observe(&self, key: &str, seconds: f64) -> PyResult<()> {
        let slot = self.table.slot(key).map_err(slot_error)?;
        if slot.len() < histogram::WIDTH {
            return Err(InvalidInput::new_err("table too narrow for a histogram"));
        }
        histogram::observe(slot, seconds);
        Ok(())
    }

    /// `(count, sum_seconds, [per-bucket counts..., +Inf])` of the histogram at `key`, or None.
    fn histogram(&self, key: &str) -> Option<(u64, f64, Vec<u64>)> {
        let slot = self.table.get(key).filter(|s| s.len() >= histogram::WIDTH)?;
        let snap = Snapshot::read(slot);
        Some((snap.count, snap.sum_seconds, snap.buckets))
    }

    /// The `q`-quantile of the histogram at `key` (0 when empty or missing).
    fn quantile(&self, key: &str, q: f64) -> f64 {
        self.table
            .get(key)
            .filter(|s| s.len() >= histogram::WIDTH)
            .map_or(0.0, |s| Snapshot::read(s).quantile(q))
    }

    #[getter]
    fn width(&self) -> usize {
        self.table.width()
    }
}
