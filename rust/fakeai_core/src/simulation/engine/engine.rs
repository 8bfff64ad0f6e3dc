//! The event-driven engine: replicas stepping on one simulated clock.
//!
//! Events are step starts and step ends. A step's work is chosen when it starts (so requests that
//! arrive at that very instant join it) and applied when it ends; its duration comes from the cost
//! model. Arrivals go to the least-loaded replica (fewest running + waiting; lowest index on ties).
//!
//! The live server's use: at each arrival, `run_until(now)`, then `submit(now, ...)`, then
//! `forecast(id)` for the request's token times assuming no further arrivals.

use super::cost::CostModel;
use super::deployment::Deployment;
use super::request::Request;
use super::scheduler::{Record, Replica};

#[derive(Debug)]
pub struct Engine {
    pub dep: Deployment,
    cost: CostModel,
    pub replicas: Vec<Replica>,
    pub requests: Vec<Request>,
    pub now: f64,
    pub preemptions: u64,
    pub tokens_out: u64,
    /// Requests finished since the last `take_finished`.
    pub finished: Vec<u32>,
    /// Whose token times are kept (`keep_times`: everyone's; a forecast: its request's).
    record: Record,
    /// Tokens of every step planned, when kept (the live server's `iteration_tokens` histogram).
    pub step_tokens: Option<Vec<u32>>,
}

impl Clone for Engine {
    fn clone(&self) -> Engine {
        let mut out = Engine::new(&self.dep, false);
        out.clone_from(self);
        out
    }

    /// Becomes a copy of `source`, keeping its own buffers (the live server loads a replica into a
    /// reused engine at every call, see `shm::engine`, without allocating).
    fn clone_from(&mut self, source: &Engine) {
        let Engine {
            dep,
            cost,
            replicas,
            requests,
            now,
            preemptions,
            tokens_out,
            finished,
            record,
            step_tokens,
        } = source;
        self.dep.clone_from(dep);
        self.cost.clone_from(cost);
        self.replicas.clone_from(replicas);
        self.requests.clone_from(requests);
        self.now = *now;
        self.preemptions = *preemptions;
        self.tokens_out = *tokens_out;
        self.finished.clone_from(finished);
        self.record = *record;
        self.step_tokens.clone_from(step_tokens);
    }
}

impl Engine {
    /// `keep_times`: keep every step's end time so that `token_times` can answer.
    pub fn new(dep: &Deployment, keep_times: bool) -> Engine {
        Engine {
            cost: CostModel::new(dep),
            replicas: (0..dep.replicas).map(|_| Replica::new(dep)).collect(),
            dep: dep.clone(),
            requests: Vec::new(),
            now: 0.0,
            preemptions: 0,
            tokens_out: 0,
            finished: Vec::new(),
            record: if keep_times { Record::All } else { Record::Nothing },
            step_tokens: None,
        }
    }

    /// The replica the router picks.
    pub fn route(&self) -> u32 {
        let best = self.replicas.iter().enumerate().min_by_key(|(_, r)| r.load());
        best.map_or(0, |(i, _)| i as u32)
    }

    /// Add a request arriving at `now` (not before the engine's clock) on the least-loaded replica.
    pub fn submit(&mut self, now: f64, prompt: u32, cached: u32, max_output: u32) -> Result<u32, String> {
        let replica = self.route();
        self.submit_to(replica, now, prompt, cached, max_output)
    }

    pub fn submit_to(
        &mut self,
        replica: u32,
        now: f64,
        prompt: u32,
        cached: u32,
        max_output: u32,
    ) -> Result<u32, String> {
        let d = &self.dep;
        let need = d.blocks_for(prompt.max(1).saturating_add(max_output.max(1)));
        if need > d.kv_blocks {
            return Err(format!(
                "a request of {prompt} + {max_output} tokens needs {need} KV blocks, a replica has {}",
                d.kv_blocks
            ));
        }
        if !d.chunked_prefill && prompt + max_output > d.max_num_batched_tokens {
            return Err(format!(
                "a prompt of {prompt} tokens exceeds max-num-batched-tokens {} without chunked prefill",
                d.max_num_batched_tokens
            ));
        }
        let id = self.requests.len() as u32;
        let now = now.max(self.now);
        self.requests.push(Request::new(id, replica, now, prompt, cached, max_output));
        let r = &mut self.replicas[replica as usize];
        r.waiting.push_back(id);
        if r.step_end.is_none() && r.due.is_none() {
            r.due = Some(now);
        }
        Ok(id)
    }

    /// The time of the next event (a step start or end), if any replica has work.
    pub fn next_event(&self) -> Option<f64> {
        self.replicas.iter().filter_map(|r| r.step_end.or(r.due)).min_by(f64::total_cmp)
    }

