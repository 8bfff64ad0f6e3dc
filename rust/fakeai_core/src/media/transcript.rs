//! Simulated transcriptions: text sized to the audio's duration, cut into timed segments and words,
//! rendered as OpenAI's `json`, `text`, `srt`, `vtt` and `verbose_json`.
//!
//! The text comes from fakeai's generator at [`TOKENS_PER_SECOND`] (about 150 words a minute, a
//! typical speaking rate), keyed by the file's bytes so the same file gives the same transcript.
//! Time is spread over the characters: each sentence is a segment, each word gets the span of its
//! letters, so starts and ends are monotonic and the last segment ends at the duration.

use crate::media::audio_probe::MAX_SECONDS;
use crate::render::json;
use crate::rng::Rng;
use crate::text::prose;
use crate::text::tokens;
use crate::text::vocab::PARAGRAPH;

/// Generated tokens per second of audio.
pub const TOKENS_PER_SECOND: f64 = 3.0;

pub struct Span {
    pub text: String,
    pub start: f64,
    pub end: f64,
}

pub struct Transcript {
    pub text: String,
    pub duration: f64,
    pub segments: Vec<Span>,
    pub words: Vec<Span>,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The transcript of `duration` seconds of audio (at most [`MAX_SECONDS`]), from the RNG key `key`.
pub fn transcribe(key: u64, duration: f64) -> Transcript {
    let duration = duration.clamp(0.0, MAX_SECONDS);
    let n = ((duration * TOKENS_PER_SECOND).round() as usize).max(1);
    let pieces: Vec<&str> = prose::generate(&mut Rng::new(key), n)
        .into_iter()
        .map(|p| if p == PARAGRAPH { " " } else { p })
        .collect();
    let text: String = pieces.concat();
    let total = text.len().max(1) as f64;
    let at = |offset: usize| round2(offset as f64 / total * duration);
    let (mut segments, mut words) = (Vec::new(), Vec::new());
    let (mut offset, mut seg_start) = (0usize, 0usize);
    for (i, piece) in pieces.iter().enumerate() {
        let end = offset + piece.len();
        let word = piece.trim_start();
        if word.chars().next().is_some_and(char::is_alphanumeric) {
            words.push(Span { text: word.to_owned(), start: at(end - word.len()), end: at(end) });
        }
        if *piece == "." || i + 1 == pieces.len() {
            segments.push(Span { text: text[seg_start..end].to_owned(), start: at(seg_start), end: at(end) });
            seg_start = end;
        }
        offset = end;
    }
    Transcript { text, duration, segments, words }
}

fn timestamp(buf: &mut String, seconds: f64, separator: char) {
    let ms = (seconds * 1000.0).round() as u64;
    let (h, m, s, ms) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    buf.push_str(&format!("{h:02}:{m:02}:{s:02}{separator}{ms:03}"));
}

/// SubRip: numbered cues with `HH:MM:SS,mmm` times.
pub fn srt(t: &Transcript) -> String {
    let mut out = String::with_capacity(t.text.len() + t.segments.len() * 40);
    for (i, seg) in t.segments.iter().enumerate() {
        out.push_str(&format!("{}\n", i + 1));
        timestamp(&mut out, seg.start, ',');
        out.push_str(" --> ");
        timestamp(&mut out, seg.end, ',');
        out.push('\n');
        out.push_str(seg.text.trim());
        out.push_str("\n\n");
    }
    out
}

/// WebVTT: a `WEBVTT` header, then cues with `HH:MM:SS.mmm` times.
pub fn vtt(t: &Transcript) -> String {
    let mut out = String::with_capacity(t.text.len() + t.segments.len() * 40);
    out.push_str("WEBVTT\n\n");
    for seg in &t.segments {
        timestamp(&mut out, seg.start, '.');
        out.push_str(" --> ");
        timestamp(&mut out, seg.end, '.');
        out.push('\n');
        out.push_str(seg.text.trim());
        out.push_str("\n\n");
    }
    out
}

/// `json`: the text, with `usage` in seconds for transcriptions (as whisper-1 reports it).
pub fn json(t: &Transcript, task: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(64 + t.text.len());
    b.extend_from_slice(b"{\"text\":");
    json::string(&mut b, &t.text);
    if task == "transcribe" {
        b.extend_from_slice(b",\"usage\":{\"type\":\"duration\",\"seconds\":");
        json::uint(&mut b, t.duration.ceil() as u64);
        b.push(b'}');
    }
    b.push(b'}');
    b
}

fn num(buf: &mut Vec<u8>, x: f64) {
    json::float(buf, x as f32);
}

/// `verbose_json`: task, language, duration, text, segments (with token ids and Whisper's quality
/// fields), words when asked for, and `usage` for transcriptions.
pub fn verbose_json(t: &Transcript, task: &str, language: &str, temperature: f64, words: bool) -> Vec<u8> {
    let mut b = Vec::with_capacity(256 + t.text.len() * 3 + t.words.len() * 48);
    b.extend_from_slice(b"{\"task\":");
    json::string(&mut b, task);
    b.extend_from_slice(b",\"language\":");
    json::string(&mut b, language);
    b.extend_from_slice(b",\"duration\":");
    num(&mut b, t.duration);
    b.extend_from_slice(b",\"text\":");
    json::string(&mut b, &t.text);
    b.extend_from_slice(b",\"segments\":[");
    let mut rng = Rng::new(t.text.len() as u64);
    let mut ids = Vec::new();
    for (i, seg) in t.segments.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        b.extend_from_slice(b"{\"id\":");
        json::uint(&mut b, i);
        b.extend_from_slice(b",\"seek\":");
        json::uint(&mut b, (seg.start * 100.0) as u64);
        b.extend_from_slice(b",\"start\":");
        num(&mut b, seg.start);
        b.extend_from_slice(b",\"end\":");
        num(&mut b, seg.end);
        b.extend_from_slice(b",\"text\":");
        json::string(&mut b, &seg.text);
        b.extend_from_slice(b",\"tokens\":[");
        ids.clear();
        tokens::encode_into(&seg.text, &mut ids);
        for (j, id) in ids.iter().enumerate() {
            if j > 0 {
                b.push(b',');
            }
            json::uint(&mut b, *id);
        }
        b.extend_from_slice(b"],\"temperature\":");
        num(&mut b, temperature);
        b.extend_from_slice(b",\"avg_logprob\":");
        num(&mut b, round2(-0.15 - 0.35 * rng.unit()));
        b.extend_from_slice(b",\"compression_ratio\":");
        num(&mut b, round2(1.2 + 0.6 * rng.unit()));
        b.extend_from_slice(b",\"no_speech_prob\":");
        num(&mut b, round2(0.05 * rng.unit()));
        b.push(b'}');
    }
    b.push(b']');
    if words {
        b.extend_from_slice(b",\"words\":[");
        for (i, w) in t.words.iter().enumerate() {
            if i > 0 {
                b.push(b',');
            }
            b.extend_from_slice(b"{\"word\":");
            json::string(&mut b, &w.text);
            b.extend_from_slice(b",\"start\":");
            num(&mut b, w.start);
            b.extend_from_slice(b",\"end\":");
            num(&mut b, w.end);
            b.push(b'}');
        }
        b.push(b']');
    }
    if task == "transcribe" {
        b.extend_from_slice(b",\"usage\":{\"type\":\"duration\",\"seconds\":");
        json::uint(&mut b, t.duration.ceil() as u64);
        b.push(b'}');
    }
    b.push(b'}');
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_length_follows_duration_and_times_are_monotonic() {
        let short = transcribe(1, 2.0);
        let long = transcribe(1, 60.0);
        // 180 generated tokens; a paragraph break turned into a space joins it to the next word.
        assert!((170..=180).contains(&tokens::count(&long.text)));
        assert!(short.text.len() * 10 < long.text.len());
        let last = long.segments.last().unwrap();
        assert_eq!(last.end, 60.0);
        for spans in [&long.segments, &long.words] {
            assert!(spans.windows(2).all(|w| w[0].end <= w[1].start + 1e-9));
            assert!(spans.iter().all(|s| s.start <= s.end));
        }
        assert_eq!(long.segments.iter().map(|s| s.text.as_str()).collect::<String>(), long.text);
        assert!(!long.text.contains('\n'));
    }

