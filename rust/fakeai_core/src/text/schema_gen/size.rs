//! The size budget: [`Sizer`] finds the least JSON text a subschema forces, which [`check`] holds
//! against [`MAX_OUTPUT_BYTES`] and generation reserves before it adds anything optional.
//!
//! [`check`]: super::check
//! [`MAX_OUTPUT_BYTES`]: super::MAX_OUTPUT_BYTES

use super::pattern::{compiled, Pattern};
use super::strings::string_bytes;
use super::view::{Ref, View};
use super::{HARD_DEPTH, MAX_SIZING_STEPS};
use crate::text::vocab;
use serde_json::Value;
use std::collections::HashMap;
use std::rc::Rc;

/// Sizes in bytes of JSON text. Finite sizes stop growing at [`HUGE`]; [`DEEP`] is a value that
/// cannot be made within [`HARD_DEPTH`] (a recursion the schema requires).
const HUGE: u64 = 1 << 62;
pub(super) const DEEP: u64 = u64::MAX;
/// Upper bounds of the JSON text generated for a number, an integer, a boolean and `null`.
pub(super) const NUMBER_BYTES: u64 = 24;
pub(super) const INTEGER_BYTES: u64 = 20;

pub(super) fn add(a: u64, b: u64) -> u64 {
    if a == DEEP || b == DEEP {
        DEEP
    } else {
        a.saturating_add(b).min(HUGE)
    }
}

fn times(n: u64, a: u64) -> u64 {
    match (n, a) {
        (0, _) => 0,
        (_, DEEP) => DEEP,
        _ => n.saturating_mul(a).min(HUGE),
    }
}

/// Length of `v` as JSON text.
pub(super) fn json_len(v: &Value) -> u64 {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    serde_json::to_writer(&mut c, v).map_or(HUGE, |()| c.0)
}

/// The longest vocabulary word, in bytes (the words are lower-case ASCII).
pub(super) fn longest_word() -> u64 {
    static LONGEST: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *LONGEST.get_or_init(|| {
        let table = vocab::table();
        (0..table.words).map(|i| table.word(i, false, false).len() as u64).max().unwrap_or(1)
    })
}

/// Bytes of the string [`words`] makes: `n` words and their separators, quotes included.
///
/// [`words`]: super::filler::words
fn words_bytes(n: u64) -> u64 {
    2 + n * longest_word() + (n - 1)
}

/// The least JSON text generation must produce for a subschema at a depth: what `required`,
/// `minItems`, `prefixItems`, `minLength`, `const` and the smallest `enum` value, `anyOf` branch or
/// type force, with every optional part left out. Each (subschema, depth) is sized once, so sizing
/// a schema costs at most its size times [`HARD_DEPTH`], however its `$ref`s loop; `steps` bounds
/// that work for schemas that are huge themselves. It also keeps each `pattern` compiled, for
/// sizing and generation both.
pub(super) struct Sizer<'a> {
    root: &'a Value,
    memo: HashMap<(usize, usize), u64>,
    steps: u64,
    patterns: HashMap<usize, Option<Rc<Pattern>>>,
}

impl<'a> Sizer<'a> {
    pub(super) fn new(root: &'a Value) -> Self {
        Sizer { root, memo: HashMap::new(), steps: 0, patterns: HashMap::new() }
    }

    /// The compiled `pattern` of a string schema; `None` without one, or for one that is not
    /// interpreted (a look-around; or invalid, which [`check`] rejects).
    ///
    /// [`check`]: super::check
    pub(super) fn pattern(&mut self, view: &View<'a>) -> Option<Rc<Pattern>> {
        let source = view.get("pattern")?;
        let key = std::ptr::from_ref(source) as usize;
        self.patterns.entry(key).or_insert_with(|| compiled(source.as_str()?).ok().flatten()).clone()
    }

    pub(super) fn exhausted(&self) -> bool {
        self.steps > MAX_SIZING_STEPS
    }

    pub(super) fn need(&mut self, schema: &'a Value, depth: usize) -> u64 {
        if depth > HARD_DEPTH {
            return DEEP;
        }
        let Some(obj) = schema.as_object() else { return words_bytes(3) };
        let key = (std::ptr::from_ref(schema) as usize, depth);
        if let Some(&n) = self.memo.get(&key) {
            return n;
        }
        let n = self.need_view(&View::of(obj), depth);
        self.memo.insert(key, n);
        n
    }