    /// Process the earliest event; returns its time.
    pub fn step(&mut self) -> Option<f64> {
        let (i, t) = self
            .replicas
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.step_end.or(r.due).map(|t| (i, t)))
            .min_by(|a, b| a.1.total_cmp(&b.1))?;
        self.now = self.now.max(t);
        let r = &mut self.replicas[i];
        if r.step_end.is_some() {
            r.step_end = None;
            self.tokens_out += r.commit(t, &mut self.requests, &mut self.finished, self.record);
            r.due = r.has_work().then_some(t);
        } else {
            r.due = None;
            let planned = r.plan(&self.dep, &mut self.requests);
            self.preemptions += u64::from(planned.preempted);
            if let Some(log) = &mut self.step_tokens {
                log.push(planned.load.tokens as u32);
            }
            if r.work.is_empty() {
                // Only preemptions this time (or nothing runnable): plan again at once.
                r.due = r.has_work().then_some(t);
            } else {
                r.step_end = Some(t + self.cost.step_seconds(&planned.load));
            }
        }
        Some(t)
    }

    /// Process every event before `t` (events at `t` itself wait, so that arrivals at `t` join the
    /// step starting then), and move the clock to `t`.
    pub fn run_until(&mut self, t: f64) {
        while self.next_event().is_some_and(|e| e < t) {
            self.step();
        }
        self.now = self.now.max(t);
    }

    /// Run until no replica has work.
    pub fn drain(&mut self) {
        while self.step().is_some() {}
    }

    pub fn take_finished(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.finished)
    }

    /// The times of the tokens request `id` has emitted so far (needs `keep_times`).
    pub fn token_times(&self, id: u32) -> Vec<f64> {
        let r = &self.requests[id as usize];
        let ends = &self.replicas[r.replica as usize].step_ends;
        let mut out = Vec::with_capacity(r.generated as usize);
        for &(start, n) in &r.runs {
            out.extend(ends.iter().skip(start as usize).take(n as usize));
        }
        out
    }

    /// Request `id`'s token times if nothing else arrives: the engine is copied and run until the
    /// request finishes. Needs `keep_times`.
    pub fn forecast(&self, id: u32) -> Vec<f64> {
        self.clone().into_forecast(id, false)
    }

    /// [`Engine::forecast`] on this engine itself (no copy). Without `keep_times`, only the tokens
    /// the request emits from now on are known, so it must not have emitted any yet. With `sustain`,
    /// the load is assumed to persist instead of draining: every other request that finishes after
    /// the request's first token is replaced at once by one of the same size (as a closed-loop client
    /// would send it), so a request that joins a busy engine keeps sharing its steps with as many
    /// sequences. Only request `id`'s token times are recorded from here on.
    pub fn into_forecast(mut self, id: u32, sustain: bool) -> Vec<f64> {
        self.forecast_here(id, sustain)
    }

    /// [`Engine::into_forecast`], leaving this engine as the forecast ran it (its buffers can be
    /// reused: `clone_from` makes it another engine's copy again).
    pub fn forecast_here(&mut self, id: u32, sustain: bool) -> Vec<f64> {
        self.forecast_tokens(id, sustain, u32::MAX)
    }

    /// [`Engine::forecast_here`], stopped once the request has generated `tokens` tokens: the times
    /// of those (fewer than the request's tokens when it stops early).
    pub fn forecast_tokens(&mut self, id: u32, sustain: bool, tokens: u32) -> Vec<f64> {
        if self.record == Record::Nothing {
            self.step_tokens = None;
            for r in &mut self.replicas {
                r.steps = 0;
                r.step_ends.clear();
            }
        }
        self.record = Record::One(id);
        self.finished.clear();
        while !self.requests[id as usize].done()
            && self.requests[id as usize].generated < tokens
            && self.step().is_some()
        {
            if sustain && !self.finished.is_empty() {
                // Not before the request's second token: a first token forecast from no further
                // arrivals is a lower bound of the real one, which the live server settles when it
                // is due.
                let replace = self.requests[id as usize].generated > 1;
                for done in std::mem::take(&mut self.finished) {
                    let r = &self.requests[done as usize];
                    if replace && done != id && r.generated == r.max_output {
                        let (replica, prompt, cached, out) = (r.replica, r.prompt, r.cached, r.max_output);
                        let _ = self.submit_to(replica, self.now, prompt, cached, out);
                    }
                }
            }
        }
        self.token_times(id)
    }

    /// Take request `id` out (its client left) at the engine's clock, freeing its KV blocks.
    pub fn cancel(&mut self, id: u32) {
        let r = &mut self.requests[id as usize];
        if !r.done() {
            self.replicas[r.replica as usize].cancel(r, self.now);
        }
    }
}
