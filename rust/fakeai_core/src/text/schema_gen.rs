//! JSON values generated from a JSON Schema: tool-call arguments and structured outputs.
//!
//! [`check`] walks a whole schema once and rejects what fakeai cannot honour (a bad `type`, an empty
//! `enum`, a `$ref` that leads nowhere, `minimum > maximum`...). [`generate`] then draws a value that
//! validates against it: `type` (or a list of types), `enum`, `const`, `anyOf`/`oneOf`/`allOf`,
//! `$ref` into `$defs`/`definitions`, objects (every `required` property, each optional one with
//! probability 1/2), arrays (`items`, `prefixItems`, `minItems`/`maxItems`, `uniqueItems`), strings
//! (`minLength`/`maxLength`, formats `date-time`, `date`, `time`, `email`, `uri`, `uuid`, `ipv4`,
//! `ipv6`, `hostname`) and numbers (`minimum`/`maximum`, exclusive bounds, `multipleOf`). `pattern`
//! is not interpreted. Recursive schemas stop growing past [`MAX_DEPTH`]: then only required
//! properties and minimal arrays are generated, and `anyOf` prefers a branch without `$ref`.
//!
//! The output is bounded, in this order:
//! 1. Each keyword: `minItems` over [`MAX_MIN_ITEMS`] and `minLength` over [`MAX_MIN_LENGTH`] are
//!    rejected, and numbers are drawn within +-1e15.
//! 2. The whole value: [`check`] sizes the smallest value the schema forces (`required`, `minItems`,
//!    `prefixItems`, `minLength`, `const`, the smallest `enum` value, `anyOf` branch or type, through
//!    `$ref`s and nesting) and rejects a schema whose smallest value is over [`MAX_OUTPUT_BYTES`] of
//!    JSON, or that requires nesting deeper than [`HARD_DEPTH`] (a required recursion, such as an
//!    array of `minItems: 1` whose items are the array itself). Sizing remembers each (subschema,
//!    depth), so it costs at most the schema's size times [`HARD_DEPTH`], never exponential through
//!    `$ref` cycles, and stops after [`MAX_SIZING_STEPS`].
//! 3. Generation: optional parts (properties, items past `minItems`) and random choices (`anyOf`
//!    branch, type, `enum` value) are taken only while the budget left covers them after what the
//!    required parts still need, so a generated value is never over [`MAX_OUTPUT_BYTES`] and normal
//!    schemas, far below it, are generated exactly as without a budget.

use crate::rng::Rng;
use crate::text::vocab;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// Nesting depth after which generation only fills what the schema requires.
pub const MAX_DEPTH: usize = 8;
/// Deepest nesting generation makes (counting `$ref`, `anyOf` and `allOf` steps); a schema that
/// requires more is rejected by [`check`].
pub const HARD_DEPTH: usize = 4 * MAX_DEPTH;
/// Largest `minItems` / `minLength` fakeai generates (bigger ones are rejected by [`check`]).
pub const MAX_MIN_ITEMS: u64 = 1_000;
pub const MAX_MIN_LENGTH: u64 = 100_000;
/// Most JSON text one generated value takes (1 MiB): real tool arguments and structured outputs
/// are at most tens of KB.
pub const MAX_OUTPUT_BYTES: u64 = 1 << 20;
/// Most (subschema, depth) pairs sized for one schema; a schema that needs more is rejected.
pub const MAX_SIZING_STEPS: u64 = 1_000_000;
/// Numbers are drawn within +-this bound (JSON Schema bounds beyond it are clamped).
const NUMBER_RANGE: f64 = 1e15;
const TYPES: [&str; 7] = ["object", "array", "string", "integer", "number", "boolean", "null"];

/// Why a schema was rejected; `at` is the JSON path inside the schema (`properties.x.type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    pub at: String,
    pub message: String,
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.at.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{} (at '{}')", self.message, self.at)
        }
    }
}

fn err<T>(at: &str, message: impl Into<String>) -> Result<T, SchemaError> {
    Err(SchemaError { at: at.to_owned(), message: message.into() })
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

/// Resolve a local `$ref` (`#`, `#/$defs/X`, `#/definitions/X`, any JSON pointer into the root).
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    root.pointer(reference.strip_prefix('#')?)
}

fn bound(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Option<f64>, SchemaError> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(x) => Ok(Some(x)),
            None => err(&join(at, key), "must be a number"),
        },
    }
}

fn count(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Option<u64>, SchemaError> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => match v.as_u64() {
            Some(x) => Ok(Some(x)),
            None => err(&join(at, key), "must be a non-negative integer"),
        },
    }
}

/// Reject anything [`generate`] could not satisfy. Walks every branch; `$ref`s must resolve.
pub fn check(root: &Value) -> Result<(), SchemaError> {
    if !root.is_object() {
        return err("", "a schema must be a JSON object");
    }
    check_at(root, root, "")?;
    let mut sizer = Sizer::new(root);
    let need = sizer.need(root, 0);
    if sizer.exhausted() {
        return err(
            "",
            format!(
                "the schema is too complex to generate from (over {MAX_SIZING_STEPS} subschemas to size)"
            ),
        );
    }
    if need == DEEP {
        return err(
            "",
            format!("the schema requires nesting deeper than {HARD_DEPTH} levels (a required recursion never ends)"),
        );
    }
    if need > MAX_OUTPUT_BYTES {
        return err(
            "",
            format!(
                "the smallest value the schema allows (minItems, minLength and required properties, nested) is over fakeai's limit of {MAX_OUTPUT_BYTES} bytes of generated JSON"
            ),
        );
    }
    Ok(())
}

