//! How long an answer is: what the request allows ([`LengthSpec`]), the natural length when the
//! model is free to stop by itself (a configurable distribution, [`LengthDist`]), and why it ended.
//!
//! The natural length's distribution is spelled on the command line (`--output-length-distribution`)
//! as one of
//!
//! ```text
//! uniform:LO:HI                      every length in LO..=HI equally likely (default uniform:32:512)
//! normal:MEAN:STD                    rounded normal draw, at least 1
//! fixed:N                            always N
//! histogram:LO-HI=W,LO-HI=W,...      pick a bucket by weight, then a length uniformly inside it
//! ```
//!
//! The draw is then capped by the request's `max_tokens` and the server's ceiling (see
//! [`choose_length`]).

use crate::rng::Rng;

/// Why a choice ended, as OpenAI reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    Stop,
    Length,
}

impl Finish {
    pub fn as_str(self) -> &'static str {
        match self {
            Finish::Stop => "stop",
            Finish::Length => "length",
        }
    }
}

/// Shortest and longest natural answer (tokens) when the model is free to stop by itself.
/// Lengths are uniform in this range by default (see [`LengthDist`]), then capped by `max_tokens`.
pub const NATURAL_LENGTH: (u32, u32) = (32, 512);

/// What the request says about the output length.
#[derive(Clone, Copy, Debug, Default)]
pub struct LengthSpec {
    pub max_tokens: Option<u32>,
    pub min_tokens: u32,
    /// vLLM's `ignore_eos`: always generate exactly `max_tokens`.
    pub ignore_eos: bool,
    /// An exact length forced by the operator (e.g. a per-request header), still capped by `max_tokens`.
    pub forced: Option<u32>,
    /// The natural length when nothing above decides it (`--output-length-distribution`).
    pub natural: LengthDist,
    /// The server's per-choice ceiling ([`crate::text::budget`]): a longer answer stops here.
    pub ceiling: Option<u32>,
}

/// Number of tokens to generate and the finish reason if nothing else (a stop sequence) cuts it.
pub fn choose_length(rng: &mut Rng, spec: LengthSpec) -> (u32, Finish) {
    let natural = match (spec.forced, spec.ignore_eos, spec.max_tokens) {
        (Some(n), _, _) => n,
        (None, true, Some(max)) => max,
        _ => spec.natural.sample(rng),
    }
    .max(spec.min_tokens);
    let (n, finish) = match spec.max_tokens {
        Some(max) if natural >= max => (max, Finish::Length),
        _ => (natural, Finish::Stop),
    };
    match spec.ceiling {
        Some(ceiling) if n > ceiling => (ceiling, Finish::Length),
        _ => (n, finish),
    }
}

/// Most buckets a histogram may have (the distribution is `Copy`, so it is stored inline).
pub const MAX_BUCKETS: usize = 16;

// Inline buckets keep the spec `Copy` (it rides in every `LengthSpec`); 260 bytes copied per request.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LengthDist {
    Uniform {
        lo: u32,
        hi: u32,
    },
    Normal {
        mean: f64,
        std: f64,
    },
    Fixed(u32),
    /// Buckets `(lo, hi, cumulative weight)`, `len` of them used.
    Histogram {
        buckets: [(u32, u32, f64); MAX_BUCKETS],
        len: usize,
    },
}

impl Default for LengthDist {
    /// Uniform over [`NATURAL_LENGTH`].
    fn default() -> Self {
        let (lo, hi) = NATURAL_LENGTH;
        LengthDist::Uniform { lo, hi }
    }
}

impl LengthDist {
    /// Draw one natural length (always >= 1).
    pub fn sample(&self, rng: &mut Rng) -> u32 {
        match *self {
            LengthDist::Uniform { lo, hi } => rng.range(u64::from(lo), u64::from(hi)) as u32,
            LengthDist::Fixed(n) => n,
            LengthDist::Normal { mean, std } => {
                // Box-Muller; `1 - unit()` is in (0, 1] so the logarithm is finite.
                let r = (-2.0 * (1.0 - rng.unit()).ln()).sqrt();
                let z = r * (std::f64::consts::TAU * rng.unit()).cos();
                (mean + std * z).round().clamp(1.0, f64::from(u32::MAX)) as u32
            }
            LengthDist::Histogram { buckets, len } => {
                let buckets = &buckets[..len];
                let target = rng.unit() * buckets[len - 1].2;
                let &(lo, hi, _) = buckets.iter().find(|b| b.2 > target).unwrap_or(&buckets[len - 1]);
                rng.range(u64::from(lo), u64::from(hi)) as u32
            }
        }
    }

