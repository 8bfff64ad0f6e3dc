//! Generated PNG images: a deterministic picture drawn from a seed, encoded as a real PNG.
//!
//! The picture is a vertical two-colour gradient with a few filled discs and bars on it. Each row is
//! a handful of flat colour spans, computed directly (never as pixels): with PNG's `Sub` filter a
//! span is its first pixel's difference followed by zeros, which [`crate::media::deflate::ZlibRuns`] writes
//! as a few codes. Encoding costs time per span, not per pixel: a 1024x1024 image takes tens of
//! microseconds and compresses to a few tens of kilobytes.

use crate::media::deflate::ZlibRuns;
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

/// One flat run of a row: pixels `x0..x1` of one colour.
type Span = (usize, usize, [u8; 3]);

struct Picture {
    width: u32,
    height: u32,
    top: [u8; 3],
    bottom: [u8; 3],
    shapes: Vec<Shape>,
}

impl Picture {
    fn new(width: u32, height: u32, seed: u64) -> Self {
        let (w, h) = (i64::from(width), i64::from(height));
        let mut rng = Rng::new(seed);
        let (top, bottom) = (color(&mut rng), color(&mut rng));
        let short = w.min(h).max(1);
        let shapes = (0..SHAPES)
            .map(|i| Shape {
                disc: i % 2 == 0,
                cx: rng.below(w.max(1) as u64) as i64,
                cy: rng.below(h.max(1) as u64) as i64,
                r: short / 16 + rng.below((short / 5).max(1) as u64) as i64,
                h: short / 40 + rng.below((short / 12).max(1) as u64) as i64,
                color: color(&mut rng),
            })
            .collect();
        Self { width, height, top, bottom, shapes }
    }

    /// The spans of row `y`, left to right, covering the whole width (`tmp` is scratch space).
    fn row(&self, y: u32, spans: &mut Vec<Span>, tmp: &mut Vec<Span>) {
        let t = if self.height > 1 { y * 255 / (self.height - 1) } else { 0 };
        let bg: [u8; 3] = std::array::from_fn(|c| {
            ((u32::from(self.top[c]) * (255 - t) + u32::from(self.bottom[c]) * t) / 255) as u8
        });
        spans.clear();
        spans.push((0, self.width as usize, bg));
        for s in &self.shapes {
            if let Some((a, b)) = s.span(i64::from(y), i64::from(self.width)) {
                // Paint [a, b) over the sorted, contiguous spans.
                tmp.clear();
                tmp.extend(spans.iter().filter(|sp| sp.0 < a).map(|&(x0, x1, c)| (x0, x1.min(a), c)));
                tmp.push((a, b, s.color));
                tmp.extend(spans.iter().filter(|sp| sp.1 > b).map(|&(x0, x1, c)| (x0.max(b), x1, c)));
                std::mem::swap(spans, tmp);
            }
        }
    }
}

fn color(rng: &mut Rng) -> [u8; 3] {
    [rng.below(256) as u8, rng.below(256) as u8, rng.below(256) as u8]
}

/// A complete PNG file (8-bit RGB, `Sub`-filtered rows) of the picture for `seed`.
pub fn png(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let picture = Picture::new(width, height, seed);
    let (mut spans, mut tmp) = (Vec::with_capacity(16), Vec::with_capacity(16));
    let mut z = ZlibRuns::new(64 + height as usize * 48);
    for y in 0..height {
        picture.row(y, &mut spans, &mut tmp);
        z.literal(1); // filter type Sub: each byte minus the byte one pixel to its left
        let mut left = [0u8; 3];
        for &(x0, x1, c) in &spans {
            for k in 0..3 {
                z.literal(c[k].wrapping_sub(left[k]));
            }
            z.zeros((x1 - x0 - 1) * 3);
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
mod tests {
    use super::*;

    /// The pixels of the picture, filled span by span.
    fn draw(width: u32, height: u32, seed: u64) -> Vec<u8> {
        let picture = Picture::new(width, height, seed);
        let (mut spans, mut tmp) = (Vec::new(), Vec::new());
        let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
        for y in 0..height {
            picture.row(y, &mut spans, &mut tmp);
            assert_eq!(spans.first().map(|s| s.0), Some(0));
            assert!(spans.windows(2).all(|w| w[0].1 == w[1].0 && w[0].0 < w[0].1));
            assert_eq!(spans.last().map(|s| s.1), Some(width as usize));
            for &(x0, x1, c) in &spans {
                for _ in x0..x1 {
                    pixels.extend_from_slice(&c);
                }
            }
        }
        pixels
    }

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