fn check_at(root: &Value, schema: &Value, at: &str) -> Result<(), SchemaError> {
    let obj = match schema {
        Value::Bool(_) => return Ok(()),
        Value::Object(obj) => obj,
        _ => return err(at, "a schema must be an object or a boolean"),
    };
    if let Some(r) = obj.get("$ref") {
        match r.as_str() {
            Some(r) if resolve(root, r).is_some() => {}
            _ => return err(&join(at, "$ref"), format!("cannot resolve reference {r}")),
        }
    }
    if let Some(types) = obj.get("type") {
        let names: Vec<&Value> = match types {
            Value::Array(a) if !a.is_empty() => a.iter().collect(),
            Value::String(_) => vec![types],
            _ => return err(&join(at, "type"), "must be a type name or a non-empty array of them"),
        };
        for t in names {
            if !t.as_str().is_some_and(|t| TYPES.contains(&t)) {
                return err(&join(at, "type"), format!("unsupported type {t}"));
            }
        }
    }
    if let Some(e) = obj.get("enum") {
        if e.as_array().is_none_or(|a| a.is_empty()) {
            return err(&join(at, "enum"), "must be a non-empty array");
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
        if let Some(list) = obj.get(key) {
            let Some(list) = list.as_array().filter(|a| !a.is_empty()) else {
                return err(&join(at, key), "must be a non-empty array of schemas");
            };
            for (i, s) in list.iter().enumerate() {
                check_at(root, s, &format!("{}[{i}]", join(at, key)))?;
            }
        }
    }
    if let Some(props) = obj.get("properties") {
        let Some(props) = props.as_object() else {
            return err(&join(at, "properties"), "must be an object");
        };
        for (name, s) in props {
            check_at(root, s, &join(&join(at, "properties"), name))?;
        }
    }
    if let Some(req) = obj.get("required") {
        if !req.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
            return err(&join(at, "required"), "must be an array of property names");
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(s) = obj.get(key) {
            check_at(root, s, &join(at, key))?;
        }
    }
    for defs in ["$defs", "definitions"] {
        if let Some(d) = obj.get(defs) {
            let Some(d) = d.as_object() else {
                return err(&join(at, defs), "must be an object");
            };
            for (name, s) in d {
                check_at(root, s, &join(&join(at, defs), name))?;
            }
        }
    }
    let (lo, hi) = (bound(obj, "minimum", at)?, bound(obj, "maximum", at)?);
    let (xlo, xhi) = (bound(obj, "exclusiveMinimum", at)?, bound(obj, "exclusiveMaximum", at)?);
    let lo = lo.into_iter().chain(xlo).reduce(f64::max);
    let hi = hi.into_iter().chain(xhi).reduce(f64::min);
    if let (Some(lo), Some(hi)) = (lo, hi) {
        if lo > hi {
            return err(at, "minimum is greater than maximum");
        }
    }
    if bound(obj, "multipleOf", at)?.is_some_and(|m| m <= 0.0) {
        return err(&join(at, "multipleOf"), "must be greater than 0");
    }
    for (key, most) in [("minItems", MAX_MIN_ITEMS), ("minLength", MAX_MIN_LENGTH)] {
        if count(obj, key, at)?.is_some_and(|n| n > most) {
            return err(&join(at, key), format!("values above {most} are not supported"));
        }
    }
    for (min, max) in
        [("minItems", "maxItems"), ("minLength", "maxLength"), ("minProperties", "maxProperties")]
    {
        if let (Some(lo), Some(hi)) = (count(obj, min, at)?, count(obj, max, at)?) {
            if lo > hi {
                return err(at, format!("{min} is greater than {max}"));
            }
        }
    }
    Ok(())
}

/// A value that validates against `root` (which [`check`] accepted), at most [`MAX_OUTPUT_BYTES`]
/// long. A schema [`check`] would reject as too big gives `null`.
pub fn generate(root: &Value, rng: &mut Rng) -> Value {
    let mut sizer = Sizer::new(root);
    if sizer.need(root, 0) > MAX_OUTPUT_BYTES {
        return Value::Null;
    }
    Gen { root, rng, sizer }.value(root, 0, MAX_OUTPUT_BYTES).0
}

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
fn words(rng: &mut Rng, max: u64, sep: &str) -> String {
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

/// The schema of `items` when there is none: anything (generated as a few words).
static ANY: Value = Value::Bool(true);

/// One schema object as generation reads it: a plain object, or the keywords of an `allOf` merged
/// in order. A keyword comes from the first layer holding it, except that `properties` are united
/// (a later part's schema for a name wins, at the name's first position), `required` lists are
/// joined, and `allOf` is read only from the parts of the latest merge (`fresh..`). Reading the
/// layers in place, instead of building a merged copy, keeps every subschema at its address in the
/// root, which is what [`Sizer`] remembers sizes by.
#[derive(Clone)]
struct View<'a> {
    layers: Vec<&'a Map<String, Value>>,
    fresh: usize,
}

impl<'a> View<'a> {
    fn of(obj: &'a Map<String, Value>) -> Self {
        View { layers: vec![obj], fresh: 0 }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        let from = if key == "allOf" { self.fresh } else { 0 };
        self.layers[from..].iter().find_map(|l| l.get(key))
    }

    /// `allOf`: this view with each part's keywords after its own (a part that is a `$ref` is
    /// read at its target).
    fn merge(&self, parts: &'a [Value], root: &'a Value) -> Self {
        let mut layers = self.layers.clone();
        let fresh = layers.len();
        for part in parts {
            let part = match part.get("$ref").and_then(Value::as_str).and_then(|r| resolve(root, r)) {
                Some(target) => target,
                None => part,
            };
            if let Some(part) = part.as_object() {
                layers.push(part);
            }
        }
        View { layers, fresh }
    }

    fn properties(&self) -> Vec<(&'a str, &'a Value)> {
        let mut lists = self.layers.iter().filter_map(|l| l.get("properties").and_then(Value::as_object));
        let Some(first) = lists.next() else { return Vec::new() };
        let mut out: Vec<(&'a str, &'a Value)> = first.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let mut lists = lists.peekable();
        if lists.peek().is_none() {
            return out;
        }
        let mut at: HashMap<&str, usize> = out.iter().enumerate().map(|(i, (k, _))| (*k, i)).collect();
        for more in lists {
            for (k, v) in more {
                match at.get(k.as_str()) {
                    Some(&i) => out[i].1 = v,
                    None => {
                        at.insert(k, out.len());
                        out.push((k.as_str(), v));
                    }
                }
            }
        }
        out
    }

    /// The schema of property `name` (from the last layer describing it, as in [`View::properties`]).
    fn property(&self, name: &str) -> Option<&'a Value> {
        self.layers.iter().rev().find_map(|l| l.get("properties")?.as_object()?.get(name))
    }

    fn required(&self) -> Vec<&'a str> {
        self.layers
            .iter()
            .filter_map(|l| l.get("required").and_then(Value::as_array))
            .flat_map(|r| r.iter().filter_map(Value::as_str))
            .collect()
    }

    /// The types generation may pick (see [`Gen::type_of`]).
    fn types(&self) -> Vec<&'static str> {
        let named = |t: &str| TYPES.iter().find(|n| **n == t).copied().unwrap_or("string");
        match self.get("type") {
            Some(Value::String(t)) => vec![named(t)],
            Some(Value::Array(ts)) if !ts.is_empty() => {
                let mut out: Vec<&'static str> = ts.iter().filter_map(Value::as_str).map(named).collect();
                if out.is_empty() {
                    out.push("null");
                }
                out
            }
            _ if self.get("properties").is_some() => vec!["object"],
            _ if self.get("items").is_some() || self.get("prefixItems").is_some() => vec!["array"],
            _ => vec!["string"],
        }
    }
}

