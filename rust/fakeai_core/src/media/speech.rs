//! A deterministic, speech-like signal for a text: 16-bit mono PCM at 24 kHz (OpenAI's TTS rate).
//!
//! Duration follows the text: [`CHARS_PER_SECOND`] characters a second at speed 1, divided by the
//! speed. The time is cut into syllables of 120-280 ms; each is voiced (a glottal pitch with harmonics
//! shaped by two formants, under an attack/decay envelope), a fricative (a noise burst) or a pause,
//! drawn from an RNG keyed by the text and the voice. A voice sets the pitch (85-255 Hz).

use crate::rng::Rng;
use xxhash_rust::xxh3::xxh3_64_with_seed;

pub const SAMPLE_RATE: u32 = 24_000;
/// Characters spoken per second at speed 1.0.
pub const CHARS_PER_SECOND: f64 = 15.0;
/// Shortest clip, even for a one-letter input.
pub const MIN_SECONDS: f64 = 0.25;

const HARMONICS: usize = 12;

/// Seconds of speech for `text` at `speed`.
pub fn duration(text: &str, speed: f64) -> f64 {
    (text.chars().count() as f64 / (CHARS_PER_SECOND * speed)).max(MIN_SECONDS)
}

/// How many samples [`synthesize`] makes for `text` at `speed`: its [`duration`] at [`SAMPLE_RATE`].
pub fn samples(text: &str, speed: f64) -> usize {
    (duration(text, speed) * f64::from(SAMPLE_RATE)).round() as usize
}

/// Samples for `text` spoken by `voice` at `speed` (0.25-4.0).
pub fn synthesize(text: &str, voice: &str, speed: f64) -> Vec<i16> {
    let total = samples(text, speed);
    let voice_hash = xxh3_64_with_seed(voice.as_bytes(), 0x5A11);
    let pitch = 85.0 + (voice_hash % 171) as f64;
    let mut rng = Rng::keyed(voice_hash, text.as_bytes());
    let mut out = Vec::with_capacity(total);
    let rate = f64::from(SAMPLE_RATE);
    while out.len() < total {
        let len = ((0.12 + 0.16 * rng.unit()) / speed * rate) as usize;
        let len = len.clamp(1, total - out.len());
        match rng.below(10) {
            0 => out.extend(std::iter::repeat_n(0i16, len)),
            1 | 2 => fricative(&mut out, len, &mut rng),
            _ => voiced(&mut out, len, pitch * (0.85 + 0.3 * rng.unit()), &mut rng),
        }
    }
    out
}

/// Attack over the first 15%, decay over the last 30%: no clicks between syllables.
fn envelope(i: usize, len: usize) -> f32 {
    let x = i as f32 / len as f32;
    if x < 0.15 {
        x / 0.15
    } else if x > 0.7 {
        (1.0 - x) / 0.3
    } else {
        1.0
    }
}

/// A voiced syllable: one pitch period (harmonics shaped by two formants) computed once, repeated
/// under the envelope, so the cost per sample is a table read and a multiply.
fn voiced(out: &mut Vec<i16>, len: usize, f0: f64, rng: &mut Rng) {
    let (f1, f2) = (300.0 + 500.0 * rng.unit(), 900.0 + 1600.0 * rng.unit());
    let period = (f64::from(SAMPLE_RATE) / f0).round().max(2.0) as usize;
    let f0 = f64::from(SAMPLE_RATE) / period as f64;
    let mut amps = [0f64; HARMONICS];
    for (k, a) in amps.iter_mut().enumerate() {
        let f = f0 * (k + 1) as f64;
        let bump = |c: f64, w: f64| (-((f - c) / w).powi(2)).exp();
        *a = 0.25 / (k + 1) as f64 + bump(f1, 150.0) + 0.6 * bump(f2, 250.0);
    }
    // Normalised by the amplitude sum, the peak stays below 60% of full scale.
    let scale = 0.6 * f64::from(i16::MAX) / amps.iter().sum::<f64>();
    let cycle: Vec<f32> = (0..period)
        .map(|n| {
            let x = std::f64::consts::TAU * n as f64 / period as f64;
            let s: f64 = amps.iter().enumerate().map(|(k, a)| a * (x * (k + 1) as f64).sin()).sum();
            (s * scale) as f32
        })
        .collect();
    out.extend(cycle.iter().cycle().take(len).enumerate().map(|(i, s)| (s * envelope(i, len)) as i16));
}

fn fricative(out: &mut Vec<i16>, len: usize, rng: &mut Rng) {
    let mut prev = 0f32;
    for i in 0..len {
        let white = (rng.unit() as f32 * 2.0) - 1.0;
        // A first difference tilts the noise towards high frequencies, like an "s".
        let s = white - 0.7 * prev;
        prev = white;
        out.push((s * 5000.0 * envelope(i, len)) as i16);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_follows_text_length_and_speed() {
        let text = "a".repeat(150);
        assert!((duration(&text, 1.0) - 10.0).abs() < 1e-9);
        assert!((duration(&text, 2.0) - 5.0).abs() < 1e-9);
        assert_eq!(duration("", 1.0), MIN_SECONDS);
        assert_eq!(synthesize(&text, "alloy", 1.0).len(), 240_000);
        assert_eq!(synthesize(&text, "alloy", 4.0).len(), 60_000);
    }

    #[test]
    fn deterministic_per_text_and_voice() {
        let a = synthesize("Hello there, how are you today?", "alloy", 1.0);
        assert_eq!(a, synthesize("Hello there, how are you today?", "alloy", 1.0));
        assert_ne!(a, synthesize("Hello there, how are you today?", "nova", 1.0));
        assert_ne!(a, synthesize("Hello there, how are you today!", "alloy", 1.0));
    }

    #[test]
    fn sounds_like_something_and_never_clips() {
        let s = synthesize(&"speech ".repeat(40), "echo", 1.0);
        let loud = s.iter().filter(|x| x.unsigned_abs() > 2000).count();
        assert!(loud > s.len() / 5, "mostly silent: {loud} of {}", s.len());
        assert!(s.iter().all(|x| x.unsigned_abs() < 32_000));
    }
}
