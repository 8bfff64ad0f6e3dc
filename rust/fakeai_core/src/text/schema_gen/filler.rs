//! The filler values are made of: vocabulary words and sentences, dates, times and UUIDs, and the
//! arbitrary object of `response_format: json_object`.

use crate::rng::Rng;
use crate::text::vocab;
use serde_json::{Map, Value};

/// A JSON object with a few arbitrary keys (`response_format: json_object`).
pub fn any_object(rng: &mut Rng) -> Value {
    let mut out = Map::new();
    for _ in 0..rng.range(2, 5) {
        let key = words(rng, 1, "_");
        let value = match rng.below(4) {
            0 => Value::from(rng.range(0, 1000)),
            1 => Value::Bool(rng.below(2) == 0),
            2 => Value::from(vec![Value::from(words(rng, 1, " ")), Value::from(words(rng, 1, " "))]),
            _ => Value::from(sentence(rng)),
        };
        out.insert(key, value);
    }
    Value::Object(out)
}

/// `n` (1..=max) lower-case vocabulary words joined by `sep`.
pub(super) fn words(rng: &mut Rng, max: u64, sep: &str) -> String {
    let table = vocab::table();
    let n = rng.range(1, max.max(1));
    let picked: Vec<&str> =
        (0..n).map(|_| table.word(rng.below(table.words as u64) as usize, false, false)).collect();
    picked.join(sep)
}

fn sentence(rng: &mut Rng) -> String {
    let mut s = words(rng, 6, " ");
    if let Some(first) = s.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    s
}

pub(super) fn date(rng: &mut Rng) -> String {
    format!("{}-{:02}-{:02}", rng.range(2020, 2030), rng.range(1, 12), rng.range(1, 28))
}

pub(super) fn time(rng: &mut Rng) -> String {
    format!("{:02}:{:02}:{:02}", rng.below(24), rng.below(60), rng.below(60))
}

pub(super) fn uuid(rng: &mut Rng) -> String {
    let (a, b) = (rng.next_u64(), rng.next_u64());
    // Version 4, variant 10xx.
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}
