//! Schema validation: [`check`] rejects, with the path where it found it, what generation could not
//! honour, and then sizes the smallest value the schema forces against fakeai's limits.

use super::numeric::{check_integer, check_number};
use super::pattern::PatternBudget;
use super::size::{Sizer, DEEP};
use super::strings::lengths;
use super::unique::distinct;
use super::view::{resolve, Ref, View};
use super::{HARD_DEPTH, MAX_MIN_ITEMS, MAX_MIN_LENGTH, MAX_OUTPUT_BYTES, MAX_SIZING_STEPS, TYPES};
use serde_json::{Map, Value};

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
///
/// [`generate`]: super::generate
pub fn check(root: &Value) -> Result<(), SchemaError> {
    if !root.is_object() {
        return err("", "a schema must be a JSON object");
    }
    check_at(root, root, "", &mut PatternBudget::default())?;
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

/// Reject a tool's `parameters`: [`check`], and the root must be an object schema (`type:
/// "object"`, or `properties` without a `type`), as OpenAI requires of function parameters (a
/// string, a number or a union at the root would make arguments that are not a JSON object).
pub fn check_parameters(root: &Value) -> Result<(), SchemaError> {
    check(root)?;
    let object = match root.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(_) => false,
        None => {
            root.get("properties").is_some() && root.get("anyOf").is_none() && root.get("oneOf").is_none()
        }
    };
    if !object {
        return err("type", "function parameters must be a JSON Schema of type 'object'");
    }
    Ok(())
}

