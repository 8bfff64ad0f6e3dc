//! JSON values generated from a JSON Schema: tool-call arguments and structured outputs.
//!
//! [`check`] walks a whole schema once and rejects what fakeai cannot honour (a bad `type`, an empty
//! `enum`, a `$ref` that leads nowhere, an invalid `pattern`, a numeric range with no value or no
//! multiple of `multipleOf` in it, `uniqueItems` over an `enum` with fewer values than `minItems`...).
//! [`generate`] then draws a value that validates against it: `type` (or a list of types), `enum`,
//! `const`, `anyOf`/`oneOf`/`allOf`, `$ref` into `$defs`/`definitions`, objects (every `required`
//! property, each optional one with probability 1/2), arrays (`items`, `prefixItems`,
//! `minItems`/`maxItems`, `uniqueItems`), strings and numbers. Recursive schemas stop growing past
//! [`MAX_DEPTH`]: then only required properties and minimal arrays are generated, and `anyOf`
//! prefers a branch without `$ref`.
//!
//! - Strings (`strings`): `pattern` (a regular expression walked to a matching string, see
//!   `pattern`; look-arounds and backreferences are not interpreted), formats `date-time`, `date`, `time`,
//!   `duration`, `email`, `hostname`, `uri`, `uuid`, `ipv4`, `ipv6`, and `minLength`/`maxLength`.
//!   `pattern` wins over `format`, and over the lengths when no match has a length within them; a
//!   format wins over lengths it cannot have (`email`, `hostname` and `uri` are redrawn to fit).
//! - Numbers (`numeric`): uniform within `minimum`/`maximum`, exclusive bounds and `multipleOf`
//!   (fractional too, for integers and numbers).
//! - `not` is not interpreted.
//!
//! The output is bounded, in this order:
//! 1. Each keyword: `minItems` over [`MAX_MIN_ITEMS`] and `minLength` over [`MAX_MIN_LENGTH`] are
//!    rejected, numbers are drawn within +-1e15, and a `pattern` is at most 4096 bytes, 64 levels
//!    deep, with a shortest match within [`MAX_OUTPUT_BYTES`].
//! 2. The whole value: [`check`] sizes the smallest value the schema forces (`required`, `minItems`,
//!    `prefixItems`, `minLength`, a `pattern`'s shortest match, `const`, the smallest `enum` value,
//!    `anyOf` branch or type, through `$ref`s and nesting) and rejects a schema whose smallest value
//!    is over [`MAX_OUTPUT_BYTES`] of JSON, or that requires nesting deeper than [`HARD_DEPTH`] (a
//!    required recursion, such as an array of `minItems: 1` whose items are the array itself). Sizing remembers each (subschema,
//!    depth), so it costs at most the schema's size times [`HARD_DEPTH`], never exponential through
//!    `$ref` cycles, and stops after [`MAX_SIZING_STEPS`].
//! 3. Generation: optional parts (properties, items past `minItems`) and random choices (`anyOf`
//!    branch, type, `enum` value) are taken only while the budget left covers them after what the
//!    required parts still need, so a generated value is never over [`MAX_OUTPUT_BYTES`] and normal
//!    schemas, far below it, are generated exactly as without a budget.
//!
//! The parts, one file each: `validate` ([`check`] and [`SchemaError`]), `view` (how a schema is
//! read: `$ref`s and `allOf` merges), `size` (the byte budget: the least JSON a subschema forces),
//! `generation` ([`generate`]), `strings` and `pattern` (strings, and strings matching a regular
//! expression), `numeric` (numbers and integers) and `filler` (the words, dates and UUIDs values are
//! made of, and [`any_object`]).

mod filler;
mod generation;
mod numeric;
mod pattern;
mod size;
mod strings;
#[cfg(test)]
mod tests;
mod validate;
mod view;

pub use filler::any_object;
pub use generation::generate;
pub use validate::{check, SchemaError};

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
const TYPES: [&str; 7] = ["object", "array", "string", "integer", "number", "boolean", "null"];
