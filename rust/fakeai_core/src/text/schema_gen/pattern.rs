//! Strings for a JSON Schema `pattern`: [`Pattern::compile`] parses the regular expression with
//! `regex-syntax` (the parser of the `regex` crate, whose syntax covers what pydantic and OpenAI
//! accept: classes, `\d\w\s`, counted repetitions, groups, alternation, anchors) into a small tree
//! that knows, per node, the fewest and most characters it matches; [`Pattern::generate`] walks it.
//!
//! - Literals are copied; a class gives one member, an ASCII letter or digit when it has one (three
//!   times in four), else printable ASCII, else any member; anchors and word boundaries match
//!   nothing (a word boundary is not enforced).
//! - Repetitions take a small random count: `*`, `+`, `{n,}` and wide `{n,m}` at most 8 past `n`.
//! - `minLength`/`maxLength`: when the natural draw is outside them, a length in range is drawn and
//!   the walk aims at it (splitting it over concatenations and repetitions); if no length satisfies
//!   both the pattern and the lengths, or the aim misses (`(ab)+` has no odd length), the pattern
//!   wins: its shortest match is generated.
//! - Look-arounds and backreferences are not regular: `regex-syntax` refuses them, and the string is
//!   generated as if the schema had no `pattern` ([`Pattern::compile`] gives `Ok(None)`).
//! - Bounds before anything is allocated: at most [`MAX_PATTERN_LEN`] bytes and [`NEST_LIMIT`]
//!   levels of nesting; a pattern that matches nothing, whose shortest match is over
//!   [`MAX_OUTPUT_BYTES`], or that forces over [`MAX_WORK`] steps of generation is rejected.
//!
//! [`MAX_OUTPUT_BYTES`]: super::MAX_OUTPUT_BYTES

use super::MAX_OUTPUT_BYTES;
use crate::rng::Rng;
use regex_syntax::hir::{Class, Hir, HirKind};

/// Longest `pattern` accepted, in bytes.
pub(super) const MAX_PATTERN_LEN: usize = 4096;
/// Deepest nesting of groups, repetitions and alternations in a `pattern`.
pub(super) const NEST_LIMIT: u32 = 64;
/// Most node visits the shortest match of a pattern may take (`((a?){1000}){1000}` is 2 million).
pub(super) const MAX_WORK: u64 = 1 << 22;
/// Most class ranges a pattern's classes may hold together (`\w` is about 770).
pub(super) const MAX_CLASS_RANGES: usize = 1 << 16;
/// How far past its minimum a repetition goes when nothing asks for a length.
const EXTRA: u64 = 8;
/// How far past the least length asked for (`minLength`, or the pattern's shortest match) an aimed
/// length goes.
const SLACK: u64 = 16;
/// A length that no string reaches ("unbounded", or "matches nothing" as a minimum).
const NEVER: u64 = u64::MAX;

/// A compiled `pattern`.
pub(super) struct Pattern {
    root: Node,
    /// Most bytes one generated character takes as JSON text (1 for ASCII, 2 for `"`/`\`, up to 6
    /// for an escaped control character).
    char_bytes: u64,
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

impl Node {
    fn leaf(kind: Kind, len: u64) -> Node {
        Node { kind, min: len, max: len, natural: len, work: 1, natural_work: 1 }
    }

