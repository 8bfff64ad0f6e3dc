//! Embeddings' values on the decimal grid of step 1e-10, and their JSON text.
//!
//! An embedding's values are rounded once, where the vector is made, to the grid: `x` becomes the
//! f32 nearest to `k * 1e-10`, `k = round(x * 1e10)` ([`quantize`]). A JSON float list then prints
//! each value as the fixed-point decimal `round(x * 1e10) * 1e-10`, ten digits after the point with
//! the trailing zeros cut ([`array()`]): `0.0228335541`, `-0.004694547`, `0.0`, which is what
//! OpenAI's answers look like. Every printed value reads back (as f32, correctly rounded, as JSON
//! parsers read) to exactly the quantized value, so the float list and the base64 list of one
//! request carry the same float32 vector, bit for bit.
//!
//! Why the grid and not the shortest round-trip decimal (ryu): finding the shortest digits is a
//! search per value (~14 ns, ~21 us a 1536-dimension vector, a third of the request's CPU), while
//! a fixed-point decimal is plain integer arithmetic: the eight low digits are made side by side in
//! one 64-bit word (SWAR: two 4-digit halves, then 2-digit, then 1-digit lanes by multiply-shift),
//! stored with one unaligned write, and the trailing zeros counted with `leading_zeros` of that
//! word. Run-time detection picks the fastest writer; all give the same bytes (checked by this
//! file's tests): AVX-512 with VBMI2 (`avx512`, eight values at a time, their bytes packed by
//! `vpcompressb`, ~1.8 ns a value), AVX2 (`avx2`, four at a time, ~3.2 ns), the portable loop
//! (~7 ns); ryu takes ~15 ns (`cargo test --release -p fakeai_core decimal_grid_timing --
//! --ignored --nocapture`). The cost is ~7 % longer bodies than ryu's (20,736 against 19,357 bytes
//! for the benchmark's 1536 dimensions): where the grid is finer than f32's spacing (|x| >= 2^-10)
//! it prints digits past f32's precision, as OpenAI's own values show.
//!
//! Why every printed value reads back exactly: `x * 1e10` is exact in f64 (24 + 24 significant
//! bits), and the f64 rounding of the product `k * 1e-10` (error < 2^-51.9 relative) never crosses
//! an f32 rounding boundary, which lies at least 2^-49.2 (relative) from any `k / 10^10` (both are
//! dyadic apart from the 5^10 of the grid's denominator). Where the grid is finer than f32's
//! spacing, `round(q * 1e10)` of a quantized `q` is within half a step (5e-11) of `q`, under half of
//! `q`'s spacing, so it reads back as `q`; where it is coarser, `round(q * 1e10)` is `k` itself. So
//! [`quantize`] is idempotent and `parse(text(q)) == q` for every `|q| < 1` (the cargo tests check
//! it densely over the range and at every edge, and every f32 below 1 in an ignored test). The same
//! margin makes reading the text as f64 first, then rounding to f32 (Python's `json` then numpy or
//! `array("f")`, JavaScript's `Number` then `Float32Array`), give the same float. Values of
//! magnitude 1 or more (`dimensions: 1` gives ±1) are on the grid already and are printed by ryu
//! (`1.0`, never a bare `1`); non-finite values, which fakeai never makes, print as `0.0`.
//!
//! Measured and dropped: zmij (Schubfach) is slower than ryu for f32; an exact fixed-point writer
//! byte-identical to ryu was no faster than ryu writing in place; a correctly rounded fixed
//! 9-significant-digit writer is 2x faster than ryu but prints values like `0.100000001` and bodies
//! ~8 % longer.

/// 1.5 * 2^52: added to an f64 of magnitude below 2^51, it leaves the value rounded to an integer
/// (ties to even) in the low bits of the sum's mantissa (`f64::round` is a libm call without SSE4.1).
const MAGIC: f64 = 6_755_399_441_055_744.0;
/// Grid steps in 1.
const SCALE: f64 = 1e10;
/// The ten digits' value of the first two (`k / 10^8`).
const HIGH: u64 = 100_000_000;
/// Most bytes one value takes (a comma, and ryu's longest: sign, 9 digits, point, exponent), and
/// the slack past the last value that the 8-byte stores may write into.
const MAX_LEN: usize = 17;
const SLACK: usize = 16;
const ASCII_ZEROS: u64 = 0x3030_3030_3030_3030;

