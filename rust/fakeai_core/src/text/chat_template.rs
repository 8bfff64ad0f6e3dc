//! The chat template of fakeai's tokenizer: where the tokens a chat prompt counts beyond its text go.
//!
//! A chat prompt counts OpenAI's 3 tokens per message and 3 to prime the reply (`py/chat.rs`); the
//! template says which tokens those are, in ChatML as cl100k's chat models use it:
//! `<|im_start|>role<|im_sep|>content<|im_end|>` per message (a `name` adds `:` and the name after the
//! role), then `<|im_start|>assistant<|im_sep|>`. The special tokens have cl100k's ids, just past
//! the ordinary vocabulary, so `/tokenize` lists exactly as many ids as the prompt counts.

use super::tokens::{self, VOCAB_SIZE};

pub const IM_START: u32 = 100_264;
pub const IM_END: u32 = 100_265;
pub const IM_SEP: u32 = 100_266;
/// The ordinary pieces the template adds: between a role and a name, and the reply's role.
pub const NAME_SEP: &str = ":";
pub const REPLY_ROLE: &str = "assistant";
const _: () = assert!(IM_START >= VOCAB_SIZE);

/// A point of the template between the texts of a prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Before a message's role.
    Start,
    /// Between the role and a name.
    Name,
    /// After the role (and name), before the content.
    Sep,
    /// After the content.
    End,
    /// The reply's priming, after the last message.
    Reply,
}

/// Tokens of `mark`, appended to `out`: Start + Sep + End are the 3 per message, Reply the 3 of the
/// priming, Name the 1 of a name.
pub fn push(mark: Mark, out: &mut Vec<u32>) {
    match mark {
        Mark::Start => out.push(IM_START),
        Mark::Name => out.push(tokens::piece_id(NAME_SEP)),
        Mark::Sep => out.push(IM_SEP),
        Mark::End => out.push(IM_END),
        Mark::Reply => out.extend([IM_START, tokens::piece_id(REPLY_ROLE), IM_SEP]),
    }
}

/// The text of a special token id.
pub fn special(id: u32) -> Option<&'static str> {
    match id {
        IM_START => Some("<|im_start|>"),
        IM_END => Some("<|im_end|>"),
        IM_SEP => Some("<|im_sep|>"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_have_the_counts_of_openais_accounting() {
        let count = |marks: &[Mark]| {
            let mut out = Vec::new();
            marks.iter().for_each(|&m| push(m, &mut out));
            out.len()
        };
        assert_eq!(count(&[Mark::Start, Mark::Sep, Mark::End]), 3);
        assert_eq!(count(&[Mark::Reply]), 3);
        assert_eq!(count(&[Mark::Name]), 1);
        assert_eq!(special(IM_SEP), Some("<|im_sep|>"));
        assert_eq!(special(5), None);
    }
}
