//! The shared engine against the heap engine, its locking, settling and replicas.

use super::*;
use crate::simulation::engine::workload::frontend_arrival;
use crate::simulation::engine::Spec;

fn deployment(replicas: u32, max_num_seqs: u32) -> Deployment {
    let spec = Spec {
        model: "llama-3-8b".into(),
        gpu: Some("H100".into()),
        precision: Some("fp8".into()),
        tp: Some(1),
        replicas,
        max_num_seqs,
        ..Spec::default()
    };
    Deployment::new(&spec).unwrap()
}

/// When the `k`-th request sent at `now` reaches the engine through the front end's `lanes`.
fn through(lanes: &mut [f64], dep: &Deployment, now: f64, k: u64) -> f64 {
    frontend_arrival(lanes, now, frontend_service(dep.coefficients.frontend, k))
}

fn region(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fakeai-engine-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn matches_the_heap_engine_request_by_request() {
    let dep = deployment(2, 8);
    let shared = SharedEngine::open(&region("same"), &dep, 64).unwrap();
    let mut heap = Engine::new(&dep, true);
    let mut lanes = [0.0; 2];
    for k in 0..40u32 {
        let now = 1000.0 + f64::from(k) * 0.013;
        let (prompt, out) = (100 + 37 * (k % 5), 20 + 11 * (k % 7));
        let (_, times) = shared.submit(now, prompt, 0, out, false).unwrap();
        let at = through(&mut lanes, &dep, now, u64::from(k));
        heap.run_until(at);
        let id = heap.submit(at, prompt, 0, out).unwrap();
        let expect = heap.forecast(id);
        assert_eq!(times.len(), out as usize);
        assert!(times.iter().zip(&expect).all(|(a, b)| (a - b).abs() < 1e-9), "request {k}");
    }
    let status = shared.status(1010.0);
    heap.run_until(1010.0);
    let running: usize = heap.replicas.iter().map(|r| r.running.len()).sum();
    let waiting: usize = heap.replicas.iter().map(|r| r.waiting.len()).sum();
    assert_eq!((status.running as usize, status.waiting as usize), (running, waiting));
    assert_eq!(status.counters.output_tokens, heap.tokens_out);
    assert_eq!(status.counters.submitted, 40);
}

#[test]
fn the_front_end_serves_requests_one_at_a_time() {
    let dep = deployment(1, 8);
    let a = region("frontend");
    let (a, other) = (SharedEngine::open(&a, &dep, 8).unwrap(), SharedEngine::open(&a, &dep, 8).unwrap());
    let mut heap = Engine::new(&dep, true);
    let service = |k: u64| frontend_service(dep.coefficients.frontend, k);
    // Three requests at once through two handles (two workers): they reach the engine in turn,
    // each after its own service time.
    let mut at = 2.0;
    for k in 0..3u32 {
        let handle = if k == 1 { &other } else { &a };
        let (_, times) = handle.submit(2.0, 200, 0, 30, false).unwrap();
        at += service(u64::from(k));
        heap.run_until(at);
        let id = heap.submit(at, 200, 0, 30).unwrap();
        let expect = heap.forecast(id);
        assert!(times.iter().zip(&expect).all(|(x, y)| (x - y).abs() < 1e-9), "request {k}");
    }
    // One that comes after the front end went idle waits only its own turn.
    let (_, times) = a.submit(9.0, 200, 0, 30, false).unwrap();
    heap.run_until(9.0 + service(3));
    let id = heap.submit(9.0 + service(3), 200, 0, 30).unwrap();
    assert!((times[0] - heap.forecast(id)[0]).abs() < 1e-9);
    assert!(dep.coefficients.frontend > 1e-3, "the fitted front end: {}", dep.coefficients.frontend);
}

#[test]
fn two_handles_share_one_engine_and_a_full_queue_refuses() {
    let dep = deployment(1, 2);
    let path = region("two");
    let a = SharedEngine::open(&path, &dep, 1).unwrap();
    let b = SharedEngine::open(&path, &dep, 1).unwrap();
    a.submit(5.0, 100, 0, 1000, false).unwrap();
    let (ticket, _) = b.submit(5.01, 100, 0, 1000, false).unwrap();
    let (waiting, times) = a.submit(5.02, 100, 0, 1000, false).unwrap();
    assert!(times[0] > 5.5, "waits for a sequence slot: {}", times[0]);
    assert_eq!(b.submit(5.03, 100, 0, 10, false), Err(Refusal::QueueFull(1)));
    let s = b.status(5.1);
    assert_eq!((s.running, s.waiting, s.counters.refused), (2, 1, 1));
    assert!(s.kv_usage() > 0.0);
    assert!(a.cancel(ticket, 5.2));
    assert!(!a.cancel(ticket, 5.2), "already gone");
    let s = a.status(5.3);
    assert_eq!((s.running, s.waiting, s.counters.cancelled), (2, 0, 1), "the waiting one took its place");
    assert!(a.cancel(waiting, 5.4));
    let other = deployment(1, 4);
    assert!(SharedEngine::open(&path, &other, 1).is_err(), "a different deployment");
}

#[test]
fn a_sustained_forecast_keeps_the_batch_full() {
    let dep = deployment(1, 64);
    let (a, b) = (region("drain"), region("sustain"));
    let (drain, sustain) =
        (SharedEngine::open(&a, &dep, 64).unwrap(), SharedEngine::open(&b, &dep, 64).unwrap());
    for k in 0..32 {
        let t = f64::from(k) * 0.01;
        drain.submit(t, 200, 0, 50, false).unwrap();
        sustain.submit(t, 200, 0, 50, true).unwrap();
    }
    let (_, drained) = drain.submit(0.5, 200, 0, 400, false).unwrap();
    let (_, sustained) = sustain.submit(0.5, 200, 0, 400, true).unwrap();
    // The others finish long before the new request: draining, it decodes alone at the end.
    let (s, d) = (sustained[399] - sustained[0], drained[399] - drained[0]);
    assert!(s > 1.05 * d, "{s} vs {d}");
}

/// The live forecast (sustained load) simulates the first tokens as the engine would and
/// extrapolates the rest at their spacing: as many times as tokens, never decreasing, the
/// simulated ones exactly those of a whole forecast, and an end near the whole forecast's on a
/// batch that keeps its size.
#[test]
fn a_sustained_forecast_simulates_its_first_tokens_and_extrapolates_the_rest() {
    let dep = deployment(1, 64);
    let shared = SharedEngine::open(&region("extrapolated"), &dep, 64).unwrap();
    let mut heap = Engine::new(&dep, true);
    let mut lanes = [0.0];
    for k in 0..24u32 {
        let t = f64::from(k) * 0.002;
        let at = through(&mut lanes, &dep, t, u64::from(k));
        heap.run_until(at);
        let id = heap.submit(at, 300, 0, 200).unwrap();
        let (_, times) = shared.submit(t, 300, 0, 200, true).unwrap();
        let whole = heap.clone().into_forecast(id, true);
        assert_eq!(times.len(), 200, "request {k}");
        assert!(times.windows(2).all(|w| w[1] >= w[0]), "request {k}: {times:?}");
        let simulated = FORECAST_STEPS as usize;
        assert!(times[..simulated].iter().zip(&whole).all(|(a, b)| (a - b).abs() < 1e-9), "request {k}");
        let (e, w) = (times[199] - times[0], whole[199] - whole[0]);
        assert!((e - w).abs() < 0.35 * w, "request {k}: extrapolated {e} s vs simulated {w} s");
    }
    // Short answers are simulated whole.
    let at = through(&mut lanes, &dep, 1.0, 24);
    heap.run_until(at);
    let id = heap.submit(at, 300, 0, 3).unwrap();
    let (_, times) = shared.submit(1.0, 300, 0, 3, true).unwrap();
    let whole = heap.clone().into_forecast(id, true);
    assert!(times.len() == 3 && times.iter().zip(&whole).all(|(a, b)| (a - b).abs() < 1e-9));
}

#[test]
fn settling_sees_the_requests_that_joined_the_prefill_step() {
    let dep = deployment(1, 64);
    let shared = SharedEngine::open(&region("settle"), &dep, 64).unwrap();
    let mut heap = Engine::new(&dep, true);
    // A long prefill is in flight; `a` arrives during it, then `b` with a larger prompt: both are
    // prefilled in the next step, which `a`'s forecast (made before `b` came) thinks is its alone.
    let arrivals = [(0.0, 6000, 20), (0.004, 300, 20), (0.006, 4000, 20)];
    let mut tickets = Vec::new();
    let mut forecasts = Vec::new();
    let mut ids = Vec::new();
    let mut lanes = [0.0];
    for (k, &(t, prompt, out)) in arrivals.iter().enumerate() {
        let (ticket, times) = shared.submit(t, prompt, 0, out, false).unwrap();
        // The front end serves them in turn.
        let at = through(&mut lanes, &dep, t, k as u64);
        heap.run_until(at);
        ids.push(heap.submit(at, prompt, 0, out).unwrap());
        tickets.push(ticket);
        forecasts.push(times);
    }
    heap.drain();
    let actual = heap.requests[ids[1] as usize].first_token;
    assert!(
        actual > forecasts[1][0] + 1e-3,
        "b makes a's first token later: {actual} vs {:?}",
        forecasts[1][0]
    );
    // Asked when its forecast token is due, then again when told to, the engine settles it.
    let settle = |ticket: Ticket, mut at: f64, last: bool| loop {
        match shared.settle(ticket, at, last) {
            Settled::At(t) => break t,
            Settled::Later(t) => {
                assert!(t >= at, "{t} < {at}");
                at = t + 1e-9;
            }
            Settled::Gone => panic!("still running"),
        }
    };
    let first = settle(tickets[1], forecasts[1][0], false);
    assert!((first - actual).abs() < 1e-9, "{first} vs {actual}");
    // Once delivered it stays settled.
    assert_eq!(shared.settle(tickets[1], actual + 1e-3, false), Settled::At(actual));
    // The last token too, and its time stays known after the request finished.
    let end = heap.requests[ids[1] as usize].finish;
    let last = settle(tickets[1], forecasts[1][19], true);
    assert!((last - end).abs() < 1e-9, "{last} vs {end}");
    assert_eq!(shared.settle(tickets[1], 100.0, true), Settled::At(end));
    assert_eq!(shared.settle(tickets[1], 100.0, false), Settled::Gone);
    assert_eq!(shared.settle(u64::MAX, 1.0, false), Settled::Gone, "a ticket out of range");
}

/// A closed loop of clients whose answers are settled as the pacer settles a whole answer: the
/// last token asked at once, then when the engine says. Each answer comes as the engine
/// finished the request (never asked after that), in few asks.
#[test]
fn settling_the_last_token_is_never_late_and_takes_few_asks() {
    let dep = deployment(1, 64);
    let shared = SharedEngine::open(&region("closed-loop"), &dep, 64).unwrap();
    // (time, client, ticket: 0 for a new request)
    let mut events: Vec<(f64, u32, Ticket)> = (0..48).map(|c| (f64::from(c) * 1e-4, c, 0)).collect();
    let (mut answers, mut asks) = (0u32, 0u32);
    while answers < 600 {
        let k = (0..events.len()).min_by(|&a, &b| events[a].0.total_cmp(&events[b].0)).unwrap();
        let (at, client, ticket) = events.swap_remove(k);
        if ticket == 0 {
            let out = 8 + 5 * (client % 7);
            let (ticket, _) = shared.submit(at, 60 + 20 * (client % 3), 0, out, true).unwrap();
            events.push((at, client, ticket));
            continue;
        }
        asks += 1;
        match shared.settle(ticket, at, true) {
            Settled::Later(t) => {
                assert!(t >= at, "{t} < {at}");
                events.push((t, client, ticket));
            }
            Settled::At(t) => {
                assert!(t >= at - 1e-12, "asked at {at}, after the last token at {t}");
                answers += 1;
                events.push((t + 1e-3, client, 0));
            }
            Settled::Gone => panic!("a running request is gone"),
        }
    }
    // The first ask costs no wake-up (made when the answer is parked); a bound of one step
    // priced with the sequences that outlast the request took 3.45. The bound prices decode-only
    // steps: here most steps also prefill a returning client and pay its per-layer launches
    // (`prefill_layer_overhead`, which the bound cannot count on), so it is loose by about that:
    // 4.6 asks per answer (under 3.25 without that cost).
    let per_answer = f64::from(asks) / f64::from(answers);
    assert!(per_answer < 5.0, "{per_answer} asks per answer");
}

#[test]
fn a_request_goes_to_the_chosen_replica_unless_its_queue_is_full() {
    let dep = deployment(2, 1);
    let e = SharedEngine::open(&region("chosen"), &dep, 1).unwrap();
    let on = |e: &SharedEngine| e.replicas(5.1).iter().map(|r| r.running + r.waiting).collect::<Vec<_>>();
    // Spaced wider than the front end's time, so each finds the one before it running.
    e.submit_on(Some(1), 5.0, 100, 0, 1000, false).unwrap();
    e.submit_on(Some(1), 5.01, 100, 64, 1000, false).unwrap();
    assert_eq!(on(&e), [0, 2]);
    // Replica 1 holds one running and one waiting: the next goes to replica 0.
    e.submit_on(Some(1), 5.02, 100, 64, 1000, false).unwrap();
    assert_eq!(on(&e), [1, 2]);
    assert_eq!(e.replicas(5.1)[0].kv_blocks, dep.kv_blocks);
}

#[test]
fn each_replica_adds_a_front_end_lane() {
    // Four at once: one lane serves them in turn, two lanes two at a time; each reaches the
    // engine as the heap engine behind the same lanes says (a lane is held until its own
    // request's exit, whatever another lane did to the engine's clock).
    let mut reached = Vec::new();
    for replicas in [1, 2] {
        let dep = deployment(replicas, 8);
        let e = SharedEngine::open(&region(&format!("lanes{replicas}")), &dep, 8).unwrap();
        let mut heap = Engine::new(&dep, true);
        let mut lanes = vec![0.0; replicas as usize];
        let mut last = 0.0;
        for k in 0..4 {
            let (_, times) = e.submit(3.0, 50, 0, 4, false).unwrap();
            last = through(&mut lanes, &dep, 3.0, k);
            heap.run_until(last);
            let id = heap.submit(last, 50, 0, 4).unwrap();
            assert!((times[0] - heap.forecast(id)[0]).abs() < 1e-9, "{replicas} replicas, request {k}");
        }
        reached.push(last);
    }
    let service = |k| frontend_service(deployment(1, 8).coefficients.frontend, k);
    assert!((reached[0] - 3.0 - (0..4).map(service).sum::<f64>()).abs() < 1e-12);
    assert!(reached[1] < reached[0], "{reached:?}");
}

#[test]
fn a_dead_holder_does_not_wedge_the_lock() {
    let dep = deployment(1, 4);
    let e = SharedEngine::open(&region("dead"), &dep, 4).unwrap();
    // A pid that cannot exist holds the lock.
    e.header().lock.store(u32::MAX - 1, Ordering::Release);
    e.header().locked_at.store(crate::shm::ratelimit::now_ns(), Ordering::Release);
    assert!(e.submit(1.0, 10, 0, 5, true).is_ok());
    assert_eq!(e.header().lock.load(Ordering::Acquire), 0);
}

#[test]
fn finished_requests_free_their_slots() {
    let dep = deployment(1, 4);
    let e = SharedEngine::open(&region("free"), &dep, 2).unwrap();
    for k in 0..50 {
        let t = f64::from(k);
        let (_, times) = e.submit(t, 50, 0, 4, false).unwrap();
        assert!(times[3] < t + 1.0);
    }
    let s = e.status(100.0);
    assert_eq!((s.running, s.waiting, s.counters.finished), (0, 0, 50));
    assert_eq!(s.kv_blocks_free, s.kv_blocks);
    assert_eq!(s.counters.output_tokens, 200);
    assert_eq!(s.iteration_buckets.iter().sum::<u64>(), s.counters.steps);
}
