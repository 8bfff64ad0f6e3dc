//! A deployment: model x GPU x precision x tensor parallelism x replicas x scheduler limits, checked
//! once, with the KV capacity that follows from the memory left after the weights.

use super::cost::Coefficients;
use super::hardware::{Gpu, Precision};
use super::models::Architecture;

/// How a replica reserves KV blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvPolicy {
    /// vLLM: blocks are allocated as a sequence grows; when a decode finds none free, the most
    /// recently admitted sequence is preempted (its blocks freed, its prefill recomputed later).
    OnDemand,
    /// TensorRT-LLM's GUARANTEED_NO_EVICT: a request is admitted only when blocks for its prompt and
    /// its whole output are free; nothing is ever preempted.
    Reserve,
}

impl KvPolicy {
    pub fn parse(name: &str) -> Option<KvPolicy> {
        match name {
            "on-demand" | "vllm" => Some(KvPolicy::OnDemand),
            "reserve" | "trtllm" | "guaranteed-no-evict" => Some(KvPolicy::Reserve),
            _ => None,
        }
    }
}

/// What a caller may set; every field has the vLLM default or the model's default deployment.
#[derive(Clone, Debug)]
pub struct Spec {
    pub model: String,
    pub gpu: Option<String>,
    pub precision: Option<String>,
    /// KV-cache format; unset: fp8 for fp8/fp4 weights, else the weights' 16-bit format.
    pub kv_cache_dtype: Option<String>,
    pub tp: Option<u32>,
    pub replicas: u32,
    pub max_num_seqs: u32,
    pub max_num_batched_tokens: u32,
    pub chunked_prefill: bool,
    pub block_size: u32,
    pub gpu_memory_utilization: f64,
    pub kv_policy: KvPolicy,
    pub coefficients: Coefficients,
}

impl Default for Spec {
    fn default() -> Spec {
        Spec {
            model: "meta-llama/Llama-3.1-8B-Instruct".into(),
            gpu: None,
            precision: None,
            kv_cache_dtype: None,
            tp: None,
            replicas: 1,
            max_num_seqs: 256,
            max_num_batched_tokens: 8192,
            chunked_prefill: true,
            block_size: 16,
            gpu_memory_utilization: 0.9,
            kv_policy: KvPolicy::OnDemand,
            coefficients: Coefficients::FITTED,
        }
    }
}

/// A rejected deployment: the parameter and a one-line reason naming the value.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejected {
    pub param: &'static str,
    pub message: String,
}

fn reject<T>(param: &'static str, message: String) -> Result<T, Rejected> {
    Err(Rejected { param, message })
}

/// A checked deployment.
#[derive(Clone, Debug)]
pub struct Deployment {
    pub arch: Architecture,
    pub gpu: Gpu,
    pub precision: Precision,
    /// The KV cache's format (its bytes decide capacity and attention's read time).
    pub kv_precision: Precision,
    pub tp: u32,
    pub replicas: u32,
    pub max_num_seqs: u32,
    pub max_num_batched_tokens: u32,
    pub chunked_prefill: bool,
    pub block_size: u32,
    pub gpu_memory_utilization: f64,
    pub kv_policy: KvPolicy,
    pub coefficients: Coefficients,
    /// KV blocks per replica.
    pub kv_blocks: u32,
}

impl Deployment {
    pub fn new(spec: &Spec) -> Result<Deployment, Rejected> {
        let Some(arch) = Architecture::find(&spec.model) else {
            let known = Architecture::names().join(", ");
            return reject(
                "model",
                format!("no architecture known for model '{}' (known: {known})", spec.model),
            );
        };
        let gpu_name = spec.gpu.as_deref().unwrap_or(arch.default_gpu);
        let Some(gpu) = Gpu::find(gpu_name) else {
            return reject(
                "gpu",
                format!("unknown GPU '{gpu_name}' (choose from {})", Gpu::names().join(", ")),
            );
        };
        let precision_name = spec.precision.as_deref().unwrap_or(arch.default_precision);
        let Some(precision) = Precision::parse(precision_name) else {
            let names = Precision::NAMES.join(", ");
            return reject(
                "precision",
                format!("unknown precision '{precision_name}' (choose from {names})"),
            );
        };
        let kv_precision = match spec.kv_cache_dtype.as_deref() {
            None | Some("auto") if precision == Precision::Fp4 => Precision::Fp8,
            None | Some("auto") => precision,
            Some(name) => match Precision::parse(name) {
                Some(p @ (Precision::Fp16 | Precision::Bf16 | Precision::Fp8)) => p,
                _ => {
                    return reject(
                        "kv_cache_dtype",
                        format!("unknown KV-cache format '{name}' (choose from auto, fp16, bf16, fp8)"),
                    )
                }
            },
        };
        let tp = spec.tp.unwrap_or(arch.default_tp);
        if tp == 0 || arch.heads % tp != 0 {
            return reject(
                "tp",
                format!(
                    "tensor parallelism {tp} does not divide {}'s {} attention heads",
                    arch.name, arch.heads
                ),
            );
        }
        if spec.replicas == 0 || spec.replicas > 4096 {
            return reject("replicas", format!("replicas must be 1..4096, got {}", spec.replicas));
        }
        if spec.max_num_seqs == 0 {
            return reject("max_num_seqs", "max-num-seqs must be >= 1".into());
        }
        if spec.block_size == 0 || spec.block_size > 4096 {
            return reject("block_size", format!("block-size must be 1..4096, got {}", spec.block_size));
        }
        if !(spec.gpu_memory_utilization > 0.0 && spec.gpu_memory_utilization <= 1.0) {
            let u = spec.gpu_memory_utilization;
            return reject(
                "gpu_memory_utilization",
                format!("gpu-memory-utilization must be in (0, 1], got {u}"),
            );
        }
        if spec.max_num_batched_tokens == 0 {
            return reject("max_num_batched_tokens", "max-num-batched-tokens must be >= 1".into());
        }
        let mut d = Deployment {
            arch: *arch,
            gpu: *gpu,
            precision,
            kv_precision,
            tp,
            replicas: spec.replicas,
            max_num_seqs: spec.max_num_seqs,
            max_num_batched_tokens: spec.max_num_batched_tokens,
            chunked_prefill: spec.chunked_prefill,
            block_size: spec.block_size,
            gpu_memory_utilization: spec.gpu_memory_utilization,
            kv_policy: spec.kv_policy,
            coefficients: spec.coefficients,
            kv_blocks: 0,
        };
        let kv = d.kv_memory_per_gpu();
        let blocks = kv / (d.kv_bytes_per_token() * f64::from(d.block_size));
        if blocks < 1.0 {
            let need = (d.weight_bytes_per_gpu() + d.coefficients.reserved_bytes) / 1e9;
            let have = d.gpu.memory * d.gpu_memory_utilization / 1e9;
            return reject(
                "model",
                format!(
                    "{} in {} does not fit on {} x {}: {need:.1} GB of weights and buffers per GPU, {have:.1} GB usable",
                    arch.name,
                    precision.name(),
                    tp,
                    gpu.name
                ),
            );
        }
        d.kv_blocks = blocks.min(f64::from(u32::MAX)) as u32;
        Ok(d)
    }

