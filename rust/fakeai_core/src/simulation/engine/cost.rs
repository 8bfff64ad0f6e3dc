//! The physical cost of one engine step: a roofline of bytes and FLOPs plus fixed overheads.
//!
//! ```text
//! t_step = overhead + layers * layer_overhead + seqs * seq_overhead [* zen2_host on a Zen 2 host]
//!        [+ layers * prefill_layer_overhead [* zen2_host]  when the step holds a prefill chunk]
//!        + t_linear + t_prefill_attn + t_decode_attn + t_allreduce
//! t_linear       = max(weights_read / (bw * eff_bw), 2 * active * tokens / (tp * peak * mm_eff * eff_flops))
//! t_prefill_attn = max(kv_read_chunks * kv_bytes / (bw * eff_kv),
//!                      4 * layers * heads * head_dim * pairs / (tp * peak_bf16 * mm_eff * eff_attn))
//! t_decode_attn  = max(decode_kv * max(kv_bytes / (bw * eff_kv), ceiling),
//!                      layers * longest_decode * attn_cycles / clock)
//!   ceiling      = kv_elements / (sms * clock * xqa_rate)          (XQA: 8 query heads per KV head)
//!                | query_elements / (sms * clock * mmha_rate)     (masked multi-head kernel: the rest)
//!                | 0                                               (latent attention)
//! t_allreduce    = 2 * layers * (allreduce [+ allreduce_hop * (tp-1) for a ring]
//!                                + tokens * hidden * 2 B * 2 (tp-1)/tp / (link * eff_link))   (tp > 1)
//!   (fp8/fp4 models: + layers * quant_layer_overhead, and eff_flops * quant_flops on native fp8/fp4)
//!   (`mm_eff`: the GPU's sustained share of its datasheet peak, [`super::hardware::Gpu::matmul_efficiency`])
//! ```
//! All per GPU of a replica. `weights_read` is every weight of the rank (for a MoE: the shared
//! layers and the experts some token of the step picked). `pairs` are the query-key pairs of the
//! prefill chunks (a chunk of `n` new tokens after `c` cached ones: `n * (c + n / 2)`), whose
//! attention (flash attention, tensor cores) also reads the `c + n` tokens' KV; `decode_kv` is the
//! context every decoding sequence's attention reads (one query token each). KV bytes are those of
//! the deployment's KV-cache format, `kv_elements` the cache's elements per token on the rank.
//!
//! Attention runs as kernels of their own between the linear layers, so its time adds to theirs
//! instead of hiding under their roofline: a step that mixes a compute-bound prefill chunk with
//! long-context decodes pays both (vLLM's and TensorRT-LLM's chunked/in-flight batches do).
//!
//! Prefill attention (flash attention) computes in bf16 whatever the weights' precision, at its own
//! achieved share `eff_attn` of the bf16 rate: an fp8 model's GEMMs run at the fp8 rate, its long
//! prompts' attention does not. A step holding a prefill chunk also pays `prefill_layer_overhead`
//! per layer: TensorRT-LLM replays CUDA graphs for decode-only steps only, so such a step launches
//! its kernels one by one from the host, at the host CPU's speed. Evidence: NIM's TTFT at
//! one client grows with the prompt (200 -> 2,000 -> 7,000 tokens) faster than the fp8 rate allows
//! ([`Coefficients::FITTED`]).
//!
//! Decode attention runs one of two kernels, as the calibrated engine (TensorRT-LLM up to 0.12)
//! chooses them ([`super::models::DecodeKernel`]). XQA, whose precompiled kernels exist for 8 query
//! heads per KV head only (Llama-2/3-70B), stages each tile of keys and values once through shared
//! memory and the tensor cores for all the group's query heads: its ceiling is `xqa_rate` KV
//! *elements* per SM per cycle. Every other model runs the masked multi-head kernel, one thread block
//! per query head with its dot products on CUDA cores, which reads a grouped-query model's KV
//! elements once per query head of the group: its ceiling is `mmha_rate` of those *query-head
//! elements* per SM per cycle. On an H100 either ceiling, not HBM, bounds a long context, at the same
//! rate whether the cache holds 16-bit or fp8 values (an fp8 cache doubles capacity but barely speeds
//! decoding up); where memory is the slower side (the L40S's GDDR6, or a multi-head model reading
//! each element once) the bytes bound wins and fp8 pays off again. Evidence: NIM's Llama-3-8B at
//! 7000-token contexts (ITL grows ~0.66 ms per sequence in fp8 and ~0.73 ms in fp16, where bytes
//! alone would give 0.15 / 0.29), and TensorRT-LLM 0.9's fixed-batch Mistral-7B (groups of 4)
//! against Llama-2-7B (multi-head) at the same batch and context; per KV element Llama-2-70B and
//! Llama-3-70B (XQA) decode ~1.5x faster than the groups of 4 and Falcon-180B (29 query heads per
//! KV head) far slower.
//!
//! A decoding sequence's attention is also bounded by its own length: the decode kernel (without
//! TensorRT-LLM's opt-in multi-block mode) gives each sequence's KV head one thread block, which
//! walks that sequence's whole context serially, `attn_cycles` clock cycles per context token per
//! layer; however many SMs are idle. That floor wins when few sequences decode (batch x KV heads on
//! the rank below a few dozen blocks) and grows with the longest context of the step, not with the
//! batch, the tensor-parallel degree or the bytes. Evidence: NIM's ITL at concurrency 1 grows with
//! the context by 10-13 ns per token per layer on every configuration (Llama-3-8B and 70B, TP 1 to
//! 8, A100 and H100, fp8 and fp16; ~19 cycles at each GPU's clock), where the cache's bytes and
//! elements over the whole GPU would give 0.5-1.5 ns; the fit over all levels settles at ~13 cycles.
//! TensorRT-LLM 0.9.0's fixed-batch Llama-2-70B (TP 4, batch 1-4) grows by ~8 ns per token per layer
//! from 2048/128 to 2048/2048.
//!
//! `seq_overhead` is the serving stack's per-sequence cost (sampling, detokenisation, streaming in
//! the server's runtime), not the GPU's: a bare engine benchmark has none of it
//! (`benches/calibration.py --check-static` sets it to 0). Being CPU work, it runs at the speed of
//! the GPU system's host ([`super::hardware::Host`]): `zen2_host` times longer on a DGX A100's.
//! The closed-loop driver's `client_gap` and `frontend` (workload.rs) live here too because they
//! are fitted with the rest.

