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
    // Sampled at the end of step 3, delivered when step 4 ends.
    assert_eq!(r.first_token, e.replicas[0].step_ends[3]);

    let whole = deployment(|s| {
        s.max_num_batched_tokens = 1000;
        s.chunked_prefill = false;
    });
    assert!(Engine::new(&whole, false).submit(0.0, 2500, 0, 3).is_err());
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
    assert!(l.requests > 1000);
    // Generous: the point is seconds, not minutes (debug builds are ~10x slower).
    assert!(t.elapsed().as_secs_f64() < 30.0, "{:?}", t.elapsed());
}

#[test]
#[ignore]
fn probe_clumping() {
    use crate::rng::Rng;
    let c: usize = std::env::var("C").ok().and_then(|v| v.parse().ok()).unwrap_or(25);
    let gap: f64 = std::env::var("GAP").ok().and_then(|v| v.parse().ok()).unwrap_or(3.6e-3);
    let dep = deployment(|_| {});
    let fe = dep.coefficients.frontend;
    let mut e = Engine::new(&dep, false);
    e.step_tokens = Some(Vec::new());
    let mut rng = Rng::new(7);
    let dist = std::env::var("DIST").unwrap_or_default();
    let floor: f64 = std::env::var("FLOOR").ok().and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let mut turnaround = move || match dist.as_str() {
        "ln" => { let z = (-2.0 * (1.0 - rng.unit()).ln()).sqrt() * (std::f64::consts::TAU * rng.unit()).cos(); floor + gap * (z * 1.0 - 0.5).exp() }
        _ => floor - (1.0 - rng.unit()).ln() * gap,
    };
    let femode = std::env::var("FE").unwrap_or_default();
    let mut frng = Rng::new(9);
    let mut sends: Vec<f64> = (0..c).map(|_| turnaround()).collect();
    let mut lanes = vec![0.0];
    let mut arr: Vec<(f64, f64)> = Vec::new();
    let _ = &mut lanes;
    let n = 4000;
    let mut sent = Vec::new();
    let mut fe_at = Vec::new();
    loop {
        sends.sort_by(|a, b| b.total_cmp(a));
        arr.sort_by(|a, b| b.1.total_cmp(&a.1));
        let s = sends.last().copied();
        let a = arr.last().map(|x| x.1);
        let ev = e.next_event();
        let Some(now) = [s, a, ev].into_iter().flatten().min_by(f64::total_cmp) else { break };
        if s == Some(now) {
            sends.pop();
            let at = match femode.as_str() {
                "par" => now + fe,
                "rand" => workload::frontend_arrival(&mut lanes, now, -(1.0 - frng.unit()).ln() * fe),
                _ => workload::frontend_arrival(&mut lanes, now, fe),
            };
            arr.push((now, at));
        } else if a == Some(now) {
            let (snd, at) = arr.pop().unwrap();
            e.run_until(at);
            e.submit(at, 202, 0, 200).unwrap();
            sent.push(snd);
            fe_at.push(at);
        } else {
            e.step();
            for _ in e.take_finished() {
                if sent.len() + sends.len() + arr.len() < n {
                    sends.push(e.now + turnaround());
                }
            }
        }
    }
    let show = |lo: usize, hi: usize| {
        let rs = &e.requests[lo..hi];
        let m = |f: &dyn Fn(usize, &super::request::Request) -> f64| rs.iter().enumerate().map(|(i, r)| f(lo + i, r)).sum::<f64>() / rs.len() as f64 * 1e3;
        println!(
            "req {lo}..{hi}: ttft {:.1} fe {:.1} engine {:.1} itl {:.2}",
            m(&|i, r| r.first_token - sent[i]),
            m(&|i, _| fe_at[i] - sent[i]),
            m(&|i, r| r.first_token - fe_at[i]),
            m(&|_, r| r.itl()),
        );
    };
    for k in 0..8 {
        let lo = k * n / 8;
        show(lo.max(c), lo + n / 8 - c);
    }
    // Arrivals per step histogram (late half): arrivals at engine between consecutive step starts.
    let mut gaps: Vec<f64> = fe_at.windows(2).skip(n / 2).map(|w| (w[1] - w[0]) * 1e3).collect();
    gaps.sort_by(f64::total_cmp);
    let q = |p: f64| gaps[((gaps.len() - 1) as f64 * p) as usize];
    println!("arrival gaps ms: p10 {:.2} p50 {:.2} p90 {:.2} mean {:.2}", q(0.1), q(0.5), q(0.9), gaps.iter().sum::<f64>() / gaps.len() as f64);
    let st = e.step_tokens.as_ref().unwrap();
    let tail = &st[st.len() / 2..];
    let mut hist = std::collections::BTreeMap::new();
    for &t in tail {
        *hist.entry((t as i64 - c as i64).max(0) / 200).or_insert(0) += 1;
    }
    println!("prefills per step (late half): {hist:?}");
}
