//! fakeai's Rust core. This file only declares modules and registers the Python module;
//! the algorithms live in plain-Rust modules with their own tests, the bindings under `py/`.

pub mod chat;
pub mod chat_choices;
pub mod choices;
pub mod context_window;
pub mod embedding;
pub mod histogram;
pub mod ids;
pub mod invalid;
pub mod json;
pub mod logprobs;
pub mod multimodal;
pub mod parse_cache;
pub mod prediction;
pub mod reasoning;
pub mod response_format;
pub mod rng;
pub mod schedule;
pub mod schema_gen;
pub mod shm;
pub mod sse;
pub mod text;
pub mod text_completion;
pub mod tokenized;
pub mod tokens;
pub mod tools;
pub mod usage;
pub mod vocab;

mod py;

use pyo3::prelude::*;

#[pymodule]
#[pyo3(name = "_core")]
fn fakeai_core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    py::register(m)
}
