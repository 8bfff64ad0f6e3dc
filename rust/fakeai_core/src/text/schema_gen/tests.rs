//! Helpers the tests of every part share.

use super::{check, generate};
use crate::rng::Rng;
use serde_json::Value;

pub(super) fn many(schema: &Value) -> Vec<Value> {
    check(schema).unwrap();
    (0..200).map(|i| generate(schema, &mut Rng::new(i))).collect()
}

/// The bytes of `v` as JSON text.
pub(super) fn size(v: &Value) -> usize {
    v.to_string().len()
}
