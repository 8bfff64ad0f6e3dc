//! fakeai's Rust core. This file only declares modules and registers the Python module;
//! the algorithms live in plain-Rust modules with their own tests, the bindings under `py/`.

pub mod block_hash;
pub mod chat;
pub mod choices;
pub mod cluster;
pub mod embedding;
pub mod histogram;
pub mod ids;
pub mod json;
pub mod logprobs;
pub mod radix;
pub mod rng;
pub mod router;
pub mod schedule;
pub mod shm;
pub mod sse;
pub mod text;
pub mod text_completion;
pub mod tokens;
pub mod usage;
pub mod vocab;

mod py;

use pyo3::prelude::*;

#[pymodule]
#[pyo3(name = "_core")]
fn fakeai_core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    py::register(m)
}