    /// Parse a spec (see the module docs); the error says what is wrong with it.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let spec = spec.trim();
        let (kind, args) = spec.split_once(':').unwrap_or((spec, ""));
        let dist = match kind {
            "uniform" => {
                let [lo, hi] = numbers::<2>(args, "uniform:LO:HI")?;
                let (lo, hi) = (length(lo)?, length(hi)?);
                if lo > hi {
                    return Err(format!("uniform:{lo}:{hi} has LO > HI"));
                }
                LengthDist::Uniform { lo, hi }
            }
            "normal" => {
                let [mean, std] = numbers::<2>(args, "normal:MEAN:STD")?;
                if mean < 1.0 || std < 0.0 {
                    return Err("normal:MEAN:STD needs MEAN >= 1 and STD >= 0".into());
                }
                LengthDist::Normal { mean, std }
            }
            "fixed" => LengthDist::Fixed(length(numbers::<1>(args, "fixed:N")?[0])?),
            "histogram" => histogram(args)?,
            _ => {
                return Err(format!("unknown distribution {kind:?}: use uniform, normal, fixed or histogram"))
            }
        };
        Ok(dist)
    }
}

fn number(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("{text:?} is not a number")),
    }
}

fn numbers<const N: usize>(args: &str, form: &str) -> Result<[f64; N], String> {
    let parts: Vec<&str> = args.split(':').collect();
    if parts.len() != N {
        return Err(format!("expected {form}"));
    }
    let mut out = [0.0; N];
    for (slot, part) in out.iter_mut().zip(parts) {
        *slot = number(part)?;
    }
    Ok(out)
}

/// A token count: a whole number >= 1.
fn length(v: f64) -> Result<u32, String> {
    if v >= 1.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX) {
        Ok(v as u32)
    } else {
        Err(format!("{v} is not a whole number of tokens >= 1"))
    }
}