    fn need_view(&mut self, view: &View<'a>, depth: usize) -> u64 {
        self.steps += 1;
        if self.exhausted() || depth > HARD_DEPTH {
            return DEEP;
        }
        match view.reference(self.root) {
            Some(Ref::Alone(target)) => return self.need(target, depth + 1),
            Some(Ref::Merged(merged)) => return self.need_view(&merged, depth + 1),
            None => {}
        }
        if let Some(c) = view.get("const") {
            return json_len(c);
        }
        if let Some(options) = view.get("enum").and_then(Value::as_array).filter(|a| !a.is_empty()) {
            return options.iter().map(json_len).min().unwrap_or(0);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(branches) = view.get(key).and_then(Value::as_array).filter(|a| !a.is_empty()) {
                return branches.iter().map(|b| self.need(b, depth + 1)).min().unwrap_or(DEEP);
            }
        }
        if let Some(parts) = view.get("allOf").and_then(Value::as_array) {
            return self.need_view(&view.merge(parts, self.root), depth + 1);
        }
        view.types().into_iter().map(|t| self.need_typed(view, t, depth)).min().unwrap_or(DEEP)
    }

    pub(super) fn need_typed(&mut self, view: &View<'a>, kind: &str, depth: usize) -> u64 {
        match kind {
            "object" => {
                let mut required = view.required();
                required.sort_unstable();
                required.dedup();
                let mut n = 2;
                for name in required {
                    let value = match view.property(name) {
                        Some(schema) => self.need(schema, depth + 1),
                        None => words_bytes(2),
                    };
                    n = add(n, add(entry_bytes(name), value));
                }
                n
            }
            "array" => {
                let (forced, prefix, items) = forced_items(view);
                let mut n = 2;
                for schema in prefix.iter().take(forced as usize) {
                    n = add(n, add(1, self.need(schema, depth + 1)));
                }
                let rest = forced.saturating_sub(prefix.len() as u64);
                add(n, times(rest, add(1, self.need(items, depth + 1))))
            }
            "integer" => INTEGER_BYTES,
            "number" => NUMBER_BYTES,
            "boolean" => 5,
            "null" => 4,
            _ => {
                let pattern = self.pattern(view);
                string_bytes(view, pattern.as_deref())
            }
        }
    }
}

/// Bytes an object entry adds besides its value: the quoted name, `:` and a `,`.
pub(super) fn entry_bytes(name: &str) -> u64 {
    json_len(&Value::from(name)) + 2
}

/// The schema of `items` when there is none: anything (generated as a few words).
static ANY: Value = Value::Bool(true);

/// An array's forced item count (`minItems`, or the `prefixItems` within `maxItems`), its
/// `prefixItems` and its `items` schema.
pub(super) fn forced_items<'a>(view: &View<'a>) -> (u64, &'a [Value], &'a Value) {
    let min = view.get("minItems").and_then(Value::as_u64).unwrap_or(0);
    let max = view.get("maxItems").and_then(Value::as_u64).unwrap_or(u64::MAX);
    let prefix = view.get("prefixItems").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    let forced = min.max((prefix.len() as u64).min(max)).min(max);
    (forced, prefix, view.get("items").unwrap_or(&ANY))
}

#[cfg(test)]
mod tests {
    use crate::rng::Rng;
    use crate::text::schema_gen::tests::size;
    use crate::text::schema_gen::{check, generate, MAX_OUTPUT_BYTES};
    use serde_json::json;

    #[test]
    fn optional_parts_stop_at_the_budget() {
        // Each level may add up to two optional items of big strings: without the budget this would be
        // 3^5 * 100 KB; with it, the required minimum is honoured and the value stays within 1 MiB.
        let s = json!({"$defs": {"N": {"type": "object", "properties": {
                           "text": {"type": "string", "minLength": 100_000},
                           "kids": {"type": "array", "items": {"$ref": "#/$defs/N"}, "maxItems": 3}},
                       "required": ["text"]}},
                       "type": "array", "items": {"$ref": "#/$defs/N"}, "minItems": 3});
        check(&s).unwrap();
        let mut biggest = 0;
        for seed in 0..20 {
            let v = generate(&s, &mut Rng::new(seed));
            let items = v.as_array().unwrap();
            assert!(items.len() >= 3);
            assert!(items.iter().all(|n| n["text"].as_str().unwrap().len() >= 100_000));
            biggest = biggest.max(size(&v));
            assert!(size(&v) <= MAX_OUTPUT_BYTES as usize, "{}", size(&v));
        }
        assert!(biggest > 900_000, "the budget is used, not just the minimum: {biggest}");
        // Optional properties are skipped when they do not fit; required ones never are.
        let s = json!({"type": "array", "minItems": 1000, "items": {"type": "object",
                       "properties": {"must": {"type": "string", "minLength": 1000},
                                      "may": {"type": "string", "minLength": 5000}}, "required": ["must"]}});
        let v = generate(&s, &mut Rng::new(4));
        assert!(v.as_array().unwrap().iter().all(|o| o["must"].is_string()));
        assert!(size(&v) <= MAX_OUTPUT_BYTES as usize);
    }
}
