//! Deterministic dense embeddings: hashed features, spread over every dimension by a fixed seeded
//! random projection, and the `list` of `embedding` objects.
//!
//! Each lower-cased word is a feature of weight 1 and each of its character trigrams one of weight
//! 0.3 (token-id inputs: each id, weight 1). Features are hashed, with a hashed sign, into a sparse
//! vector of [`SPACE`] (4096) buckets, as feature hashing does. That vector is then mixed by the
//! fixed map `H D H` (`H` the Walsh-Hadamard transform, `D` a seeded diagonal of random signs and
//! magnitudes): a structured random projection, as in the subsampled randomised Hadamard transform,
//! that costs `O(SPACE log SPACE)` whatever the input's length, with no matrix in memory. The
//! embedding is the first `dims` values of the result, L2-normalised by [`unit_length`] (its norm
//! summed in a fixed order of sixteen lanes, the same bits on every CPU).
//!
//! Every vector also gets a shared component (a fixed bucket holding 15% of its squared length), so
//! unrelated texts have a small positive cosine (about 0.15), as real models' embeddings do.
//!
//! So every dimension carries signal, spread like a continuous distribution, as a real model's
//! embeddings (vector databases, quantisation and ANN indexes behave as they would on real vectors);
//! the map nearly keeps angles, so texts that share words (or word stems) point in measurably similar
//! directions and unrelated texts are near-orthogonal, as with plain feature hashing. And because
//! the map does not depend on `dims`, a shorter embedding is the longer one truncated and
//! renormalised: OpenAI's v3 models' `dimensions` behave the same way.
//!
//! Every value is then rounded to the decimal grid of step 1e-10 ([`decimal_grid`]): the JSON float
//! list prints each as its fixed-point decimal (`0.0023064255`), which reads back to exactly the
//! float32 that the base64 list carries.

use super::{hadamard, unit_length};
use crate::render::{self, decimal_grid, json};
use std::sync::OnceLock;
use xxhash_rust::xxh3::xxh3_64_with_seed;

const WORD_WEIGHT: f32 = 1.0;
const TRIGRAM_WEIGHT: f32 = 0.3;
const WORD_SEED: u64 = 0x5EED_0001;
const TRIGRAM_SEED: u64 = 0x5EED_0002;
const TOKEN_SEED: u64 = 0x5EED_0003;
const TEXT_SEED: u64 = 0x5EED_0004;
const SIGN_SEED: u64 = 0x5EED_0005;
/// Cosine that unrelated texts share, as real models' embeddings do (they are not centred: OpenAI's
/// v3 models give unrelated texts about 0.1-0.2), so search scores of unrelated chunks are small
/// and positive rather than scattered around zero.
const BASELINE: f32 = 0.15;
const BASELINE_BUCKET: usize = 0;
/// Buckets of the hashed feature vector and length of the transform: a power of two at least as
/// large as any model's embedding (wider requests use the next power of two).
pub const SPACE: usize = 4096;

pub enum Input<'a> {
    Text(&'a str),
    Tokens(&'a [u32]),
}

/// The hashed feature vector, with a bitmap of the buckets ever added to.
struct Buckets {
    v: Vec<f32>,
    touched: Vec<u64>,
}

impl Buckets {
    fn new(n: usize) -> Self {
        Self { v: vec![0f32; n], touched: vec![0u64; n.div_ceil(64)] }
    }

    /// Adds `weight` with the hash's sign to its bucket (the length is a power of two, so the
    /// mask is the remainder of the division).
    fn add(&mut self, h: u64, weight: f32) {
        let i = h as usize & (self.v.len() - 1);
        self.v[i] += if h >> 63 == 0 { weight } else { -weight };
        self.touched[i / 64] |= 1 << (i % 64);
    }

    fn is_zero(&self) -> bool {
        self.v.iter().all(|x| *x == 0.0)
    }

    /// The sum of squares in index order, as `v.iter().map(|x| x * x).sum()` computes it, bit for
    /// bit, but adding only the touched buckets: an untouched one adds `+0.0`, which leaves a sum
    /// unchanged once any non-zero square is in it (and `v` has one). The hashed vector has a few
    /// hundred such buckets of thousands, and each addition waits for the one before.
    fn sum_of_squares(&self) -> f32 {
        let mut sq = -0.0f32;
        for (w, bits) in self.touched.iter().enumerate() {
            let mut bits = *bits;
            while bits != 0 {
                let x = self.v[64 * w + bits.trailing_zeros() as usize];
                sq += x * x;
                bits &= bits - 1;
            }
        }
        sq
    }
}

/// Adds the features of one lower-cased word: `padded` holds `^word$`.
fn add_word(v: &mut Buckets, padded: &[u8]) {
    v.add(xxh3_64_with_seed(&padded[1..padded.len() - 1], WORD_SEED), WORD_WEIGHT);
    for tri in padded.windows(3) {
        v.add(xxh3_64_with_seed(tri, TRIGRAM_SEED), TRIGRAM_WEIGHT);
    }
}

/// Adds the features of every word of `text`: the runs of alphanumeric characters of its
/// lower-cased form. ASCII text (the common case) is lower-cased a word at a time into one reused
/// buffer; other text goes through `str::to_lowercase` first, whose result may split differently.
fn add_words(v: &mut Buckets, text: &str) {
    let mut padded = Vec::with_capacity(64);
    if text.is_ascii() {
        for word in text.as_bytes().split(|c| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
            padded.clear();
            padded.push(b'^');
            padded.extend(word.iter().map(u8::to_ascii_lowercase));
            padded.push(b'$');
            add_word(v, &padded);
        }
    } else {
        let lower = text.to_lowercase();
        for word in lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            padded.clear();
            padded.push(b'^');
            padded.extend_from_slice(word.as_bytes());
            padded.push(b'$');
            add_word(v, &padded);
        }
    }
}

