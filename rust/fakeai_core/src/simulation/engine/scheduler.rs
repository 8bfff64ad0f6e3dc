//! One replica's continuous batching, as vLLM (v1) schedules it.
//!
//! Each step, in this order:
//! 1. Running sequences, oldest first, each take what they still need from the token budget
//!    (`max_num_batched_tokens`): one token for a decoding sequence, the next chunk of a partially
//!    prefilled one. A sequence needs `ceil(tokens / block_size)` KV blocks; when none is free for it
//!    (on-demand policy), the most recently admitted running sequence is preempted: its blocks freed,
//!    it goes back to the front of the queue and recomputes its prefill (prompt and output so far).
//! 2. If nothing was preempted, waiting requests (FCFS) are admitted while the budget, the
//!    `max_num_seqs` limit and free blocks allow, each scheduling as much of its prefill as the budget
//!    leaves (all of it when chunked prefill is off). Cached prefix tokens are not prefilled.
//! 3. At the step's end every sequence whose context is complete emits one token, and the client
//!    has it then, its first token included: the step that completes a prompt's prefill samples the
//!    first token and the engine returns it at once (TensorRT-LLM hands out the context phase's
//!    token when that step ends), so TTFT at concurrency 1 is one prefill step. Finished sequences
//!    free their blocks.

use super::cost::StepLoad;
use super::deployment::{Deployment, KvPolicy};
use super::request::Request;
use std::collections::VecDeque;

/// One replica of the deployment.
#[derive(Debug, Default)]
pub struct Replica {
    pub waiting: VecDeque<u32>,
    pub running: Vec<u32>,
    pub free_blocks: u32,
    /// The step in flight: its end time and the (request, new tokens) it computes.
    pub step_end: Option<f64>,
    pub work: Vec<(u32, u32)>,
    /// A step is due to start at this time (set when work arrives or a step ends with work left).
    pub due: Option<f64>,
    /// End time of every step this replica ran (the token times of its sequences), when kept.
    pub step_ends: Vec<f64>,
    pub steps: u64,
}

/// Whose token times a step's commit records (each emitting request's runs, in [`Request::runs`],
/// and the replica's step end times): nobody (the live engine advancing), every request, or one
/// (a forecast, which only answers for its own request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    Nothing,
    All,
    One(u32),
}

/// What planning a step changed besides the replica.
#[derive(Clone, Copy, Debug, Default)]
pub struct Planned {
    pub load: StepLoad,
    pub preempted: u32,
}

impl Clone for Replica {
    fn clone(&self) -> Replica {
        let mut out = Replica::default();
        out.clone_from(self);
        out
    }

    /// Becomes a copy of `source`, keeping its own buffers.
    fn clone_from(&mut self, source: &Replica) {
        let Replica { waiting, running, free_blocks, step_end, work, due, step_ends, steps } = source;
        self.waiting.clone_from(waiting);
        self.running.clone_from(running);
        self.free_blocks = *free_blocks;
        self.step_end = *step_end;
        self.work.clone_from(work);
        self.due = *due;
        self.step_ends.clone_from(step_ends);
        self.steps = *steps;
    }
}

impl Replica {
    pub fn new(dep: &Deployment) -> Replica {
        Replica { free_blocks: dep.kv_blocks, ..Replica::default() }
    }

    /// Requests on this replica (the router's load).
    pub fn load(&self) -> usize {
        self.waiting.len() + self.running.len()
    }

    pub fn has_work(&self) -> bool {
        !self.waiting.is_empty() || !self.running.is_empty()
    }

    /// Choose the next step's work (into `self.work`) and what it costs to compute.
    pub fn plan(&mut self, dep: &Deployment, reqs: &mut [Request]) -> Planned {
        let mut out = Planned::default();
        let mut budget = dep.max_num_batched_tokens;
        self.work.clear();
        let mut i = 0;
        while i < self.running.len() && budget > 0 {
            let id = self.running[i];
            let r = &reqs[id as usize];
            let new = r.pending().min(budget);
            if dep.kv_policy == KvPolicy::OnDemand {
                let need = dep.blocks_for(r.computed + new).saturating_sub(r.blocks);
                while self.free_blocks < need {
                    let victim = self.running.pop().expect("running holds the sequence");
                    self.preempt(&mut reqs[victim as usize]);
                    out.preempted += 1;
                    if victim == id {
                        break;
                    }
                }
                if self.running.len() <= i {
                    break;
                }
                self.free_blocks -= need;
                reqs[id as usize].blocks += need;
            }
            let r = &reqs[id as usize];
            out.load.add(r.computed, new);
            self.work.push((id, new));
            budget -= new;
            i += 1;
        }
        if out.preempted > 0 {
            return out;
        }
        while budget > 0 && (self.running.len() as u32) < dep.max_num_seqs {
            let Some(&id) = self.waiting.front() else { break };
            let r = &mut reqs[id as usize];
            if r.computed == 0 {
                // A prefix-cache hit skips whole cached blocks; the last prompt token is always computed.
                let hit = r.cached.min(r.prompt - 1);
                r.computed = hit - hit % dep.block_size;
            }
            let pending = r.pending();
            let new = pending.min(budget);
            if new < pending && !dep.chunked_prefill {
                break;
            }
            let need = match dep.kv_policy {
                KvPolicy::OnDemand => dep.blocks_for(r.computed + new),
                KvPolicy::Reserve => dep.blocks_for(r.prompt + r.max_output),
            };
            if need > self.free_blocks {
                break;
            }
            self.free_blocks -= need;
            r.blocks = need;
            out.load.add(r.computed, new);
            self.waiting.pop_front();
            self.running.push(id);
            self.work.push((id, new));
            budget -= new;
        }
        out
    }

    /// Take out a request whose client left: out of the queue, the batch and the step in flight, its
    /// blocks freed; it counts as finished at `now` with the tokens it has.
    pub fn cancel(&mut self, r: &mut Request, now: f64) {
        let id = r.id;
        self.waiting.retain(|&w| w != id);
        self.running.retain(|&w| w != id);
        self.work.retain(|&(w, _)| w != id);
        self.free_blocks += r.blocks;
        r.blocks = 0;
        r.max_output = r.generated;
        r.finish = now;
    }

    fn preempt(&mut self, r: &mut Request) {
        self.free_blocks += r.blocks;
        r.blocks = 0;
        r.computed = 0;
        r.preemptions += 1;
        self.waiting.push_front(r.id);
    }

    /// Apply the step that ended at `end`: emit tokens, retire finished sequences (pushed to
    /// `finished`). Returns the tokens emitted.
    pub fn commit(&mut self, end: f64, reqs: &mut [Request], finished: &mut Vec<u32>, record: Record) -> u64 {
        let step = self.steps as u32;
        self.steps += 1;
        if record != Record::Nothing {
            self.step_ends.push(end);
        }
        let mut emitted = 0;
        let mut any_done = false;
        for &(id, new) in &self.work {
            let r = &mut reqs[id as usize];
            r.computed += new;
            if r.pending() == 0 {
                r.emit(end, step, record == Record::All || record == Record::One(id));
                emitted += 1;
                if r.done() {
                    self.free_blocks += r.blocks;
                    r.blocks = 0;
                    finished.push(id);
                    any_done = true;
                }
            }
        }
        self.work.clear();
        if any_done {
            self.running.retain(|&id| !reqs[id as usize].done());
        }
        emitted
    }
}
