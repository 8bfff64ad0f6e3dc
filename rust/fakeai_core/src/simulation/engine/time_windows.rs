//! A closed loop measured as GenAI-Perf (0.0.x, on perf_analyzer) measures one: in time windows.
//!
//! perf_analyzer starts all clients at once and measures from that moment, with no warm-up. It
//! measures in back-to-back windows of 1.2 x `--measurement-interval`; a window's throughput is the
//! requests that *ended* in it per second and its latency their mean request latency. It stops at the
//! first three consecutive windows that agree on both within `--stability-percentage` (GenAI-Perf
//! now passes 999 %, max / min <= 10.99, in practice three windows in a row in which requests ended;
//! perf_analyzer's own default is 10 %, which the NIM curves' durations favour, see
//! `benches/calibration.py`), or after 10 windows. GenAI-Perf then reports over every request its
//! profile export holds: all that ended in any window, from the first on (its parser ignores the
//! windows), so the start-up rounds count, and requests still running at the end do not. Output
//! tokens/s is their output tokens over the time from the first request's send to the last one's end.
//!
//! What that does to a long-running level: a run whose requests last longer than a few windows
//! measures mostly its first rounds, whose clients all started together, so their TTFT carries the
//! whole start-up queue (NVIDIA's NIM sizing curves: the levels' request counts and throughputs put
//! their durations at 216, 288, ... 720 s, multiples of 72 s, i.e. `--measurement-interval 60000`).

use super::engine::Engine;
use super::request::Request;
use super::workload::{run_clients, summarize, Level, Progress};
use super::Deployment;

/// perf_analyzer's windows before it gives up on stability (`--max-trials`).
pub const MAX_WINDOWS: usize = 10;
/// Windows that must agree (`stability_window`).
const STABLE_WINDOWS: usize = 3;
/// How closely, as a fraction: GenAI-Perf passes `--stability-percentage 999` (max / min <= 10.99);
/// perf_analyzer's own default is 10 % (0.1).
pub const GENAI_PERF_STABILITY: f64 = 9.99;
/// A window lasts this many measurement intervals (perf_analyzer sleeps 1.2 x the interval).
const WINDOW_PER_INTERVAL: f64 = 1.2;

/// How GenAI-Perf measures: `interval` seconds (its `--measurement-interval`, in seconds here), and
/// how closely three windows must agree, `stability` (a fraction: `--stability-percentage` / 100).
#[derive(Clone, Copy, Debug)]
pub struct Windows {
    pub interval: f64,
    pub stability: f64,
}

/// `concurrency` clients (as [`super::workload::closed_loop`]) measured in GenAI-Perf's time
/// windows; at most `requests` are sent (a bound on memory; a run that reaches it measures what it
/// has).
pub fn closed_loop_windows(
    dep: &Deployment,
    isl: u32,
    osl: u32,
    concurrency: u32,
    windows: Windows,
    requests: u32,
    progress: Progress<'_>,
) -> Result<Level, String> {
    let Windows { interval, stability } = windows;
    if !(interval > 0.0 && interval.is_finite()) {
        return Err(format!("measurement interval must be > 0 s, got {interval}"));
    }
    if !(stability >= 0.0 && stability.is_finite()) {
        return Err(format!("stability must be >= 0, got {stability}"));
    }
    let window = WINDOW_PER_INTERVAL * interval;
    let c = concurrency.max(1) as usize;
    let n = (requests as usize).max(c);
    let mut e = Engine::new(dep, false);
    run_clients(&mut e, isl, osl, c, n, window * MAX_WINDOWS as f64, &mut |_, _, _| (), progress)?;
    let ends: Vec<(f64, f64)> = e.requests.iter().filter(|r| r.done()).map(|r| (r.finish, r.e2e())).collect();
    let stop = stop_time(&ends, window, stability);
    let done: Vec<&Request> = e.requests.iter().filter(|r| r.done() && r.finish < stop).collect();
    let first_send = done.iter().map(|r| r.arrival).fold(f64::INFINITY, f64::min);
    let last_end = done.iter().map(|r| r.finish).fold(first_send, f64::max);
    let tokens = done.iter().map(|r| u64::from(r.generated)).sum();
    let mut level = summarize(&done, 0, (first_send, last_end), tokens, &e);
    level.duration = stop;
    Ok(level)
}