use super::deployment::Deployment;
use super::hardware::{Host, Precision};
use super::models::DecodeKernel;

/// The few fitted coefficients of the cost model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coefficients {
    /// Achieved fraction of HBM bandwidth reading weights (GEMMs) and reading the KV cache (attention).
    pub eff_bw: f64,
    pub eff_kv: f64,
    /// Query-head elements (each query head's keys and values, read once per query head) the
    /// masked multi-head decode kernel gets through per SM per clock cycle: its throughput ceiling
    /// when the HBM could deliver more (see the module docs).
    pub mmha_rate: f64,
    /// KV elements the XQA decode kernel (8 query heads per KV head) gets through per SM per clock
    /// cycle: its throughput ceiling when the HBM could deliver more (see the module docs).
    pub xqa_rate: f64,
    /// Clock cycles one decode-attention thread block spends per context token per layer: the
    /// serial floor of a sequence's decode attention (see the module docs).
    pub attn_cycles: f64,
    /// Achieved fraction of the GPU's sustained dense tensor FLOPs (its datasheet peak times its
    /// [`super::hardware::Gpu::matmul_efficiency`]).
    pub eff_flops: f64,

    /// Fixed time per step (scheduling, sampling, launch), seconds.
    pub overhead: f64,
    /// Time per layer per step (kernel launches not hidden by CUDA graphs), seconds.
    pub layer_overhead: f64,
    /// Time per scheduled sequence per step (sampling, detokenisation, bookkeeping), seconds.
    pub seq_overhead: f64,
    /// Latency of one tensor-parallel all-reduce, seconds (two per layer).
    pub allreduce: f64,
    /// Further latency of one ring all-reduce per extra GPU in the group, seconds: a ring passes its
    /// chunks through `2 (tp - 1)` hops, each a link latency and a kernel's sync (GPUs whose switch
    /// reduces in the network, [`super::hardware::Gpu::switch_reduce`], pay none of it).
    pub allreduce_hop: f64,
    /// Extra time per layer per step of fp8/fp4 models (activation quantisation kernels), seconds.
    pub quant_layer_overhead: f64,
    /// Achieved fraction of the fp8/fp4 peak relative to `eff_flops` (low-precision GEMMs rarely
    /// reach their 2x).
    pub quant_flops: f64,
    /// Memory per GPU kept for activations, CUDA graphs and communication buffers, bytes.
    pub reserved_bytes: f64,
    /// Mean turnaround of a closed-loop client between a response's end and its next request
    /// reaching the engine (HTTP, client bookkeeping, tokenisation), seconds; drawn lognormally
    /// ([`super::workload::client_turnaround`]).
    pub client_gap: f64,
    /// Spread of that turnaround: the standard deviation of its logarithm. Not fitted: measured
    /// from the live clients of `benches/live_vs_simulate.py`, whose turnaround plus round trip has
    /// a coefficient of variation `cv` of 0.1-0.3 at concurrency 1-25 (`sigma = sqrt(ln(1 + cv^2))`;
    /// the client's own part alone, without the round trip, spreads about as much as its mean).
    pub client_sigma: f64,
    /// Mean time a request holds the server's front end (one queue per replica, in order) before it
    /// reaches the engine: HTTP parsing, chat template, tokenisation and the waits for an event loop
    /// busy with other streams, seconds; drawn exponentially per request
    /// ([`super::workload::frontend_service`]).
    pub frontend: f64,
    /// Achieved fraction of the GPU's sustained bf16 tensor rate of the prefill chunks' flash
    /// attention (its `QK^T` and `PV` products). The kernel runs in bf16 whatever the weights'
    /// precision (fp8 quantises the GEMMs, not the attention's softmax pipeline), and its softmax,
    /// masking and tile bookkeeping between the products keep it far below a GEMM's share.
    pub eff_attn: f64,
    /// Share of the interconnect's link bandwidth that the tensor-parallel all-reduces' data gets
    /// (a ring or in-switch reduction moves each byte through NVLink with protocol and
    /// synchronisation overheads, and small per-step messages never reach the link's peak).
    pub eff_link: f64,
    /// Extra time per layer of a step that holds a prefill chunk, seconds, on the host it is fitted
    /// at (a DGX H100's): the serving engine (TensorRT-LLM) replays captured CUDA graphs only for
    /// decode-only steps, so a step with a context chunk launches each layer's kernels one by one,
    /// and what a launch costs is the host CPU's work (what CUDA graphs exist to save), so it runs
    /// at the host's speed, `zen2_host` times longer on a Zen 2 host. Evidence: NIM's TTFT of
    /// 200-token prompts at 1-10 clients on A100 was simulated 20-31 % short while the same GPU's
    /// ITL and H100's TTFT fitted (docs/engine-model.md).
    pub prefill_layer_overhead: f64,
    /// The host CPU's costs' multiple on a Zen 2 host (DGX A100's EPYC 7742) against the Sapphire
    /// Rapids host they are fitted at (DGX H100's Xeon 8480C), [`super::hardware::Host`]: the
    /// per-sequence work (`seq_overhead`, single-threaded serving code) and the kernel launches of
    /// steps outside CUDA graphs (`prefill_layer_overhead`), which older Zen 2 cores run slower.
    /// Evidence: NIM's ITL on A100 at 100-250 clients, where the per-sequence cost is a third or more
    /// of a step, was simulated 10-23 % short on all 12 A100 curves (Llama-3-8B at TP 1 and 2,
    /// 70B at TP 4 and 8) while the H100 curves' were on or long; the fixed-batch check, which has
    /// no serving stack, moved with it only through `allreduce_hop`, refitted beside it.
    pub zen2_host: f64,
}

