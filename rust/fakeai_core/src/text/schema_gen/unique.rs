//! `uniqueItems`: [`same`], equality as JSON Schema defines it (`1` and `1.0` are the same value),
//! and [`distinct`], at most how many distinct values an item schema allows, where that is cheap to
//! count (`const`, `enum`, `boolean`, `null`, integer ranges, multiples of `multipleOf`, a pattern
//! without unbounded repetition, objects of such properties, unions of these); [`check`] refuses
//! `minItems` over it.
//!
//! [`check`]: super::check

use super::numeric::{integer_count, number_count};
use super::pattern::{compiled, MANY};
use super::view::{Ref, View};
use serde_json::{Number, Value};

/// Equal as JSON Schema compares values: numbers by value, arrays item by item, objects key by key.
pub(super) fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => same_number(x, y),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// A text equal for values that are [`same`] (and, rarely, for integers past 2^53 that are not:
/// drawn again needlessly, never kept twice).
pub(super) fn key(v: &Value) -> String {
    let mut out = String::new();
    write_key(v, &mut out);
    out
}

fn write_key(v: &Value, out: &mut String) {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => out.push_str(&i.to_string()),
            None => out.push_str(&n.as_f64().map_or_else(
                || n.to_string(),
                |f| {
                    if f.fract() == 0.0 && f.abs() < 9.2e18 {
                        (f as i64).to_string()
                    } else {
                        f.to_string()
                    }
                },
            )),
        },
        Value::Array(items) => {
            out.push('[');
            for i in items {
                write_key(i, out);
                out.push(',');
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (k, v) in entries {
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push(':');
                write_key(v, out);
                out.push(',');
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn same_number(x: &Number, y: &Number) -> bool {
    match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
        (Some(a), Some(b), _, _) => a == b,
        (_, _, Some(a), Some(b)) => a == b,
        _ => x.as_f64() == y.as_f64(),
    }
}

/// How deep through `$ref`s and nesting counting goes before answering "many".
const DEPTH: usize = 8;

/// At most how many distinct values `schema` allows ([`MANY`]: many, or not counted).
pub(super) fn distinct(root: &Value, schema: &Value, depth: usize) -> u64 {
    match schema.as_object() {
        Some(obj) if depth <= DEPTH => view_distinct(root, &View::of(obj), depth),
        _ => MANY,
    }
}

fn sum(counts: impl Iterator<Item = u64>) -> u64 {
    counts.fold(0u64, |a, b| a.saturating_add(b)).min(MANY)
}

fn view_distinct(root: &Value, view: &View<'_>, depth: usize) -> u64 {
    if depth > DEPTH {
        return MANY;
    }
    match view.reference(root) {
        Some(Ref::Alone(target)) => return distinct(root, target, depth + 1),
        Some(Ref::Merged(merged)) => return view_distinct(root, &merged, depth + 1),
        None => {}
    }
    if view.get("const").is_some() {
        return 1;
    }
    if let Some(options) = view.get("enum").and_then(Value::as_array) {
        if options.len() > 4096 {
            return options.len() as u64;
        }
        let mut seen: Vec<&Value> = Vec::new();
        for v in options {
            if !seen.iter().any(|s| same(s, v)) {
                seen.push(v);
            }
        }
        return seen.len() as u64;
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = view.get(key).and_then(Value::as_array).filter(|a| !a.is_empty()) {
            return sum(branches.iter().map(|b| distinct(root, b, depth + 1)));
        }
    }
    if let Some(parts) = view.get("allOf").and_then(Value::as_array) {
        return view_distinct(root, &view.merge(parts, root), depth + 1);
    }
    sum(view.types().into_iter().map(|t| typed(root, view, t, depth)))
}

fn typed(root: &Value, view: &View<'_>, kind: &str, depth: usize) -> u64 {
    match kind {
        "null" => 1,
        "boolean" => 2,
        "integer" => integer_count(view),
        "number" => number_count(view),
        "object" => {
            let mut required = view.required();
            required.sort_unstable();
            let props = view.properties();
            if required.iter().any(|r| !props.iter().any(|(name, _)| name == r)) {
                return MANY;
            }
            props.iter().fold(1u64, |acc, (name, schema)| {
                let absent = u64::from(required.binary_search(name).is_err());
                acc.saturating_mul(distinct(root, schema, depth + 1).saturating_add(absent)).min(MANY)
            })
        }
        "string" => {
            if view.get("maxLength").and_then(Value::as_u64) == Some(0) {
                return 1;
            }
            match view.get("pattern").and_then(Value::as_str).map(compiled) {
                Some(Ok(Some(p))) => p.count(),
                _ => MANY,
            }
        }
        _ => MANY,
    }
}
