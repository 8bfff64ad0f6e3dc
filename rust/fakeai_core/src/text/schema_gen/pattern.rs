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

use super::MAX_OUTPUT_BYTES;
use crate::rng::Rng;
use regex_syntax::hir::{Class, Hir, HirKind, Look};
use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

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

struct Node {
    kind: Kind,
    /// Fewest characters matched ([`NEVER`]: the node matches nothing).
    min: u64,
    /// Most characters matched ([`NEVER`]: unbounded).
    max: u64,
    /// Most characters the natural walk makes ([`NEVER`] past [`MAX_WORK`]).
    natural: u64,
    /// Node visits of the shortest match, and of the natural walk at most.
    work: u64,
    natural_work: u64,
    /// Distinct strings matched, at most (up to [`MANY`]).
    count: u64,
    /// Every match's length is `min` plus a multiple of `step` (`0`: only `min`): `(aa)*` has
    /// step 2, so no odd length.
    step: u64,
}

enum Kind {
    Empty,
    Literal(Vec<char>),
    Class(Members),
    Concat(Vec<Node>),
    Alternation(Vec<Node>),
    Repeat { sub: Box<Node>, min: u64, max: u64 },
}

/// A class's members in the three tiers it is drawn from.
struct Members {
    alnum: Vec<char>,
    printable: Vec<char>,
    /// Ranges and the running count of members before each, for a uniform draw among all.
    ranges: Vec<(char, char, u64)>,
    total: u64,
}

/// The lengths generation aims at for `minLength`/`maxLength`.
enum Window {
    /// These lengths have matches (the first few within the lengths asked for): exactly, or, past
    /// what the lengths examined, those [`Node::step`] allows.
    Lengths(Vec<u64>),
    /// No match has a length within them.
    Empty,
}

/// Why a pattern is refused: the message of a 400.
pub(super) type PatternError = String;

fn add(a: u64, b: u64) -> u64 {
    if a == NEVER || b == NEVER {
        NEVER
    } else {
        a.saturating_add(b).min(NEVER - 1)
    }
}

fn times(n: u64, a: u64) -> u64 {
    match (n, a) {
        (0, _) | (_, 0) => 0,
        (_, NEVER) => NEVER,
        _ => n.saturating_mul(a).min(NEVER - 1),
    }
}

/// JSON text bytes of one character, quotes excluded.
fn char_bytes(c: char) -> u64 {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8() as u64,
    }
}

impl Members {
    fn new(ranges: impl Iterator<Item = (char, char)>) -> Members {
        let (mut alnum, mut printable, mut out, mut total) = (Vec::new(), Vec::new(), Vec::new(), 0);
        for (a, b) in ranges {
            for c in (a as u32).max(0x20)..=(b as u32).min(0x7e) {
                let c = char::from_u32(c).unwrap_or(' ');
                printable.push(c);
                if c.is_ascii_alphanumeric() {
                    alnum.push(c);
                }
            }
            out.push((a, b, total));
            // Surrogates are never class members, so a range is a plain span of scalar values.
            total += u64::from(b as u32 - a as u32 + 1);
        }
        Members { alnum, printable, ranges: out, total }
    }

    fn pick(&self, rng: &mut Rng) -> char {
        if !self.alnum.is_empty() && rng.below(4) > 0 {
            return self.alnum[rng.below(self.alnum.len() as u64) as usize];
        }
        if !self.printable.is_empty() {
            return self.printable[rng.below(self.printable.len() as u64) as usize];
        }
        let i = rng.below(self.total.max(1));
        let at = self.ranges.partition_point(|r| r.2 <= i).saturating_sub(1);
        let (a, _, before) = self.ranges[at];
        char::from_u32(a as u32 + (i - before) as u32).unwrap_or(a)
    }

    /// Most JSON bytes a drawn member takes.
    fn bytes(&self) -> u64 {
        if !self.printable.is_empty() {
            return self.printable.iter().map(|&c| char_bytes(c)).max().unwrap_or(1);
        }
        self.ranges.iter().map(|&(a, b, _)| char_bytes(a).max(char_bytes(b))).max().unwrap_or(1)
    }
}

/// What the walk over the parsed expression gathers: the most JSON bytes of a character, the class
/// ranges and nodes kept so far, and the first reason to refuse the pattern.
struct Build {
    char_bytes: u64,
    ranges: usize,
    nodes: u64,
    error: Option<PatternError>,
}

/// What may stand next to a node on one side: `empty`, surely nothing; `some`, surely a
/// character; `newline`, surely a `\n` right there.
#[derive(Clone, Copy)]
struct Side {
    empty: bool,
    some: bool,
    newline: bool,
}

const EDGE: Side = Side { empty: true, some: false, newline: false };

fn min_len(h: &Hir) -> usize {
    h.properties().minimum_len().unwrap_or(usize::MAX)
}

fn is_empty(h: &Hir) -> bool {
    h.properties().maximum_len() == Some(0)
}

/// The literal text of `h` (through groups), when it is one.
fn literal(h: &Hir) -> Option<&[u8]> {
    match h.kind() {
        HirKind::Literal(lit) => Some(&lit.0),
        HirKind::Capture(cap) => literal(&cap.sub),
        _ => None,
    }
}

