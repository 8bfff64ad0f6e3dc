//! Strings: a `pattern` match ([`Pattern`]), a `format` value, or vocabulary words, within
//! `minLength`/`maxLength`, and [`string_bytes`], the most JSON bytes each takes.
//!
//! - `pattern` wins over `format` (both given: the string matches the pattern), and over
//!   `minLength`/`maxLength` when no match has a length within them.
//! - A `format` value (`date-time`, `date`, `time`, `duration`, `email`, `hostname`, `uri`, `uuid`,
//!   `ipv4`, `ipv6`) outside `minLength..=maxLength` is drawn again from a pattern of the format,
//!   aimed at a length within them, for the formats whose length varies (`email`, `hostname`,
//!   `uri`); the fixed-length ones (and lengths the format cannot have) keep the format's value.
//! - Plain words are padded with more words up to `minLength` and cut at `maxLength`.

use super::filler::{date, time, uuid, words};
use super::pattern::{compiled, Pattern};
use super::size::longest_word;
use super::view::View;
use crate::rng::Rng;
use serde_json::Value;
use std::rc::Rc;

/// The `minLength`/`maxLength` of a string schema (`0`, `u64::MAX` when absent).
pub(super) fn lengths(view: &View<'_>) -> (u64, u64) {
    let min = view.get("minLength").and_then(Value::as_u64).unwrap_or(0);
    let max = view.get("maxLength").and_then(Value::as_u64).unwrap_or(u64::MAX);
    (min, max)
}

/// The pattern a variable-length format is drawn from when its natural value misses the lengths.
fn format_pattern(format: &str) -> Option<Rc<Pattern>> {
    let source = match format {
        "email" => r"[a-z]{1,64}@[a-z]{1,63}\.com",
        "hostname" | "idn-hostname" => r"[a-z]{1,63}(\.[a-z]{1,63}){0,2}\.com",
        "uri" | "url" | "iri" => r"https://[a-z]{1,63}\.com(/[a-z0-9]{1,64}){0,30}",
        _ => return None,
    };
    compiled(source).ok().flatten()
}

/// Most characters of a format's own value (`None`: not a format fakeai knows).
fn format_chars(format: &str) -> Option<u64> {
    let w = longest_word();
    Some(match format {
        "date-time" => 20,
        "date" => 10,
        "time" => 9,
        "duration" => 15,
        "email" => 3 * w + 6,
        "uri" | "url" | "iri" => 3 * w + 14,
        "hostname" | "idn-hostname" => w + 12,
        "uuid" => 36,
        "ipv4" => 15,
        "ipv6" => 18,
        _ => return None,
    })
}

/// How far past `minLength` a format's redrawn value may go.
const FORMAT_SLACK: u64 = 16;

/// Most JSON bytes (quotes included) [`string`] makes for a schema; a `pattern`'s string is made
/// within the room it is given, so its count is the least room that honours it.
pub(super) fn string_bytes(view: &View<'_>, pattern: Option<&Pattern>) -> u64 {
    let (min, max) = lengths(view);
    if let Some(p) = pattern {
        return p.need(min, max);
    }
    let format = view.get("format").and_then(Value::as_str).unwrap_or("");
    if let Some(chars) = format_chars(format) {
        let redrawn = if format_pattern(format).is_some() && (min > 0 || max < u64::MAX) {
            max.min(min.saturating_add(FORMAT_SLACK))
        } else {
            0
        };
        return 2 + chars.max(redrawn);
    }
    let w = longest_word();
    let base = 4 * w + 3;
    let padded = if min > 0 { base.max(min.saturating_add(w)) } else { base };
    2u64.saturating_add(padded.min(max))
}

fn duration(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => format!("P{}D", rng.range(1, 30)),
        1 => format!("PT{}H{}M", rng.below(24), rng.range(1, 59)),
        2 => format!("PT{}M", rng.range(1, 120)),
        _ => format!("P{}DT{}H{}M{}S", rng.range(1, 9), rng.below(24), rng.below(60), rng.range(1, 59)),
    }
}

/// A value of a known format, `None` for other formats.
fn format_value(format: &str, rng: &mut Rng) -> Option<String> {
    Some(match format {
        "date-time" => format!("{}T{}Z", date(rng), time(rng)),
        "date" => date(rng),
        "time" => format!("{}Z", time(rng)),
        "duration" => duration(rng),
        "email" => format!("{}@{}.com", words(rng, 2, "."), words(rng, 1, "")),
        "uri" | "url" | "iri" => format!("https://{}.com/{}", words(rng, 1, ""), words(rng, 2, "/")),
        "hostname" | "idn-hostname" => format!("{}.example.com", words(rng, 1, "")),
        "uuid" => uuid(rng),
        "ipv4" => format!("10.{}.{}.{}", rng.below(256), rng.below(256), rng.range(1, 254)),
        "ipv6" => format!("fd00::{:x}:{:x}", rng.below(0x10000), rng.range(1, 0xffff)),
        _ => return None,
    })
}

