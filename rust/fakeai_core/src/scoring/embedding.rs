//! Deterministic embeddings by feature hashing, and the `list` of `embedding` objects.
//!
//! Each lower-cased word adds +-1 at a hashed dimension and each of its character trigrams adds
//! +-0.3, then the vector is L2-normalised. Texts that share words (or word stems) therefore point in
//! measurably similar directions, while unrelated texts are near-orthogonal: good enough for RAG and
//! clustering tests, and costs microseconds.

use crate::render::json;
use base64::Engine;
use xxhash_rust::xxh3::xxh3_64_with_seed;

const WORD_WEIGHT: f32 = 1.0;
const TRIGRAM_WEIGHT: f32 = 0.3;
const WORD_SEED: u64 = 0x5EED_0001;
const TRIGRAM_SEED: u64 = 0x5EED_0002;
const TOKEN_SEED: u64 = 0x5EED_0003;

pub enum Input<'a> {
    Text(&'a str),
    Tokens(&'a [u32]),
}

fn add(v: &mut [f32], h: u64, weight: f32) {
    let i = (h % v.len() as u64) as usize;
    v[i] += if h >> 63 == 0 { weight } else { -weight };
}

fn add_word(v: &mut [f32], word: &[u8]) {
    add(v, xxh3_64_with_seed(word, WORD_SEED), WORD_WEIGHT);
    let mut padded = Vec::with_capacity(word.len() + 2);
    padded.push(b'^');
    padded.extend_from_slice(word);
    padded.push(b'$');
    for tri in padded.windows(3) {
        add(v, xxh3_64_with_seed(tri, TRIGRAM_SEED), TRIGRAM_WEIGHT);
    }
}

/// The unit-length embedding of `input` with `dims` (> 0) dimensions.
pub fn embed(input: &Input<'_>, dims: usize) -> Vec<f32> {
    let mut v = vec![0f32; dims.max(1)];
    match input {
        Input::Text(text) => {
            let lower = text.to_lowercase();
            for word in lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
                add_word(&mut v, word.as_bytes());
            }
        }
        Input::Tokens(ids) => {
            for id in *ids {
                add(&mut v, xxh3_64_with_seed(&id.to_le_bytes(), TOKEN_SEED), WORD_WEIGHT);
            }
        }
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    } else {
        v[0] = 1.0;
    }
    v
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The `{"object":"list","data":[...]}` response; `base64` packs each vector as little-endian f32.
pub fn render_list(model: &str, vectors: &[Vec<f32>], base64: bool, prompt_tokens: u32) -> Vec<u8> {
    let dims = vectors.first().map_or(0, Vec::len);
    let mut buf = Vec::with_capacity(128 + vectors.len() * (64 + dims * if base64 { 6 } else { 12 }));
    buf.extend_from_slice(b"{\"object\":\"list\",\"data\":[");
    let mut raw = Vec::with_capacity(dims * 4);
    for (i, v) in vectors.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(b"{\"object\":\"embedding\",\"index\":");
        json::uint(&mut buf, i);
        buf.extend_from_slice(b",\"embedding\":");
        if base64 {
            raw.clear();
            raw.extend(v.iter().flat_map(|x| x.to_le_bytes()));
            buf.push(b'"');
            buf.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(&raw).as_bytes());
            buf.push(b'"');
        } else {
            buf.push(b'[');
            for (j, x) in v.iter().enumerate() {
                if j > 0 {
                    buf.push(b',');
                }
                json::float(&mut buf, *x);
            }
            buf.push(b']');
        }
        buf.push(b'}');
    }
    buf.extend_from_slice(b"],\"model\":");
    json::string(&mut buf, model);
    buf.extend_from_slice(b",\"usage\":{\"prompt_tokens\":");
    json::uint(&mut buf, prompt_tokens);
    buf.extend_from_slice(b",\"total_tokens\":");
    json::uint(&mut buf, prompt_tokens);
    buf.extend_from_slice(b"}}");
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(e("")[0], 1.0);
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
    fn base64_packs_little_endian_floats() {
        let v = vec![vec![1.0f32, -0.5]];
        let s = String::from_utf8(render_list("m", &v, true, 2)).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD
            .encode([1.0f32.to_le_bytes(), (-0.5f32).to_le_bytes()].concat());
        assert!(s.contains(&format!("\"embedding\":\"{b64}\"")));
        let f = String::from_utf8(render_list("m", &v, false, 2)).unwrap();
        assert!(f.contains("\"embedding\":[1.0,-0.5]"));
        assert!(f.ends_with("\"usage\":{\"prompt_tokens\":2,\"total_tokens\":2}}"));
    }
}
