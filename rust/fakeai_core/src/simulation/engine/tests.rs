//! Scheduler and engine tests: token budget, chunked prefill, preemption, prefix hits, determinism.

use super::workload::{self, TraceEntry};
use super::*;

fn deployment(edit: impl FnOnce(&mut Spec)) -> Deployment {
    let mut spec = Spec {
        model: "llama-3-8b".into(),
        gpu: Some("H100".into()),
        precision: Some("fp8".into()),
        tp: Some(1),
        ..Spec::default()
    };
    edit(&mut spec);
    Deployment::new(&spec).unwrap()
}

fn never_stop() -> impl FnMut(f64) -> bool {
    |_| true
}

#[test]
fn a_step_never_exceeds_the_token_budget() {
    let dep = deployment(|s| s.max_num_batched_tokens = 512);
    let mut e = Engine::new(&dep, true);
    for _ in 0..10 {
        e.submit(0.0, 300, 0, 4).unwrap();
    }
    e.step(); // plan the first step
    let scheduled: u32 = e.replicas[0].work.iter().map(|w| w.1).sum();
    assert_eq!(scheduled, 512);
    // The first request entirely, the second chunked: 300 + 212.
    assert_eq!(e.replicas[0].work, vec![(0, 300), (1, 212)]);
    e.drain();
    assert!(e.requests.iter().all(|r| r.done() && r.generated == 4));
}

#[test]
fn chunked_prefill_spreads_a_long_prompt_over_steps() {
    let dep = deployment(|s| s.max_num_batched_tokens = 1000);
    let mut e = Engine::new(&dep, true);
    let id = e.submit(0.0, 2500, 0, 3).unwrap();
    e.drain();
    // 1000 + 1000 + 500 prompt tokens, then two decode steps.
    assert_eq!(e.replicas[0].steps, 5);
    assert_eq!(e.token_times(id).len(), 3);
    let r = &e.requests[id as usize];
    // Sampled, and delivered, when the step with the prompt's last chunk (the third) ends.
    assert_eq!(r.first_token, e.replicas[0].step_ends[2]);
    assert_eq!(e.token_times(id), e.replicas[0].step_ends[2..].to_vec());

    let whole = deployment(|s| {
        s.max_num_batched_tokens = 1000;
        s.chunked_prefill = false;
    });
    assert!(Engine::new(&whole, false).submit(0.0, 2500, 0, 3).is_err());
}

#[test]
fn a_lone_request_has_its_first_token_when_its_prefill_step_ends() {
    // TTFT at concurrency 1 is one prefill step (TensorRT-LLM returns the context phase's token at
    // once), and each further token takes one decode step.
    let dep = deployment(|_| {});
    let cost = CostModel::new(&dep);
    let mut e = Engine::new(&dep, true);
    let id = e.submit(0.0, 200, 0, 4).unwrap();
    e.drain();
    let (mut prefill, mut decode) = (StepLoad::default(), StepLoad::default());
    prefill.add(0, 200);
    decode.add(200, 1);
    let r = &e.requests[id as usize];
    assert!((r.ttft() - cost.step_seconds(&prefill)).abs() < 1e-12, "{} s", r.ttft());
    let times = e.token_times(id);
    assert_eq!(times.len(), 4);
    assert_eq!(times[0], r.first_token);
    assert!((times[1] - times[0] - cost.step_seconds(&decode)).abs() < 1e-12);
    // The first token's step is a prefill step, longer than the decode steps after it.
    assert!(times[0] > times[1] - times[0]);
}

#[test]
fn decodes_share_the_budget_with_a_prefill() {
    let dep = deployment(|s| s.max_num_batched_tokens = 100);
    let mut e = Engine::new(&dep, false);
    for _ in 0..4 {
        e.submit(0.0, 10, 0, 50).unwrap();
    }
    while e.requests.iter().any(|r| r.generated == 0) {
        e.step();
    }
    e.run_until(e.now + 1e-9);
    e.submit(e.now, 1000, 0, 5).unwrap();
    while e.replicas[0].work.len() < 5 {
        e.step();
    }
    // Four decodes first, the newcomer's chunk takes the remaining 96 tokens.
    assert_eq!(e.replicas[0].work[4], (4, 96));
}

