//! `image_size(...)` and `mp4_info(...)`: what uploaded media files are checked by, read from their
//! headers only (never decoded).

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