/// [`Coefficients::xqa_rate`] as fitted: KV elements per SM per cycle of the XQA decode kernel.
const XQA_RATE: f64 = 4.5;

impl Coefficients {
    /// Fitted against NVIDIA NIM (TensorRT-LLM) Llama-3-8B/70B on A100/H100 measured with
    /// GenAI-Perf (shared/calibration/nim_dli_sizing_dataset.csv, 72 curves, 715 levels): `python
    /// benches/calibration.py PATH_TO_CSV --fit --rounds 12` prints these after a deterministic
    /// coordinate descent in log space (objective 0.132 -> 0.121, from the previous fit's values
    /// with one grouped-query decode rate of 3.6). `eff_kv` is not fitted there (the NIM curves are
    /// all grouped-query Llama 3, whose decode attention the element ceilings bound): 0.9 is the
    /// KV-read slope of TensorRT-LLM 0.9.0's fixed-batch runs of multi-head Llama-2-7B on H100
    /// (shared/calibration/trtllm_0_9_0_static_batch_dli.csv: the step grows by the cache's bytes
    /// over ~0.9 of the HBM bandwidth). The same file's Mistral-7B runs (groups of 4), not in the
    /// fit, put that rate at ~3.6 KV elements per SM per cycle (fp16 2048/128, batch 32: 4.4e9 KV
    /// elements in 4.7 ms). `overhead` and `quant_layer_overhead` fit to about zero
    /// (`layer_overhead` carries the fixed time). The ring all-reduce's `allreduce_hop` came later:
    /// `--fit --rounds 6 --only allreduce allreduce_hop layer_overhead seq_overhead` from 6 us
    /// (objective 0.1164 -> 0.1151; before the term, 0.1232). A whole refit from there lowers the
    /// objective to 0.1117 by shortening `frontend` and `client_gap`, but puts the issue's headline
    /// curve (Llama-3-8B fp8, one H100, 200/200) 134 % off at concurrency 100, so it is not taken.
    /// `attn_cycles` came last: `--fit --rounds 3 --only attn_cycles` from 19 (the concurrency-1
    /// slope; objective 0.1150 -> 0.1129, points within 25 % 507 -> 513 of 633). Then the GPUs'
    /// sustained matmul share ([`super::hardware::Gpu::matmul_efficiency`]) came in: `eff_flops`
    /// 0.7806 became 0.972105, the same effective rate on the H100 (0.7806 / 0.803) and 8 % more on
    /// the A100, whose prefill in mixed steps at concurrency 5-250 had come out 20-35 % slow; the
    /// A100's all-reduce then split differently between the fixed part and the ring's hops
    /// (`allreduce` 20.11 -> 19 us, `allreduce_hop` 6 -> 7 us, by hand from a few trials: points
    /// within 25 % 513 -> 523 of 633, the fixed-batch check 1,305 -> 1,313 of 1,508 within 25 %).
    ///
    /// Then the first token came to be delivered when its prefill step ends (it had waited for the
    /// next step), with flash attention at the bf16 rate, the all-reduces' share of the link and the
    /// prefill steps' launch cost: `--fit --only eff_attn frontend prefill_layer_overhead eff_link`
    /// from `eff_attn` 1, `eff_link` 1 and no prefill overhead (an `eff_prefill` scale on the prefill
    /// GEMMs was tried with them and fitted to 1.0, so it is not a term), objective 0.1135 -> ~0.1009,
    /// rounded to `eff_attn` 0.3016, `eff_link` 0.5, `prefill_layer_overhead` 134 us, `frontend` 1.835
    /// -> 1.55 ms: points within 25 % 523 -> 554 of 633, medians TTFT 12.5 -> 9.4 %, ITL 7.5 -> 7.0 %,
    /// tokens/s 6.9 -> 6.5 %, the fixed-batch check 10.3 -> 9.8 % (1,313 -> 1,333 of 1,508 within
    /// 25 %), and the one-client TTFT's slope in prompt tokens comes right.
    ///
    /// Then the one grouped-query rate (3.099 KV elements per SM per cycle, for every group size)
    /// split into the two decode kernels ([`super::models::DecodeKernel`]): `mmha_rate` is the same
    /// fit counted in query-head elements (3.099 x Llama-3-8B's 4 query heads per KV head = 12.396,
    /// so every group-of-4 model decodes as before), and `xqa_rate` is fitted alone, `--set
    /// xqa_rate=3.099 --fit --rounds 10 --only xqa_rate` (objective 0.0888 -> 0.0865, 4.509, rounded
    /// to [`XQA_RATE`]): points within 25 % 580 -> 584 of 633 (ITL 621 -> 629), median ITL 6.9 ->
    /// 6.6 %, the fixed-batch check (not in the fit) 9.8 -> 9.5 % median, 1,333 -> 1,400 of 1,508
    /// within 25 % (its Llama-2-70B on H200 had been up to 77 % slow).
    ///
    /// Then the per-sequence cost came to run at the host CPU's speed (`zen2_host`), with the A100's
    /// ring hop refitted beside it (both A100-only): `--fit --rounds 6` over them and a front-end host
    /// factor (0.82, dropped) gives 1.82 and 4.69 us (objective 0.0865 -> 0.0809), rounded to 1.8 and
    /// 4.7 us (no better step from there): points within 25 % 584 -> 587 of 633, medians TTFT 7.6 ->
    /// 7.8 %, ITL 6.6 -> 5.8 %, tokens/s 6.3 -> 5.5 %, the fixed-batch check 9.5 -> 9.2 % median and
    /// 1,400 -> 1,420 of 1,508 within 25 %. The prefill launch cost then moved from the SM clock to
    /// the same host factor (same coefficients; a refit moves them to 1.99 and 4.25 us for a 0.5 %
    /// lower objective but fewer points): points 587 -> 590, median TTFT 7.8 -> 7.4 %. Errors: see
    /// docs/engine-model.md.
    pub const FITTED: Coefficients = Coefficients {
        eff_bw: 0.841,
        eff_kv: 0.90,
        mmha_rate: 12.396,
        xqa_rate: XQA_RATE,
        attn_cycles: 12.74,
        eff_flops: 0.972105,
        overhead: 0.010e-3,
        layer_overhead: 73.89e-6,
        seq_overhead: 34.67e-6,
        allreduce: 19.0e-6,
        allreduce_hop: 4.7e-6,
        quant_layer_overhead: 0.78e-6,
        quant_flops: 0.8187,
        reserved_bytes: 1.322e9,
        client_gap: 3.644e-3,
        client_sigma: 0.3,
        frontend: 1.55e-3,
        eff_attn: 0.3016,
        eff_link: 0.5,
        prefill_layer_overhead: 1.335e-4,
        zen2_host: 1.8,
    };

