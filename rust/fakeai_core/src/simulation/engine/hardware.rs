//! GPUs and number formats: the datasheet figures the step cost model divides by.
//!
//! Dense (no sparsity) tensor-core TFLOPs, HBM capacity and bandwidth per GPU, as NVIDIA's datasheets
//! give them: A100 SXM4 80GB (nvidia-a100-datasheet-us-nvidia-1758950-r4), H100 SXM5 and H200 SXM
//! (H100 Tensor Core GPU datasheet / whitepaper; the H200 is the same GH100 die with 141 GB HBM3e at
//! 4.8 TB/s), B200 (HGX B200, 1000 W: DGX B200 datasheet; NVIDIA quotes 180 GB in TRT-LLM's docs and
//! 192 GB elsewhere, we take 180 GB; dense figures are half the "with sparsity" ones), L40S (L40S
//! datasheet: BF16 362 / FP8 733 dense TFLOPs, the datasheet's 733 / 1466 being with sparsity; 48 GB
//! GDDR6 at 864 GB/s; PCIe only, so tensor parallelism goes over PCIe Gen4 at ~64 GB/s).
//! SM counts and boost clocks from the same datasheets and NVIDIA's architecture whitepapers: A100 108 SMs
//! at 1.41 GHz, H100/H200 SXM 132 at 1.98 GHz, B200 148 at ~1.965 GHz, L40S 142 at 2.52 GHz.
//! The B200 and L40S rows are the least certain (secondary sources disagree by a few percent).
//!
//! `matmul_efficiency` is the share of the dense 16-bit peak a large GEMM actually sustains
//! (Maximum Achievable Matmul FLOPS over the datasheet figure, S. Bekman's `mamf-finder` table in
//! ml-engineering, compute/accelerator: A100 SXM 271.2 of 312 TFLOPs = 0.869, H100 SXM 794.5 of 989
//! = 0.803). Its datasheet peak assumes a boost clock that a 700 W H100 cannot hold under dense tensor
//! load, while a 400 W A100 nearly does. The H200 SXM (same die and power) and the B200 and L40S
//! (no published figure) take the H100's share. The cost model's fitted `eff_flops` is a fraction of it.

/// A number format of weights (and, for fp8/fp4, of the KV cache).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    Fp16,
    Bf16,
    Fp8,
    Fp4,
}

impl Precision {
    pub const NAMES: [&'static str; 4] = ["fp16", "bf16", "fp8", "fp4"];

    pub fn parse(name: &str) -> Option<Precision> {
        match name.to_ascii_lowercase().as_str() {
            "fp16" | "float16" | "half" => Some(Precision::Fp16),
            "bf16" | "bfloat16" => Some(Precision::Bf16),
            "fp8" | "float8" => Some(Precision::Fp8),
            "fp4" | "nvfp4" | "mxfp4" => Some(Precision::Fp4),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        Precision::NAMES[self as usize]
    }

    /// Bytes per weight (fp4 counts its block scales: 4.25 bits).
    pub fn weight_bytes(self) -> f64 {
        match self {
            Precision::Fp16 | Precision::Bf16 => 2.0,
            Precision::Fp8 => 1.0,
            Precision::Fp4 => 0.53,
        }
    }

    /// Bytes per KV-cache element: fp8 and fp4 deployments keep an fp8 KV cache.
    pub fn kv_bytes(self) -> f64 {
        match self {
            Precision::Fp16 | Precision::Bf16 => 2.0,
            Precision::Fp8 | Precision::Fp4 => 1.0,
        }
    }
}

/// One GPU model's datasheet figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gpu {
    pub name: &'static str,
    /// Memory per GPU, bytes.
    pub memory: f64,
    /// Memory bandwidth, bytes/s.
    pub bandwidth: f64,
    /// Dense tensor TFLOPs at bf16/fp16, fp8 and fp4 (0 = no tensor cores for that format).
    pub tflops_bf16: f64,
    pub tflops_fp8: f64,
    pub tflops_fp4: f64,
    /// Streaming multiprocessors and their boost clock, Hz (what instruction-bound kernels scale with).
    pub sms: f64,
    pub clock: f64,
    /// GPU-to-GPU bandwidth one way, bytes/s (NVLink, or PCIe for the L40S).
    pub link: f64,
    /// The GPUs' switch reduces in the network (NVLink SHARP: the third-generation NVSwitch of HGX
    /// H100/H200 and B200's NVLink 5 switch), so an all-reduce takes one trip through it whatever the
    /// group's size. Without it (A100's NVSwitch, PCIe) the all-reduce is a ring, whose latency grows
    /// with every GPU in the group.
    pub switch_reduce: bool,
    /// Sustained share of the dense tensor peak in large GEMMs (see the module docs).
    pub matmul_efficiency: f64,
    /// The CPU of the systems this GPU ships in, which runs the serving stack's per-sequence work
    /// of every step and launches the kernels of steps outside CUDA graphs
    /// ([`super::cost::Coefficients::zen2_host`]).
    pub host: Host,
}

/// A GPU system's host CPU generation. The serving stack's per-sequence work each step (sampling,
/// detokenisation, streaming: single-threaded CPU code between GPU launches) and the kernel launches
/// of steps outside CUDA graphs run at its speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// DGX A100: AMD EPYC 7742 (Zen 2, 2019).
    Zen2,
    /// DGX H100: Intel Xeon Platinum 8480C (Sapphire Rapids, 2023), the host those costs are fitted
    /// at; the H200, B200 and L40S systems' hosts are of its generation or later.
    SapphireRapids,
}

