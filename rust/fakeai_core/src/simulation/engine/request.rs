//! One request's compact state: sizes, progress, and its token times as first-token time plus runs
//! of consecutive steps of its replica (one run unless it was preempted).

/// A request inside the engine.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub id: u32,
    pub replica: u32,
    pub arrival: f64,
    pub prompt: u32,
    pub cached: u32,
    pub max_output: u32,
    /// Tokens (prompt, then output) whose KV is computed.
    pub computed: u32,
    pub generated: u32,
    pub blocks: u32,
    pub preemptions: u32,
    pub first_token: f64,
    pub finish: f64,
    /// Runs of steps in which it emitted a token: (first step, tokens), in its replica's step log.
    pub runs: Vec<(u32, u32)>,
}

impl Request {
    pub fn new(id: u32, replica: u32, arrival: f64, prompt: u32, cached: u32, max_output: u32) -> Request {
        Request {
            id,
            replica,
            arrival,
            prompt: prompt.max(1),
            cached,
            max_output: max_output.max(1),
            first_token: f64::NAN,
            finish: f64::NAN,
            ..Request::default()
        }
    }

    /// Tokens to compute before the next token can be emitted (1 while decoding).
    pub fn pending(&self) -> u32 {
        self.prompt + self.generated - self.computed
    }

    pub fn done(&self) -> bool {
        self.generated >= self.max_output
    }

    /// Emit a token at `at`, in step `step` of its replica; `record`: add it to `runs`.
    pub(crate) fn emit(&mut self, at: f64, step: u32, record: bool) {
        self.generated += 1;
        if self.generated == 1 {
            self.first_token = at;
        }
        if self.done() {
            self.finish = at;
        }
        if !record {
            return;
        }
        match self.runs.last_mut() {
            Some((start, n)) if *start + *n == step => *n += 1,
            _ => self.runs.push((step, 1)),
        }
    }

    pub fn ttft(&self) -> f64 {
        self.first_token - self.arrival
    }

    /// Mean gap between output tokens after the first (GenAI-Perf's per-request ITL).
    pub fn itl(&self) -> f64 {
        if self.generated > 1 {
            (self.finish - self.first_token) / f64::from(self.generated - 1)
        } else {
            0.0
        }
    }

    pub fn e2e(&self) -> f64 {
        self.finish - self.arrival
    }
}
