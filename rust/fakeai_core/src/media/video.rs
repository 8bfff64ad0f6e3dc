//! Generated videos: the picture of [`crate::media::scene`] with its discs moving, as a real MP4 file
//! (H.264 Constrained Baseline from [`crate::media::h264`] in [`crate::media::mp4`]: one video track,
//! no audio track), and PNG files of one frame or of a grid of frames (a spritesheet).
//!
//! Frame 0 is the picture [`crate::media::image::png`] draws for the same seed and size, sent whole
//! (I_PCM) as the IDR picture. In a later frame only the macroblocks a moving disc touched change
//! (the rows where its new and old positions differ, see [`Scene::changes`]). Most of those are the
//! previous frame's block moved along with the disc, a few bits each ([`Scene::moved_block`] says
//! when that is exact); the rest (two discs meeting, a block at the picture's edge) are sent anew;
//! every other macroblock is skipped. So drawing and encoding cost time per changed macroblock, not
//! per pixel of the video: a 4-second 720x1280 video at 24 fps takes about 10 ms and 1.5 to 2 MB,
//! most of it the first frame.
//!
//! Colours are converted to BT.601 limited-range YUV (as the stream's VUI says), chroma 4:2:0 as the
//! average of each 2x2 block. Sizes are clamped, never rejected (the caller validates): each side to
//! [`MIN_SIDE`]`..=`[`MAX_SIDE`] and down to even, the rate to `1..=`[`MAX_FPS`], the length to
//! `1..=`[`MAX_FRAMES`] frames. Memory is bounded too: once the frames written pass
//! [`MAX_MEDIA_BYTES`] (only conceivable for huge pictures at a very low frame rate, where every disc
//! jumps far each frame), the picture freezes and the remaining frames cost a few bytes each.

use crate::media::h264::{self, Block, Encoder, Macroblock};
use crate::media::image;
use crate::media::mp4::{self, Sample, VideoTrack};
use crate::media::scene::{Scene, Span};

pub const MIN_SIDE: u32 = 16;
pub const MAX_SIDE: u32 = h264::MAX_SIDE;
pub const MAX_FPS: u32 = 120;
pub const MAX_FRAMES: u32 = 7200;
/// The most frame bytes a video sends new content in (see the module's doc).
pub const MAX_MEDIA_BYTES: usize = 256 << 20;
/// A spritesheet has at most this many columns of tiles, each at most `TILE_SIDE` on its long side.
const SHEET_COLUMNS: u32 = 5;
const TILE_SIDE: u32 = 256;
pub const MAX_TILES: u32 = 100;
/// How many tiles a spritesheet has unless asked otherwise: two rows of five.
pub const DEFAULT_TILES: u32 = 10;

/// The size a video of `width` x `height` is drawn at (see the module's doc).
pub fn clamp_size(width: u32, height: u32) -> (u32, u32) {
    (width.clamp(MIN_SIDE, MAX_SIDE) & !1, height.clamp(MIN_SIDE, MAX_SIDE) & !1)
}

/// How many frames `seconds` last at `fps` (rounded; at least one, at most [`MAX_FRAMES`]; not a
/// number gives one).
pub fn frame_count(seconds: f64, fps: u32) -> u32 {
    let frames = (seconds * f64::from(fps.clamp(1, MAX_FPS))).round();
    if frames.is_nan() {
        1
    } else {
        (frames as u32).clamp(1, MAX_FRAMES) // `as` saturates
    }
}

/// A complete MP4 file: `frames` frames of the picture for `seed` at `fps`, its discs moving.
pub fn mp4(width: u32, height: u32, frames: u32, fps: u32, seed: u64) -> Vec<u8> {
    let (width, height) = clamp_size(width, height);
    encode(
        &Scene::new(width, height, seed),
        frames.clamp(1, MAX_FRAMES),
        fps.clamp(1, MAX_FPS),
        MAX_MEDIA_BYTES,
    )
}

