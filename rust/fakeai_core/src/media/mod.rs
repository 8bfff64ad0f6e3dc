//! Real media files: PNG images (over a minimal zlib writer) and MP4 videos (over a minimal H.264
//! encoder and MP4 muxer) of one generated scene, speech as WAV, FLAC, Ogg Opus or AAC (ADTS),
//! reading the duration of uploaded audio, transcripts (diarized too), and the prompt tokens of image, audio and
//! video parts.

pub mod aac;
pub mod audio_probe;
pub mod chat_audio;
pub mod claude_media;
pub mod deflate;
pub mod diarize;
pub mod flac;
pub mod h264;
pub mod image;
pub mod mp4;
pub mod multimodal;
pub mod ogg_opus;
pub mod scene;
pub mod speech;
pub mod transcript;
pub mod video;
pub mod wav;
