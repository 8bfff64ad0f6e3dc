//! L2 normalisation of an embedding: its squared length summed in a fixed order of sixteen lanes,
//! then every value scaled by the length's reciprocal.
//!
//! The order: lane `l` (0..16) sums `x[i] * x[i]` for `i = l, l + 16, l + 32, ...` one after
//! another from `+0.0` (a value past the end counts as `+0.0`, which changes no sum of squares), then
//! the lanes are combined pairwise, `l + 8` into `l`, then `l + 4`, `l + 2`, `l + 1`. Sixteen
//! independent chains run sixteen times faster than one: summed one value after another, each of a
//! 1536-value vector's additions waited for the one before (1.4-2.2 us; this takes ~0.1 us).
//!
//! The scaling is `(x as f64 * (1.0 / norm as f64)) as f32`: within one ulp of the division `x /
//! norm` (the reciprocal and the product are each rounded in f64, 2^-53 relative, before the one
//! rounding to f32; they differ from the division only where its quotient lies within ~2^-52 of a
//! halfway point between two f32 values), and at 16 values per AVX-512 step a few times cheaper than
//! sixteen-lane divisions, which cost ~0.3 us for 1536 values.
//!
//! Each lane's chain and the combination are the same IEEE operations (a multiply, then an add:
//! never a fused multiply-add) in the same order on every path, as are the scaling's conversions and
//! product, so AVX-512F, AVX2 (detected at run time) and the portable loop agree bit for bit
//! (checked by this file's tests).

const LANES: usize = 16;

/// Scales `v` by the reciprocal of its L2 norm; `false` (and `v` unchanged) when that norm is zero.
pub fn normalise(v: &mut [f32]) -> bool {
    let norm = sum_of_squares(v).sqrt();
    if norm > 0.0 {
        scale(v, 1.0 / f64::from(norm));
        true
    } else {
        false
    }
}

/// The sum of `v`'s squares in the order of the module's docs.
pub fn sum_of_squares(v: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F, checked just above.
        return combine(unsafe { avx512::lanes(v) });
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return combine(unsafe { avx2::lanes(v) });
    }
    combine(portable_lanes(v))
}

/// Multiplies every value of `v` by `r` in f64, rounding each product to f32.
fn scale(v: &mut [f32], r: f64) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F, checked just above.
        unsafe { avx512::scale(v, r) };
        return;
    }
    v.iter_mut().for_each(|x| *x = (f64::from(*x) * r) as f32);
}

/// Each lane's sum of squares, one value after another.
fn portable_lanes(v: &[f32]) -> [f32; LANES] {
    let mut acc = [0f32; LANES];
    let mut chunks = v.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (a, x) in acc.iter_mut().zip(chunk) {
            *a += x * x;
        }
    }
    for (a, x) in acc.iter_mut().zip(chunks.remainder()) {
        *a += x * x;
    }
    acc
}

