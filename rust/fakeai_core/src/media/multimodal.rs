//! Prompt tokens of image, audio and video content parts.
//!
//! - **Images** follow OpenAI's tile arithmetic: `detail: "low"` costs 85 tokens; `"high"` (and
//!   `"auto"`) scales the image to fit 2048x2048, then its shortest side down to 768, and costs 170 per
//!   512-pixel tile plus 85. The size is read from the PNG, JPEG, GIF or WebP header of a `data:` URL;
//!   an `http(s)` URL is never fetched and counts as [`DEFAULT_IMAGE_SIZE`].
//! - **Audio** (`input_audio`, `wav` or `mp3`) costs [`AUDIO_TOKENS_PER_SECOND`] per second (rounded
//!   up), the duration read from the WAV header or from the MP3 bit rate.
//! - **Video** (NVIDIA Cosmos) is sampled at [`VIDEO_FPS`] frames a second (at most
//!   [`VIDEO_MAX_FRAMES`]); each frame is scaled to fit 640x360 and cut into 28x28-pixel patches, and
//!   two consecutive frames share one set of tokens: `ceil(frames / 2) * ceil(w/28) * ceil(h/28)`.
//!   Duration and size come from an MP4 `data:` URL's `mvhd`/`tkhd` boxes, or are
//!   [`DEFAULT_VIDEO`] for `http(s)` URLs.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

pub const DEFAULT_IMAGE_SIZE: (u32, u32) = (1024, 1024);
pub const AUDIO_TOKENS_PER_SECOND: f64 = 10.0;
pub const VIDEO_FPS: f64 = 4.0;
pub const VIDEO_MAX_FRAMES: u32 = 256;
/// Width, height and seconds assumed for a video that is not inlined.
pub const DEFAULT_VIDEO: (u32, u32, f64) = (1280, 720, 10.0);

/// OpenAI's image token count for a `width` x `height` image at `detail` (`low`, `high`, `auto`).
pub fn image_tokens(width: u32, height: u32, detail: &str) -> u32 {
    if detail == "low" {
        return 85;
    }
    let (mut w, mut h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    if w > 2048.0 || h > 2048.0 {
        let s = 2048.0 / w.max(h);
        (w, h) = (w * s, h * s);
    }
    if w.min(h) > 768.0 {
        let s = 768.0 / w.min(h);
        (w, h) = (w * s, h * s);
    }
    let tiles = (w / 512.0).ceil() as u32 * (h / 512.0).ceil() as u32;
    170 * tiles + 85
}

/// The payload of a `data:[mime][;base64],...` URL.
pub fn data_url(url: &str) -> Result<Vec<u8>, String> {
    let rest = url.strip_prefix("data:").ok_or("not a data: URL")?;
    let (meta, payload) = rest.split_once(',').ok_or("a data: URL needs a ',' before its data")?;
    if !meta.ends_with(";base64") {
        return Err("only base64 data: URLs are supported".into());
    }
    STANDARD.decode(payload.trim()).map_err(|e| format!("its base64 data is invalid ({e})"))
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?)))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?)))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let x = b.get(at..at + 3)?;
    Some(u32::from(x[0]) | u32::from(x[1]) << 8 | u32::from(x[2]) << 16)
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Width and height from a PNG, JPEG, GIF or WebP header.
pub fn image_size(b: &[u8]) -> Option<(u32, u32)> {
    if b.starts_with(b"\x89PNG\r\n\x1a\n") && b.get(12..16) == Some(b"IHDR") {
        return Some((be32(b, 16)?, be32(b, 20)?));
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        return Some((le16(b, 6)?, le16(b, 8)?));
    }
    if b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WEBP") {
        return match b.get(12..16)? {
            b"VP8 " => Some((le16(b, 26)? & 0x3fff, le16(b, 28)? & 0x3fff)),
            b"VP8L" => {
                let bits = le32(b, 21)?;
                Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
            }
            b"VP8X" => Some((le24(b, 24)? + 1, le24(b, 27)? + 1)),
            _ => None,
        };
    }
    if b.starts_with(b"\xff\xd8") {
        // Walk the JPEG segments to the first start-of-frame marker.
        let mut i = 2;
        while i + 9 < b.len() {
            if b[i] != 0xff {
                return None;
            }
            let marker = b[i + 1];
            let len = be16(b, i + 2)? as usize;
            let sof = matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc);
            if sof {
                return Some((be16(b, i + 7)?, be16(b, i + 5)?));
            }
            i += 2 + len;
        }
    }
    None
}

