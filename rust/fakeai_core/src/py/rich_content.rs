//! The parts of a conversation that are not plain text: image, audio and video content parts (with
//! the model's capability for each), refusals, and the tool calls of earlier assistant turns.
//! Their prompt tokens are counted here; the cost model is in [`crate::media::multimodal`].

use crate::invalid::Invalid;
use crate::media::multimodal;
use crate::text::tokens;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFrozenSet, PyList, PyString};

fn text_of(obj: &Bound<'_, PyAny>, attr: &Bound<'_, PyString>) -> PyResult<Option<String>> {
    match obj.getattr_opt(attr)? {
        Some(v) => Ok(v.cast::<PyString>().ok().map(|s| s.to_string_lossy().into_owned())),
        None => Ok(None),
    }
}

fn dict_str(d: &Bound<'_, PyDict>, key: &str) -> PyResult<Option<String>> {
    Ok(d.get_item(key)?.and_then(|v| v.cast::<PyString>().ok().map(|s| s.to_string_lossy().into_owned())))
}

/// Tokens of one function call in an assistant message (`{"name", "arguments"}`).
fn call_tokens(function: &Bound<'_, PyAny>) -> PyResult<usize> {
    let Ok(f) = function.cast::<PyDict>() else { return Ok(0) };
    let name = dict_str(f, "name")?.unwrap_or_default();
    // a function's JSON `arguments`, or a custom tool's `input`
    let args = match dict_str(f, "arguments")? {
        Some(a) => a,
        None => dict_str(f, "input")?.unwrap_or_default(),
    };
    Ok(tokens::count(&name) + tokens::count(&args))
}

fn needs(caps: Option<&Bound<'_, PyFrozenSet>>, capability: &str, kind: &str, at: &str) -> PyResult<()> {
    match caps {
        Some(caps) if !caps.contains(capability)? => Err(Invalid::new(
            at,
            format!("Invalid content type at '{at}': '{kind}' is only supported by models with {capability} input, and this model has none."),
        )
        .code("unsupported_content_type")
        .into()),
        _ => Ok(()),
    }
}

/// What [`tokens`] counts, by kind.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RichTokens {
    /// Earlier tool calls and refusals.
    pub(crate) text: u32,
    /// `input_audio` parts (usage's `prompt_tokens_details.audio_tokens`).
    pub(crate) audio: u32,
    /// `image_url` and `video_url` parts: neither text nor audio.
    pub(crate) media: u32,
}

impl RichTokens {
    pub(crate) fn total(&self) -> u32 {
        self.text + self.audio + self.media
    }
}

/// Prompt tokens of everything in `messages` that `read_messages` does not count as text.
pub(crate) fn tokens(
    messages: &Bound<'_, PyList>,
    caps: Option<&Bound<'_, PyFrozenSet>>,
) -> PyResult<RichTokens> {
    let py = messages.py();
    let mut out = RichTokens::default();
    for (m, msg) in messages.iter().enumerate() {
        if let Some(calls) = msg.getattr_opt(intern!(py, "tool_calls"))? {
            if let Ok(calls) = calls.cast::<PyList>() {
                for call in calls.iter() {
                    if let Ok(call) = call.cast::<PyDict>() {
                        let called = match call.get_item("function")? {
                            Some(f) => Some(f),
                            None => call.get_item("custom")?,
                        };
                        if let Some(f) = called {
                            out.text += call_tokens(&f)? as u32;
                        }
                    }
                }
            }
        }
        if let Some(fc) = msg.getattr_opt(intern!(py, "function_call"))? {
            out.text += call_tokens(&fc)? as u32;
        }
        let content = msg.getattr(intern!(py, "content"))?;
        let Ok(parts) = content.cast::<PyList>() else { continue };
        for (p, part) in parts.iter().enumerate() {
            let at = format!("messages[{m}].content[{p}]");
            if let Some(image) = part.getattr_opt(intern!(py, "image_url"))? {
                needs(caps, "vision", "image_url", &at)?;
                let url = text_of(&image, intern!(py, "url"))?.unwrap_or_default();
                let detail = text_of(&image, intern!(py, "detail"))?.unwrap_or_else(|| "auto".into());
                out.media += multimodal::image_url_tokens(&url, &detail).map_err(|e| {
                    Invalid::new(
                        format!("{at}.image_url.url"),
                        format!("Invalid image URL at '{at}.image_url.url': {e}."),
                    )
                    .code("invalid_image_url")
                })?;
            } else if let Some(audio) = part.getattr_opt(intern!(py, "input_audio"))? {
                needs(caps, "audio", "input_audio", &at)?;
                let data = text_of(&audio, intern!(py, "data"))?.unwrap_or_default();
                let format = text_of(&audio, intern!(py, "format"))?.unwrap_or_default();
                out.audio += multimodal::audio_tokens(&data, &format).map_err(|e| {
                    Invalid::new(
                        format!("{at}.input_audio"),
                        format!("Invalid audio at '{at}.input_audio': {e}."),
                    )
                    .code("invalid_audio")
                })?;
            } else if let Some(video) = part.getattr_opt(intern!(py, "video_url"))? {
                needs(caps, "video", "video_url", &at)?;
                let url = text_of(&video, intern!(py, "url"))?.unwrap_or_default();
                out.media += multimodal::video_url_tokens(&url).map_err(|e| {
                    Invalid::new(
                        format!("{at}.video_url.url"),
                        format!("Invalid video URL at '{at}.video_url.url': {e}."),
                    )
                    .code("invalid_video_url")
                })?;
            } else if let Some(refusal) = text_of(&part, intern!(py, "refusal"))? {
                out.text += tokens::count(&refusal) as u32;
            }
        }
    }
    Ok(out)
}
