//! A chat completion's spoken answer (`modalities: ["text", "audio"]`): how much audio one request may
//! hold, and the `"id":..,"data":..,"expires_at":..` fragment of each choice's `message.audio`.
//!
//! 1. The bound is in seconds of speech: [`MAX_SECONDS`] in all the choices of one request, what the
//!    longest reply of gpt-4o-audio-preview (16,384 output tokens) holds at the 20 audio tokens a
//!    second OpenAI bills for spoken output. Its audio is 52 MB of base64 WAV.
//! 2. Before generating, [`bound`] turns the seconds into tokens ([`token_cap`]) with the speech rule
//!    ([`speech::duration`]: characters / 15 a second) and a generous [`CHARS_PER_TOKEN`]: a committed
//!    length past it is refused naming its parameter and natural lengths stop there, as
//!    `--max-generated-tokens` does ([`budget::bound`]).
//! 3. After generating and before any audio is made, [`check`] measures the transcripts themselves by
//!    the same rule: text denser than [`CHARS_PER_TOKEN`] (an echoed message) cannot pass either.
//! 4. Each file is base64-encoded once, straight into its fragment ([`fragment`]).
//! 5. A spoken reply of N seconds is `ceil(N * 20)` audio tokens ([`tokens`]): one per 50 ms of its
//!    speech (1200 samples at 24 kHz), a frame begun counting whole, as `input_audio` rounds up. N is
//!    the speech the transcript makes ([`speech::samples`]), so every `audio.format` costs the same:
//!    5 tokens for the shortest clip (0.25 s), 16,384 at [`MAX_SECONDS`]. Usage counts them in
//!    `completion_tokens` and `completion_tokens_details.audio_tokens`, and the transcript's tokens as
//!    its `text_tokens` ([`crate::render::usage`]). Each choice rounds up on its own, so `n` choices
//!    at the bound may count up to `n - 1` tokens past 16,384.

use crate::invalid::Invalid;
use crate::media::speech::{self, CHARS_PER_SECOND, SAMPLE_RATE};
use crate::render::base64;
use crate::rng::{fresh_seed, Rng};
use crate::text::budget;
use crate::text::length::LengthSpec;

/// Audio output tokens a second of speech costs: OpenAI priced gpt-4o's spoken output at $200 per
/// million tokens, "about $0.24 a minute".
pub const AUDIO_TOKENS_PER_SECOND: f64 = 20.0;
/// gpt-4o-audio-preview's most output tokens in one response.
const MAX_OUTPUT_TOKENS: f64 = 16_384.0;
/// Most seconds of speech in one chat completion, over all its choices (819.2).
pub const MAX_SECONDS: f64 = MAX_OUTPUT_TOKENS / AUDIO_TOKENS_PER_SECOND;
/// Characters a generated token is taken to hold when a request is checked before generating.
/// Generated prose averages 5.8 (the densest of 60 seeded 100-token answers: 6.4, and 5.9 at 2000
/// tokens); 6.75 leaves room, so prose within [`token_cap`] stays within [`MAX_SECONDS`].
const CHARS_PER_TOKEN: f64 = 6.75;
/// Seconds `message.audio` stays referable (OpenAI's `expires_at`: an hour).
pub const TTL_SECONDS: u64 = 3600;

/// Tokens one request's spoken choices may generate in all (1820).
pub fn token_cap() -> u32 {
    (MAX_SECONDS * CHARS_PER_SECOND / CHARS_PER_TOKEN) as u32
}

/// [`budget::bound`] for a request whose `choices` are spoken: at most [`token_cap`] tokens in all,
/// or `max_generated` when that is lower (then its own error).
pub fn bound(spec: &mut LengthSpec, choices: u64, max_generated: u32) -> Result<(), Invalid> {
    let cap = token_cap();
    if max_generated <= cap {
        return budget::bound(spec, choices, max_generated);
    }
    let each = budget::committed(spec).0.max(1);
    budget::bound(spec, choices, cap).map_err(|e| {
        let total = u64::from(each).saturating_mul(choices.max(1));
        let message = format!(
            "This request must speak {total} tokens ({choices} choices of {each}), more than the {cap} \
             tokens ({MAX_SECONDS} seconds of audio) one chat completion with audio output holds."
        );
        Invalid::new(e.param, message)
    })
}

/// Refuse transcripts whose speech ([`speech::duration`] at speed 1) lasts more than [`MAX_SECONDS`]
/// in all, naming `param`; otherwise their total seconds.
pub fn check<S: AsRef<str>>(transcripts: &[S], param: &str) -> Result<f64, Invalid> {
    let seconds: f64 = transcripts.iter().map(|t| speech::duration(t.as_ref(), 1.0)).sum();
    if seconds > MAX_SECONDS {
        return Err(Invalid::new(
            param,
            format!(
                "The audio of this answer would last {seconds:.1} seconds, more than the {MAX_SECONDS} \
                 seconds one chat completion with audio output holds."
            ),
        ));
    }
    Ok(seconds)
}

