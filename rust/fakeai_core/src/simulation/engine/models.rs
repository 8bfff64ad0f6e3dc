//! Model architectures: the `config.json` figures that decide weight bytes, KV bytes and FLOPs.
//!
//! Layers, hidden size, attention and KV heads, head dimension and parameter counts are those of the
//! models' public Hugging Face `config.json` files and model cards; `params` counts every weight
//! (embeddings included), `active` the weights one token runs through (a MoE's shared layers plus its
//! routed experts: Mixtral 2 of 8, Qwen3-235B 8 of 128, gpt-oss 4 of 128/32, DeepSeek-V3 8 of 256).
//! DeepSeek-V3/R1 use multi-head latent attention: one 576-wide latent (512 + 64 rope) per token and
//! layer, the same on every tensor-parallel rank. Nemotron Super 49B is a pruned Llama-3.3-70B whose
//! blocks differ in width; it is described by its mean (80 layers, 49.9B parameters).

/// Query heads per KV head of TensorRT-LLM's XQA decode kernel as the calibrated engine shipped it:
/// up to 0.12 its precompiled single-query kernels (`sXqaKernelMetaInfo`) exist for 8 query heads
/// per KV head only (Llama-2/3-70B), with head dimension 128 or 256.
pub const XQA_GROUP: u32 = 8;

/// The kernel that runs a decode step's attention (one query token per sequence).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeKernel {
    /// XQA: one thread block per sequence and KV head stages each tile of keys and values once
    /// through shared memory and multiplies it with all the group's query heads on tensor cores.
    /// Its ceiling is in KV elements per SM per cycle (`xqa_rate`).
    Xqa,
    /// The masked multi-head kernel (MMHA): one thread block per sequence and *query* head, dot
    /// products on CUDA cores. A grouped-query model whose group XQA lacks (Llama-3-8B, Mistral,
    /// Mixtral: 4 query heads per KV head; Falcon-180B: 29) reads each KV element once per query
    /// head; its ceiling is in those query-head elements per SM per cycle (`mmha_rate`).
    MaskedMultiHead,
    /// Multi-head latent attention (DeepSeek): bound by the latent cache's bytes.
    Latent,
}

/// One architecture.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Architecture {
    pub name: &'static str,
    pub layers: u32,
    pub hidden: u32,
    pub heads: u32,
    pub kv_heads: u32,
    pub head_dim: u32,
    /// All parameters, billions.
    pub params: f64,
    /// Parameters a token runs through, billions (= params for a dense model).
    pub active: f64,
    /// Routed experts and experts per token (0, 0 for a dense model).
    pub experts: u32,
    pub experts_per_token: u32,
    /// Multi-head latent attention: KV elements per token and layer, replicated on every TP rank.
    pub mla_width: u32,
    /// Tensor parallelism of the default deployment (one H100 node; DeepSeek on H200).
    pub default_tp: u32,
    pub default_gpu: &'static str,
    pub default_precision: &'static str,
}

const fn dense(
    name: &'static str,
    layers: u32,
    hidden: u32,
    heads: u32,
    kv_heads: u32,
    params: f64,
) -> Architecture {
    Architecture {
        name,
        layers,
        hidden,
        heads,
        kv_heads,
        head_dim: hidden / heads,
        params,
        active: params,
        experts: 0,
        experts_per_token: 0,
        mla_width: 0,
        default_tp: 1,
        default_gpu: "H100",
        default_precision: "bf16",
    }
}

const fn on(a: Architecture, tp: u32, gpu: &'static str, precision: &'static str) -> Architecture {
    Architecture { default_tp: tp, default_gpu: gpu, default_precision: precision, ..a }
}

const fn moe(a: Architecture, active: f64, experts: u32, per_token: u32) -> Architecture {
    Architecture { active, experts, experts_per_token: per_token, ..a }
}

const fn head_dim(a: Architecture, head_dim: u32) -> Architecture {
    Architecture { head_dim, ..a }
}