fn histogram(args: &str) -> Result<LengthDist, String> {
    let form = "histogram:LO-HI=WEIGHT,LO-HI=WEIGHT,...";
    let mut buckets = [(0, 0, 0.0); MAX_BUCKETS];
    let mut len = 0;
    let mut total = 0.0;
    for item in args.split(',') {
        let (range, weight) = item.split_once('=').ok_or_else(|| format!("expected {form}"))?;
        let (lo, hi) = range.split_once('-').ok_or_else(|| format!("expected {form}"))?;
        let (lo, hi, weight) = (length(number(lo)?)?, length(number(hi)?)?, number(weight)?);
        if lo > hi || weight < 0.0 {
            return Err(format!("bucket {item:?} needs LO <= HI and WEIGHT >= 0"));
        }
        if len == MAX_BUCKETS {
            return Err(format!("a histogram has at most {MAX_BUCKETS} buckets"));
        }
        total += weight;
        buckets[len] = (lo, hi, total);
        len += 1;
    }
    if total <= 0.0 {
        return Err("histogram weights must add up to more than 0".into());
    }
    Ok(LengthDist::Histogram { buckets, len })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(dist: &LengthDist, count: usize) -> Vec<u32> {
        let mut rng = Rng::new(11);
        (0..count).map(|_| dist.sample(&mut rng)).collect()
    }

    #[test]
    fn default_is_the_documented_uniform_range() {
        assert_eq!(LengthDist::default(), LengthDist::parse("uniform:32:512").unwrap());
        let d = draws(&LengthDist::default(), 2000);
        assert!(d.iter().all(|n| (32..=512).contains(n)));
        assert!(d.contains(&32) || d.iter().min().unwrap() < &40);
        assert!(d.iter().max().unwrap() > &500);
    }

    #[test]
    fn fixed_always_gives_n() {
        assert!(draws(&LengthDist::parse("fixed:77").unwrap(), 50).iter().all(|&n| n == 77));
    }

    #[test]
    fn normal_has_its_mean_and_spread_and_never_zero() {
        let d = draws(&LengthDist::parse("normal:200:20").unwrap(), 20_000);
        let mean = d.iter().map(|&n| f64::from(n)).sum::<f64>() / d.len() as f64;
        let var = d.iter().map(|&n| (f64::from(n) - mean).powi(2)).sum::<f64>() / d.len() as f64;
        assert!((mean - 200.0).abs() < 1.0, "{mean}");
        assert!((var.sqrt() - 20.0).abs() < 1.0, "{}", var.sqrt());
        assert!(draws(&LengthDist::parse("normal:1:50").unwrap(), 2000).iter().all(|&n| n >= 1));
    }

    #[test]
    fn histogram_follows_its_weights() {
        let dist = LengthDist::parse("histogram:1-10=1, 100-100=3,500-600=0").unwrap();
        let d = draws(&dist, 8000);
        let low = d.iter().filter(|&&n| (1..=10).contains(&n)).count() as f64;
        let hundred = d.iter().filter(|&&n| n == 100).count() as f64;
        assert_eq!(low + hundred, d.len() as f64);
        assert!((hundred / d.len() as f64 - 0.75).abs() < 0.03, "{}", hundred / d.len() as f64);
    }

    #[test]
    fn choose_length_draws_from_the_distribution_then_caps_at_max_tokens() {
        let natural = LengthDist::parse("fixed:50").unwrap();
        let spec =
            |max_tokens, ignore_eos| LengthSpec { max_tokens, ignore_eos, natural, ..Default::default() };
        let mut rng = Rng::new(3);
        assert_eq!(choose_length(&mut rng, spec(None, false)), (50, Finish::Stop));
        assert_eq!(choose_length(&mut rng, spec(Some(60), false)), (50, Finish::Stop));
        assert_eq!(choose_length(&mut rng, spec(Some(50), false)), (50, Finish::Length));
        assert_eq!(choose_length(&mut rng, spec(Some(40), false)), (40, Finish::Length));
        assert_eq!(choose_length(&mut rng, spec(Some(90), true)), (90, Finish::Length));
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        for (spec, needle) in [
            ("gamma:1:2", "unknown distribution"),
            ("uniform:10", "uniform:LO:HI"),
            ("uniform:50:10", "LO > HI"),
            ("uniform:0:10", ">= 1"),
            ("fixed:2.5", "whole number"),
            ("fixed:x", "not a number"),
            ("normal:0:5", "MEAN >= 1"),
            ("histogram:1-5", "LO-HI=WEIGHT"),
            ("histogram:1-5=0", "more than 0"),
            ("histogram:9-5=1", "LO <= HI"),
            ("", "unknown distribution"),
        ] {
            let err = LengthDist::parse(spec).unwrap_err();
            assert!(err.contains(needle), "{spec:?}: {err}");
        }
        let many = (1..=17).map(|i| format!("{i}-{i}=1")).collect::<Vec<_>>().join(",");
        assert!(LengthDist::parse(&format!("histogram:{many}")).unwrap_err().contains("at most"));
    }

    #[test]
    fn length_is_capped_by_max_tokens() {
        let mut rng = Rng::new(1);
        for _ in 0..200 {
            let (n, finish) =
                choose_length(&mut rng, LengthSpec { max_tokens: Some(40), ..Default::default() });
            assert!(n <= 40);
            assert_eq!(finish == Finish::Length, n == 40);
        }
    }

    #[test]
    fn ignore_eos_gives_exactly_max_tokens() {
        let spec = LengthSpec { max_tokens: Some(700), ignore_eos: true, ..Default::default() };
        assert_eq!(choose_length(&mut Rng::new(1), spec), (700, Finish::Length));
    }

    #[test]
    fn forced_and_min_tokens() {
        let spec = LengthSpec { forced: Some(5), min_tokens: 9, ..Default::default() };
        assert_eq!(choose_length(&mut Rng::new(1), spec), (9, Finish::Stop));
        let spec = LengthSpec { forced: Some(50), max_tokens: Some(10), ..Default::default() };
        assert_eq!(choose_length(&mut Rng::new(1), spec), (10, Finish::Length));
        let (n, _) = choose_length(&mut Rng::new(2), LengthSpec::default());
        assert!((NATURAL_LENGTH.0..=NATURAL_LENGTH.1).contains(&n));
    }
}