/// The lanes combined pairwise: `l + 8` into `l`, then `l + 4`, `l + 2` and `l + 1`.
fn combine(mut acc: [f32; LANES]) -> f32 {
    let mut width = LANES / 2;
    while width > 0 {
        for l in 0..width {
            acc[l] += acc[l + width];
        }
        width /= 2;
    }
    acc[0]
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::LANES;
    use std::arch::x86_64::*;

    /// The first `n` (< 16) lanes.
    fn mask(n: usize) -> __mmask16 {
        ((1u32 << n) - 1) as __mmask16
    }

    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn lanes(v: &[f32]) -> [f32; LANES] {
        let mut acc = _mm512_setzero_ps();
        let mut chunks = v.chunks_exact(LANES);
        for chunk in &mut chunks {
            // SAFETY: the chunk holds 16 values.
            let x = unsafe { _mm512_loadu_ps(chunk.as_ptr()) };
            acc = _mm512_add_ps(acc, _mm512_mul_ps(x, x));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // SAFETY: the mask loads only the remainder's values (the other lanes are +0.0).
            let x = unsafe { _mm512_maskz_loadu_ps(mask(rest.len()), rest.as_ptr()) };
            acc = _mm512_add_ps(acc, _mm512_mul_ps(x, x));
        }
        let mut out = [0f32; LANES];
        // SAFETY: `out` holds 16 values.
        unsafe { _mm512_storeu_ps(out.as_mut_ptr(), acc) };
        out
    }

    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn scale(v: &mut [f32], r: f64) {
        let r = _mm512_set1_pd(r);
        let mut chunks = v.chunks_exact_mut(8);
        for chunk in &mut chunks {
            // SAFETY: the chunk holds 8 values.
            unsafe {
                let x = _mm512_cvtps_pd(_mm256_loadu_ps(chunk.as_ptr()));
                _mm256_storeu_ps(chunk.as_mut_ptr(), _mm512_cvtpd_ps(_mm512_mul_pd(x, r)));
            }
        }
        for x in chunks.into_remainder() {
            *x = (f64::from(*x) * _mm512_cvtsd_f64(r)) as f32;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::LANES;
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn lanes(v: &[f32]) -> [f32; LANES] {
        // lanes 0-7 and 8-15
        let (mut lo, mut hi) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut chunks = v.chunks_exact(LANES);
        for chunk in &mut chunks {
            // SAFETY: the chunk holds 16 values.
            let (a, b) = unsafe { (_mm256_loadu_ps(chunk.as_ptr()), _mm256_loadu_ps(chunk.as_ptr().add(8))) };
            lo = _mm256_add_ps(lo, _mm256_mul_ps(a, a));
            hi = _mm256_add_ps(hi, _mm256_mul_ps(b, b));
        }
        let mut out = [0f32; LANES];
        // SAFETY: `out` holds 16 values.
        unsafe {
            _mm256_storeu_ps(out.as_mut_ptr(), lo);
            _mm256_storeu_ps(out.as_mut_ptr().add(8), hi);
        }
        for (a, x) in out.iter_mut().zip(chunks.remainder()) {
            *a += x * x;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift).
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// An implementation's name and its lane sums.
    type Implementation = (&'static str, fn(&[f32]) -> [f32; LANES]);

    /// Each lane sum this CPU can compute.
    fn implementations() -> Vec<Implementation> {
        let mut all: Vec<Implementation> = vec![("portable", portable_lanes)];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 is there.
                all.push(("avx2", |v| unsafe { avx2::lanes(v) }));
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: AVX-512F is there.
                all.push(("avx512", |v| unsafe { avx512::lanes(v) }));
            }
        }
        all
    }

    fn vector(state: &mut u64, n: usize) -> Vec<f32> {
        (0..n).map(|_| (next(state) % 2_000_001) as f32 / 1e6 - 1.0).collect()
    }

    #[test]
    fn every_path_sums_the_same_bits_in_the_documented_order() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for n in (0..=70).chain([255, 256, 257, 1023, 1536, 3072, 4096]) {
            let v = vector(&mut state, n);
            // the order of the module's docs, written plainly
            let mut lanes = [0f32; LANES];
            for (i, x) in v.iter().enumerate() {
                lanes[i % LANES] += x * x;
            }
            let want = combine(lanes);
            for (name, f) in implementations() {
                assert_eq!(combine(f(&v)).to_bits(), want.to_bits(), "{name}, length {n}");
            }
            assert_eq!(sum_of_squares(&v).to_bits(), want.to_bits());
            let exact: f64 = v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum();
            assert!((f64::from(want) - exact).abs() <= 1e-6 * exact.max(1.0), "length {n}");
        }
    }

    #[test]
    fn normalised_vectors_are_the_values_scaled_by_the_norm_s_reciprocal_at_unit_length() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for n in [1, 7, 16, 17, 256, 1000, 1536, 3072] {
            let v = vector(&mut state, n);
            let mut u = v.clone();
            assert!(normalise(&mut u));
            let norm = sum_of_squares(&v).sqrt();
            let r = 1.0 / f64::from(norm);
            // every path's bits are the portable scaling's, within one ulp of the division
            assert!(u.iter().zip(&v).all(|(a, b)| a.to_bits() == ((f64::from(*b) * r) as f32).to_bits()));
            assert!(
                u.iter().zip(&v).all(|(a, b)| a.to_bits().abs_diff((b / norm).to_bits()) <= 1),
                "length {n}"
            );
            let length: f64 = u.iter().map(|x| f64::from(*x) * f64::from(*x)).sum();
            assert!((length - 1.0).abs() < 1e-6, "length {n}: {length}");
        }
        let mut zero = vec![0f32; 5];
        assert!(!normalise(&mut zero));
        assert_eq!(zero, [0.0; 5]);
    }
}
