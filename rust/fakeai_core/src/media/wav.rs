//! RIFF/WAVE files of 16-bit PCM, and the raw little-endian PCM OpenAI calls `pcm`.

/// Raw signed 16-bit little-endian samples (OpenAI's `pcm`: 24 kHz mono, no header).
pub fn pcm(samples: &[i16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len() * 2);
    append_le(&mut out, samples);
    out
}

fn append_le(out: &mut Vec<u8>, samples: &[i16]) {
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
}

/// A canonical 44-byte-header WAVE file of mono 16-bit PCM.
pub fn wav(samples: &[i16], sample_rate: u32) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate * 2).to_le_bytes()); // byte rate
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    append_le(&mut out, samples);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_and_samples_round_trip() {
        let samples = [0i16, 1, -1, i16::MAX, i16::MIN];
        let f = wav(&samples, 24_000);
        assert_eq!(&f[..4], b"RIFF");
        assert_eq!(&f[8..16], b"WAVEfmt ");
        assert_eq!(u32::from_le_bytes(f[4..8].try_into().unwrap()) as usize, f.len() - 8);
        assert_eq!(u32::from_le_bytes(f[24..28].try_into().unwrap()), 24_000);
        assert_eq!(u32::from_le_bytes(f[40..44].try_into().unwrap()), 10);
        let back: Vec<i16> = f[44..].chunks(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
        assert_eq!(back, samples);
        assert_eq!(pcm(&samples), f[44..]);
    }
}