/// Prompt tokens of an `image_url` part.
pub fn image_url_tokens(url: &str, detail: &str) -> Result<u32, String> {
    let (w, h) = if url.starts_with("http://") || url.starts_with("https://") {
        DEFAULT_IMAGE_SIZE
    } else if url.starts_with("data:") {
        let bytes = data_url(url)?;
        image_size(&bytes).ok_or("its data is not a PNG, JPEG, GIF or WebP image")?
    } else {
        return Err("expected an http(s) URL or a base64 data: URL".into());
    };
    Ok(image_tokens(w, h, detail))
}

/// Seconds of audio in a WAV file (from its `fmt ` byte rate and `data` size).
fn wav_seconds(b: &[u8]) -> Option<f64> {
    if !(b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WAVE")) {
        return None;
    }
    let (mut i, mut byte_rate) = (12, None);
    while i + 8 <= b.len() {
        let id = &b[i..i + 4];
        let size = le32(b, i + 4)? as usize;
        if id == b"fmt " {
            byte_rate = le32(b, i + 16);
        } else if id == b"data" {
            let size = size.min(b.len() - i - 8);
            return Some(size as f64 / f64::from(byte_rate.filter(|r| *r > 0)?));
        }
        i += 8 + size + (size & 1);
    }
    None
}

/// Seconds of audio in an MP3 file, from the first frame's bit rate (constant bit rate assumed).
fn mp3_seconds(b: &[u8]) -> Option<f64> {
    let mut start = 0;
    if b.starts_with(b"ID3") {
        let size = b.get(6..10)?.iter().fold(0usize, |acc, &x| (acc << 7) | usize::from(x & 0x7f));
        start = 10 + size;
    }
    let i = (start..b.len().saturating_sub(3)).find(|&i| b[i] == 0xff && b[i + 1] & 0xe0 == 0xe0)?;
    let version_bits = (b[i + 1] >> 3) & 3;
    let index = usize::from(b[i + 2] >> 4);
    const V1_L3: [u32; 15] = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
    const V2_L3: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    let kbps = if version_bits == 3 { V1_L3.get(index)? } else { V2_L3.get(index)? };
    (*kbps > 0).then(|| (b.len() - i) as f64 * 8.0 / (f64::from(*kbps) * 1000.0))
}

/// Prompt tokens of an `input_audio` part (`data` base64, `format` `wav` or `mp3`).
pub fn audio_tokens(data: &str, format: &str) -> Result<u32, String> {
    let bytes = STANDARD.decode(data.trim()).map_err(|e| format!("its base64 data is invalid ({e})"))?;
    let seconds = match format {
        "wav" => wav_seconds(&bytes).ok_or("its data is not a WAV file")?,
        "mp3" => mp3_seconds(&bytes).ok_or("its data is not an MP3 file")?,
        other => return Err(format!("format '{other}' is not supported; use 'wav' or 'mp3'")),
    };
    Ok((seconds * AUDIO_TOKENS_PER_SECOND).ceil() as u32)
}

/// Duration (seconds) and size of an MP4 from its `mvhd` and first visual `tkhd` boxes.
pub fn mp4_info(b: &[u8]) -> Option<(u32, u32, f64)> {
    let find = |tag: &[u8], from: usize| b.get(from..)?.windows(4).position(|w| w == tag).map(|p| p + from);
    let m = find(b"mvhd", 0)? + 4;
    let (scale, duration) = if b.get(m) == Some(&1) {
        (be32(b, m + 20)?, u64::from(be32(b, m + 24)?) << 32 | u64::from(be32(b, m + 28)?))
    } else {
        (be32(b, m + 12)?, u64::from(be32(b, m + 16)?))
    };
    let seconds = duration as f64 / f64::from(scale.max(1));
    let mut from = 0;
    while let Some(t) = find(b"tkhd", from) {
        let t = t + 4;
        // Width and height are 16.16 fixed point at the end of the box (84 bytes in, 96 for v1).
        let at = if b.get(t) == Some(&1) { t + 88 } else { t + 76 };
        let (w, h) = (be32(b, at)? >> 16, be32(b, at + 4)? >> 16);
        if w > 0 && h > 0 {
            return Some((w, h, seconds));
        }
        from = t;
    }
    None
}

