//! Seeded text generation with exact token counts, output-length choice and stop sequences.

use crate::length_dist::LengthDist;
use crate::rng::Rng;
use crate::vocab::{self, COMMA, PARAGRAPH, PERIOD};

/// Why a choice ended, as OpenAI reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    Stop,
    Length,
}

impl Finish {
    pub fn as_str(self) -> &'static str {
        match self {
            Finish::Stop => "stop",
            Finish::Length => "length",
        }
    }
}

/// Shortest and longest natural answer (tokens) when the model is free to stop by itself.
/// Lengths are uniform in this range by default (see [`LengthDist`]), then capped by `max_tokens`.
pub const NATURAL_LENGTH: (u32, u32) = (32, 512);

/// What the request says about the output length.
#[derive(Clone, Copy, Debug, Default)]
pub struct LengthSpec {
    pub max_tokens: Option<u32>,
    pub min_tokens: u32,
    /// vLLM's `ignore_eos`: always generate exactly `max_tokens`.
    pub ignore_eos: bool,
    /// An exact length forced by the operator (e.g. a per-request header), still capped by `max_tokens`.
    pub forced: Option<u32>,
    /// The natural length when nothing above decides it (`--output-length-distribution`).
    pub natural: LengthDist,
}

/// Number of tokens to generate and the finish reason if nothing else (a stop sequence) cuts it.
pub fn choose_length(rng: &mut Rng, spec: LengthSpec) -> (u32, Finish) {
    let natural = match (spec.forced, spec.ignore_eos, spec.max_tokens) {
        (Some(n), _, _) => n,
        (None, true, Some(max)) => max,
        _ => spec.natural.sample(rng),
    }
    .max(spec.min_tokens);
    match spec.max_tokens {
        Some(max) if natural >= max => (max, Finish::Length),
        _ => (natural, Finish::Stop),
    }
}

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
    use crate::tokens;

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
    fn length_is_capped_by_max_tokens() {
        let mut rng = Rng::new(1);
        for _ in 0..200 {
            let (n, finish) =
                choose_length(&mut rng, LengthSpec { max_tokens: Some(40), ..Default::default() });
            assert!(n <= 40);
            assert_eq!(finish == Finish::Length, n == 40);
        }
    }

    #[test]
    fn ignore_eos_gives_exactly_max_tokens() {
        let spec = LengthSpec { max_tokens: Some(700), ignore_eos: true, ..Default::default() };
        assert_eq!(choose_length(&mut Rng::new(1), spec), (700, Finish::Length));
    }

    #[test]
    fn forced_and_min_tokens() {
        let spec = LengthSpec { forced: Some(5), min_tokens: 9, ..Default::default() };
        assert_eq!(choose_length(&mut Rng::new(1), spec), (9, Finish::Stop));
        let spec = LengthSpec { forced: Some(50), max_tokens: Some(10), ..Default::default() };
        assert_eq!(choose_length(&mut Rng::new(1), spec), (10, Finish::Length));
        let (n, _) = choose_length(&mut Rng::new(2), LengthSpec::default());
        assert!((NATURAL_LENGTH.0..=NATURAL_LENGTH.1).contains(&n));
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
