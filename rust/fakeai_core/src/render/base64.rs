//! Standard base64 (RFC 4648, `=` padding) appended to a byte buffer: the `"base64"`
//! `encoding_format` of embeddings, 8 KB of text per 1536-dimension vector.
//!
//! On x86-64 with AVX2 (detected at run time) 24 input bytes become 32 characters per step, with
//! Muła and Lemire's method ("Faster Base64 Encoding and Decoding using AVX2 Instructions", 2018):
//! a byte shuffle puts each 3-byte group in a 32-bit lane, two multiplies move its four 6-bit
//! values into the lane's four bytes, and a 16-entry table lookup adds each value's offset to its
//! ASCII character. The tail (and every byte elsewhere) goes through the `base64` crate, so the
//! output is that crate's, byte for byte (checked by this file's tests).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// Appends the base64 text of `raw` to `out`.
pub fn encode_into(out: &mut Vec<u8>, raw: &[u8]) {
    let start = out.len();
    out.resize(start + encoded_len(raw.len()), 0);
    encode_to_slice(&mut out[start..], raw);
}

/// The length of the base64 text of `n` bytes.
pub fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Writes the base64 text of `raw` into `dst`, exactly [`encoded_len`] of it long (memory the
/// caller allocated: a Python `bytes` object is written in place, not copied into).
pub fn encode_to_slice(dst: &mut [u8], raw: &[u8]) {
    assert_eq!(dst.len(), encoded_len(raw.len()), "the output is sized for the input");
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if raw.len() >= 28 && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above; `dst` holds `raw.len() / 3 * 4` bytes.
        done = unsafe { avx2::encode(raw, dst) };
    }
    let written = STANDARD
        .encode_slice(&raw[done..], &mut dst[done / 3 * 4..])
        .expect("the output was sized for the whole input");
    debug_assert_eq!(done / 3 * 4 + written, dst.len());
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Encodes whole 24-byte steps of `raw` into `dst` while 28 bytes remain readable (each half
    /// of a step is a 16-byte load, of which 12 are used); returns the input bytes consumed (a
    /// multiple of 3).
    ///
    /// # Safety
    /// The CPU must support AVX2; `dst` must hold at least `raw.len() / 3 * 4` bytes.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn encode(raw: &[u8], dst: &mut [u8]) -> usize {
        let shuffle = _mm256_setr_epi8(
            1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10, //
            1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,
        );
        let offsets = _mm256_setr_epi8(
            65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0, //
            65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0,
        );
        let mut i = 0;
        let mut o = 0;
        while i + 28 <= raw.len() {
            // SAFETY: i + 12 + 16 <= raw.len(); o + 32 <= raw.len() / 3 * 4 <= dst.len() since
            // i + 24 <= raw.len() and o = i / 3 * 4.
            unsafe {
                let lo = _mm_loadu_si128(raw.as_ptr().add(i).cast());
                let hi = _mm_loadu_si128(raw.as_ptr().add(i + 12).cast());
                let x = _mm256_shuffle_epi8(_mm256_set_m128i(hi, lo), shuffle);
                // The four 6-bit values of each group, one per byte.
                let a = _mm256_mulhi_epu16(
                    _mm256_and_si256(x, _mm256_set1_epi32(0x0fc0_fc00)),
                    _mm256_set1_epi32(0x0400_0040),
                );
                let b = _mm256_mullo_epi16(
                    _mm256_and_si256(x, _mm256_set1_epi32(0x003f_03f0)),
                    _mm256_set1_epi32(0x0100_0010),
                );
                let v = _mm256_or_si256(a, b);
                // 0..25 -> 'A'.., 26..51 -> 'a'.., 52..61 -> '0'.., 62 -> '+', 63 -> '/'.
                let mut idx = _mm256_subs_epu8(v, _mm256_set1_epi8(51));
                idx = _mm256_sub_epi8(idx, _mm256_cmpgt_epi8(v, _mm256_set1_epi8(25)));
                let chars = _mm256_add_epi8(v, _mm256_shuffle_epi8(offsets, idx));
                _mm256_storeu_si256(dst.as_mut_ptr().add(o).cast(), chars);
            }
            i += 24;
            o += 32;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_the_base64_crate_output_for_every_length_and_byte() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for len in (0..300).chain([6144, 6145, 6146, 16384]) {
            let raw: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let mut out = b"prefix".to_vec();
            encode_into(&mut out, &raw);
            assert_eq!(&out[..6], b"prefix");
            assert_eq!(out[6..], *STANDARD.encode(&raw).as_bytes(), "length {len}");
        }
        // Every 6-bit value in every position of a step.
        let all: Vec<u8> = (0..=255u8).cycle().take(3 * 256).collect();
        let mut out = Vec::new();
        encode_into(&mut out, &all);
        assert_eq!(out, STANDARD.encode(&all).into_bytes());
    }
}
