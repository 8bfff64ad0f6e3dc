//! The `prompt` of `/v1/completions` and the `input` of `/v1/embeddings`: a string, a list of
//! strings, a list of token ids, or a list of lists of token ids.

use super::InvalidInput;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

pub(crate) enum TextOrTokens {
    Text(String),
    Tokens(Vec<u32>),
}

fn token_ids(list: &Bound<'_, PyList>) -> PyResult<Vec<u32>> {
    list.extract::<Vec<u32>>()
        .map_err(|_| InvalidInput::new_err("token ids must be integers between 0 and 4294967295"))
}

/// Read a prompt/input value; errors name what was wrong (the caller names the parameter).
pub(crate) fn extract(value: &Bound<'_, PyAny>) -> PyResult<Vec<TextOrTokens>> {
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(vec![TextOrTokens::Text(s.to_str()?.to_owned())]);
    }
    let Ok(list) = value.cast::<PyList>() else {
        return Err(InvalidInput::new_err("must be a string, an array of strings, or token ids"));
    };
    let Some(first) = list.iter().next() else {
        return Err(InvalidInput::new_err("must not be an empty array"));
    };
    if first.is_instance_of::<PyString>() {
        let texts = list
            .extract::<Vec<String>>()
            .map_err(|_| InvalidInput::new_err("an array of strings must hold only strings"))?;
        return Ok(texts.into_iter().map(TextOrTokens::Text).collect());
    }
    if first.is_instance_of::<PyList>() {
        return list
            .iter()
            .map(|item| match item.cast::<PyList>() {
                Ok(ids) if !ids.is_empty() => token_ids(ids).map(TextOrTokens::Tokens),
                Ok(_) => Err(InvalidInput::new_err("token id arrays must not be empty")),
                Err(_) => Err(InvalidInput::new_err("an array of token arrays must hold only arrays")),
            })
            .collect();
    }
    Ok(vec![TextOrTokens::Tokens(token_ids(list)?)])
}
