//! Reading a schema: local `$ref`s, and [`View`], one schema object with its `allOf` parts (and
//! the target of a `$ref` with sibling keywords) merged.

use super::TYPES;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Resolve a local `$ref` (`#`, `#/$defs/X`, `#/definitions/X`, any JSON pointer into the root).
pub(super) fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    root.pointer(reference.strip_prefix('#')?)
}

/// One schema object as generation reads it: a plain object, or the keywords of an `allOf` merged
/// in order. A keyword comes from the first layer holding it, except that `properties` are united
/// (a later part's schema for a name wins, at the name's first position), `required` lists are
/// joined, and `allOf` is read only from the parts of the latest merge (`fresh..`). Reading the
/// layers in place, instead of building a merged copy, keeps every subschema at its address in the
/// root, which is what [`Sizer`] remembers sizes by. A `$ref` next to other keywords (`{"$ref":
/// "#/$defs/I", "minimum": 5}`) is read the same way: its target is a layer after the object, and
/// `$ref` is then read only from the target on (`refs..`).
///
/// [`Sizer`]: super::size::Sizer
#[derive(Clone)]
pub(super) struct View<'a> {
    layers: Vec<&'a Map<String, Value>>,
    fresh: usize,
    refs: usize,
}

/// Keywords that do not constrain a value: a `$ref` among only these is followed as it is.
const ANNOTATIONS: [&str; 13] = [
    "$ref",
    "$defs",
    "definitions",
    "description",
    "title",
    "default",
    "examples",
    "$comment",
    "$schema",
    "$id",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// Where a view's `$ref` leads.
pub(super) enum Ref<'a> {
    /// The `$ref` is all there is: generate its target.
    Alone(&'a Value),
    /// Other keywords stand next to it: this view with the target merged.
    Merged(View<'a>),
}

impl<'a> View<'a> {
    pub(super) fn of(obj: &'a Map<String, Value>) -> Self {
        View { layers: vec![obj], fresh: 0, refs: 0 }
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        let from = match key {
            "allOf" => self.fresh,
            "$ref" => self.refs,
            _ => 0,
        };
        self.layers[from..].iter().find_map(|l| l.get(key))
    }

    /// The view's `$ref` (when it resolves), alone or merged with the keywords next to it.
    pub(super) fn reference(&self, root: &'a Value) -> Option<Ref<'a>> {
        let target = resolve(root, self.get("$ref")?.as_str()?)?;
        let alone =
            self.layers.len() == 1 && self.layers[0].keys().all(|k| ANNOTATIONS.contains(&k.as_str()));
        if alone {
            return Some(Ref::Alone(target));
        }
        let mut merged = self.clone();
        merged.refs = merged.layers.len();
        // A `true`/`false` target adds nothing to read.
        if let Value::Object(t) = target {
            merged.layers.push(t);
        }
        Some(Ref::Merged(merged))
    }

    /// `allOf`: this view with each part's keywords after its own (a part that is a `$ref` is
    /// read at its target).
    pub(super) fn merge(&self, parts: &'a [Value], root: &'a Value) -> Self {
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
        View { layers, fresh, refs: self.refs }
    }

    pub(super) fn properties(&self) -> Vec<(&'a str, &'a Value)> {
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
    pub(super) fn property(&self, name: &str) -> Option<&'a Value> {
        self.layers.iter().rev().find_map(|l| l.get("properties")?.as_object()?.get(name))
    }

    pub(super) fn required(&self) -> Vec<&'a str> {
        self.layers
            .iter()
            .filter_map(|l| l.get("required").and_then(Value::as_array))
            .flat_map(|r| r.iter().filter_map(Value::as_str))
            .collect()
    }

    /// The types generation may pick (see `Gen::type_of`).
    pub(super) fn types(&self) -> Vec<&'static str> {
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
