//! fakeai's Rust core. This file only declares modules and registers the Python module;
//! the algorithms live in plain-Rust modules with their own tests, the bindings under `py/`.

pub mod anthropic;
pub mod audio_probe;
pub mod block_hash;
pub mod chat;
pub mod chat_choices;
pub mod choices;
pub mod cluster;
pub mod context_window;
pub mod deflate;
pub mod echo;
pub mod embedding;
pub mod flac;
pub mod histogram;
pub mod ids;
pub mod image;
pub mod invalid;
pub mod json;
pub mod length_dist;
pub mod logprobs;
pub mod metrics;
pub mod moderation;
pub mod multimodal;
pub mod pacing;
pub mod parse_cache;
pub mod prediction;
pub mod radix;
pub mod rank;
pub mod ratelimit;
pub mod reasoning;
pub mod response_format;
pub mod rng;
pub mod router;
pub mod schedule;
pub mod schema_gen;
pub mod search;
pub mod shm;
pub mod simulation;
pub mod speech;
pub mod sse;
pub mod text;
pub mod text_completion;
pub mod tokenized;
pub mod tokens;
pub mod tools;
pub mod transcript;
pub mod usage;
pub mod vocab;
pub mod wav;

mod py;

use pyo3::prelude::*;

#[pymodule]
#[pyo3(name = "_core")]
fn fakeai_core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    py::register(m)
}
