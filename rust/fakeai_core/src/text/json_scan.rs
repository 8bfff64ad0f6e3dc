//! One pass over a JSON document's bytes before anything decodes it: its nesting depth, and how much
//! it would cost decoded.
//!
//! Decoders recurse once per level (msgspec into Python's recursion limit, serde_json to 128,
//! orjson to 255), so a body nested a thousand levels deep, even in a field the endpoint ignores,
//! must be refused before decoding. And a decoded value costs far more than its text: an object is a
//! dict or a map of several hundred bytes, an element of a list a pointer and an object (the probe
//! measured 15-48 times a body's size for bodies of small values), so the number of values is
//! bounded as well, each weighed by what it costs decoded ([`weight`]). The scan counts `[`, `{`
//! and `,` outside strings, jumping over each string with `memchr` (so a body of long messages costs
//! little more than a `memchr` over it), and stops at the first level or weight past its limit; it
//! does not validate the JSON, which is the decoder's job.

/// What a scan found past its limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Fits,
    TooDeep,
    TooHeavy,
}

/// The weights of [`scan`]: an object weighs [`OBJECT`], an array [`ARRAY`], a string and each
/// further element of an array or member of an object 1 (so a number or literal after a comma 1, a
/// key and its string value 2).
pub mod weight {
    pub const OBJECT: u64 = 8;
    pub const ARRAY: u64 = 2;
}

/// Whether `json` opens more than `depth` nested arrays or objects anywhere, or weighs more than
/// `heaviest` ([`weight`]): the first limit it passes, or [`Shape::Fits`].
pub fn scan(json: &[u8], depth: usize, heaviest: u64) -> Shape {
    let mut level = 0usize;
    let mut load = 0u64;
    let mut i = 0;
    while let Some(&c) = json.get(i) {
        let cost = match c {
            // A string: jump from quote or backslash to the next (memchr), skipping escaped bytes.
            b'"' => {
                loop {
                    let Some(rest) = json.get(i + 1..) else { return Shape::Fits };
                    let Some(at) = memchr::memchr2(b'"', b'\\', rest) else { return Shape::Fits };
                    i += 1 + at;
                    if json[i] == b'"' {
                        break;
                    }
                    i += 1; // the escaped byte
                }
                1
            }
            b'[' | b'{' => {
                level += 1;
                if level > depth {
                    return Shape::TooDeep;
                }
                if c == b'{' {
                    weight::OBJECT
                } else {
                    weight::ARRAY
                }
            }
            b']' | b'}' => {
                level = level.saturating_sub(1);
                0
            }
            b',' => 1,
            _ => 0,
        };
        load += cost;
        if load > heaviest {
            return Shape::TooHeavy;
        }
        i += 1;
    }
    Shape::Fits
}

/// Whether `json` opens more than `limit` nested arrays or objects anywhere.
pub fn deeper_than(json: &[u8], limit: usize) -> bool {
    scan(json, limit, u64::MAX) == Shape::TooDeep
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

    #[test]
    fn weighs_objects_arrays_and_elements() {
        // {"a": [1, 2, 3]}: an object 8, a key 1, an array 2, two commas 2 = 13
        let doc = br#"{"a": [1, 2, 3]}"#;
        assert_eq!(scan(doc, 64, 13), Shape::Fits);
        assert_eq!(scan(doc, 64, 12), Shape::TooHeavy);
        // commas and braces inside strings weigh nothing: one key and one string value
        assert_eq!(scan(br#"{"a": "{,[,{,["}"#, 64, 10), Shape::Fits);
        // a wide object of small objects is heavy though short: 100,000 members weigh ~1.1M
        let wide: Vec<u8> = [b"{".as_slice(), &b"\"k\":{},".repeat(100_000), b"\"z\":0}"].concat();
        assert_eq!(scan(&wide, 64, 1_000_000), Shape::TooHeavy);
        assert_eq!(scan(&wide, 64, 2_000_000), Shape::Fits);
        assert_eq!(scan(b"[[[[", 2, 100), Shape::TooDeep);
    }
}
