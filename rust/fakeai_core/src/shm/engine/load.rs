//! Moving a replica between the region and the heap [`Engine`]: every operation loads the replicas
//! it touches, runs the same scheduler code as `fakeai simulate` on them and stores them back.

use super::layout::Slot;
use super::{opt, SharedEngine, GEN_BITS, ITERATION_BOUNDS};
use crate::simulation::engine::request::Request;
use crate::simulation::engine::Engine;

/// Spare loaded engines kept for reuse (one per thread that uses the engine at once is enough).
const SPARE: usize = 4;

/// The slot of a loaded request that finished and was stored back (its slot is free again).
const RETIRED: u32 = u32::MAX;

/// One replica loaded into the heap engine, with the slot of each of its requests ([`RETIRED`] once
/// stored back finished: a loaded replica stays usable after a store).
pub(super) struct Loaded {
    pub(super) engine: Engine,
    pub(super) slots: Vec<u32>,
}

impl SharedEngine {
    /// When replica `r` next has something to happen: its step in flight ends, or its next step is due.
    pub(super) fn next_event(&self, r: usize) -> Option<f64> {
        let h = self.head(r);
        opt(h.step_end).or(opt(h.due))
    }

    /// Load replica `r` into a heap engine at the region's clock.
    pub(super) fn load(&self, r: usize) -> Loaded {
        let head = self.head(r);
        let n = self.layout.slots;
        let s = self.layout.seqs;
        let spare = self.spare.lock().ok().and_then(|mut spare| spare.pop());
        let Loaded { mut engine, mut slots } =
            spare.unwrap_or_else(|| Loaded { engine: self.template.clone(), slots: Vec::new() });
        let mut log = engine.step_tokens.take().unwrap_or_default();
        engine.clone_from(&self.template);
        engine.now = self.header().now;
        log.clear();
        engine.step_tokens = Some(log);
        slots.clear();
        let records = self.records(r);
        let waiting_len = (head.waiting_len as usize).min(n);
        let running_len = (head.running_len as usize).min(s);
        slots.reserve(waiting_len + running_len + 1);
        // Room for a submit and a sustained forecast's replacements without growing.
        engine.requests.reserve(waiting_len + 2 * running_len + 1);
        let mut take = |slot: u32, requests: &mut Vec<Request>| -> Option<u32> {
            let rec = records.get_mut(slot as usize).filter(|x| x.live != 0)?;
            let local = requests.len() as u32;
            rec.local = local;
            requests.push(Request {
                id: local,
                replica: 0,
                arrival: rec.arrival,
                prompt: rec.prompt,
                cached: rec.cached,
                max_output: rec.max_output,
                computed: rec.computed,
                generated: rec.generated,
                blocks: rec.blocks,
                preemptions: rec.preemptions,
                first_token: rec.first_token,
                finish: rec.finish,
                runs: Vec::new(),
            });
            slots.push(slot);
            Some(local)
        };
        let ring = self.u32s(r, self.layout.waiting, n);
        let rep = &mut engine.replicas[0];
        for i in 0..waiting_len {
            let slot = ring[(head.waiting_head as usize + i) % n];
            if let Some(local) = take(slot, &mut engine.requests) {
                rep.waiting.push_back(local);
            }
        }
        for &slot in &self.u32s(r, self.layout.running, s)[..running_len] {
            if let Some(local) = take(slot, &mut engine.requests) {
                rep.running.push(local);
            }
        }
        let local_of = |slot: u32| -> Option<u32> {
            let rec = records.get(slot as usize).filter(|x| x.live != 0)?;
            (slots.get(rec.local as usize) == Some(&slot)).then_some(rec.local)
        };
        for &[slot, new] in &self.work(r)[..(head.work_len as usize).min(s)] {
            if let Some(local) = local_of(slot) {
                rep.work.push((local, new));
            }
        }
        rep.free_blocks = head.free_blocks;
        rep.step_end = opt(head.step_end);
        rep.due = opt(head.due);
        rep.steps = head.steps;
        Loaded { engine, slots }
    }

