//! fakeai's Rust core. This file only declares modules and registers the Python module;
//! the algorithms live in plain-Rust modules with their own tests, the bindings under `py/`.
//!
//! The groups point down in this order: [`render`] uses [`text`]; [`media`] and [`scoring`] use
//! [`text`] and the JSON writer of [`render`]; [`simulation`] uses no other group, [`shm`] only
//! [`simulation`] (the shared engine region holds its engine's state). Two modules
//! stay at the root because every group uses them: [`rng`] (all generation is drawn from it) and
//! [`invalid`] (the one rejected-value error, turned into `InvalidInput` by the bindings).

pub mod invalid;
pub mod media;
pub mod render;
pub mod rng;
pub mod scoring;
pub mod shm;
pub mod simulation;
pub mod text;

mod py;

use pyo3::prelude::*;

#[pymodule]
#[pyo3(name = "_core")]
fn fakeai_core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    py::register(m)
}
