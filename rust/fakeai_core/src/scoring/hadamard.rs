//! The in-place Walsh-Hadamard transform (unnormalised) of a power-of-two-long `f32` vector, the
//! mixing step of [`super::embedding`].
//!
//! Stage `h` (h = 1, 2, 4, ... n/2) replaces every pair `(x[i], x[i + h])` (`i & h == 0`) with
//! `(x[i] + x[i + h], x[i] - x[i + h])`. Each output is one IEEE add or subtract of the same two
//! values whatever order the butterflies of a stage run in, so every implementation below gives the
//! textbook transform's bits exactly (checked by this file's tests); they differ only in how long
//! the data stays in registers.
//!
//! - AVX2 (x86-64, detected at run time): each block of 64 values is loaded into eight 8-lane
//!   registers once for the first six stages (1, 2 and 4 by shuffles inside a register, 8, 16 and
//!   32 between registers); the remaining stages run three at a time (radix 8) over eight
//!   registers `h` apart, so a 4096-point transform reads and writes memory four times, not twelve.
//! - AVX-512F (detected at run time, preferred over AVX2 where both are): the same with 16 lanes and
//!   sixteen registers: blocks of 256 values for the first eight stages (1-8 inside a register,
//!   16-128 between), then radix-16 passes: a 4096-point transform reads and writes memory twice.
//! - Elsewhere (and for vectors shorter than 64), the portable loop: the first three stages in one
//!   pass over blocks of 8, then one stage per pass, which the compiler vectorises.

/// Transforms `v` (length a power of two) in place.
pub fn transform(v: &mut [f32]) {
    transform_scaled(v, None);
}

/// Multiplies `v` by `scale` value by value (if given, as long as `v`), then transforms it in place:
/// the bits of the multiplication followed by [`transform`], with the multiplication done as the
/// SIMD paths load each value for their first pass rather than in a pass of its own.
pub fn transform_scaled(v: &mut [f32], scale: Option<&[f32]>) {
    debug_assert!(v.len().is_power_of_two() || v.is_empty());
    assert!(scale.is_none_or(|s| s.len() == v.len()), "one factor per value");
    #[cfg(target_arch = "x86_64")]
    if v.len() >= 256 && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F, checked just above; the length is a power of two >= 256
        // and `scale` as long.
        unsafe { avx512::transform(v, scale) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if v.len() >= 64 && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above; the length is a power of two >= 64
        // and `scale` as long.
        unsafe { avx2::transform(v, scale) };
        return;
    }
    if let Some(s) = scale {
        v.iter_mut().zip(s).for_each(|(x, f)| *x *= f);
    }
    portable(v);
}