/// Audio output tokens of `transcript` spoken at speed 1: [`AUDIO_TOKENS_PER_SECOND`] a second of its
/// speech, rounded up (rule 5 above).
pub fn tokens(transcript: &str) -> u32 {
    tokens_at(transcript, 1.0)
}

/// [`tokens`] of `text` spoken at `speed` (`/v1/audio/speech` bills its audio by the same rule).
pub fn tokens_at(text: &str, speed: f64) -> u32 {
    let frame = (f64::from(SAMPLE_RATE) / AUDIO_TOKENS_PER_SECOND) as usize;
    speech::samples(text, speed).div_ceil(frame) as u32
}

/// The `"id":"audio_..","data":"<base64 of file>","expires_at":..` fields of one `message.audio`,
/// at Unix time `now`.
pub fn fragment(file: &[u8], now: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(96 + base64::encoded_len(file.len()));
    let mut rng = Rng::new(fresh_seed());
    let id = format!("\"id\":\"audio_{:016x}{:08x}\",\"data\":\"", rng.next_u64(), rng.next_u64() as u32);
    out.extend_from_slice(id.as_bytes());
    base64::encode_into(&mut out, file);
    out.extend_from_slice(format!("\",\"expires_at\":{}", now + TTL_SECONDS).as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::length::{choose_length, Finish, LengthDist};

    #[test]
    fn speech_cap_is_gpt_4o_audio_longest_reply() {
        assert!((MAX_SECONDS - 819.2).abs() < 1e-9);
        assert_eq!(token_cap(), 1820);
        // Generated prose at its densest stays within the seconds: 6.4 characters a token.
        assert!(f64::from(token_cap()) * 6.4 / CHARS_PER_SECOND < MAX_SECONDS);
    }

    #[test]
    fn speech_past_the_cap_is_refused_naming_the_parameter() {
        let mut spec = LengthSpec { ignore_eos: true, max_tokens: Some(16_384), ..Default::default() };
        let e = bound(&mut spec, 8, 131_072).unwrap_err();
        assert_eq!(e.param, "max_tokens");
        assert!(e.message.contains("131072 tokens (8 choices of 16384)"), "{}", e.message);
        assert!(e.message.contains("819.2 seconds"), "{}", e.message);
        let mut spec = LengthSpec { min_tokens: 1000, ..Default::default() };
        assert_eq!(bound(&mut spec, 2, 131_072).unwrap_err().param, "min_tokens");
        // A lower --max-generated-tokens keeps its own bound and message.
        let mut spec = LengthSpec { ignore_eos: true, max_tokens: Some(600), ..Default::default() };
        let e = bound(&mut spec, 2, 1000).unwrap_err();
        assert!(e.message.contains("--max-generated-tokens"), "{}", e.message);
    }

    #[test]
    fn natural_speech_stops_at_the_cap() {
        let mut spec = LengthSpec { natural: LengthDist::Fixed(100_000), ..Default::default() };
        bound(&mut spec, 4, 131_072).unwrap();
        assert_eq!(choose_length(&mut Rng::new(1), spec), (455, Finish::Length));
        let mut spec = LengthSpec { ignore_eos: true, max_tokens: Some(1820), ..Default::default() };
        assert!(bound(&mut spec, 1, 131_072).is_ok());
    }

    #[test]
    fn speech_of_the_transcripts_is_measured_by_the_speech_rule() {
        let long = "a".repeat((MAX_SECONDS * CHARS_PER_SECOND) as usize);
        assert!((check(&[long.as_str()], "messages").unwrap() - MAX_SECONDS).abs() < 1e-9);
        let e = check(&[long.as_str(), "fifteen letters"], "messages").unwrap_err();
        assert_eq!(e.param, "messages");
        assert!(e.message.contains("would last 820.2 seconds"), "{}", e.message);
        assert!((check(&["", ""], "max_tokens").unwrap() - 2.0 * speech::MIN_SECONDS).abs() < 1e-9);
    }

    #[test]
    fn audio_tokens_are_twenty_a_second_of_speech_rounded_up() {
        assert_eq!(tokens(""), 5); // the shortest clip, 0.25 s
        assert_eq!(tokens("fifteen letters"), 20); // 1 s
        assert_eq!(tokens("sixteen letters!"), 22); // 1.0667 s: 21.33 rounds up
        assert_eq!(tokens(&"a".repeat(30)), 40);
        let longest = "a".repeat((MAX_SECONDS * CHARS_PER_SECOND) as usize);
        assert_eq!(tokens(&longest), 16_384);
        assert_eq!(tokens_at(&"a".repeat(30), 2.0), 20);
    }

    #[test]
    fn speech_fragment_holds_id_base64_data_and_expiry() {
        let f = String::from_utf8(fragment(b"RIFF1234", 1_700_000_000)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&format!("{{{f}}}")).unwrap();
        let id = v["id"].as_str().unwrap();
        assert!(id.starts_with("audio_") && id.len() == 30, "{id}");
        assert!(id[6..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(v["data"], "UklGRjEyMzQ=");
        assert_eq!(v["expires_at"], 1_700_003_600);
        assert_ne!(fragment(b"", 0)[..36], fragment(b"", 0)[..36]);
    }
}
