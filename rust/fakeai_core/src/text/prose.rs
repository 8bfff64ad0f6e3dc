//! Seeded prose with exact token counts, and cutting it at stop sequences.
//!
//! How many tokens to generate is decided in [`crate::text::length`].

use crate::rng::Rng;
use crate::text::vocab::{self, COMMA, PARAGRAPH, PERIOD};

/// Generate `len` pieces of prose: sentences of 6-18 words, commas, paragraphs.
pub fn generate(rng: &mut Rng, len: usize) -> Vec<&'static str> {
    let table = vocab::table();
    let mut out = Vec::with_capacity(len);
    let mut sentence_left = 0u64;
    let mut sentences_in_paragraph = 0u64;
    let mut capital = true;
    while out.len() < len {
        if sentence_left == 0 && !out.is_empty() && !capital {
            out.push(PERIOD);
            sentences_in_paragraph += 1;
            capital = true;
            if sentences_in_paragraph >= 4 && rng.below(2) == 0 {
                sentences_in_paragraph = 0;
                if out.len() < len {
                    out.push(PARAGRAPH);
                }
            }
            continue;
        }
        if sentence_left == 0 {
            sentence_left = rng.range(6, 18);
        }
        let spaced = out.last().is_some_and(|p| *p != PARAGRAPH);
        out.push(table.word(rng.below(table.words as u64) as usize, spaced, capital));
        capital = false;
        sentence_left -= 1;
        if sentence_left > 2 && rng.below(12) == 0 && out.len() < len {
            out.push(COMMA);
        }
    }
    out.truncate(len);
    out
}

/// Cut `pieces` at the earliest occurrence of any stop sequence. The stop text itself is not
/// returned (as OpenAI does); a piece the stop starts inside is kept in part and still counts as a
/// generated token. Returns whether a stop sequence was found.
pub fn apply_stop(pieces: &mut Vec<&str>, stops: &[String]) -> bool {
    if stops.is_empty() {
        return false;
    }
    let text: String = pieces.concat();
    let Some(cut) = stops.iter().filter(|s| !s.is_empty()).filter_map(|s| text.find(s.as_str())).min() else {
        return false;
    };
    let mut offset = 0;
    for i in 0..pieces.len() {
        let end = offset + pieces[i].len();
        if end > cut {
            let head = &pieces[i][..cut - offset];
            pieces.truncate(i);
            if !head.is_empty() {
                pieces.push(head);
            }
            return true;
        }
        offset = end;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokens;

    #[test]
    fn generated_text_has_exactly_the_asked_token_count() {
        for len in [0usize, 1, 2, 7, 16, 100, 1000] {
            let pieces = generate(&mut Rng::new(len as u64), len);
            assert_eq!(pieces.len(), len);
            assert_eq!(tokens::count(&pieces.concat()), len, "len {len}");
        }
    }

    #[test]
    fn same_seed_same_text() {
        let a = generate(&mut Rng::new(42), 50).concat();
        let b = generate(&mut Rng::new(42), 50).concat();
        let c = generate(&mut Rng::new(43), 50).concat();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn text_reads_like_sentences() {
        let text = generate(&mut Rng::new(5), 200).concat();
        assert!(text.chars().next().unwrap().is_uppercase());
        assert!(text.contains(". "));
        assert!(!text.contains("  "));
    }

    #[test]
    fn stop_cuts_at_the_earliest_match() {
        let mut pieces = vec!["Hello", " world", ".", " Bye", " now"];
        assert!(apply_stop(&mut pieces, &["Bye".into(), "wor".into()]));
        assert_eq!(pieces, vec!["Hello", " "]);
        let mut pieces = vec!["Hello", " world"];
        assert!(!apply_stop(&mut pieces, &["zzz".into(), String::new()]));
        assert_eq!(pieces.len(), 2);
        let mut pieces = vec!["Hello", " world"];
        assert!(apply_stop(&mut pieces, &["Hello".into()]));
        assert!(pieces.is_empty());
    }
}
