//! Relevance of passages to a query for the reranking endpoints: Okapi BM25 over the passages given
//! (lower-cased alphanumeric words, k1 = 1.2, b = 0.75), plus the cosine of fakeai's trigram
//! embeddings so that shared word stems count a little too. The logit is an affine map of that score
//! into the range NIM rerankers report (about -10 for no overlap, positive for strong overlap).

use crate::scoring::embedding::{self, Input};
use std::collections::HashMap;

const K1: f64 = 1.2;
const B: f64 = 0.75;
const EMBED_DIMS: usize = 256;
const COSINE_WEIGHT: f64 = 4.0;
const LOGIT_SCALE: f64 = 2.0;
const LOGIT_OFFSET: f64 = -10.0;

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// One logit per passage, in the passages' order; higher is more relevant.
pub fn logits(query: &str, passages: &[&str]) -> Vec<f64> {
    let docs: Vec<Vec<String>> = passages.iter().map(|p| words(p)).collect();
    let n = docs.len().max(1) as f64;
    let avg_len = (docs.iter().map(Vec::len).sum::<usize>() as f64 / n).max(1.0);
    let mut query_terms = words(query);
    query_terms.sort_unstable();
    query_terms.dedup();
    let mut doc_freq: HashMap<&str, f64> = query_terms.iter().map(|t| (t.as_str(), 0.0)).collect();
    for doc in &docs {
        for (term, df) in doc_freq.iter_mut() {
            if doc.iter().any(|w| w == term) {
                *df += 1.0;
            }
        }
    }
    let query_vec = embedding::embed(&Input::Text(query), EMBED_DIMS);
    docs.iter()
        .zip(passages)
        .map(|(doc, text)| {
            let len = doc.len() as f64;
            let bm25: f64 = query_terms
                .iter()
                .map(|term| {
                    let tf = doc.iter().filter(|w| *w == term).count() as f64;
                    let df = doc_freq[term.as_str()];
                    let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                    idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avg_len))
                })
                .sum();
            let cosine = embedding::cosine(&query_vec, &embedding::embed(&Input::Text(text), EMBED_DIMS));
            LOGIT_OFFSET + LOGIT_SCALE * (bm25 + COSINE_WEIGHT * f64::from(cosine.max(0.0)))
        })
        .collect()
}

/// The logistic function: a logit as a relevance score in `0..1` (Cohere/Jina `relevance_score`).
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_overlap_ranks_higher() {
        let q = "how does GPU memory bandwidth limit inference throughput";
        let passages = [
            "The recipe needs two eggs and a cup of flour.",
            "GPU memory bandwidth often limits LLM inference throughput more than compute.",
            "Inference servers batch requests to raise throughput.",
        ];
        let l = logits(q, &passages);
        assert!(l[1] > l[2] && l[2] > l[0], "{l:?}");
        assert!(l[0] < -5.0 && l[1] > 0.0, "{l:?}");
    }

    #[test]
    fn deterministic_and_empty_safe() {
        assert_eq!(logits("a b", &["a", "b c"]), logits("a b", &["a", "b c"]));
        assert!(logits("", &["x"])[0].is_finite());
        assert!(logits("q", &[]).is_empty());
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-12 && sigmoid(10.0) > 0.99);
    }
}