pub const ARCHITECTURES: [Architecture; 20] = [
    dense("llama-3-8b", 32, 4096, 32, 8, 8.03),
    on(dense("llama-3-70b", 80, 8192, 64, 8, 70.6), 4, "H100", "fp8"),
    on(dense("llama-3.1-405b", 126, 16384, 128, 8, 405.9), 8, "H100", "fp8"),
    dense("llama-3.2-11b-vision", 40, 4096, 32, 8, 10.6),
    on(dense("nemotron-super-49b", 80, 8192, 64, 8, 49.9), 2, "H100", "fp8"),
    dense("mistral-7b", 32, 4096, 32, 8, 7.25),
    dense("llama-2-7b", 32, 4096, 32, 32, 6.74),
    dense("llama-2-13b", 40, 5120, 40, 40, 13.0),
    on(dense("llama-2-70b", 80, 8192, 64, 8, 69.0), 4, "H100", "fp8"),
    dense("gpt-j-6b", 28, 4096, 16, 16, 6.05),
    on(head_dim(dense("falcon-180b", 80, 14848, 232, 8, 179.5), 64), 8, "H100", "fp8"),
    on(moe(dense("mixtral-8x7b", 32, 4096, 32, 8, 46.7), 12.9, 8, 2), 2, "H100", "bf16"),
    on(moe(dense("mixtral-8x22b", 56, 6144, 48, 8, 140.6), 39.2, 8, 2), 4, "H100", "fp8"),
    head_dim(dense("qwen2.5-7b", 28, 3584, 28, 4, 7.62), 128),
    on(dense("qwen2.5-72b", 80, 8192, 64, 8, 72.7), 4, "H100", "fp8"),
    dense("qwen3-8b", 36, 4096, 32, 8, 8.19),
    on(moe(head_dim(dense("qwen3-235b-a22b", 94, 4096, 64, 4, 235.1), 128), 22.2, 128, 8), 4, "H100", "fp8"),
    on(moe(head_dim(dense("gpt-oss-120b", 36, 2880, 64, 8, 116.8), 64), 5.1, 128, 4), 1, "H100", "fp4"),
    on(moe(head_dim(dense("gpt-oss-20b", 24, 2880, 64, 8, 20.9), 64), 3.6, 32, 4), 1, "H100", "fp4"),
    Architecture {
        mla_width: 576,
        ..on(moe(dense("deepseek-v3", 61, 7168, 128, 128, 671.0), 37.0, 256, 8), 8, "H200", "fp8")
    },
];

/// Model ids (catalog, Hugging Face, NIM) -> architecture, matched on a lowercased id by substring,
/// most specific first.
const ALIASES: [(&str, &str); 32] = [
    ("deepseek-r1-distill-llama-8b", "llama-3-8b"),
    ("deepseek-r1-distill-llama-70b", "llama-3-70b"),
    ("deepseek-v3", "deepseek-v3"),
    ("deepseek-r1", "deepseek-v3"),
    ("nemotron-super-49b", "nemotron-super-49b"),
    ("nemotron-70b", "llama-3-70b"),
    ("405b", "llama-3.1-405b"),
    ("11b-vision", "llama-3.2-11b-vision"),
    ("llama-3-70b", "llama-3-70b"),
    ("llama3-70b", "llama-3-70b"),
    ("llama-3.1-70b", "llama-3-70b"),
    ("llama-3.3-70b", "llama-3-70b"),
    ("llama-3-8b", "llama-3-8b"),
    ("llama3-8b", "llama-3-8b"),
    ("llama-3.1-8b", "llama-3-8b"),
    ("llama-2-7b", "llama-2-7b"),
    ("llama-2-13b", "llama-2-13b"),
    ("llama-2-70b", "llama-2-70b"),
    ("gpt-j", "gpt-j-6b"),
    ("falcon-180b", "falcon-180b"),
    ("mixtral-8x22b", "mixtral-8x22b"),
    ("mixtral-8x7b", "mixtral-8x7b"),
    ("mistral-7b", "mistral-7b"),
    ("qwen3-235b", "qwen3-235b-a22b"),
    ("qwen3-8b", "qwen3-8b"),
    ("qwen2.5-72b", "qwen2.5-72b"),
    ("qwen2.5-vl-7b", "qwen2.5-7b"),
    ("qwen2.5-7b", "qwen2.5-7b"),
    ("cosmos-reason1-7b", "qwen2.5-7b"),
    ("gpt-oss-120b", "gpt-oss-120b"),
    ("gpt-oss-20b", "gpt-oss-20b"),
    ("llama-3.2-11b", "llama-3.2-11b-vision"),
];