/// The portable transform: the first three stages (pairs too close together for the compiler to
/// vectorise the loop below) in one pass over blocks of 8 values held in registers, then one pass
/// per stage.
fn portable(v: &mut [f32]) {
    let mut half = 1;
    if v.len() >= 8 {
        for block in v.chunks_exact_mut(8) {
            let mut x = [0f32; 8];
            x.copy_from_slice(block);
            for h in [1, 2, 4] {
                for i in (0..8).filter(|i| i & h == 0) {
                    let (s, d) = (x[i] + x[i + h], x[i] - x[i + h]);
                    x[i] = s;
                    x[i + h] = d;
                }
            }
            block.copy_from_slice(&x);
        }
        half = 8;
    }
    while half < v.len() {
        for block in v.chunks_exact_mut(2 * half) {
            let (a, b) = block.split_at_mut(half);
            for (x, y) in a.iter_mut().zip(b.iter_mut()) {
                let (s, d) = (*x + *y, *x - *y);
                *x = s;
                *y = d;
            }
        }
        half *= 2;
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Stages 1, 2 and 4 inside one register of 8 lanes: each lane's partner is brought beside it
    /// by a shuffle; the lower lane of a pair gets `x[i] + x[i + h]`, the upper `x[i] - x[i + h]`,
    /// computed as `x[i] + -x[i + h]` (IEEE defines `a - b` as `a + (-b)`, and addition commutes
    /// exactly), so one sign flip replaces a subtract and a blend.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn in_register(x: __m256) -> __m256 {
        let z = _mm256_setzero_ps();
        // h = 1: partner of lane i is lane i ^ 1; flip the sign of the upper lanes.
        let flip = _mm256_blend_ps::<0b1010_1010>(z, _mm256_set1_ps(-0.0));
        let x = _mm256_add_ps(_mm256_permute_ps::<0b10_11_00_01>(x), _mm256_xor_ps(x, flip));
        // h = 2: partner is lane i ^ 2.
        let flip = _mm256_blend_ps::<0b1100_1100>(z, _mm256_set1_ps(-0.0));
        let x = _mm256_add_ps(_mm256_permute_ps::<0b01_00_11_10>(x), _mm256_xor_ps(x, flip));
        // h = 4: partner is in the other 128-bit half.
        let flip = _mm256_blend_ps::<0b1111_0000>(z, _mm256_set1_ps(-0.0));
        _mm256_add_ps(_mm256_permute2f128_ps::<0x01>(x, x), _mm256_xor_ps(x, flip))
    }

    /// Three stages across eight registers (partners 1, 2 and 4 registers apart), written out as
    /// the AVX-512 version's `radix16` is (so the values stay in registers).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn radix8(r: &mut [__m256; 8]) {
        let mut x = *r;
        macro_rules! butterflies {
            ($(($i:literal, $j:literal)),*) => {$(
                let (a, b) = (x[$i], x[$j]);
                x[$i] = _mm256_add_ps(a, b);
                x[$j] = _mm256_sub_ps(a, b);
            )*};
        }
        butterflies!((0, 1), (2, 3), (4, 5), (6, 7));
        butterflies!((0, 2), (1, 3), (4, 6), (5, 7));
        butterflies!((0, 4), (1, 5), (2, 6), (3, 7));
        *r = x;
    }

    /// One stage across two registers.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn radix2(r: &mut [__m256; 2]) {
        let (s, d) = (_mm256_add_ps(r[0], r[1]), _mm256_sub_ps(r[0], r[1]));
        *r = [s, d];
    }

    /// Stores the eight registers one after another from `p`, written out (as the AVX-512
    /// version's `store16`, so the compiler does not copy them to the stack for a `memcpy`).
    ///
    /// # Safety
    /// `p` must have room for 64 values.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn store8(p: *mut f32, r: &[__m256; 8]) {
        macro_rules! each {
            ($($k:literal),*) => {$(
                // SAFETY: 8 * k + 8 <= 64.
                unsafe { _mm256_storeu_ps(p.add(8 * $k), r[$k]) };
            )*};
        }
        each!(0, 1, 2, 3, 4, 5, 6, 7);
    }

    /// # Safety
    /// The CPU must support AVX2, `v.len()` be a power of two >= 64 and `scale` (if any) as long.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn transform(v: &mut [f32], scale: Option<&[f32]>) {
        let n = v.len();
        let p = v.as_mut_ptr();
        // Stages 1 .. 32: blocks of 64 values, eight registers each.
        for block in (0..n).step_by(64) {
            // SAFETY: block + 64 <= n, so every load and store is inside `v` (and `scale`).
            unsafe {
                let mut r = [_mm256_setzero_ps(); 8];
                for (k, x) in r.iter_mut().enumerate() {
                    *x = _mm256_loadu_ps(p.add(block + 8 * k));
                    if let Some(s) = scale {
                        *x = _mm256_mul_ps(*x, _mm256_loadu_ps(s.as_ptr().add(block + 8 * k)));
                    }
                    // Eight +0.0 (all bits clear: a hashed vector's empty buckets) stay eight
                    // +0.0 through these stages, so the shuffles are skipped.
                    let bits = _mm256_castps_si256(*x);
                    if _mm256_testz_si256(bits, bits) == 0 {
                        *x = in_register(*x);
                    }
                }
                radix8(&mut r);
                store8(p.add(block), &r);
            }
        }
        // The remaining stages, three at a time while three remain, then one at a time.
        let mut half = 64;
        while half < n {
            if half * 8 <= n {
                for block in (0..n).step_by(8 * half) {
                    for col in (block..block + half).step_by(8) {
                        // SAFETY: col + 7 * half + 8 <= block + 8 * half <= n.
                        unsafe {
                            let mut r = [_mm256_setzero_ps(); 8];
                            for (k, x) in r.iter_mut().enumerate() {
                                *x = _mm256_loadu_ps(p.add(col + k * half));
                            }
                            radix8(&mut r);
                            for (k, x) in r.iter().enumerate() {
                                _mm256_storeu_ps(p.add(col + k * half), *x);
                            }
                        }
                    }
                }
                half *= 8;
            } else {
                for block in (0..n).step_by(2 * half) {
                    for col in (block..block + half).step_by(8) {
                        // SAFETY: col + half + 8 <= block + 2 * half <= n.
                        unsafe {
                            let mut r = [_mm256_loadu_ps(p.add(col)), _mm256_loadu_ps(p.add(col + half))];
                            radix2(&mut r);
                            _mm256_storeu_ps(p.add(col), r[0]);
                            _mm256_storeu_ps(p.add(col + half), r[1]);
                        }
                    }
                }
                half *= 2;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// Stages 1, 2, 4 and 8 inside one register of 16 lanes (as in the AVX2 version).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn in_register(x: __m512) -> __m512 {
        let neg = _mm512_set1_ps(-0.0);
        let z = _mm512_setzero_ps();
        let flip = |m: __mmask16| _mm512_castps_si512(_mm512_mask_mov_ps(z, m, neg));
        let xor = |x: __m512, f: __m512i| _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x), f));
        let x = _mm512_add_ps(_mm512_permute_ps::<0b10_11_00_01>(x), xor(x, flip(0xAAAA)));
        let x = _mm512_add_ps(_mm512_permute_ps::<0b01_00_11_10>(x), xor(x, flip(0xCCCC)));
        let x = _mm512_add_ps(_mm512_shuffle_f32x4::<0b10_11_00_01>(x, x), xor(x, flip(0xF0F0)));
        _mm512_add_ps(_mm512_shuffle_f32x4::<0b01_00_11_10>(x, x), xor(x, flip(0xFF00)))
    }

    /// Four stages across sixteen registers (partners 1, 2, 4 and 8 registers apart), written out
    /// butterfly by butterfly: as a loop over the stages the compiler kept the sixteen values on the
    /// stack (a load and a store around every add), spelled out they stay in registers.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn radix16(r: &mut [__m512; 16]) {
        let mut x = *r;
        macro_rules! butterflies {
            ($(($i:literal, $j:literal)),*) => {$(
                let (a, b) = (x[$i], x[$j]);
                x[$i] = _mm512_add_ps(a, b);
                x[$j] = _mm512_sub_ps(a, b);
            )*};
        }
        butterflies!((0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11), (12, 13), (14, 15));
        butterflies!((0, 2), (1, 3), (4, 6), (5, 7), (8, 10), (9, 11), (12, 14), (13, 15));
        butterflies!((0, 4), (1, 5), (2, 6), (3, 7), (8, 12), (9, 13), (10, 14), (11, 15));
        butterflies!((0, 8), (1, 9), (2, 10), (3, 11), (4, 12), (5, 13), (6, 14), (7, 15));
        *r = x;
    }

    /// Stores the sixteen registers one after another from `p`, written out one by one: as a loop
    /// over the array, the compiler copied the array to the stack and called `memcpy` (a 1 KB
    /// call and a `vzeroupper` per block, 5-6 % of an embedding's time).
    ///
    /// # Safety
    /// `p` must have room for 256 values.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn store16(p: *mut f32, r: &[__m512; 16]) {
        macro_rules! each {
            ($($k:literal),*) => {$(
                // SAFETY: 16 * k + 16 <= 256.
                unsafe { _mm512_storeu_ps(p.add(16 * $k), r[$k]) };
            )*};
        }
        each!(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    }

    /// # Safety
    /// The CPU must support AVX-512F, `v.len()` be a power of two >= 256 and `scale` (if any) as
    /// long.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn transform(v: &mut [f32], scale: Option<&[f32]>) {
        let n = v.len();
        let p = v.as_mut_ptr();
        // Stages 1 .. 128: blocks of 256 values, sixteen registers each.
        for block in (0..n).step_by(256) {
            // SAFETY: block + 256 <= n (the length of `v` and `scale`).
            unsafe {
                let mut r = [_mm512_setzero_ps(); 16];
                for (k, x) in r.iter_mut().enumerate() {
                    *x = _mm512_loadu_ps(p.add(block + 16 * k));
                    if let Some(s) = scale {
                        *x = _mm512_mul_ps(*x, _mm512_loadu_ps(s.as_ptr().add(block + 16 * k)));
                    }
                    if _mm512_test_epi32_mask(_mm512_castps_si512(*x), _mm512_castps_si512(*x)) != 0 {
                        *x = in_register(*x);
                    }
                }
                radix16(&mut r);
                store16(p.add(block), &r);
            }
        }
        let mut half = 256;
        while half < n {
            if half * 16 <= n {
                for block in (0..n).step_by(16 * half) {
                    for col in (block..block + half).step_by(16) {
                        // SAFETY: col + 15 * half + 16 <= block + 16 * half <= n.
                        unsafe {
                            let mut r = [_mm512_setzero_ps(); 16];
                            for (k, x) in r.iter_mut().enumerate() {
                                *x = _mm512_loadu_ps(p.add(col + k * half));
                            }
                            radix16(&mut r);
                            for (k, x) in r.iter().enumerate() {
                                _mm512_storeu_ps(p.add(col + k * half), *x);
                            }
                        }
                    }
                }
                half *= 16;
            } else {
                for block in (0..n).step_by(2 * half) {
                    for col in (block..block + half).step_by(16) {
                        // SAFETY: col + half + 16 <= block + 2 * half <= n.
                        unsafe {
                            let (a, b) = (_mm512_loadu_ps(p.add(col)), _mm512_loadu_ps(p.add(col + half)));
                            _mm512_storeu_ps(p.add(col), _mm512_add_ps(a, b));
                            _mm512_storeu_ps(p.add(col + half), _mm512_sub_ps(a, b));
                        }
                    }
                }
                half *= 2;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook transform, one stage at a time.
    fn reference(v: &mut [f32]) {
        let mut half = 1;
        while half < v.len() {
            for start in (0..v.len()).step_by(2 * half) {
                for i in start..start + half {
                    let (x, y) = (v[i], v[i + half]);
                    v[i] = x + y;
                    v[i + half] = x - y;
                }
            }
            half *= 2;
        }
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// A small deterministic generator (xorshift), so the test needs no dependency.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// An implementation's name, the shortest length it takes, and the function (with its optional
    /// factors).
    type Implementation = (&'static str, usize, fn(&mut [f32], Option<&[f32]>));

    /// The portable path, its factors multiplied first.
    fn portable_scaled(v: &mut [f32], scale: Option<&[f32]>) {
        if let Some(s) = scale {
            v.iter_mut().zip(s).for_each(|(x, f)| *x *= f);
        }
        portable(v);
    }

    /// Every implementation this CPU can run.
    fn implementations() -> Vec<Implementation> {
        let mut all: Vec<Implementation> =
            vec![("dispatch", 0, transform_scaled), ("portable", 0, portable_scaled)];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 is there; the callers pass lengths >= 64 that are powers of two.
                all.push(("avx2", 64, |v, s| unsafe { avx2::transform(v, s) }));
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: AVX-512F is there; the callers pass lengths >= 256, powers of two.
                all.push(("avx512", 256, |v, s| unsafe { avx512::transform(v, s) }));
            }
        }
        all
    }

    #[test]
    fn dense_inputs_give_the_reference_bit_for_bit() {
        for (name, shortest, f) in implementations() {
            for n in (0..=15).map(|k| 1usize << k).filter(|n| *n >= shortest) {
                let input: Vec<f32> = (0..n).map(|i| ((i * 7919 % 1013) as f32 - 506.0) / 97.0).collect();
                let (mut fast, mut textbook) = (input.clone(), input);
                f(&mut fast, None);
                reference(&mut textbook);
                assert_eq!(bits(&fast), bits(&textbook), "{name}, length {n}");
            }
        }
    }

    /// Inputs like the embedding's: a few hashed features of weight +-1 and +-0.3 summed into
    /// buckets (with collisions and exact cancellations), then the transform twice with a random
    /// diagonal between, at every supported size, by every implementation.
    #[test]
    fn random_sparse_inputs_give_the_reference_bit_for_bit() {
        for (name, shortest, f) in implementations() {
            let mut state = 0x9E37_79B9_7F4A_7C15u64;
            for n in (0..=14).map(|k| 1usize << k).filter(|n| *n >= shortest) {
                for _ in 0..40 {
                    let mut v = vec![0f32; n];
                    let features = 1 + next(&mut state) % 400;
                    for _ in 0..features {
                        let h = next(&mut state);
                        let w = if h & 1 == 0 { 1.0 } else { 0.3 };
                        v[(h >> 8) as usize % n] += if h >> 63 == 0 { w } else { -w };
                    }
                    let diag: Vec<f32> =
                        (0..n).map(|_| (next(&mut state) % 2000) as f32 / 1000.0 - 1.0).collect();
                    let (mut fast, mut textbook) = (v.clone(), v);
                    f(&mut fast, None);
                    reference(&mut textbook);
                    assert_eq!(bits(&fast), bits(&textbook), "{name}, first, length {n}");
                    let mut scaled = fast.clone();
                    for ((x, y), d) in fast.iter_mut().zip(textbook.iter_mut()).zip(&diag) {
                        *x *= d;
                        *y *= d;
                    }
                    f(&mut fast, None);
                    reference(&mut textbook);
                    assert_eq!(bits(&fast), bits(&textbook), "{name}, second, length {n}");
                    // the diagonal multiplied in as the first pass loads
                    f(&mut scaled, Some(&diag));
                    assert_eq!(bits(&scaled), bits(&textbook), "{name}, scaled, length {n}");
                }
            }
        }
    }
}
