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

/// Append a float; non-finite values (never produced by fakeai) become 0.
pub fn float(buf: &mut Vec<u8>, x: f32) {
    if x.is_finite() {
        buf.extend_from_slice(ryu::Buffer::new().format_finite(x).as_bytes());
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
