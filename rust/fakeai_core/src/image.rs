//! Generated PNG images: a deterministic picture drawn from a seed, encoded as a real PNG.
//!
//! The picture is a vertical two-colour gradient with a few filled discs and bars on it. It is drawn
//! row by row as horizontal spans (no per-pixel maths beyond the span fills), then encoded by the
//! `png` crate with the `Sub` filter and its fast DEFLATE (`fdeflate`): flat spans filter to runs of
//! zeros, so a 1024x1024 image costs about a millisecond and compresses to a few kilobytes.

use crate::rng::Rng;

const SHAPES: usize = 6;

#[derive(Clone, Copy)]
struct Shape {
    disc: bool,
    cx: i64,
    cy: i64,
    /// Radius of a disc, or half-width of a bar.
    r: i64,
    /// Half-height of a bar.
    h: i64,
    color: [u8; 3],
}

impl Shape {
    /// The `[x0, x1)` span this shape covers on row `y`, if any.
    fn span(&self, y: i64, width: i64) -> Option<(usize, usize)> {
        let dy = y - self.cy;
        let half = if self.disc {
            let rest = self.r * self.r - dy * dy;
            if rest < 0 {
                return None;
            }
            (rest as f64).sqrt() as i64
        } else {
            if dy.abs() > self.h {
                return None;
            }
            self.r
        };
        let x0 = (self.cx - half).clamp(0, width);
        let x1 = (self.cx + half + 1).clamp(0, width);
        (x0 < x1).then_some((x0 as usize, x1 as usize))
    }
}

fn color(rng: &mut Rng) -> [u8; 3] {
    [rng.below(256) as u8, rng.below(256) as u8, rng.below(256) as u8]
}

/// The RGB pixels (row-major, 3 bytes a pixel) of the picture for `seed`.
pub fn draw(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let (w, h) = (i64::from(width), i64::from(height));
    let mut rng = Rng::new(seed);
    let (top, bottom) = (color(&mut rng), color(&mut rng));
    let short = w.min(h).max(1);
    let shapes: Vec<Shape> = (0..SHAPES)
        .map(|i| Shape {
            disc: i % 2 == 0,
            cx: rng.below(w.max(1) as u64) as i64,
            cy: rng.below(h.max(1) as u64) as i64,
            r: short / 16 + rng.below((short / 5).max(1) as u64) as i64,
            h: short / 40 + rng.below((short / 12).max(1) as u64) as i64,
            color: color(&mut rng),
        })
        .collect();
    let row_bytes = width as usize * 3;
    let mut pixels = vec![0u8; row_bytes * height as usize];
    for (y, row) in pixels.chunks_exact_mut(row_bytes.max(1)).enumerate() {
        let t = if h > 1 { y as u32 * 255 / (height - 1) } else { 0 };
        let bg: [u8; 3] =
            std::array::from_fn(|c| ((u32::from(top[c]) * (255 - t) + u32::from(bottom[c]) * t) / 255) as u8);
        fill(row, 0, width as usize, bg);
        for s in &shapes {
            if let Some((x0, x1)) = s.span(y as i64, w) {
                fill(row, x0, x1, s.color);
            }
        }
    }
    pixels
}

fn fill(row: &mut [u8], x0: usize, x1: usize, rgb: [u8; 3]) {
    for px in row[x0 * 3..x1 * 3].chunks_exact_mut(3) {
        px.copy_from_slice(&rgb);
    }
}

/// A complete PNG file (8-bit RGB) of the picture for `seed`.
pub fn png(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let pixels = draw(width, height, seed);
    let mut out = Vec::with_capacity(4096 + pixels.len() / 64);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder.set_filter(png::Filter::Sub);
    let mut writer = encoder.write_header().expect("valid PNG header for non-zero sizes");
    writer.write_image_data(&pixels).expect("pixel buffer matches the header");
    writer.finish().expect("PNG written to memory");
    out
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
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info, buf)
    }

    #[test]
    fn decodes_back_to_the_drawn_pixels() {
        for (w, h) in [(256, 256), (1792, 1024), (1, 1), (3, 7)] {
            let bytes = png(w, h, 42);
            assert_eq!(png_size(&bytes), Some((w, h)));
            let (info, pixels) = decode(&bytes);
            assert_eq!((info.width, info.height), (w, h));
            assert_eq!(info.color_type, png::ColorType::Rgb);
            assert_eq!(pixels, draw(w, h, 42));
        }
    }

    #[test]
    fn same_seed_same_image_and_seeds_differ() {
        assert_eq!(png(64, 64, 1), png(64, 64, 1));
        assert_ne!(draw(64, 64, 1), draw(64, 64, 2));
    }

    #[test]
    fn large_images_compress_well() {
        let bytes = png(1024, 1024, 7);
        assert!(bytes.len() < 200_000, "{}", bytes.len());
        let pixels = draw(1024, 1024, 7);
        let distinct: std::collections::HashSet<&[u8]> = pixels.chunks(3).collect();
        assert!(distinct.len() > 8, "a picture, not a flat fill");
    }

    #[test]
    fn png_size_rejects_other_files() {
        assert_eq!(png_size(b"GIF89a....................................."), None);
        assert_eq!(png_size(&png(5, 9, 0)[..20]), None);
    }
}
