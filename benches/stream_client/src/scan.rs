//! Counting a marker in a byte stream that arrives in pieces: a marker split across two reads is
//! still found once.

pub(crate) struct Scanner {
    marker: &'static [u8],
    /// How many leading bytes of `marker` the previous piece ended with.
    partial: usize,
}

impl Scanner {
    pub(crate) fn new(marker: &'static [u8]) -> Self {
        Scanner { marker, partial: 0 }
    }

    pub(crate) fn reset(&mut self) {
        self.partial = 0;
    }

    /// Markers completed by `data` (including one begun in the previous piece).
    pub(crate) fn count(&mut self, data: &[u8]) -> usize {
        let m = self.marker;
        let mut found = 0;
        let mut i = 0;
        if self.partial > 0 {
            let need = m.len() - self.partial;
            let take = need.min(data.len());
            if data[..take] == m[self.partial..self.partial + take] {
                if take == need {
                    found += 1;
                    i = need;
                    self.partial = 0;
                } else {
                    self.partial += take;
                    return 0;
                }
            } else {
                self.partial = 0;
            }
        }
        while i + m.len() <= data.len() {
            if data[i..i + m.len()] == *m {
                found += 1;
                i += m.len();
            } else {
                i += 1;
            }
        }
        // the longest tail of `data` that begins the marker
        self.partial = (1..m.len().min(data.len() - i + 1))
            .rev()
            .find(|&k| data[data.len() - k..] == m[..k])
            .unwrap_or(0);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_whole_markers_in_one_piece() {
        let mut s = Scanner::new(b"ab");
        assert_eq!(s.count(b"xxabyyabab"), 3);
    }

    #[test]
    fn finds_a_marker_split_across_pieces() {
        let mut s = Scanner::new(b"data: [DONE]");
        assert_eq!(s.count(b"...\n\ndata: [DO"), 0);
        assert_eq!(s.count(b"NE]\n\n"), 1);
        assert_eq!(s.count(b"data"), 0);
        assert_eq!(s.count(b": [DONE]"), 1);
    }

    #[test]
    fn a_false_start_is_dropped() {
        let mut s = Scanner::new(b"abc");
        assert_eq!(s.count(b"xab"), 0);
        assert_eq!(s.count(b"xabc"), 1);
        s.reset();
        assert_eq!(s.count(b"ab"), 0);
        s.reset();
        assert_eq!(s.count(b"c"), 0);
    }
}
