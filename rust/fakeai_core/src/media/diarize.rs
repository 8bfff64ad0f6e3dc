//! Who speaks each segment of a diarized transcription (`gpt-4o-transcribe-diarize`'s
//! `diarized_json`).
//!
//! The segments of a [`crate::media::transcript::Transcript`] (its sentences: ordered,
//! non-overlapping, within the audio's duration) are shared among a few voices taking turns: the
//! request's known speakers (at most [`MAX_SPEAKERS`]), otherwise two or three drawn from the file's
//! key, never more voices than segments. The first segment is the first voice's; each next one stays
//! with the same voice with probability [`KEEP`] and otherwise passes to another. Voices are numbered
//! in the order they are first heard, so labels `A`, `B`... (or the known names, in their order)
//! appear in order. The same file and speakers give the same turns.

use crate::rng::Rng;

/// Most speakers a diarization tells apart, and most known speakers a request may name (OpenAI's 4).
pub const MAX_SPEAKERS: usize = 4;
/// Chance that a segment is said by the speaker of the segment before it.
const KEEP: f64 = 0.45;

/// The speaker (0-based, numbered by first appearance) of each of `segments` segments of the audio
/// keyed `key`, among `known` speakers (0: unknown, two or three).
pub fn speakers(key: u64, segments: usize, known: usize) -> Vec<usize> {
    let mut rng = Rng::keyed(key, b"diarize");
    let voices = if known > 0 { known.min(MAX_SPEAKERS) } else { 2 + rng.below(2) as usize };
    let voices = voices.min(segments).max(1);
    let mut order = [usize::MAX; MAX_SPEAKERS];
    let (mut heard, mut current) = (0, 0);
    let mut out = Vec::with_capacity(segments);
    for i in 0..segments {
        if i > 0 && voices > 1 && rng.unit() >= KEEP {
            let next = rng.below(voices as u64 - 1) as usize;
            current = if next >= current { next + 1 } else { next };
        }
        if order[current] == usize::MAX {
            order[current] = heard;
            heard += 1;
        }
        out.push(order[current]);
    }
    out
}

/// The label of speaker `i`: `names[i]` when the request named its speakers, else `A`, `B`, ...
pub fn label(i: usize, names: &[String]) -> String {
    names.get(i).cloned().unwrap_or_else(|| char::from(b'A' + (i % 26) as u8).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speakers_appear_in_order_and_turns_are_deterministic() {
        for key in 0..200 {
            let s = speakers(key, 40, 0);
            assert_eq!(s[0], 0);
            let most = s.iter().max().copied().unwrap();
            assert!((1..=2).contains(&most), "{s:?}");
            // each new speaker is the next number
            let mut heard = 0;
            for &x in &s {
                assert!(x <= heard);
                heard = heard.max(x + 1);
            }
            assert_eq!(s, speakers(key, 40, 0));
        }
        assert!(speakers(7, 100, 4).iter().all(|&x| x < 4));
        assert!(speakers(7, 100, 9).iter().all(|&x| x < MAX_SPEAKERS));
        assert_eq!(speakers(7, 1, 3), vec![0]);
        assert!(speakers(7, 0, 0).is_empty());
    }

    #[test]
    fn labels_are_letters_or_known_names() {
        assert_eq!(label(0, &[]), "A");
        assert_eq!(label(2, &[]), "C");
        let names = vec!["agent".to_owned(), "customer".to_owned()];
        assert_eq!(label(1, &names), "customer");
    }
}
