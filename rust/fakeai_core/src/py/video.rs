//! `video_mp4(...)`, `video_thumbnail(...)` and `video_spritesheet(...)`: the videos endpoints'
//! files, drawn without the GIL. The scene's seed is the key's hash under `seed`, as for images.

use crate::media::video;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use xxhash_rust::xxh3::xxh3_64_with_seed;

fn scene_seed(key: &str, seed: i64) -> u64 {
    xxh3_64_with_seed(key.as_bytes(), seed as u64)
}

/// An MP4 file (H.264, no audio) of `seconds` at `fps` of the picture for `(key, seed)`, its discs
/// moving. Sizes are clamped (see `media::video`), not rejected: the caller validates.
#[pyfunction]
#[pyo3(signature = (key, width, height, seconds, fps, seed=0))]
pub(crate) fn video_mp4<'py>(
    py: Python<'py>,
    key: &str,
    width: u32,
    height: u32,
    seconds: f64,
    fps: u32,
    seed: i64,
) -> Bound<'py, PyBytes> {
    let seed = scene_seed(key, seed);
    let file = py.detach(|| video::mp4(width, height, video::frame_count(seconds, fps), fps, seed));
    PyBytes::new(py, &file)
}

/// A PNG file of that video's first frame.
#[pyfunction]
#[pyo3(signature = (key, width, height, seed=0))]
pub(crate) fn video_thumbnail<'py>(
    py: Python<'py>,
    key: &str,
    width: u32,
    height: u32,
    seed: i64,
) -> Bound<'py, PyBytes> {
    let seed = scene_seed(key, seed);
    let file = py.detach(|| video::frame_png(width, height, 0, 1, seed));
    PyBytes::new(py, &file)
}

// The signature's literal shows in Python's signature (an expression would show as `...`).
const _: () = assert!(video::DEFAULT_TILES == 10);

/// A PNG file of `tiles` frames of that video spread evenly from the first, in rows of up to five.
#[pyfunction]
#[pyo3(signature = (key, width, height, seconds, fps, seed=0, tiles=10))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn video_spritesheet<'py>(
    py: Python<'py>,
    key: &str,
    width: u32,
    height: u32,
    seconds: f64,
    fps: u32,
    seed: i64,
    tiles: u32,
) -> Bound<'py, PyBytes> {
    let seed = scene_seed(key, seed);
    let frames = video::frame_count(seconds, fps);
    let file = py.detach(|| video::spritesheet_png(width, height, frames, fps, seed, tiles));
    PyBytes::new(py, &file)
}