#[test]
fn kv_pressure_preempts_the_newest_sequence_and_everything_finishes() {
    let dep = deployment(|s| s.gpu_memory_utilization = 0.22);
    let blocks = dep.kv_blocks;
    let mut e = Engine::new(&dep, false);
    // Each request fits alone, but together their outputs outgrow the cache.
    let each = blocks * dep.block_size / 8;
    for _ in 0..12 {
        e.submit(0.0, each / 2, 0, each / 2).unwrap();
    }
    e.drain();
    assert!(e.preemptions > 0);
    assert!(e.requests.iter().all(|r| r.done() && r.generated == each / 2));
    assert_eq!(e.replicas[0].free_blocks, blocks);
    // The newest requests were the victims.
    assert!(e.requests[11].preemptions >= e.requests[0].preemptions);

    let reserve = deployment(|s| {
        s.gpu_memory_utilization = 0.22;
        s.kv_policy = KvPolicy::Reserve;
    });
    let mut e = Engine::new(&reserve, false);
    for _ in 0..12 {
        e.submit(0.0, each / 2, 0, each / 2).unwrap();
    }
    e.drain();
    assert_eq!(e.preemptions, 0);
    assert!(e.requests.iter().all(|r| r.done()));
}

#[test]
fn prefix_hits_skip_prefill() {
    let dep = deployment(|_| {});
    let ttft = |cached| {
        let mut e = Engine::new(&dep, false);
        let id = e.submit(0.0, 4000, cached, 2).unwrap();
        e.drain();
        e.requests[id as usize].ttft()
    };
    let (cold, warm) = (ttft(0), ttft(3584));
    assert!(warm < cold / 3.0, "{warm} vs {cold}");

    // A trace whose second request repeats the first one's prefix.
    let entry = |at: f64, ids: Vec<u64>| TraceEntry { at, input: 2048, output: 4, hash_ids: ids };
    let run = |second: Vec<u64>| {
        let t = [entry(0.0, vec![1, 2, 3, 4]), entry(1.0, second)];
        workload::trace(&dep, &t, &mut never_stop()).unwrap()
    };
    assert!(run(vec![1, 2, 3, 9]).ttft.mean < run(vec![5, 6, 7, 8]).ttft.mean);
}

#[test]
fn same_seed_same_result() {
    let dep = deployment(|s| s.replicas = 2);
    let a = workload::poisson(&dep, 500, 100, 40.0, 400, 7, &mut never_stop()).unwrap();
    let b = workload::poisson(&dep, 500, 100, 40.0, 400, 7, &mut never_stop()).unwrap();
    let c = workload::poisson(&dep, 500, 100, 40.0, 400, 8, &mut never_stop()).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.ttft, c.ttft);
}

#[test]
fn latency_grows_with_concurrency() {
    let dep = deployment(|_| {});
    let mut last = (0.0, 0.0, 0.0);
    for c in [1, 10, 50, 100, 250] {
        let l = workload::closed_loop(&dep, 200, 200, c, 4 * c + 50, &mut never_stop()).unwrap();
        assert!(
            l.ttft.mean >= last.0 && l.itl.mean >= last.1 && l.output_tokens_per_s > last.2,
            "{c}: {l:?}"
        );
        last = (l.ttft.mean, l.itl.mean, l.output_tokens_per_s);
    }
}

#[test]
fn forecast_matches_what_happens_without_further_arrivals() {
    let dep = deployment(|_| {});
    let mut e = Engine::new(&dep, true);
    for i in 0..20 {
        e.run_until(f64::from(i) * 0.01);
        e.submit(e.now, 300, 0, 50).unwrap();
    }
    let predicted = e.forecast(19);
    e.drain();
    assert_eq!(predicted.len(), 50);
    assert_eq!(predicted, e.token_times(19));
}

#[test]
fn long_runs_are_fast() {
    let dep = deployment(|_| {});
    let t = std::time::Instant::now();
    let l = workload::closed_loop(&dep, 1000, 1000, 250, 2000, &mut never_stop()).unwrap();
    assert_eq!(l.requests, 2000 - 3 * 250 - 250);
    // Generous: the point is seconds, not minutes (debug builds are ~10x slower).
    assert!(t.elapsed().as_secs_f64() < 30.0, "{:?}", t.elapsed());
}

/// Over the second half of a long closed loop of `c` equal clients (200 in, 200 out): the mean
/// number of requests prefilled together in a step that prefills any, and the level.
fn prefill_groups(dep: &Deployment, c: u32) -> (f64, workload::Level) {
    let mut e = Engine::new(dep, false);
    e.step_tokens = Some(Vec::new());
    let level = workload::closed_loop_on(&mut e, 200, 200, c, 200 * c, &mut never_stop()).unwrap();
    let steps = e.step_tokens.unwrap_or_default();
    // A step's tokens: one per decoding sequence (at most c < 200) and 200 per prefill.
    let groups: Vec<u32> = steps[steps.len() / 2..].iter().map(|t| t / 200).filter(|&p| p > 0).collect();
    (f64::from(groups.iter().sum::<u32>()) / groups.len().max(1) as f64, level)
}

