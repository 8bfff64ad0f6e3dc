//! Retrieval for vector stores: token-window chunking, an embedding matrix, top-k by cosine.
//!
//! Chunks follow OpenAI's static strategy: windows of `max_tokens` tokens of fakeai's tokenizer, each
//! starting `max_tokens - overlap` tokens after the previous one. Vectors come from
//! [`crate::scoring::embedding::embed`] and are stored as one row-major little-endian `f32` matrix.

use crate::scoring::embedding::{self, Input};
use crate::text::tokens;

/// The chunks of `text`: windows of `max_tokens` tokens overlapping by `overlap` (< `max_tokens`).
pub fn chunk(text: &str, max_tokens: usize, overlap: usize) -> Vec<&str> {
    let max_tokens = max_tokens.max(1);
    let step = max_tokens - overlap.min(max_tokens - 1);
    // Byte offset where each token starts, plus the end of the text.
    let mut starts: Vec<usize> = Vec::new();
    let mut pos = 0;
    for piece in tokens::pieces(text) {
        starts.push(pos);
        pos += piece.len();
    }
    let n = starts.len();
    starts.push(text.len());
    let mut chunks = Vec::new();
    let mut first = 0;
    while first < n {
        let last = (first + max_tokens).min(n);
        chunks.push(&text[starts[first]..starts[last]]);
        if last == n {
            break;
        }
        first += step;
    }
    chunks
}

/// The embeddings of `texts`, as one row-major little-endian `f32` matrix of `dims` columns.
pub fn matrix(texts: &[&str], dims: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(texts.len() * dims * 4);
    for text in texts {
        for x in embedding::embed(&Input::Text(text), dims) {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out
}

/// The `k` rows of `matrix` most similar to `query`'s embedding, best first: `(row, cosine)`.
pub fn top_k(query: &str, matrix: &[u8], dims: usize, k: usize) -> Vec<(usize, f32)> {
    let q = embedding::embed(&Input::Text(query), dims);
    let mut scored: Vec<(usize, f32)> = matrix
        .chunks_exact(dims * 4)
        .map(|row| row.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        .map(|row| row.zip(&q).map(|(x, y)| x * y).sum::<f32>())
        .enumerate()
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(k);
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_token_windows_with_overlap() {
        let text = "one two three four five six seven";
        assert_eq!(chunk(text, 3, 1), vec!["one two three", " three four five", " five six seven"]);
        assert_eq!(chunk(text, 100, 10), vec![text]);
        assert_eq!(chunk(text, 7, 0), vec![text]);
        assert!(chunk("", 5, 1).is_empty());
        // Overlap >= size still advances one token at a time.
        assert_eq!(chunk("a b c", 2, 5), vec!["a b", " b c"]);
    }

    #[test]
    fn chunks_cover_the_text() {
        let text = "The quick brown fox jumps over the lazy dog. 12345 and more!";
        assert_eq!(chunk(text, 4, 0).concat(), text);
    }

    #[test]
    fn top_k_ranks_the_matching_text_first() {
        let texts = ["bananas are yellow fruit", "rust compiles to machine code", "cats purr softly"];
        let m = matrix(&texts, 64);
        assert_eq!(m.len(), 3 * 64 * 4);
        let best = top_k("how does rust compile code", &m, 64, 2);
        assert_eq!(best.len(), 2);
        assert_eq!(best[0].0, 1);
        assert!(best[0].1 > best[1].1);
        assert!((top_k("cats purr softly", &m, 64, 1)[0].1 - 1.0).abs() < 1e-5);
    }
}