#[cfg(target_arch = "x86_64")]
mod x86;
#[cfg(target_arch = "x86_64")]
use x86::{avx2, avx512};

/// Rounds every value of `v` of magnitude below 1 to the f32 nearest to the grid point
/// `round(x * 1e10) * 1e-10`; larger and non-finite values are left as they are.
pub fn quantize(v: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F, checked just above.
        unsafe { quantize_avx512(v) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { quantize_avx2(v) };
        return;
    }
    v.iter_mut().for_each(|x| *x = quantized(*x));
}

/// The same loop, compiled for AVX2 (four values per step).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn quantize_avx2(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = quantized(*x));
}

/// The same loop, compiled for AVX-512F (eight values per step).
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn quantize_avx512(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = quantized(*x));
}

#[inline(always)]
fn quantized(x: f32) -> f32 {
    if x.abs() < 1.0 {
        (((f64::from(x) * SCALE + MAGIC) - MAGIC) * (1.0 / SCALE)) as f32
    } else {
        x
    }
}

/// The most bytes [`array()`] needs for `n` values (its reservation).
pub fn max_array_len(n: usize) -> usize {
    n * MAX_LEN + 2 + SLACK
}

/// Appends `v` as a JSON array of its values on the grid (see the module's docs): the text of
/// `round(x * 1e10) * 1e-10` for `|x| < 1`, which reads back as `x` when `x` is quantized.
pub fn array(buf: &mut Vec<u8>, v: &[f32]) {
    if v.is_empty() {
        buf.extend_from_slice(b"[]");
        return;
    }
    buf.reserve(max_array_len(v.len()));
    let start = buf.len();
    // Each value is written with its leading comma; the first comma then becomes the `[`.
    // SAFETY: `buf` has room for every value at its longest and the slack.
    let end = unsafe { values(buf.as_mut_ptr(), start, v) };
    // SAFETY: the writer initialised every byte from `start` to `end`, within the reserved room.
    unsafe {
        *buf.as_mut_ptr().add(start) = b'[';
        *buf.as_mut_ptr().add(end) = b']';
        buf.set_len(end + 1);
    }
}