/// A PNG file of frame `frame` of that video (frame 0 is its thumbnail).
pub fn frame_png(width: u32, height: u32, frame: u32, fps: u32, seed: u64) -> Vec<u8> {
    let (width, height) = clamp_size(width, height);
    image::scene_png(&Scene::new(width, height, seed).at(frame, fps.clamp(1, MAX_FPS)))
}

/// A PNG file of `tiles` frames of that video spread evenly from frame 0, left to right and top to
/// bottom in rows of up to five, each drawn at most 256 pixels on its long side (the scene is
/// drawn at the tile's size, which is the frame scaled down). `tiles` is clamped to
/// `1..=`[`MAX_TILES`] and to the number of frames; cells after the last tile are black.
pub fn spritesheet_png(width: u32, height: u32, frames: u32, fps: u32, seed: u64, tiles: u32) -> Vec<u8> {
    let (width, height) = clamp_size(width, height);
    let (frames, fps) = (frames.clamp(1, MAX_FRAMES), fps.clamp(1, MAX_FPS));
    let tiles = tiles.clamp(1, MAX_TILES).min(frames);
    let long = width.max(height);
    let (tw, th) = if long <= TILE_SIDE {
        (width, height)
    } else {
        ((width * TILE_SIDE / long).max(1), (height * TILE_SIDE / long).max(1))
    };
    let scene = Scene::new(tw, th, seed);
    let shots: Vec<Scene> = (0..tiles).map(|i| scene.at(i * frames / tiles, fps)).collect();
    let columns = tiles.min(SHEET_COLUMNS);
    let (mut tile, mut tmp) = (Vec::with_capacity(16), Vec::with_capacity(16));
    image::spans_png(columns * tw, tiles.div_ceil(columns) * th, |y, spans| {
        spans.clear();
        for c in 0..columns {
            let x = (c * tw) as usize;
            match shots.get(((y / th) * columns + c) as usize) {
                Some(shot) => {
                    shot.row(y % th, &mut tile, &mut tmp);
                    spans.extend(tile.iter().map(|&(x0, x1, color)| (x + x0, x + x1, color)));
                }
                None => spans.push((x, x + tw as usize, [0; 3])),
            }
        }
    })
}

/// The MP4 file of `scene` moving for `frames` frames at `fps`, frozen once past `budget` bytes.
fn encode(scene: &Scene, frames: u32, fps: u32, budget: usize) -> Vec<u8> {
    let mut encoder = Encoder::new(scene.width(), scene.height(), fps);
    let (wide, high) = encoder.size_in_mbs();
    let keyframe = wide as usize * high as usize * 386 + 64;
    let mut media = Vec::with_capacity(keyframe + 4096 * frames as usize);
    let mut samples = Vec::with_capacity(frames as usize);
    let mut painter = Painter::new();
    encoder.idr(&mut media, |x, y, mb| painter.fill(scene, x, y, mb));
    samples.push(Sample { size: media.len() as u32, sync: true });
    // Which disc changed each macroblock: none, one (its index), or several.
    const CLEAN: u16 = u16::MAX;
    const SEVERAL: u16 = u16::MAX - 1;
    let mut changed_by = vec![CLEAN; wide as usize * high as usize];
    let mut blocks = Vec::new();
    let mut previous = scene.clone();
    for frame in 1..frames {
        // Past the budget the picture freezes: nothing changes, every macroblock is skipped.
        let now = if media.len() > budget { previous.clone() } else { scene.at(frame, fps) };
        now.changes(&previous, |disc, y, x0, x1| {
            let row = (y / 16 * wide) as usize;
            for mb in x0 / 16..=(x1 - 1) / 16 {
                if let Some(by) = changed_by.get_mut(row + mb) {
                    *by = if *by == CLEAN || *by == disc as u16 { disc as u16 } else { SEVERAL };
                }
            }
        });
        blocks.clear();
        for (addr, by) in (0..).zip(changed_by.iter_mut()) {
            match std::mem::replace(by, CLEAN) {
                CLEAN => {}
                SEVERAL => blocks.push((addr, Block::New)),
                disc => {
                    blocks.push((addr, moved_or_new(&now, &previous, disc.into(), addr % wide, addr / wide)))
                }
            }
        }
        painter.forget();
        let before = media.len();
        encoder.p(&mut media, &blocks, |x, y, mb| painter.fill(&now, x, y, mb));
        samples.push(Sample { size: (media.len() - before) as u32, sync: false });
        previous = now;
    }
    let (sps, pps) = (encoder.sps(), encoder.pps());
    let track = VideoTrack { width: scene.width(), height: scene.height(), fps, sps: &sps, pps: &pps };
    mp4::mux(&track, &samples, &media)
}

