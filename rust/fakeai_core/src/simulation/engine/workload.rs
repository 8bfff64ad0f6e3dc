//! Drive an engine on a virtual clock: closed-loop clients, Poisson arrivals or a recorded trace, and
//! the latency and throughput summary of the run (what GenAI-Perf reports per level).

use super::deployment::Deployment;
use super::engine::Engine;
use super::request::Request;
use crate::rng::Rng;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet, VecDeque};

/// mean, median and 99th percentile, seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    pub mean: f64,
    pub p50: f64,
    pub p99: f64,
}

impl Summary {
    pub fn of(mut values: Vec<f64>) -> Summary {
        if values.is_empty() {
            return Summary::default();
        }
        values.sort_by(f64::total_cmp);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        Summary { mean, p50: quantile(&values, 0.5), p99: quantile(&values, 0.99) }
    }
}

/// Linear interpolation between closest ranks (numpy's default) of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// One load level's result.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Level {
    pub ttft: Summary,
    pub itl: Summary,
    pub e2e: Summary,
    pub output_tokens_per_s: f64,
    pub requests_per_s: f64,
    pub preemptions: u64,
    /// Requests measured, requests left out before them as warm-up, and the simulated seconds of
    /// the whole run.
    pub requests: usize,
    pub warmup: usize,
    pub duration: f64,
}

/// A trace line: arrival (seconds), sizes, and the prompt's block hashes (Mooncake format).
#[derive(Clone, Debug, Default)]
pub struct TraceEntry {
    pub at: f64,
    pub input: u32,
    pub output: u32,
    pub hash_ids: Vec<u64>,
}

/// Tokens per `hash_ids` entry in Mooncake traces.
pub const TRACE_BLOCK_TOKENS: u32 = 512;

/// Called now and then with the fraction done; returning false stops the run.
pub type Progress<'a> = &'a mut dyn FnMut(f64) -> bool;

const STOPPED: &str = "interrupted";

fn report(engine: &Engine, ids: std::ops::Range<usize>, window: (f64, f64), tokens: u64) -> Level {
    let warmup = ids.start;
    let done: Vec<&Request> = engine.requests[ids].iter().filter(|r| r.done()).collect();
    summarize(&done, warmup, window, tokens, engine)
}

/// The level of the finished requests `done` (after `warmup` left out), with throughput over
/// `window` (seconds, from, to) in which `tokens` were generated.
pub(crate) fn summarize(
    done: &[&Request],
    warmup: usize,
    window: (f64, f64),
    tokens: u64,
    engine: &Engine,
) -> Level {
    let span = (window.1 - window.0).max(1e-9);
    Level {
        ttft: Summary::of(done.iter().map(|r| r.ttft()).collect()),
        itl: Summary::of(done.iter().filter(|r| r.generated > 1).map(|r| r.itl()).collect()),
        e2e: Summary::of(done.iter().map(|r| r.e2e()).collect()),
        output_tokens_per_s: tokens as f64 / span,
        requests_per_s: done.len() as f64 / span,
        preemptions: engine.preemptions,
        requests: done.len(),
        warmup,
        duration: engine.now,
    }
}

/// Seed of the closed loop's client turnaround draws: a level is reproducible.
const CLIENT_SEED: u64 = 0xC11E_57A7;

