//! Strings for a JSON Schema `pattern`: [`Pattern::compile`] parses the regular expression with
//! `regex-syntax` (the parser of the `regex` crate, whose syntax covers what pydantic and OpenAI
//! accept: classes, `\d\w\s`, counted repetitions, groups, alternation, anchors) into a small tree
//! that knows, per node, the fewest and most characters it matches; [`Pattern::generate`] walks it.
//!
//! - Literals are copied; a class gives one member, an ASCII letter or digit when it has one (three
//!   times in four), else printable ASCII, else any member.
//! - Anchors (`^`, `$`, `\A`, `\z`, and their multi-line forms) are honoured where nothing can come
//!   before (after) them: at the start (end) of the pattern or of a top-level alternative, or, in
//!   multi-line mode, right after (before) a `\n`. One that characters must precede or follow
//!   (`a^b`, `^x$y`) makes the pattern match nothing, and any other placement (`a?^b`, `(^a)+`) is
//!   not supported: both are rejected, as are word boundaries (`\b`, `\B`), which fakeai does not
//!   enforce.
//! - Repetitions take a small random count: `*`, `+`, `{n,}` and wide `{n,m}` at most 8 past `n`.
//! - `minLength`/`maxLength`: the lengths a match can have within them are found exactly (a
//!   bounded dynamic programme over lengths: `(ab)+` has only even ones) and the walk aims at one of
//!   them (splitting it over concatenations and repetitions). When no match has such a length the
//!   schema is rejected ([`Pattern::lengths_conflict`]); when aiming misses 16 times, or the work
//!   budget runs out, the pattern wins: its shortest match is generated.
//! - Look-arounds and backreferences are not regular: `regex-syntax` refuses them, and the string is
//!   generated as if the schema had no `pattern` ([`Pattern::compile`] gives `Ok(None)`).
//! - Bounds before anything is allocated: at most [`MAX_PATTERN_LEN`] bytes and [`NEST_LIMIT`]
//!   levels of nesting; a pattern that matches nothing, whose shortest match is over
//!   [`MAX_OUTPUT_BYTES`], or whose shortest match takes over [`MAX_WORK`] steps is rejected.
//! - Work: the shortest match is made once per pattern and reused; every other walk (the natural
//!   one, each aim) counts its steps against the work budget it is given (the request's, see
//!   `budget`) and is abandoned when it runs out.
//! - Compiled patterns are cached per thread (by their text), and a schema's distinct patterns
//!   together are held to [`MAX_SCHEMA_PATTERNS`], [`MAX_SCHEMA_PATTERN_BYTES`],
//!   [`MAX_SCHEMA_CLASS_RANGES`] and [`MAX_SCHEMA_PATTERN_WORK`] ([`PatternBudget`]).
//!
//! [`MAX_OUTPUT_BYTES`]: super::MAX_OUTPUT_BYTES

mod cache;
mod class;
mod compile;
mod generate;
mod lengths;

use super::MAX_OUTPUT_BYTES;
use compile::{Build, Node, EDGE};
use lengths::Window;
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

pub(super) use cache::{compiled, PatternBudget};

/// Longest `pattern` accepted, in bytes.
pub(super) const MAX_PATTERN_LEN: usize = 4096;
/// Deepest nesting of groups, repetitions and alternations in a `pattern`.
pub(super) const NEST_LIMIT: u32 = 64;
/// Most node visits the shortest match of a pattern may take (`(a{1000}){1000}` is 1 million).
pub(super) const MAX_WORK: u64 = 1 << 22;
/// Most class ranges a pattern's classes may hold together (`\w` is about 770).
pub(super) const MAX_CLASS_RANGES: usize = 1 << 16;
/// Most bytes of distinct patterns one schema holds.
pub(super) const MAX_SCHEMA_PATTERN_BYTES: usize = 1 << 16;
/// Most class ranges the distinct patterns of one schema hold together (compiling a range of a
/// case-insensitive negated Unicode class costs about half a microsecond).
pub(super) const MAX_SCHEMA_CLASS_RANGES: usize = 1 << 17;
/// Most tree nodes plus shortest-match steps of the distinct patterns of one schema.
pub(super) const MAX_SCHEMA_PATTERN_WORK: u64 = 1 << 23;
/// Most distinct patterns in one schema.
pub(super) const MAX_SCHEMA_PATTERNS: usize = 4096;
/// What the per-thread cache of compiled patterns holds at most before it is emptied: twice a
/// schema's limits, so that one schema's patterns all stay compiled while its values are generated.
const CACHE_PATTERNS: usize = 2 * MAX_SCHEMA_PATTERNS;
const CACHE_RANGES: usize = 2 * MAX_SCHEMA_CLASS_RANGES;
/// How far past its minimum a repetition goes when nothing asks for a length.
const EXTRA: u64 = 8;
/// How many lengths past the least one asked for (`minLength`, or the pattern's shortest match)
/// generation aims at.
const SLACK: usize = 16;
/// The lengths examined for `minLength`/`maxLength`: at most this many past the least one asked
/// for, only below [`DP_LIMIT`], and within [`DP_BUDGET`] word operations.
const DP_SPAN: u64 = 1024;
const DP_LIMIT: u64 = 1 << 17;
const DP_BUDGET: u64 = 1 << 22;
/// Distinct matches are counted up to this (for `uniqueItems`); more counts as "many".
pub(super) const MANY: u64 = 1 << 40;
/// A length that no string reaches ("unbounded", or "matches nothing" as a minimum).
const NEVER: u64 = u64::MAX;

