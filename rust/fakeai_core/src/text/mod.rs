//! Tokens and generated content: fakeai's tokenizer and vocabulary, prompt budgets, output lengths,
//! prose, and the structured content a reply can carry (tool calls, JSON for a schema, reasoning,
//! predicted outputs). Nothing here renders a response; [`crate::render`] does.

pub mod allowed_tools;
pub mod budget;
pub mod chat_template;
pub mod context_window;
pub mod custom_tools;
pub mod json_scan;
pub mod length;
pub mod parse_cache;
pub mod prediction;
pub mod prompt_schema;
pub mod prose;
pub mod reasoning;
pub mod response_format;
pub mod schema_gen;
pub mod tokenized;
pub mod tokens;
pub mod tools;
pub mod vocab;
