//! A zlib stream built from literal bytes and runs of zero bytes: one fixed-Huffman DEFLATE block in
//! which a run is a literal zero followed by distance-1 copies of up to 258 bytes.
//!
//! That is all a PNG of flat colour spans needs once its rows are `Sub`-filtered (a span becomes its
//! first pixel's difference and then zeros), and it costs time per run, not per byte: the Adler-32
//! of a zero run has a closed form (`a` unchanged, `b += n * a`).

const ADLER_MOD: u64 = 65_521;
const MAX_MATCH: usize = 258;
/// Length codes 257..=285: the shortest length each one starts at, and its extra bits.
const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
    227, 258,
];
const LENGTH_EXTRA: [u8; 29] =
    [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];

/// The fixed literal/length code of each symbol 0..=287, bit-reversed for LSB-first output, and its length.
const FIXED: [(u16, u8); 288] = {
    let mut table = [(0u16, 0u8); 288];
    let mut sym = 0;
    while sym < 288 {
        let (code, len) = match sym {
            0..=143 => (0x30 + sym, 8),
            144..=255 => (0x190 + sym - 144, 9),
            256..=279 => (sym - 256, 7),
            _ => (0xC0 + sym - 280, 8),
        };
        table[sym as usize] = (((code as u32).reverse_bits() >> (32 - len)) as u16, len as u8);
        sym += 1;
    }
    table
};

pub struct ZlibRuns {
    out: Vec<u8>,
    acc: u64,
    nbits: u32,
    a: u64,
    b: u64,
    last_is_zero: bool,
}

impl ZlibRuns {
    pub fn new(capacity: usize) -> Self {
        let mut z =
            Self { out: Vec::with_capacity(capacity), acc: 0, nbits: 0, a: 1, b: 0, last_is_zero: false };
        z.out.extend_from_slice(&[0x78, 0x01]); // zlib: deflate, 32K window, no dictionary
        z.put(1, 1); // BFINAL
        z.put(1, 2); // BTYPE = fixed Huffman
        z
    }

    /// Append `nbits` (at most 32) bits of `value`, least significant first; whole 32-bit words
    /// are flushed to the output.
    fn put(&mut self, value: u32, nbits: u32) {
        self.acc |= u64::from(value) << self.nbits;
        self.nbits += nbits;
        if self.nbits >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.nbits -= 32;
        }
    }

    /// Literal/length symbol `sym` (0..=285) in the fixed code.
    fn symbol(&mut self, sym: u32) {
        let (code, len) = FIXED[sym as usize];
        self.put(u32::from(code), u32::from(len));
    }

    pub fn literal(&mut self, byte: u8) {
        self.symbol(u32::from(byte));
        self.a = (self.a + u64::from(byte)) % ADLER_MOD;
        self.b = (self.b + self.a) % ADLER_MOD;
        self.last_is_zero = byte == 0;
    }

    /// Append `n` zero bytes.
    pub fn zeros(&mut self, mut n: usize) {
        if n == 0 {
            return;
        }
        self.b = (self.b + n as u64 % ADLER_MOD * self.a) % ADLER_MOD;
        if !self.last_is_zero {
            self.symbol(0);
            self.last_is_zero = true;
            n -= 1;
        }
        while n >= 3 {
            let len = n.min(MAX_MATCH);
            self.copy_previous(len);
            n -= len;
        }
        for _ in 0..n {
            self.symbol(0);
        }
    }

    /// A match of `len` (3..=258) bytes at distance 1.
    fn copy_previous(&mut self, len: usize) {
        let i = LENGTH_BASE.partition_point(|&base| usize::from(base) <= len) - 1;
        self.symbol(257 + i as u32);
        let extra = u32::from(LENGTH_EXTRA[i]);
        if extra > 0 {
            self.put((len - usize::from(LENGTH_BASE[i])) as u32, extra);
        }
        self.put(0, 5); // distance code 0 (five zero bits): distance 1
    }

    /// End the block and append the Adler-32 of everything written.
    pub fn finish(mut self) -> Vec<u8> {
        self.symbol(256);
        let tail = self.nbits.div_ceil(8) as usize;
        self.out.extend_from_slice(&self.acc.to_le_bytes()[..tail]);
        let adler = ((self.b << 16) | self.a) as u32;
        self.out.extend_from_slice(&adler.to_be_bytes());
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflates_back_with_a_valid_adler32() {
        let mut expected = Vec::new();
        let mut z = ZlibRuns::new(64);
        for (i, run) in [0usize, 1, 2, 3, 4, 10, 257, 258, 259, 260, 261, 1000, 70_000].iter().enumerate() {
            for byte in [(i as u8).wrapping_mul(37) + 1, 0, 255, 144] {
                z.literal(byte);
                expected.push(byte);
            }
            z.zeros(*run);
            expected.extend(std::iter::repeat_n(0u8, *run));
        }
        let stream = z.finish();
        assert_eq!(fdeflate::decompress_to_vec(&stream).unwrap(), expected);
    }

    #[test]
    fn a_stream_of_only_zeros() {
        let mut z = ZlibRuns::new(16);
        z.zeros(5_000_000);
        let stream = z.finish();
        assert!(stream.len() < 5_000_000 / 258 * 13 / 8 + 16, "{}", stream.len()); // 13 bits a 258-byte copy
        assert_eq!(fdeflate::decompress_to_vec(&stream).unwrap(), vec![0u8; 5_000_000]);
    }
}
