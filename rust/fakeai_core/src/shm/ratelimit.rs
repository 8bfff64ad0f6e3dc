//! Rate limits shared by every worker process: GCRA token buckets in a [`crate::shm::table::Table`].
//!
//! Each limit (requests or tokens per minute or per day) is one atomic word holding the bucket's
//! "theoretical arrival time" (GCRA): a limit of `amount` per `window` drains `cost * window / amount`
//! nanoseconds per request and admits a request while the word stays within one window of now. One
//! compare-and-swap per limit takes a request; no lock, and every worker sees the same buckets.
//!
//! A key's entry holds `[tat x4, allowed requests, allowed tokens, throttled by requests, throttled by
//! tokens, limit x4]` (the limits are copied there so a metrics view can read them back).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub const WIDTH: usize = 12;
pub const MINUTE_NS: u64 = 60_000_000_000;
pub const DAY_NS: u64 = 86_400_000_000_000;

const ALLOWED_REQUESTS: usize = 4;
const ALLOWED_TOKENS: usize = 5;
const THROTTLED_REQUESTS: usize = 6;
const THROTTLED_TOKENS: usize = 7;
const LIMITS: usize = 8;

/// Requests and tokens per minute and per day; 0 means no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub rpm: u64,
    pub tpm: u64,
    pub rpd: u64,
    pub tpd: u64,
}

impl Limits {
    fn table(&self) -> [(u64, u64); 4] {
        [(self.rpm, MINUTE_NS), (self.tpm, MINUTE_NS), (self.rpd, DAY_NS), (self.tpd, DAY_NS)]
    }
}

/// One bucket's state after a take: what the `x-ratelimit-*` headers report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bucket {
    pub limit: u64,
    pub remaining: u64,
    /// Until the bucket is full again.
    pub reset_ns: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over a requests limit (per minute or per day); retry after the given nanoseconds.
    Requests(u64),
    /// Over a tokens limit.
    Tokens(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub verdict: Verdict,
    /// The limit that refused the request: 0 rpm, 1 tpm, 2 rpd, 3 tpd.
    pub refused: Option<usize>,
    /// The requests bucket the headers describe (per minute, or per day when only that is set).
    pub requests: Option<Bucket>,
    pub tokens: Option<Bucket>,
}

fn drain(cost: u64, amount: u64, window: u64) -> u64 {
    (u128::from(cost) * u128::from(window) / u128::from(amount)).min(u128::from(u64::MAX / 2)) as u64
}

fn bucket(amount: u64, window: u64, tat: u64, now: u64) -> Bucket {
    let used = tat.saturating_sub(now);
    let free = window.saturating_sub(used);
    Bucket {
        limit: amount,
        remaining: (u128::from(free) * u128::from(amount) / u128::from(window)) as u64,
        reset_ns: used,
    }
}

/// Take `cost` from one GCRA bucket. `Ok` holds the bucket after the take, `Err` the wait until it
/// would fit, with the bucket as it stands.
fn take(word: &AtomicU64, amount: u64, window: u64, cost: u64, now: u64) -> Result<Bucket, (u64, Bucket)> {
    let step = drain(cost, amount, window);
    let mut old = word.load(Ordering::Acquire);
    loop {
        let next = old.max(now) + step;
        if next - now > window {
            return Err((next - now - window, bucket(amount, window, old, now)));
        }
        match word.compare_exchange_weak(old, next, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return Ok(bucket(amount, window, next, now)),
            Err(seen) => old = seen,
        }
    }
}

/// Give back a take that a later limit refused.
fn refund(word: &AtomicU64, amount: u64, window: u64, cost: u64) {
    let step = drain(cost, amount, window);
    let _ = word.fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| Some(t.saturating_sub(step)));
}

/// Admit one request costing `tokens` under `limits` for the key whose entry is `slot`, at `now`
/// (nanoseconds since the epoch). Limits are checked in order rpm, tpm, rpd, tpd; a refusal gives back
/// what the earlier ones took.
pub fn admit(slot: &[AtomicU64], limits: Limits, tokens: u64, now: u64) -> Outcome {
    let table = limits.table();
    for (i, (amount, _)) in table.iter().enumerate() {
        slot[LIMITS + i].store(*amount, Ordering::Relaxed);
    }
    let mut seen: [Option<Bucket>; 4] = [None; 4];
    let mut verdict = Verdict::Allowed;
    let mut refused = None;
    for (i, &(amount, window)) in table.iter().enumerate() {
        if amount == 0 {
            continue;
        }
        let cost = if i % 2 == 0 { 1 } else { tokens };
        match take(&slot[i], amount, window, cost, now) {
            Ok(b) => seen[i] = Some(b),
            Err((wait, b)) => {
                seen[i] = Some(b);
                for (j, &(a, w)) in table.iter().enumerate().take(i) {
                    if a != 0 {
                        refund(&slot[j], a, w, if j % 2 == 0 { 1 } else { tokens });
                    }
                }
                verdict = if i % 2 == 0 { Verdict::Requests(wait) } else { Verdict::Tokens(wait) };
                refused = Some(i);
                break;
            }
        }
    }
    match verdict {
        Verdict::Allowed => {
            slot[ALLOWED_REQUESTS].fetch_add(1, Ordering::Relaxed);
            slot[ALLOWED_TOKENS].fetch_add(tokens, Ordering::Relaxed);
        }
        Verdict::Requests(_) => {
            slot[THROTTLED_REQUESTS].fetch_add(1, Ordering::Relaxed);
        }
        Verdict::Tokens(_) => {
            slot[THROTTLED_TOKENS].fetch_add(1, Ordering::Relaxed);
        }
    }
    let now_view = |i: usize| {
        let (amount, window) = table[i];
        (amount != 0)
            .then(|| seen[i].unwrap_or_else(|| bucket(amount, window, slot[i].load(Ordering::Acquire), now)))
    };
    Outcome {
        verdict,
        refused,
        requests: now_view(0).or_else(|| now_view(2)),
        tokens: now_view(1).or_else(|| now_view(3)),
    }
}