/// How to send macroblock `(mb_x, mb_y)`, which only disc `i` changed from `before` to `now`: as the
/// previous frame's block moved along with the disc when that is exact (see [`Scene::moved_block`];
/// the step is even, so chroma moves by whole samples too), or else anew.
fn moved_or_new(now: &Scene, before: &Scene, i: usize, mb_x: u32, mb_y: u32) -> Block {
    let (x0, y0) = (i64::from(mb_x) * 16, i64::from(mb_y) * 16);
    match now.moved_block(before, i, (x0, y0, x0 + 16, y0 + 16)) {
        Some(dx) if dx % 2 == 0 && dx.abs() <= i64::from(h264::MAX_MOVE.0) => Block::Moved(dx as i32, 0),
        _ => Block::New,
    }
}

/// Paints macroblocks of a scene, keeping the spans of the macroblock row it painted last.
struct Painter {
    rows: [Vec<Span>; 16],
    tmp: Vec<Span>,
    row: Option<u32>,
    rgb: [[u8; 3]; 256],
}

impl Painter {
    fn new() -> Self {
        Self { rows: Default::default(), tmp: Vec::with_capacity(16), row: None, rgb: [[0; 3]; 256] }
    }

    /// Drop the kept spans (the next macroblock is of another scene).
    fn forget(&mut self) {
        self.row = None;
    }

    /// The samples of macroblock `(mb_x, mb_y)` of `scene`; past the right or bottom edge (the
    /// part the stream crops away) the edge pixels repeat.
    fn fill(&mut self, scene: &Scene, mb_x: u32, mb_y: u32, mb: &mut Macroblock) {
        let (width, height) = (scene.width().max(1), scene.height().max(1));
        if self.row != Some(mb_y) {
            for (dy, spans) in (0..).zip(self.rows.iter_mut()) {
                scene.row((mb_y * 16 + dy).min(height - 1), spans, &mut self.tmp);
            }
            self.row = Some(mb_y);
        }
        let (x0, last) = (mb_x as usize * 16, width as usize - 1);
        for (spans, out) in self.rows.iter().zip(self.rgb.chunks_exact_mut(16)) {
            let mut k = spans.partition_point(|s| s.1 <= x0.min(last));
            for (dx, px) in out.iter_mut().enumerate() {
                let x = (x0 + dx).min(last);
                while k + 1 < spans.len() && spans[k].1 <= x {
                    k += 1;
                }
                *px = spans.get(k).map_or([0; 3], |s| s.2);
            }
        }
        to_yuv(&self.rgb, mb);
    }
}

