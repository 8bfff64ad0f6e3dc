//! `image_size(...)`, `data_url_image_size(...)` and `mp4_info(...)`: what uploaded media files are
//! checked by, read from their headers only (never decoded).

use crate::media::multimodal;
use pyo3::prelude::*;

/// `(width, height)` of a PNG, JPEG, GIF or WebP file, or None when `data` is none of them.
#[pyfunction]
pub(crate) fn image_size(data: &[u8]) -> Option<(u32, u32)> {
    multimodal::image_size(data)
}

/// `(width, height, seconds)` of an MP4 file from its `mvhd` and first visual `tkhd` boxes, or None.
#[pyfunction]
pub(crate) fn mp4_info(data: &[u8]) -> Option<(u32, u32, f64)> {
    multimodal::mp4_info(data)
}

/// `(width, height)` of the image a `data:` URL carries, or None when its data is not a PNG, JPEG,
/// GIF or WebP image; a `ValueError` saying what is wrong with the URL itself.
#[pyfunction]
pub(crate) fn data_url_image_size(url: &str) -> PyResult<Option<(u32, u32)>> {
    let data = multimodal::data_url(url).map_err(pyo3::exceptions::PyValueError::new_err)?;
    Ok(multimodal::image_size(&data))
}