const GB: f64 = 1e9;

pub const GPUS: [Gpu; 5] = [
    Gpu {
        name: "A100",
        memory: 80.0 * GB,
        bandwidth: 2039.0 * GB,
        tflops_bf16: 312.0,
        tflops_fp8: 0.0,
        tflops_fp4: 0.0,
        sms: 108.0,
        clock: 1.41e9,
        link: 300.0 * GB,
        switch_reduce: false,
        matmul_efficiency: 0.869,
        host: Host::Zen2,
    },
    Gpu {
        name: "H100",
        memory: 80.0 * GB,
        bandwidth: 3350.0 * GB,
        tflops_bf16: 989.4,
        tflops_fp8: 1978.9,
        tflops_fp4: 0.0,
        sms: 132.0,
        clock: 1.98e9,
        link: 450.0 * GB,
        switch_reduce: true,
        matmul_efficiency: 0.803,
        host: Host::SapphireRapids,
    },
    Gpu {
        name: "H200",
        memory: 141.0 * GB,
        bandwidth: 4800.0 * GB,
        tflops_bf16: 989.4,
        tflops_fp8: 1978.9,
        tflops_fp4: 0.0,
        sms: 132.0,
        clock: 1.98e9,
        link: 450.0 * GB,
        switch_reduce: true,
        matmul_efficiency: 0.803,
        host: Host::SapphireRapids,
    },
    Gpu {
        name: "B200",
        memory: 180.0 * GB,
        bandwidth: 8000.0 * GB,
        tflops_bf16: 2250.0,
        tflops_fp8: 4500.0,
        tflops_fp4: 9000.0,
        sms: 148.0,
        clock: 1.965e9,
        link: 900.0 * GB,
        switch_reduce: true,
        matmul_efficiency: 0.803,
        host: Host::SapphireRapids,
    },
    Gpu {
        name: "L40S",
        memory: 48.0 * GB,
        bandwidth: 864.0 * GB,
        tflops_bf16: 362.0,
        tflops_fp8: 733.0,
        tflops_fp4: 0.0,
        sms: 142.0,
        clock: 2.52e9,
        link: 32.0 * GB,
        switch_reduce: false,
        matmul_efficiency: 0.803,
        host: Host::SapphireRapids,
    },
];

impl Gpu {
    /// A GPU by name, case-insensitively; vendor spellings (`H100_80GB_HBM3`, `A100-SXM4-80GB`,
    /// `NVIDIA H200`) resolve to their row.
    pub fn find(name: &str) -> Option<&'static Gpu> {
        let upper = name.to_ascii_uppercase();
        let upper = upper.trim().trim_start_matches("NVIDIA").trim();
        GPUS.iter().find(|g| upper == g.name).or_else(|| GPUS.iter().find(|g| upper.starts_with(g.name)))
    }

    pub fn names() -> Vec<&'static str> {
        GPUS.iter().map(|g| g.name).collect()
    }

    /// Peak dense FLOP/s of matrix products whose weights are in `p`. A format the GPU has no tensor
    /// cores for runs weight-only (Marlin-style W8A16 / W4A16 kernels, as vLLM does on Ampere and
    /// Hopper): the weights stay small in memory, the products run at the widest format it has.
    pub fn flops(&self, p: Precision) -> f64 {
        let tf = match p {
            Precision::Fp16 | Precision::Bf16 => self.tflops_bf16,
            Precision::Fp8 => pick(self.tflops_fp8, self.tflops_bf16),
            Precision::Fp4 => pick(self.tflops_fp4, pick(self.tflops_fp8, self.tflops_bf16)),
        };
        tf * 1e12
    }
}

fn pick(native: f64, fallback: f64) -> f64 {
    if native > 0.0 {
        native
    } else {
        fallback
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_spellings_resolve() {
        assert_eq!(Gpu::find("H100_80GB_HBM3").unwrap().name, "H100");
        assert_eq!(Gpu::find("A100-SXM4-80GB").unwrap().name, "A100");
        assert_eq!(Gpu::find("nvidia h200").unwrap().name, "H200");
        assert!(Gpu::find("V100").is_none());
    }

    #[test]
    fn weight_only_fallback_on_a100() {
        let a100 = Gpu::find("A100").unwrap();
        assert_eq!(a100.flops(Precision::Fp8), a100.flops(Precision::Bf16));
        let h100 = Gpu::find("H100").unwrap();
        assert!((h100.flops(Precision::Fp8) / h100.flops(Precision::Bf16) - 2.0).abs() < 1e-3);
    }

    #[test]
    fn an_a100_sustains_more_of_its_peak_than_an_h100() {
        let (a100, h100) = (Gpu::find("A100").unwrap(), Gpu::find("H100").unwrap());
        assert!(a100.matmul_efficiency > h100.matmul_efficiency);
        // Sustained, the H100 is ~2.9x an A100 in 16-bit GEMMs, not the datasheets' 3.2x.
        let sustained = |g: &Gpu| g.flops(Precision::Bf16) * g.matmul_efficiency;
        let ratio = sustained(h100) / sustained(a100);
        assert!((ratio - 2.93).abs() < 0.02, "{ratio}");
        for g in &GPUS {
            assert!(g.matmul_efficiency > 0.5 && g.matmul_efficiency <= 1.0, "{}", g.name);
        }
    }
}
