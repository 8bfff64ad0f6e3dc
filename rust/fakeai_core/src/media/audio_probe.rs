//! The duration of an uploaded audio file, read from its container: WAV (`fmt `/`data` chunks),
//! FLAC (STREAMINFO), MP3 (walking the MPEG frame headers, after an ID3v2 tag) and Ogg (the last
//! page's granule position: 48 kHz for Opus, the Vorbis header's rate otherwise), AAC in ADTS
//! (walking the frame headers, 1024 samples a raw block). Anything else is estimated from its size
//! at 128 kbit/s and reported as an estimate.

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Probe {
    pub seconds: f64,
    /// `wav`, `flac`, `mp3`, `ogg`, `aac`, or `unknown` (then `seconds` is the size estimate).
    pub format: &'static str,
}

/// Bytes a second assumed for a file whose format is not recognised (128 kbit/s).
pub const ESTIMATE_BYTES_PER_SECOND: f64 = 16_000.0;

pub fn probe(bytes: &[u8]) -> Probe {
    let found = if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WAVE") {
        wav(bytes).map(|s| (s, "wav"))
    } else if bytes.starts_with(b"fLaC") {
        flac(bytes).map(|s| (s, "flac"))
    } else if bytes.starts_with(b"OggS") {
        ogg(bytes).map(|s| (s, "ogg"))
    } else if bytes.len() > 7 && bytes[0] == 0xFF && bytes[1] & 0xF6 == 0xF0 {
        adts(bytes).map(|s| (s, "aac"))
    } else {
        mp3(bytes).map(|s| (s, "mp3"))
    };
    match found {
        Some((seconds, format)) => Probe { seconds, format },
        None => Probe { seconds: bytes.len() as f64 / ESTIMATE_BYTES_PER_SECOND, format: "unknown" },
    }
}

fn le32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn wav(b: &[u8]) -> Option<f64> {
    let mut pos = 12;
    let mut byte_rate = None;
    while pos + 8 <= b.len() {
        let id = &b[pos..pos + 4];
        let len = le32(b, pos + 4)? as usize;
        if id == b"fmt " {
            byte_rate = Some(le32(b, pos + 16)?);
        } else if id == b"data" {
            // A streaming writer may leave the size at 0 or 0xFFFFFFFF: then the data runs to the end.
            let avail = b.len() - (pos + 8);
            let len = if len == 0 || len > avail { avail } else { len };
            return byte_rate.filter(|&r| r > 0).map(|r| len as f64 / f64::from(r));
        }
        pos += 8 + len + (len & 1);
    }
    None
}

fn flac(b: &[u8]) -> Option<f64> {
    // The first metadata block is STREAMINFO; rate and total samples sit at bytes 18..26.
    let info = u64::from_be_bytes(b.get(18..26)?.try_into().ok()?);
    let rate = (info >> 44) as f64;
    (rate > 0.0).then(|| (info & 0xF_FFFF_FFFF) as f64 / rate)
}

fn ogg(b: &[u8]) -> Option<f64> {
    // Opus granules count 48 kHz samples from before the pre-skip (the encoder's priming samples).
    let (rate, skip) = if let Some(at) = b.windows(8).take(512).position(|w| w == b"OpusHead") {
        (48_000.0, u64::from(u16::from_le_bytes(b.get(at + 10..at + 12)?.try_into().ok()?)))
    } else {
        let at = b.windows(7).take(512).position(|w| w == b"\x01vorbis")?;
        (f64::from(le32(b, at + 12)?), 0)
    };
    let last = b.windows(4).rposition(|w| w == b"OggS")?;
    let granule = u64::from_le_bytes(b.get(last + 6..last + 14)?.try_into().ok()?);
    (rate > 0.0).then(|| granule.saturating_sub(skip) as f64 / rate)
}

/// Sampling rates by ADTS `sampling_frequency_index`.
const ADTS_RATES: [u32; 13] =
    [96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000, 7_350];

fn adts(b: &[u8]) -> Option<f64> {
    let rate = *ADTS_RATES.get(usize::from((b[2] >> 2) & 0xF))?;
    let (mut pos, mut samples) = (0usize, 0u64);
    while let Some(h) = b.get(pos..pos + 7) {
        if h[0] != 0xFF || h[1] & 0xF6 != 0xF0 {
            break;
        }
        let len = (usize::from(h[3] & 3) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
        if len < 7 {
            break;
        }
        samples += 1024 * (u64::from(h[6] & 3) + 1);
        pos += len;
    }
    (samples > 0).then(|| samples as f64 / f64::from(rate))
}

/// Bitrates (kbit/s) by index for MPEG-1 Layer III and MPEG-2/2.5 Layer III.
const BITRATES_V1: [u32; 15] = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const BITRATES_V2: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];