    pub const NAMES: [&'static str; 21] = [
        "eff_bw",
        "eff_kv",
        "eff_flops",
        "mmha_rate",
        "xqa_rate",
        "attn_cycles",
        "overhead",
        "layer_overhead",
        "seq_overhead",
        "allreduce",
        "allreduce_hop",
        "quant_layer_overhead",
        "quant_flops",
        "reserved_bytes",
        "client_gap",
        "client_sigma",
        "frontend",
        "eff_attn",
        "eff_link",
        "prefill_layer_overhead",
        "zen2_host",
    ];

    pub fn get(&self, name: &str) -> Option<f64> {
        Some(match name {
            "eff_bw" => self.eff_bw,
            "eff_kv" => self.eff_kv,
            "eff_flops" => self.eff_flops,
            "mmha_rate" => self.mmha_rate,
            "xqa_rate" => self.xqa_rate,
            "attn_cycles" => self.attn_cycles,
            "overhead" => self.overhead,
            "layer_overhead" => self.layer_overhead,
            "seq_overhead" => self.seq_overhead,
            "allreduce" => self.allreduce,
            "allreduce_hop" => self.allreduce_hop,
            "quant_layer_overhead" => self.quant_layer_overhead,
            "quant_flops" => self.quant_flops,
            "reserved_bytes" => self.reserved_bytes,
            "client_gap" => self.client_gap,
            "client_sigma" => self.client_sigma,
            "frontend" => self.frontend,
            "eff_attn" => self.eff_attn,
            "eff_link" => self.eff_link,
            "prefill_layer_overhead" => self.prefill_layer_overhead,
            "zen2_host" => self.zen2_host,
            _ => return None,
        })
    }

    /// Set one coefficient by name; false when the name is unknown.
    pub fn set(&mut self, name: &str, value: f64) -> bool {
        let slot = match name {
            "eff_bw" => &mut self.eff_bw,
            "eff_kv" => &mut self.eff_kv,
            "eff_flops" => &mut self.eff_flops,
            "mmha_rate" => &mut self.mmha_rate,
            "xqa_rate" => &mut self.xqa_rate,
            "attn_cycles" => &mut self.attn_cycles,
            "overhead" => &mut self.overhead,
            "layer_overhead" => &mut self.layer_overhead,
            "seq_overhead" => &mut self.seq_overhead,
            "allreduce" => &mut self.allreduce,
            "allreduce_hop" => &mut self.allreduce_hop,
            "quant_layer_overhead" => &mut self.quant_layer_overhead,
            "quant_flops" => &mut self.quant_flops,
            "reserved_bytes" => &mut self.reserved_bytes,
            "client_gap" => &mut self.client_gap,
            "client_sigma" => &mut self.client_sigma,
            "frontend" => &mut self.frontend,
            "eff_attn" => &mut self.eff_attn,
            "eff_link" => &mut self.eff_link,
            "prefill_layer_overhead" => &mut self.prefill_layer_overhead,
            "zen2_host" => &mut self.zen2_host,
            _ => return false,
        };
        *slot = value;
        true
    }
}

/// What one step computes, summed over its scheduled sequences.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepLoad {
    /// Tokens processed (one per decoding sequence, the chunk of each prefilling one).
    pub tokens: f64,
    /// Of those, the prefill chunks' tokens.
    pub prefill_tokens: f64,
    /// Sequences scheduled.
    pub seqs: f64,
    /// Context tokens whose KV the prefill chunks' attention reads.
    pub kv_tokens: f64,
    /// Query-key pairs of the prefill chunks' attention.
    pub pairs: f64,
    /// Context tokens whose KV the decoding sequences' attention reads (one query token each).
    pub decode_kv: f64,
    /// The longest of those contexts. [`StepLoad::remove`] cannot know the next longest and leaves
    /// it; a caller that takes sequences out sets it with [`StepLoad::set_longest`].
    pub decode_longest: f64,
}

impl StepLoad {
    /// Add a sequence that has `context` tokens cached and processes `new` more: one new token is
    /// a decode (the decode attention kernel), more a prefill chunk (flash attention).
    pub fn add(&mut self, context: u32, new: u32) {
        let (c, n) = (f64::from(context), f64::from(new));
        self.tokens += n;
        self.seqs += 1.0;
        if new == 1 {
            self.decode_kv += c + 1.0;
            self.decode_longest = self.decode_longest.max(c + 1.0);
        } else {
            self.prefill_tokens += n;
            self.kv_tokens += c + n;
            self.pairs += n * (c + n / 2.0);
        }
    }

