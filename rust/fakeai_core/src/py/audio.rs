//! `speech(...)`, `speech_tokens(...)`, `probe_audio(...)`, `transcription(...)` and
//! `diarization(...)`: the audio endpoints' work.

use super::InvalidInput;
use crate::invalid::Invalid;
use crate::media::speech::{synthesize, SAMPLE_RATE};
use crate::media::{aac, audio_probe, chat_audio, diarize, flac, ogg_opus, transcript, wav};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use xxhash_rust::xxh3::xxh3_64;

/// Encode synthesised speech samples as `format` (`wav`, `flac`, `pcm`, `opus` (Ogg) or `aac` (ADTS)).
pub(crate) fn encode(samples: &[i16], format: &str) -> PyResult<Vec<u8>> {
    match format {
        "wav" => Ok(wav::wav(samples, SAMPLE_RATE)),
        "flac" => Ok(flac::flac(samples, SAMPLE_RATE)),
        "pcm" => Ok(wav::pcm(samples)),
        "opus" => ogg_opus::ogg_opus(samples, SAMPLE_RATE).map_err(PyRuntimeError::new_err),
        "aac" => aac::adts(samples, SAMPLE_RATE).map_err(PyRuntimeError::new_err),
        other => Err(InvalidInput::new_err(format!("the core does not encode {other}"))),
    }
}

/// The audio of `text` spoken by `voice` at `speed`, as a `wav`, `flac`, `pcm`, `opus` or `aac`
/// (24 kHz, 16-bit mono) file.
#[pyfunction]
pub(crate) fn speech<'py>(
    py: Python<'py>,
    text: &str,
    voice: &str,
    speed: f64,
    format: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let file = py.detach(|| encode(&synthesize(text, voice, speed), format))?;
    Ok(PyBytes::new(py, &file))
}

/// Audio output tokens of `text` spoken at `speed`: 20 a second of its speech, rounded up (the rule
/// of a chat completion's spoken answer).
#[pyfunction]
pub(crate) fn speech_tokens(text: &str, speed: f64) -> u32 {
    chat_audio::tokens_at(text, speed)
}

/// `(seconds, container)` of an audio file; container `unknown` means the duration is estimated
/// from the size. A header claiming more than the file can hold raises `InvalidInput` about `file`.
#[pyfunction]
pub(crate) fn probe_audio(py: Python<'_>, data: &[u8]) -> PyResult<(f64, &'static str)> {
    let p = py.detach(|| audio_probe::probe(data)).map_err(|e| Invalid::new("file", e))?;
    Ok((p.seconds, p.format))
}

/// The response body of a transcription (`task` "transcribe") or translation ("translate") of the
/// audio file `data` lasting `duration` seconds, in `response_format`.
#[pyfunction]
#[pyo3(signature = (data, duration, response_format, task="transcribe", language="english", temperature=0.0, words=false))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn transcription<'py>(
    py: Python<'py>,
    data: &[u8],
    duration: f64,
    response_format: &str,
    task: &str,
    language: &str,
    temperature: f64,
    words: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    check_duration(duration)?;
    let t = py.detach(|| transcript::transcribe(xxh3_64(data), duration));
    let body = match response_format {
        "text" => format!("{}\n", t.text).into_bytes(),
        "srt" => transcript::srt(&t).into_bytes(),
        "vtt" => transcript::vtt(&t).into_bytes(),
        "verbose_json" => transcript::verbose_json(&t, task, language, temperature, words),
        "json" => transcript::json(&t, task),
        other => return Err(InvalidInput::new_err(format!("unknown response_format {other}"))),
    };
    Ok(PyBytes::new(py, &body))
}

fn check_duration(duration: f64) -> PyResult<()> {
    if !(0.0..=audio_probe::MAX_SECONDS).contains(&duration) {
        let message = format!("duration must be 0 to {} seconds", audio_probe::MAX_SECONDS);
        return Err(Invalid::new("file", message).into());
    }
    Ok(())
}

/// The diarized transcript of the audio file `data` lasting `duration` seconds: one
/// `(speaker, start, end, text)` per segment, in order, the texts joining into the transcript that
/// [`transcription`] gives for the same file; speakers are labelled `A`, `B`... or with `names`
/// (the request's known speakers, at most [`diarize::MAX_SPEAKERS`]).
#[pyfunction]
pub(crate) fn diarization(
    py: Python<'_>,
    data: &[u8],
    duration: f64,
    names: Vec<String>,
) -> PyResult<Vec<(String, f64, f64, String)>> {
    check_duration(duration)?;
    if names.len() > diarize::MAX_SPEAKERS {
        let message = format!("at most {} known speakers", diarize::MAX_SPEAKERS);
        return Err(Invalid::new("known_speaker_names", message).into());
    }
    let key = xxh3_64(data);
    Ok(py.detach(|| {
        let t = transcript::transcribe(key, duration);
        let who = diarize::speakers(key, t.segments.len(), names.len());
        t.segments
            .into_iter()
            .zip(who)
            .map(|(seg, i)| {
                (diarize::label(i, &names), seg.start.min(duration), seg.end.min(duration), seg.text)
            })
            .collect()
    }))
}