    /// Weight bytes each tensor-parallel rank holds.
    pub fn weight_bytes_per_gpu(&self) -> f64 {
        self.arch.params * 1e9 * self.precision.weight_bytes() / f64::from(self.tp)
    }

    /// KV-cache bytes one token occupies on each rank.
    pub fn kv_bytes_per_token(&self) -> f64 {
        self.arch.kv_elements_per_token(self.tp) * self.kv_precision.kv_bytes()
    }

    /// Memory left for the KV cache on each rank: the usable share of the GPU less the weights and
    /// the activation/workspace reserve.
    pub fn kv_memory_per_gpu(&self) -> f64 {
        self.gpu.memory * self.gpu_memory_utilization
            - self.weight_bytes_per_gpu()
            - self.coefficients.reserved_bytes
    }

    /// Tokens of KV cache per replica.
    pub fn kv_tokens(&self) -> u64 {
        u64::from(self.kv_blocks) * u64::from(self.block_size)
    }

    pub fn blocks_for(&self, tokens: u32) -> u32 {
        tokens.div_ceil(self.block_size)
    }
}

#[cfg(test)]
impl Spec {
    /// A model on `tp` GPUs of `gpu` in `precision`, every other field at its default (tests).
    pub(crate) fn of(model: &str, gpu: &str, precision: &str, tp: u32) -> Spec {
        Spec {
            model: model.into(),
            gpu: Some(gpu.into()),
            precision: Some(precision.into()),
            tp: Some(tp),
            ..Spec::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_named() {
        let e = Deployment::new(&Spec::of("llama-3-8b", "V100", "fp16", 1)).unwrap_err();
        assert_eq!(e.message, "unknown GPU 'V100' (choose from A100, H100, H200, B200, L40S)");
        let e = Deployment::new(&Spec::of("llama-3-8b", "H100", "fp16", 3)).unwrap_err();
        assert!(e.message.contains("tensor parallelism 3"), "{}", e.message);
        let e = Deployment::new(&Spec::of("llama-3.1-405b", "H100", "bf16", 1)).unwrap_err();
        assert!(e.message.contains("does not fit"), "{}", e.message);
        let e = Deployment::new(&Spec::of("gpt-4o", "H100", "bf16", 1)).unwrap_err();
        assert_eq!(e.param, "model");
    }

    #[test]
    fn kv_capacity_follows_memory_left() {
        let fp16 = Deployment::new(&Spec::of("llama-3-8b", "H100", "fp16", 1)).unwrap();
        let fp8 = Deployment::new(&Spec::of("llama-3-8b", "H100", "fp8", 1)).unwrap();
        // fp8 halves the bytes per token and frees 8 GB of weights.
        assert!(fp8.kv_tokens() > 2 * fp16.kv_tokens());
        let fp16_cache =
            Spec { kv_cache_dtype: Some("fp16".into()), ..Spec::of("llama-3-8b", "H100", "fp8", 1) };
        let fp16_cache = Deployment::new(&fp16_cache).unwrap();
        assert!(
            fp16_cache.kv_tokens() < fp8.kv_tokens() / 2 + 1 && fp16_cache.kv_tokens() > fp16.kv_tokens()
        );
        let tp2 = Deployment::new(&Spec::of("llama-3-8b", "H100", "fp16", 2)).unwrap();
        assert!(tp2.kv_tokens() > 2 * fp16.kv_tokens());
    }

    #[test]
    fn every_default_deployment_fits() {
        for a in super::super::models::ARCHITECTURES {
            let d = Deployment::new(&Spec { model: a.name.into(), ..Spec::default() });
            assert!(d.is_ok(), "{}: {:?}", a.name, d.err());
        }
    }
}