/// The fixed random diagonal `D` for a transform of length `n`: a random sign times a magnitude in
/// [0.5, 1.5), so every output is a sum of continuous values (never an exact zero, no repeated
/// levels) while angles stay nearly as they were. Computed once per length used.
fn diagonal(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let h = xxh3_64_with_seed(&(i as u64).to_le_bytes(), SIGN_SEED);
            let magnitude = 0.5 + (h & 0xFF_FFFF) as f32 / (1u32 << 24) as f32;
            if h >> 63 == 0 {
                magnitude
            } else {
                -magnitude
            }
        })
        .collect()
}

fn default_diagonal() -> &'static [f32] {
    static DIAGONAL: OnceLock<Vec<f32>> = OnceLock::new();
    DIAGONAL.get_or_init(|| diagonal(SPACE))
}

/// The unit-length, dense embedding of `input` with `dims` (> 0) dimensions.
pub fn embed(input: &Input<'_>, dims: usize) -> Vec<f32> {
    let n = SPACE.max(dims.next_power_of_two());
    let mut b = Buckets::new(n);
    match input {
        Input::Text(text) => {
            add_words(&mut b, text);
            if b.is_zero() {
                // No word (empty or punctuation only): the raw text is the one feature.
                b.add(xxh3_64_with_seed(text.as_bytes(), TEXT_SEED), WORD_WEIGHT);
            }
        }
        Input::Tokens(ids) => {
            for id in *ids {
                b.add(xxh3_64_with_seed(&id.to_le_bytes(), TOKEN_SEED), WORD_WEIGHT);
            }
            if b.is_zero() {
                b.add(TEXT_SEED, WORD_WEIGHT);
            }
        }
    }
    // The shared direction: a fixed bucket takes BASELINE of every vector's squared length.
    let sq = b.sum_of_squares();
    let mut v = b.v;
    v[BASELINE_BUCKET] += (sq * BASELINE / (1.0 - BASELINE)).sqrt();
    hadamard::transform(&mut v);
    let owned;
    let d = if n == SPACE {
        default_diagonal()
    } else {
        owned = diagonal(n);
        &owned
    };
    hadamard::transform_scaled(&mut v, Some(d));
    v.truncate(dims.max(1));
    if !unit_length::normalise(&mut v) {
        v[0] = 1.0;
    }
    decimal_grid::quantize(&mut v);
    v
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The `{"object":"list","data":[...]}` response with each vector a JSON array of its values on the
/// decimal grid ([`decimal_grid::array()`]); [`Base64List`] writes the base64 one.
pub fn float_list(model: &str, vectors: &[Vec<f32>], prompt_tokens: u32) -> Vec<u8> {
    let dims = vectors.first().map_or(0, Vec::len);
    // room for every array at its longest: the buffer never grows while it is written
    let mut buf =
        Vec::with_capacity(128 + model.len() + vectors.len() * (64 + decimal_grid::max_array_len(dims)));
    buf.extend_from_slice(LIST_HEAD);
    for (i, v) in vectors.iter().enumerate() {
        item_head(&mut buf, i);
        decimal_grid::array(&mut buf, v);
        buf.push(b'}');
    }
    list_tail(&mut buf, model, prompt_tokens);
    buf
}

const LIST_HEAD: &[u8] = b"{\"object\":\"list\",\"data\":[";

/// What comes before the `i`th vector: a comma after the first, the object's opening and its index.
fn item_head(buf: &mut Vec<u8>, i: usize) {
    if i > 0 {
        buf.push(b',');
    }
    buf.extend_from_slice(b"{\"object\":\"embedding\",\"index\":");
    json::uint(buf, i);
    buf.extend_from_slice(b",\"embedding\":");
}

/// What follows the last vector: the model and the usage.
fn list_tail(buf: &mut Vec<u8>, model: &str, prompt_tokens: u32) {
    buf.extend_from_slice(b"],\"model\":");
    json::string(buf, model);
    buf.extend_from_slice(b",\"usage\":{\"prompt_tokens\":");
    json::uint(buf, prompt_tokens);
    buf.extend_from_slice(b",\"total_tokens\":");
    json::uint(buf, prompt_tokens);
    buf.extend_from_slice(b"}}");
}

/// The base64 list response, its exact length known before it is written, so that it can be
/// written straight into memory of that size (a Python `bytes` object) rather than copied there.
pub struct Base64List<'a> {
    vectors: &'a [Vec<f32>],
    /// Each vector's opening (`,{"object":"embedding","index":i,"embedding":`), one after another.
    heads: Vec<u8>,
    /// Where each vector's opening ends in `heads`.
    ends: Vec<usize>,
    tail: Vec<u8>,
}