/// `(frame_bytes, samples, sample_rate)` of the Layer III frame header at `h`, if it is one.
fn mp3_frame(h: &[u8]) -> Option<(usize, u32, u32)> {
    if h.len() < 4 || h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (h[1] >> 3) & 3; // 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
    if version == 1 || (h[1] >> 1) & 3 != 1 {
        return None; // reserved version, or not Layer III
    }
    let (bitrate_idx, rate_idx) = (usize::from(h[2] >> 4), usize::from((h[2] >> 2) & 3));
    if bitrate_idx == 0 || bitrate_idx == 15 || rate_idx == 3 {
        return None;
    }
    let base = [44_100, 48_000, 32_000][rate_idx];
    let (rate, bitrate, samples) = match version {
        3 => (base, BITRATES_V1[bitrate_idx], 1152),
        2 => (base / 2, BITRATES_V2[bitrate_idx], 576),
        _ => (base / 4, BITRATES_V2[bitrate_idx], 576),
    };
    let padding = usize::from((h[2] >> 1) & 1);
    let bytes = (samples / 8 * bitrate * 1000 / rate) as usize + padding;
    Some((bytes, samples, rate))
}

fn mp3(b: &[u8]) -> Option<f64> {
    let mut pos = 0;
    if b.starts_with(b"ID3") && b.len() >= 10 {
        let size = b[6..10].iter().fold(0usize, |acc, &x| (acc << 7) | usize::from(x & 0x7F));
        pos = 10 + size;
    }
    // Find the first frame whose successor is also a frame header, then walk the frames.
    let start = (pos..b.len().min(pos + 64 * 1024)).find(|&i| {
        mp3_frame(&b[i..]).is_some_and(|(len, _, _)| i + len >= b.len() || mp3_frame(&b[i + len..]).is_some())
    })?;
    let mut pos = start;
    let mut seconds = 0.0;
    while let Some((len, samples, rate)) = b.get(pos..).and_then(mp3_frame) {
        seconds += f64::from(samples) / f64::from(rate);
        pos += len.max(1);
    }
    (seconds > 0.0).then_some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{flac, wav};

    #[test]
    fn wav_and_flac_durations_are_exact() {
        let samples = vec![0i16; 36_000];
        assert_eq!(probe(&wav::wav(&samples, 24_000)), Probe { seconds: 1.5, format: "wav" });
        assert_eq!(probe(&flac::flac(&samples, 24_000)), Probe { seconds: 1.5, format: "flac" });
    }

    #[test]
    fn mp3_frames_are_counted() {
        // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no padding: 417-byte frames of 1152 samples.
        let mut frame = vec![0u8; 417];
        frame[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0x00]);
        let mut file = b"ID3\x04\x00\x00\x00\x00\x00\x05hello".to_vec();
        for _ in 0..100 {
            file.extend_from_slice(&frame);
        }
        let p = probe(&file);
        assert_eq!(p.format, "mp3");
        assert!((p.seconds - 100.0 * 1152.0 / 44_100.0).abs() < 1e-9, "{}", p.seconds);
    }

    #[test]
    fn adts_counts_its_frames() {
        let samples = crate::media::speech::synthesize("one two three four five", "alloy", 1.0);
        let file = crate::media::aac::adts(&samples, 24_000).unwrap();
        let p = probe(&file);
        let expected = samples.len() as f64 / 24_000.0;
        assert_eq!(p.format, "aac");
        assert!(p.seconds >= expected && p.seconds < expected + 0.2, "{} vs {expected}", p.seconds);
    }

    #[test]
    fn ogg_opus_uses_the_last_granule_less_the_pre_skip() {
        let mut file = b"OggS\x00\x02".to_vec();
        file.extend_from_slice(&[0; 22]);
        file.extend_from_slice(b"OpusHead\x01\x01");
        file.extend_from_slice(&312u16.to_le_bytes());
        file.extend_from_slice(b"OggS\x00\x04");
        file.extend_from_slice(&96_312u64.to_le_bytes());
        file.extend_from_slice(&[0; 16]);
        assert_eq!(probe(&file), Probe { seconds: 2.0, format: "ogg" });
        let samples = crate::media::speech::synthesize("one two three four five", "alloy", 1.0);
        let real = probe(&crate::media::ogg_opus::ogg_opus(&samples, 24_000).unwrap());
        assert_eq!(real, Probe { seconds: samples.len() as f64 / 24_000.0, format: "ogg" });
    }

    #[test]
    fn unknown_bytes_are_estimated_from_size() {
        let p = probe(&[7u8; 32_000]);
        assert_eq!(p, Probe { seconds: 2.0, format: "unknown" });
    }
}
