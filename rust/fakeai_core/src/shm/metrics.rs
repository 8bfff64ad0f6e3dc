//! Request metrics recorded into a shared table ([`crate::shm::table`]), one call per request phase.
//!
//! Every worker process records into the same table, so any worker's scrape reads server-wide
//! totals. The table's width is [`histogram::WIDTH`]; counters use the first words of their slot.
//! Keys (all labels are bounded: endpoints are route templates, models are capped, see
//! [`model_label`]):
//!
//! ```text
//! server                          [in_flight, started_at_ms]
//! models                          [distinct models registered]
//! status|{endpoint}|{status}      [requests, requests within the latency objective]
//! error|{endpoint}|{type}|{code}  [errors]
//! latency|{endpoint}              histogram of end-to-end seconds
//! worker|{pid}                    [requests finished by that worker process]
//! model|{model}                   [requests, errors, prompt_tokens, completion_tokens, running, slo_met, registered]
//! e2e|{model} ttft|{model} itl|{model}   histograms
//! ```

use crate::shm::histogram;
use crate::shm::lock;
use crate::shm::table::{Pinned, SlotError, Table, KEY_BYTES};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The label unknown models are folded into once [`model_label`]'s cap is reached.
pub const OTHER: &str = "other";

pub const SERVER: &str = "server";
pub const SERVER_IN_FLIGHT: usize = 0;
pub const SERVER_STARTED_AT_MS: usize = 1;
const MODELS: &str = "models";

pub const MODEL_REQUESTS: usize = 0;
pub const MODEL_ERRORS: usize = 1;
pub const MODEL_PROMPT_TOKENS: usize = 2;
pub const MODEL_COMPLETION_TOKENS: usize = 3;
pub const MODEL_RUNNING: usize = 4;
pub const MODEL_SLO_MET: usize = 5;
const MODEL_REGISTERED: usize = 6;

/// Longest prefix put before a model id in a key (`model|`, `ttft|`, `e2e|`, `itl|`).
const MODEL_PREFIX_BYTES: usize = 6;

/// `parts` joined by `|` into `buf`: keys are built on the stack, so recording allocates nothing.
fn join<'b>(parts: &[&str], buf: &'b mut [u8; KEY_BYTES]) -> Result<&'b str, SlotError> {
    let mut len = 0;
    for (i, part) in parts.iter().enumerate() {
        let sep = usize::from(i > 0);
        if len + sep + part.len() > KEY_BYTES {
            return Err(SlotError::KeyTooLong);
        }
        if sep == 1 {
            buf[len] = b'|';
        }
        buf[len + sep..len + sep + part.len()].copy_from_slice(part.as_bytes());
        len += sep + part.len();
    }
    // Joined `str`s and ASCII `|` are valid UTF-8.
    std::str::from_utf8(&buf[..len]).map_err(|_| SlotError::KeyTooLong)
}

/// The slot of key `parts` joined by `|`.
fn slot<'t>(table: &'t Table, parts: &[&str]) -> Result<&'t [AtomicU64], SlotError> {
    table.slot(join(parts, &mut [0; KEY_BYTES])?)
}

