//! The nesting depth of a JSON document, found by one pass over its bytes before anything decodes it.
//!
//! Decoders recurse once per level (msgspec into Python's recursion limit, serde_json to 128,
//! orjson to 255), so a body nested a thousand levels deep, even in a field the endpoint ignores,
//! must be refused before decoding. The scan counts `[` and `{` outside strings, jumping over each
//! string with `memchr` (so a body of long messages costs little more than a `memchr` over it), and
//! stops at the first level past the limit; it does not validate the JSON, which is the decoder's job.

/// Whether `json` opens more than `limit` nested arrays or objects anywhere.
pub fn deeper_than(json: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&c) = json.get(i) {
        match c {
            // A string: jump from quote or backslash to the next (memchr), skipping escaped bytes.
            b'"' => loop {
                let Some(rest) = json.get(i + 1..) else { return false };
                let Some(at) = memchr::memchr2(b'"', b'\\', rest) else { return false };
                i += 1 + at;
                if json[i] == b'"' {
                    break;
                }
                i += 1; // the escaped byte
            },
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(n: usize) -> Vec<u8> {
        let mut b = b"{\"a\":".to_vec();
        b.extend(std::iter::repeat_n(b'[', n - 1));
        b.extend(std::iter::repeat_n(b']', n - 1));
        b.push(b'}');
        b
    }

    #[test]
    fn counts_arrays_and_objects_to_the_limit() {
        assert!(!deeper_than(&nested(64), 64));
        assert!(deeper_than(&nested(65), 64));
        assert!(deeper_than(&nested(100_000), 64));
        assert!(!deeper_than(b"[[],[],{}, {\"a\": 1}]", 2));
        assert!(deeper_than(b"[[],[],{}, {\"a\": {\"b\": []}}]", 2));
        // Siblings do not add up: depth returns on every close.
        assert!(!deeper_than(&b"[]".repeat(10_000), 1));
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        assert!(!deeper_than(b"{\"a\": \"[[[[[[{{{{\"}", 1));
        assert!(!deeper_than(b"{\"a\": \"\\\"[[[[\"}", 1));
        assert!(deeper_than(b"{\"a\": \"\\\\\", \"b\": [[]]}", 2));
        assert!(!deeper_than(b"", 0) && !deeper_than(b"\"[[\"", 0));
        // Unterminated strings and a trailing backslash end the scan without reading past the end.
        assert!(!deeper_than(b"[\"abc", 1) && !deeper_than(b"[\"abc\\", 1) && !deeper_than(b"\"\\", 0));
    }
}
