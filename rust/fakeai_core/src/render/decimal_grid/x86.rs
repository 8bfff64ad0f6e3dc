//! The x86-64 writers of [`super`]'s text, picked at run time: AVX2 (four values at a time) and
//! AVX-512 with VBMI2 (eight at a time, no loop over the values). Both give the portable loop's bytes
//! (checked by the parent's tests, over every f32 below 1 in the ignored one).

pub(super) mod avx2 {
    use super::super::{put, value, HIGH, MAGIC, SCALE};
    use std::arch::x86_64::*;

    /// Writes `,x` for every value of `v` from `base + pos`, four values' digits made at once
    /// (the same text as [`super::super::value`]); returns where the text ends.
    ///
    /// `k = round(|x| * 1e10)` comes out of the f64 sum's low bits as an integer; every division
    /// after it is a 32 x 32 -> 64-bit multiply by a rounded-up reciprocal and a shift (`n / d` as
    /// `n * ceil(2^s / d) >> s`, exact while `n * (ceil(2^s / d) * d - 2^s) < 2^s`, which holds for
    /// every `n` below the bound each constant names). The four 2-digit pairs of the eight low
    /// digits are made side by side from the low part (not one from another), so the chain from
    /// a value to its digits is short and the CPU overlaps more of them.
    ///
    /// # Safety
    /// The CPU must support AVX2 and LZCNT; `base` must be writable for
    /// `v.len() * MAX_LEN + SLACK` bytes from `pos`.
    #[target_feature(enable = "avx2,lzcnt")]
    pub(in crate::render::decimal_grid) unsafe fn write(base: *mut u8, mut pos: usize, v: &[f32]) -> usize {
        let magic = _mm256_set1_pd(MAGIC);
        let sign = _mm256_set1_pd(-0.0);
        let mut pre = [0u64; 4];
        let mut digits = [0u64; 4];
        let mut chunks = v.chunks_exact(4);
        for chunk in &mut chunks {
            // SAFETY: the chunk holds 4 values.
            let x = _mm256_cvtps_pd(unsafe { _mm_loadu_ps(chunk.as_ptr()) });
            let abs = _mm256_andnot_pd(sign, x);
            if _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_LT_OQ>(abs, _mm256_set1_pd(1.0))) != 0b1111 {
                for &x in chunk {
                    // SAFETY: the caller's room.
                    pos = unsafe { value(base, pos, x) };
                }
                continue;
            }
            // k = round(|x| * 1e10) < 10^10 (< 2^34); the text has a sign when x < 0 and k > 0
            let d = _mm256_add_pd(_mm256_mul_pd(abs, _mm256_set1_pd(SCALE)), magic);
            let k = _mm256_sub_epi64(_mm256_castpd_si256(d), _mm256_castpd_si256(magic));
            let neg = _mm256_andnot_si256(
                _mm256_cmpeq_epi64(k, _mm256_setzero_si256()),
                _mm256_castpd_si256(_mm256_cmp_pd::<_CMP_LT_OQ>(x, _mm256_setzero_pd())),
            );
            // the first two digits: k / 10^8 = (k >> 8) / 390625, (k >> 8) < 2^26
            let high = _mm256_srli_epi64::<45>(times(_mm256_srli_epi64::<8>(k), 90_071_993));
            let low = _mm256_sub_epi64(k, times(high, HIGH as i64));
            // the eight others, low < 10^8 (< 2^27): low / 10^6, low / 10^4, low / 100
            let p0 = _mm256_srli_epi64::<50>(times(low, 1_125_899_907));
            let p01 = _mm256_srli_epi64::<45>(times(low, 3_518_437_209));
            let p012 = _mm256_srli_epi64::<38>(times(low, 2_748_779_070));
            let p1 = _mm256_sub_epi64(p01, hundred_times(p0));
            let p2 = _mm256_sub_epi64(p012, hundred_times(p01));
            let p3 = _mm256_sub_epi64(low, hundred_times(p012));
            // the pairs in 16-bit lanes, then each split into its tens and ones
            let pairs = _mm256_or_si256(
                _mm256_or_si256(p0, _mm256_slli_epi64::<16>(p1)),
                _mm256_or_si256(_mm256_slli_epi64::<32>(p2), _mm256_slli_epi64::<48>(p3)),
            );
            let (tens, ones) = split_tens(pairs);
            let eight = _mm256_or_si256(tens, _mm256_slli_epi16::<8>(ones));
            let (tens, ones) = split_tens(high);
            let head = _mm256_or_si256(
                _mm256_set1_epi64x(0x3030_2E30),
                _mm256_or_si256(_mm256_slli_epi64::<16>(tens), _mm256_slli_epi64::<24>(ones)),
            );
            let p = _mm256_blendv_epi8(
                _mm256_or_si256(_mm256_slli_epi64::<8>(head), _mm256_set1_epi64x(0x2C)),
                _mm256_or_si256(_mm256_slli_epi64::<16>(head), _mm256_set1_epi64x(0x2D2C)),
                neg,
            );
            // SAFETY: each array holds four words.
            unsafe {
                _mm256_storeu_si256(pre.as_mut_ptr().cast(), p);
                _mm256_storeu_si256(digits.as_mut_ptr().cast(), eight);
            }
            let negs = _mm256_movemask_pd(_mm256_castsi256_pd(neg)) as usize;
            for i in 0..4 {
                // SAFETY: the caller's room.
                pos = unsafe { put(base, pos, pre[i], (negs >> i) & 1, digits[i]) };
            }
        }
        for &x in chunks.remainder() {
            // SAFETY: the caller's room.
            pos = unsafe { value(base, pos, x) };
        }
        pos
    }

    /// Each 64-bit lane's low 32 bits times `m` (< 2^32), as 64 bits.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn times(n: __m256i, m: i64) -> __m256i {
        _mm256_mul_epu32(n, _mm256_set1_epi64x(m))
    }

    /// `100 n` as shifts (`64 n + 32 n + 4 n`): shorter than a multiply's latency.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn hundred_times(n: __m256i) -> __m256i {
        let n64_32 = _mm256_add_epi64(_mm256_slli_epi64::<6>(n), _mm256_slli_epi64::<5>(n));
        _mm256_add_epi64(n64_32, _mm256_slli_epi64::<2>(n))
    }

    /// Each 16-bit lane's value (< 100) split into its tens (`n * 6554 >> 16`) and its ones.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn split_tens(n: __m256i) -> (__m256i, __m256i) {
        let tens = _mm256_mulhi_epu16(n, _mm256_set1_epi16(6554));
        let ten_times = _mm256_add_epi16(_mm256_slli_epi16::<3>(tens), _mm256_slli_epi16::<1>(tens));
        (tens, _mm256_sub_epi16(n, ten_times))
    }
}