    /// Store a loaded replica back; returns the slots of requests added since the load (in order).
    pub(super) fn store(&self, r: usize, loaded: &mut Loaded) -> Vec<u32> {
        let head = self.head(r);
        let n = self.layout.slots;
        let s = self.layout.seqs;
        let free = self.u32s(r, self.layout.free, n);
        let records = self.records(r);
        let e = &mut loaded.engine;
        let mut added = Vec::new();
        let mut finished = 0;
        for (local, req) in e.requests.iter().enumerate() {
            let slot = match loaded.slots.get(local) {
                Some(&RETIRED) => continue,
                Some(&slot) => slot,
                None => {
                    // `submit` checked that a slot is free.
                    let slot = free[head.free_head as usize];
                    head.free_head = (head.free_head + 1) % n as u32;
                    head.free_len -= 1;
                    loaded.slots.push(slot);
                    added.push(slot);
                    slot
                }
            };
            let rec = &mut records[slot as usize];
            if req.done() {
                rec.live = 0;
                rec.generation = rec.generation.wrapping_add(1) & ((1 << GEN_BITS) - 1);
                rec.finish = req.finish;
                rec.generated = req.generated;
                free[(head.free_head + head.free_len) as usize % n] = slot;
                head.free_len += 1;
                finished += 1;
                loaded.slots[local] = RETIRED;
                continue;
            }
            *rec = Slot {
                arrival: req.arrival,
                first_token: req.first_token,
                finish: req.finish,
                generation: rec.generation,
                live: 1,
                local: local as u32,
                prompt: req.prompt,
                cached: req.cached,
                max_output: req.max_output,
                computed: req.computed,
                generated: req.generated,
                blocks: req.blocks,
                preemptions: req.preemptions,
            };
        }
        let slots = &loaded.slots;
        let rep = &e.replicas[0];
        let ring = self.u32s(r, self.layout.waiting, n);
        for (i, &local) in rep.waiting.iter().take(n).enumerate() {
            ring[i] = slots[local as usize];
        }
        head.waiting_head = 0;
        head.waiting_len = rep.waiting.len().min(n) as u32;
        let running = self.u32s(r, self.layout.running, s);
        for (i, &local) in rep.running.iter().take(s).enumerate() {
            running[i] = slots[local as usize];
        }
        head.running_len = rep.running.len().min(s) as u32;
        let work = self.work(r);
        for (i, &(local, new)) in rep.work.iter().take(s).enumerate() {
            work[i] = [slots[local as usize], new];
        }
        head.work_len = rep.work.len().min(s) as u32;
        head.free_blocks = rep.free_blocks;
        head.step_end = rep.step_end.unwrap_or(f64::NAN);
        head.due = rep.due.unwrap_or(f64::NAN);
        head.steps = rep.steps;
        let h = self.header();
        h.now = h.now.max(e.now);
        let c = &mut h.counters;
        c.finished += finished;
        c.preemptions += std::mem::take(&mut e.preemptions);
        c.output_tokens += std::mem::take(&mut e.tokens_out);
        for tokens in e.step_tokens.as_mut().map(std::mem::take).unwrap_or_default() {
            c.steps += 1;
            c.scheduled_tokens += u64::from(tokens);
            let bucket = ITERATION_BOUNDS.iter().position(|&b| tokens <= b).unwrap_or(ITERATION_BOUNDS.len());
            h.iteration_buckets[bucket] += 1;
        }
        // Finished requests were counted and freed above; the loaded engine keeps them for a forecast.
        e.finished.clear();
        added
    }

    /// Advance every replica with an event before `now` (lock held).
    pub(super) fn advance(&self, now: f64) {
        self.advance_keeping(now, usize::MAX);
    }

    /// [`SharedEngine::advance`], handing back replica `keep` if it was loaded to advance it (as
    /// stored: it saves loading it again).
    pub(super) fn advance_keeping(&self, now: f64, keep: usize) -> Option<Loaded> {
        let mut kept = None;
        for r in 0..self.dep.replicas as usize {
            if self.next_event(r).is_some_and(|t| t < now) {
                let mut l = self.load(r);
                l.engine.run_until(now);
                self.store(r, &mut l);
                if r == keep {
                    kept = Some(l);
                } else {
                    self.recycle(l);
                }
            }
        }
        let h = self.header();
        h.now = h.now.max(now);
        kept
    }

    /// Keep a finished load's engine for the next load to reuse.
    pub(super) fn recycle(&self, loaded: Loaded) {
        if let Ok(mut spare) = self.spare.lock() {
            if spare.len() < SPARE {
                spare.push(loaded);
            }
        }
    }
}
