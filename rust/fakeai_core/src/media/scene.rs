//! The generated picture that images and videos share: a vertical two-colour gradient with a few
//! filled discs and bars on it, deterministic from a seed, and its animation: the discs slide sideways
//! and bounce off the left and right edges; the bars and the gradient stay. Sideways because the
//! gradient is vertical: a disc's surroundings shifted sideways are the same pixels, so a video frame
//! can copy them from the previous one (see [`Scene::alone_in`]) instead of sending them again.
//!
//! A scene is described row by row as a handful of flat colour spans, computed directly (never as
//! pixels): [`crate::media::image`] turns spans into PNG runs, [`crate::media::video`] paints only the
//! macroblocks a moving disc touched. Every position is an integer function of the seed, the size and
//! the time, so the same `(seed, width, height, frame, fps)` always draws the same pixels, and the
//! scene drawn at a smaller size is the same picture scaled down (positions and sizes are fractions of
//! the size, drawn by [`Rng::below`]'s multiply-shift).

use crate::rng::Rng;

const SHAPES: usize = 6;

/// A filled disc or an axis-aligned bar.
#[derive(Clone, Copy)]
pub(crate) struct Shape {
    disc: bool,
    cx: i64,
    cy: i64,
    /// Radius of a disc, or half-width of a bar.
    r: i64,
    /// Half-height of a bar.
    h: i64,
    color: [u8; 3],
    /// Where a disc's centre is at time 0, and its horizontal velocity in pixels per second (bars
    /// never move).
    origin: i64,
    velocity: i64,
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

    /// The rows `[y0, y1)` this shape can cover.
    fn rows(&self) -> (i64, i64) {
        let half = if self.disc { self.r } else { self.h };
        (self.cy - half, self.cy + half + 1)
    }
}

/// One flat run of a row: pixels `x0..x1` of one colour.
pub(crate) type Span = (usize, usize, [u8; 3]);

/// The picture for one seed and size, at one time.
#[derive(Clone)]
pub(crate) struct Scene {
    width: u32,
    height: u32,
    top: [u8; 3],
    bottom: [u8; 3],
    shapes: Vec<Shape>,
}

impl Scene {
    /// The scene for `seed` at time 0.
    pub(crate) fn new(width: u32, height: u32, seed: u64) -> Self {
        let (w, h) = (i64::from(width), i64::from(height));
        let mut rng = Rng::new(seed);
        let (top, bottom) = (color(&mut rng), color(&mut rng));
        let short = w.min(h).max(1);
        let mut shapes: Vec<Shape> = (0..SHAPES)
            .map(|i| {
                let (cx, cy) = (rng.below(w.max(1) as u64) as i64, rng.below(h.max(1) as u64) as i64);
                Shape {
                    disc: i % 2 == 0,
                    cx,
                    cy,
                    r: short / 16 + rng.below((short / 5).max(1) as u64) as i64,
                    h: short / 40 + rng.below((short / 12).max(1) as u64) as i64,
                    color: color(&mut rng),
                    origin: cx,
                    velocity: 0,
                }
            })
            .collect();
        // The motion has its own stream, so the still picture is the one images have always drawn.
        // A disc crosses the short side in 4 to 16 seconds: a few pixels a frame at 24 fps.
        let mut motion = Rng::keyed(seed, b"motion");
        for s in shapes.iter_mut().filter(|s| s.disc) {
            let speed = short / 16 + motion.below((short / 6).max(1) as u64) as i64;
            s.velocity = if motion.below(2) == 0 { speed } else { -speed };
        }
        Self { width, height, top, bottom, shapes }
    }

    pub(crate) fn width(&self) -> u32 {
        self.width
    }

    pub(crate) fn height(&self) -> u32 {
        self.height
    }

    /// The same scene at frame `frame` of a `fps` video: each disc has slid sideways from its place
    /// at time 0, bouncing off the left and right edges (its centre stays inside the frame).
    ///
    /// Discs move in steps of two pixels (a bounce keeps the parity: the fold's period is even), so
    /// a disc moves by an even number of pixels between any two frames: moved 4:2:0 chroma then
    /// stays aligned to its 2x2 blocks.
    pub(crate) fn at(&self, frame: u32, fps: u32) -> Self {
        let fps = i64::from(fps.max(1));
        let t = i64::from(frame);
        let mut moved = self.clone();
        for s in moved.shapes.iter_mut().filter(|s| s.disc) {
            s.cx = bounce(s.origin + 2 * (s.velocity * t).div_euclid(2 * fps), i64::from(self.width));
        }
        moved
    }

    /// How far shape `i` moved from `earlier` (the same scene at another time) to `self`.
    pub(crate) fn displacement(&self, earlier: &Scene, i: usize) -> (i64, i64) {
        match (self.shapes.get(i), earlier.shapes.get(i)) {
            (Some(a), Some(b)) => (a.cx - b.cx, a.cy - b.cy),
            _ => (0, 0),
        }
    }