impl<'a> Base64List<'a> {
    pub fn new(model: &str, vectors: &'a [Vec<f32>], prompt_tokens: u32) -> Self {
        let mut heads = Vec::with_capacity(vectors.len() * 64);
        let mut ends = Vec::with_capacity(vectors.len());
        for i in 0..vectors.len() {
            item_head(&mut heads, i);
            ends.push(heads.len());
        }
        let mut tail = Vec::with_capacity(96 + model.len());
        list_tail(&mut tail, model, prompt_tokens);
        Self { vectors, heads, ends, tail }
    }

    /// The response's length in bytes.
    pub fn size(&self) -> usize {
        // each vector's text in quotes, and the object's closing brace
        let vectors: usize = self.vectors.iter().map(|v| render::base64::encoded_len(v.len() * 4) + 3).sum();
        LIST_HEAD.len() + self.heads.len() + vectors + self.tail.len()
    }

    /// Writes the response into `out`, exactly [`Self::size`] bytes long.
    pub fn write(&self, out: &mut [u8]) {
        assert_eq!(out.len(), self.size(), "the output is sized for the response");
        let mut at = 0;
        let put = |out: &mut [u8], bytes: &[u8], at: &mut usize| {
            out[*at..*at + bytes.len()].copy_from_slice(bytes);
            *at += bytes.len();
        };
        put(out, LIST_HEAD, &mut at);
        let mut start = 0;
        let mut scratch = Vec::new();
        for (v, &end) in self.vectors.iter().zip(&self.ends) {
            put(out, &self.heads[start..end], &mut at);
            start = end;
            put(out, b"\"", &mut at);
            let raw = le_bytes(v, &mut scratch);
            let n = render::base64::encoded_len(raw.len());
            render::base64::encode_to_slice(&mut out[at..at + n], raw);
            at += n;
            put(out, b"\"}", &mut at);
        }
        put(out, &self.tail, &mut at);
        debug_assert_eq!(at, out.len());
    }
}

