//! Opus in an Ogg container (RFC 7845), as OpenAI's speech `opus` format: libopus (the reference
//! encoder, built from the source bundled by `opusic-sys` and linked statically) encodes 20 ms
//! packets, and the pure-Rust `ogg` crate writes the pages.
//!
//! The stream is what `opusenc` writes: an `OpusHead` page (mono, the input rate, the encoder's
//! look-ahead as pre-skip), an `OpusTags` page, then audio pages of up to a second each. Granule
//! positions count 48 kHz samples, and the last page's marks the exact end of the input, so a player
//! trims both the priming samples and the padding of the final packet.

use ogg::writing::{PacketWriteEndInfo, PacketWriter};
use opus::{Application, Bitrate, Channels, Encoder};

/// Encoder bit rate, bits per second (OpenAI's Opus speech is about 32 kb/s).
pub const BIT_RATE: i32 = 32_000;
/// Samples per second of every Opus granule position, whatever the input rate.
const GRANULE_RATE: u64 = 48_000;
const FRAME_MS: usize = 20;
const PACKETS_PER_PAGE: usize = 50;
const SERIAL: u32 = 0x6661_6b65; // "fake"
const VENDOR: &str = "fakeai (libopus)";

fn head(channels: u8, pre_skip: u16, input_rate: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(19);
    h.extend_from_slice(b"OpusHead");
    h.push(1); // version
    h.push(channels);
    h.extend_from_slice(&pre_skip.to_le_bytes());
    h.extend_from_slice(&input_rate.to_le_bytes());
    h.extend_from_slice(&0i16.to_le_bytes()); // output gain
    h.push(0); // channel mapping family 0: mono or stereo
    h
}

fn tags() -> Vec<u8> {
    let mut t = Vec::with_capacity(16 + VENDOR.len());
    t.extend_from_slice(b"OpusTags");
    t.extend_from_slice(&(VENDOR.len() as u32).to_le_bytes());
    t.extend_from_slice(VENDOR.as_bytes());
    t.extend_from_slice(&0u32.to_le_bytes()); // no user comments
    t
}

/// `samples` (16-bit mono at `sample_rate`: 8, 12, 16, 24 or 48 kHz) as an Ogg Opus file.
pub fn ogg_opus(samples: &[i16], sample_rate: u32) -> Result<Vec<u8>, String> {
    let err = |e: opus::Error| format!("Opus encoder: {e}");
    let mut enc = Encoder::new(sample_rate, Channels::Mono, Application::Audio).map_err(err)?;
    enc.set_bitrate(Bitrate::Bits(BIT_RATE)).map_err(err)?;
    let lookahead = enc.get_lookahead().map_err(err)?.max(0) as usize;
    let scale = GRANULE_RATE / u64::from(sample_rate);
    let pre_skip = lookahead as u64 * scale;

    let frame = sample_rate as usize * FRAME_MS / 1000;
    // Encode look-ahead's worth past the end, so the decoder yields every input sample.
    let packets = (samples.len() + lookahead).div_ceil(frame);
    let bytes = samples.len() * BIT_RATE as usize / 8 / sample_rate as usize;
    let mut writer = PacketWriter::new(Vec::with_capacity(bytes + 1024));
    let io = |e: std::io::Error| e.to_string();
    writer
        .write_packet(head(1, pre_skip as u16, sample_rate), SERIAL, PacketWriteEndInfo::EndPage, 0)
        .map_err(io)?;
    writer.write_packet(tags(), SERIAL, PacketWriteEndInfo::EndPage, 0).map_err(io)?;

    let end = pre_skip + samples.len() as u64 * scale;
    let mut pcm = vec![0i16; frame];
    let mut packet = vec![0u8; 4000];
    for i in 0..packets {
        let start = (i * frame).min(samples.len());
        let stop = ((i + 1) * frame).min(samples.len());
        pcm[..stop - start].copy_from_slice(&samples[start..stop]);
        pcm[stop - start..].fill(0);
        let len = enc.encode(&pcm, &mut packet).map_err(err)?;
        let granule = (pre_skip + ((i + 1) * frame) as u64 * scale).min(end);
        let info = if i + 1 == packets {
            PacketWriteEndInfo::EndStream
        } else if (i + 1) % PACKETS_PER_PAGE == 0 {
            PacketWriteEndInfo::EndPage
        } else {
            PacketWriteEndInfo::NormalPacket
        };
        writer.write_packet(packet[..len].to_vec(), SERIAL, info, granule).map_err(io)?;
    }
    Ok(writer.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::speech::{synthesize, SAMPLE_RATE};
    use ogg::reading::PacketReader;
    use opus::Decoder;
    use std::io::Cursor;

    /// Demux and decode at 48 kHz, then trim as a player does: `(input rate, samples)`.
    fn decode(file: Vec<u8>) -> (u32, Vec<i16>) {
        let mut reader = PacketReader::new(Cursor::new(file));
        let head = reader.read_packet_expected().unwrap();
        assert!(head.first_in_stream() && head.last_in_page());
        assert_eq!(&head.data[..8], b"OpusHead");
        assert_eq!(head.data[9], 1, "mono");
        let pre_skip = usize::from(u16::from_le_bytes([head.data[10], head.data[11]]));
        let rate = u32::from_le_bytes(head.data[12..16].try_into().unwrap());
        let tags = reader.read_packet_expected().unwrap();
        assert_eq!(&tags.data[..8], b"OpusTags");
        let mut dec = Decoder::new(48_000, Channels::Mono).unwrap();
        let (mut out, mut buf, mut last_granule) = (Vec::new(), vec![0i16; 5760], 0);
        while let Some(p) = reader.read_packet().unwrap() {
            let n = dec.decode(&p.data, &mut buf, false).unwrap();
            out.extend_from_slice(&buf[..n]);
            last_granule = p.absgp_page();
            if p.last_in_stream() {
                break;
            }
        }
        out.truncate(last_granule as usize);
        (rate, out.split_off(pre_skip))
    }

    #[test]
    fn speech_round_trips_through_libopus_and_keeps_its_exact_length() {
        let samples = synthesize("The quick brown fox jumps over the lazy dog, twice over.", "nova", 1.0);
        let (rate, decoded) = decode(ogg_opus(&samples, SAMPLE_RATE).unwrap());
        assert_eq!(rate, SAMPLE_RATE);
        assert_eq!(decoded.len(), samples.len() * 2, "48 kHz output, trimmed to the input's length");
        let rms = (decoded.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / decoded.len() as f64).sqrt();
        assert!(rms > 500.0, "decoded audio is near silence (rms {rms})");
    }

    #[test]
    fn pages_carry_valid_checksums_and_one_stream() {
        let file = ogg_opus(&synthesize("hello", "alloy", 1.0), SAMPLE_RATE).unwrap();
        assert_eq!(&file[..4], b"OggS");
        let mut reader = PacketReader::new(Cursor::new(file));
        let mut n = 0;
        while let Some(p) = reader.read_packet().unwrap() {
            assert_eq!(p.stream_serial(), SERIAL);
            n += 1;
        }
        assert!(n > 2);
    }
}