/// Cosmos video tokens for a `width` x `height` video of `seconds` seconds.
pub fn video_tokens(width: u32, height: u32, seconds: f64) -> u32 {
    let frames = ((seconds.max(0.0) * VIDEO_FPS).ceil() as u32).clamp(1, VIDEO_MAX_FRAMES);
    let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    let s = (640.0 / w).min(360.0 / h).min(1.0);
    let patches = ((w * s) / 28.0).ceil() as u32 * ((h * s) / 28.0).ceil() as u32;
    frames.div_ceil(2) * patches
}

/// Prompt tokens of a `video_url` part.
pub fn video_url_tokens(url: &str) -> Result<u32, String> {
    let (w, h, s) = if url.starts_with("http://") || url.starts_with("https://") {
        DEFAULT_VIDEO
    } else if url.starts_with("data:") {
        mp4_info(&data_url(url)?).ok_or("its data is not an MP4 video")?
    } else {
        return Err("expected an http(s) URL or a base64 data: URL".into());
    };
    Ok(video_tokens(w, h, s))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The start of a PNG of `w` x `h` (signature and IHDR): all a size probe reads.
    pub(crate) fn png(w: u32, h: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        b.extend(w.to_be_bytes());
        b.extend(h.to_be_bytes());
        b.extend([8, 6, 0, 0, 0]);
        b
    }

    #[test]
    fn openai_tile_arithmetic() {
        // OpenAI's documented examples.
        assert_eq!(image_tokens(1024, 1024, "high"), 765);
        assert_eq!(image_tokens(2048, 4096, "high"), 1105);
        assert_eq!(image_tokens(4096, 8192, "low"), 85);
        assert_eq!(image_tokens(512, 512, "auto"), 255);
        assert_eq!(image_tokens(100, 100, "high"), 255);
    }

    #[test]
    fn image_headers() {
        assert_eq!(image_size(&png(640, 480)), Some((640, 480)));
        let gif = b"GIF89a\x40\x01\xf0\x00".to_vec();
        assert_eq!(image_size(&gif), Some((320, 240)));
        let mut jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00".to_vec();
        jpeg.extend(b"\xff\xc0\x00\x11\x08\x02\x58\x03\x20\x03\x01\x22\x00");
        assert_eq!(image_size(&jpeg), Some((800, 600)));
        let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        webp.extend([0x7f, 0x02, 0x00, 0xdf, 0x01, 0x00]);
        assert_eq!(image_size(&webp), Some((640, 480)));
        assert_eq!(image_size(b"hello"), None);
        let url = format!("data:image/png;base64,{}", STANDARD.encode(png(2048, 4096)));
        assert_eq!(image_url_tokens(&url, "high"), Ok(1105));
        assert!(image_url_tokens("data:image/png;base64,!!!", "high").is_err());
        assert!(image_url_tokens("ftp://x/y.png", "high").is_err());
        assert_eq!(image_url_tokens("https://x/y.png", "low"), Ok(85));
    }

    #[test]
    fn audio_duration() {
        // 2 s of 16 kHz mono 16-bit PCM.
        let mut wav = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0".to_vec();
        wav.extend(16_000u32.to_le_bytes());
        wav.extend(32_000u32.to_le_bytes());
        wav.extend([2, 0, 16, 0]);
        wav.extend(b"data");
        wav.extend(64_000u32.to_le_bytes());
        wav.extend(vec![0u8; 64_000]);
        assert_eq!(audio_tokens(&STANDARD.encode(&wav), "wav"), Ok(20));
        // 128 kbps MPEG-1 layer III: 16,000 bytes a second.
        let mut mp3 = vec![0xff, 0xfb, 0x90, 0x64];
        mp3.resize(48_000, 0);
        assert_eq!(audio_tokens(&STANDARD.encode(&mp3), "mp3"), Ok(30));
        assert!(audio_tokens(&STANDARD.encode(b"nope"), "wav").is_err());
        assert!(audio_tokens("", "flac").is_err());
    }

    #[test]
    fn video_formula() {
        // 1280x720 -> 640x360 -> 23x13 patches; 10 s at 4 fps = 40 frames -> 20 token frames.
        assert_eq!(video_tokens(1280, 720, 10.0), 20 * 23 * 13);
        assert_eq!(video_url_tokens("https://x/v.mp4"), Ok(20 * 23 * 13));
        assert!(video_tokens(320, 240, 1.0) < video_tokens(320, 240, 2.0));
        assert!(video_url_tokens("data:video/mp4;base64,AAAA").is_err());
    }
}