/// The end of the window at which perf_analyzer stops, given each finished request's (end,
/// latency): the first window closing three consecutive non-empty windows whose request counts
/// and mean latencies agree within `stability` (max / min <= 1 + stability); else the end of the
/// last window.
pub fn stop_time(ends: &[(f64, f64)], window: f64, stability: f64) -> f64 {
    let mut count = [0usize; MAX_WINDOWS];
    let mut latency = [0.0f64; MAX_WINDOWS];
    for &(end, lat) in ends {
        let k = (end / window).floor();
        if k >= 0.0 && (k as usize) < MAX_WINDOWS {
            count[k as usize] += 1;
            latency[k as usize] += lat;
        }
    }
    for last in STABLE_WINDOWS - 1..MAX_WINDOWS {
        let span = last + 1 - STABLE_WINDOWS..=last;
        if span.clone().any(|k| count[k] == 0) {
            continue;
        }
        let agree = |x: &dyn Fn(usize) -> f64| {
            let (lo, hi) =
                span.clone().map(x).fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
            hi <= lo * (1.0 + stability)
        };
        if agree(&|k| count[k] as f64) && agree(&|k| latency[k] / count[k] as f64) {
            return window * (last + 1) as f64;
        }
    }
    window * MAX_WINDOWS as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulation::engine::Spec;

    fn genai_perf(interval: f64) -> Windows {
        Windows { interval, stability: GENAI_PERF_STABILITY }
    }

    #[test]
    fn stops_at_the_first_three_agreeing_windows() {
        // Windows of 10 s: 0 empty, then 5, 10, 10, 10 requests of 1 s latency.
        let mut ends = Vec::new();
        for (k, n) in [(1, 5), (2, 10), (3, 10), (4, 10)] {
            ends.extend((0..n).map(|i| (k as f64 * 10.0 + i as f64 * 0.5, 1.0)));
        }
        assert_eq!(stop_time(&ends, 10.0, GENAI_PERF_STABILITY), 40.0);
        // Requests that end every other window (a convoy of long requests) never make three in a row.
        let convoy: Vec<_> = (0..MAX_WINDOWS / 2).map(|k| (k as f64 * 20.0 + 1.0, 15.0)).collect();
        assert_eq!(stop_time(&convoy, 10.0, GENAI_PERF_STABILITY), 100.0);
        // Nor do windows whose counts differ by more than 999 %: 1, 1, 12 requests (then none);
        // 1, 1, 10 do agree.
        let burst = |n: usize| {
            let mut ends = vec![(1.0, 1.0), (11.0, 1.0)];
            ends.extend((0..n).map(|i| (21.0 + i as f64 * 0.1, 1.0)));
            ends
        };
        assert_eq!(stop_time(&burst(12), 10.0, GENAI_PERF_STABILITY), 100.0);
        assert_eq!(stop_time(&burst(10), 10.0, GENAI_PERF_STABILITY), 30.0);
        // perf_analyzer's own 10 %: 5, 10, 10, 10 agree only from the second window on.
        assert_eq!(stop_time(&ends, 10.0, 0.1), 50.0);
        assert_eq!(stop_time(&[], 10.0, GENAI_PERF_STABILITY), 100.0);
    }

    #[test]
    fn long_requests_measure_the_start_up_round() {
        // Llama-3-70B on eight A100s, 2,000 in / 2,000 out, 100 clients: a request lasts ~110 s,
        // so 72 s windows measure the first rounds, whose TTFT holds the start-up queue.
        let dep =
            Deployment::new(&Spec::of("meta-llama/Meta-Llama-3-70B-Instruct", "A100", "bf16", 8)).unwrap();
        let w = closed_loop_windows(&dep, 2000, 2000, 100, genai_perf(60.0), 100_000, &mut |_| true).unwrap();
        let steady = super::super::workload::closed_loop(&dep, 2000, 2000, 100, 1000, &mut |_| true).unwrap();
        assert_eq!(w.warmup, 0);
        assert!(w.requests >= 100 && w.requests < 1000, "{w:?}");
        assert!(w.ttft.mean > 1.1 * steady.ttft.mean, "{} vs {}", w.ttft.mean, steady.ttft.mean);
        assert!(w.duration <= 720.0 + 1e-9);
        // Short requests: many rounds end in a window, and the start-up round weighs little.
        let short = closed_loop_windows(&dep, 200, 20, 10, genai_perf(10.0), 100_000, &mut |_| true).unwrap();
        let rounds = (short.duration / 12.0).round();
        assert!((3.0..=10.0).contains(&rounds) && (short.duration - 12.0 * rounds).abs() < 1e-9, "{short:?}");
        let steady = super::super::workload::closed_loop(&dep, 200, 20, 10, 1000, &mut |_| true).unwrap();
        assert!((short.ttft.mean / steady.ttft.mean - 1.0).abs() < 0.15, "{short:?} {steady:?}");
    }
}