/// `concurrency` clients each send a request (`isl` in, exactly `osl` out) a turnaround after their
/// previous one finished (and their first one a turnaround after the start), `requests` in all.
///
/// Between a client and the engine sits the server's front end, one queue served in order by one
/// lane per replica (each replica is a server with its own API front end): each request holds the
/// first lane free for a service time of mean `Coefficients::frontend` (HTTP parsing, chat template,
/// tokenisation) before it reaches the engine ([`frontend_arrival`]). The service time is drawn per
/// request ([`frontend_service`]): a request's front-end time is a little CPU work plus however
/// long the server's event loop is busy with other requests' streams, never a constant. The
/// client's turnaround (its bookkeeping and the next request's trip) is lognormal (never negative,
/// skewed to the right) of mean `Coefficients::client_gap` and log-spread `client_sigma`, seeded
/// ([`client_turnaround`]).
///
/// Why both are random: requests prefilled in one step run in lock-step and, with equal output
/// lengths, finish in the same step; what they do outside the engine is all that can pull them
/// apart again, and whatever arrives while a long (many-prefill) step runs joins the next one, which
/// pulls them together. All clients start together, so the first rounds are one such clump (a
/// convoy); the random turnaround and front end loosen it, but at concurrency 25 for Llama-3-8B fp8
/// on one H100, 200/200, most of it stays, as in NIM's runs measured with GenAI-Perf and in the live
/// server driven by clients as tight (docs/engine-model.md, *Live against offline*). TTFT and
/// latency count from the
/// client's send, as GenAI-Perf does. Measured: the requests [`measured`] names (the steady state:
/// the first [`WARMUP_ROUNDS`] rounds are warm-up, as GenAI-Perf's and AIPerf's warm-up requests,
/// and the last round ran below the full concurrency); throughput over the time from the first
/// measured request's arrival to the last send.
pub fn closed_loop(
    dep: &Deployment,
    isl: u32,
    osl: u32,
    concurrency: u32,
    requests: u32,
    progress: Progress<'_>,
) -> Result<Level, String> {
    closed_loop_on(&mut Engine::new(dep, false), isl, osl, concurrency, requests, progress)
}

/// [`closed_loop`] on a fresh engine the caller keeps (to look at its steps afterwards).
pub fn closed_loop_on(
    e: &mut Engine,
    isl: u32,
    osl: u32,
    concurrency: u32,
    requests: u32,
    progress: Progress<'_>,
) -> Result<Level, String> {
    let c = concurrency.max(1) as usize;
    let n = (requests as usize).max(c + 1);
    let window = measured(c, n);
    let (mut start, mut end) = ((0.0, 0), (0.0, 0));
    let mut mark = |k: usize, at: f64, tokens: u64| {
        if k == window.start {
            start = (at, tokens);
        }
        if k + 1 == n {
            end = (at, tokens);
        }
    };
    run_clients(e, isl, osl, c, n, f64::INFINITY, &mut mark, progress)?;
    Ok(report(e, window, (start.0, end.0), end.1 - start.1))
}

/// Closed-loop clients on `e` (see [`closed_loop`]): `c` clients send `n` requests in all, none
/// after `until` (simulated seconds; the run stops there). `mark(k, arrival, tokens out so far)` is
/// called as the `k`-th request reaches the engine. Afterwards every request's `arrival` is its
/// client's send, as GenAI-Perf counts latencies.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_clients(
    e: &mut Engine,
    isl: u32,
    osl: u32,
    c: usize,
    n: usize,
    until: f64,
    mark: &mut dyn FnMut(usize, f64, u64),
    progress: Progress<'_>,
) -> Result<(), String> {
    let dep = &e.dep.clone();
    let k = &dep.coefficients;
    let (gap, sigma, service) = (k.client_gap, k.client_sigma, k.frontend.max(0.0));
    let mut rng = Rng::new(CLIENT_SEED);
    let mut turnaround = move || client_turnaround(gap, sigma, &mut rng);
    // Client sends as the bits of non-negative f64 times (ordered as the times are), earliest first;
    // then the front end's output, (send, arrival) in order.
    let mut sends: BinaryHeap<Reverse<u64>> = (0..c).map(|_| Reverse(turnaround().to_bits())).collect();
    let mut arrivals: VecDeque<(f64, f64)> = VecDeque::new();
    let mut lanes = vec![0.0f64; dep.replicas.max(1) as usize];
    let mut queued = c;
    let mut served = 0u64;
    let mut sent_at: Vec<f64> = Vec::with_capacity(n.min(1 << 20));
    let mut events = 0u64;
    loop {
        let send = sends.peek().map(|r| f64::from_bits(r.0));
        let arrival = arrivals.front().map(|a| a.1);
        let event = e.next_event();
        let first = [send, arrival, event].into_iter().flatten().min_by(f64::total_cmp);
        let Some(now) = first else { break };
        if now > until {
            break;
        }
        if send == Some(now) {
            sends.pop();
            let at = frontend_arrival(&mut lanes, now, frontend_service(service, served));
            served += 1;
            arrivals.push_back((now, at));
        } else if arrival == Some(now) {
            let (sent, at) = arrivals.pop_front().expect("peeked");
            e.run_until(at);
            mark(e.requests.len(), at, e.tokens_out);
            e.submit(at, isl, 0, osl)?;
            sent_at.push(sent);
        } else {
            e.step();
            for _ in e.take_finished() {
                if queued < n {
                    queued += 1;
                    sends.push(Reverse((e.now + turnaround()).to_bits()));
                }
            }
        }
        events += 1;
        if events.is_multiple_of(8192) && !progress((e.requests.len() as f64 / n as f64).max(e.now / until)) {
            return Err(STOPPED.into());
        }
    }
    // Count latencies from the client's send.
    for (r, &sent) in e.requests.iter_mut().zip(&sent_at) {
        r.arrival = sent;
    }
    Ok(())
}

