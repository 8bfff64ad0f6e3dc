//! What echo mode reads from Python values, and the `LengthDistribution` handed to every call.

use super::InvalidInput;
use crate::length_dist::LengthDist;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

/// The text of the last message whose role is `user`: its string content, or its text parts joined
/// by a space (as vLLM's simulators do). Empty when there is none.
pub(crate) fn last_user_text(messages: &Bound<'_, PyList>) -> PyResult<String> {
    let py = messages.py();
    for msg in messages.iter().rev() {
        if msg.getattr(intern!(py, "role"))?.cast::<PyString>()?.to_str()? != "user" {
            continue;
        }
        let content = msg.getattr(intern!(py, "content"))?;
        if let Ok(text) = content.cast::<PyString>() {
            return Ok(text.to_str()?.to_owned());
        }
        let mut texts = Vec::new();
        if let Ok(parts) = content.cast::<PyList>() {
            for part in parts.iter() {
                if let Some(text) = part.getattr_opt(intern!(py, "text"))? {
                    if let Ok(text) = text.cast::<PyString>() {
                        texts.push(text.to_str()?.to_owned());
                    }
                }
            }
        }
        return Ok(texts.join(" "));
    }
    Ok(String::new())
}

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
