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
//! properties and minimal arrays are generated, and `anyOf` prefers a branch without `$ref`; a
//! schema that requires its own recursion is cut with `null` at [`HARD_DEPTH`]. Bounds that would
//! make generation unbounded (`minItems` over [`MAX_MIN_ITEMS`], `minLength` over
//! [`MAX_MIN_LENGTH`]) are rejected, and numbers are drawn within +-1e15.

use crate::rng::Rng;
use crate::text::vocab;
use serde_json::{Map, Number, Value};

/// Nesting depth after which generation only fills what the schema requires.
pub const MAX_DEPTH: usize = 8;
/// Depth at which generation stops (with `null`), for schemas that require their own recursion.
pub const HARD_DEPTH: usize = 4 * MAX_DEPTH;
/// Largest `minItems` / `minLength` fakeai generates (bigger ones are rejected by [`check`]).
pub const MAX_MIN_ITEMS: u64 = 1_000;
pub const MAX_MIN_LENGTH: u64 = 100_000;
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
    check_at(root, root, "")
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

/// A value that validates against `root` (which [`check`] accepted).
pub fn generate(root: &Value, rng: &mut Rng) -> Value {
    Gen { root, rng }.value(root, 0)
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

struct Gen<'a, 'r> {
    root: &'a Value,
    rng: &'r mut Rng,
}

impl Gen<'_, '_> {
    fn value(&mut self, schema: &Value, depth: usize) -> Value {
        if depth > HARD_DEPTH {
            return Value::Null;
        }
        let Some(obj) = schema.as_object() else {
            return Value::from(words(self.rng, 3, " "));
        };
        if let Some(target) = obj.get("$ref").and_then(Value::as_str).and_then(|r| resolve(self.root, r)) {
            return self.value(target, depth + 1);
        }
        if let Some(c) = obj.get("const") {
            return c.clone();
        }
        if let Some(options) = obj.get("enum").and_then(Value::as_array).filter(|a| !a.is_empty()) {
            return options[self.rng.below(options.len() as u64) as usize].clone();
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(branches) = obj.get(key).and_then(Value::as_array).filter(|a| !a.is_empty()) {
                let branch = self.branch(branches, depth);
                return self.value(branch, depth + 1);
            }
        }
        if let Some(parts) = obj.get("allOf").and_then(Value::as_array) {
            return self.value(&merge_all(obj, parts, self.root), depth + 1);
        }
        match self.type_of(obj) {
            "object" => self.object(obj, depth),
            "array" => self.array(obj, depth),
            "integer" => self.integer(obj),
            "number" => self.number(obj),
            "boolean" => Value::Bool(self.rng.below(2) == 0),
            "null" => Value::Null,
            _ => Value::from(self.string(obj)),
        }
    }

    /// The branch of an `anyOf`/`oneOf` to generate: any, or past [`MAX_DEPTH`] one without `$ref`.
    fn branch<'v>(&mut self, branches: &'v [Value], depth: usize) -> &'v Value {
        if depth >= MAX_DEPTH {
            if let Some(flat) =
                branches.iter().find(|b| b.get("$ref").is_none() && b.get("type") != Some(&"object".into()))
            {
                return flat;
            }
        }
        &branches[self.rng.below(branches.len() as u64) as usize]
    }

    fn type_of(&mut self, obj: &Map<String, Value>) -> &'static str {
        let name = match obj.get("type") {
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
            _ if obj.contains_key("properties") => "object",
            _ if obj.contains_key("items") || obj.contains_key("prefixItems") => "array",
            _ => "string",
        };
        TYPES.iter().find(|t| **t == name).copied().unwrap_or("string")
    }

    fn object(&mut self, obj: &Map<String, Value>, depth: usize) -> Value {
        let required: Vec<&str> = obj
            .get("required")
            .and_then(Value::as_array)
            .map_or(Vec::new(), |r| r.iter().filter_map(Value::as_str).collect());
        let mut out = Map::new();
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for (name, schema) in props {
                let wanted =
                    required.contains(&name.as_str()) || (depth < MAX_DEPTH && self.rng.below(2) == 0);
                if wanted {
                    out.insert(name.clone(), self.value(schema, depth + 1));
                }
            }
        }
        // Required names the schema does not describe still have to be present.
        for name in required {
            if !out.contains_key(name) {
                out.insert(name.to_owned(), Value::from(words(self.rng, 2, " ")));
            }
        }
        Value::Object(out)
    }

    fn array(&mut self, obj: &Map<String, Value>, depth: usize) -> Value {
        let min = obj.get("minItems").and_then(Value::as_u64).unwrap_or(0);
        let max = obj.get("maxItems").and_then(Value::as_u64).unwrap_or(u64::MAX);
        let prefix = obj.get("prefixItems").and_then(Value::as_array);
        let n = if depth >= MAX_DEPTH { min } else { self.rng.range(min.max(1), min.max(1) + 2) }
            .max(prefix.map_or(0, |p| p.len() as u64).min(max))
            .min(max);
        let items = obj.get("items").unwrap_or(&Value::Bool(true));
        let unique = obj.get("uniqueItems").and_then(Value::as_bool).unwrap_or(false);
        let mut out: Vec<Value> = Vec::with_capacity(n as usize);
        let mut tries = 0;
        while (out.len() as u64) < n {
            let schema = prefix.and_then(|p| p.get(out.len())).unwrap_or(items);
            let v = self.value(schema, depth + 1);
            tries += 1;
            // A small enum may not have enough distinct values; stop once the minimum is met.
            if unique && out.contains(&v) {
                if tries > 50 + 2 * n {
                    break;
                }
                continue;
            }
            out.push(v);
        }
        Value::Array(out)
    }

    /// Inclusive/exclusive bounds of a number: `(low, high, low_exclusive, high_exclusive)`; a missing
    /// side sits `width` away from the other (or at 0).
    fn limits(obj: &Map<String, Value>, width: f64) -> (f64, f64, bool, bool) {
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

    fn integer(&mut self, obj: &Map<String, Value>) -> Value {
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

    fn number(&mut self, obj: &Map<String, Value>) -> Value {
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

    fn string(&mut self, obj: &Map<String, Value>) -> String {
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
        while s.chars().count() < min {
            s.push(' ');
            s.push_str(&words(rng, 1, ""));
        }
        if s.chars().count() > max {
            s = s.chars().take(max).collect();
        }
        s
    }
}

/// `allOf`: one schema holding every part's keywords (properties and `required` united).
fn merge_all(obj: &Map<String, Value>, parts: &[Value], root: &Value) -> Value {
    let mut merged: Map<String, Value> =
        obj.iter().filter(|(k, _)| *k != "allOf").map(|(k, v)| (k.clone(), v.clone())).collect();
    for part in parts {
        let part = match part.get("$ref").and_then(Value::as_str).and_then(|r| resolve(root, r)) {
            Some(target) => target,
            None => part,
        };
        let Some(part) = part.as_object() else { continue };
        for (k, v) in part {
            match (k.as_str(), merged.get_mut(k)) {
                ("properties", Some(Value::Object(props))) => {
                    if let Some(more) = v.as_object() {
                        props.extend(more.clone());
                    }
                }
                ("required", Some(Value::Array(req))) => {
                    if let Some(more) = v.as_array() {
                        req.extend(more.iter().cloned());
                    }
                }
                (_, Some(_)) => {}
                (_, None) => {
                    merged.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Value::Object(merged)
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
        // A schema that requires itself: generation stops at the hard depth instead of recursing forever.
        let s = json!({"$defs": {"N": {"type": "object", "properties": {"n": {"$ref": "#/$defs/N"}}, "required": ["n"]}},
                       "$ref": "#/$defs/N"});
        assert!(generate(&s, &mut Rng::new(1)).is_object());
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

    #[test]
    fn same_seed_same_value() {
        let s = json!({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]});
        assert_eq!(generate(&s, &mut Rng::new(9)), generate(&s, &mut Rng::new(9)));
        let o = any_object(&mut Rng::new(1));
        assert!(o.as_object().is_some_and(|m| (2..=5).contains(&m.len())));
    }
}