    /// Take out a sequence [`StepLoad::add`] put in with the same `context` and `new`.
    pub fn remove(&mut self, context: u32, new: u32) {
        let mut one = StepLoad::default();
        one.add(context, new);
        self.tokens -= one.tokens;
        self.prefill_tokens -= one.prefill_tokens;
        self.seqs -= one.seqs;
        self.kv_tokens -= one.kv_tokens;
        self.pairs -= one.pairs;
        self.decode_kv -= one.decode_kv;
    }

    /// The longest context among the decoding sequences left (after [`StepLoad::remove`]), tokens
    /// (as [`StepLoad::add`] counts them: the context before the step plus its one new token).
    pub fn set_longest(&mut self, context: f64) {
        self.decode_longest = context;
    }
}

/// Latency of one all-reduce over `tp` GPUs (`tp > 1`), seconds: a fixed part, plus a hop per extra
/// GPU for a ring (GPUs whose switch reduces in the network take one trip whatever the group).
pub fn allreduce_latency(c: &Coefficients, switch_reduce: bool, tp: u32) -> f64 {
    let hops = if switch_reduce { 0.0 } else { f64::from(tp.saturating_sub(1)) };
    c.allreduce + c.allreduce_hop * hops
}

/// The step cost of one deployment, its constants computed once.
#[derive(Clone, Debug)]
pub struct CostModel {
    dep: Deployment,
    fixed: f64,
    prefill_fixed: f64,
    kv_bytes: f64,
    weight_scale: f64,
    flops_per_token: f64,
    flops_per_pair: f64,
    flops_rate: f64,
    attn_rate: f64,
    decode_kv_bytes: f64,
    decode_kv_elements: f64,
    decode_serial: f64,
    /// Per scheduled sequence: `seq_overhead` at the deployment's host's speed.
    seq_cost: f64,
    allreduce_fixed: f64,
    allreduce_per_token: f64,
}

impl CostModel {
    pub fn new(dep: &Deployment) -> CostModel {
        let c = dep.coefficients;
        let a = &dep.arch;
        let tp = f64::from(dep.tp);
        let bw = dep.gpu.bandwidth;
        let layers = f64::from(a.layers);
        let (allreduce_fixed, allreduce_per_token) = if dep.tp > 1 {
            let bytes = f64::from(a.hidden) * 2.0 * 2.0 * (tp - 1.0) / tp;
            let latency = allreduce_latency(&c, dep.gpu.switch_reduce, dep.tp);
            (2.0 * layers * latency, 2.0 * layers * bytes / (dep.gpu.link * c.eff_link))
        } else {
            (0.0, 0.0)
        };
        let quantised = matches!(dep.precision, Precision::Fp8 | Precision::Fp4);
        let layer_overhead = c.layer_overhead + if quantised { c.quant_layer_overhead } else { 0.0 };
        let native_low = dep.gpu.flops(dep.precision) > dep.gpu.flops(Precision::Bf16);
        let eff_flops =
            c.eff_flops * dep.gpu.matmul_efficiency * if native_low { c.quant_flops } else { 1.0 };
        // The host CPU's work (per-sequence serving code, kernel launches outside CUDA graphs).
        let host = match dep.gpu.host {
            Host::Zen2 => c.zen2_host,
            Host::SapphireRapids => 1.0,
        };
        CostModel {
            fixed: c.overhead + layers * layer_overhead,
            prefill_fixed: layers * c.prefill_layer_overhead * host,
            kv_bytes: dep.kv_bytes_per_token() / (bw * c.eff_kv),
            weight_scale: 1e9 * dep.precision.weight_bytes() / tp / (bw * c.eff_bw),
            flops_per_token: 2.0 * a.active * 1e9 / tp,
            flops_per_pair: 4.0 * layers * f64::from(a.heads * a.head_dim) / tp,
            flops_rate: dep.gpu.flops(dep.precision) * eff_flops,
            attn_rate: dep.gpu.flops(Precision::Bf16).min(dep.gpu.flops(dep.precision))
                * dep.gpu.matmul_efficiency
                * c.eff_attn,
            decode_kv_bytes: dep.kv_bytes_per_token() / (bw * c.eff_kv),
            decode_kv_elements: match a.decode_kernel() {
                DecodeKernel::Xqa => {
                    a.kv_elements_per_token(dep.tp) / (dep.gpu.sms * dep.gpu.clock * c.xqa_rate)
                }
                DecodeKernel::MaskedMultiHead => {
                    a.query_elements_per_token(dep.tp) / (dep.gpu.sms * dep.gpu.clock * c.mmha_rate)
                }
                DecodeKernel::Latent => 0.0,
            },
            decode_serial: layers * c.attn_cycles / dep.gpu.clock,
            seq_cost: c.seq_overhead * host,
            allreduce_fixed,
            allreduce_per_token,
            dep: dep.clone(),
        }
    }

    /// Seconds one step with this load takes.
    pub fn step_seconds(&self, load: &StepLoad) -> f64 {
        // The linear layers: their weights against their FLOPs.
        let weights = self.dep.arch.params_read(load.tokens) * self.weight_scale;
        let t_linear = weights.max(self.flops_per_token * load.tokens / self.flops_rate);
        // Attention runs as kernels of its own after the linear ones: flash attention for prefill
        // chunks (tensor cores at the bf16 rate), the decode kernel for single-token queries (XQA or
        // the masked multi-head kernel, [`DecodeKernel`]: its element ceiling against the bytes).
        let t_prefill_attn =
            (load.kv_tokens * self.kv_bytes).max(self.flops_per_pair * load.pairs / self.attn_rate);
        // Its throughput over the whole GPU, unless one sequence's serial walk is longer.
        let t_decode_attn = (load.decode_kv * self.decode_kv_bytes.max(self.decode_kv_elements))
            .max(load.decode_longest * self.decode_serial);
        // A step holding a prefill chunk runs without CUDA graphs.
        let graphless = if load.prefill_tokens > 0.0 { self.prefill_fixed } else { 0.0 };
        let overhead = self.fixed + graphless + load.seqs * self.seq_cost;
        let t_comm = if load.tokens > 0.0 {
            self.allreduce_fixed + self.allreduce_per_token * load.tokens
        } else {
            0.0
        };
        overhead + t_linear + t_prefill_attn + t_decode_attn + t_comm
    }
}