impl Architecture {
    /// The architecture of a model id: a catalog id, a Hugging Face id of the same architecture
    /// (`meta-llama/Meta-Llama-3-8B-Instruct`) or an architecture name.
    pub fn find(model: &str) -> Option<&'static Architecture> {
        let id = model.to_ascii_lowercase().replace("meta-llama-3", "llama-3");
        let by_name = ARCHITECTURES.iter().find(|a| id == a.name);
        by_name.or_else(|| {
            let (_, name) = ALIASES.iter().find(|(needle, _)| id.contains(needle))?;
            ARCHITECTURES.iter().find(|a| a.name == *name)
        })
    }

    pub fn names() -> Vec<&'static str> {
        ARCHITECTURES.iter().map(|a| a.name).collect()
    }

    /// KV-cache elements per token over all layers, on one of `tp` ranks.
    pub fn kv_elements_per_token(&self, tp: u32) -> f64 {
        let per_layer = if self.mla_width > 0 {
            f64::from(self.mla_width)
        } else {
            2.0 * f64::from(self.kv_heads) * f64::from(self.head_dim) / f64::from(tp.min(self.kv_heads))
        };
        per_layer * f64::from(self.layers)
    }

    /// Which kernel decodes this model's single-token queries in the calibrated engine
    /// (TensorRT-LLM up to 0.12, which NIM and the fixed-batch runs measured; see [`DecodeKernel`]).
    pub fn decode_kernel(&self) -> DecodeKernel {
        if self.mla_width > 0 {
            DecodeKernel::Latent
        } else if self.heads == XQA_GROUP * self.kv_heads && matches!(self.head_dim, 128 | 256) {
            DecodeKernel::Xqa
        } else {
            DecodeKernel::MaskedMultiHead
        }
    }

    /// Elements the masked multi-head decode kernel reads per context token over all layers on one
    /// of `tp` ranks: every query head walks its KV head's keys and values on its own, so a
    /// grouped-query model reads each KV element once per query head of its group.
    pub fn query_elements_per_token(&self, tp: u32) -> f64 {
        let heads = f64::from(self.heads) / f64::from(tp.min(self.heads));
        2.0 * heads * f64::from(self.head_dim) * f64::from(self.layers)
    }

    /// Expected parameters (billions) read by a step of `tokens` tokens: the dense part always, each
    /// routed expert when at least one token picks it (tokens route independently and uniformly).
    pub fn params_read(&self, tokens: f64) -> f64 {
        if self.experts == 0 {
            return self.params;
        }
        let k = f64::from(self.experts_per_token);
        let e = f64::from(self.experts);
        let expert_params = (self.params - self.active) / (1.0 - k / e);
        let shared = self.params - expert_params;
        let touched = 1.0 - (1.0 - k / e).powf(tokens.max(1.0));
        shared + expert_params * touched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hugging_face_ids_resolve() {
        for (id, arch) in [
            ("meta-llama/Meta-Llama-3-8B-Instruct", "llama-3-8b"),
            ("meta-llama/Llama-3.1-8B-Instruct", "llama-3-8b"),
            ("meta-llama/Meta-Llama-3-70B-Instruct", "llama-3-70b"),
            ("meta-llama/Llama-3.3-70B-Instruct", "llama-3-70b"),
            ("meta-llama3-8b-instruct", "llama-3-8b"),
            ("meta/llama-3.1-70b-instruct", "llama-3-70b"),
            ("deepseek-ai/DeepSeek-R1", "deepseek-v3"),
            ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "llama-3-8b"),
            ("openai/gpt-oss-120b", "gpt-oss-120b"),
            ("Qwen/Qwen3-235B-A22B", "qwen3-235b-a22b"),
        ] {
            assert_eq!(Architecture::find(id).map(|a| a.name), Some(arch), "{id}");
        }
        assert!(Architecture::find("gpt-4o").is_none());
    }

    #[test]
    fn moe_reads_active_experts_at_batch_one_and_all_at_large_batches() {
        let m = Architecture::find("mixtral-8x7b").unwrap();
        assert!((m.params_read(1.0) - m.active).abs() < 1e-9);
        assert!((m.params_read(1e4) - m.params).abs() < 1e-6);
        let l = Architecture::find("llama-3-8b").unwrap();
        assert_eq!(l.params_read(1.0), l.params);
    }

    #[test]
    fn kv_bytes_of_llama_8b() {
        // 32 layers x 2 (K, V) x 8 heads x 128 = 65536 elements: 128 KiB per token in fp16.
        assert_eq!(Architecture::find("llama-3-8b").unwrap().kv_elements_per_token(1), 65536.0);
    }

    #[test]
    fn the_decode_kernel_follows_the_query_heads_per_kv_head() {
        let kernel = |name: &str| Architecture::find(name).unwrap().decode_kernel();
        assert_eq!(kernel("llama-3-70b"), DecodeKernel::Xqa);
        assert_eq!(kernel("llama-2-70b"), DecodeKernel::Xqa);
        assert_eq!(kernel("llama-3-8b"), DecodeKernel::MaskedMultiHead);
        assert_eq!(kernel("llama-2-7b"), DecodeKernel::MaskedMultiHead);
        assert_eq!(kernel("falcon-180b"), DecodeKernel::MaskedMultiHead);
        assert_eq!(kernel("deepseek-v3"), DecodeKernel::Latent);
        // Each query head of Llama-3-8B's groups of 4 reads its KV head's elements: 4x the cache's.
        let l = Architecture::find("llama-3-8b").unwrap();
        assert_eq!(l.query_elements_per_token(1), 4.0 * l.kv_elements_per_token(1));
        assert_eq!(l.query_elements_per_token(2), 4.0 * l.kv_elements_per_token(2));
    }
}