    /// The node of `hir`; `most` gathers the most JSON bytes of a character and the class ranges
    /// kept so far (the walk stops keeping them past [`MAX_CLASS_RANGES`]).
    fn from_hir(hir: &Hir, most: &mut (u64, usize)) -> Node {
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => Node::leaf(Kind::Empty, 0),
            HirKind::Literal(lit) => {
                let chars: Vec<char> = String::from_utf8_lossy(&lit.0).chars().collect();
                for &c in &chars {
                    most.0 = most.0.max(char_bytes(c));
                }
                let n = chars.len() as u64;
                Node::leaf(Kind::Literal(chars), n)
            }
            HirKind::Class(class) => {
                let members = match class {
                    _ if most.1 > MAX_CLASS_RANGES => return Node::leaf(Kind::Empty, 0),
                    Class::Unicode(c) => {
                        most.1 += c.ranges().len();
                        Members::new(c.ranges().iter().map(|r| (r.start(), r.end())))
                    }
                    // Without Unicode (`(?-u)`) a class is of bytes, ASCII ones where the output is UTF-8.
                    Class::Bytes(c) => Members::new(
                        c.ranges()
                            .iter()
                            .filter(|r| r.start() <= 0x7f)
                            .map(|r| (char::from(r.start()), char::from(r.end().min(0x7f)))),
                    ),
                };
                if members.total == 0 {
                    let mut node = Node::leaf(Kind::Class(members), 0);
                    node.min = NEVER;
                    return node;
                }
                most.0 = most.0.max(members.bytes());
                Node::leaf(Kind::Class(members), 1)
            }
            HirKind::Capture(cap) => Node::from_hir(&cap.sub, most),
            HirKind::Concat(parts) => {
                let parts: Vec<Node> = parts.iter().map(|h| Node::from_hir(h, most)).collect();
                let mut n = Node::leaf(Kind::Empty, 0);
                for p in &parts {
                    n.min = add(n.min, p.min);
                    n.max = add(n.max, p.max);
                    n.natural = add(n.natural, p.natural);
                    n.work = add(n.work, p.work);
                    n.natural_work = add(n.natural_work, p.natural_work);
                }
                n.kind = Kind::Concat(parts);
                n
            }
            HirKind::Alternation(branches) => {
                let branches: Vec<Node> = branches.iter().map(|h| Node::from_hir(h, most)).collect();
                let live = || branches.iter().filter(|b| b.min != NEVER);
                let mut n = Node::leaf(Kind::Empty, 0);
                n.min = live().map(|b| b.min).min().unwrap_or(NEVER);
                n.max = live().map(|b| b.max).max().unwrap_or(0);
                n.natural = live().map(|b| b.natural).max().unwrap_or(0);
                n.work = add(1, live().map(|b| b.work).max().unwrap_or(0));
                n.natural_work = add(1, live().map(|b| b.natural_work).max().unwrap_or(0));
                n.kind = Kind::Alternation(branches);
                n
            }
            HirKind::Repetition(rep) => {
                let sub = Node::from_hir(&rep.sub, most);
                let (min, max) = (u64::from(rep.min), rep.max.map_or(NEVER, u64::from));
                let natural_count = max.min(min + EXTRA);
                let mut n = Node::leaf(Kind::Empty, 0);
                if sub.min == NEVER {
                    // Only zero copies match.
                    (n.min, n.max, n.natural) = (if min == 0 { 0 } else { NEVER }, 0, 0);
                    n.kind = Kind::Repeat { sub: Box::new(sub), min: 0, max: 0 };
                    return n;
                }
                n.min = times(min, sub.min);
                n.max = if max == NEVER && sub.max > 0 { NEVER } else { times(max.min(NEVER - 1), sub.max) };
                n.natural = times(natural_count, sub.natural);
                n.work = add(1, times(min, sub.work));
                n.natural_work = add(1, times(natural_count, sub.natural_work));
                n.kind = Kind::Repeat { sub: Box::new(sub), min, max };
                n
            }
        }
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
        let mut most = (1, 0);
        let root = Node::from_hir(&hir, &mut most);
        if most.1 > MAX_CLASS_RANGES {
            return Err(format!(
                "the pattern's character classes are too large (over {MAX_CLASS_RANGES} ranges)"
            ));
        }
        let p = Pattern { root, char_bytes: most.0 };
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

    /// The lengths in characters to aim at for `minLength`/`maxLength`: `None` when no match is
    /// within them (then the pattern wins).
    fn window(&self, min_len: u64, max_len: u64) -> Option<(u64, u64)> {
        let lo = min_len.max(self.root.min);
        let hi = max_len.min(self.root.max).min(lo.saturating_add(SLACK));
        (lo <= hi).then_some((lo, hi))
    }

    /// Most JSON bytes [`Pattern::generate`] needs to honour `minLength`/`maxLength` too (when it
    /// can): what the size budget reserves for the string.
    pub(super) fn need(&self, min_len: u64, max_len: u64) -> u64 {
        match self.window(min_len, max_len) {
            Some((lo, _)) => self.bytes_of(lo),
            None => self.min_bytes(),
        }
    }

    /// A string that matches the pattern and, when both can hold, has `min_len..=max_len`
    /// characters; at most `room` bytes of JSON when `room` is at least [`Pattern::need`].
    pub(super) fn generate(&self, rng: &mut Rng, min_len: u64, max_len: u64, room: u64) -> String {
        let mut out = String::new();
        if self.root.natural_work <= MAX_WORK && self.bytes_of(self.root.natural) <= room {
            let chars = self.natural(&self.root, rng, &mut out);
            if chars >= min_len && chars <= max_len {
                return out;
            }
        }
        let room_chars = room.saturating_sub(2) / self.char_bytes;
        if let Some((lo, hi)) = self.window(min_len, max_len) {
            let hi = hi.min(room_chars);
            for _ in 0..16 {
                if lo > hi {
                    break;
                }
                out.clear();
                let target = rng.range(lo, hi);
                let chars = self.aim(&self.root, target, rng, &mut out);
                if chars >= min_len && chars <= max_len.min(hi) {
                    return out;
                }
            }
        }
        out.clear();
        self.aim(&self.root, self.root.min, rng, &mut out);
        out
    }