/// Writes `,x` for every value of `v` from `base + pos`; returns where the text ends.
///
/// # Safety
/// `base` must be writable for `v.len() * MAX_LEN + SLACK` bytes from `pos`.
unsafe fn values(base: *mut u8, pos: usize, v: &[f32]) -> usize {
    #[cfg(target_arch = "x86_64")]
    if avx512::detected() {
        // SAFETY: the CPU supports what the writer needs, checked just above; the caller's room.
        return unsafe { avx512::write(base, pos, v) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("lzcnt") {
        // SAFETY: the CPU supports AVX2 and LZCNT, checked just above; the caller's room.
        return unsafe { avx2::write(base, pos, v) };
    }
    // SAFETY: the caller's room.
    unsafe { portable(base, pos, v) }
}

/// [`values`] one value after another, on any CPU.
///
/// # Safety
/// As [`values`].
unsafe fn portable(base: *mut u8, mut pos: usize, v: &[f32]) -> usize {
    for &x in v {
        // SAFETY: the caller's room.
        pos = unsafe { value(base, pos, x) };
    }
    pos
}

/// Writes `,x` at `base + pos`; returns where it ends.
///
/// # Safety
/// `base` must be writable for `MAX_LEN + SLACK` bytes from `pos`.
#[inline(always)]
unsafe fn value(base: *mut u8, pos: usize, x: f32) -> usize {
    if x.abs() >= 1.0 || x.is_nan() {
        // SAFETY: the caller's room.
        return unsafe { large(base, pos, x) };
    }
    let d = f64::from(x) * SCALE + MAGIC;
    let q = (d.to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64);
    let neg = u64::from(q < 0);
    let k = q.unsigned_abs();
    let high = k / HIGH;
    let tens = high / 10;
    let head = 0x3030_2E30 | (tens << 16) | ((high - tens * 10) << 24);
    let pre = if neg == 1 { (head << 16) | 0x2D2C } else { (head << 8) | 0x2C };
    // SAFETY: the caller's room.
    unsafe { put(base, pos, pre, neg as usize, eight(k - high * HIGH)) }
}

/// Writes one value's text at `base + pos`: `pre` (`,`, a `-` when `neg` is 1, `0.` and the first
/// two digits, the rest of the word ignored) then the eight `digits` (their values, a byte each, the
/// first in the lowest byte), the trailing zeros cut (but the first digit after the point kept).
///
/// # Safety
/// `base` must be writable for 16 bytes from `pos`.
#[inline(always)]
unsafe fn put(base: *mut u8, pos: usize, pre: u64, neg: usize, digits: u64) -> usize {
    let at = pos + 5 + neg;
    // SAFETY: the caller's room (`at + 8 <= pos + 14`).
    unsafe {
        std::ptr::write_unaligned(base.add(pos).cast::<u64>(), pre);
        std::ptr::write_unaligned(base.add(at).cast::<u64>(), digits | ASCII_ZEROS);
    }
    if digits == 0 {
        // all eight are zeros: cut them, and the second digit too when it is a zero
        at - usize::from((pre >> (32 + 8 * neg)) as u8 == b'0')
    } else {
        at + 8 - digits.leading_zeros() as usize / 8
    }
}

/// A value of magnitude 1 or more as ryu writes it (`1.0`, `-1.0`), a non-finite one as `0.0`.
///
/// # Safety
/// `base` must be writable for `MAX_LEN` bytes from `pos`.
#[cold]
unsafe fn large(base: *mut u8, pos: usize, x: f32) -> usize {
    // SAFETY: the caller's room: a comma and ryu's longest (16 bytes), which `format32` requires.
    unsafe {
        *base.add(pos) = b',';
        if x.is_finite() {
            pos + 1 + ryu::raw::format32(x, base.add(pos + 1))
        } else {
            std::ptr::copy_nonoverlapping(b"0.0".as_ptr(), base.add(pos + 1), 3);
            pos + 4
        }
    }
}

/// The eight decimal digits of `n` (< 10^8), a byte each, the first in the lowest byte: the two
/// 4-digit halves in the word's two 32-bit halves, then each split into 2-digit 16-bit lanes, then
/// into digits (each division a multiply and a shift, exact for these ranges).
#[inline(always)]
fn eight(n: u64) -> u64 {
    let x = (n / 10_000) | ((n % 10_000) << 32);
    let hundreds = ((x * 10_486) >> 20) & 0x0000_007F_0000_007F;
    let pairs = hundreds | ((x - hundreds * 100) << 16);
    let tens = ((pairs * 103) >> 10) & 0x000F_000F_000F_000F;
    tens | ((pairs - tens * 10) << 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each writer this CPU can run, by name.
    type Writer = (&'static str, unsafe fn(*mut u8, usize, &[f32]) -> usize);

    fn writers() -> Vec<Writer> {
        let mut all: Vec<Writer> = vec![("portable", portable)];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("lzcnt") {
            all.push(("avx2", avx2::write));
        }
        #[cfg(target_arch = "x86_64")]
        if avx512::detected() {
            all.push(("avx512", avx512::write));
        }
        all
    }

    /// `v` as a JSON array by the writer `w`.
    fn text_by(w: Writer, v: &[f32]) -> String {
        let mut buf = vec![b'x'; 3];
        buf.reserve(max_array_len(v.len()));
        // SAFETY: the room reserved as `array` does.
        unsafe {
            let end = (w.1)(buf.as_mut_ptr(), 3, v);
            *buf.as_mut_ptr().add(3) = b'[';
            *buf.as_mut_ptr().add(end) = b']';
            buf.set_len(end + 1);
        }
        String::from_utf8(buf.split_off(3)).unwrap()
    }

    /// `v` as every writer writes it (all the same, checked), and as [`array()`] does.
    fn text(v: &[f32]) -> String {
        let mut buf = Vec::new();
        array(&mut buf, v);
        let want = String::from_utf8(buf).unwrap();
        if !v.is_empty() {
            for w in writers() {
                assert_eq!(text_by(w, v), want, "{}", w.0);
            }
        }
        want
    }

    fn quantized_one(x: f32) -> f32 {
        let mut v = [x];
        quantize(&mut v);
        assert_eq!(v[0].to_bits(), quantized(x).to_bits(), "the AVX2 loop and the portable one agree");
        v[0]
    }

    /// `x`'s text reads back as `quantize(x)`, and `quantize` is idempotent there.
    fn check(x: f32) {
        let q = quantized_one(x);
        assert_eq!(quantized_one(q).to_bits(), q.to_bits(), "idempotent at {x:e}");
        for y in [x, q] {
            let t = text(&[y]);
            let number = &t[1..t.len() - 1];
            assert!(number.contains('.'), "{number}: a float, not an integer");
            let back: f32 = number.parse().unwrap();
            assert_eq!(back.to_bits(), q.to_bits(), "{y:e} printed as {number}");
            let json: f64 = serde_json::from_str(number).unwrap();
            assert_eq!((json as f32).to_bits(), q.to_bits(), "{number} as JSON");
        }
    }

    /// The finite values `0..n` ulps on each side of `x` and of `-x`.
    fn around(x: f32, n: u32) -> impl Iterator<Item = f32> {
        (0..n).flat_map(move |i| {
            [x.to_bits().wrapping_add(i), x.to_bits().wrapping_sub(i)]
                .map(f32::from_bits)
                .into_iter()
                .flat_map(|y| [y, -y])
                .filter(|y| y.is_finite())
        })
    }

    #[test]
    fn what_the_values_look_like() {
        assert_eq!(text(&[]), "[]");
        assert_eq!(text(&[0.0]), "[0.0]");
        assert_eq!(text(&[-0.0, 1.0, -1.0, 0.5, -0.25]), "[0.0,1.0,-1.0,0.5,-0.25]");
        assert_eq!(text(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 2.5]), "[0.0,0.0,0.0,2.5]");
        let q = |x: f32| quantized_one(x);
        assert_eq!(text(&[q(0.002_306_425_5), q(-0.000_932_729_2)]), "[0.0023064255,-0.0009327292]");
        assert_eq!(
            text(&[q(1e-10), q(-4e-11), q(-6e-11), q(f32::from_bits(1e-4f32.to_bits() - 1))]),
            "[0.0000000001,0.0,-0.0000000001,0.0001]"
        );
        // nine digits, then the grid is finer than f32's spacing: the digits of the value itself
        assert_eq!(text(&[0.1]), "[0.1000000015]");
        assert_eq!(text(&[q(0.999_999_94)]), "[0.9999999404]");
    }

    #[test]
    fn every_value_reads_back_as_its_quantized_float() {
        let edges = [
            0.0f32,
            f32::from_bits(1),
            f32::MIN_POSITIVE,
            1e-12,
            4.9e-11,
            5e-11,
            5.1e-11,
            1e-10,
            1.5e-10,
            1e-9,
            1e-8,
            1e-7,
            1e-6,
            1e-5,
            1e-4,
            1e-3,
            1e-2,
            0.1,
            // where the grid's step meets f32's spacing (2^-33 = 1.16e-10 from 2^-10 up)
            1.0 / 1024.0,
            1.0 / 512.0,
            1.0 / 2048.0,
            0.5,
            0.25,
            0.999_999_94,
            1.0,
            1.000_000_1,
            3.0,
            f32::MAX,
        ];
        for x in edges {
            around(x, 2048).for_each(check);
        }
        // the whole range of magnitudes below 1, 997 bit patterns apart
        for bits in (0..0x3f80_0000u32).step_by(997) {
            check(f32::from_bits(bits));
            check(-f32::from_bits(bits));
        }
        // an embedding's usual values, densely: |x| < 0.2 in steps near f32's spacing at 0.1
        for i in 0..400_000 {
            let x = i as f32 * 5e-7;
            check(x);
            check(-x);
        }
    }

    /// Every f32 below 1 in magnitude, and each one's quantized value, 4096 at a time (a few
    /// minutes in release): `cargo test --release -p fakeai_core every_value_below_one -- --ignored`.
    #[test]
    #[ignore = "exhaustive: run by hand in release"]
    fn every_value_below_one_reads_back() {
        let all = (0..0x3f80_0000u32).map(f32::from_bits).flat_map(|x| [x, -x]);
        let mut v = Vec::with_capacity(4096);
        let mut q = Vec::with_capacity(4096);
        let mut all = all.peekable();
        while all.peek().is_some() {
            v.clear();
            v.extend(all.by_ref().take(4096));
            q.clear();
            q.extend_from_slice(&v);
            quantize(&mut q);
            for (x, y) in v.iter().zip(&q) {
                assert_eq!(quantized(*x).to_bits(), y.to_bits());
                assert_eq!(quantized(*y).to_bits(), y.to_bits(), "idempotent at {x:e}");
            }
            for input in [&v, &q] {
                let t = text(input);
                for (number, want) in t[1..t.len() - 1].split(',').zip(&q) {
                    assert_eq!(number.parse::<f32>().unwrap().to_bits(), want.to_bits(), "{number}");
                }
            }
        }
    }

    /// The AVX2 writer's divisions: `n / d == n * m >> s` for every `n` below `bound`, because
    /// `bound * (m * d - 2^s) <= 2^s` (and `m`, the multiplier, fits the 32 bits `mul_epu32` takes).
    #[test]
    fn the_reciprocals_are_exact_below_their_bounds() {
        for (d, m, s, bound) in [
            (390_625u64, 90_071_993u64, 45, 1u64 << 26),
            (1_000_000, 1_125_899_907, 50, 1 << 27),
            (10_000, 3_518_437_209, 45, 1 << 27),
            (100, 2_748_779_070, 38, 1 << 27),
        ] {
            assert!(m < 1 << 32 && m * d >= 1 << s);
            assert!(u128::from(bound) * u128::from(m * d - (1 << s)) <= 1 << s, "{d}");
            for n in (0..bound).step_by(9973).chain(bound - 1000..bound) {
                assert_eq!((n * m) >> s, n / d, "{n} / {d}");
            }
        }
    }

    #[test]
    fn the_writers_agree_on_every_length_and_mix() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for n in 0..40 {
            for _ in 0..50 {
                let v: Vec<f32> = (0..n)
                    .map(|_| match next() % 16 {
                        0 => 1.0,
                        1 => -1.0,
                        2 => f32::NAN,
                        3 => 0.0,
                        4 => ((next() % 2_000_001) as f32 - 1e6) * 1e-16,
                        _ => ((next() % 2_000_001) as f32 - 1e6) * 1e-6,
                    })
                    .collect();
                let t = text(&v); // every writer's text is the same
                let back: Vec<f32> = serde_json::from_str(&t).unwrap();
                let want: Vec<f32> = v.iter().map(|x| if x.is_nan() { 0.0 } else { quantized(*x) }).collect();
                assert_eq!(back, want);
            }
        }
    }
}

/// Nanoseconds per value of each step over a 1536-dimension embedding, beside ryu:
/// `cargo test --release -p fakeai_core decimal_grid_timing -- --ignored --nocapture`.
#[cfg(test)]
mod timing {
    use super::*;
    use crate::scoring::embedding::{embed, Input};
    use std::hint::black_box;
    use std::time::Instant;

    fn per_value(v: &[f32], mut f: impl FnMut()) -> f64 {
        let rounds = 4000;
        (0..5)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..rounds {
                    f();
                }
                t.elapsed().as_secs_f64() * 1e9 / (rounds * v.len()) as f64
            })
            .fold(f64::INFINITY, f64::min)
    }

    #[test]
    #[ignore = "timing: run by hand in release"]
    fn decimal_grid_timing() {
        let v =
            embed(&Input::Text("The quick brown fox jumps over the lazy dog, quarterly revenue grew"), 1536);
        let mut buf = Vec::with_capacity(max_array_len(v.len()));
        let mut w = v.clone();
        let quantize_ns = per_value(&v, || {
            w.copy_from_slice(&v);
            quantize(black_box(&mut w));
        });
        let copy_ns = per_value(&v, || w.copy_from_slice(black_box(&v)));
        let array_ns = per_value(&v, || {
            buf.clear();
            array(&mut buf, black_box(&v));
        });
        let grid_len = buf.len();
        let mut writers = String::new();
        type Writer = (&'static str, unsafe fn(*mut u8, usize, &[f32]) -> usize);
        let mut all: Vec<Writer> = vec![("portable", portable)];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("lzcnt") {
                all.push(("avx2", avx2::write));
            }
            if avx512::detected() {
                all.push(("avx512", avx512::write));
            }
        }
        for (name, write) in all {
            let ns = per_value(&v, || {
                buf.clear();
                // SAFETY: the room `array` reserves; each writer's CPU features are there.
                unsafe { write(buf.as_mut_ptr(), 0, black_box(&v)) };
            });
            writers += &format!(", {name} {ns:.2}");
        }
        let ryu_ns = per_value(&v, || {
            buf.clear();
            for x in black_box(&v) {
                crate::render::json::float(&mut buf, *x);
                buf.push(b',');
            }
        });
        println!(
            "ns per value: quantize {:.2}, array {array_ns:.2} ({grid_len} bytes){writers}, ryu {ryu_ns:.2} ({} bytes)",
            quantize_ns - copy_ns,
            buf.len() + 1
        );
    }
}