/// `v` as little-endian bytes: the floats' own memory on a little-endian machine, else packed into
/// `scratch`.
fn le_bytes<'v>(v: &'v [f32], scratch: &'v mut Vec<u8>) -> &'v [u8] {
    if cfg!(target_endian = "little") {
        // SAFETY: an f32 is 4 bytes with no padding and any bit pattern is a valid u8; the slice
        // covers exactly `v`'s memory, borrowed for as long as `v` is.
        return unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) };
    }
    scratch.clear();
    scratch.extend(v.iter().flat_map(|x| x.to_le_bytes()));
    scratch
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn e(text: &str) -> Vec<f32> {
        embed(&Input::Text(text), 256)
    }

    #[test]
    fn unit_length_and_deterministic() {
        let v = e("hello world");
        assert!((v.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
        assert_eq!(v, e("hello world"));
        assert_eq!(e("Hello, WORLD!"), v);
        assert_eq!(e("").len(), 256);
        assert!((e("!!!").iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
        assert_ne!(e("!!!"), e("???"));
    }

    #[test]
    fn values_are_on_the_decimal_grid_and_vectors_of_unit_length() {
        for (text, dims) in [("hello world", 3072), ("quarterly revenue grew", 1536), ("a", 7), ("b", 1)] {
            let v = embed(&Input::Text(text), dims);
            let mut again = v.clone();
            decimal_grid::quantize(&mut again);
            assert_eq!(again, v, "{text}: already on the grid");
            let length: f64 = v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum();
            assert!((length - 1.0).abs() < 1e-6, "{text} at {dims}: {length}");
            // the JSON floats read back to exactly these values
            let json = String::from_utf8(float_list("m", std::slice::from_ref(&v), 1)).unwrap();
            let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
            let back: Vec<f32> = parsed["data"][0]["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32) // read as f64 then f32, as Python and JavaScript do
                .collect();
            assert_eq!(back, v, "{text} at {dims}");
            let start = json.find("\"embedding\":[").unwrap() + 13;
            let numbers = &json[start..start + json[start..].find(']').unwrap()];
            assert!(numbers.split(',').all(|n| n.contains('.')), "floats, never bare integers");
            let words: Vec<f32> = numbers.split(',').map(|n| n.parse().unwrap()).collect();
            assert_eq!(words, v, "str::parse reads the same floats");
        }
    }

    #[test]
    fn every_dimension_carries_signal() {
        for text in ["hello", "a", "the cat sat on the mat"] {
            let v = embed(&Input::Text(text), 1536);
            assert!(v.iter().all(|x| *x != 0.0), "{text}: a zero coordinate");
            // Spread like a continuous distribution, not a few repeated levels.
            let mut levels: Vec<u32> = v.iter().map(|x| x.to_bits()).collect();
            levels.sort_unstable();
            levels.dedup();
            assert!(levels.len() > 1400, "{text}: {} distinct values", levels.len());
        }
        let t = embed(&Input::Tokens(&[7]), 64);
        assert!(t.iter().all(|x| *x != 0.0));
    }

    #[test]
    fn fewer_dimensions_are_the_truncated_and_renormalised_full_vector() {
        let full = embed(&Input::Text("quarterly revenue grew"), 3072);
        let short = embed(&Input::Text("quarterly revenue grew"), 256);
        let norm = full[..256].iter().map(|x| x * x).sum::<f32>().sqrt();
        for (a, b) in short.iter().zip(&full[..256]) {
            assert!((a - b / norm).abs() < 1e-6);
        }
        // Odd sizes use the remainder path and still match.
        let odd = embed(&Input::Text("quarterly revenue grew"), 7);
        let norm7 = full[..7].iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(odd.iter().zip(&full[..7]).all(|(a, b)| (a - b / norm7).abs() < 1e-6));
    }

    #[test]
    fn repeated_words_weigh_more() {
        let once = e("cat dog");
        let twice = e("cat cat dog");
        let cat = e("cat");
        assert!(cosine(&twice, &cat) > cosine(&once, &cat));
    }

    #[test]
    fn unrelated_texts_share_a_small_positive_cosine() {
        let a = e("quarterly revenue grew in europe");
        let b = e("migratory geese fly south");
        let c = cosine(&a, &b);
        assert!((0.05..0.3).contains(&c), "{c}");
    }

    #[test]
    fn shared_words_are_closer_than_unrelated_text() {
        let a = e("the cat sat on the mat");
        let b = e("a cat sat on a mat today");
        let c = e("quarterly revenue grew in europe");
        assert!(cosine(&a, &b) > cosine(&a, &c) + 0.3, "{} {}", cosine(&a, &b), cosine(&a, &c));
    }

    #[test]
    fn token_inputs_embed_too() {
        let a = embed(&Input::Tokens(&[1, 2, 3]), 64);
        let b = embed(&Input::Tokens(&[1, 2, 4]), 64);
        assert_eq!(a.len(), 64);
        assert!(cosine(&a, &b) > 0.3);
    }

    #[test]
    fn the_base64_list_is_exactly_its_announced_size() {
        let b64 = |v: &[f32]| {
            base64::engine::general_purpose::STANDARD
                .encode(v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>())
        };
        let vectors: Vec<Vec<f32>> = (1..=11).map(|n| e(&format!("text {n}"))[..n * 3].to_vec()).collect();
        for count in [1, 2, 11] {
            let vectors = &vectors[..count];
            let list = Base64List::new("m\"\n", vectors, 1234);
            let mut out = vec![0; list.size()];
            list.write(&mut out);
            let items: Vec<String> = vectors
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    format!("{{\"object\":\"embedding\",\"index\":{i},\"embedding\":\"{}\"}}", b64(v))
                })
                .collect();
            let want = format!(
                "{{\"object\":\"list\",\"data\":[{}],\"model\":\"m\\\"\\n\",\"usage\":{{\"prompt_tokens\":1234,\"total_tokens\":1234}}}}",
                items.join(",")
            );
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }

    #[test]
    fn base64_packs_little_endian_floats() {
        let v = vec![vec![1.0f32, -0.5]];
        let list = Base64List::new("m", &v, 2);
        let mut out = vec![0; list.size()];
        list.write(&mut out);
        let s = String::from_utf8(out).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD
            .encode([1.0f32.to_le_bytes(), (-0.5f32).to_le_bytes()].concat());
        assert!(s.contains(&format!("\"embedding\":\"{b64}\"")));
        let f = String::from_utf8(float_list("m", &v, 2)).unwrap();
        assert!(f.contains("\"embedding\":[1.0,-0.5]"));
        assert!(f.ends_with("\"usage\":{\"prompt_tokens\":2,\"total_tokens\":2}}"));
    }
}