pub(super) mod avx512 {
    use super::super::{value, HIGH, MAGIC, SCALE};
    use std::arch::x86_64::*;

    /// Whether the CPU has what [`write`] needs (AVX-512 F, BW, CD and VBMI2: Ice Lake, Sapphire
    /// Rapids, Zen 4 and later; others take the AVX2 writer).
    pub(in crate::render::decimal_grid) fn detected() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512cd")
            && std::arch::is_x86_feature_detected!("avx512vbmi2")
            && std::arch::is_x86_feature_detected!("popcnt")
    }

    /// [`super::avx2::write`]'s arithmetic eight values at a time, with no loop over the values:
    /// each value's record (the word `,-0.dd` and the word of its eight low digits) gets a mask of
    /// the bytes its text keeps (5 or 6, then the digits less their trailing zeros, counted with
    /// `lzcnt`), and `vpcompressb` (AVX-512 VBMI2) packs four records' kept bytes together for one
    /// 64-byte store. A group with a value of eight zero low digits (cut differently) or of
    /// magnitude 1 or more goes value by value.
    ///
    /// # Safety
    /// [`detected`] must hold; `base` must be writable for `v.len() * MAX_LEN + SLACK` bytes from
    /// `pos`.
    #[target_feature(enable = "avx512f,avx512bw,avx512cd,avx512vbmi2,popcnt")]
    pub(in crate::render::decimal_grid) unsafe fn write(base: *mut u8, mut pos: usize, v: &[f32]) -> usize {
        let magic = _mm512_set1_pd(MAGIC);
        let mut chunks = v.chunks_exact(8);
        for chunk in &mut chunks {
            // SAFETY: the chunk holds 8 values.
            let x = _mm512_cvtps_pd(unsafe { _mm256_loadu_ps(chunk.as_ptr()) });
            let abs = _mm512_abs_pd(x);
            let small = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(abs, _mm512_set1_pd(1.0));
            let d = _mm512_add_pd(_mm512_mul_pd(abs, _mm512_set1_pd(SCALE)), magic);
            let k = _mm512_sub_epi64(_mm512_castpd_si512(d), _mm512_castpd_si512(magic));
            let neg =
                _mm512_mask_cmp_pd_mask::<_CMP_LT_OQ>(_mm512_test_epi64_mask(k, k), x, _mm512_setzero_pd());
            let high = _mm512_srli_epi64::<45>(times(_mm512_srli_epi64::<8>(k), 90_071_993));
            let low = _mm512_sub_epi64(k, times(high, HIGH as i64));
            let p0 = _mm512_srli_epi64::<50>(times(low, 1_125_899_907));
            let p01 = _mm512_srli_epi64::<45>(times(low, 3_518_437_209));
            let p012 = _mm512_srli_epi64::<38>(times(low, 2_748_779_070));
            let p1 = _mm512_sub_epi64(p01, hundred_times(p0));
            let p2 = _mm512_sub_epi64(p012, hundred_times(p01));
            let p3 = _mm512_sub_epi64(low, hundred_times(p012));
            let pairs = _mm512_or_si512(
                _mm512_or_si512(p0, _mm512_slli_epi64::<16>(p1)),
                _mm512_or_si512(_mm512_slli_epi64::<32>(p2), _mm512_slli_epi64::<48>(p3)),
            );
            let (tens, ones) = split_tens(pairs);
            let eight = _mm512_or_si512(tens, _mm512_slli_epi16::<8>(ones));
            if small != 0xFF || _mm512_test_epi64_mask(eight, eight) != 0xFF {
                for &x in chunk {
                    // SAFETY: the caller's room.
                    pos = unsafe { value(base, pos, x) };
                }
                continue;
            }
            let (tens, ones) = split_tens(high);
            let head = _mm512_or_si512(
                _mm512_set1_epi64(0x3030_2E30),
                _mm512_or_si512(_mm512_slli_epi64::<16>(tens), _mm512_slli_epi64::<24>(ones)),
            );
            let p = _mm512_mask_blend_epi64(
                neg,
                _mm512_or_si512(_mm512_slli_epi64::<8>(head), _mm512_set1_epi64(0x2C)),
                _mm512_or_si512(_mm512_slli_epi64::<16>(head), _mm512_set1_epi64(0x2D2C)),
            );
            // each value's record: `,-0.dd` (5 or 6 bytes of the word `p`), then the eight digits
            // (a word) less their trailing zeros; a mask of the same layout marks the bytes kept
            let head_kept = _mm512_mask_blend_epi64(
                neg,
                _mm512_set1_epi64(0xFF_FFFF_FFFF),
                _mm512_set1_epi64(0xFFFF_FFFF_FFFF),
            );
            let zero_bits = _mm512_andnot_si512(_mm512_set1_epi64(7), _mm512_lzcnt_epi64(eight));
            let digits_kept = _mm512_srlv_epi64(_mm512_set1_epi64(-1), zero_bits);
            let ascii = _mm512_or_si512(eight, _mm512_set1_epi64(0x3030_3030_3030_3030));
            // records 0-3, then 4-7, each 16 bytes: the word `p`, then the digits
            for order in
                [_mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0), _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4)]
            {
                let keep = _mm512_movepi8_mask(_mm512_permutex2var_epi64(head_kept, order, digits_kept));
                let text = _mm512_maskz_compress_epi8(keep, _mm512_permutex2var_epi64(p, order, ascii));
                // SAFETY: the caller's room: the values before these four took at most 14 of their 17
                // bytes each, so the 64 bytes from `pos` lie within the room of those and these four.
                unsafe { _mm512_storeu_si512(base.add(pos).cast(), text) };
                pos += keep.count_ones() as usize;
            }
        }
        for &x in chunks.remainder() {
            // SAFETY: the caller's room.
            pos = unsafe { value(base, pos, x) };
        }
        pos
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn times(n: __m512i, m: i64) -> __m512i {
        _mm512_mul_epu32(n, _mm512_set1_epi64(m))
    }

    /// `100 n`: one multiply (512-bit vectors have two ports, not three: fewer operations win).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn hundred_times(n: __m512i) -> __m512i {
        times(n, 100)
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn split_tens(n: __m512i) -> (__m512i, __m512i) {
        let tens = _mm512_mulhi_epu16(n, _mm512_set1_epi16(6554));
        (tens, _mm512_sub_epi16(n, _mm512_mullo_epi16(tens, _mm512_set1_epi16(10))))
    }
}
