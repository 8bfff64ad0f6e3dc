//! The Python bindings: convert Python values into owned Rust values, call the core, hand back bytes.
//!
//! One file per concept bound: an endpoint's call (`chat`, `completions`, `messages`, `embeddings`,
//! `audio`, `images`, `media_probe`, `video`, `moderation`, `rank`, `search`, `schema`, `text`), a
//! Python class (`cluster`, `prefix_cache`, `length`, `pacer`, `shared`, `ratelimit`, with `metrics`
//! over `shared`), or a piece the endpoint calls share (`reply`: what they return; `inputs`, `chat_options`,
//! `rich_content`: reading request fields; `tokenize`: vLLM's tokenizer endpoints). This file defines the one exception and registers it all.

mod audio;
mod chat;
mod chat_call;
mod chat_options;
mod cluster;
mod completions;
mod custom_tool;
mod embeddings;
mod engine;
mod hot_app;
mod hot_call;
mod images;
mod inputs;
mod length;
mod media_probe;
mod messages;
mod messages_call;
mod messages_format;
mod messages_input;
mod meter;
mod metrics;
mod moderation;
mod pacer;
mod prefix_cache;
mod rank;
mod ratelimit;
mod reply;
mod request_ids;
mod rich_content;
mod schema;
mod search;
mod shared;
mod shared_engine;
mod steps;
mod text;
mod tokenize;
mod video;

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

create_exception!(
    fakeai._core,
    InvalidInput,
    PyValueError,
    "A request value the core cannot use; the message says why (the caller knows the parameter)."
);

/// A rejected request value becomes `InvalidInput(message, param, code)`.
impl From<crate::invalid::Invalid> for PyErr {
    fn from(e: crate::invalid::Invalid) -> PyErr {
        InvalidInput::new_err((e.message, e.param, e.code))
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("InvalidInput", m.py().get_type::<InvalidInput>())?;
    m.add("VOCAB_SIZE", crate::text::tokens::VOCAB_SIZE)?;
    m.add("HISTOGRAM_WIDTH", crate::shm::histogram::WIDTH)?;
    m.add("SHARED_KEY_BYTES", crate::shm::table::KEY_BYTES)?;
    m.add("HISTOGRAM_BOUNDS", crate::shm::histogram::BOUNDS.to_vec())?;
    m.add_class::<shared::SharedTable>()?;
    m.add_class::<length::LengthDistribution>()?;
    m.add_class::<ratelimit::RateLimiter>()?;
    m.add_class::<cluster::Cluster>()?;
    m.add_class::<pacer::Pacer>()?;
    m.add_class::<prefix_cache::PrefixCache>()?;
    m.add_class::<reply::Answer>()?;
    m.add_class::<meter::Meter>()?;
    m.add_class::<steps::Steps>()?;
    m.add_class::<hot_app::HotApp>()?;
    m.add_class::<chat_call::ChatCall>()?;
    m.add_class::<messages_call::MessagesCall>()?;
    m.add_function(wrap_pyfunction!(messages_call::messages_input_tokens, m)?)?;
    m.add_class::<request_ids::RequestIds>()?;
    m.add_function(wrap_pyfunction!(prefix_cache::block_hashes, m)?)?;
    m.add_function(wrap_pyfunction!(text::count_tokens, m)?)?;
    m.add_function(wrap_pyfunction!(tokenize::tokenize, m)?)?;
    m.add_function(wrap_pyfunction!(tokenize::tokenize_chat, m)?)?;
    m.add_function(wrap_pyfunction!(tokenize::detokenize, m)?)?;
    m.add("VOCAB_TABLE_WIDTH", crate::shm::vocab::WIDTH)?;
    m.add("ATTEMPTS_TABLE_WIDTH", crate::shm::attempts::WIDTH)?;
    m.add_function(wrap_pyfunction!(schema::sample_json, m)?)?;
    m.add_function(wrap_pyfunction!(custom_tool::custom_tool_input, m)?)?;
    m.add_function(wrap_pyfunction!(text::generate_text, m)?)?;
    m.add_function(wrap_pyfunction!(text::json_shape, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metrics_begin, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metrics_started, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metrics_inference, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metrics_finish, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::histogram_quantile, m)?)?;
    m.add_function(wrap_pyfunction!(chat::chat, m)?)?;
    m.add_function(wrap_pyfunction!(completions::completion, m)?)?;
    m.add_function(wrap_pyfunction!(embeddings::embed, m)?)?;
    m.add_function(wrap_pyfunction!(embeddings::cosine, m)?)?;
    m.add("MODERATION_CATEGORIES", crate::scoring::moderation::CATEGORIES.to_vec())?;
    m.add("MODERATION_IMAGE_CATEGORIES", crate::scoring::moderation::IMAGE_CATEGORIES.to_vec())?;
    m.add("SPEECH_SAMPLE_RATE", crate::media::speech::SAMPLE_RATE)?;
    m.add("SPEECH_CHARS_PER_SECOND", crate::media::speech::CHARS_PER_SECOND)?;
    m.add_function(wrap_pyfunction!(images::png_images, m)?)?;
    m.add_function(wrap_pyfunction!(images::png_size, m)?)?;
    m.add_function(wrap_pyfunction!(video::video_mp4, m)?)?;
    m.add_function(wrap_pyfunction!(video::video_thumbnail, m)?)?;
    m.add_function(wrap_pyfunction!(video::video_spritesheet, m)?)?;
    m.add_function(wrap_pyfunction!(media_probe::image_size, m)?)?;
    m.add_function(wrap_pyfunction!(media_probe::mp4_info, m)?)?;
    m.add_function(wrap_pyfunction!(media_probe::data_url_image_size, m)?)?;
    m.add_function(wrap_pyfunction!(audio::speech, m)?)?;
    m.add_function(wrap_pyfunction!(audio::probe_audio, m)?)?;
    m.add_function(wrap_pyfunction!(audio::transcription, m)?)?;
    m.add_function(wrap_pyfunction!(audio::diarization, m)?)?;
    m.add_function(wrap_pyfunction!(audio::speech_tokens, m)?)?;
    m.add_function(wrap_pyfunction!(moderation::moderation_scores, m)?)?;
    m.add_function(wrap_pyfunction!(moderation::image_moderation_scores, m)?)?;
    m.add_function(wrap_pyfunction!(rank::rank_logits, m)?)?;
    m.add_function(wrap_pyfunction!(search::chunk_text, m)?)?;
    m.add_function(wrap_pyfunction!(search::embedding_matrix, m)?)?;
    m.add_function(wrap_pyfunction!(search::top_k, m)?)?;
    m.add_class::<engine::EngineModel>()?;
    m.add_class::<shared_engine::SharedEngine>()?;
    m.add_function(wrap_pyfunction!(engine::simulate_closed_loop, m)?)?;
    m.add_function(wrap_pyfunction!(engine::simulate_poisson, m)?)?;
    m.add_function(wrap_pyfunction!(engine::simulate_trace, m)?)?;
    m.add_function(wrap_pyfunction!(engine::frontend_arrivals, m)?)?;
    m.add_function(wrap_pyfunction!(engine::deployment_info, m)?)?;
    m.add_function(wrap_pyfunction!(engine::engine_catalog, m)?)?;
    Ok(())
}