/// Rounds of a closed loop that warm it up and are not measured (each client's first requests).
pub const WARMUP_ROUNDS: usize = 3;

/// The requests (in send order) a closed loop of `c` clients and `n` requests measures: after
/// [`WARMUP_ROUNDS`] rounds of warm-up and before the last round (sent while some clients had
/// already stopped). A run too short for that measures from the second round (and to its end when
/// it has fewer than three rounds).
pub fn measured(c: usize, n: usize) -> std::ops::Range<usize> {
    let c = c.max(1);
    let end = if n >= 3 * c { n - c } else { n };
    let start = if n >= (WARMUP_ROUNDS + 2) * c { WARMUP_ROUNDS * c } else { c };
    start.min(end.saturating_sub(1))..end
}

/// A closed-loop client's turnaround: lognormal of mean `mean` (seconds) and log-spread `sigma`
/// (the standard deviation of its logarithm; 0: always `mean`), from `rng`.
pub fn client_turnaround(mean: f64, sigma: f64, rng: &mut Rng) -> f64 {
    if mean <= 0.0 {
        return 0.0;
    }
    let sigma = sigma.max(0.0);
    let (u, v) = (1.0 - rng.unit(), rng.unit());
    let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
    mean * (sigma * z - sigma * sigma / 2.0).exp()
}

/// When a request sent at `now` reaches the engine through the front end's `lanes` (each the time
/// it is next free): it holds the lane free first for `service` seconds. Arrivals come out in the
/// order of their sends.
pub fn frontend_arrival(lanes: &mut [f64], now: f64, service: f64) -> f64 {
    match lanes.get_mut(first_free(lanes)) {
        Some(free) => {
            *free = free.max(now) + service;
            *free
        }
        None => now + service,
    }
}

/// Seed of the front end's service times.
const FRONTEND_SEED: u64 = 0xF807_E7D5_5E4E_1CE5;

/// How long the `k`-th request to reach the server (counting from 0) holds a front-end lane:
/// exponential of mean `mean`, drawn from `k` alone, so that `fakeai simulate` and the live server
/// (whichever worker takes the request) draw the same times for the same sequence of requests.
pub fn frontend_service(mean: f64, k: u64) -> f64 {
    if mean <= 0.0 {
        return 0.0;
    }
    -(1.0 - Rng::new(FRONTEND_SEED.wrapping_add(k)).unit()).ln() * mean
}

