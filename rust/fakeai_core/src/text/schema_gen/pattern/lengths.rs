//! The lengths a match can have within `minLength`/`maxLength`: a bounded search over lengths,
//! and the window generation aims at.

use super::compile::{Kind, Node};
use super::{Pattern, DP_BUDGET, DP_LIMIT, DP_SPAN, NEVER, SLACK};
use std::rc::Rc;

/// The lengths generation aims at for `minLength`/`maxLength`.
pub(super) enum Window {
    /// These lengths have matches (the first few within the lengths asked for): exactly, or, past
    /// what the lengths examined, those [`Node::step`] allows.
    Lengths(Vec<u64>),
    /// No match has a length within them.
    Empty,
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

impl Pattern {
    /// The lengths to aim at for `minLength`/`maxLength`.
    pub(super) fn window(&self, min_len: u64, max_len: u64) -> Rc<Window> {
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
    pub(in crate::text::schema_gen) fn lengths_conflict(
        &self,
        min_len: u64,
        max_len: u64,
    ) -> Option<(&'static str, String)> {
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
    pub(in crate::text::schema_gen) fn need(&self, min_len: u64, max_len: u64) -> u64 {
        match &*self.window(min_len, max_len) {
            Window::Lengths(l) => self.bytes_of(l[0]),
            Window::Empty => self.min_bytes(),
        }
    }
}
