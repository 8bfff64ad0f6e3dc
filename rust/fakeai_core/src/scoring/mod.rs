//! Text in, numbers out: embeddings by feature hashing, vector-store chunking and search, rerank
//! relevance and moderation scores.

pub mod embedding;
pub mod hadamard;
pub mod moderation;
pub mod rank;
pub mod search;
pub mod unit_length;
