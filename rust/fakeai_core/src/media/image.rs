//! Generated PNG images: the picture of [`crate::media::scene`] for a seed, encoded as a real PNG.
//!
//! The picture arrives row by row as a handful of flat colour spans (never as pixels): with PNG's
//! `Sub` filter a span is its first pixel's difference followed by zeros, which
//! [`crate::media::deflate::ZlibRuns`] writes as a few codes. Encoding costs time per span, not per
//! pixel: a 1024x1024 image takes tens of microseconds and compresses to a few tens of kilobytes.

use crate::media::deflate::ZlibRuns;
use crate::media::scene::{Scene, Span};

/// A complete PNG file (8-bit RGB, `Sub`-filtered rows) of the picture for `seed`.
pub fn png(width: u32, height: u32, seed: u64) -> Vec<u8> {
    scene_png(&Scene::new(width, height, seed))
}

/// A PNG file of `scene` (a still, or one frame of a video).
pub(crate) fn scene_png(scene: &Scene) -> Vec<u8> {
    let mut tmp = Vec::with_capacity(16);
    spans_png(scene.width(), scene.height(), |y, spans| scene.row(y, spans, &mut tmp))
}

/// A PNG file of `width` x `height` whose row `y` is the spans `row(y, spans)` leaves in `spans`:
/// left to right, covering the whole width.
pub(crate) fn spans_png(width: u32, height: u32, mut row: impl FnMut(u32, &mut Vec<Span>)) -> Vec<u8> {
    let mut spans = Vec::with_capacity(16);
    let mut z = ZlibRuns::new(64 + height as usize * 48);
    for y in 0..height {
        row(y, &mut spans);
        debug_assert_eq!(spans.iter().map(|s| s.1 - s.0).sum::<usize>(), width as usize);
        z.literal(1); // filter type Sub: each byte minus the byte one pixel to its left
        let mut left = [0u8; 3];
        for &(x0, x1, c) in &spans {
            for k in 0..3 {
                z.literal(c[k].wrapping_sub(left[k]));
            }
            z.zeros((x1 - x0).saturating_sub(1) * 3);
            left = c;
        }
    }
    let idat = z.finish();
    let mut out = Vec::with_capacity(idat.len() + 64);
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut ihdr = [0u8; 13];
    ihdr[..4].copy_from_slice(&width.to_be_bytes());
    ihdr[4..8].copy_from_slice(&height.to_be_bytes());
    ihdr[8..10].copy_from_slice(&[8, 2]); // 8 bits, truecolour; default compression, filter, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Whether `bytes` start with the PNG signature and a well-formed IHDR chunk; returns its size.
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 33 || &bytes[..8] != SIGNATURE || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let (w, h) = (be(16), be(20));
    (w > 0 && h > 0).then_some((w, h))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::media::scene::tests::draw;

    /// The size and RGB pixels of a PNG file, read by an independent decoder.
    pub(crate) fn decode(bytes: &[u8]) -> ((u32, u32), Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        buf.truncate(info.buffer_size());
        ((info.width, info.height), buf)
    }

    #[test]
    fn decodes_back_to_the_drawn_pixels() {
        for (w, h) in [(256, 256), (1792, 1024), (1, 1), (3, 7)] {
            let bytes = png(w, h, 42);
            assert_eq!(png_size(&bytes), Some((w, h)));
            let (size, pixels) = decode(&bytes);
            assert_eq!(size, (w, h));
            assert_eq!(pixels, draw(&Scene::new(w, h, 42)));
        }
    }

    #[test]
    fn same_seed_same_image_and_seeds_differ() {
        assert_eq!(png(64, 64, 1), png(64, 64, 1));
        assert_ne!(draw(&Scene::new(64, 64, 1)), draw(&Scene::new(64, 64, 2)));
    }

    #[test]
    fn large_images_compress_well() {
        let bytes = png(1024, 1024, 7);
        assert!(bytes.len() < 200_000, "{}", bytes.len());
        let pixels = draw(&Scene::new(1024, 1024, 7));
        let distinct: std::collections::HashSet<&[u8]> = pixels.chunks(3).collect();
        assert!(distinct.len() > 8, "a picture, not a flat fill");
    }

    #[test]
    fn png_size_rejects_other_files() {
        assert_eq!(png_size(b"GIF89a....................................."), None);
        assert_eq!(png_size(&png(5, 9, 0)[..20]), None);
    }
}
