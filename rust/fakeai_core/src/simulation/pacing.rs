//! Pacing: which streamed steps are due when, for the one-timer ticker of a worker process.
//!
//! [`SlotQueue`] holds items (a stream's next step, a waiter) by deadline, rounded to slots of a fixed
//! width (1 ms in fakeai): the event-loop timer is armed for the earliest slot, and when it fires
//! every item of every slot due is taken in one pass, in deadline order (first parked first within a
//! slot). [`Cursor`] is a stream's position in its schedule: the steps due by a moment are taken
//! together, so a late wake-up sends everything already due in one write and never delays the
//! steps after it (deadlines are absolute, from the request's start).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Items by slot, earliest first.
pub struct SlotQueue<T> {
    resolution: f64,
    heap: BinaryHeap<Parked<T>>,
    seq: u64,
}

struct Parked<T> {
    slot: i64,
    seq: u64,
    item: T,
}

impl<T> Ord for Parked<T> {
    /// Reversed, so that the max-heap pops the earliest slot (and, within it, the first parked).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.slot, other.seq).cmp(&(self.slot, self.seq))
    }
}

impl<T> PartialOrd for Parked<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> PartialEq for Parked<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.slot, self.seq) == (other.slot, other.seq)
    }
}

impl<T> Eq for Parked<T> {}

impl<T> SlotQueue<T> {
    /// A queue of slots `resolution` seconds wide.
    pub fn new(resolution: f64) -> Self {
        SlotQueue { resolution, heap: BinaryHeap::new(), seq: 0 }
    }

    /// The slot a deadline falls in: the nearest, so an item is early or late by half a slot at most.
    pub fn slot(&self, deadline: f64) -> i64 {
        (deadline / self.resolution).round() as i64
    }

    /// Park `item` for `deadline`; returns its slot.
    pub fn push(&mut self, deadline: f64, item: T) -> i64 {
        let slot = self.slot(deadline);
        self.seq += 1;
        self.heap.push(Parked { slot, seq: self.seq, item });
        slot
    }

    /// Whether an item for `deadline` would be taken by `take_due(due)`.
    pub fn is_due(&self, due: f64) -> impl Fn(f64) -> bool {
        let (resolution, last) = (self.resolution, (due / self.resolution).floor() as i64);
        move |deadline| (deadline / resolution).round() as i64 <= last
    }

    /// The earliest slot with an item.
    pub fn earliest(&self) -> Option<i64> {
        self.heap.peek().map(|p| p.slot)
    }

    /// Take every item whose slot's time is at or before `due` (seconds), earliest first.
    pub fn take_due(&mut self, due: f64, out: &mut Vec<T>) {
        let last = (due / self.resolution).floor() as i64;
        while self.heap.peek().is_some_and(|p| p.slot <= last) {
            if let Some(p) = self.heap.pop() {
                out.push(p.item);
            }
        }
    }