/// `n` in decimal, in `buf`.
fn decimal(n: u64, buf: &mut [u8; 20]) -> &str {
    let mut n = n;
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

/// A request entered the server.
pub fn begin(table: &Table) -> Result<(), SlotError> {
    Pins::default().begin(table)
}

/// The slots requests of one endpoint, status and model label record into, each looked up on first
/// use ([`Pinned`]): a caller that records such requests over and over (the Rust hot path, per route
/// and model; a meter, per model) keeps one and pays an index per counter instead of a hash and a
/// probe. Recording through it counts exactly what [`begin`], [`start_inference`] and [`finish`]
/// count; one `Pins` must always be given the same table, endpoint, status and label (an error's
/// counter is looked up each time).
#[derive(Debug, Default)]
pub struct Pins {
    server: Pinned,
    /// `worker|{pid}` and the process it was found for (a forked worker looks its own up).
    worker: (AtomicU32, Pinned),
    status: Pinned,
    latency: Pinned,
    model: Pinned,
    e2e: Pinned,
    ttft: Pinned,
    itl: Pinned,
}

impl Pins {
    /// [`begin`].
    pub fn begin(&self, table: &Table) -> Result<(), SlotError> {
        self.server.slot(table, || SERVER)?[SERVER_IN_FLIGHT].fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// [`start_inference`].
    pub fn start_inference(&self, table: &Table, label: &str, inf: Inference) -> Result<(), SlotError> {
        let words = keyed(&self.model, table, &["model", label])?;
        words[MODEL_RUNNING].fetch_add(1, Ordering::Relaxed);
        words[MODEL_PROMPT_TOKENS].fetch_add(inf.prompt_tokens, Ordering::Relaxed);
        words[MODEL_COMPLETION_TOKENS].fetch_add(inf.completion_tokens, Ordering::Relaxed);
        self.observe_timing(table, label, inf)
    }

    /// [`observe_timing`].
    pub fn observe_timing(&self, table: &Table, label: &str, inf: Inference) -> Result<(), SlotError> {
        if let Some(ttft) = inf.ttft {
            histogram::observe(keyed(&self.ttft, table, &["ttft", label])?, ttft);
        }
        if let Some(itl) = inf.itl {
            histogram::observe(keyed(&self.itl, table, &["itl", label])?, itl);
        }
        Ok(())
    }

    /// [`finish`].
    pub fn finish(&self, table: &Table, f: Finish<'_>) -> Result<(), SlotError> {
        self.server.slot(table, || SERVER)?[SERVER_IN_FLIGHT].fetch_sub(1, Ordering::Relaxed);
        let pid = lock::process_id();
        let (found_for, worker) = &self.worker;
        if found_for.swap(pid, Ordering::Relaxed) != pid {
            worker.clear();
        }
        let mut digits = [0; 20];
        keyed(worker, table, &["worker", decimal(pid.into(), &mut digits)])?[0]
            .fetch_add(1, Ordering::Relaxed);
        let met = f.seconds <= f.slo_seconds;
        let status =
            keyed(&self.status, table, &["status", f.endpoint, decimal(f.status.into(), &mut digits)])?;
        status[0].fetch_add(1, Ordering::Relaxed);
        if met {
            status[1].fetch_add(1, Ordering::Relaxed);
        }
        histogram::observe(keyed(&self.latency, table, &["latency", f.endpoint])?, f.seconds);
        if let Some((kind, code)) = f.error {
            slot(table, &["error", f.endpoint, kind, code])?[0].fetch_add(1, Ordering::Relaxed);
        }
        if let Some(label) = f.model {
            let words = keyed(&self.model, table, &["model", label])?;
            words[MODEL_RUNNING].fetch_sub(1, Ordering::Relaxed);
            words[MODEL_REQUESTS].fetch_add(1, Ordering::Relaxed);
            if f.error.is_some() {
                words[MODEL_ERRORS].fetch_add(1, Ordering::Relaxed);
            }
            if met {
                words[MODEL_SLO_MET].fetch_add(1, Ordering::Relaxed);
            }
            histogram::observe(keyed(&self.e2e, table, &["e2e", label])?, f.seconds);
        }
        Ok(())
    }
}

/// The slot of key `parts` joined by `|`, pinned in `at` (the key is only joined to look it up).
fn keyed<'t>(at: &Pinned, table: &'t Table, parts: &[&str]) -> Result<&'t [AtomicU64], SlotError> {
    if let Some(words) = at.kept(table) {
        return Ok(words);
    }
    let mut buf = [0; KEY_BYTES];
    let key = join(parts, &mut buf)?;
    at.slot(table, || key)
}