fn check_at(root: &Value, schema: &Value, at: &str, patterns: &mut PatternBudget) -> Result<(), SchemaError> {
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
                check_at(root, s, &format!("{}[{i}]", join(at, key)), patterns)?;
            }
        }
    }
    if let Some(props) = obj.get("properties") {
        let Some(props) = props.as_object() else {
            return err(&join(at, "properties"), "must be an object");
        };
        for (name, s) in props {
            check_at(root, s, &join(&join(at, "properties"), name), patterns)?;
        }
    }
    if let Some(req) = obj.get("required") {
        if !req.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
            return err(&join(at, "required"), "must be an array of property names");
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(s) = obj.get(key) {
            check_at(root, s, &join(at, key), patterns)?;
        }
    }
    for defs in ["$defs", "definitions"] {
        if let Some(d) = obj.get(defs) {
            let Some(d) = d.as_object() else {
                return err(&join(at, defs), "must be an object");
            };
            for (name, s) in d {
                check_at(root, s, &join(&join(at, defs), name), patterns)?;
            }
        }
    }
    if let Some(p) = obj.get("pattern") {
        let Some(p) = p.as_str() else { return err(&join(at, "pattern"), "must be a string") };
        match patterns.admit(p) {
            Err(why) => return err(&join(at, "pattern"), why),
            Ok(Some(compiled)) => {
                let (min, max) = lengths(&View::of(obj));
                if let Some((key, why)) = compiled.lengths_conflict(min, max) {
                    return err(&join(at, key), why);
                }
            }
            Ok(None) => {}
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
    numbers(obj, at)?;
    merged_numbers(root, obj, at)?;
    unique_items(root, obj, at)?;
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

/// The type names a schema object lists (empty without `type`).
fn type_names(obj: &Map<String, Value>) -> Vec<&str> {
    match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// An `integer` or `number` schema that no value satisfies (an empty range, no multiple of
/// `multipleOf` within it); only where generation draws from the bounds (no `enum`, `const`, union).
fn numbers(obj: &Map<String, Value>, at: &str) -> Result<(), SchemaError> {
    if ["enum", "const", "anyOf", "oneOf", "$ref", "allOf"].iter().any(|k| obj.contains_key(*k)) {
        return Ok(());
    }
    for t in type_names(obj) {
        let found = match t {
            "integer" => check_integer(obj),
            "number" => check_number(obj),
            _ => Ok(()),
        };
        if let Err((key, why)) = found {
            return err(&if key.is_empty() { at.to_owned() } else { join(at, key) }, why);
        }
    }
    Ok(())
}

/// The numeric checks of [`numbers`] on the merged view of an object with `allOf`, or with a `$ref`
/// next to other keywords (what generation reads).
fn merged_numbers(root: &Value, obj: &Map<String, Value>, at: &str) -> Result<(), SchemaError> {
    let mut view = View::of(obj);
    let mut merged = false;
    for _ in 0..HARD_DEPTH {
        if let Some(Ref::Merged(m)) = view.reference(root) {
            view = m;
        } else if let Some(parts) = view.get("allOf").and_then(Value::as_array) {
            view = view.merge(parts, root);
        } else {
            break;
        }
        merged = true;
    }
    if !merged || ["enum", "const", "anyOf", "oneOf"].iter().any(|k| view.get(k).is_some()) {
        return Ok(());
    }
    let names: Vec<&str> = match view.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    for t in names {
        let found = match t {
            "integer" => check_integer(&view),
            "number" => check_number(&view),
            _ => Ok(()),
        };
        if let Err((key, why)) = found {
            return err(&if key.is_empty() { at.to_owned() } else { join(at, key) }, why);
        }
    }
    Ok(())
}

/// `uniqueItems` with `minItems` over the distinct values `items` allows, where they are counted
/// (see `unique`).
fn unique_items(root: &Value, obj: &Map<String, Value>, at: &str) -> Result<(), SchemaError> {
    if obj.get("uniqueItems") != Some(&Value::Bool(true)) {
        return Ok(());
    }
    let min = obj.get("minItems").and_then(Value::as_u64).unwrap_or(0);
    let Some(items) = obj.get("items").filter(|_| min > 1) else { return Ok(()) };
    let count = distinct(root, items, 0);
    if count < min {
        return err(
            &join(at, "uniqueItems"),
            format!("items have at most {count} distinct values, fewer than minItems ({min})"),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::text::schema_gen::generate;
    use crate::text::schema_gen::tests::{many, size};
    use serde_json::json;

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
    fn merged_numbers_lengths_and_counts_are_checked() {
        let at = |s: Value| check(&s).map_err(|e| e.at);
        let prop = |x: Value| json!({"type": "object", "properties": {"x": x}, "required": ["x"]});
        // Numbers under allOf and next to a $ref: checked on the merged view, and generated from it.
        assert_eq!(
            at(prop(json!({"allOf": [{"type": "integer"}, {"minimum": 1.2, "maximum": 1.8}]}))),
            Err("properties.x".into())
        );
        assert_eq!(
            at(prop(json!({"allOf": [{"type": "number", "minimum": 5, "maximum": 7}, {"multipleOf": 10}]}))),
            Err("properties.x.multipleOf".into())
        );
        assert_eq!(
            at(prop(json!({"type": "number", "minimum": 1e300, "allOf": [{}]}))),
            Err("properties.x.minimum".into())
        );
        let s = json!({"$defs": {"I": {"type": "integer"}}, "type": "object",
                       "properties": {"x": {"$ref": "#/$defs/I", "minimum": 1e300}}, "required": ["x"]});
        assert_eq!(at(s), Err("properties.x.minimum".into()));
        let s =
            json!({"$defs": {"I": {"type": "integer"}}, "$ref": "#/$defs/I", "minimum": 40, "maximum": 42});
        assert!(many(&s).iter().all(|v| (40..=42).contains(&v.as_i64().unwrap())));
        assert_eq!(
            at(prop(json!({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 5e-324}))),
            Err("properties.x".into())
        );
        // A pattern against the lengths, and anchors that cannot hold.
        let str_at = |p: &str, extra: Value| {
            let mut x = json!({"type": "string", "pattern": p});
            x.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            at(prop(x))
        };
        assert_eq!(str_at("^[A-Z]{3}$", json!({"minLength": 10})), Err("properties.x.minLength".into()));
        assert_eq!(str_at("a", json!({"maxLength": 0})), Err("properties.x.maxLength".into()));
        assert_eq!(
            str_at("^((((aa)?){1000}){1000}){4}$", json!({"minLength": 5, "maxLength": 5})),
            Err("properties.x.minLength".into())
        );
        assert_eq!(str_at("a^b", json!({})), Err("properties.x.pattern".into()));
        assert_eq!(str_at(r"^\w\b\w$", json!({})), Err("properties.x.pattern".into()));
        // const and enum are explicit: they win over the pattern.
        assert_eq!(str_at("^x+$", json!({"const": "abc"})), Ok(()));
        // uniqueItems: distinct values counted where cheap.
        let arr = |items: Value, min: u64| {
            at(prop(json!({"type": "array", "items": items, "minItems": min, "uniqueItems": true})))
        };
        let refused = Err("properties.x.uniqueItems".to_owned());
        assert_eq!(arr(json!({"type": "string", "pattern": "^[ab]$"}), 5), refused);
        assert_eq!(arr(json!({"type": "integer", "minimum": 1, "maximum": 3}), 10), refused);
        assert_eq!(arr(json!({"anyOf": [{"enum": [1]}, {"enum": [2]}]}), 5), refused);
        assert_eq!(arr(json!({"type": "object", "properties": {}}), 5), refused);
        assert_eq!(arr(json!({"enum": [1, 1.0]}), 2), refused);
        assert_eq!(arr(json!({"type": "object", "properties": {"a": {"type": "boolean"}}}), 4), refused);
        assert_eq!(arr(json!({"type": "object", "properties": {"a": {"type": "boolean"}}}), 3), Ok(()));
        assert_eq!(arr(json!({"type": "integer", "minimum": 1, "maximum": 1000}), 1000), Ok(()));
        assert_eq!(arr(json!({"type": "number", "minimum": 0, "maximum": 0.01}), 1000), Ok(()));
        assert_eq!(arr(json!({"type": "string", "pattern": "^[a-z]{3}$"}), 1000), Ok(()));
        // Tool parameters: an object at the root.
        assert_eq!(check_parameters(&json!({"type": "string"})).unwrap_err().at, "type");
        assert!(check_parameters(&json!({"anyOf": [{"type": "null"}]})).is_err());
        assert!(check_parameters(&json!({"type": "object", "properties": {}})).is_ok());
        assert!(check_parameters(&json!({"properties": {"a": {}}})).is_ok());
    }

    #[test]
    fn unique_arrays_reach_min_items() {
        let arr = |items: Value, min: u64| json!({"type": "array", "items": items, "minItems": min, "uniqueItems": true});
        let cases = [
            arr(json!({"type": "integer", "minimum": 1, "maximum": 200}), 200),
            arr(json!({"type": "number", "minimum": 0, "maximum": 0.01}), 1000),
            arr(json!({"type": "string", "pattern": "^[ab]{3}$"}), 8),
            arr(json!({"enum": [1, 1.0, 2, 2.0, 3]}), 3),
            arr(json!({"type": "object", "properties": {"a": {"type": "boolean"}}}), 3),
        ];
        for s in cases {
            check(&s).unwrap();
            for seed in 0..20 {
                let v = &generate(&s, &mut Rng::new(seed));
                let items = v.as_array().unwrap();
                let min = s["minItems"].as_u64().unwrap() as usize;
                assert!(items.len() >= min, "{s}: {} items", items.len());
                for (i, a) in items.iter().enumerate() {
                    assert!(
                        !items[..i].iter().any(|b| crate::text::schema_gen::unique::same(a, b)),
                        "{s}: {v}"
                    );
                }
            }
        }
    }
}