#[cfg(test)]
mod tests {
    use super::super::deployment::{Deployment, Spec};
    use super::super::hardware::Gpu;
    use super::*;

    fn model(precision: &str) -> CostModel {
        on("llama-3-8b", "H100", precision, precision)
    }

    fn on(model: &str, gpu: &str, precision: &str, kv: &str) -> CostModel {
        let spec = Spec {
            model: model.into(),
            gpu: Some(gpu.into()),
            precision: Some(precision.into()),
            kv_cache_dtype: Some(kv.into()),
            ..Spec::default()
        };
        CostModel::new(&Deployment::new(&spec).unwrap())
    }

    /// Seconds a decode step of 64 sequences spends per context token (long against short contexts).
    fn kv_slope(m: &CostModel) -> f64 {
        (decode(m, 64, 4096) - decode(m, 64, 64)) / (64.0 * 4032.0)
    }

    fn decode(m: &CostModel, batch: u32, context: u32) -> f64 {
        let mut load = StepLoad::default();
        for _ in 0..batch {
            load.add(context, 1);
        }
        m.step_seconds(&load)
    }

    #[test]
    fn a_ring_all_reduce_grows_with_the_group_and_an_in_switch_one_does_not() {
        let c = Coefficients::FITTED;
        assert!(c.allreduce_hop > 0.0);
        let ring = |tp| allreduce_latency(&c, false, tp);
        let switch = |tp| allreduce_latency(&c, true, tp);
        assert!((ring(8) - ring(2) - 6.0 * c.allreduce_hop).abs() < 1e-12);
        assert_eq!(switch(8), switch(2));
        assert_eq!(switch(2), c.allreduce);
        assert!(ring(2) > switch(2));
        // Through the whole step: the same TP8 decode step on A100 pays 7 hops per all-reduce more
        // than it would behind a reducing switch.
        let spec = Spec::of("llama-3-70b", "A100", "fp16", 8);
        let ring_dep = Deployment::new(&spec).unwrap();
        assert!(!ring_dep.gpu.switch_reduce && Gpu::find("H100").unwrap().switch_reduce);
        let mut switch_dep = ring_dep.clone();
        switch_dep.gpu.switch_reduce = true;
        let mut load = StepLoad::default();
        load.add(200, 1);
        let extra =
            CostModel::new(&ring_dep).step_seconds(&load) - CostModel::new(&switch_dep).step_seconds(&load);
        let layers = f64::from(ring_dep.arch.layers);
        assert!((extra - 2.0 * layers * 7.0 * c.allreduce_hop).abs() < 1e-12);
    }

    #[test]
    fn removing_a_sequence_undoes_adding_it() {
        let mut load = StepLoad::default();
        load.add(300, 1);
        let one = load;
        load.add(1200, 1);
        load.add(0, 512);
        load.remove(0, 512);
        load.remove(1200, 1);
        assert_eq!(load.decode_longest, 1201.0);
        load.set_longest(301.0);
        assert_eq!(load, one);
    }

    #[test]
    fn one_long_sequence_decodes_at_its_serial_floor() {
        // Llama-3-70B fp8 on 8 H100s (one KV head per GPU), one sequence at 7000 tokens: the
        // attention walks the context serially, far slower than the GPU's bytes or elements allow.
        let m = on("llama-3-70b", "H100", "fp8", "fp8");
        let m = CostModel::new(&Deployment { tp: 8, ..m.dep.clone() });
        let c = Coefficients::FITTED;
        let floor = 80.0 * 7001.0 * c.attn_cycles / m.dep.gpu.clock;
        let long = decode(&m, 1, 7000) - decode(&m, 1, 0);
        assert!((long - floor).abs() < 0.1 * floor, "{long} vs {floor}");
        // It grows with the longest context, not the batch: a second short sequence costs no attention.
        let mut load = StepLoad::default();
        load.add(7000, 1);
        let alone = m.step_seconds(&load);
        load.add(100, 1);
        assert!(m.step_seconds(&load) - alone < 0.01 * alone);
        // Many long sequences: the whole GPU's throughput bound takes over and grows with the batch.
        let (b64, b128) = (decode(&m, 64, 7000), decode(&m, 128, 7000));
        assert!(b128 - b64 > 64.0 * 7000.0 * m.decode_kv_elements.max(m.decode_kv_bytes) * 0.9);
        // Tensor parallelism does not shorten the floor (each GPU walks the same context).
        let tp4 = CostModel::new(&Deployment { tp: 4, ..m.dep.clone() });
        let floor_of = |m: &CostModel| decode(m, 1, 7000) - decode(m, 1, 0);
        assert!((floor_of(&tp4) - floor_of(&m)).abs() < 0.1 * floor_of(&m));
    }

    #[test]
    fn decode_is_memory_bound_and_grows_with_batch_and_context() {
        let m = model("fp16");
        let one = decode(&m, 1, 200);
        assert!(one > 16e9 / 3.35e12, "{one}");
        assert!(decode(&m, 64, 200) > one);
        assert!(decode(&m, 64, 2000) > decode(&m, 64, 200));
        // fp8 weights read half the bytes.
        assert!(decode(&model("fp8"), 1, 200) < one);
    }

    #[test]
    fn prefill_is_compute_bound() {
        let m = model("fp16");
        let mut load = StepLoad::default();
        load.add(0, 8192);
        let t = m.step_seconds(&load);
        let compute = 2.0 * 8.03e9 * 8192.0 / (989.4e12 * 0.803 * Coefficients::FITTED.eff_flops);
        assert!(t > compute && t < 1.5 * compute + 0.01, "{t} vs {compute}");
    }