/// Record the server's start time once (the first caller wins); returns the recorded time.
pub fn mark_started(table: &Table, now_ms: u64) -> Result<u64, SlotError> {
    let word = &table.slot(SERVER)?[SERVER_STARTED_AT_MS];
    Ok(match word.compare_exchange(0, now_ms, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => now_ms,
        Err(earlier) => earlier,
    })
}

/// The label `model` is recorded under: itself while fewer than `max_models` distinct models were
/// seen server-wide (and its id fits a key), else [`OTHER`]. Ids are user-controlled, so this bounds
/// the table and the exposition.
pub fn model_label<'m>(table: &Table, model: &'m str, max_models: u64) -> Result<&'m str, SlotError> {
    if model.is_empty() || model.len() + MODEL_PREFIX_BYTES > KEY_BYTES || model == OTHER {
        return Ok(OTHER);
    }
    let mut buf = [0; KEY_BYTES];
    let key = join(&["model", model], &mut buf)?;
    if let Some(words) = table.get(key) {
        if words[MODEL_REGISTERED].load(Ordering::Acquire) == 1 {
            return Ok(model);
        }
    }
    let count = &table.slot(MODELS)?[0];
    if count.fetch_add(1, Ordering::AcqRel) >= max_models {
        count.fetch_sub(1, Ordering::AcqRel);
        return Ok(OTHER);
    }
    let words = table.slot(key)?;
    if words[MODEL_REGISTERED].compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire).is_err() {
        count.fetch_sub(1, Ordering::AcqRel); // another worker registered it first
    }
    Ok(model)
}

/// What the simulation decided for one inference request.
#[derive(Clone, Copy, Debug, Default)]
pub struct Inference {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Seconds to the first token, if the request generates tokens.
    pub ttft: Option<f64>,
    /// Mean seconds between tokens, if more than one token is generated.
    pub itl: Option<f64>,
}

impl Inference {
    /// Timing of a stream whose steps are due at `first`..=`last` seconds (`steps` of them): TTFT is
    /// the first step, ITL the mean gap between steps (0 when all tokens went out in one step).
    pub fn streamed(prompt_tokens: u64, completion_tokens: u64, first: f64, last: f64, steps: usize) -> Self {
        let itl = if steps > 1 {
            Some((last - first) / (steps - 1) as f64)
        } else {
            (completion_tokens > 1).then_some(0.0)
        };
        Self { prompt_tokens, completion_tokens, ttft: (steps > 0).then_some(first), itl }
    }

    /// Timing of a whole answer sent `total` seconds after arrival: TTFT is the profile's `ttft`
    /// (capped at `total`), the rest is spread over the other tokens.
    pub fn whole(prompt_tokens: u64, completion_tokens: u64, total: f64, ttft: f64) -> Self {
        let ttft = ttft.min(total);
        let itl = (completion_tokens > 1).then(|| (total - ttft) / (completion_tokens - 1) as f64);
        Self { prompt_tokens, completion_tokens, ttft: Some(ttft), itl }
    }
}

/// An inference request for `label` (from [`model_label`]) started: it is running, and its tokens and
/// token timings are counted.
pub fn start_inference(table: &Table, label: &str, inf: Inference) -> Result<(), SlotError> {
    Pins::default().start_inference(table, label, inf)
}

/// Count an inference's token timing (TTFT, ITL) for `label`: at its start, or once it is known (an
/// engine-timed answer, whose times the pacer settles with the engine).
pub fn observe_timing(table: &Table, label: &str, inf: Inference) -> Result<(), SlotError> {
    Pins::default().observe_timing(table, label, inf)
}

/// How a request ended.
#[derive(Clone, Copy, Debug)]
pub struct Finish<'a> {
    /// The route template that served it (bounded), e.g. `/v1/chat/completions`.
    pub endpoint: &'a str,
    pub status: u16,
    pub seconds: f64,
    /// The latency objective: requests at or under it count as meeting the SLO.
    pub slo_seconds: f64,
    /// The model label given to [`start_inference`], if the request got that far.
    pub model: Option<&'a str>,
    /// OpenAI error `type` and `code` of a failed request.
    pub error: Option<(&'a str, &'a str)>,
}

