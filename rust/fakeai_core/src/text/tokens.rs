//! A fast, deterministic stand-in for a BPE tokenizer.
//!
//! Text is split into pieces the way GPT-style tokenizers split English: a word with its leading space
//! is one piece (long words are cut every [`MAX_WORD_PIECE`] letters), digits go in groups of three,
//! every other symbol is a piece of its own, and a run of whitespace is one piece. That gives roughly
//! four characters a token on English prose, like `cl100k_base`. Each piece has a stable id in
//! `0..VOCAB_SIZE`, derived by hashing, so equal text always gives equal token ids.

use xxhash_rust::xxh3::xxh3_64;

/// Size of the simulated vocabulary; token ids are below this.
pub const VOCAB_SIZE: u32 = 100_256;
/// Longest run of letters kept in one piece.
pub const MAX_WORD_PIECE: usize = 12;
const MAX_DIGIT_PIECE: usize = 3;

/// Iterator over the pieces (tokens) of a text, as sub-slices of it.
pub struct Pieces<'a> {
    text: &'a str,
    pos: usize,
}

pub fn pieces(text: &str) -> Pieces<'_> {
    Pieces { text, pos: 0 }
}

fn run_len(bytes: &[u8], start: usize, max: usize, pred: impl Fn(u8) -> bool) -> usize {
    bytes[start..].iter().take(max).take_while(|&&b| pred(b)).count()
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        if start >= bytes.len() {
            return None;
        }
        let b = bytes[start];
        let end = if b == b' ' && bytes.get(start + 1).is_some_and(u8::is_ascii_alphabetic) {
            start + 1 + run_len(bytes, start + 1, MAX_WORD_PIECE, |c| c.is_ascii_alphabetic())
        } else if b.is_ascii_alphabetic() {
            start + run_len(bytes, start, MAX_WORD_PIECE, |c| c.is_ascii_alphabetic())
        } else if b.is_ascii_digit() {
            start + run_len(bytes, start, MAX_DIGIT_PIECE, |c| c.is_ascii_digit())
        } else if b.is_ascii_whitespace() {
            let run = run_len(bytes, start, usize::MAX, |c| c.is_ascii_whitespace());
            // A trailing space before a word belongs to that word, as in BPE tokenizers.
            let last = start + run - 1;
            if run > 1 && bytes[last] == b' ' && bytes.get(last + 1).is_some_and(u8::is_ascii_alphabetic) {
                last
            } else {
                start + run
            }
        } else {
            // One symbol or one non-ASCII character.
            start + self.text[start..].chars().next().map_or(1, char::len_utf8)
        };
        self.pos = end;
        Some(&self.text[start..end])
    }
}

/// Number of tokens in `text`.
pub fn count(text: &str) -> usize {
    pieces(text).count()
}

/// Stable id of one piece.
pub fn piece_id(piece: &str) -> u32 {
    (xxh3_64(piece.as_bytes()) % u64::from(VOCAB_SIZE)) as u32
}

/// Token ids of `text`, appended to `out`.
pub fn encode_into(text: &str, out: &mut Vec<u32>) {
    out.extend(pieces(text).map(piece_id));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<&str> {
        pieces(text).collect()
    }

    #[test]
    fn words_carry_their_leading_space() {
        assert_eq!(split("Hello world"), ["Hello", " world"]);
        assert_eq!(split("Hi, there."), ["Hi", ",", " there", "."]);
    }

    #[test]
    fn long_words_and_numbers_are_cut() {
        assert_eq!(split("abcdefghijklmnop"), ["abcdefghijkl", "mnop"]);
        assert_eq!(split("1234567"), ["123", "456", "7"]);
    }

    #[test]
    fn whitespace_runs_are_one_piece_and_give_the_last_space_to_a_word() {
        assert_eq!(split("a\n\nb"), ["a", "\n\n", "b"]);
        assert_eq!(split("a   b"), ["a", "  ", " b"]);
        assert_eq!(split("a \n"), ["a", " \n"]);
    }

    #[test]
    fn non_ascii_is_one_piece_per_char_and_never_splits_utf8() {
        assert_eq!(split("héllo"), ["h", "é", "llo"]);
        assert_eq!(split("日本"), ["日", "本"]);
        assert_eq!(count("🙂🙂"), 2);
    }

    #[test]
    fn pieces_cover_the_text_exactly() {
        let text = "The quick brown fox — jumps 12345 times!\n\n  Done.";
        assert_eq!(split(text).concat(), text);
    }

    #[test]
    fn about_four_chars_per_token_on_prose() {
        let text = "Simulated inference servers let engineers test gateways without any GPUs at all.";
        let ratio = text.len() as f64 / count(text) as f64;
        assert!((3.5..7.0).contains(&ratio), "{ratio}");
    }

    #[test]
    fn ids_are_stable_and_in_range() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        encode_into("same text here", &mut a);
        encode_into("same text here", &mut b);
        assert_eq!(a, b);
        assert!(a.iter().all(|&id| id < VOCAB_SIZE));
        assert_eq!(count(""), 0);
    }
}
