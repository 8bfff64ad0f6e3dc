//! JSON values generated from a JSON Schema: tool-call arguments and structured outputs.
//!
//! [`check`] walks a whole schema once and rejects what fakeai cannot honour (a bad `type`, an empty
//! `enum`, a `$ref` that leads nowhere, an invalid `pattern` or one no string matches, a `pattern`
//! no match of which has a length within `minLength`/`maxLength`, a numeric range with no value or
//! no multiple of `multipleOf` in it (also under `allOf` and next to a `$ref`), `uniqueItems` with
//! `minItems` over the distinct values the items allow...). [`check_parameters`] adds what a tool's
//! `parameters` need: an object at the root. [`generate`] then draws a value that validates against
//! it: `type` (or a list of types), `enum`, `const`, `anyOf`/`oneOf`/`allOf`, `$ref` into
//! `$defs`/`definitions` (keywords next to a `$ref` apply too), objects (every `required` property,
//! each optional one with probability 1/2), arrays (`items`, `prefixItems`, `minItems`/`maxItems`,
//! `uniqueItems` under JSON Schema equality: `1` and `1.0` are the same), strings and numbers.
//! Recursive schemas stop growing past [`MAX_DEPTH`]: then only required properties and minimal
//! arrays are generated, and `anyOf` prefers a branch without `$ref`.
//!
//! - Strings (`strings`): `pattern` (a regular expression walked to a matching string, see
//!   `pattern`; look-arounds and backreferences are not interpreted; anchors are honoured at the
//!   edges and refused elsewhere, word boundaries are refused), formats `date-time`, `date`,
//!   `time`, `duration`, `email`, `hostname`, `uri`, `uuid`, `ipv4`, `ipv6`, and
//!   `minLength`/`maxLength`. `pattern` wins over `format`; a `pattern` with `minLength`/`maxLength`
//!   is aimed at a length its matches have within them (none: the schema is rejected, naming the
//!   length keyword); a format wins over lengths it cannot have (`email`, `hostname` and `uri` are
//!   redrawn to fit). `const` and `enum` are explicit and win over every other keyword, `pattern`
//!   included (they are not checked against it).
//! - Numbers (`numeric`): uniform within `minimum`/`maximum`, exclusive bounds (to the nearest
//!   double) and `multipleOf` (fractional too, for integers and numbers; a number is `k * multipleOf`
//!   with `|k|` at most 2^52, and a range with no such multiple is rejected).
//! - `not` is not interpreted.
//!
//! The output and the work are bounded, in this order:
//! 1. Each keyword: `minItems` over [`MAX_MIN_ITEMS`] and `minLength` over [`MAX_MIN_LENGTH`] are
//!    rejected, numbers are drawn within +-1e15, and a `pattern` is at most 4096 bytes, 64 levels
//!    deep, with a shortest match within [`MAX_OUTPUT_BYTES`] made in at most 4M steps.
//! 2. The schema: its distinct patterns are at most 4096, and together at most 64 KiB, 131,072
//!    class ranges and 8M compile steps (each distinct pattern is compiled once, and cached per
//!    thread).
//! 3. The whole value: [`check`] sizes the smallest value the schema forces (`required`, `minItems`,
//!    `prefixItems`, `minLength`, a `pattern`'s shortest match, `const`, the smallest `enum` value,
//!    `anyOf` branch or type, through `$ref`s and nesting) and rejects a schema whose smallest value
//!    is over [`MAX_OUTPUT_BYTES`] of JSON, or that requires nesting deeper than [`HARD_DEPTH`] (a
//!    required recursion, such as an array of `minItems: 1` whose items are the array itself).
//!    Sizing remembers each (subschema, depth), so it costs at most the schema's size times
//!    [`HARD_DEPTH`], never exponential through `$ref` cycles, and stops after [`MAX_SIZING_STEPS`].
//! 4. The request ([`within_request`]): all its values (choices times tool calls) share
//!    [`MAX_REQUEST_BYTES`], each taking at most [`MAX_OUTPUT_BYTES`] of what is left divided by the
//!    values still to come (but never less than its forced minimum while the request has it), and
//!    [`MAX_REQUEST_WORK`] steps of optional work (pattern walks, aiming at lengths, values drawn
//!    again for `uniqueItems`); past it a pattern gives its shortest match (made once per pattern,
//!    without work). [`request_check`] refuses a count of values whose forced minimums together are
//!    over [`MAX_REQUEST_BYTES`].
//! 5. Generation: optional parts (properties, items past `minItems`) and random choices (`anyOf`
//!    branch, type, `enum` value) are taken only while the budget left covers them after what the
//!    required parts still need, so a generated value is never over its room and normal schemas,
//!    far below it, are generated exactly as without a budget.
//!
//! The parts, one file each: `validate` ([`check`] and [`SchemaError`]), `view` (how a schema is
//! read: `$ref`s and `allOf` merges), `size` (the byte budget: the least JSON a subschema forces),
//! `budget` (the request's bytes and work), `generation` ([`generate`]), `strings` and `pattern`
//! (strings, and strings matching a regular expression), `numeric` (numbers and integers),
//! `unique` (`uniqueItems`: equality and counting distinct values) and `filler` (the words, dates
//! and UUIDs values are made of, and [`any_object`]).

mod budget;
mod filler;
mod generation;
mod numeric;
mod pattern;
mod size;
mod strings;
#[cfg(test)]
mod tests;
mod unique;
mod validate;
mod view;

pub use budget::{request_check, within_request};
pub use filler::any_object;
pub use generation::generate;
pub use validate::{check, check_parameters, SchemaError};

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
/// Most JSON text all the values of one request take together (16 MiB), shared among its choices
/// and tool calls (see [`within_request`]).
pub const MAX_REQUEST_BYTES: u64 = 16 << 20;
/// Most optional generation steps (pattern walks, values drawn again for `uniqueItems`) of one
/// request, or of one value outside a request: 16M node visits, about 50 ms, enough to walk
/// [`MAX_REQUEST_BYTES`] of characters one by one.
pub const MAX_REQUEST_WORK: u64 = 1 << 24;
/// Most (subschema, depth) pairs sized for one schema; a schema that needs more is rejected.
pub const MAX_SIZING_STEPS: u64 = 1_000_000;
const TYPES: [&str; 7] = ["object", "array", "string", "integer", "number", "boolean", "null"];
