//! The `LengthDistribution` handed to every generating call (`--output-length-distribution`).

use super::InvalidInput;
use crate::text::length::LengthDist;
use pyo3::prelude::*;

/// A parsed `--output-length-distribution`, built once per worker and passed to every call.
#[pyclass(frozen, module = "fakeai._core")]
pub(crate) struct LengthDistribution {
    pub(crate) dist: LengthDist,
    spec: String,
}

#[pymethods]
impl LengthDistribution {
    /// Parse `spec` (`uniform:LO:HI`, `normal:MEAN:STD`, `fixed:N`, `histogram:LO-HI=W,...`);
    /// a bad spec raises `InvalidInput` saying why.
    #[new]
    fn new(spec: &str) -> PyResult<Self> {
        let dist = LengthDist::parse(spec).map_err(InvalidInput::new_err)?;
        Ok(Self { dist, spec: spec.to_owned() })
    }

    /// Draw `count` lengths from `seed` (for tests and for looking at a distribution).
    fn sample(&self, count: usize, seed: u64) -> Vec<u32> {
        let mut rng = crate::rng::Rng::new(seed);
        (0..count).map(|_| self.dist.sample(&mut rng)).collect()
    }

    fn __repr__(&self) -> String {
        format!("LengthDistribution({:?})", self.spec)
    }
}

/// The distribution a call was given, or the default.
pub(crate) fn natural(lengths: Option<&Bound<'_, LengthDistribution>>) -> LengthDist {
    lengths.map(|l| l.get().dist).unwrap_or_default()
}
