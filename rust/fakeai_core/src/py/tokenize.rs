//! `tokenize`, `tokenize_chat`, `detokenize`: vLLM's `/tokenize` and `/detokenize` over fakeai's
//! tokenizer ([`crate::text::tokens`]), with the pieces met remembered server-wide
//! ([`crate::shm::vocab`]) so that any worker turns the ids back into the text.

use super::chat::{read_messages, PromptSink};
use super::shared::SharedTable;
use crate::invalid::Invalid;
use crate::shm::table::Table;
use crate::shm::vocab;
use crate::text::chat_template::{self, Mark};
use crate::text::tokens;
use crate::text::vocab as words;
use pyo3::prelude::*;
use pyo3::types::PyList;

/// The ids of a prompt, each text piece learned into `vocab`, the template's tokens between texts.
struct Tokenizer<'a> {
    ids: Vec<u32>,
    vocab: Option<&'a Table>,
    reply: bool,
}

impl PromptSink for Tokenizer<'_> {
    fn text(&mut self, text: &str) -> usize {
        let before = self.ids.len();
        for piece in tokens::pieces(text) {
            let id = tokens::piece_id(piece);
            if let Some(v) = self.vocab {
                vocab::learn(v, id, piece);
            }
            self.ids.push(id);
        }
        self.ids.len() - before
    }

    fn mark(&mut self, mark: Mark) {
        if mark != Mark::Reply || self.reply {
            chat_template::push(mark, &mut self.ids);
        }
    }
}

impl<'a> Tokenizer<'a> {
    fn new(vocab: Option<&'a SharedTable>, reply: bool) -> Self {
        let vocab = vocab.map(SharedTable::table);
        if let Some(v) = vocab {
            for piece in [chat_template::NAME_SEP, chat_template::REPLY_ROLE] {
                vocab::learn(v, tokens::piece_id(piece), piece);
            }
        }
        Self { ids: Vec::new(), vocab, reply }
    }
}

/// Token ids of `text` (exactly `count_tokens(text)` of them); pieces are learned into `vocab`.
#[pyfunction]
#[pyo3(signature = (text, vocab=None))]
pub(crate) fn tokenize(text: &str, vocab: Option<&SharedTable>) -> Vec<u32> {
    let mut t = Tokenizer::new(vocab, false);
    t.text(text);
    t.ids
}

/// Token ids of a chat prompt through the chat template: as many as the prompt tokens a chat
/// completion of `messages` counts (3 fewer without the generation prompt). Only text content can be
/// listed: another part raises `InvalidInput`.
#[pyfunction]
#[pyo3(signature = (messages, vocab=None, add_generation_prompt=true))]
pub(crate) fn tokenize_chat(
    messages: &Bound<'_, PyList>,
    vocab: Option<&SharedTable>,
    add_generation_prompt: bool,
) -> PyResult<Vec<u32>> {
    let mut t = Tokenizer::new(vocab, add_generation_prompt);
    let (_, _, rich) = read_messages(messages, Some(&mut t))?;
    if rich {
        let message = "Only text content can be tokenized: a message holds another kind of part.";
        return Err(Invalid::new("messages", message).code("unsupported_content").into());
    }
    Ok(t.ids)
}

/// The text of token ids: special tokens by name, learned pieces, generated-text pieces; any other
/// id as the vocabulary renders token-id prompts.
#[pyfunction]
#[pyo3(signature = (ids, vocab=None))]
pub(crate) fn detokenize(ids: Vec<u32>, vocab: Option<&SharedTable>) -> String {
    let table = vocab.map(SharedTable::table);
    let mut text = String::new();
    for id in ids {
        if let Some(s) = chat_template::special(id) {
            text.push_str(s);
        } else if let Some(piece) = table.and_then(|t| vocab::lookup(t, id)) {
            text.push_str(&piece);
        } else {
            text.push_str(words::piece_of(id).unwrap_or_else(|| words::table().any(id as usize)));
        }
    }
    text
}
