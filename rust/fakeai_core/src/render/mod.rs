//! Rendering responses: the `n` choices of a completion (prose, echo, logprobs) and the bytes the
//! client receives for them — chat and text completions, Anthropic messages, their SSE streams,
//! `usage` objects and ids, written with the small JSON writer in [`json`].

pub mod anthropic;
pub mod base64;
pub mod chat;
pub mod chat_choices;
pub mod choices;
pub mod decimal_grid;
pub mod echo;
pub mod ids;
pub mod json;
pub mod logprobs;
pub mod sse;
pub mod text_completion;
pub mod usage;
