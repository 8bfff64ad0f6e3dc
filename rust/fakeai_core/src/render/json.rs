//! Minimal JSON writing into a byte buffer: strings with escaping, integers and floats.
//!
//! Responses are rendered straight into bytes; this is all the JSON machinery they need.

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Append `s` as a JSON string literal (quoted, escaped).
pub fn string(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    escaped(buf, s);
    buf.push(b'"');
}

/// Append the concatenation of `pieces` as one JSON string literal (no joined copy made).
pub fn string_of(buf: &mut Vec<u8>, pieces: &[&str]) {
    buf.push(b'"');
    pieces.iter().for_each(|p| escaped(buf, p));
    buf.push(b'"');
}

/// Append `s` escaped as inside a JSON string literal.
fn escaped(buf: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if !bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\') {
        buf.extend_from_slice(bytes); // most text: nothing to escape, one copy
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            buf.extend_from_slice(b"\\u00");
            buf.push(HEX[usize::from(b >> 4)]);
            buf.push(HEX[usize::from(b & 0xf)]);
        } else {
            buf.extend_from_slice(escape);
        }
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
}

/// Append an unsigned integer.
pub fn uint(buf: &mut Vec<u8>, n: impl itoa::Integer) {
    buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Most bytes [`float`] writes (ryu's bound: sign, 9 digits, point, exponent).
const FLOAT_MAX_LEN: usize = 16;

/// Append a float as the shortest decimal that reads back as `x`, in ryu's layout (`0.0`, `-0.5`,
/// `0.00012`, `1.5e-7`, `1e13`); non-finite values (never produced by fakeai) become 0.
///
/// ryu writes straight into `buf`'s spare capacity (`ryu::raw`) rather than into a `ryu::Buffer`
/// that is then copied: the same bytes (the tests compare both over every f32), a fifth less time
/// per value. (Embeddings' values have their own writer, `render::decimal_grid`.)
pub fn float(buf: &mut Vec<u8>, x: f32) {
    if x.is_finite() {
        buf.reserve(FLOAT_MAX_LEN);
        let len = buf.len();
        // SAFETY: `x` is finite and the spare capacity holds FLOAT_MAX_LEN (16) bytes, what
        // `format32` requires; it initialises the `n` bytes it reports, which `set_len` then admits.
        unsafe {
            let n = ryu::raw::format32(x, buf.as_mut_ptr().add(len));
            buf.set_len(len + n);
        }
    } else {
        buf.push(b'0');
    }
}

/// Append `"key":` (key must not need escaping).
pub fn key(buf: &mut Vec<u8>, k: &str) {
    buf.push(b'"');
    buf.extend_from_slice(k.as_bytes());
    buf.extend_from_slice(b"\":");
}

/// Append a JSON array of the UTF-8 bytes of `s` (the `bytes` field of OpenAI logprobs).
pub fn byte_array(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'[');
    for (i, b) in s.bytes().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        uint(buf, b);
    }
    buf.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        let mut buf = Vec::new();
        string(&mut buf, x);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn escapes_what_json_requires() {
        assert_eq!(s("plain"), "\"plain\"");
        assert_eq!(s("a\"b\\c\nd\te\r"), "\"a\\\"b\\\\c\\nd\\te\\r\"");
        assert_eq!(s("\u{1}x"), "\"\\u0001x\"");
        assert_eq!(s("héllo 日本"), "\"héllo 日本\"");
        let mut buf = Vec::new();
        string_of(&mut buf, &["a\"b", "\n", "", " c"]);
        let mut joined = Vec::new();
        string(&mut joined, "a\"b\n c");
        assert_eq!(buf, joined);
    }

    fn ours(x: f32) -> Vec<u8> {
        let mut buf = Vec::new();
        float(&mut buf, x);
        buf
    }

    fn ryu_bytes(x: f32) -> Vec<u8> {
        ryu::Buffer::new().format_finite(x).as_bytes().to_vec()
    }

    /// Every bit pattern `step` apart (both signs, every exponent), and around each edge.
    fn assert_same_as_ryu(step: usize) {
        for bits in (0..=u32::MAX).step_by(step) {
            let x = f32::from_bits(bits);
            if x.is_finite() {
                assert_eq!(ours(x), ryu_bytes(x), "{bits:#x}");
            }
        }
    }

    #[test]
    fn floats_are_byte_identical_to_ryu() {
        let edges = [
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            0.5,
            f32::MIN_POSITIVE,
            f32::from_bits(1), // the smallest subnormal
            -f32::from_bits(1),
            f32::MAX,
            f32::MIN,
            f32::EPSILON,
            1e-5,
            1e-6,
            1e-7,
            1.5e-7,
            9.999_999e-7,
            1e12,
            9.999_999e12,
            1e13,
            123_456_790.0,
            0.1,
            0.2,
            0.3,
            1.0 / 3.0,
            std::f32::consts::PI,
            -9999.0,
            // An embedding coordinate is at most 1 in magnitude (a unit vector's).
            0.999_999_94,
            -0.999_999_94,
        ];
        for x in edges {
            assert_eq!(ours(x), ryu_bytes(x), "{x:e}");
            assert_eq!(ours(-x), ryu_bytes(-x), "{:e}", -x);
            for n in 1..64u32 {
                for y in
                    [f32::from_bits(x.to_bits().wrapping_add(n)), f32::from_bits(x.to_bits().wrapping_sub(n))]
                {
                    if y.is_finite() {
                        assert_eq!(ours(y), ryu_bytes(y), "{y:e}");
                    }
                }
            }
        }
        // Floats of the embeddings' range (|x| < 1: a unit vector's coordinates), 61 ulps apart.
        for bits in (0x3c00_0000u32..=0x3f80_0000).step_by(61) {
            let x = f32::from_bits(bits);
            assert_eq!(ours(x), ryu_bytes(x), "{x:e}");
            assert_eq!(ours(-x), ryu_bytes(-x), "{:e}", -x);
        }
        assert_same_as_ryu(9973);
        assert_eq!(ours(f32::NAN), b"0");
        assert_eq!(ours(f32::INFINITY), b"0");
    }

    /// Every one of the 2^32 bit patterns (about a minute in release):
    /// `cargo test --release -p fakeai_core every_float -- --ignored`.
    #[test]
    #[ignore = "exhaustive: run by hand in release"]
    fn every_float_is_byte_identical_to_ryu() {
        assert_same_as_ryu(1);
    }

    #[test]
    fn numbers() {
        let mut buf = Vec::new();
        uint(&mut buf, 42u32);
        buf.push(b' ');
        float(&mut buf, -0.5);
        buf.push(b' ');
        float(&mut buf, f32::NAN);
        buf.push(b' ');
        byte_array(&mut buf, "Hi");
        assert_eq!(String::from_utf8(buf).unwrap(), "42 -0.5 0 [72,105]");
    }
}