    /// `Some(dx)` when the pixels of `rect` (`[x0, x1) x [y0, y1)`) are those of `before` (the same
    /// scene at another time) `dx` pixels to the left, with disc `i` having moved sideways by `dx`:
    /// both rectangles lie inside the picture, and every other shape covers each row of the two
    /// together either nowhere or all across, alike in both scenes. Then each such row holds the
    /// same colours under and over disc `i` all along (the gradient's is the same along a row), and
    /// the disc moved with the block. `None` when that cannot be told this way.
    pub(crate) fn moved_block(
        &self,
        before: &Scene,
        i: usize,
        (x0, y0, x1, y1): (i64, i64, i64, i64),
    ) -> Option<i64> {
        let (dx, dy) = self.displacement(before, i);
        let (width, height) = (i64::from(self.width), i64::from(self.height));
        let (u0, u1) = (x0.min(x0 - dx), x1.max(x1 - dx)); // the two rectangles' columns together
        if dy != 0 || u0 < 0 || u1 > width || y0 < 0 || y1 > height || y0 >= y1 {
            return None;
        }
        // Whether `s` covers row `y` of [u0, u1) nowhere (false) or all across (true); None: partly.
        let cover = |s: &Shape, y: i64| match s.span(y, width) {
            None => Some(false),
            Some((a, b)) if b as i64 <= u0 || a as i64 >= u1 => Some(false),
            Some((a, b)) => (a as i64 <= u0 && b as i64 >= u1).then_some(true),
        };
        let alike = self.shapes.iter().zip(&before.shapes).enumerate().all(|(j, (now, then))| {
            let ((a0, a1), (b0, b1)) = (now.rows(), then.rows());
            let rows = y0.max(a0.min(b0))..y1.min(a1.max(b1));
            j == i
                || rows
                    .into_iter()
                    .all(|y| matches!((cover(now, y), cover(then, y)), (Some(a), Some(b)) if a == b))
        });
        alike.then_some(dx)
    }

    /// The same scene with nothing moving.
    #[cfg(test)]
    pub(crate) fn frozen(mut self) -> Self {
        self.shapes.iter_mut().for_each(|s| s.velocity = 0);
        self
    }

