//! The compiled tree: a node per part of the parsed expression, with the fewest and most
//! characters it matches, and the anchors it can honour.

use super::class::{char_bytes, Members};
use super::{PatternError, EXTRA, MANY, MAX_CLASS_RANGES, NEVER};
use regex_syntax::hir::{Class, Hir, HirKind, Look};

pub(super) struct Node {
    pub(super) kind: Kind,
    /// Fewest characters matched ([`NEVER`]: the node matches nothing).
    pub(super) min: u64,
    /// Most characters matched ([`NEVER`]: unbounded).
    pub(super) max: u64,
    /// Most characters the natural walk makes ([`NEVER`] past [`MAX_WORK`](super::MAX_WORK)).
    pub(super) natural: u64,
    /// Node visits of the shortest match, and of the natural walk at most.
    pub(super) work: u64,
    pub(super) natural_work: u64,
    /// Distinct strings matched, at most (up to [`MANY`]).
    pub(super) count: u64,
    /// Every match's length is `min` plus a multiple of `step` (`0`: only `min`): `(aa)*` has
    /// step 2, so no odd length.
    pub(super) step: u64,
}

pub(super) enum Kind {
    Empty,
    Literal(Vec<char>),
    Class(Members),
    Concat(Vec<Node>),
    Alternation(Vec<Node>),
    Repeat { sub: Box<Node>, min: u64, max: u64 },
}

pub(super) fn add(a: u64, b: u64) -> u64 {
    if a == NEVER || b == NEVER {
        NEVER
    } else {
        a.saturating_add(b).min(NEVER - 1)
    }
}

pub(super) fn times(n: u64, a: u64) -> u64 {
    match (n, a) {
        (0, _) | (_, 0) => 0,
        (_, NEVER) => NEVER,
        _ => n.saturating_mul(a).min(NEVER - 1),
    }
}

/// What the walk over the parsed expression gathers: the most JSON bytes of a character, the class
/// ranges and nodes kept so far, and the first reason to refuse the pattern.
pub(super) struct Build {
    pub(super) char_bytes: u64,
    pub(super) ranges: usize,
    pub(super) nodes: u64,
    pub(super) error: Option<PatternError>,
}

/// What may stand next to a node on one side: `empty`, surely nothing; `some`, surely a
/// character; `newline`, surely a `\n` right there.
#[derive(Clone, Copy)]
pub(super) struct Side {
    empty: bool,
    some: bool,
    newline: bool,
}

pub(super) const EDGE: Side = Side { empty: true, some: false, newline: false };

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
    pub(super) fn from_hir(hir: &Hir, b: &mut Build, before: Side, after: Side) -> Node {
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
