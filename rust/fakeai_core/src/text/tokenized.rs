//! Text generated outside the vocabulary (JSON content, tool arguments) with its token boundaries,
//! so it can be counted, capped and streamed a token at a time.

use crate::text::tokens;

pub struct Tokenized {
    pub text: String,
    ends: Vec<u32>,
}

impl Tokenized {
    pub fn new(text: String) -> Self {
        let mut end = 0u32;
        let ends = tokens::pieces(&text)
            .map(|p| {
                end += p.len() as u32;
                end
            })
            .collect();
        Self { text, ends }
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Token `k` as text.
    pub fn piece(&self, k: usize) -> &str {
        let start = if k == 0 { 0 } else { self.ends[k - 1] as usize };
        &self.text[start..self.ends[k] as usize]
    }

    /// Keep the first `n` tokens.
    pub fn truncate(&mut self, n: usize) {
        if n < self.ends.len() {
            self.ends.truncate(n);
            self.text.truncate(self.ends.last().map_or(0, |&e| e as usize));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_rebuild_the_text_and_truncate_cuts_whole_tokens() {
        let mut t = Tokenized::new("{\"city\":\"Paris 2024\"}".to_owned());
        let joined: String = (0..t.len()).map(|k| t.piece(k)).collect();
        assert_eq!(joined, t.text);
        assert_eq!(t.len(), tokens::count(&t.text));
        t.truncate(3);
        assert_eq!(t.text, "{\"city");
        assert_eq!(t.len(), 3);
    }
}