    /// The spans of row `y`, left to right, covering the whole width (`tmp` is scratch space).
    pub(crate) fn row(&self, y: u32, spans: &mut Vec<Span>, tmp: &mut Vec<Span>) {
        let t = if self.height > 1 { y.min(self.height - 1) * 255 / (self.height - 1) } else { 0 };
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

    /// Calls `mark(i, y, x0, x1)` for row intervals that hold every pixel that differs between `self`
    /// and `other`, the same scene at another time, `i` being the disc that moved there.
    ///
    /// A pixel takes the colour of the last shape painted over it, or the gradient's, and only discs
    /// move: so a pixel that changed is covered by some disc in one scene and not in the other. Each
    /// moved disc marks, row by row, the symmetric difference of its two spans (its leading and
    /// trailing edges). Nothing changed is missed; a marked pixel may still look the same (hidden
    /// under a shape painted later, or a disc over one of its own colour).
    pub(crate) fn changes(&self, other: &Scene, mut mark: impl FnMut(usize, u32, usize, usize)) {
        let width = i64::from(self.width);
        for (i, (a, b)) in self.shapes.iter().zip(&other.shapes).enumerate() {
            if !a.disc || (a.cx, a.cy) == (b.cx, b.cy) {
                continue;
            }
            let ((a0, a1), (b0, b1)) = (a.rows(), b.rows());
            let rows = a0.min(b0).max(0)..a1.max(b1).min(i64::from(self.height));
            for y in rows {
                match (a.span(y, width), b.span(y, width)) {
                    (Some((p0, p1)), Some((q0, q1))) if p0 < q1 && q0 < p1 => {
                        for (lo, hi) in [(p0.min(q0), p0.max(q0)), (p1.min(q1), p1.max(q1))] {
                            if lo < hi {
                                mark(i, y as u32, lo, hi);
                            }
                        }
                    }
                    (p, q) => {
                        for (lo, hi) in p.into_iter().chain(q) {
                            mark(i, y as u32, lo, hi);
                        }
                    }
                }
            }
        }
    }
}

/// `p` folded into `0..size` as a point bouncing between the two ends (a triangle wave).
fn bounce(p: i64, size: i64) -> i64 {
    let period = 2 * (size - 1);
    if period <= 0 {
        return 0;
    }
    let m = p.rem_euclid(period);
    if m < size {
        m
    } else {
        period - m
    }
}

fn color(rng: &mut Rng) -> [u8; 3] {
    [rng.below(256) as u8, rng.below(256) as u8, rng.below(256) as u8]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The RGB pixels of `scene`, filled span by span (checking the spans tile each row).
    pub(crate) fn draw(scene: &Scene) -> Vec<u8> {
        let (width, height) = (scene.width(), scene.height());
        let (mut spans, mut tmp) = (Vec::new(), Vec::new());
        let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
        for y in 0..height {
            scene.row(y, &mut spans, &mut tmp);
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

    #[test]
    fn bounce_stays_inside_and_reflects() {
        assert_eq!((0..12).map(|p| bounce(p, 4)).collect::<Vec<_>>(), [0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1]);
        assert_eq!(bounce(-1, 4), 1);
        assert_eq!(bounce(i64::MAX / 2, 1), 0);
        assert!((-50..50).all(|p| (0..7).contains(&bounce(p, 7))));
    }

    #[test]
    fn discs_move_bars_and_gradient_stay() {
        let scene = Scene::new(320, 240, 9);
        let later = scene.at(24, 24);
        assert_eq!(
            scene.at(0, 24).shapes.iter().map(|s| (s.cx, s.cy)).collect::<Vec<_>>(),
            scene.shapes.iter().map(|s| (s.cx, s.cy)).collect::<Vec<_>>()
        );
        for (a, b) in scene.shapes.iter().zip(&later.shapes) {
            assert_eq!(a.disc, (a.cx, a.cy) != (b.cx, b.cy), "only discs move (and every disc does)");
            assert!((0..320).contains(&b.cx) && (0..240).contains(&b.cy));
        }
        // The same instant at another frame rate is the same picture.
        assert_eq!(draw(&scene.at(48, 24)), draw(&scene.at(60, 30)));
    }

    #[test]
    fn changes_cover_every_changed_pixel() {
        for (w, h, seed) in [(320, 240, 1), (97, 203, 2), (64, 64, 3)] {
            let scene = Scene::new(w, h, seed);
            let mut prev = draw(&scene);
            for frame in 1..30 {
                let now = scene.at(frame, 10);
                let pixels = draw(&now);
                let mut marked = vec![false; (w * h) as usize];
                now.changes(&scene.at(frame - 1, 10), |_, y, x0, x1| {
                    for x in x0..x1 {
                        marked[y as usize * w as usize + x] = true;
                    }
                });
                for (i, (a, b)) in prev.chunks(3).zip(pixels.chunks(3)).enumerate() {
                    assert!(a == b || marked[i], "pixel {i} changed unmarked at frame {frame}");
                }
                prev = pixels;
            }
        }
    }

    #[test]
    fn a_moved_block_is_the_old_pixels_shifted() {
        let (w, h) = (320i64, 240i64);
        let (mut copies, mut checked) = (0, 0);
        for seed in 0..3 {
            let scene = Scene::new(w as u32, h as u32, seed);
            for frame in 1..20 {
                let (prev, now) = (scene.at(frame - 1, 12), scene.at(frame, 12));
                let (old, new) = (draw(&prev), draw(&now));
                let px = |pixels: &'_ [u8], x: i64, y: i64| -> [u8; 3] {
                    std::array::from_fn(|c| pixels[((y * w + x) * 3) as usize + c])
                };
                for i in (0..SHAPES).filter(|&i| now.shapes[i].disc) {
                    let (dx, dy) = now.displacement(&prev, i);
                    assert_eq!((dx % 2, dy), (0, 0), "discs move sideways, by even steps");
                    let (d, (top, bottom)) = (&now.shapes[i], now.shapes[i].rows());
                    let near = |x: i64, y: i64| {
                        x + 16 > d.cx - d.r - dx.abs()
                            && x < d.cx + d.r + dx.abs()
                            && y + 16 > top
                            && y < bottom
                    };
                    for (x0, y0) in
                        (0..h - 15).step_by(5).flat_map(|y| (0..w - 15).step_by(7).map(move |x| (x, y)))
                    {
                        if !near(x0, y0) {
                            continue;
                        }
                        let Some(dx) = now.moved_block(&prev, i, (x0, y0, x0 + 16, y0 + 16)) else {
                            continue;
                        };
                        checked += 1;
                        let same = (y0..y0 + 16)
                            .all(|y| (x0..x0 + 16).all(|x| px(&new, x, y) == px(&old, x - dx, y)));
                        assert!(same, "seed {seed}, frame {frame}, disc {i}, block at ({x0}, {y0})");
                        let moved =
                            (y0..y0 + 16).any(|y| (x0..x0 + 16).any(|x| px(&new, x, y) != px(&old, x, y)));
                        copies += usize::from(moved);
                    }
                }
            }
        }
        assert!(checked > 5000 && copies > 2000, "{checked} blocks checked, {copies} of them changed");
    }
}
