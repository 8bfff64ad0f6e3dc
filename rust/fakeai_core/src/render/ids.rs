//! Object ids shaped like OpenAI's (`chatcmpl-` + 29 base-62 characters) and creation timestamps.

use crate::rng::{fresh_seed, Rng};
use std::time::{SystemTime, UNIX_EPOCH};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A new random id with the given prefix, e.g. `new_id("chatcmpl-", 29)`.
pub fn new_id(prefix: &str, len: usize) -> String {
    let mut rng = Rng::new(fresh_seed());
    let mut id = String::with_capacity(prefix.len() + len);
    id.push_str(prefix);
    id.extend((0..len).map(|_| char::from(ALPHABET[rng.below(62) as usize])));
    id
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_length_and_differ() {
        let a = new_id("chatcmpl-", 29);
        assert!(a.starts_with("chatcmpl-") && a.len() == 38);
        assert!(a[9..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(a, new_id("chatcmpl-", 29));
        assert!(unix_now() > 1_700_000_000);
    }
}
