//! The generation walk: the natural one, one aimed at a length, and the shortest match.

use super::compile::{add, times, Kind, Node};
use super::lengths::Window;
use super::{Pattern, EXTRA, NEVER};
use crate::rng::Rng;

impl Pattern {
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
    pub(in crate::text::schema_gen) fn generate(
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