/// A request left the server: its status, latency, SLO and error are counted, and it stops running.
pub fn finish(table: &Table, f: Finish<'_>) -> Result<(), SlotError> {
    Pins::default().finish(table, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str) -> (Table, std::path::PathBuf) {
        let p = std::env::temp_dir().join(format!("fakeai-metrics-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        (Table::open(&p, 256, histogram::WIDTH).unwrap(), p)
    }

    fn word(t: &Table, key: &str, i: usize) -> u64 {
        t.get(key).map_or(0, |w| w[i].load(Ordering::Relaxed))
    }

    #[test]
    fn a_request_is_counted_once_in_every_view() {
        let (t, path) = table("one");
        begin(&t).unwrap();
        assert_eq!(word(&t, SERVER, SERVER_IN_FLIGHT), 1);
        let label = model_label(&t, "gpt-4o", 10).unwrap();
        let inf = Inference { prompt_tokens: 12, completion_tokens: 5, ttft: Some(0.02), itl: Some(0.005) };
        start_inference(&t, label, inf).unwrap();
        assert_eq!(word(&t, "model|gpt-4o", MODEL_RUNNING), 1);
        let f = Finish {
            endpoint: "/v1/chat/completions",
            status: 200,
            seconds: 0.05,
            slo_seconds: 1.0,
            model: Some(label),
            error: None,
        };
        finish(&t, f).unwrap();
        assert_eq!(word(&t, SERVER, SERVER_IN_FLIGHT), 0);
        assert_eq!(word(&t, "model|gpt-4o", MODEL_RUNNING), 0);
        assert_eq!(word(&t, "model|gpt-4o", MODEL_REQUESTS), 1);
        assert_eq!(word(&t, "model|gpt-4o", MODEL_PROMPT_TOKENS), 12);
        assert_eq!(word(&t, "model|gpt-4o", MODEL_COMPLETION_TOKENS), 5);
        assert_eq!(word(&t, "model|gpt-4o", MODEL_SLO_MET), 1);
        assert_eq!(word(&t, "status|/v1/chat/completions|200", 0), 1);
        assert_eq!(word(&t, "status|/v1/chat/completions|200", 1), 1);
        assert_eq!(word(&t, &format!("worker|{}", std::process::id()), 0), 1);
        for key in ["latency|/v1/chat/completions", "e2e|gpt-4o", "ttft|gpt-4o", "itl|gpt-4o"] {
            assert_eq!(histogram::Snapshot::read(t.get(key).unwrap()).count, 1, "{key}");
        }
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn pinned_recording_counts_what_the_lookups_count() {
        let (a, path_a) = table("pins-a");
        let (b, path_b) = table("pins-b");
        let pins = Pins::default();
        for seconds in [0.05, 2.0, 0.5] {
            let inf =
                Inference { prompt_tokens: 12, completion_tokens: 5, ttft: Some(0.02), itl: Some(0.005) };
            let f = Finish {
                endpoint: "/v1/chat/completions",
                status: 200,
                seconds,
                slo_seconds: 1.0,
                model: Some("gpt-4o"),
                error: None,
            };
            begin(&a).unwrap();
            start_inference(&a, model_label(&a, "gpt-4o", 10).unwrap(), inf).unwrap();
            finish(&a, f).unwrap();
            pins.begin(&b).unwrap();
            pins.start_inference(&b, model_label(&b, "gpt-4o", 10).unwrap(), inf).unwrap();
            pins.finish(&b, f).unwrap();
        }
        let dump = |t: &Table| {
            let mut all: Vec<(String, Vec<u64>)> = t
                .entries()
                .map(|(k, w)| (k, w.iter().map(|x| x.load(Ordering::Relaxed)).collect()))
                .collect();
            all.sort();
            all
        };
        assert_eq!(dump(&a), dump(&b));
        assert_eq!(word(&b, "model|gpt-4o", MODEL_REQUESTS), 3);
        assert_eq!(word(&b, "status|/v1/chat/completions|200", 1), 2);
        std::fs::remove_file(path_a).unwrap();
        std::fs::remove_file(path_b).unwrap();
    }

    #[test]
    fn errors_and_slow_requests_are_counted_by_type() {
        let (t, path) = table("err");
        begin(&t).unwrap();
        let f = Finish {
            endpoint: "/v1/embeddings",
            status: 400,
            seconds: 2.0,
            slo_seconds: 1.0,
            model: None,
            error: Some(("invalid_request_error", "invalid_value")),
        };
        finish(&t, f).unwrap();
        assert_eq!(word(&t, "error|/v1/embeddings|invalid_request_error|invalid_value", 0), 1);
        assert_eq!(word(&t, "status|/v1/embeddings|400", 0), 1);
        assert_eq!(word(&t, "status|/v1/embeddings|400", 1), 0);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn models_beyond_the_cap_fold_into_other() {
        let (t, path) = table("cap");
        assert_eq!(model_label(&t, "a", 2).unwrap(), "a");
        assert_eq!(model_label(&t, "b", 2).unwrap(), "b");
        assert_eq!(model_label(&t, "a", 2).unwrap(), "a");
        start_inference(&t, "a", Inference::default()).unwrap();
        assert_eq!(model_label(&t, "c", 2).unwrap(), OTHER);
        assert_eq!(model_label(&t, &"x".repeat(KEY_BYTES), 2).unwrap(), OTHER);
        assert_eq!(model_label(&t, "", 2).unwrap(), OTHER);
        assert_eq!(word(&t, MODELS, 0), 2);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn token_timing_from_the_schedule() {
        let s = Inference::streamed(1, 4, 0.1, 0.13, 4);
        assert_eq!(s.ttft, Some(0.1));
        assert!((s.itl.unwrap() - 0.01).abs() < 1e-12);
        assert_eq!(Inference::streamed(1, 4, 0.1, 0.1, 1).itl, Some(0.0));
        assert_eq!(Inference::streamed(1, 1, 0.1, 0.1, 1).itl, None);
        assert_eq!(Inference::streamed(1, 0, 0.0, 0.0, 0).ttft, None);
        let w = Inference::whole(1, 5, 0.06, 0.02);
        assert_eq!(w.ttft, Some(0.02));
        assert!((w.itl.unwrap() - 0.01).abs() < 1e-12);
        assert_eq!(Inference::whole(1, 1, 0.01, 0.02).ttft, Some(0.01));
        assert_eq!(Inference::whole(1, 1, 0.01, 0.02).itl, None);
    }

    #[test]
    fn keys_are_joined_on_the_stack() {
        let (t, path) = table("keys");
        slot(&t, &["status", "/v1/x", decimal(404, &mut [0; 20])]).unwrap()[0]
            .fetch_add(1, Ordering::Relaxed);
        assert_eq!(word(&t, "status|/v1/x|404", 0), 1);
        assert_eq!(decimal(0, &mut [0; 20]), "0");
        assert_eq!(decimal(65535, &mut [0; 20]), "65535");
        assert_eq!(decimal(u64::MAX, &mut [0; 20]), "18446744073709551615");
        let long = "x".repeat(KEY_BYTES);
        assert_eq!(slot(&t, &["a", &long]).unwrap_err(), SlotError::KeyTooLong);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn the_first_start_time_wins() {
        let (t, path) = table("start");
        assert_eq!(mark_started(&t, 1000).unwrap(), 1000);
        assert_eq!(mark_started(&t, 2000).unwrap(), 1000);
        std::fs::remove_file(path).unwrap();
    }
}