/// Whether an anchor can hold with `side` next to it: `Ok(())`, or the reason to refuse.
fn anchor(side: Side, multi_line: bool, sign: &str) -> Result<(), PatternError> {
    if side.empty || (multi_line && side.newline) {
        Ok(())
    } else if side.some && !multi_line {
        Err(format!(
            "no string matches the pattern: the anchor '{sign}' has characters on its {} side",
            if sign == "^" { "left" } else { "right" }
        ))
    } else {
        Err(format!(
            "the anchor '{sign}' is supported only at the start or end of the pattern (or of a top-level alternative)"
        ))
    }
}

impl Node {
    fn leaf(kind: Kind, len: u64) -> Node {
        Node { kind, min: len, max: len, natural: len, work: 1, natural_work: 1, count: 1, step: 0 }
    }

    /// The node of `hir`, with `before`/`after` what stands next to it.
    fn from_hir(hir: &Hir, b: &mut Build, before: Side, after: Side) -> Node {
        let mut n = Node::build(hir, b, before, after);
        // The shortest match of a node that matches the empty string is found without walking it.
        if n.min == 0 {
            n.work = 1;
        }
        n
    }

    fn build(hir: &Hir, b: &mut Build, before: Side, after: Side) -> Node {
        b.nodes += 1;
        match hir.kind() {
            HirKind::Empty => Node::leaf(Kind::Empty, 0),
            HirKind::Look(look) => {
                let found = match look {
                    Look::Start => anchor(before, false, "^"),
                    Look::StartLF | Look::StartCRLF => anchor(before, true, "^"),
                    Look::End => anchor(after, false, "$"),
                    Look::EndLF | Look::EndCRLF => anchor(after, true, "$"),
                    _ => Err("word boundaries (\\b, \\B) are not supported in a pattern".to_owned()),
                };
                if let Err(why) = found {
                    b.error.get_or_insert(why);
                }
                Node::leaf(Kind::Empty, 0)
            }
            HirKind::Literal(lit) => {
                let chars: Vec<char> = String::from_utf8_lossy(&lit.0).chars().collect();
                for &c in &chars {
                    b.char_bytes = b.char_bytes.max(char_bytes(c));
                }
                let n = chars.len() as u64;
                Node::leaf(Kind::Literal(chars), n)
            }
            HirKind::Class(class) => {
                let members = match class {
                    _ if b.ranges > MAX_CLASS_RANGES => return Node::leaf(Kind::Empty, 0),
                    Class::Unicode(c) => {
                        b.ranges += c.ranges().len();
                        Members::new(c.ranges().iter().map(|r| (r.start(), r.end())))
                    }
                    // Without Unicode (`(?-u)`) a class is of bytes, ASCII ones where the output is UTF-8.
                    Class::Bytes(c) => {
                        b.ranges += c.ranges().len();
                        Members::new(
                            c.ranges()
                                .iter()
                                .filter(|r| r.start() <= 0x7f)
                                .map(|r| (char::from(r.start()), char::from(r.end().min(0x7f)))),
                        )
                    }
                };
                if members.total == 0 {
                    let mut node = Node::leaf(Kind::Class(members), 0);
                    (node.min, node.count) = (NEVER, 0);
                    return node;
                }
                b.char_bytes = b.char_bytes.max(members.bytes());
                let count = members.total;
                let mut node = Node::leaf(Kind::Class(members), 1);
                node.count = count;
                node
            }
            HirKind::Capture(cap) => Node::from_hir(&cap.sub, b, before, after),
            HirKind::Concat(hirs) => {
                let mut parts = Vec::with_capacity(hirs.len());
                for (i, h) in hirs.iter().enumerate() {
                    let (left, right) = (&hirs[..i], &hirs[i + 1..]);
                    let before = Side {
                        empty: before.empty && left.iter().all(is_empty),
                        some: before.some || left.iter().any(|h| min_len(h) > 0),
                        newline: left.last().and_then(literal).is_some_and(|l| l.ends_with(b"\n"))
                            || (before.newline && left.iter().all(is_empty)),
                    };
                    let after = Side {
                        empty: after.empty && right.iter().all(is_empty),
                        some: after.some || right.iter().any(|h| min_len(h) > 0),
                        newline: right.first().and_then(literal).is_some_and(|l| l.starts_with(b"\n"))
                            || (after.newline && right.iter().all(is_empty)),
                    };
                    parts.push(Node::from_hir(h, b, before, after));
                }
                let mut n = Node::leaf(Kind::Empty, 0);
                for p in &parts {
                    n.min = add(n.min, p.min);
                    n.max = add(n.max, p.max);
                    n.natural = add(n.natural, p.natural);
                    n.work = add(n.work, p.work);
                    n.natural_work = add(n.natural_work, p.natural_work);
                    n.count = n.count.saturating_mul(p.count).min(MANY);
                    n.step = gcd(n.step, p.step);
                }
                n.kind = Kind::Concat(parts);
                n
            }
            HirKind::Alternation(hirs) => {
                let branches: Vec<Node> = hirs.iter().map(|h| Node::from_hir(h, b, before, after)).collect();
                let live = || branches.iter().filter(|b| b.min != NEVER);
                let mut n = Node::leaf(Kind::Empty, 0);
                n.min = live().map(|b| b.min).min().unwrap_or(NEVER);
                n.max = live().map(|b| b.max).max().unwrap_or(0);
                n.natural = live().map(|b| b.natural).max().unwrap_or(0);
                n.work = add(1, live().map(|b| b.work).max().unwrap_or(0));
                n.natural_work = add(1, live().map(|b| b.natural_work).max().unwrap_or(0));
                n.count = live().fold(0u64, |c, b| c.saturating_add(b.count)).min(MANY);
                n.step = live().fold(0, |g, b| gcd(gcd(g, b.step), b.min - n.min));
                n.kind = Kind::Alternation(branches);
                n
            }
            HirKind::Repetition(rep) => {
                // A second copy stands next to the first: inside, what is around is not the edge.
                let (before, after) = if rep.max == Some(1) || is_empty(&rep.sub) {
                    (before, after)
                } else {
                    let inner = |s: Side| Side { empty: false, some: s.some, newline: false };
                    (inner(before), inner(after))
                };
                let sub = Node::from_hir(&rep.sub, b, before, after);
                let (min, max) = (u64::from(rep.min), rep.max.map_or(NEVER, u64::from));
                let natural_count = max.min(min + EXTRA);
                let mut n = Node::leaf(Kind::Empty, 0);
                if sub.min == NEVER {
                    // Only zero copies match.
                    (n.min, n.max, n.natural) = (if min == 0 { 0 } else { NEVER }, 0, 0);
                    n.count = u64::from(min == 0);
                    n.kind = Kind::Repeat { sub: Box::new(sub), min: 0, max: 0 };
                    return n;
                }
                n.min = times(min, sub.min);
                n.max = if max == NEVER && sub.max > 0 { NEVER } else { times(max.min(NEVER - 1), sub.max) };
                n.natural = times(natural_count, sub.natural);
                n.work = add(1, times(min, sub.work));
                n.natural_work = add(1, times(natural_count, sub.natural_work));
                n.count = repeat_count(sub.count, sub.max, min, max);
                n.step = if max > min { gcd(sub.step, sub.min) } else { sub.step };
                n.kind = Kind::Repeat { sub: Box::new(sub), min, max };
                n
            }
        }
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Distinct strings of `min..=max` copies of a node of `count` strings (at most `sub_max` long).
fn repeat_count(count: u64, sub_max: u64, min: u64, max: u64) -> u64 {
    if sub_max == 0 || count == 0 {
        return 1;
    }
    if count == 1 {
        return if max == NEVER { MANY } else { (max - min).saturating_add(1).min(MANY) };
    }
    if max == NEVER {
        return MANY;
    }
    let mut total = 0u64;
    let mut term = (0..min.min(64)).fold(1u64, |t, _| t.saturating_mul(count).min(MANY));
    for _ in min..=max {
        total = total.saturating_add(term).min(MANY);
        if total >= MANY {
            break;
        }
        term = term.saturating_mul(count).min(MANY);
    }
    total
}

/// A set of lengths `0..=cap`.
#[derive(Clone, PartialEq, Eq)]
struct Lengths(Vec<u64>);

impl Lengths {
    fn none(cap: u64) -> Lengths {
        Lengths(vec![0; (cap / 64 + 1) as usize])
    }

    fn one(cap: u64, n: u64) -> Lengths {
        let mut s = Lengths::none(cap);
        if n <= cap {
            s.0[(n / 64) as usize] |= 1 << (n % 64);
        }
        s
    }

    fn cap(&self) -> u64 {
        self.0.len() as u64 * 64 - 1
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    fn has(&self, n: u64) -> bool {
        n <= self.cap() && self.0[(n / 64) as usize] & (1 << (n % 64)) != 0
    }

    fn union(&mut self, other: &Lengths) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }

    /// The lengths of `self` followed by `other`; `None` once `budget` word operations are spent.
    fn then(&self, other: &Lengths, budget: &mut u64) -> Option<Lengths> {
        let words = self.0.len();
        let mut out = Lengths(vec![0; words]);
        for n in other.iter() {
            *budget = budget.checked_sub(words as u64)?;
            let (skip, bits) = ((n / 64) as usize, (n % 64) as u32);
            for i in (skip..words).rev() {
                let lo = self.0[i - skip] << bits;
                let carry = if bits > 0 && i > skip { self.0[i - skip - 1] >> (64 - bits) } else { 0 };
                out.0[i] |= lo | carry;
            }
        }
        Some(out)
    }

    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.0
            .iter()
            .enumerate()
            .flat_map(|(i, &w)| (0..64).filter(move |b| w & (1 << b) != 0).map(move |b| i as u64 * 64 + b))
    }
}

thread_local! {
    /// Compiled patterns by their text (dropped all at once past [`CACHE_PATTERNS`] of them or
    /// [`CACHE_RANGES`] class ranges).
    static CACHE: RefCell<(HashMap<String, Compiled>, usize)> = RefCell::new((HashMap::new(), 0));
}

/// A compiled pattern, `None` when it is not interpreted (see [`Pattern::compile`]).
pub(super) type Compiled = Result<Option<Rc<Pattern>>, PatternError>;

/// [`Pattern::compile`], once per thread for each text.
pub(super) fn compiled(source: &str) -> Compiled {
    if let Some(hit) = CACHE.with(|c| c.borrow().0.get(source).cloned()) {
        return hit;
    }
    let made = Pattern::compile(source).map(|p| p.map(Rc::new));
    let ranges = made.as_ref().ok().and_then(Option::as_ref).map_or(0, |p| p.ranges);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0.len() >= CACHE_PATTERNS || c.1 + ranges > CACHE_RANGES {
            *c = (HashMap::new(), 0);
        }
        c.1 += ranges;
        c.0.insert(source.to_owned(), made.clone());
    });
    made
}

