//! When a request's first and last tokens really come: the live server asks when their forecast is
//! due ([`SharedEngine::settle`]), and the engine answers from the state the region holds.

use super::{opt, Settled, SharedEngine, Ticket, GEN_BITS};
use crate::simulation::engine::StepLoad;
use std::cell::RefCell;

/// [`SharedEngine::remaining_seconds`]' buffers, reused from call to call.
struct BoundScratch {
    /// Each slot's tokens in the step in flight (all zero between calls).
    new_of: Vec<u32>,
    /// The other running sequences' `(tokens left, context)`.
    others: Vec<(u32, u32)>,
}

thread_local! {
    static SCRATCH: RefCell<BoundScratch> =
        const { RefCell::new(BoundScratch { new_of: Vec::new(), others: Vec::new() }) };
}

impl SharedEngine {
    /// When the request of `ticket` delivers its first token (or, with `last`, its last token), as
    /// far as the engine knows at `now`.
    ///
    /// A forecast made at arrival cannot see the requests that arrive after it and are prefilled in
    /// the same step (making that step longer), nor how the batch changes while it decodes: the live
    /// server asks again here when the forecast first token is due, and again for the last, so that
    /// what a client sees of a request (TTFT, end, mean ITL) is what the engine did.
    pub fn settle(&self, ticket: Ticket, now: f64, last: bool) -> Settled {
        let Some((r, generation, slot)) = self.place(ticket) else { return Settled::Gone };
        let _guard = self.lock();
        self.advance(now);
        self.settled(r, generation, slot, now, last)
    }

    /// [`SharedEngine::settle`] of the last token and, once that is known, of the first (else
    /// [`Settled::Gone`]), under one lock: what a whole answer asks (it counts both once its end is
    /// settled).
    pub fn settle_last_and_first(&self, ticket: Ticket, now: f64) -> (Settled, Settled) {
        let Some((r, generation, slot)) = self.place(ticket) else { return (Settled::Gone, Settled::Gone) };
        let _guard = self.lock();
        self.advance(now);
        match self.settled(r, generation, slot, now, true) {
            last @ Settled::At(_) => (last, self.settled(r, generation, slot, now, false)),
            other => (other, Settled::Gone),
        }
    }

    /// [`SharedEngine::settle`] of the request in `(r, generation, slot)`, the engine advanced to
    /// `now` (lock held).
    pub(super) fn settled(&self, r: usize, generation: u32, slot: usize, now: f64, last: bool) -> Settled {
        let rec = self.records(r)[slot];
        let head = self.head(r);
        let s = self.layout.seqs;
        if !self.is_live(r, generation, slot) {
            // Finished, its record kept under the next generation until the slot is reused.
            let next = generation.wrapping_add(1) & ((1 << GEN_BITS) - 1);
            return match rec.live == 0 && rec.generation == next && last {
                true => Settled::At(rec.finish),
                false => Settled::Gone,
            };
        }
        let step_end = opt(head.step_end);
        let work = &self.work(r)[..(head.work_len as usize).min(s)];
        if last {
            // Its last token is sampled when the step in flight ends if that step completes its
            // context with one token left to generate.
            let finishing = work.iter().any(|&[w, new]| {
                w as usize == slot
                    && rec.computed + new >= rec.prompt + rec.generated
                    && rec.generated + 1 >= rec.max_output
            });
            if let (true, Some(end)) = (finishing, step_end) {
                return Settled::At(end);
            }
            // Every token still to come after the step in flight takes a step of its own, and
            // each of those steps holds at least the running sequences that still have tokens to
            // come by then: the last token cannot be sampled before they all ran.
            let next = self.next_event(r).unwrap_or(now).max(now);
            return Settled::Later(next + self.remaining_seconds(r, slot));
        }
        // Its first token is sampled, and delivered, when the step that completes its prompt ends:
        // the step in flight, if that one holds the prompt's last chunk.
        let prefilled = rec.generated == 0
            && work.iter().any(|&[w, new]| w as usize == slot && rec.computed + new >= rec.prompt);
        match (prefilled, step_end) {
            (true, Some(end)) => Settled::At(end),
            _ if !rec.first_token.is_nan() => Settled::At(rec.first_token),
            _ => Settled::Later(self.next_event(r).unwrap_or(now).max(now)),
        }
    }

    /// A lower bound of the time replica `r` takes, after its next event, to sample the last token
    /// of the request in `slot` (lock held): the sum over the steps it still needs of each step's
    /// cost with only the running sequences certain to be in it (those with at least that many
    /// tokens still to come, decoding one token each at their least context).
    pub(super) fn remaining_seconds(&self, r: usize, slot: usize) -> f64 {
        SCRATCH.with_borrow_mut(|BoundScratch { new_of, others }| {
            let head = self.head(r);
            let (s, n) = (self.layout.seqs, self.layout.slots);
            let records = self.records(r);
            let work = &self.work(r)[..(head.work_len as usize).min(s)];
            // Each slot's new tokens in the step in flight (its first entry there, as `find` would).
            new_of.resize(new_of.len().max(n), 0);
            for &[w, new] in work.iter().rev() {
                if let Some(x) = new_of.get_mut(w as usize) {
                    *x = new;
                }
            }
            // Tokens a sequence still has to come after the step in flight, and its context then.
            let after = |j: usize| -> Option<(u32, u32)> {
                let rec = records.get(j).filter(|x| x.live != 0)?;
                let new = new_of[j];
                let emits = u32::from(new > 0 && rec.computed + new >= rec.prompt + rec.generated);
                let left = rec.max_output.saturating_sub(rec.generated + emits);
                Some((left, rec.computed + new))
            };
            others.clear();
            let total = after(slot).map_or(0.0, |(steps, _)| {
                let running = &self.u32s(r, self.layout.running, s)[..(head.running_len as usize).min(s)];
                others.extend(
                    running.iter().filter_map(|&j| after(j as usize % n)).filter(|&(left, _)| left > 0),
                );
                self.bound_seconds(steps, others)
            });
            for &[w, _] in work {
                if let Some(x) = new_of.get_mut(w as usize) {
                    *x = 0;
                }
            }
            total
        })
    }

    /// The least time `steps` more steps take when step k (1-based) holds every sequence of `others`
    /// (`(tokens left, context)`) with `left >= k`.
    pub(super) fn bound_seconds(&self, steps: u32, others: &mut [(u32, u32)]) -> f64 {
        // Go through the steps in blocks between consecutive `left` values, fewest first, each priced
        // at its first step.
        others.sort_unstable_by_key(|&(left, _)| left);
        let mut load = StepLoad::default();
        for &(_, context) in others.iter() {
            load.add(context, 1);
        }
        // The longest context among others[i..], for the load's serial attention floor.
        let mut longest = vec![0.0_f64; others.len() + 1];
        for (i, &(_, context)) in others.iter().enumerate().rev() {
            longest[i] = longest[i + 1].max(f64::from(context) + 1.0);
        }
        let (mut total, mut done, mut i) = (0.0, 0u32, 0);
        while done < steps {
            let until = others.get(i).map_or(steps, |&(left, _)| left.min(steps));
            if until > done {
                total += f64::from(until - done) * self.cost.step_seconds(&load);
                done = until;
            }
            // The sequences whose last token comes in step `done` leave the load.
            while let Some(&(_, context)) = others.get(i).filter(|&&(left, _)| left <= done) {
                load.remove(context, 1);
                i += 1;
                load.set_longest(longest[i]);
            }
        }
        // Less the rounding of the sums, so that it stays a lower bound.
        total * (1.0 - 1e-9)
    }
}
