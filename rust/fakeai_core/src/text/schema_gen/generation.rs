//! Value generation: [`generate`] draws, within the byte budget, a value that validates against a
//! schema.

use super::budget;
use super::filler::words;
use super::numeric::{integer, number};
use super::size::{add, entry_bytes, forced_items, json_len, Sizer, INTEGER_BYTES, NUMBER_BYTES};
use super::strings::string;
use super::unique::key;
use super::view::{Ref, View};
use super::{HARD_DEPTH, MAX_DEPTH, MAX_OUTPUT_BYTES, TYPES};
use crate::rng::Rng;
use serde_json::{Map, Value};

/// A value that validates against `root` (which [`check`] accepted), at most [`MAX_OUTPUT_BYTES`]
/// long, within the request's budget (see `budget`). A schema [`check`] would reject as too big,
/// or one whose forced minimum is over what the request has left, gives `null`.
///
/// [`check`]: super::check
pub fn generate(root: &Value, rng: &mut Rng) -> Value {
    let mut sizer = Sizer::new(root);
    let need = sizer.need(root, 0);
    let (room, work) = budget::take(need);
    if need > MAX_OUTPUT_BYTES || need > room {
        budget::spend(0, work);
        return Value::Null;
    }
    let mut g = Gen { root, rng, sizer, work, fresh: false };
    let (v, bytes) = g.value(root, 0, room);
    budget::spend(bytes, g.work);
    v
}

struct Gen<'a, 'r> {
    root: &'a Value,
    rng: &'r mut Rng,
    sizer: Sizer<'a>,
    /// Work left (pattern walks, values drawn again for `uniqueItems`).
    work: u64,
    /// Drawing again a value that repeated one: numbers are not rounded.
    fresh: bool,
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
        if depth > HARD_DEPTH {
            return (Value::Null, 4);
        }
        match view.reference(self.root) {
            Some(Ref::Alone(target)) => return self.value(target, depth + 1, room),
            Some(Ref::Merged(merged)) => return self.view(&merged, depth + 1, room),
            None => {}
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
            "integer" => (integer(view, self.rng), INTEGER_BYTES),
            "number" => (number(view, self.rng, self.fresh), NUMBER_BYTES),
            "boolean" => (Value::Bool(self.rng.below(2) == 0), 5),
            "null" => (Value::Null, 4),
            _ => match self.sizer.pattern(view) {
                // A pattern's string may hold characters JSON escapes: counted as written.
                Some(p) => {
                    let s = Value::from(string(view, Some(&p), self.rng, room, &mut self.work));
                    let bytes = json_len(&s);
                    (s, bytes)
                }
                None => {
                    let s = string(view, None, self.rng, room, &mut self.work);
                    let bytes = s.len() as u64 + 2;
                    (Value::from(s), bytes)
                }
            },
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
        let mut seen = std::collections::HashSet::new();
        while (out.len() as u64) < n {
            let schema = prefix.get(out.len()).unwrap_or(items);
            let need = add(1, self.sizer.need(schema, depth + 1));
            let required = (out.len() as u64) < forced;
            let others = if required { reserve.saturating_sub(need) } else { reserve };
            let free = room.saturating_sub(used).saturating_sub(others);
            if !required && need > free {
                break;
            }
            self.fresh = unique && tries > out.len() as u64;
            let (v, bytes) = self.value(schema, depth + 1, free.saturating_sub(1));
            self.fresh = false;
            tries += 1;
            // Equal under JSON Schema (1 and 1.0 too): drawn again, within the work budget and a
            // bound on tries ([`check`] refuses item schemas counted to have too few values).
            //
            // [`check`]: super::check
            if unique && !seen.insert(key(&v)) {
                self.work = self.work.saturating_sub(bytes.max(1));
                if tries > 200 + 20 * n || self.work == 0 {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::schema_gen::any_object;
    use crate::text::schema_gen::tests::{many, size};
    use serde_json::json;

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
    fn sizes_bound_what_is_generated() {
        // The sized minimum of a schema is at least what a value generated with only that room takes.
        let schemas = [
            json!({"type": "object", "properties": {"a": {"type": "string", "format": "email"},
                   "b": {"type": "number", "multipleOf": 1e-300}, "c": {"type": "integer", "minimum": -1e300}},
                   "required": ["a", "b", "c", "d"]}),
            json!({"type": "array", "prefixItems": [{"type": "string", "format": "uri"}, {"const": "x\n\u{1}"}],
                   "minItems": 4, "items": {"enum": ["long value", 1]}}),
            json!({"type": "array", "minItems": 3, "items": {"type": "string", "pattern": "^[a-z\"]{3,}(,\\d+)*$",
                   "minLength": 5}}),
            json!({"type": "object", "properties": {"e": {"type": "string", "format": "email", "minLength": 40},
                   "n": {"type": "number", "multipleOf": 0.01, "exclusiveMaximum": 5}}, "required": ["e", "n"]}),
            json!({"allOf": [{"properties": {"x": {"type": "string", "minLength": 30}}, "required": ["x"]},
                             {"properties": {"y": {"type": ["boolean", "null"]}}, "required": ["y"]}]}),
        ];
        for s in schemas {
            let need = Sizer::new(&s).need(&s, 0);
            for seed in 0..200 {
                let mut g = Gen {
                    root: &s,
                    rng: &mut Rng::new(seed),
                    sizer: Sizer::new(&s),
                    work: u64::MAX,
                    fresh: false,
                };
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