/// A compiled `pattern`.
pub(super) struct Pattern {
    root: Node,
    /// Most bytes one generated character takes as JSON text (1 for ASCII, 2 for `"`/`\`, up to 6
    /// for an escaped control character).
    char_bytes: u64,
    /// Class ranges and tree nodes: what compiling it cost, for [`PatternBudget`].
    ranges: usize,
    nodes: u64,
    /// The shortest match, made once.
    shortest: OnceCell<String>,
    /// The lengths to aim at, per (`minLength`, `maxLength`).
    windows: RefCell<HashMap<(u64, u64), Rc<Window>>>,
}

/// Why a pattern is refused: the message of a 400.
pub(super) type PatternError = String;

impl Pattern {
    /// Parse `pattern`. `Ok(None)`: it uses what is not regular (look-around, backreference), so it
    /// is not interpreted; `Err`: it is not a valid regular expression, or is out of fakeai's limits.
    pub(super) fn compile(pattern: &str) -> Result<Option<Pattern>, PatternError> {
        use regex_syntax::ast::ErrorKind;
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(format!("patterns longer than {MAX_PATTERN_LEN} bytes are not supported"));
        }
        let hir = match regex_syntax::ParserBuilder::new().nest_limit(NEST_LIMIT).build().parse(pattern) {
            Ok(hir) => hir,
            Err(regex_syntax::Error::Parse(e))
                if matches!(
                    e.kind(),
                    ErrorKind::UnsupportedLookAround | ErrorKind::UnsupportedBackreference
                ) =>
            {
                return Ok(None);
            }
            Err(e) => {
                let first = e.to_string();
                let why = first.lines().rev().find(|l| l.starts_with("error:")).unwrap_or(&first);
                return Err(format!("invalid regular expression: {}", why.trim_start_matches("error: ")));
            }
        };
        let mut b = Build { char_bytes: 1, ranges: 0, nodes: 0, error: None };
        let root = Node::from_hir(&hir, &mut b, EDGE, EDGE);
        if b.ranges > MAX_CLASS_RANGES {
            return Err(format!(
                "the pattern's character classes are too large (over {MAX_CLASS_RANGES} ranges)"
            ));
        }
        if let Some(why) = b.error {
            return Err(why);
        }
        let p = Pattern {
            root,
            char_bytes: b.char_bytes,
            ranges: b.ranges,
            nodes: b.nodes,
            shortest: OnceCell::new(),
            windows: RefCell::new(HashMap::new()),
        };
        if p.root.min == NEVER {
            return Err("no string matches the pattern".to_owned());
        }
        if p.min_bytes() > MAX_OUTPUT_BYTES {
            return Err(format!(
                "the shortest string matching the pattern is over fakeai's limit of {MAX_OUTPUT_BYTES} bytes of generated JSON"
            ));
        }
        if p.root.work > MAX_WORK {
            return Err(format!("the pattern repeats too much to generate (over {MAX_WORK} steps)"));
        }
        Ok(Some(p))
    }

    /// Most JSON bytes (quotes included) of a string of `chars` generated characters.
    fn bytes_of(&self, chars: u64) -> u64 {
        chars.saturating_mul(self.char_bytes).saturating_add(2)
    }

    /// Most JSON bytes of the shortest match, quotes included.
    pub(super) fn min_bytes(&self) -> u64 {
        self.bytes_of(self.root.min)
    }

    /// Distinct strings the pattern matches, at most ([`MANY`]: many).
    pub(super) fn count(&self) -> u64 {
        self.root.count
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod hostile;