/// The patterns of one schema: each distinct one compiled once, all of them together within
/// [`MAX_SCHEMA_PATTERN_BYTES`], [`MAX_SCHEMA_CLASS_RANGES`] and [`MAX_SCHEMA_PATTERN_WORK`].
#[derive(Default)]
pub(super) struct PatternBudget {
    seen: HashSet<String>,
    bytes: usize,
    ranges: usize,
    work: u64,
}

impl PatternBudget {
    pub(super) fn admit(&mut self, source: &str) -> Compiled {
        if self.seen.contains(source) {
            return compiled(source);
        }
        self.bytes += source.len();
        if self.seen.len() >= MAX_SCHEMA_PATTERNS {
            return Err(format!("the schema has over {MAX_SCHEMA_PATTERNS} distinct patterns"));
        }
        if self.bytes > MAX_SCHEMA_PATTERN_BYTES {
            return Err(format!(
                "the schema's distinct patterns are over fakeai's limit of {MAX_SCHEMA_PATTERN_BYTES} bytes together"
            ));
        }
        let made = compiled(source)?;
        if let Some(p) = &made {
            self.ranges += p.ranges;
            self.work = self.work.saturating_add(p.nodes).saturating_add(p.root.work);
        }
        if self.ranges > MAX_SCHEMA_CLASS_RANGES {
            return Err(format!(
                "the schema's patterns' character classes are over fakeai's limit of {MAX_SCHEMA_CLASS_RANGES} ranges together"
            ));
        }
        if self.work > MAX_SCHEMA_PATTERN_WORK {
            return Err(format!(
                "the schema's patterns are too complex together (over {MAX_SCHEMA_PATTERN_WORK} steps)"
            ));
        }
        self.seen.insert(source.to_owned());
        Ok(made)
    }
}

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

    /// The lengths to aim at for `minLength`/`maxLength`.
    fn window(&self, min_len: u64, max_len: u64) -> Rc<Window> {
        if let Some(w) = self.windows.borrow().get(&(min_len, max_len)) {
            return w.clone();
        }
        let w = Rc::new(self.find_window(min_len, max_len));
        let mut windows = self.windows.borrow_mut();
        if windows.len() >= 64 {
            windows.clear();
        }
        windows.insert((min_len, max_len), w.clone());
        w
    }

    /// The least length from `from` on that [`Node::step`] allows.
    fn next_length(&self, from: u64) -> u64 {
        let (min, step) = (self.root.min, self.root.step);
        match step {
            _ if from <= min => min,
            0 => NEVER,
            _ => from.saturating_add((step - (from - min) % step) % step),
        }
    }

    fn find_window(&self, min_len: u64, max_len: u64) -> Window {
        let hi = max_len.min(self.root.max);
        let lo = self.next_length(min_len.max(self.root.min));
        if lo > hi {
            return Window::Empty;
        }
        let cap = hi.min(lo.saturating_add(DP_SPAN));
        if cap <= DP_LIMIT {
            let mut budget = DP_BUDGET;
            if let Some(set) = self.lengths(&self.root, cap, &mut budget) {
                let found: Vec<u64> = set.iter().filter(|n| (lo..=cap).contains(n)).take(SLACK + 1).collect();
                return match (found.is_empty(), cap == hi) {
                    (false, _) => Window::Lengths(found),
                    (true, true) => Window::Empty,
                    (true, false) => self.span(lo, hi),
                };
            }
        }
        self.span(lo, hi)
    }

    /// Up to [`SLACK`] lengths from `lo` on that [`Node::step`] allows, within `hi`.
    fn span(&self, lo: u64, hi: u64) -> Window {
        let step = self.root.step.max(1);
        Window::Lengths(
            (0..=SLACK as u64).map(|i| lo.saturating_add(i * step)).take_while(|n| *n <= hi).collect(),
        )
    }

    /// The lengths of `node`'s matches up to `cap`; `None` past the budget.
    fn lengths(&self, node: &Node, cap: u64, budget: &mut u64) -> Option<Lengths> {
        *budget = budget.checked_sub(1)?;
        if node.min == NEVER || node.min > cap {
            return Some(Lengths::none(cap));
        }
        if node.min == node.max {
            return Some(Lengths::one(cap, node.min));
        }
        Some(match &node.kind {
            Kind::Concat(parts) => {
                let mut acc = Lengths::one(cap, 0);
                for p in parts {
                    acc = acc.then(&self.lengths(p, cap, budget)?, budget)?;
                    if acc.is_empty() {
                        break;
                    }
                }
                acc
            }
            Kind::Alternation(branches) => {
                let mut acc = Lengths::none(cap);
                for b in branches {
                    acc.union(&self.lengths(b, cap, budget)?);
                }
                acc
            }
            Kind::Repeat { sub, min, max } => {
                let one = self.lengths(sub, cap, budget)?;
                // `min` copies, by squaring; then each further copy until nothing changes.
                let (mut first, mut base, mut e) = (Lengths::one(cap, 0), one.clone(), *min);
                while e > 0 && !first.is_empty() {
                    if e & 1 == 1 {
                        first = first.then(&base, budget)?;
                    }
                    e >>= 1;
                    if e > 0 {
                        base = base.then(&base, budget)?;
                    }
                }
                let (mut acc, mut last, mut k) = (first.clone(), first, *min);
                let with_empty = one.has(0);
                while k < *max {
                    last = last.then(&one, budget)?;
                    k += 1;
                    if last.is_empty() {
                        break;
                    }
                    let before = acc.clone();
                    acc.union(&last);
                    if with_empty && acc == before {
                        break;
                    }
                }
                acc
            }
            _ => Lengths::one(cap, node.min),
        })
    }

    /// The keyword to blame and why, when no match has `min_len..=max_len` characters.
    pub(super) fn lengths_conflict(&self, min_len: u64, max_len: u64) -> Option<(&'static str, String)> {
        if min_len == 0 && max_len == u64::MAX {
            return None;
        }
        if !matches!(*self.window(min_len, max_len), Window::Empty) {
            return None;
        }
        let key = if self.root.min > max_len || min_len == 0 { "maxLength" } else { "minLength" };
        let most = match self.root.max {
            NEVER => " to unbounded".to_owned(),
            max if max == self.root.min => String::new(),
            max => format!(" to {max}"),
        };
        Some((
            key,
            format!(
                "no string matching the pattern has a length within minLength and maxLength (its matches have {}{most} characters, not every length between)",
                self.root.min
            ),
        ))
    }

    /// Most JSON bytes [`Pattern::generate`] needs to honour `minLength`/`maxLength` too (when it
    /// can): what the size budget reserves for the string.
    pub(super) fn need(&self, min_len: u64, max_len: u64) -> u64 {
        match &*self.window(min_len, max_len) {
            Window::Lengths(l) => self.bytes_of(l[0]),
            Window::Empty => self.min_bytes(),
        }
    }

    /// The shortest match (the same each time).
    fn shortest(&self) -> &str {
        self.shortest.get_or_init(|| {
            let (mut out, mut unbounded) = (String::new(), u64::MAX);
            self.aim(&self.root, self.root.min, &mut Rng::new(0x5eed), &mut out, &mut unbounded);
            out
        })
    }

    /// A string that matches the pattern and, when both can hold, has `min_len..=max_len`
    /// characters; at most `room` bytes of JSON when `room` is at least [`Pattern::need`]. Walks
    /// other than the shortest match spend `work` (node visits) and are abandoned when it runs out.
    pub(super) fn generate(
        &self,
        rng: &mut Rng,
        min_len: u64,
        max_len: u64,
        room: u64,
        work: &mut u64,
    ) -> String {
        let mut out = String::new();
        // With lengths asked for, a long natural walk mostly misses them: aim instead.
        let free = min_len == 0 && max_len == u64::MAX;
        let cheap = free || self.root.natural_work <= 64;
        if cheap && self.root.natural_work <= *work && self.bytes_of(self.root.natural) <= room {
            let chars = self.natural(&self.root, rng, &mut out, work);
            if chars >= min_len && chars <= max_len {
                return out;
            }
        }
        let room_chars = room.saturating_sub(2) / self.char_bytes;
        let window = self.window(min_len, max_len);
        let targets: Vec<u64> = match &*window {
            Window::Lengths(l) => l.iter().copied().filter(|n| *n <= room_chars).collect(),
            _ => Vec::new(),
        };
        for _ in 0..16 {
            if targets.is_empty() || *work == 0 {
                break;
            }
            out.clear();
            let target = targets[rng.below(targets.len() as u64) as usize];
            let chars = self.aim(&self.root, target, rng, &mut out, work);
            if *work > 0 && chars >= min_len && chars <= max_len && chars <= room_chars {
                return out;
            }
        }
        self.shortest().to_owned()
    }

    /// The unconstrained walk: random branches and counts; returns the characters added.
    fn natural(&self, node: &Node, rng: &mut Rng, out: &mut String, work: &mut u64) -> u64 {
        if *work == 0 {
            return 0;
        }
        *work -= 1;
        match &node.kind {
            Kind::Empty => 0,
            Kind::Literal(chars) => {
                out.extend(chars);
                chars.len() as u64
            }
            Kind::Class(m) => {
                out.push(m.pick(rng));
                1
            }
            Kind::Concat(parts) => parts.iter().map(|p| self.natural(p, rng, out, work)).sum(),
            Kind::Alternation(branches) => {
                let live: Vec<&Node> = branches.iter().filter(|b| b.min != NEVER).collect();
                let pick = live[rng.below(live.len() as u64) as usize];
                self.natural(pick, rng, out, work)
            }
            Kind::Repeat { sub, min, max } => {
                let count = rng.range(*min, (*max).min(min + EXTRA));
                (0..count).map(|_| self.natural(sub, rng, out, work)).sum()
            }
        }
    }

    /// Add about `target` characters matching `node` (exactly, where the node has a match that
    /// long and the split finds it); returns the characters added.
    fn aim(&self, node: &Node, target: u64, rng: &mut Rng, out: &mut String, work: &mut u64) -> u64 {
        if *work == 0 {
            return 0;
        }
        *work -= 1;
        // Nothing to make, and nothing needed: the empty match (however deep the node).
        if target == 0 && node.min == 0 {
            return 0;
        }
        match &node.kind {
            Kind::Concat(parts) => {
                // What the parts after each one match at least and at most.
                let mut rest = vec![(0, 0); parts.len()];
                for i in (1..parts.len()).rev() {
                    rest[i - 1] = (add(rest[i].0, parts[i].min), add(rest[i].1, parts[i].max));
                }
                let mut left = target;
                let mut made = 0;
                for (p, &(rest_min, rest_max)) in parts.iter().zip(&rest) {
                    let share = self.share(p, left, rest_min, rest_max, rng);
                    let got = self.aim(p, share, rng, out, work);
                    made += got;
                    left = left.saturating_sub(got);
                }
                made
            }
            Kind::Alternation(branches) => {
                let fits = |b: &&Node| b.min != NEVER && b.min <= target && target <= b.max;
                let first = &branches[rng.below(branches.len() as u64) as usize];
                let pick = if fits(&first) {
                    first
                } else {
                    let fitting: Vec<&Node> = branches.iter().filter(fits).collect();
                    if fitting.is_empty() {
                        let gap = |b: &&Node| {
                            let gap =
                                if target < b.min { b.min - target } else { target.saturating_sub(b.max) };
                            (gap, rng.next_u64())
                        };
                        match branches.iter().filter(|b| b.min != NEVER).min_by_key(gap) {
                            Some(b) => b,
                            None => return 0,
                        }
                    } else {
                        fitting[rng.below(fitting.len() as u64) as usize]
                    }
                };
                self.aim(pick, target, rng, out, work)
            }
            Kind::Repeat { sub, min, max } => {
                let (a, b) = (sub.min, sub.max);
                if *max == 0 || b == 0 {
                    return (0..*min).map(|_| self.aim(sub, 0, rng, out, work)).sum();
                }
                // Counts k with k*a <= target <= k*b, within min..=max.
                let fewest = match (target, b) {
                    (0, _) => 0,
                    (_, NEVER) => 1,
                    _ => target.div_ceil(b),
                };
                let low = (*min).max(fewest).min(*max);
                let high = target.checked_div(a).map_or(*max, |q| q.min(*max)).max(low);
                let count = rng.range(low, high.min(low + EXTRA));
                let mut left = target;
                let mut made = 0;
                for i in 0..count {
                    // Nothing left to make, and copies that may be empty: the rest are empty.
                    if *work == 0 || (left == 0 && a == 0) {
                        break;
                    }
                    let others = count - i - 1;
                    let share = self.share(sub, left, times(others, a), times(others, b), rng);
                    let got = self.aim(sub, share, rng, out, work);
                    made += got;
                    left = left.saturating_sub(got);
                }
                made
            }
            _ => self.natural(node, rng, out, work),
        }
    }

    /// A part's share of `left` characters: within its own `min..=max`, leaving the parts after it
    /// (which need `rest_min..=rest_max`) able to make the rest.
    /// A length `part` has (its `min` plus a multiple of its `step`) when one is in range.
    fn share(&self, part: &Node, left: u64, rest_min: u64, rest_max: u64, rng: &mut Rng) -> u64 {
        let lo = part.min.max(if rest_max == NEVER { 0 } else { left.saturating_sub(rest_max) });
        let hi = part.max.min(left.saturating_sub(rest_min));
        if lo >= hi {
            return lo;
        }
        let v = rng.range(lo, hi);
        if part.step == 0 {
            return if (lo..=hi).contains(&part.min) { part.min } else { v };
        }
        let up = v.saturating_add((part.step - (v - part.min) % part.step) % part.step);
        if up <= hi {
            up
        } else if up >= part.step && up - part.step >= lo {
            up - part.step
        } else {
            v
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(p: &str) -> regex::Regex {
        regex::Regex::new(p).unwrap()
    }

    fn compiled(p: &str) -> Pattern {
        Pattern::compile(p).unwrap().unwrap()
    }

    fn gen(c: &Pattern, seed: u64, lo: u64, hi: u64, room: u64) -> String {
        c.generate(&mut Rng::new(seed), lo, hi, room, &mut { MAX_WORK })
    }

    const PATTERNS: [&str; 14] = [
        r"^[A-Z]{3}-\d{4}$",
        r"^\+?[1-9]\d{1,14}$",
        r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$",
        r"^(red|green|blue)$",
        r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z$",
        r"^(?i)hello\s+world$",
        r"^[^\s]{5,10}$",
        r"^(ab)+c?$",
        r"^#[0-9a-fA-F]{6}$",
        r"v\d+\.\d+",
        r"^\w+(\s\w+)*$",
        r#"^["\\]{2}[\x00-\x1f]$"#,
        r"^(?:[a-z]+/)*[a-z]+\.(?:json|yaml)$",
        r"^[\p{Greek}]{3}$",
    ];

    #[test]
    fn generated_strings_match() {
        for p in PATTERNS {
            let (re, c) = (matcher(p), compiled(p));
            for seed in 0..300 {
                let s = gen(&c, seed, 0, u64::MAX, MAX_OUTPUT_BYTES);
                assert!(re.is_match(&s), "{p}: {s:?}");
            }
        }
    }

    #[test]
    fn lengths_are_honoured_when_the_pattern_allows() {
        let cases: [(&str, u64, u64); 5] = [
            (r"^[a-z]+$", 40, 50),
            (r"^\w+@\w+\.com$", 20, 20),
            (r"^(ab)+$", 7, 9),
            (r"^[A-Z]{2}\d*$", 0, 3),
            (r"^[a-z]{3,}(-[a-z]+)*$", 100, u64::MAX),
        ];
        for (p, lo, hi) in cases {
            let (re, c) = (matcher(p), compiled(p));
            for seed in 0..300 {
                let s = gen(&c, seed, lo, hi, MAX_OUTPUT_BYTES);
                let n = s.chars().count() as u64;
                assert!(re.is_match(&s) && (lo..=hi).contains(&n), "{p} {lo}..={hi}: {s:?}");
            }
        }
        // Lengths only some splits reach: aimed at often enough, and always a match.
        let (re, c) = (matcher(r"^(x|yyyyy)+$"), compiled(r"^(x|yyyyy)+$"));
        let mut hits = 0;
        for seed in 0..300 {
            let s = gen(&c, seed, 12, 12, MAX_OUTPUT_BYTES);
            assert!(re.is_match(&s), "{s:?}");
            hits += usize::from(s.len() == 12);
        }
        assert!(hits > 200, "{hits}");
        // No match has 5..=6 characters: the pattern wins, with its shortest match.
        let c = compiled(r"^[A-Z]{3}-\d{4}$");
        let s = gen(&c, 1, 5, 6, MAX_OUTPUT_BYTES);
        assert!(matcher(r"^[A-Z]{3}-\d{4}$").is_match(&s));
    }

    #[test]
    fn room_bounds_the_string() {
        for p in [r"^[a-z]+(,[a-z]+)*$", r#"^["a]{10,}$"#, r"^.{3,}$"] {
            let (re, c) = (matcher(p), compiled(p));
            for seed in 0..200 {
                let need = c.need(0, u64::MAX);
                let s = gen(&c, seed, 0, u64::MAX, need);
                let bytes = serde_json::Value::from(s.clone()).to_string().len() as u64;
                assert!(re.is_match(&s) && bytes <= need, "{p}: {s:?} {bytes} > {need}");
            }
        }
    }

    #[test]
    fn bad_and_unsupported_patterns() {
        assert!(Pattern::compile("[a-").err().unwrap().contains("invalid regular expression"));
        assert!(Pattern::compile("(").is_err());
        assert!(Pattern::compile(r"^(?=a)b").unwrap().is_none());
        assert!(Pattern::compile(r"(a)\1").unwrap().is_none());
        assert!(Pattern::compile(r"[^\s\S]").err().unwrap().contains("no string"));
        assert!(Pattern::compile(&"a".repeat(MAX_PATTERN_LEN + 1)).is_err());
        assert!(Pattern::compile(&r"\w".repeat(200)).err().unwrap().contains("classes"));
        assert!(Pattern::compile(&format!("{}a{}", "(".repeat(200), ")".repeat(200))).is_err());
        assert!(Pattern::compile(r"^(a{1000}){1100}$").err().unwrap().contains("limit"));
        assert!(Pattern::compile(r"((a(x?)(x?)(x?)(x?)(x?)(x?)(x?)(x?)){1000}){1000}")
            .err()
            .unwrap()
            .contains("repeats"));
        // Deep optional nesting forces nothing: its shortest match (empty) costs nothing.
        assert!(Pattern::compile(r"((((a?){1000}){1000}){1000})").unwrap().is_some());
        // Big but within the limits: generated quickly, exactly.
        let c = compiled(r"^(a{1000}){1000}$");
        assert_eq!(gen(&c, 1, 0, u64::MAX, MAX_OUTPUT_BYTES).len(), 1_000_000);
        let c = compiled(r"^(((a|b)+)+)+$");
        let s = gen(&c, 1, 0, u64::MAX, MAX_OUTPUT_BYTES);
        assert!(matcher(r"^(((a|b)+)+)+$").is_match(&s));
    }
}

#[cfg(test)]
mod hostile {
    use super::*;

    fn refused(p: &str) -> String {
        Pattern::compile(p).err().unwrap_or_else(|| panic!("{p} accepted"))
    }

    #[test]
    fn anchors_that_cannot_hold_are_refused_and_edge_ones_honoured() {
        for p in ["a^b", "^x$y", r"^a\z b"] {
            assert!(refused(p).contains("no string matches"), "{p}: {}", refused(p));
        }
        assert!(refused(r"^\w\b\w$").contains("word boundaries"));
        assert!(refused(r"^a\Ba$").contains("word boundaries"));
        assert!(refused("a?^b").contains("only at the start or end"));
        assert!(refused("(^a)+").contains("only at the start or end"));
        for p in [r"^a$|^b$", r"(?m)^a$\n^b$", "(^a)?b", r"\Aab\z", "^(?:x|y)$", "(^)*a"] {
            let (re, c) = (regex::Regex::new(p).unwrap(), Pattern::compile(p).unwrap().unwrap());
            for seed in 0..50 {
                let s = c.generate(&mut Rng::new(seed), 0, u64::MAX, MAX_OUTPUT_BYTES, &mut { MAX_WORK });
                assert!(re.is_match(&s), "{p}: {s:?}");
            }
        }
    }

    #[test]
    fn lengths_no_match_can_have_are_conflicts() {
        let conflict =
            |p: &str, lo, hi| Pattern::compile(p).unwrap().unwrap().lengths_conflict(lo, hi).map(|c| c.0);
        let h1 = "^((((aa)?){1000}){1000}){4}$";
        assert_eq!(conflict(h1, 5, 5), Some("minLength"));
        assert_eq!(conflict(h1, 6, 6), None);
        assert_eq!(conflict("^(ab)+$", 5, 5), Some("minLength"));
        assert_eq!(conflict("^[A-Z]{3}$", 10, u64::MAX), Some("minLength"));
        assert_eq!(conflict("a", 0, 0), Some("maxLength"));
        assert_eq!(conflict("^x(a{100})*$", 2, u64::MAX), None);
        assert_eq!(conflict("^x(a{100})*$", 2, 100), Some("minLength"));
        // Past what the exact search affords, the lengths' step still tells odd from even.
        assert_eq!(conflict(h1, 99_999, 99_999), Some("minLength"));
        assert_eq!(conflict(h1, 99_998, 99_998), None);
        assert_eq!(conflict(r"^(ab|abcd)+$", 0, 1), Some("maxLength"));
        // Only even lengths, aimed at exactly, fast.
        let c = Pattern::compile(h1).unwrap().unwrap();
        let started = std::time::Instant::now();
        for seed in 0..200 {
            let s = c.generate(&mut Rng::new(seed), 6, 6, MAX_OUTPUT_BYTES, &mut { MAX_WORK });
            assert_eq!(s, "aaaaaa");
        }
        let s = c.generate(&mut Rng::new(1), 99_998, 99_998, MAX_OUTPUT_BYTES, &mut { MAX_WORK });
        assert_eq!(s.len(), 99_998);
        let c = Pattern::compile("^x(a{100})*$").unwrap().unwrap();
        for seed in 0..50 {
            let s = c.generate(&mut Rng::new(seed), 2, 150, MAX_OUTPUT_BYTES, &mut { MAX_WORK });
            assert_eq!(s.len(), 101);
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[test]
    fn walks_stop_when_the_work_runs_out() {
        // `((a|b){0,1000}){1000}` aimed at 5000 characters: a walk far over a budget of 100 steps.
        let c = Pattern::compile("^((a|b){0,1000}){1000}$").unwrap().unwrap();
        let mut work = 100;
        let s = c.generate(&mut Rng::new(1), 5000, 5000, MAX_OUTPUT_BYTES, &mut work);
        assert_eq!((s.as_str(), work), ("", 0), "the shortest match, without work");
        // The shortest match is made once and costs no work: `(a{1000}){1000}` with none left.
        let c = Pattern::compile("^(a{1000}){1000}$").unwrap().unwrap();
        assert_eq!(c.generate(&mut Rng::new(1), 0, u64::MAX, MAX_OUTPUT_BYTES, &mut 0).len(), 1_000_000);
        // Deep optional nesting: the empty match is found without walking it.
        let c = Pattern::compile("^((((a?){1000}){1000}){1000})$").unwrap().unwrap();
        assert_eq!(c.generate(&mut Rng::new(1), 0, 0, MAX_OUTPUT_BYTES, &mut 10), "");
    }

    #[test]
    fn distinct_matches_are_counted() {
        let count = |p: &str| Pattern::compile(p).unwrap().unwrap().count();
        assert_eq!(count("^[ab]$"), 2);
        assert_eq!(count("^a$"), 1);
        assert_eq!(count("^[a-z]{3}$"), 17_576);
        assert_eq!(count("^(x|y)?z{1,2}$"), 6);
        assert_eq!(count("^a+$"), MANY);
        assert_eq!(count(r"^\w{20}$"), MANY);
    }

    #[test]
    fn a_schema_s_patterns_share_one_budget_and_compile_once() {
        let unit = r"(?i)[^\p{L}\p{N}]";
        let started = std::time::Instant::now();
        // The same pattern a thousand times: compiled once.
        let mut budget = PatternBudget::default();
        let p = unit.repeat(80);
        for _ in 0..1000 {
            assert!(budget.admit(&p).unwrap().is_some());
        }
        // A thousand different ones: refused after the first few.
        let mut budget = PatternBudget::default();
        let why = (0..1000).find_map(|i| budget.admit(&format!("{i}{p}")).err()).unwrap();
        assert!(why.contains("ranges together"), "{why}");
        let mut budget = PatternBudget::default();
        let why = (0..1000).find_map(|i| budget.admit(&format!("{i}{}", "a".repeat(4000))).err()).unwrap();
        assert!(why.contains("bytes together"), "{why}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    }
}