/// Nanoseconds since the Unix epoch: one clock every worker process agrees on.
pub fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// A duration as OpenAI's rate-limit headers write it (Go's format): `120ms`, `1s`, `2.5s`, `6m0s`.
pub fn duration(ns: u64) -> String {
    let ms = ns.div_ceil(1_000_000);
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let secs = if rest % 1000 == 0 {
        format!("{}s", rest / 1000)
    } else {
        format!("{}.{:03}", rest / 1000, rest % 1000).trim_end_matches('0').to_owned() + "s"
    };
    match (h, m) {
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
}

/// Per-key usage as stored: `(allowed requests, allowed tokens, throttled by requests, throttled by
/// tokens, limits)`.
pub fn usage(slot: &[AtomicU64]) -> ([u64; 4], Limits) {
    let w = |i: usize| slot[i].load(Ordering::Relaxed);
    (
        [w(ALLOWED_REQUESTS), w(ALLOWED_TOKENS), w(THROTTLED_REQUESTS), w(THROTTLED_TOKENS)],
        Limits { rpm: w(LIMITS), tpm: w(LIMITS + 1), rpd: w(LIMITS + 2), tpd: w(LIMITS + 3) },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn words() -> Vec<AtomicU64> {
        (0..WIDTH).map(|_| AtomicU64::new(0)).collect()
    }

    const T0: u64 = 1_000 * MINUTE_NS;

    #[test]
    fn a_burst_gets_exactly_the_per_minute_limit_then_refills() {
        let slot = words();
        let limits = Limits { rpm: 10, ..Default::default() };
        let allowed = (0..25).filter(|_| admit(&slot, limits, 0, T0).verdict == Verdict::Allowed).count();
        assert_eq!(allowed, 10);
        match admit(&slot, limits, 0, T0).verdict {
            Verdict::Requests(wait) => assert_eq!(wait, MINUTE_NS / 10),
            v => panic!("{v:?}"),
        }
        // One interval later exactly one more fits.
        assert_eq!(admit(&slot, limits, 0, T0 + MINUTE_NS / 10).verdict, Verdict::Allowed);
        assert!(matches!(admit(&slot, limits, 0, T0 + MINUTE_NS / 10).verdict, Verdict::Requests(_)));
        let (stats, stored) = usage(&slot);
        assert_eq!(stats, [11, 0, 17, 0]);
        assert_eq!(stored, limits);
    }

    #[test]
    fn headers_report_remaining_and_time_to_full() {
        let slot = words();
        let limits = Limits { rpm: 60, tpm: 1000, ..Default::default() };
        let out = admit(&slot, limits, 100, T0);
        assert_eq!(out.verdict, Verdict::Allowed);
        assert_eq!(out.requests, Some(Bucket { limit: 60, remaining: 59, reset_ns: 1_000_000_000 }));
        assert_eq!(out.tokens, Some(Bucket { limit: 1000, remaining: 900, reset_ns: 6_000_000_000 }));
    }

    #[test]
    fn a_token_refusal_gives_the_request_back() {
        let slot = words();
        let limits = Limits { rpm: 3, tpm: 100, ..Default::default() };
        assert_eq!(admit(&slot, limits, 80, T0).verdict, Verdict::Allowed);
        assert!(matches!(admit(&slot, limits, 80, T0).verdict, Verdict::Tokens(_)));
        let out = admit(&slot, limits, 10, T0);
        assert_eq!(out.verdict, Verdict::Allowed);
        assert_eq!(out.requests.unwrap().remaining, 1, "the refused request was refunded");
        // A day limit binds after the minute ones.
        let day = words();
        let limits = Limits { rpm: 100, rpd: 2, ..Default::default() };
        assert_eq!(admit(&day, limits, 0, T0).verdict, Verdict::Allowed);
        assert_eq!(admit(&day, limits, 0, T0).verdict, Verdict::Allowed);
        let out = admit(&day, limits, 0, T0 + MINUTE_NS);
        assert!(matches!(out.verdict, Verdict::Requests(w) if w > MINUTE_NS));
        assert_eq!(out.refused, Some(2));
    }

    #[test]
    fn concurrent_takers_never_exceed_the_limit() {
        let slot = Arc::new(words());
        let limits = Limits { rpm: 1000, ..Default::default() };
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let s = Arc::clone(&slot);
                std::thread::spawn(move || {
                    (0..1000).filter(|_| admit(&s, limits, 0, T0).verdict == Verdict::Allowed).count()
                })
            })
            .collect();
        let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(total, 1000);
    }

    #[test]
    fn durations_look_like_openais() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(120_000_000), "120ms");
        assert_eq!(duration(1_000_000_000), "1s");
        assert_eq!(duration(2_500_000_000), "2.5s");
        assert_eq!(duration(360_000_000_000), "6m0s");
        assert_eq!(duration(72_250_000_000), "1m12.25s");
        assert_eq!(duration(DAY_NS), "24h0m0s");
    }
}