    #[test]
    fn same_key_same_transcript() {
        assert_eq!(transcribe(9, 5.0).text, transcribe(9, 5.0).text);
        assert_ne!(transcribe(9, 5.0).text, transcribe(10, 5.0).text);
    }

    #[test]
    fn subtitle_formats() {
        let t = transcribe(3, 3725.5);
        let s = srt(&t);
        assert!(s.starts_with("1\n00:00:00,000 --> 00:00:"));
        assert!(s.contains(" --> 01:02:05,500\n"), "{}", &s[s.len() - 200..]);
        let v = vtt(&t);
        assert!(v.starts_with("WEBVTT\n\n00:00:00.000 --> "));
        assert_eq!(v.matches(" --> ").count(), t.segments.len());
    }

    #[test]
    fn verbose_json_has_words_only_when_asked() {
        let t = transcribe(4, 4.0);
        let with = String::from_utf8(verbose_json(&t, "transcribe", "english", 0.0, true)).unwrap();
        assert!(with.contains("\"words\":[{\"word\":"));
        assert!(with.ends_with("\"usage\":{\"type\":\"duration\",\"seconds\":4}}"));
        let without = String::from_utf8(verbose_json(&t, "translate", "english", 0.0, false)).unwrap();
        assert!(!without.contains("\"words\"") && !without.contains("usage"));
    }
}
