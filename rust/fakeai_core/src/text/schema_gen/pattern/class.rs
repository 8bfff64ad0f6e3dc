//! Character classes: their members, and how one is drawn.

use crate::rng::Rng;

/// A class's members in the three tiers it is drawn from.
pub(super) struct Members {
    alnum: Vec<char>,
    printable: Vec<char>,
    /// Ranges and the running count of members before each, for a uniform draw among all.
    ranges: Vec<(char, char, u64)>,
    pub(super) total: u64,
}

/// JSON text bytes of one character, quotes excluded.
pub(super) fn char_bytes(c: char) -> u64 {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8() as u64,
    }
}

impl Members {
    pub(super) fn new(ranges: impl Iterator<Item = (char, char)>) -> Members {
        let (mut alnum, mut printable, mut out, mut total) = (Vec::new(), Vec::new(), Vec::new(), 0);
        for (a, b) in ranges {
            for c in (a as u32).max(0x20)..=(b as u32).min(0x7e) {
                let c = char::from_u32(c).unwrap_or(' ');
                printable.push(c);
                if c.is_ascii_alphanumeric() {
                    alnum.push(c);
                }
            }
            out.push((a, b, total));
            // Surrogates are never class members, so a range is a plain span of scalar values.
            total += u64::from(b as u32 - a as u32 + 1);
        }
        Members { alnum, printable, ranges: out, total }
    }

    pub(super) fn pick(&self, rng: &mut Rng) -> char {
        if !self.alnum.is_empty() && rng.below(4) > 0 {
            return self.alnum[rng.below(self.alnum.len() as u64) as usize];
        }
        if !self.printable.is_empty() {
            return self.printable[rng.below(self.printable.len() as u64) as usize];
        }
        let i = rng.below(self.total.max(1));
        let at = self.ranges.partition_point(|r| r.2 <= i).saturating_sub(1);
        let (a, _, before) = self.ranges[at];
        char::from_u32(a as u32 + (i - before) as u32).unwrap_or(a)
    }

    /// Most JSON bytes a drawn member takes.
    pub(super) fn bytes(&self) -> u64 {
        if !self.printable.is_empty() {
            return self.printable.iter().map(|&c| char_bytes(c)).max().unwrap_or(1);
        }
        self.ranges.iter().map(|&(a, b, _)| char_bytes(a).max(char_bytes(b))).max().unwrap_or(1)
    }
}