    /// The unconstrained walk: random branches and counts; returns the characters added.
    fn natural(&self, node: &Node, rng: &mut Rng, out: &mut String) -> u64 {
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
            Kind::Concat(parts) => parts.iter().map(|p| self.natural(p, rng, out)).sum(),
            Kind::Alternation(branches) => {
                let live: Vec<&Node> = branches.iter().filter(|b| b.min != NEVER).collect();
                let pick = live[rng.below(live.len() as u64) as usize];
                self.natural(pick, rng, out)
            }
            Kind::Repeat { sub, min, max } => {
                let count = rng.range(*min, (*max).min(min + EXTRA));
                (0..count).map(|_| self.natural(sub, rng, out)).sum()
            }
        }
    }

    /// Add about `target` characters matching `node` (exactly, where the node has a match that
    /// long and the split finds it); returns the characters added.
    fn aim(&self, node: &Node, target: u64, rng: &mut Rng, out: &mut String) -> u64 {
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
                    let share = self.share(p.min, p.max, left, rest_min, rest_max, rng);
                    let got = self.aim(p, share, rng, out);
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
                self.aim(pick, target, rng, out)
            }
            Kind::Repeat { sub, min, max } => {
                let (a, b) = (sub.min, sub.max);
                if *max == 0 || b == 0 {
                    return (0..*min).map(|_| self.aim(sub, 0, rng, out)).sum();
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
                    let others = count - i - 1;
                    let share = self.share(a, b, left, times(others, a), times(others, b), rng);
                    let got = self.aim(sub, share, rng, out);
                    made += got;
                    left = left.saturating_sub(got);
                }
                made
            }
            _ => self.natural(node, rng, out),
        }
    }

    /// A part's share of `left` characters: within its own `min..=max`, leaving the parts after it
    /// (which need `rest_min..=rest_max`) able to make the rest.
    fn share(&self, min: u64, max: u64, left: u64, rest_min: u64, rest_max: u64, rng: &mut Rng) -> u64 {
        let lo = min.max(if rest_max == NEVER { 0 } else { left.saturating_sub(rest_max) });
        let hi = max.min(left.saturating_sub(rest_min));
        if lo >= hi {
            lo
        } else {
            rng.range(lo, hi)
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
                let s = c.generate(&mut Rng::new(seed), 0, u64::MAX, MAX_OUTPUT_BYTES);
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
                let s = c.generate(&mut Rng::new(seed), lo, hi, MAX_OUTPUT_BYTES);
                let n = s.chars().count() as u64;
                assert!(re.is_match(&s) && (lo..=hi).contains(&n), "{p} {lo}..={hi}: {s:?}");
            }
        }
        // Lengths only some splits reach: aimed at often enough, and always a match.
        let (re, c) = (matcher(r"^(x|yyyyy)+$"), compiled(r"^(x|yyyyy)+$"));
        let mut hits = 0;
        for seed in 0..300 {
            let s = c.generate(&mut Rng::new(seed), 12, 12, MAX_OUTPUT_BYTES);
            assert!(re.is_match(&s), "{s:?}");
            hits += usize::from(s.len() == 12);
        }
        assert!(hits > 200, "{hits}");
        // No match has 5..=6 characters: the pattern wins, with its shortest match.
        let c = compiled(r"^[A-Z]{3}-\d{4}$");
        let s = c.generate(&mut Rng::new(1), 5, 6, MAX_OUTPUT_BYTES);
        assert!(matcher(r"^[A-Z]{3}-\d{4}$").is_match(&s));
    }

    #[test]
    fn room_bounds_the_string() {
        for p in [r"^[a-z]+(,[a-z]+)*$", r#"^["a]{10,}$"#, r"^.{3,}$"] {
            let (re, c) = (matcher(p), compiled(p));
            for seed in 0..200 {
                let need = c.need(0, u64::MAX);
                let s = c.generate(&mut Rng::new(seed), 0, u64::MAX, need);
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
        assert!(Pattern::compile(r"((((a?){1000}){1000}){1000})").err().unwrap().contains("repeats"));
        // Big but within the limits: generated quickly, exactly.
        let c = compiled(r"^(a{1000}){1000}$");
        assert_eq!(c.generate(&mut Rng::new(1), 0, u64::MAX, MAX_OUTPUT_BYTES).len(), 1_000_000);
        let c = compiled(r"^(((a|b)+)+)+$");
        let s = c.generate(&mut Rng::new(1), 0, u64::MAX, MAX_OUTPUT_BYTES);
        assert!(matcher(r"^(((a|b)+)+)+$").is_match(&s));
    }
}
