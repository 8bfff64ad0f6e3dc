//! The duration of an uploaded audio file, read from its container: WAV (`fmt `/`data` chunks),
//! FLAC (STREAMINFO), MP3 (walking the MPEG frame headers, after an ID3v2 tag) and Ogg (the last
//! page's granule position less the Opus pre-skip: 48 kHz for Opus, the Vorbis header's rate
//! otherwise), AAC in ADTS (walking the frame headers, 1024 samples a raw block). Anything else is
//! estimated from its size at 128 kbit/s and reported as an estimate.
//!
//! A header is input like any other: the duration it claims must fit in the file. FLAC's sample
//! count is bounded by how many frames its bytes can hold (a frame is at least
//! [`MIN_FLAC_FRAME_BYTES`] and carries at most STREAMINFO's maximum block size), Ogg's granule by
//! [`MAX_OGG_SAMPLES_PER_BYTE`]; and no file may last longer than [`MAX_SECONDS`], what the largest
//! upload holds at the lowest bitrate of a supported codec. A header past either bound is an error
//! (the endpoint's 400 naming `file`), so a 42-byte file cannot ask for a 3 TB transcript.

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Probe {
    pub seconds: f64,
    /// `wav`, `flac`, `mp3`, `ogg`, `aac`, or `unknown` (then `seconds` is the size estimate).
    pub format: &'static str,
}

/// Bytes a second assumed for a file whose format is not recognised (128 kbit/s).
pub const ESTIMATE_BYTES_PER_SECOND: f64 = 16_000.0;
/// The largest audio upload OpenAI accepts (25 MB).
pub const MAX_UPLOAD_BYTES: usize = 25 * 1024 * 1024;
/// The lowest bitrate of a supported codec: Opus at 6 kbit/s.
pub const MIN_BYTES_PER_SECOND: f64 = 750.0;
/// The longest audio fakeai transcribes: [`MAX_UPLOAD_BYTES`] at [`MIN_BYTES_PER_SECOND`] (~9.7 h).
pub const MAX_SECONDS: f64 = MAX_UPLOAD_BYTES as f64 / MIN_BYTES_PER_SECOND;
/// The smallest FLAC frame: a 6-byte header, a 2-byte constant subframe and the 2-byte CRC-16.
pub const MIN_FLAC_FRAME_BYTES: u64 = 10;
/// Samples an Ogg byte can stand for: a 120 ms Opus packet (5,760 samples) needs a TOC byte and a
/// lacing byte; a Vorbis packet decodes to at most 4,096 new samples.
pub const MAX_OGG_SAMPLES_PER_BYTE: u64 = 4_096;

/// The duration of `bytes`, or why its header cannot be believed.
pub fn probe(bytes: &[u8]) -> Result<Probe, String> {
    let found = if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WAVE") {
        wav(bytes).map(|s| (s, "wav"))
    } else if bytes.starts_with(b"fLaC") {
        flac(bytes)?.map(|s| (s, "flac"))
    } else if bytes.starts_with(b"OggS") {
        ogg(bytes)?.map(|s| (s, "ogg"))
    } else if bytes.len() > 7 && bytes[0] == 0xFF && bytes[1] & 0xF6 == 0xF0 {
        adts(bytes).map(|s| (s, "aac"))
    } else {
        mp3(bytes).map(|s| (s, "mp3"))
    };
    let p = match found {
        Some((seconds, format)) => Probe { seconds, format },
        None => Probe { seconds: bytes.len() as f64 / ESTIMATE_BYTES_PER_SECOND, format: "unknown" },
    };
    if !(p.seconds.is_finite() && p.seconds <= MAX_SECONDS) {
        return Err(format!(
            "The audio file's {} header claims {:.0} seconds, longer than the {MAX_SECONDS:.0} seconds \
             an upload of at most {MAX_UPLOAD_BYTES} bytes can hold.",
            p.format, p.seconds
        ));
    }
    Ok(p)
}

