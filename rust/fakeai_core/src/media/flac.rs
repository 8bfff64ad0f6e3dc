//! FLAC files with verbatim (uncompressed) subframes: valid FLAC that any decoder plays, written at
//! memory speed. Mono, 16-bit, fixed blocks of [`BLOCK`] samples; STREAMINFO carries the sample count
//! (its MD5 is zero, which the format defines as "not computed").

pub const BLOCK: usize = 4096;

/// CRC-8, polynomial x^8 + x^2 + x + 1 (FLAC frame headers).
pub fn crc8(data: &[u8]) -> u8 {
    data.iter().fold(0u8, |crc, &b| CRC8[usize::from(crc ^ b)])
}

/// CRC-16, polynomial x^16 + x^15 + x^2 + 1 (FLAC frame footers), one table lookup a byte.
pub fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |crc, &b| (crc << 8) ^ CRC16[usize::from((crc >> 8) as u8 ^ b)])
}

const CRC8: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x80 != 0 { (crc << 1) ^ 0x07 } else { crc << 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

const CRC16: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x8005 } else { crc << 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// The frame number in FLAC's UTF-8-like variable-length coding (up to 31 bits here).
fn utf8_number(out: &mut Vec<u8>, n: u32) {
    if n < 0x80 {
        out.push(n as u8);
        return;
    }
    let bytes: u32 = match n {
        0x80..0x800 => 2,
        0x800..0x1_0000 => 3,
        0x1_0000..0x20_0000 => 4,
        0x20_0000..0x400_0000 => 5,
        _ => 6,
    };
    out.push(!(0xFFu8 >> bytes) | (n >> (6 * (bytes - 1))) as u8);
    for i in (0..bytes - 1).rev() {
        out.push(0x80 | ((n >> (6 * i)) & 0x3F) as u8);
    }
}

/// Sample-rate code of a frame header for the common rates (0 = "read STREAMINFO").
fn rate_code(rate: u32) -> u8 {
    match rate {
        8_000 => 4,
        16_000 => 5,
        22_050 => 6,
        24_000 => 7,
        32_000 => 8,
        44_100 => 9,
        48_000 => 10,
        96_000 => 11,
        _ => 0,
    }
}

/// A complete FLAC file of mono 16-bit `samples`.
pub fn flac(samples: &[i16], sample_rate: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + samples.len() * 2 + samples.len() / BLOCK * 24);
    out.extend_from_slice(b"fLaC");
    out.push(0x80); // last metadata block, type 0 = STREAMINFO
    out.extend_from_slice(&34u32.to_be_bytes()[1..]);
    let block = BLOCK.min(samples.len().max(16)) as u16;
    out.extend_from_slice(&block.to_be_bytes()); // min block size
    out.extend_from_slice(&block.to_be_bytes()); // max block size
    out.extend_from_slice(&[0; 6]); // min/max frame size unknown
                                    // 20 bits rate, 3 bits channels-1 (0: mono), 5 bits bits-per-sample-1, 36 bits total samples.
    let packed: u64 = (u64::from(sample_rate) << 44) | (15u64 << 36) | (samples.len() as u64 & 0xF_FFFF_FFFF);
    out.extend_from_slice(&packed.to_be_bytes());
    out.extend_from_slice(&[0; 16]); // MD5 not computed
    for (number, chunk) in samples.chunks(BLOCK).enumerate() {
        let start = out.len();
        out.extend_from_slice(&[0xFF, 0xF8, 0x70 | rate_code(sample_rate), 0x08]);
        utf8_number(&mut out, number as u32);
        out.extend_from_slice(&(chunk.len() as u16 - 1).to_be_bytes());
        let crc = crc8(&out[start..]);
        out.push(crc);
        out.push(0x02); // subframe: verbatim, no wasted bits
        for s in chunk {
            out.extend_from_slice(&s.to_be_bytes());
        }
        let crc = crc16(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small FLAC reader for what [`flac`] writes: checks both CRCs of every frame.
    fn decode(f: &[u8]) -> (u32, u64, Vec<i16>) {
        assert_eq!(&f[..4], b"fLaC");
        assert_eq!(f[4], 0x80);
        let info = u64::from_be_bytes(f[18..26].try_into().unwrap());
        let (rate, total) = ((info >> 44) as u32, info & 0xF_FFFF_FFFF);
        assert_eq!((info >> 36) & 0x1F, 15, "16 bits per sample");
        let mut pos = 42;
        let mut samples = Vec::new();
        while pos < f.len() {
            let start = pos;
            assert_eq!(&f[pos..pos + 2], &[0xFF, 0xF8]);
            pos += 4;
            let extra = f[pos].leading_ones() as usize;
            pos += extra.max(1);
            let len = usize::from(u16::from_be_bytes([f[pos], f[pos + 1]])) + 1;
            pos += 2;
            assert_eq!(crc8(&f[start..pos]), f[pos], "header CRC");
            pos += 1;
            assert_eq!(f[pos], 0x02);
            pos += 1;
            for b in f[pos..pos + len * 2].chunks(2) {
                samples.push(i16::from_be_bytes([b[0], b[1]]));
            }
            pos += len * 2;
            assert_eq!(crc16(&f[start..pos]), u16::from_be_bytes([f[pos], f[pos + 1]]), "footer CRC");
            pos += 2;
        }
        (rate, total, samples)
    }

    #[test]
    fn crcs_match_the_reference_check_values() {
        assert_eq!(crc8(b"123456789"), 0xF4);
        assert_eq!(crc16(b"123456789"), 0xFEE8);
    }

    #[test]
    fn round_trips_through_a_checking_decoder() {
        for n in [1usize, 100, BLOCK, BLOCK * 3 + 17, 300_000] {
            let samples: Vec<i16> = (0..n).map(|i| ((i * 7919) % 65536) as u16 as i16).collect();
            let (rate, total, back) = decode(&flac(&samples, 24_000));
            assert_eq!((rate, total as usize), (24_000, n));
            assert_eq!(back, samples);
        }
    }

    #[test]
    fn frame_numbers_use_the_utf8_coding() {
        let mut out = Vec::new();
        for n in [0u32, 0x7F, 0x80, 0x7FF, 0x800, 0xD800, 0xFFFF, 0x1_0000, 0x1F_FFFF, 0x20_0000] {
            out.clear();
            utf8_number(&mut out, n);
            let len = out.len();
            let expect = match n {
                0..=0x7F => 1,
                0x80..=0x7FF => 2,
                0x800..=0xFFFF => 3,
                0x1_0000..=0x1F_FFFF => 4,
                _ => 5,
            };
            assert_eq!(len, expect, "{n:#x}");
            let lead_mask = if len == 1 { 0x7F } else { 0xFF >> (len + 1) };
            let payload = out[1..]
                .iter()
                .fold(u32::from(out[0] & lead_mask), |acc, b| (acc << 6) | u32::from(b & 0x3F));
            assert_eq!(payload, n, "{n:#x}");
        }
    }
}
