//! Request metrics recorded into a shared table ([`crate::shm`]), one call per request phase.
//!
//! Every worker process records into the same table, so any worker's scrape reads server-wide
//! totals. The table's width is [`histogram::WIDTH`]; counters use the first words of their slot.
//! Keys (all labels are bounded: endpoints are route templates, models are capped, see
//! [`model_label`]):
//!
//! ```text
//! server                          [in_flight, started_at_ms]
//! models                          [distinct models registered]
//! status|{endpoint}|{status}      [requests]
//! error|{endpoint}|{type}|{code}  [errors]
//! slo|{endpoint}                  [requests within the latency objective]
//! latency|{endpoint}              histogram of end-to-end seconds
//! worker|{pid}                    [requests finished by that worker process]
//! model|{model}                   [requests, errors, prompt_tokens, completion_tokens, running, slo_met, registered]
//! e2e|{model} ttft|{model} itl|{model}   histograms
//! ```

use crate::histogram;
use crate::shm::{SlotError, Table, KEY_BYTES};
use std::sync::atomic::{AtomicU64, Ordering};

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

fn slot<'t>(table: &'t Table, prefix: &str, name: &str) -> Result<&'t [AtomicU64], SlotError> {
    let mut key = String::with_capacity(prefix.len() + 1 + name.len());
    key.push_str(prefix);
    key.push('|');
    key.push_str(name);
    table.slot(&key)
}

/// A request entered the server.
pub fn begin(table: &Table) -> Result<(), SlotError> {
    table.slot(SERVER)?[SERVER_IN_FLIGHT].fetch_add(1, Ordering::Relaxed);
    Ok(())
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
    let key = format!("model|{model}");
    if let Some(words) = table.get(&key) {
        if words[MODEL_REGISTERED].load(Ordering::Acquire) == 1 {
            return Ok(model);
        }
    }
    let count = &table.slot(MODELS)?[0];
    if count.fetch_add(1, Ordering::AcqRel) >= max_models {
        count.fetch_sub(1, Ordering::AcqRel);
        return Ok(OTHER);
    }
    let words = table.slot(&key)?;
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

/// An inference request for `label` (from [`model_label`]) started: it is running, and its tokens and
/// token timings are counted.
pub fn start_inference(table: &Table, label: &str, inf: Inference) -> Result<(), SlotError> {
    let words = slot(table, "model", label)?;
    words[MODEL_RUNNING].fetch_add(1, Ordering::Relaxed);
    words[MODEL_PROMPT_TOKENS].fetch_add(inf.prompt_tokens, Ordering::Relaxed);
    words[MODEL_COMPLETION_TOKENS].fetch_add(inf.completion_tokens, Ordering::Relaxed);
    if let Some(ttft) = inf.ttft {
        histogram::observe(slot(table, "ttft", label)?, ttft);
    }
    if let Some(itl) = inf.itl {
        histogram::observe(slot(table, "itl", label)?, itl);
    }
    Ok(())
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
    table.slot(SERVER)?[SERVER_IN_FLIGHT].fetch_sub(1, Ordering::Relaxed);
    table.slot(&format!("worker|{}", std::process::id()))?[0].fetch_add(1, Ordering::Relaxed);
    table.slot(&format!("status|{}|{}", f.endpoint, f.status))?[0].fetch_add(1, Ordering::Relaxed);
    histogram::observe(slot(table, "latency", f.endpoint)?, f.seconds);
    let met = f.seconds <= f.slo_seconds;
    if met {
        slot(table, "slo", f.endpoint)?[0].fetch_add(1, Ordering::Relaxed);
    }
    if let Some((kind, code)) = f.error {
        table.slot(&format!("error|{}|{kind}|{code}", f.endpoint))?[0].fetch_add(1, Ordering::Relaxed);
    }
    if let Some(label) = f.model {
        let words = slot(table, "model", label)?;
        words[MODEL_RUNNING].fetch_sub(1, Ordering::Relaxed);
        words[MODEL_REQUESTS].fetch_add(1, Ordering::Relaxed);
        if f.error.is_some() {
            words[MODEL_ERRORS].fetch_add(1, Ordering::Relaxed);
        }
        if met {
            words[MODEL_SLO_MET].fetch_add(1, Ordering::Relaxed);
        }
        histogram::observe(slot(table, "e2e", label)?, f.seconds);
    }
    Ok(())
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
        assert_eq!(word(&t, "slo|/v1/chat/completions", 0), 1);
        assert_eq!(word(&t, &format!("worker|{}", std::process::id()), 0), 1);
        for key in ["latency|/v1/chat/completions", "e2e|gpt-4o", "ttft|gpt-4o", "itl|gpt-4o"] {
            assert_eq!(histogram::Snapshot::read(t.get(key).unwrap()).count, 1, "{key}");
        }
        std::fs::remove_file(path).unwrap();
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
        assert_eq!(word(&t, "slo|/v1/embeddings", 0), 0);
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
    fn the_first_start_time_wins() {
        let (t, path) = table("start");
        assert_eq!(mark_started(&t, 1000).unwrap(), 1000);
        assert_eq!(mark_started(&t, 2000).unwrap(), 1000);
        std::fs::remove_file(path).unwrap();
    }
}