fn lie(format: &str, claim: u64, what: &str, len: usize, bound: u64) -> String {
    format!(
        "The audio file's {format} header claims {claim} {what}, more than its {len} bytes can hold \
         (at most {bound})."
    )
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

fn be24(b: &[u8], i: usize) -> Option<usize> {
    let x = b.get(i..i + 3)?;
    Some(usize::from(x[0]) << 16 | usize::from(x[1]) << 8 | usize::from(x[2]))
}

fn flac(b: &[u8]) -> Result<Option<f64>, String> {
    // The first metadata block is STREAMINFO; rate and total samples sit at bytes 18..26.
    let Some(info) = b.get(18..26).map(|x| u64::from_be_bytes(x.try_into().unwrap_or_default())) else {
        return Ok(None);
    };
    let (rate, total) = (info >> 44, info & 0xF_FFFF_FFFF);
    if rate == 0 || total == 0 {
        return Ok(None); // an invalid rate, or "total samples unknown": estimate from the size
    }
    // Frames follow the last metadata block (each: 1 flag+type byte, a 24-bit length).
    let mut pos = 4usize;
    while let Some(len) = be24(b, pos + 1) {
        let last = b[pos] & 0x80 != 0;
        pos = pos.saturating_add(4 + len);
        if last || pos >= b.len() {
            break;
        }
    }
    let frame_bytes = b.len().saturating_sub(pos) as u64;
    let max_block = u64::from(u16::from_be_bytes([b[10], b[11]])).max(16);
    let bound = frame_bytes / MIN_FLAC_FRAME_BYTES * max_block;
    if total > bound {
        return Err(lie("flac", total, "samples", b.len(), bound));
    }
    Ok(Some(total as f64 / rate as f64))
}

fn ogg(b: &[u8]) -> Result<Option<f64>, String> {
    // Opus granules count 48 kHz samples from before the pre-skip (the encoder's priming samples).
    let (rate, skip) = if let Some(at) = b.windows(8).take(512).position(|w| w == b"OpusHead") {
        match b.get(at + 10..at + 12) {
            Some(x) => (48_000.0, u64::from(u16::from_le_bytes([x[0], x[1]]))),
            None => return Ok(None),
        }
    } else {
        let Some(at) = b.windows(7).take(512).position(|w| w == b"\x01vorbis") else { return Ok(None) };
        match le32(b, at + 12) {
            Some(r) => (f64::from(r), 0),
            None => return Ok(None),
        }
    };
    let Some(last) = b.windows(4).rposition(|w| w == b"OggS") else { return Ok(None) };
    let Some(granule) = b.get(last + 6..last + 14).and_then(|x| Some(u64::from_le_bytes(x.try_into().ok()?)))
    else {
        return Ok(None);
    };
    if granule == u64::MAX || rate <= 0.0 {
        return Ok(None); // -1: no packet ends on the last page
    }
    let bound = (b.len() as u64).saturating_mul(MAX_OGG_SAMPLES_PER_BYTE);
    if granule > bound {
        return Err(lie("ogg", granule, "samples (granule position)", b.len(), bound));
    }
    Ok(Some(granule.saturating_sub(skip) as f64 / rate))
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
        assert_eq!(probe(&wav::wav(&samples, 24_000)), Ok(Probe { seconds: 1.5, format: "wav" }));
        assert_eq!(probe(&flac::flac(&samples, 24_000)), Ok(Probe { seconds: 1.5, format: "flac" }));
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
        let p = probe(&file).unwrap();
        assert_eq!(p.format, "mp3");
        assert!((p.seconds - 100.0 * 1152.0 / 44_100.0).abs() < 1e-9, "{}", p.seconds);
    }

    #[test]
    fn adts_counts_its_frames() {
        let samples = crate::media::speech::synthesize("one two three four five", "alloy", 1.0);
        let file = crate::media::aac::adts(&samples, 24_000).unwrap();
        let p = probe(&file).unwrap();
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
        assert_eq!(probe(&file), Ok(Probe { seconds: 2.0, format: "ogg" }));
        let samples = crate::media::speech::synthesize("one two three four five", "alloy", 1.0);
        let real = probe(&crate::media::ogg_opus::ogg_opus(&samples, 24_000).unwrap()).unwrap();
        assert_eq!(real, Probe { seconds: samples.len() as f64 / 24_000.0, format: "ogg" });
    }

    #[test]
    fn unknown_bytes_are_estimated_from_size() {
        let p = probe(&[7u8; 32_000]).unwrap();
        assert_eq!(p, Probe { seconds: 2.0, format: "unknown" });
    }

    /// A 42-byte FLAC: STREAMINFO only, claiming `total` samples at `rate` Hz.
    fn flac_header(rate: u64, total: u64) -> Vec<u8> {
        let mut f = b"fLaC\x80\x00\x00\x22".to_vec();
        f.extend_from_slice(&[0x10, 0x00, 0x10, 0x00, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&((rate << 44) | (15 << 36) | total).to_be_bytes());
        f.extend_from_slice(&[0; 16]);
        f
    }

    #[test]
    fn a_flac_header_claiming_more_samples_than_its_frames_hold_is_refused() {
        let f = flac_header(1, 0xF_FFFF_FFFF);
        assert_eq!(f.len(), 42);
        let e = probe(&f).unwrap_err();
        assert!(e.contains("flac header claims 68719476735 samples"), "{e}");
        // Frames that could hold the claim, but at 1 Hz: longer than any upload holds.
        let mut f = flac_header(1, 300_000);
        f.resize(42 + 1_000, 0);
        assert!(probe(&f).unwrap_err().contains("longer than"));
        // Unknown total samples (0) falls back to the size estimate.
        assert_eq!(probe(&flac_header(44_100, 0)).unwrap().format, "unknown");
    }

    #[test]
    fn an_ogg_granule_past_the_file_size_is_refused() {
        for granule in [1u64 << 63, 1 << 40, 10_000_000 * 48_000] {
            let mut file = b"OggS\x00\x02".to_vec();
            file.extend_from_slice(&[0; 22]);
            file.extend_from_slice(b"OpusHead");
            file.extend_from_slice(b"OggS\x00\x04");
            file.extend_from_slice(&granule.to_le_bytes());
            file.extend_from_slice(&[0; 16]);
            assert!(probe(&file).unwrap_err().contains("ogg header claims"), "{granule}");
        }
    }

    #[test]
    fn a_wav_at_one_byte_a_second_is_longer_than_any_upload() {
        let mut f = wav::wav(&vec![0i16; 20_000], 24_000);
        f[28..32].copy_from_slice(&1u32.to_le_bytes()); // byte rate
        assert!(probe(&f).unwrap_err().contains("wav header claims 40000 seconds"));
    }

    #[test]
    fn truncated_and_garbage_headers_never_panic() {
        let mut seeds: Vec<Vec<u8>> = vec![flac_header(44_100, 1000), wav::wav(&[1, 2, 3], 8_000)];
        seeds.push(b"OggS\x00\x02OpusHeadOggS".to_vec());
        seeds.push(b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f\xff\xfb\x90".to_vec());
        for seed in &seeds {
            for cut in 0..seed.len() {
                let _ = probe(&seed[..cut]);
                let mut flipped = seed.clone();
                flipped[cut] ^= 0xFF;
                let _ = probe(&flipped);
            }
        }
    }
}
