//! The word list that generated text is drawn from, and its table of token pieces.
//!
//! Every entry is at most [`crate::text::tokens::MAX_WORD_PIECE`] ASCII letters, so each generated piece is
//! exactly one token for [`crate::text::tokens`]: the counts fakeai reports match its own tokenizer.

use std::sync::OnceLock;

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "with",
    "was",
    "on",
    "be",
    "by",
    "this",
    "are",
    "from",
    "at",
    "or",
    "an",
    "which",
    "can",
    "also",
    "has",
    "have",
    "more",
    "these",
    "their",
    "other",
    "its",
    "when",
    "into",
    "between",
    "each",
    "such",
    "through",
    "while",
    "where",
    "because",
    "however",
    "therefore",
    "system",
    "model",
    "data",
    "request",
    "response",
    "token",
    "latency",
    "server",
    "cluster",
    "network",
    "memory",
    "cache",
    "prefix",
    "compute",
    "kernel",
    "tensor",
    "matrix",
    "vector",
    "layer",
    "attention",
    "decoder",
    "encoder",
    "batch",
    "queue",
    "throughput",
    "gateway",
    "router",
    "client",
    "stream",
    "signal",
    "result",
    "process",
    "method",
    "value",
    "number",
    "example",
    "question",
    "answer",
    "problem",
    "solution",
    "approach",
    "design",
    "structure",
    "pattern",
    "function",
    "parameter",
    "context",
    "window",
    "sequence",
    "language",
    "inference",
    "training",
    "dataset",
    "accuracy",
    "quality",
    "performance",
    "efficient",
    "robust",
    "simple",
    "complex",
    "large",
    "small",
    "fast",
    "slow",
    "new",
    "important",
    "different",
    "several",
    "many",
    "most",
    "some",
    "every",
    "first",
    "second",
    "final",
    "general",
    "specific",
    "common",
    "useful",
    "clear",
    "direct",
    "careful",
    "practical",
    "typical",
    "stable",
    "precise",
    "shared",
    "distributed",
    "parallel",
    "random",
    "natural",
    "consistent",
    "available",
    "reliable",
    "measure",
    "improve",
    "reduce",
    "increase",
    "provide",
    "support",
    "handle",
    "consider",
    "explain",
    "describe",
    "compare",
    "combine",
    "separate",
    "generate",
    "predict",
    "observe",
    "estimate",
    "balance",
    "schedule",
    "allocate",
    "evaluate",
    "understand",
    "require",
    "include",
    "produce",
    "follow",
    "allow",
    "ensure",
    "remain",
    "become",
    "show",
    "find",
    "make",
    "take",
    "use",
    "give",
    "work",
    "run",
    "keep",
    "build",
    "test",
    "check",
    "read",
    "write",
    "send",
    "receive",
    "store",
    "time",
    "way",
    "part",
    "point",
    "case",
    "fact",
    "idea",
    "group",
    "level",
    "order",
    "rate",
    "cost",
    "scale",
    "limit",
    "range",
    "state",
    "step",
    "stage",
    "phase",
    "path",
    "rule",
    "view",
    "form",
    "often",
    "usually",
    "rarely",
    "quickly",
    "slowly",
    "simply",
    "clearly",
    "mostly",
    "nearly",
    "always",
    "never",
    "again",
    "together",
    "instead",
    "already",
    "still",
    "only",
    "even",
    "well",
    "not",
    "all",
    "both",
    "any",
    "one",
    "two",
    "three",
    "few",
    "much",
    "less",
    "than",
    "then",
    "there",
    "here",
    "what",
    "how",
    "why",
    "who",
    "we",
    "you",
    "they",
    "our",
    "your",
    "will",
    "would",
    "could",
    "should",
    "may",
    "might",
    "must",
    "does",
    "did",
    "been",
    "being",
    "after",
    "before",
    "during",
    "within",
    "without",
    "under",
    "over",
    "across",
    "around",
    "about",
    "against",
    "along",
    "behind",
    "engineer",
    "operator",
    "developer",
    "benchmark",
    "workload",
    "capacity",
    "resource",
    "budget",
    "deadline",
    "interval",
    "channel",
    "message",
    "payload",
    "header",
    "record",
    "metric",
    "counter",
    "histogram",
    "sample",
    "profile",
    "trace",
    "event",
    "error",
    "failure",
    "retry",
    "timeout",
];

/// The pieces generated text is made of: each word lower-case and capitalised, with and without a
/// leading space, then punctuation. Indexes into this table are stable for a given build.
pub struct Table {
    pub pieces: Vec<String>,
    pub words: usize,
}

pub const COMMA: &str = ",";
pub const PERIOD: &str = ".";
pub const PARAGRAPH: &str = "\n\n";

impl Table {
    /// Piece for word `i` in one of four forms: bit 0 = leading space, bit 1 = capitalised.
    pub fn word(&self, i: usize, spaced: bool, capital: bool) -> &str {
        &self.pieces[i * 4 + usize::from(spaced) + 2 * usize::from(capital)]
    }

    /// Any piece by index (wrapping), e.g. to render arbitrary token ids as text.
    pub fn any(&self, i: usize) -> &str {
        &self.pieces[i % self.pieces.len()]
    }
}

/// The generated-text piece whose token id is `id`, if one has it (the first, should two share it).
pub fn piece_of(id: u32) -> Option<&'static str> {
    static BY_ID: OnceLock<std::collections::HashMap<u32, usize>> = OnceLock::new();
    let by_id = BY_ID.get_or_init(|| {
        let mut map = std::collections::HashMap::new();
        for (i, p) in table().pieces.iter().enumerate() {
            map.entry(crate::text::tokens::piece_id(p)).or_insert(i);
        }
        map
    });
    by_id.get(&id).map(|&i| table().pieces[i].as_str())
}

pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut pieces = Vec::with_capacity(WORDS.len() * 4 + 3);
        for w in WORDS {
            let cap = format!("{}{}", w[..1].to_ascii_uppercase(), &w[1..]);
            pieces.push((*w).to_string());
            pieces.push(format!(" {w}"));
            pieces.push(cap.clone());
            pieces.push(format!(" {cap}"));
        }
        pieces.extend([COMMA, PERIOD, PARAGRAPH].map(str::to_string));
        Table { pieces, words: WORDS.len() }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokens;

    #[test]
    fn every_piece_is_one_token() {
        for p in &table().pieces {
            assert_eq!(tokens::count(p), 1, "{p:?}");
        }
    }

    #[test]
    fn generated_pieces_are_found_by_their_id() {
        for p in &table().pieces {
            let found = piece_of(tokens::piece_id(p)).unwrap();
            assert_eq!(tokens::piece_id(found), tokens::piece_id(p));
        }
    }

    #[test]
    fn forms_are_where_word_says() {
        let t = table();
        let i = WORDS.iter().position(|w| *w == "model").unwrap();
        assert_eq!(t.word(i, false, false), "model");
        assert_eq!(t.word(i, true, false), " model");
        assert_eq!(t.word(i, false, true), "Model");
        assert_eq!(t.word(i, true, true), " Model");
    }
}