    #[test]
    fn an_fp8_models_prefill_attention_runs_at_the_bf16_rate() {
        // The linear layers of an fp8 model run at the fp8 rate, its flash attention at bf16's: a
        // long prompt's attention costs as much as on a bf16 model, where bf16 GEMMs are slower.
        let (fp8, bf16) = (model("fp8"), model("bf16"));
        assert!(fp8.flops_rate > 1.2 * bf16.flops_rate);
        assert_eq!(fp8.attn_rate, bf16.attn_rate);
        let h100 = Gpu::find("H100").unwrap();
        let expected = h100.flops(Precision::Bf16) * h100.matmul_efficiency * Coefficients::FITTED.eff_attn;
        assert!((fp8.attn_rate / expected - 1.0).abs() < 1e-12);
        assert!(fp8.attn_rate < fp8.flops_rate);
        // An 8,192-token chunk after 8,192 cached tokens: attention at the fp8 GEMMs' rate would be
        // faster than what the step costs.
        let mut load = StepLoad::default();
        load.add(8192, 8192);
        let t = fp8.step_seconds(&load);
        let at_fp8 = CostModel { attn_rate: fp8.flops_rate, ..fp8.clone() }.step_seconds(&load);
        let attention = fp8.flops_per_pair * load.pairs / fp8.attn_rate;
        assert!(t > at_fp8 * 1.2, "{t} vs {at_fp8}");
        assert!((t - at_fp8 - (attention - fp8.flops_per_pair * load.pairs / fp8.flops_rate)).abs() < 1e-9);
    }

    #[test]
    fn the_prefill_launch_cost_runs_at_the_hosts_speed() {
        let on = |gpu: &str| {
            let dep =
                Deployment::new(&Spec::of("meta-llama/Meta-Llama-3-8B-Instruct", gpu, "bf16", 1)).unwrap();
            CostModel::new(&dep).prefill_fixed
        };
        let h100 = on("H100");
        assert!((h100 - 32.0 * Coefficients::FITTED.prefill_layer_overhead).abs() < 1e-12);
        // The A100's Zen 2 host launches slower; the L40S (2.52 GHz against the H100's 1.98) and the
        // B200, whose hosts are of the H100's generation, launch as fast.
        assert!((on("A100") / h100 - Coefficients::FITTED.zen2_host).abs() < 1e-9);
        assert_eq!(on("L40S"), h100);
        assert_eq!(on("B200"), h100);
    }

    #[test]
    fn the_per_sequence_cost_runs_at_the_hosts_speed() {
        let c = Coefficients::FITTED;
        assert!(c.zen2_host > 1.0);
        // One more decoding sequence, on the A100's host and on the same GPU with the H100's host:
        // its context's attention is the same on both, the per-sequence CPU work is not.
        let a100 =
            Deployment::new(&Spec::of("meta-llama/Meta-Llama-3-8B-Instruct", "A100", "fp16", 1)).unwrap();
        assert_eq!(a100.gpu.host, Host::Zen2);
        let mut sapphire = a100.clone();
        sapphire.gpu.host = Host::SapphireRapids;
        let added = |dep: &Deployment| {
            let m = CostModel::new(dep);
            let mut load = StepLoad::default();
            for _ in 0..64 {
                load.add(200, 1);
            }
            let before = m.step_seconds(&load);
            load.add(200, 1);
            m.step_seconds(&load) - before
        };
        let extra = added(&a100) - added(&sapphire);
        assert!((extra - c.seq_overhead * (c.zen2_host - 1.0)).abs() < 1e-12, "{extra}");
        // Every later GPU's system has a host of the reference generation.
        for gpu in ["H100", "H200", "B200", "L40S"] {
            assert_eq!(Gpu::find(gpu).unwrap().host, Host::SapphireRapids, "{gpu}");
        }
        // A bare engine (no serving stack, as the fixed-batch check runs) pays none of it anywhere.
        let (mut bare_zen2, mut bare_sapphire) = (a100.clone(), sapphire.clone());
        bare_zen2.coefficients.seq_overhead = 0.0;
        bare_sapphire.coefficients.seq_overhead = 0.0;
        assert_eq!(added(&bare_zen2), added(&bare_sapphire));
    }

    #[test]
    fn a_step_with_a_prefill_chunk_pays_the_per_layer_launch_cost() {
        let m = model("fp8");
        let c = Coefficients::FITTED;
        assert!(c.prefill_layer_overhead > 0.0);
        let extra = 32.0 * c.prefill_layer_overhead;
        // 64 decodes, then the same with a two-token chunk: the chunk's own compute is negligible,
        // the step pays 32 layers' launches more.
        let mut decodes = StepLoad::default();
        for _ in 0..64 {
            decodes.add(500, 1);
        }
        let mut mixed = decodes;
        mixed.add(0, 2);
        assert_eq!(mixed.prefill_tokens, 2.0);
        assert_eq!(decodes.prefill_tokens, 0.0);
        let added = m.step_seconds(&mixed) - m.step_seconds(&decodes);
        assert!(added > extra && added < extra + c.seq_overhead + 1e-6, "{added} vs {extra}");
        // A decode-only step with one more sequence pays no such cost.
        let mut more = decodes;
        more.add(500, 1);
        assert!(m.step_seconds(&more) - m.step_seconds(&decodes) < 0.1 * extra);
        // Taking the chunk out again takes its launches out too.
        mixed.remove(0, 2);
        assert_eq!(mixed.prefill_tokens, 0.0);
        assert!((m.step_seconds(&mixed) - m.step_seconds(&decodes)).abs() < 1e-12);
    }