/// A string for `view`, at most `room` bytes of JSON when `room` covers [`string_bytes`]; a
/// pattern's walks spend `work` (see [`Pattern::generate`]).
pub(super) fn string(
    view: &View<'_>,
    pattern: Option<&Pattern>,
    rng: &mut Rng,
    room: u64,
    work: &mut u64,
) -> String {
    let (min, max) = lengths(view);
    if let Some(p) = pattern {
        return p.generate(rng, min, max, room, work);
    }
    let format = view.get("format").and_then(Value::as_str).unwrap_or("");
    if let Some(s) = format_value(format, rng) {
        let chars = s.len() as u64;
        if (min..=max).contains(&chars) {
            return s;
        }
        return match format_pattern(format) {
            Some(p) => p.generate(rng, min, max, room.min(string_bytes(view, None)), work),
            None => s,
        };
    }
    let mut s = words(rng, 4, " ");
    let (min, max) = (min as usize, max.min(usize::MAX as u64) as usize);
    // Counted as it grows: recounting a 100 000-character string per word was quadratic.
    let mut chars = s.chars().count();
    while chars < min {
        let word = words(rng, 1, "");
        s.push(' ');
        s.push_str(&word);
        chars += 1 + word.chars().count();
    }
    if chars > max {
        s = s.chars().take(max).collect();
    }
    s
}

#[cfg(test)]
mod tests {
    use crate::rng::Rng;
    use crate::text::schema_gen::tests::many;
    use crate::text::schema_gen::{check, generate};
    use serde_json::{json, Value};

    fn lengths_ok(v: &Value, lo: usize, hi: usize) -> bool {
        (lo..=hi).contains(&v.as_str().unwrap().chars().count())
    }

    #[test]
    fn patterns_in_schemas_match_within_lengths() {
        let schema = json!({"type": "object", "properties": {
            "code": {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"},
            "slug": {"type": "string", "pattern": r"^[a-z]+(-[a-z]+)*$", "minLength": 30, "maxLength": 40},
            "both": {"type": "string", "pattern": r"^x+$", "format": "email"},
            "tags": {"type": "array", "items": {"type": "string", "pattern": r"^#\w{2,5}$"}, "maxItems": 3}},
            "required": ["code", "slug", "both", "tags"]});
        let code = regex::Regex::new(r"^[A-Z]{3}-\d{4}$").unwrap();
        let slug = regex::Regex::new(r"^[a-z]+(-[a-z]+)*$").unwrap();
        let tag = regex::Regex::new(r"^#\w{2,5}$").unwrap();
        for v in many(&schema) {
            assert!(code.is_match(v["code"].as_str().unwrap()), "{v}");
            assert!(slug.is_match(v["slug"].as_str().unwrap()) && lengths_ok(&v["slug"], 30, 40), "{v}");
            assert!(v["both"].as_str().unwrap().chars().all(|c| c == 'x'), "{v}");
            let tags = v["tags"].as_array().unwrap();
            assert!(tags.len() <= 3 && tags.iter().all(|t| tag.is_match(t.as_str().unwrap())), "{v}");
        }
    }

    #[test]
    fn formats_keep_their_shape_within_lengths() {
        let email = regex::Regex::new(r"^[a-z.]+@[a-z]+\.com$").unwrap();
        for (lo, hi) in [(30, 40), (5, 8), (60, 60)] {
            let s = json!({"type": "string", "format": "email", "minLength": lo, "maxLength": hi});
            for v in many(&s) {
                assert!(email.is_match(v.as_str().unwrap()) && lengths_ok(&v, lo, hi), "{v}");
            }
        }
        let host = regex::Regex::new(r"^[a-z]+(\.[a-z]+)+$").unwrap();
        for v in many(&json!({"type": "string", "format": "hostname", "minLength": 70})) {
            assert!(host.is_match(v.as_str().unwrap()) && lengths_ok(&v, 70, 86), "{v}");
        }
        let duration = regex::Regex::new(r"^P(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$").unwrap();
        for v in many(&json!({"type": "string", "format": "duration"})) {
            let s = v.as_str().unwrap();
            assert!(duration.is_match(s) && s.len() > 2 && !s.ends_with('T'), "{v}");
        }
    }

    #[test]
    fn bad_patterns_are_400s_at_their_path() {
        let s = json!({"properties": {"x": {"type": "string", "pattern": "[a-"}}});
        assert_eq!(check(&s).unwrap_err().at, "properties.x.pattern");
        let s = json!({"properties": {"x": {"type": "string", "pattern": 3}}});
        assert_eq!(check(&s).unwrap_err().at, "properties.x.pattern");
        let s = json!({"type": "string", "pattern": "^(a{1000}){2000}$"});
        assert_eq!(check(&s).unwrap_err().at, "pattern");
        // Forced over the budget only together: a 400 for the whole schema.
        let s =
            json!({"type": "array", "minItems": 1000, "items": {"type": "string", "pattern": "^a{2000}$"}});
        assert_eq!(check(&s).unwrap_err().at, "");
        // Look-around: not interpreted; the string is words.
        let s = json!({"type": "string", "pattern": "^(?=x)"});
        check(&s).unwrap();
        assert!(generate(&s, &mut Rng::new(1)).is_string());
    }
}