/// BT.601 limited range: Y in 16..=235, Cb and Cr in 16..=240; chroma from each 2x2 block's mean.
fn to_yuv(rgb: &[[u8; 3]; 256], mb: &mut Macroblock) {
    for (y, p) in mb.luma.iter_mut().zip(rgb) {
        let [r, g, b] = p.map(i32::from);
        *y = (16 + ((66 * r + 129 * g + 25 * b + 128) >> 8)) as u8;
    }
    for (i, (cb, cr)) in mb.cb.iter_mut().zip(mb.cr.iter_mut()).enumerate() {
        let at = (i / 8) * 32 + (i % 8) * 2;
        let mut sum = [0i32; 3];
        for p in [rgb[at], rgb[at + 1], rgb[at + 16], rgb[at + 17]] {
            for c in 0..3 {
                sum[c] += i32::from(p[c]);
            }
        }
        let [r, g, b] = sum;
        *cb = (128 + ((-38 * r - 74 * g + 112 * b + 512) >> 10)) as u8;
        *cr = (128 + ((112 * r - 94 * g - 18 * b + 512) >> 10)) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::h264::tests::{parse_sps, unescape, BitReader};
    use crate::media::image::tests::decode as decode_png;
    use crate::media::mp4::tests::{root, words};
    use crate::media::scene::tests::draw;

    /// One decoded picture: the Y, Cb and Cr planes at the coded size (whole macroblocks).
    #[derive(Clone)]
    struct Planes {
        wide: usize,
        y: Vec<u8>,
        cb: Vec<u8>,
        cr: Vec<u8>,
    }

    /// A decoded file: its display size, its pictures, and for each how many macroblocks it sent as
    /// I_PCM and how many it moved.
    struct Decoded {
        size: (u32, u32),
        frames: Vec<Planes>,
        coded: Vec<usize>,
        moves: Vec<usize>,
    }

    /// The motion vector predicted for the macroblock at `addr` (8.4.1.3), or the one a skipped one
    /// gets (8.4.1.1); `motion` holds the earlier macroblocks' (None: intra).
    fn predict(motion: &[Option<(i32, i32)>], wide: usize, addr: usize, skip: bool) -> (i32, i32) {
        let (x, y) = ((addr % wide) as isize, (addr / wide) as isize);
        // None: not available; Some((true, mv)): inter with reference 0; Some((false, 0)): intra.
        let at = |dx: isize, dy: isize| {
            let (nx, ny) = (x + dx, y + dy);
            (nx >= 0 && ny >= 0 && nx < wide as isize)
                .then(|| motion[ny as usize * wide + nx as usize].map_or((false, (0, 0)), |mv| (true, mv)))
        };
        let (a, b) = (at(-1, 0), at(0, -1));
        let zero = Some((true, (0, 0)));
        if skip && (a.is_none() || b.is_none() || a == zero || b == zero) {
            return (0, 0);
        }
        let c = at(1, -1).or(at(-1, -1));
        let (b, c) = if b.is_none() && c.is_none() && a.is_some() { (a, a) } else { (b, c) };
        let n = [a, b, c].map(|n| n.unwrap_or((false, (0, 0))));
        let refs: Vec<_> = n.iter().filter(|n| n.0).collect();
        if refs.len() == 1 {
            return refs[0].1;
        }
        let median = |mut v: [i32; 3]| {
            v.sort();
            v[1]
        };
        (median(n.map(|n| n.1 .0)), median(n.map(|n| n.1 .1)))
    }

    /// Motion compensation at whole-sample luma motion `mv` (quarter samples) that is also whole in
    /// chroma (a multiple of 8), reading outside the picture from its nearest edge sample.
    fn copy_block(reference: &Planes, planes: &mut Planes, addr: usize, mv: (i32, i32)) {
        assert!(mv.0 % 8 == 0 && mv.1 % 8 == 0, "{mv:?}: moves are whole and even");
        let (mx, my) = (addr % planes.wide, addr / planes.wide);
        for (src, dst, side, shift) in [
            (&reference.y, &mut planes.y, 16, 2),
            (&reference.cb, &mut planes.cb, 8, 3),
            (&reference.cr, &mut planes.cr, 8, 3),
        ] {
            let (stride, rows) = (planes.wide * side, src.len() / (planes.wide * side));
            for row in 0..side {
                for col in 0..side {
                    let sx =
                        ((mx * side + col) as i32 + (mv.0 >> shift)).clamp(0, stride as i32 - 1) as usize;
                    let sy = ((my * side + row) as i32 + (mv.1 >> shift)).clamp(0, rows as i32 - 1) as usize;
                    dst[(my * side + row) * stride + mx * side + col] = src[sy * stride + sx];
                }
            }
        }
    }

    /// Decodes the files [`mp4`] writes (I_PCM and P_Skip macroblocks only), checking every
    /// syntax element it reads.
    fn decode(file: &[u8]) -> Decoded {
        let root = root(file);
        let stbl = root.find("moov/trak/mdia/minf/stbl");
        let avcc = &file[stbl.find("stsd/avc1/avcC").body.clone()];
        let sps_len = u16::from_be_bytes([avcc[6], avcc[7]]) as usize;
        let sps = parse_sps(&avcc[8..8 + sps_len]);
        let (wide, high) = (sps.coded.0 as usize / 16, sps.coded.1 as usize / 16);
        let sizes = &words(file, stbl.find("stsz"))[2..];
        let offsets = &words(file, stbl.find("stco"))[1..];
        assert_eq!(words(file, stbl.find("stss")), [1, 1], "one sync sample: the first");
        let mut frames: Vec<Planes> = Vec::new();
        let (mut coded, mut moves) = (Vec::new(), Vec::new());
        for (i, (&at, &size)) in offsets.iter().zip(sizes).enumerate() {
            let sample = &file[at as usize..(at + size) as usize];
            let len = u32::from_be_bytes(sample[..4].try_into().unwrap()) as usize;
            assert_eq!(len + 4, sample.len(), "one NAL unit per sample");
            let idr = i == 0;
            assert_eq!(sample[4], if idr { 0x65 } else { 0x41 });
            let rbsp = unescape(&sample[5..]);
            let mut r = BitReader::new(&rbsp);
            assert_eq!((r.ue(), r.ue(), r.ue()), (0, if idr { 7 } else { 5 }, 0));
            assert_eq!(r.u(8), i as u64 % 256, "frame_num");
            let header: Vec<u64> =
                if idr { vec![u64::from(r.ue()), r.bit(), r.bit()] } else { vec![r.bit(), r.bit(), r.bit()] };
            assert_eq!(header, [0, 0, 0]);
            assert_eq!((r.se(), r.ue()), (0, 1), "qp delta 0, deblocking off");
            let mut planes = frames.last().cloned().unwrap_or(Planes {
                wide,
                y: vec![0; wide * high * 256],
                cb: vec![0; wide * high * 64],
                cr: vec![0; wide * high * 64],
            });
            let pcm = |r: &mut BitReader<'_>, planes: &mut Planes, addr: usize| {
                r.align();
                let (mx, my) = (addr % wide, addr / wide);
                for (plane, side) in [(&mut planes.y, 16), (&mut planes.cb, 8), (&mut planes.cr, 8)] {
                    for row in 0..side {
                        let at = (my * side + row) * wide * side + mx * side;
                        plane[at..at + side].copy_from_slice(r.bytes(side));
                    }
                }
            };
            let (total, mut addr, mut sent, mut moved) = (wide * high, 0, 0, 0);
            if idr {
                while addr < total {
                    assert_eq!(r.ue(), 25, "I_PCM");
                    pcm(&mut r, &mut planes, addr);
                    addr += 1;
                }
                sent = total;
            } else {
                let reference = frames.last().unwrap();
                let mut motion: Vec<Option<(i32, i32)>> = vec![None; total];
                loop {
                    let run = r.ue() as usize; // mb_skip_run
                    for _ in 0..run {
                        assert!(addr < total);
                        let mv = predict(&motion, wide, addr, true);
                        copy_block(reference, &mut planes, addr, mv);
                        (motion[addr], addr) = (Some(mv), addr + 1);
                    }
                    if run > 0 && r.at_trailing_bits() {
                        break;
                    }
                    assert!(addr < total);
                    match r.ue() {
                        30 => {
                            pcm(&mut r, &mut planes, addr);
                            sent += 1;
                        }
                        0 => {
                            let p = predict(&motion, wide, addr, false);
                            let mv = (p.0 + r.se(), p.1 + r.se());
                            assert_eq!(r.ue(), 0, "coded_block_pattern: no residual");
                            copy_block(reference, &mut planes, addr, mv);
                            motion[addr] = Some(mv);
                            moved += usize::from(mv != (0, 0));
                        }
                        other => panic!("mb_type {other}"),
                    }
                    addr += 1;
                    if r.at_trailing_bits() {
                        break;
                    }
                }
            }
            assert_eq!(addr, total, "the slice covers the picture");
            assert!(r.at_trailing_bits());
            frames.push(planes);
            coded.push(sent);
            moves.push(moved);
        }
        Decoded { size: sps.size, frames, coded, moves }
    }

    /// The visible part of `scene` in YUV, computed from whole-frame pixels (independently of the
    /// macroblock painter).
    fn expected(scene: &Scene) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let (w, h) = (scene.width() as usize, scene.height() as usize);
        let rgb = draw(scene);
        let px =
            |x: usize, y: usize| -> [i32; 3] { std::array::from_fn(|c| i32::from(rgb[(y * w + x) * 3 + c])) };
        let y = (0..w * h)
            .map(|i| {
                let [r, g, b] = px(i % w, i / w);
                (((66 * r + 129 * g + 25 * b + 128) >> 8) + 16) as u8
            })
            .collect();
        let (mut cb, mut cr) = (Vec::new(), Vec::new());
        for cy in 0..h / 2 {
            for cx in 0..w / 2 {
                let quad = [
                    px(2 * cx, 2 * cy),
                    px(2 * cx + 1, 2 * cy),
                    px(2 * cx, 2 * cy + 1),
                    px(2 * cx + 1, 2 * cy + 1),
                ];
                let [r, g, b]: [i32; 3] = std::array::from_fn(|c| quad.iter().map(|p| p[c]).sum());
                cb.push((((-38 * r - 74 * g + 112 * b + 512) >> 10) + 128) as u8);
                cr.push((((112 * r - 94 * g - 18 * b + 512) >> 10) + 128) as u8);
            }
        }
        (y, cb, cr)
    }

    /// The visible part of a plane `side` samples per macroblock wide.
    fn crop(plane: &[u8], stride: usize, w: usize, h: usize) -> Vec<u8> {
        (0..h).flat_map(|y| plane[y * stride..y * stride + w].iter().copied()).collect()
    }

    #[test]
    fn decodes_to_the_scene_frame_by_frame() {
        for (w, h, frames, fps, seed) in
            [(160, 96, 30, 24, 1), (90, 50, 12, 10, 2), (16, 16, 5, 1, 3), (200, 120, 40, 30, 4)]
        {
            let file = mp4(w, h, frames, fps, seed);
            let decoded = decode(&file);
            assert_eq!(decoded.size, (w, h));
            assert_eq!(decoded.frames.len(), frames as usize);
            let scene = Scene::new(w, h, seed);
            for (f, planes) in decoded.frames.iter().enumerate() {
                let (y, cb, cr) = expected(&scene.at(f as u32, fps));
                let (w, h) = (w as usize, h as usize);
                assert!(crop(&planes.y, planes.wide * 16, w, h) == y, "{w}x{h} frame {f}: luma");
                assert!(crop(&planes.cb, planes.wide * 8, w / 2, h / 2) == cb, "{w}x{h} frame {f}: Cb");
                assert!(crop(&planes.cr, planes.wide * 8, w / 2, h / 2) == cr, "{w}x{h} frame {f}: Cr");
            }
            let (keyframe, later) = (decoded.coded[0], &decoded.coded[1..]);
            assert!(later.iter().all(|&n| n <= keyframe));
            assert!(
                keyframe == 1 || later.iter().sum::<usize>() < keyframe * later.len(),
                "P frames re-send some"
            );
        }
    }

    #[test]
    fn a_still_scene_is_all_skips_after_the_keyframe() {
        let scene = Scene::new(640, 360, 5).frozen();
        let file = encode(&scene, 8, 24, MAX_MEDIA_BYTES);
        let decoded = decode(&file);
        assert_eq!(decoded.coded, [40 * 23, 0, 0, 0, 0, 0, 0, 0]);
        let sizes = &words(&file, root(&file).find("moov/trak/mdia/minf/stbl/stsz"))[2..];
        assert!(sizes[1..].iter().all(|&n| n < 12), "{sizes:?}");
    }

    #[test]
    fn moving_discs_resend_few_blocks() {
        // Most changed blocks move with their disc (a few bits each); few are sent anew (384 bytes).
        for seed in [0, 1] {
            let decoded = decode(&mp4(1280, 720, 24, 24, seed));
            let (sent, moved) =
                (decoded.coded[1..].iter().sum::<usize>(), decoded.moves[1..].iter().sum::<usize>());
            assert!(moved > sent && sent < 23 * 3600 / 20, "{sent} sent, {moved} moved");
        }
    }

    #[test]
    fn past_the_byte_budget_the_picture_freezes() {
        let scene = Scene::new(320, 240, 3);
        let keyframe = 20 * 15 * 386;
        let decoded = decode(&encode(&scene, 40, 24, keyframe + 10_000));
        let sent: Vec<usize> = decoded.coded.iter().zip(&decoded.moves).map(|(a, b)| a + b).collect();
        let frozen = sent.iter().rposition(|&n| n > 0).unwrap() + 1;
        assert!((2..30).contains(&frozen), "{sent:?}");
        assert_eq!(decoded.frames.len(), 40);
        assert!(decoded.frames[frozen..].iter().all(|f| f.y == decoded.frames[frozen - 1].y));
    }

    #[test]
    fn same_seed_same_file_and_seeds_differ() {
        assert_eq!(mp4(320, 240, 24, 24, 7), mp4(320, 240, 24, 24, 7));
        assert_ne!(mp4(320, 240, 24, 24, 7), mp4(320, 240, 24, 24, 8));
        assert_eq!(spritesheet_png(320, 240, 24, 24, 7, 6), spritesheet_png(320, 240, 24, 24, 7, 6));
    }

    #[test]
    fn frame_zero_is_the_image() {
        assert_eq!(frame_png(854, 480, 0, 24, 3), image::png(854, 480, 3));
        assert_ne!(frame_png(854, 480, 24, 24, 3), image::png(854, 480, 3));
    }

    #[test]
    fn spritesheet_tiles_frames_in_rows_of_five() {
        let (size, pixels) = decode_png(&spritesheet_png(1792, 1024, 288, 24, 9, 12));
        assert_eq!(size, (5 * 256, 3 * 146));
        let tile = draw(&Scene::new(256, 146, 9));
        let first: Vec<u8> = (0..146).flat_map(|y| pixels[y * 1280 * 3..][..256 * 3].to_vec()).collect();
        assert_eq!(first, tile, "tile 0 is frame 0 drawn at the tile's size");
        let empty = &pixels[(2 * 146 * 1280 + 4 * 256) * 3..][..256 * 3];
        assert!(empty.iter().all(|&b| b == 0), "cells after the last tile are black");
        let (size, _) = decode_png(&spritesheet_png(64, 48, 2, 24, 9, 10));
        assert_eq!(size, (2 * 64, 48), "no more tiles than frames");
    }

    #[test]
    fn any_input_is_clamped_not_a_panic() {
        assert_eq!(clamp_size(0, u32::MAX), (16, 4096));
        assert_eq!(clamp_size(855, 481), (854, 480));
        assert_eq!(frame_count(4.0, 24), 96);
        assert_eq!(frame_count(f64::NAN, 24), 1);
        assert_eq!(frame_count(1e30, 0), MAX_FRAMES);
        assert_eq!(frame_count(-3.0, 24), 1);
        assert_eq!(frame_count(0.5, 1000), 60);
        let decoded = decode(&mp4(0, 1, 0, 0, u64::MAX));
        assert_eq!((decoded.size, decoded.frames.len()), ((16, 16), 1));
        assert_eq!(decode_png(&frame_png(1, 1, u32::MAX, u32::MAX, 0)).0, (16, 16));
        assert_eq!(decode_png(&spritesheet_png(0, 0, 0, 0, 0, 0)).0, (16, 16));
    }
}