    /// Move each item for which `earlier` gives a deadline before its slot to that deadline; the
    /// others keep their place. O(n log n), for rare events (a request ahead cancelled).
    pub fn advance(&mut self, mut earlier: impl FnMut(&mut T) -> Option<f64>) {
        let parked = std::mem::take(&mut self.heap).into_vec();
        for mut p in parked {
            if let Some(deadline) = earlier(&mut p.item) {
                p.slot = p.slot.min(self.slot(deadline));
            }
            self.heap.push(p);
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// A stream's place in its schedule: `offsets[i]` seconds after `start` step `i` is due.
#[derive(Debug, Clone)]
pub struct Cursor {
    start: f64,
    offsets: Vec<f64>,
    next: usize,
}

impl Cursor {
    pub fn new(start: f64, offsets: Vec<f64>) -> Self {
        Cursor { start, offsets, next: 0 }
    }

    /// When the next step is due, or None once every step was taken.
    pub fn next_deadline(&self) -> Option<f64> {
        self.offsets.get(self.next).map(|o| self.start + o)
    }

    /// Take the next step and every later one already due at `now`: the range of step indexes to
    /// send in one write (empty once the stream is done).
    pub fn take(&mut self, now: f64) -> std::ops::Range<usize> {
        self.take_at_most(now, usize::MAX)
    }

    /// [`Cursor::take`], but at most `max` (>= 1) steps: the rest stay due for the next write.
    pub fn take_at_most(&mut self, now: f64, max: usize) -> std::ops::Range<usize> {
        let first = self.next;
        if first >= self.offsets.len() {
            return first..first;
        }
        let last = self.offsets.len().min(first.saturating_add(max.max(1)));
        let mut end = first + 1;
        while end < last && self.start + self.offsets[end] <= now {
            end += 1;
        }
        self.next = end;
        first..end
    }

    /// Move every step not yet taken by `seconds` (later when positive).
    pub fn shift(&mut self, seconds: f64) {
        self.start += seconds;
    }

    /// Move the last step by `seconds`, and the steps not taken before it in proportion: each keeps
    /// its place between the last step taken (or the start) and the last step.
    pub fn shift_last(&mut self, seconds: f64) {
        let Some(&old) = self.offsets.last() else { return };
        let from = if self.next > 0 { self.offsets[self.next - 1] } else { 0.0 };
        let new = old + seconds;
        let span = old - from;
        let n = self.offsets.len();
        for o in &mut self.offsets[self.next.min(n)..n - 1] {
            *o = if span > 0.0 { from + (*o - from) * (new - from) / span } else { o.min(new) };
        }
        self.offsets[n - 1] = new;
    }

    /// When the last step is due.
    pub fn last_deadline(&self) -> Option<f64> {
        self.offsets.last().map(|o| self.start + o)
    }

    /// Steps not taken yet.
    pub fn remaining(&self) -> usize {
        self.offsets.len() - self.next.min(self.offsets.len())
    }

    /// True once every step was taken.
    pub fn finished(&self) -> bool {
        self.next >= self.offsets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(q: &mut SlotQueue<&'static str>, due: f64) -> Vec<&'static str> {
        let mut out = Vec::new();
        q.take_due(due, &mut out);
        out
    }

    #[test]
    fn settling_the_last_step_moves_the_steps_before_it_in_proportion() {
        let mut c = Cursor::new(10.0, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(c.take(10.5), 0..1);
        c.shift(0.5); // the first token came half a second late: every step moves
        assert_eq!(c.next_deadline(), Some(11.5));
        assert_eq!(c.take(11.6), 1..2);
        c.shift_last(-1.5); // the last comes 1.5 s before its forecast (14.5): 13.0
        assert_eq!(c.last_deadline(), Some(13.0));
        // Between the step taken (at 11.5) and the new last, in the same proportions.
        assert!((c.next_deadline().unwrap() - 12.0).abs() < 1e-12);
        assert_eq!(c.remaining(), 3);
        assert_eq!(c.take(13.0), 2..5);
        assert!(c.finished());
    }

    #[test]
    fn advancing_moves_only_the_items_asked_and_never_later() {
        let mut q = SlotQueue::new(0.001);
        q.push(0.010, "stays");
        q.push(0.500, "waiter");
        q.push(0.300, "late");
        q.advance(|item| match *item {
            "waiter" => Some(0.002),
            "late" => Some(0.900), // not earlier than its slot: it keeps it
            _ => None,
        });
        assert_eq!(q.earliest(), Some(2));
        assert_eq!(drain(&mut q, 0.0101), vec!["waiter", "stays"]);
        assert_eq!(drain(&mut q, 0.2999), Vec::<&str>::new());
        assert_eq!(drain(&mut q, 0.3), vec!["late"]);
        assert!(q.is_empty());
    }

    #[test]
    fn items_come_out_by_slot_then_in_parking_order() {
        let mut q = SlotQueue::new(0.001);
        q.push(0.0031, "c");
        q.push(0.0012, "a");
        q.push(0.0029, "b"); // same 3 ms slot as "c", parked after it
        q.push(0.0010, "a2");
        assert_eq!(q.earliest(), Some(1));
        assert_eq!(drain(&mut q, 0.0005), Vec::<&str>::new());
        assert_eq!(drain(&mut q, 0.0010), vec!["a", "a2"]);
        assert_eq!(q.earliest(), Some(3));
        assert_eq!(drain(&mut q, 0.0035), vec!["c", "b"]);
        assert!(q.is_empty() && q.earliest().is_none());
    }

    #[test]
    fn slots_round_to_the_nearest() {
        let q: SlotQueue<()> = SlotQueue::new(0.001);
        assert_eq!(q.slot(0.0014), 1);
        assert_eq!(q.slot(0.0016), 2);
        assert_eq!(q.slot(0.0421), 42);
    }

    #[test]
    fn an_item_parked_late_is_due_at_once() {
        let mut q = SlotQueue::new(0.001);
        q.push(5.0, "late");
        assert_eq!(drain(&mut q, 7.0), vec!["late"]);
    }

    #[test]
    fn cursor_takes_one_step_when_on_time() {
        let mut c = Cursor::new(100.0, vec![0.05, 0.06, 0.07]);
        assert_eq!(c.next_deadline(), Some(100.05));
        assert_eq!(c.take(100.05), 0..1);
        assert_eq!(c.next_deadline(), Some(100.06));
        assert_eq!(c.take(100.0601), 1..2);
        assert!(!c.finished());
        assert_eq!(c.take(100.07), 2..3);
        assert!(c.finished() && c.next_deadline().is_none());
        assert_eq!(c.take(101.0), 3..3);
    }

    #[test]
    fn cursor_takes_every_step_already_due_after_a_late_wake_up() {
        let mut c = Cursor::new(0.0, vec![0.05, 0.06, 0.07, 0.08]);
        assert_eq!(c.take(0.075), 0..3); // woke 25 ms late: three steps in one write
        assert_eq!(c.next_deadline(), Some(0.08)); // the next keeps its own deadline
    }

    #[test]
    fn cursor_takes_the_next_step_even_when_woken_early() {
        let mut c = Cursor::new(0.0, vec![0.05, 0.06]);
        assert_eq!(c.take(0.0496), 0..1); // its slot fired half a slot early
    }

    #[test]
    fn cursor_takes_due_steps_in_windows_when_bounded() {
        let mut c = Cursor::new(0.0, vec![0.0; 5]);
        assert_eq!(c.take_at_most(1.0, 2), 0..2);
        assert_eq!(c.next_deadline(), Some(0.0)); // the rest is still due
        assert_eq!(c.take_at_most(1.0, 2), 2..4);
        assert_eq!(c.take_at_most(1.0, 2), 4..5);
        assert!(c.finished());
    }
}