/// Sizes in bytes of JSON text. Finite sizes stop growing at [`HUGE`]; [`DEEP`] is a value that
/// cannot be made within [`HARD_DEPTH`] (a recursion the schema requires).
const HUGE: u64 = 1 << 62;
const DEEP: u64 = u64::MAX;
/// Upper bounds of the JSON text generated for a number, an integer, a boolean and `null`.
const NUMBER_BYTES: u64 = 24;
const INTEGER_BYTES: u64 = 20;

fn add(a: u64, b: u64) -> u64 {
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
fn json_len(v: &Value) -> u64 {
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
fn longest_word() -> u64 {
    static LONGEST: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *LONGEST.get_or_init(|| {
        let table = vocab::table();
        (0..table.words).map(|i| table.word(i, false, false).len() as u64).max().unwrap_or(1)
    })
}

/// Bytes of the string [`words`] makes: `n` words and their separators, quotes included.
fn words_bytes(n: u64) -> u64 {
    2 + n * longest_word() + (n - 1)
}

/// The least JSON text generation must produce for a subschema at a depth: what `required`,
/// `minItems`, `prefixItems`, `minLength`, `const` and the smallest `enum` value, `anyOf` branch or
/// type force, with every optional part left out. Each (subschema, depth) is sized once, so sizing
/// a schema costs at most its size times [`HARD_DEPTH`], however its `$ref`s loop; `steps` bounds
/// that work for schemas that are huge themselves.
struct Sizer<'a> {
    root: &'a Value,
    memo: HashMap<(usize, usize), u64>,
    steps: u64,
}

impl<'a> Sizer<'a> {
    fn new(root: &'a Value) -> Self {
        Sizer { root, memo: HashMap::new(), steps: 0 }
    }

    fn exhausted(&self) -> bool {
        self.steps > MAX_SIZING_STEPS
    }

    fn need(&mut self, schema: &'a Value, depth: usize) -> u64 {
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
        if self.exhausted() {
            return DEEP;
        }
        if let Some(target) = view.get("$ref").and_then(Value::as_str).and_then(|r| resolve(self.root, r)) {
            return self.need(target, depth + 1);
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

    fn need_typed(&mut self, view: &View<'a>, kind: &str, depth: usize) -> u64 {
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
            _ => string_bytes(view),
        }
    }
}

/// Bytes an object entry adds besides its value: the quoted name, `:` and a `,`.
fn entry_bytes(name: &str) -> u64 {
    json_len(&Value::from(name)) + 2
}

/// An array's forced item count (`minItems`, or the `prefixItems` within `maxItems`), its
/// `prefixItems` and its `items` schema.
fn forced_items<'a>(view: &View<'a>) -> (u64, &'a [Value], &'a Value) {
    let min = view.get("minItems").and_then(Value::as_u64).unwrap_or(0);
    let max = view.get("maxItems").and_then(Value::as_u64).unwrap_or(u64::MAX);
    let prefix = view.get("prefixItems").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    let forced = min.max((prefix.len() as u64).min(max)).min(max);
    (forced, prefix, view.get("items").unwrap_or(&ANY))
}

/// Most bytes [`Gen::string`] makes for a string schema, quotes included.
fn string_bytes(view: &View<'_>) -> u64 {
    let w = longest_word();
    let base = match view.get("format").and_then(Value::as_str).unwrap_or("") {
        "date-time" => 20,
        "date" => 10,
        "time" => 9,
        "email" => 3 * w + 6,
        "uri" | "url" | "iri" => 3 * w + 14,
        "hostname" | "idn-hostname" => w + 12,
        "uuid" => 36,
        "ipv4" | "ipv6" => 15,
        _ => words_bytes(4) - 2,
    };
    let min = view.get("minLength").and_then(Value::as_u64).unwrap_or(0);
    let max = view.get("maxLength").and_then(Value::as_u64).unwrap_or(u64::MAX);
    let padded = if min > 0 { base.max(min.saturating_add(w)) } else { base };
    add(2, padded.min(max))
}

struct Gen<'a, 'r> {
    root: &'a Value,
    rng: &'r mut Rng,
    sizer: Sizer<'a>,
}

/// Generation keeps each value within a byte budget, `room`: a value is only generated where
/// `room` covers its [`Sizer::need`], and an optional part (a property, an item past `minItems`) is
/// added only while the room left after the forced parts' needs covers it; a choice (`anyOf`, a
/// type list, `enum`) whose drawn option does not fit takes the smallest one instead. Each call
/// returns the value and the bytes counted for it (at most `room`).
impl<'a> Gen<'a, '_> {
    fn value(&mut self, schema: &'a Value, depth: usize, room: u64) -> (Value, u64) {
        if depth > HARD_DEPTH {
            return (Value::Null, 4);
        }
        let Some(obj) = schema.as_object() else {
            return self.words_value(3);
        };
        self.view(&View::of(obj), depth, room)
    }

    fn words_value(&mut self, n: u64) -> (Value, u64) {
        let s = words(self.rng, n, " ");
        let bytes = s.len() as u64 + 2;
        (Value::from(s), bytes)
    }

    fn view(&mut self, view: &View<'a>, depth: usize, room: u64) -> (Value, u64) {
        if let Some(target) = view.get("$ref").and_then(Value::as_str).and_then(|r| resolve(self.root, r)) {
            return self.value(target, depth + 1, room);
        }
        if let Some(c) = view.get("const") {
            return (c.clone(), json_len(c));
        }
        if let Some(options) = view.get("enum").and_then(Value::as_array).filter(|a| !a.is_empty()) {
            let mut pick = &options[self.rng.below(options.len() as u64) as usize];
            if json_len(pick) > room {
                pick = options.iter().min_by_key(|o| json_len(o)).unwrap_or(pick);
            }
            return (pick.clone(), json_len(pick));
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(branches) = view.get(key).and_then(Value::as_array).filter(|a| !a.is_empty()) {
                let mut branch = self.branch(branches, depth);
                if self.sizer.need(branch, depth + 1) > room {
                    branch = branches.iter().min_by_key(|b| self.sizer.need(b, depth + 1)).unwrap_or(branch);
                }
                return self.value(branch, depth + 1, room);
            }
        }
        if let Some(parts) = view.get("allOf").and_then(Value::as_array) {
            return self.view(&view.merge(parts, self.root), depth + 1, room);
        }
        let mut kind = self.type_of(view);
        let types = view.types();
        if types.len() > 1 && self.sizer.need_typed(view, kind, depth) > room {
            kind =
                types.iter().copied().min_by_key(|t| self.sizer.need_typed(view, t, depth)).unwrap_or(kind);
        }
        match kind {
            "object" => self.object(view, depth, room),
            "array" => self.array(view, depth, room),
            "integer" => (self.integer(view), INTEGER_BYTES),
            "number" => (self.number(view), NUMBER_BYTES),
            "boolean" => (Value::Bool(self.rng.below(2) == 0), 5),
            "null" => (Value::Null, 4),
            _ => {
                let s = self.string(view);
                let bytes = s.len() as u64 + 2;
                (Value::from(s), bytes)
            }
        }
    }

    /// The branch of an `anyOf`/`oneOf` to generate: any, or past [`MAX_DEPTH`] one without `$ref`.
    fn branch(&mut self, branches: &'a [Value], depth: usize) -> &'a Value {
        if depth >= MAX_DEPTH {
            if let Some(flat) =
                branches.iter().find(|b| b.get("$ref").is_none() && b.get("type") != Some(&"object".into()))
            {
                return flat;
            }
        }
        &branches[self.rng.below(branches.len() as u64) as usize]
    }

    fn type_of(&mut self, view: &View<'_>) -> &'static str {
        let name = match view.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Array(ts)) if !ts.is_empty() => {
                // Prefer a non-null type three times in four, so optional fields usually carry data.
                let non_null: Vec<&str> =
                    ts.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect();
                if !non_null.is_empty() && (non_null.len() == ts.len() || self.rng.below(4) > 0) {
                    non_null[self.rng.below(non_null.len() as u64) as usize]
                } else {
                    "null"
                }
            }
            _ if view.get("properties").is_some() => "object",
            _ if view.get("items").is_some() || view.get("prefixItems").is_some() => "array",
            _ => "string",
        };
        TYPES.iter().find(|t| **t == name).copied().unwrap_or("string")
    }

    fn object(&mut self, view: &View<'a>, depth: usize, room: u64) -> (Value, u64) {
        let mut required = view.required();
        required.sort_unstable();
        // What the required entries not yet made need; the rest of the room is free for the
        // optional ones. `used` never passes `room`, even were a need underestimated.
        let mut reserve = self.sizer.need_typed(view, "object", depth).saturating_sub(2);
        let mut used = 2;
        let mut out = Map::new();
        for (name, schema) in view.properties() {
            let forced = required.binary_search(&name).is_ok();
            let wanted = forced || (depth < MAX_DEPTH && self.rng.below(2) == 0);
            if !wanted {
                continue;
            }
            let overhead = entry_bytes(name);
            let need = add(overhead, self.sizer.need(schema, depth + 1));
            if forced {
                reserve = reserve.saturating_sub(need);
            }
            let free = room.saturating_sub(used).saturating_sub(reserve);
            if !forced && need > free {
                continue;
            }
            let (v, bytes) = self.value(schema, depth + 1, free.saturating_sub(overhead));
            if used + overhead + bytes <= room {
                used += overhead + bytes;
                out.insert(name.to_owned(), v);
            }
        }
        // Required names the schema does not describe still have to be present.
        for name in view.required() {
            if !out.contains_key(name) {
                let (v, bytes) = self.words_value(2);
                if used + entry_bytes(name) + bytes <= room {
                    used += entry_bytes(name) + bytes;
                    out.insert(name.to_owned(), v);
                }
            }
        }
        (Value::Object(out), used)
    }

    fn array(&mut self, view: &View<'a>, depth: usize, room: u64) -> (Value, u64) {
        let (forced, prefix, items) = forced_items(view);
        let min = view.get("minItems").and_then(Value::as_u64).unwrap_or(0);
        let max = view.get("maxItems").and_then(Value::as_u64).unwrap_or(u64::MAX);
        let n = if depth >= MAX_DEPTH { min } else { self.rng.range(min.max(1), min.max(1) + 2) }
            .max((prefix.len() as u64).min(max))
            .min(max);
        let unique = view.get("uniqueItems").and_then(Value::as_bool).unwrap_or(false);
        // As in `object`: `reserve` is what the first `forced` items not yet made need.
        let mut reserve = self.sizer.need_typed(view, "array", depth).saturating_sub(2);
        let mut used = 2;
        let mut out: Vec<Value> = Vec::with_capacity(n as usize);
        let mut tries = 0;
        while (out.len() as u64) < n {
            let schema = prefix.get(out.len()).unwrap_or(items);
            let need = add(1, self.sizer.need(schema, depth + 1));
            let required = (out.len() as u64) < forced;
            let others = if required { reserve.saturating_sub(need) } else { reserve };
            let free = room.saturating_sub(used).saturating_sub(others);
            if !required && need > free {
                break;
            }
            let (v, bytes) = self.value(schema, depth + 1, free.saturating_sub(1));
            tries += 1;
            // A small enum may not have enough distinct values; stop once the minimum is met.
            if unique && out.contains(&v) {
                if tries > 50 + 2 * n {
                    break;
                }
                continue;
            }
            if used + 1 + bytes > room {
                break;
            }
            used += 1 + bytes;
            reserve = others;
            out.push(v);
        }
        (Value::Array(out), used)
    }

    /// Inclusive/exclusive bounds of a number: `(low, high, low_exclusive, high_exclusive)`; a missing
    /// side sits `width` away from the other (or at 0).
    fn limits(obj: &View<'_>, width: f64) -> (f64, f64, bool, bool) {
        let get = |k: &str| obj.get(k).and_then(Value::as_f64);
        let lo = [get("minimum"), get("exclusiveMinimum")].into_iter().flatten().reduce(f64::max);
        let hi = [get("maximum"), get("exclusiveMaximum")].into_iter().flatten().reduce(f64::min);
        let (lo_x, hi_x) =
            (lo.is_some() && lo == get("exclusiveMinimum"), hi.is_some() && hi == get("exclusiveMaximum"));
        let (lo, hi) = match (lo, hi) {
            (Some(l), Some(h)) => (l, h),
            (Some(l), None) => (l, l + width),
            (None, Some(h)) => (if h > 0.0 { 0.0 } else { h - width }, h),
            (None, None) => (0.0, width),
        };
        let clamp = |x: f64| x.clamp(-NUMBER_RANGE, NUMBER_RANGE);
        (clamp(lo), clamp(hi), lo_x, hi_x)
    }

    fn integer(&mut self, obj: &View<'_>) -> Value {
        let (lo, hi, lo_x, hi_x) = Self::limits(obj, 100.0);
        let lo = if lo_x { lo.floor() as i64 + 1 } else { lo.ceil() as i64 };
        let hi = if hi_x { hi.ceil() as i64 - 1 } else { hi.floor() as i64 }.max(lo);
        let step = obj.get("multipleOf").and_then(Value::as_f64).filter(|m| *m >= 1.0 && m.fract() == 0.0);
        if let Some(m) = step.map(|m| m as i64) {
            let first = lo.div_euclid(m) + i64::from(lo.rem_euclid(m) != 0);
            let last = hi.div_euclid(m);
            if last >= first {
                return Value::from((first + self.rng.range(0, (last - first) as u64) as i64) * m);
            }
        }
        Value::from(lo + self.rng.range(0, hi.abs_diff(lo)) as i64)
    }

    fn number(&mut self, obj: &View<'_>) -> Value {
        let (lo, hi, lo_x, hi_x) = Self::limits(obj, 1000.0);
        if let Some(m) = obj.get("multipleOf").and_then(Value::as_f64).filter(|m| *m > 0.0) {
            let (first, last) = ((lo / m).ceil(), (hi / m).floor());
            if first.is_finite() && last.is_finite() && last >= first {
                let k = first + self.rng.range(0, (last - first).min(1e12) as u64) as f64;
                return Number::from_f64(k * m).map_or(Value::Null, Value::Number);
            }
        }
        // Two decimals, kept strictly inside exclusive bounds.
        let mut x = ((lo + (hi - lo) * self.rng.unit()) * 100.0).round() / 100.0;
        if (lo_x && x <= lo) || (hi_x && x >= hi) || x < lo || x > hi {
            x = (lo + hi) / 2.0;
        }
        Number::from_f64(x).map_or(Value::Null, Value::Number)
    }

    fn string(&mut self, obj: &View<'_>) -> String {
        let rng = &mut *self.rng;
        let mut s = match obj.get("format").and_then(Value::as_str).unwrap_or("") {
            "date-time" => format!("{}T{}Z", date(rng), time(rng)),
            "date" => date(rng),
            "time" => format!("{}Z", time(rng)),
            "email" => format!("{}@{}.com", words(rng, 2, "."), words(rng, 1, "")),
            "uri" | "url" | "iri" => format!("https://{}.com/{}", words(rng, 1, ""), words(rng, 2, "/")),
            "hostname" | "idn-hostname" => format!("{}.example.com", words(rng, 1, "")),
            "uuid" => uuid(rng),
            "ipv4" => format!("10.{}.{}.{}", rng.below(256), rng.below(256), rng.range(1, 254)),
            "ipv6" => format!("fd00::{:x}:{:x}", rng.below(0x10000), rng.range(1, 0xffff)),
            _ => words(rng, 4, " "),
        };
        let min = obj.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = obj.get("maxLength").and_then(Value::as_u64).map_or(usize::MAX, |m| m as usize);
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
}

fn date(rng: &mut Rng) -> String {
    format!("{}-{:02}-{:02}", rng.range(2020, 2030), rng.range(1, 12), rng.range(1, 28))
}

fn time(rng: &mut Rng) -> String {
    format!("{:02}:{:02}:{:02}", rng.below(24), rng.below(60), rng.below(60))
}

fn uuid(rng: &mut Rng) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn many(schema: &Value) -> Vec<Value> {
        check(schema).unwrap();
        (0..200).map(|i| generate(schema, &mut Rng::new(i))).collect()
    }

    #[test]
    fn objects_have_required_properties_of_the_right_types() {
        let schema = json!({
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
                "precise": {"type": "boolean"}
            },
            "required": ["location", "days"]
        });
        let mut saw_optional = false;
        for v in many(&schema) {
            assert!(v["location"].is_string());
            let days = v["days"].as_i64().unwrap();
            assert!((1..=7).contains(&days));
            if let Some(u) = v.get("unit") {
                saw_optional = true;
                assert!(u == "celsius" || u == "fahrenheit");
            }
            assert!(v.get("precise").is_none_or(Value::is_boolean));
        }
        assert!(saw_optional);
    }

    #[test]
    fn arrays_respect_item_counts_and_nested_objects() {
        let schema = json!({
            "type": "object",
            "properties": {"tags": {"type": "array", "items": {"type": "object",
                "properties": {"id": {"type": "string", "format": "uuid"}}, "required": ["id"]},
                "minItems": 2, "maxItems": 3}},
            "required": ["tags"], "additionalProperties": false
        });
        for v in many(&schema) {
            let tags = v["tags"].as_array().unwrap();
            assert!((2..=3).contains(&tags.len()));
            let id = tags[0]["id"].as_str().unwrap();
            assert_eq!(id.len(), 36);
            assert_eq!(&id[14..15], "4");
        }
    }

    #[test]
    fn formats_and_string_lengths() {
        let formats = ["date-time", "date", "time", "email", "uri", "ipv4", "ipv6", "hostname"];
        for f in formats {
            let v = generate(&json!({"type": "string", "format": f}), &mut Rng::new(3));
            let s = v.as_str().unwrap();
            match f {
                "date-time" => assert!(s.len() == 20 && s.contains('T') && s.ends_with('Z')),
                "date" => assert_eq!(s.len(), 10),
                "email" => assert!(s.contains('@') && s.ends_with(".com")),
                "uri" => assert!(s.starts_with("https://")),
                "ipv4" => assert_eq!(s.split('.').count(), 4),
                _ => assert!(!s.is_empty()),
            }
        }
        for v in many(&json!({"type": "string", "minLength": 30, "maxLength": 32})) {
            assert!((30..=32).contains(&v.as_str().unwrap().len()), "{v}");
        }
    }

    #[test]
    fn numbers_stay_within_bounds() {
        let s = json!({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1});
        assert!(many(&s)
            .iter()
            .all(|v| (0.0..1.0).contains(&v.as_f64().unwrap()) && v.as_f64().unwrap() > 0.0));
        let s = json!({"type": "integer", "minimum": -50, "maximum": -40, "multipleOf": 5});
        assert!(many(&s).iter().all(|v| [-50, -45, -40].contains(&v.as_i64().unwrap())));
        let s = json!({"type": "integer", "exclusiveMinimum": 9, "exclusiveMaximum": 11});
        assert!(many(&s).iter().all(|v| v.as_i64() == Some(10)));
    }

    #[test]
    fn refs_unions_and_recursion() {
        // Pydantic's shape: $defs + $ref + anyOf with null, and a self-referencing tree.
        let schema = json!({
            "$defs": {"Node": {"type": "object", "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
                "required": ["name", "children"]}},
            "type": "object",
            "properties": {"root": {"$ref": "#/$defs/Node"},
                           "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                           "kind": {"const": "tree"}},
            "required": ["root", "note", "kind"]
        });
        for v in many(&schema) {
            assert!(v["root"]["name"].is_string() && v["root"]["children"].is_array());
            assert!(v["note"].is_string() || v["note"].is_null());
            assert_eq!(v["kind"], "tree");
        }
    }

    #[test]
    fn all_of_merges_and_type_lists_pick_one() {
        let schema = json!({"allOf": [
            {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
            {"properties": {"b": {"type": ["string", "null"]}}, "required": ["b"]}]});
        for v in many(&schema) {
            assert!(v["a"].is_i64() && (v["b"].is_string() || v["b"].is_null()));
        }
    }

    #[test]
    fn bad_schemas_are_rejected_with_their_path() {
        let cases = [
            (json!([]), ""),
            (json!({"type": "strin"}), "type"),
            (json!({"properties": {"x": {"type": 3}}}), "properties.x.type"),
            (json!({"properties": {"x": {"$ref": "#/$defs/Missing"}}}), "properties.x.$ref"),
            (json!({"enum": []}), "enum"),
            (json!({"type": "integer", "minimum": 5, "maximum": 1}), ""),
            (json!({"type": "array", "minItems": 3, "maxItems": 1}), ""),
            (json!({"required": "x"}), "required"),
            (json!({"anyOf": []}), "anyOf"),
        ];
        for (schema, at) in cases {
            let e = check(&schema).unwrap_err();
            assert_eq!(e.at, at, "{schema}: {e}");
        }
    }

    #[test]
    fn hostile_schemas_terminate() {
        // A schema that requires itself has no finite value: rejected, and generation stops.
        let s = json!({"$defs": {"N": {"type": "object", "properties": {"n": {"$ref": "#/$defs/N"}}, "required": ["n"]}},
                       "$ref": "#/$defs/N"});
        assert!(check(&s).unwrap_err().message.contains("deeper than"));
        assert_eq!(generate(&s, &mut Rng::new(1)), Value::Null);
        // Not enough distinct values for uniqueItems: stops instead of looping.
        let s = json!({"type": "array", "items": {"enum": [1]}, "minItems": 5, "uniqueItems": true});
        assert_eq!(generate(&s, &mut Rng::new(1)), json!([1]));
        let s = json!({"type": "integer", "minimum": -1e300, "maximum": 1e300});
        assert!(many(&s).iter().all(Value::is_i64));
        let s = json!({"type": "number", "minimum": -1e308, "maximum": 1e308});
        assert!(many(&s).iter().all(Value::is_f64));
        let s = json!({"type": "number", "minimum": -1e300, "maximum": 1e300, "multipleOf": 1e-300});
        assert!(many(&s).iter().all(Value::is_number));
        assert_eq!(check(&json!({"type": "array", "minItems": 1_000_000})).unwrap_err().at, "minItems");
        assert_eq!(
            check(&json!({"type": "string", "minLength": 1_000_000_000})).unwrap_err().at,
            "minLength"
        );
    }

    /// The bytes of `v` as JSON text.
    fn size(v: &Value) -> usize {
        v.to_string().len()
    }

    #[test]
    fn forced_recursion_and_nested_minimums_are_rejected_fast() {
        let started = std::time::Instant::now();
        // 150 bytes that used to nest arrays of 8 down to depth 32 (8^32 items).
        let s = json!({"$defs": {"N": {"type": "array", "minItems": 8, "items": {"$ref": "#/$defs/N"}}},
                       "$ref": "#/$defs/N"});
        assert!(check(&s).unwrap_err().message.contains("deeper than"));
        let s = json!({"$defs": {"N": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/N"}}},
                       "$ref": "#/$defs/N"});
        assert!(check(&s).is_err());
        // 300^3 integers: each keyword within its limit, the whole far over the budget.
        let s = json!({"type": "array", "minItems": 300, "items": {"type": "array", "minItems": 300,
                       "items": {"type": "array", "minItems": 300, "items": {"type": "integer"}}}});
        assert!(check(&s).unwrap_err().message.contains("1048576 bytes"));
        let s = json!({"type": "array", "minItems": 1000, "items": {"type": "string", "minLength": 100_000}});
        assert!(check(&s).is_err());
        // Required properties multiply too: two required refs per level double each level.
        let s = json!({"$defs": {"T": {"type": "object", "properties": {
                           "l": {"$ref": "#/$defs/T"}, "r": {"$ref": "#/$defs/T"}}, "required": ["l", "r"]}},
                       "$ref": "#/$defs/T"});
        assert!(check(&s).is_err());
        // Sizing is memoised per (subschema, depth): a wide web of mutual refs stays fast.
        let defs: Map<String, Value> = (0..50)
            .map(|i| {
                let props: Map<String, Value> =
                    (0..50).map(|j| (format!("p{j}"), json!({"$ref": format!("#/$defs/D{j}")}))).collect();
                (format!("D{i}"), json!({"type": "object", "properties": props, "required": ["p0"]}))
            })
            .collect();
        let s = json!({"$defs": defs, "$ref": "#/$defs/D0"});
        assert!(check(&s).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[test]
    fn optional_recursion_and_allowed_minimums_are_accepted() {
        // The recursion is optional (minItems 0): fine, and small.
        let s =
            json!({"$defs": {"N": {"type": "array", "items": {"$ref": "#/$defs/N"}}}, "$ref": "#/$defs/N"});
        for v in many(&s) {
            assert!(size(&v) < 10_000, "{}", size(&v));
        }
        // An anyOf with a way out is not a required recursion.
        let s = json!({"$defs": {"L": {"type": "object", "properties": {
                           "next": {"anyOf": [{"$ref": "#/$defs/L"}, {"type": "null"}]}}, "required": ["next"]}},
                       "$ref": "#/$defs/L"});
        for v in many(&s) {
            assert!(v.get("next").is_some());
        }
        // Under the budget: 1000 x 1000 bytes of forced strings.
        let s = json!({"type": "array", "minItems": 1000, "items": {"type": "string", "minLength": 1000}});
        let v = generate(&s, &mut Rng::new(1));
        assert!(v.as_array().unwrap().len() >= 1000);
        assert!(size(&v) <= MAX_OUTPUT_BYTES as usize);
    }

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

    #[test]
    fn sizes_bound_what_is_generated() {
        // The sized minimum of a schema is at least what a value generated with only that room takes.
        let schemas = [
            json!({"type": "object", "properties": {"a": {"type": "string", "format": "email"},
                   "b": {"type": "number", "multipleOf": 1e-300}, "c": {"type": "integer", "minimum": -1e300}},
                   "required": ["a", "b", "c", "d"]}),
            json!({"type": "array", "prefixItems": [{"type": "string", "format": "uri"}, {"const": "x\n\u{1}"}],
                   "minItems": 4, "items": {"enum": ["long value", 1]}}),
            json!({"allOf": [{"properties": {"x": {"type": "string", "minLength": 30}}, "required": ["x"]},
                             {"properties": {"y": {"type": ["boolean", "null"]}}, "required": ["y"]}]}),
        ];
        for s in schemas {
            let need = Sizer::new(&s).need(&s, 0);
            for seed in 0..200 {
                let mut g = Gen { root: &s, rng: &mut Rng::new(seed), sizer: Sizer::new(&s) };
                let (v, bytes) = g.value(&s, 0, need);
                assert!(size(&v) as u64 <= bytes && bytes <= need, "{s}: {v} {bytes} > {need}");
            }
        }
    }

    #[test]
    fn same_seed_same_value() {
        let s = json!({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]});
        assert_eq!(generate(&s, &mut Rng::new(9)), generate(&s, &mut Rng::new(9)));
        let o = any_object(&mut Rng::new(1));
        assert!(o.as_object().is_some_and(|m| (2..=5).contains(&m.len())));
    }
}
