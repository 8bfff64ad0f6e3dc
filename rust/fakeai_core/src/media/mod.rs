//! Real media files: PNG images (over a minimal zlib writer), speech as WAV, FLAC, Ogg Opus or AAC
//! (ADTS), reading the duration of uploaded audio, transcripts, and the prompt tokens of image, audio and video parts.

pub mod aac;
pub mod audio_probe;
pub mod deflate;
pub mod flac;
pub mod image;
pub mod multimodal;
pub mod ogg_opus;
pub mod speech;
pub mod transcript;
pub mod wav;
