//! `png_images(...)` and `png_size(...)`: the images endpoints' pictures, drawn without the GIL.

use crate::media::image;
use base64::Engine;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// `n` PNG files of `width` x `height`, deterministic for `(prompt, seed)`; with `b64` each is
/// returned base64-encoded (ASCII bytes), ready for a `b64_json` field.
#[pyfunction]
#[pyo3(signature = (prompt, width, height, n=1, seed=0, b64=false))]
pub(crate) fn png_images<'py>(
    py: Python<'py>,
    prompt: &str,
    width: u32,
    height: u32,
    n: u32,
    seed: i64,
    b64: bool,
) -> PyResult<Bound<'py, PyList>> {
    let key = xxh3_64_with_seed(prompt.as_bytes(), seed as u64);
    let files: Vec<Vec<u8>> = py.detach(|| {
        (0..u64::from(n))
            .map(|i| {
                let png =
                    image::png(width.max(1), height.max(1), key.wrapping_add(i.wrapping_mul(0x9E37_79B9)));
                if b64 {
                    base64::engine::general_purpose::STANDARD.encode(&png).into_bytes()
                } else {
                    png
                }
            })
            .collect()
    });
    PyList::new(py, files.iter().map(|f| PyBytes::new(py, f)))
}

/// `(width, height)` of a PNG file, or None when `data` is not one.
#[pyfunction]
pub(crate) fn png_size(data: &[u8]) -> Option<(u32, u32)> {
    image::png_size(data)
}
