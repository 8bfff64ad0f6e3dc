//! The pieces behind token ids, learned server-wide, so that `/detokenize` gives back what
//! `/tokenize` was given on any worker.
//!
//! fakeai's token ids are hashes of pieces ([`crate::text::tokens::piece_id`]), which cannot be
//! inverted; a tokenizer that met a piece remembers it here, in a shared [`Table`] keyed by the id:
//! word 0 is the state (0 empty, [`WRITING`] while a process writes, else the piece's length + 1),
//! the other words hold the piece's bytes. The first piece stored under an id keeps it (two pieces
//! with one id, as two rare words can share an id, decode as the first). Pieces longer than
//! [`MAX_PIECE`] bytes (only long whitespace runs) and ids met once the table is full are not kept.

use super::table::Table;
use std::sync::atomic::Ordering;

/// Data words per id: the state, then the piece's bytes.
pub const WIDTH: usize = 8;
/// Longest piece kept, bytes.
pub const MAX_PIECE: usize = (WIDTH - 1) * 8;
const WRITING: u64 = u64::MAX;

fn key(id: u32) -> String {
    format!("v{id}")
}

/// Remember that `id` is `piece` (unless the id is taken, the piece too long or the table full).
pub fn learn(table: &Table, id: u32, piece: &str) {
    if piece.len() > MAX_PIECE || table.width() < WIDTH {
        return;
    }
    if table.get(&key(id)).is_some_and(|d| d[0].load(Ordering::Acquire) != 0) {
        return; // the common case: known already, no insert
    }
    let Ok(slot) = table.slot(&key(id)) else { return };
    if slot[0].compare_exchange(0, WRITING, Ordering::AcqRel, Ordering::Acquire).is_err() {
        return;
    }
    for (w, chunk) in piece.as_bytes().chunks(8).enumerate() {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        slot[1 + w].store(u64::from_le_bytes(word), Ordering::Relaxed);
    }
    slot[0].store(piece.len() as u64 + 1, Ordering::Release);
}

/// The piece learned for `id`, if any.
pub fn lookup(table: &Table, id: u32) -> Option<String> {
    let slot = table.get(&key(id))?;
    let state = slot[0].load(Ordering::Acquire);
    if state == 0 || state == WRITING {
        return None;
    }
    let len = (state - 1) as usize;
    let bytes: Vec<u8> =
        slot[1..WIDTH].iter().flat_map(|w| w.load(Ordering::Relaxed).to_le_bytes()).collect();
    String::from_utf8(bytes[..len.min(MAX_PIECE)].to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learned_pieces_come_back_and_the_first_keeps_its_id() {
        let p = std::env::temp_dir().join(format!("fakeai-vocab-{}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        let t = Table::open(&p, 16, WIDTH).unwrap();
        learn(&t, 7, " hello");
        learn(&t, 7, " other");
        learn(&t, 8, "日");
        learn(&t, 9, &" ".repeat(MAX_PIECE + 1));
        assert_eq!(lookup(&t, 7).as_deref(), Some(" hello"));
        assert_eq!(lookup(&t, 8).as_deref(), Some("日"));
        assert_eq!(lookup(&t, 9), None);
        assert_eq!(lookup(&t, 10), None);
        std::fs::remove_file(p).unwrap();
    }
}