/// The front-end lane free first (the lowest index on ties; 0 when there is none).
pub fn first_free(lanes: &[f64]) -> usize {
    (0..lanes.len()).min_by(|&a, &b| lanes[a].total_cmp(&lanes[b])).unwrap_or(0)
}

/// Poisson arrivals at `rate` requests/s (seeded), `requests` in all; the first tenth is warm-up.
pub fn poisson(
    dep: &Deployment,
    isl: u32,
    osl: u32,
    rate: f64,
    requests: u32,
    seed: u64,
    progress: Progress<'_>,
) -> Result<Level, String> {
    let mut rng = Rng::new(seed);
    let mut t = 0.0;
    let entries: Vec<TraceEntry> = (0..requests.max(1))
        .map(|_| {
            t += -(1.0 - rng.unit()).ln() / rate;
            TraceEntry { at: t, input: isl, output: osl, hash_ids: Vec::new() }
        })
        .collect();
    replay(dep, &entries, entries.len() / 10, progress)
}

/// Replay a trace (sorted by arrival); `hash_ids` drive a per-replica prefix set: the leading
/// hashes a replica has seen before count as cached prompt tokens.
pub fn trace(dep: &Deployment, entries: &[TraceEntry], progress: Progress<'_>) -> Result<Level, String> {
    replay(dep, entries, 0, progress)
}

fn replay(
    dep: &Deployment,
    entries: &[TraceEntry],
    warmup: usize,
    progress: Progress<'_>,
) -> Result<Level, String> {
    let mut e = Engine::new(dep, false);
    let capacity = (dep.kv_tokens() / u64::from(TRACE_BLOCK_TOKENS)).max(1) as usize;
    let mut prefixes: Vec<PrefixSet> = (0..dep.replicas).map(|_| PrefixSet::new(capacity)).collect();
    let t0 = entries.first().map_or(0.0, |x| x.at);
    let mut start = (t0, 0);
    for (i, x) in entries.iter().enumerate() {
        let at = x.at - t0;
        e.run_until(at);
        if i == warmup {
            start = (at, e.tokens_out);
        }
        let replica = e.route();
        let hits = prefixes[replica as usize].hit(&x.hash_ids);
        let cached = (hits as u32).saturating_mul(TRACE_BLOCK_TOKENS).min(x.input);
        e.submit_to(replica, at, x.input, cached, x.output)
            .map_err(|m| format!("trace line {}: {m}", i + 1))?;
        if i % 1024 == 0 && !progress(0.5 * i as f64 / entries.len() as f64) {
            return Err(STOPPED.into());
        }
    }
    let mut events = 0u64;
    while e.step().is_some() {
        events += 1;
        if events.is_multiple_of(8192) {
            let done = e.requests.iter().filter(|r| r.done()).count();
            if !progress(0.5 + 0.5 * done as f64 / e.requests.len().max(1) as f64) {
                return Err(STOPPED.into());
            }
        }
    }
    let finish = e.requests.iter().map(|r| r.finish).fold(start.0, f64::max);
    Ok(report(&e, warmup..entries.len(), (start.0, finish), e.tokens_out - start.1))
}

/// Block hashes a replica holds, oldest evicted first past `capacity`.
struct PrefixSet {
    set: HashSet<u64>,
    order: VecDeque<u64>,
    capacity: usize,
}

impl PrefixSet {
    fn new(capacity: usize) -> PrefixSet {
        PrefixSet { set: HashSet::new(), order: VecDeque::new(), capacity }
    }

    /// Leading hashes already held; then all of them are held.
    fn hit(&mut self, hashes: &[u64]) -> usize {
        let hits = hashes.iter().take_while(|h| self.set.contains(h)).count();
        for &h in hashes {
            if self.set.insert(h) {
                self.order.push_back(h);
                if self.order.len() > self.capacity {
                    if let Some(old) = self.order.pop_front() {
                        self.set.remove(&old);
                    }
                }
            }
        }
        hits
    }
}