#[test]
fn a_closed_loop_of_equal_clients_does_not_stay_in_waves() {
    // Clients that start together are prefilled together, finish together and, with a constant
    // front-end time, come back one service apart into the next step, forever. With the front
    // end's random service time the groups break up: a prefill step gathers the few clients that
    // returned while the step before it ran (a step holding a prefill costs its launches,
    // `prefill_layer_overhead`, so a handful do), not all 25.
    let dep = deployment(|_| {});
    let (mixed, level) = prefill_groups(&dep, 25);
    assert!(mixed < 8.0, "{mixed} requests prefilled per step");
    // Without the front end and the client's turnaround the wave never breaks: every step that
    // prefills prefills all 25.
    let waves = deployment(|s| {
        s.coefficients.frontend = 0.0;
        s.coefficients.client_gap = 0.0;
    });
    let (together, clumped) = prefill_groups(&waves, 25);
    assert_eq!(together, 25.0);
    assert!(level.ttft.mean < 0.7 * clumped.ttft.mean, "{:?} vs {:?}", level.ttft, clumped.ttft);
}

#[test]
fn the_front_end_service_time_is_random_with_the_fitted_mean() {
    let mean = Coefficients::FITTED.frontend;
    let draws: Vec<f64> = (0..20_000).map(|k| workload::frontend_service(mean, k)).collect();
    let avg = draws.iter().sum::<f64>() / draws.len() as f64;
    assert!((avg / mean - 1.0).abs() < 0.03, "{avg} vs {mean}");
    // Exponential: about 1/e of the draws exceed the mean, and the same index draws the same time.
    let above = draws.iter().filter(|&&d| d > mean).count() as f64 / draws.len() as f64;
    assert!((above - (-1.0f64).exp()).abs() < 0.02, "{above}");
    assert_eq!(workload::frontend_service(mean, 7), draws[7]);
    assert_eq!(workload::frontend_service(0.0, 7), 0.0);
}

#[test]
fn the_client_turnaround_is_lognormal_with_the_given_mean_and_spread() {
    let (mean, sigma) = (4e-3, 1.1);
    let mut rng = crate::rng::Rng::new(3);
    let mut draws: Vec<f64> =
        (0..50_000).map(|_| workload::client_turnaround(mean, sigma, &mut rng)).collect();
    let avg = draws.iter().sum::<f64>() / draws.len() as f64;
    let sd = (draws.iter().map(|d| (d - avg).powi(2)).sum::<f64>() / draws.len() as f64).sqrt();
    assert!((avg / mean - 1.0).abs() < 0.05, "{avg} vs {mean}");
    // Heavy-tailed: the spread exceeds the mean (cv = sqrt(e^(sigma^2) - 1) = 1.5), the median is
    // well below it.
    let cv = (sigma * sigma).exp_m1().sqrt();
    assert!((sd / avg / cv - 1.0).abs() < 0.15, "cv {} vs {cv}", sd / avg);
    draws.sort_by(f64::total_cmp);
    let median = draws[draws.len() / 2];
    assert!((median / (mean * (-sigma * sigma / 2.0).exp()) - 1.0).abs() < 0.05, "{median}");
    // No spread: always the mean; no mean: no turnaround.
    assert_eq!(workload::client_turnaround(mean, 0.0, &mut rng), mean);
    assert_eq!(workload::client_turnaround(0.0, sigma, &mut rng), 0.0);
}

#[test]
fn a_closed_loop_measures_after_its_warm_up_rounds() {
    // 25 clients, 250 requests: rounds 1-3 are warm-up, the last round is not at full concurrency.
    assert_eq!(workload::measured(25, 250), 75..225);
    assert_eq!(workload::WARMUP_ROUNDS, 3);
    // Too short for a warm-up: from the second round (to the end below three rounds).
    assert_eq!(workload::measured(25, 100), 25..75);
    assert_eq!(workload::measured(25, 60), 25..60);
    assert_eq!(workload::measured(1, 2), 1..2);
    let dep = deployment(|_| {});
    let l = workload::closed_loop(&dep, 200, 200, 25, 250, &mut never_stop()).unwrap();
    assert_eq!(l.requests, 150);
}

#[test]
fn a_closed_loop_leaves_its_start_up_clump_out() {
    // All clients start together, in one clump whose first round waits behind one long prefill
    // step: what is measured are rounds 4 to 9 of 10, whose TTFT is well below the first round's.
    let dep = deployment(|_| {});
    let c = 25usize;
    let mut e = Engine::new(&dep, false);
    let l = workload::closed_loop_on(&mut e, 200, 200, c as u32, 10 * c as u32, &mut never_stop()).unwrap();
    let mean = |rs: &[request::Request]| rs.iter().map(|r| r.ttft()).sum::<f64>() / rs.len() as f64;
    assert_eq!((l.warmup, l.requests), (3 * c, 6 * c));
    assert!((l.ttft.mean - mean(&e.requests[3 * c..9 * c])).abs() < 1e-12);
    let first = mean(&e.requests[..c]);
    assert!(first > 1.2 * l.ttft.mean, "{first} vs {:?}", l.ttft);
}