    #[test]
    fn all_reduce_time_grows_with_the_tokens_at_the_links_share() {
        // Llama-3-70B on 4 H100s: each token's two all-reduces per layer move its hidden state
        // (2 bytes, 2 (tp-1)/tp of it per GPU) over `eff_link` of the link's bandwidth.
        let spec = Spec::of("llama-3-70b", "H100", "fp8", 4);
        let dep = Deployment::new(&spec).unwrap();
        let m = CostModel::new(&dep);
        let c = Coefficients::FITTED;
        assert!(c.eff_link > 0.0 && c.eff_link < 1.0);
        let (layers, hidden) = (f64::from(dep.arch.layers), f64::from(dep.arch.hidden));
        let per_token = 2.0 * layers * hidden * 2.0 * 2.0 * 0.75 / (dep.gpu.link * c.eff_link);
        assert!((m.allreduce_per_token / per_token - 1.0).abs() < 1e-12);
        // At half the link's bandwidth each token's data takes twice as long as at all of it.
        let full =
            CostModel::new(&Deployment { coefficients: Coefficients { eff_link: 1.0, ..c }, ..dep.clone() });
        assert!((m.allreduce_per_token / full.allreduce_per_token - 1.0 / c.eff_link).abs() < 1e-9);
        // Through a step: 2,048 more prompt tokens in the chunk cost at least their all-reduce data.
        let chunk = |n| {
            let mut load = StepLoad::default();
            load.add(0, n);
            m.step_seconds(&load)
        };
        assert!(chunk(4096) - chunk(2048) > 2048.0 * per_token);
        // One GPU has no all-reduce.
        assert_eq!(model("fp8").allreduce_per_token, 0.0);
    }

    #[test]
    fn masked_multi_head_decode_attention_has_a_per_query_head_ceiling() {
        // Llama-3-8B (4 query heads per KV head, which XQA lacks) on an H100: the masked multi-head
        // kernel reads each KV element once per query head and is at its ceiling with a 16-bit cache
        // already, so an fp8 cache saves memory, not time.
        let (fp16, fp8) = (on("llama-3-8b", "H100", "fp8", "fp16"), on("llama-3-8b", "H100", "fp8", "fp8"));
        let ratio = kv_slope(&fp8) / kv_slope(&fp16);
        assert!((ratio - 1.0).abs() < 1e-9, "{ratio}");
        let h100 = Gpu::find("H100").unwrap();
        let ceiling = h100.sms * h100.clock * Coefficients::FITTED.mmha_rate;
        let per_token = 2.0 * 32.0 * 128.0 * 32.0 / ceiling;
        assert!((kv_slope(&fp8) / per_token - 1.0).abs() < 0.05, "{} vs {per_token}", kv_slope(&fp8));
        // Llama-2-7B (as many KV heads as query heads) reads each element once: on an H100 its
        // bytes bound it, and fp8 halves them.
        let (fp16, fp8) = (on("llama-2-7b", "H100", "fp8", "fp16"), on("llama-2-7b", "H100", "fp8", "fp8"));
        let ratio = kv_slope(&fp8) / kv_slope(&fp16);
        assert!((ratio - 0.5).abs() < 0.02, "{ratio}");
        // On the L40S's slower memory the bytes bound wins again: fp8 pays off.
        let (fp16, fp8) = (on("llama-3-8b", "L40S", "fp8", "fp16"), on("llama-3-8b", "L40S", "fp8", "fp8"));
        assert!(kv_slope(&fp8) < 0.8 * kv_slope(&fp16));
        // Falcon-180B's 29 query heads per KV head read each KV element 29 times.
        let falcon = on("falcon-180b", "H100", "fp8", "fp8");
        let ceiling_per_token = 2.0 * (232.0 / 8.0) * 64.0 * 80.0 / ceiling;
        assert!((falcon.decode_kv_elements / ceiling_per_token - 1.0).abs() < 1e-9);
    }

    #[test]
    fn xqa_decode_attention_reads_each_kv_element_once_for_its_eight_query_heads() {
        // Llama-3-70B (8 query heads per KV head) runs XQA: its ceiling is in KV elements, each read
        // once for the group's 8 query heads, at `xqa_rate`; per KV element it decodes faster than
        // the masked multi-head kernel does for Llama-3-8B's groups of 4.
        let c = Coefficients::FITTED;
        let h100 = Gpu::find("H100").unwrap();
        let (fp16, fp8) = (on("llama-3-70b", "H100", "fp8", "fp16"), on("llama-3-70b", "H100", "fp8", "fp8"));
        let per_token = 2.0 * 8.0 * 128.0 * 80.0 / 4.0 / (h100.sms * h100.clock * c.xqa_rate);
        assert!((fp8.decode_kv_elements / per_token - 1.0).abs() < 1e-12);
        assert_eq!(fp16.decode_kv_elements, fp8.decode_kv_elements);
        assert!(c.xqa_rate > c.mmha_rate / 4.0, "{} vs {}", c.xqa_rate, c.mmha_rate / 4.0);
        // On four H100s the 16-bit cache's bytes are under the element ceiling, so fp8 barely helps.
        let ratio = kv_slope(&fp8) / kv_slope(&fp16);
        assert!(ratio > 0.95, "{ratio}");
    }

    #[test]
    fn decode_attention_is_not_hidden_under_a_prefill_chunk() {
        // A compute-bound prefill chunk plus 64 long-context decodes: the decodes' KV read is a
        // kernel of its own, added to the chunk's time rather than overlapped with its FLOPs.
        let m = model("fp8");
        let mut chunk = StepLoad::default();
        chunk.add(0, 4096);
        let mut mixed = chunk;
        for _ in 0..64 {
            mixed.add(4096, 1);
        }
        let mut decodes = StepLoad::default();
        for _ in 0..64 {
            decodes.add(4096, 1);
        }
        let attention = decodes.decode_kv * m.decode_kv_bytes.max(m.decode_kv_elements);
        assert!(m.step_seconds(&mixed) > m.step_seconds(&chunk) + attention);
        assert_eq!(mixed.pairs, chunk.pairs);
        assert_eq!(mixed.decode_kv, 64.0 * 4097.0);
    }
}
