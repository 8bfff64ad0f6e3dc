//! AAC-LC in ADTS frames, as OpenAI's speech `aac` format: the Fraunhofer FDK AAC encoder, vendored
//! by the `fdk-aac-sys` crate, which compiles it with `cc` and links it statically (the wheel needs no
//! system library). This file is the only place that calls its C API.

use fdk_aac_sys as sys;
use std::mem::MaybeUninit;
use std::os::raw::{c_int, c_void};
use std::ptr;

/// Constant bit rate of the encoded stream, bits per second (OpenAI's AAC speech is 64-96 kb/s).
pub const BIT_RATE: u32 = 64_000;
const AOT_AAC_LC: u32 = 2;
const TRANSMUX_ADTS: u32 = 2;

/// An open encoder, closed on drop.
struct Encoder(sys::HANDLE_AACENCODER);

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: the handle came from aacEncOpen and is closed once.
        #[allow(unsafe_code)]
        unsafe {
            sys::aacEncClose(&mut self.0);
        }
    }
}

fn check(code: sys::AACENC_ERROR, step: &str) -> Result<(), String> {
    if code == sys::AACENC_ERROR_AACENC_OK {
        Ok(())
    } else {
        Err(format!("AAC encoder {step} failed (code {code:#x})"))
    }
}

/// `samples` (16-bit mono at `sample_rate`) as an ADTS stream of AAC-LC frames at [`BIT_RATE`].
#[allow(unsafe_code)]
pub fn adts(samples: &[i16], sample_rate: u32) -> Result<Vec<u8>, String> {
    let mut enc = Encoder(ptr::null_mut());
    // SAFETY (this block and the ones below): the FDK C API is called as its documentation says,
    // with a handle it opened and buffer descriptors pointing at live, correctly sized Rust buffers.
    check(unsafe { sys::aacEncOpen(&mut enc.0, 0, 1) }, "open")?;
    let params = [
        (sys::AACENC_PARAM_AACENC_AOT, AOT_AAC_LC),
        (sys::AACENC_PARAM_AACENC_SAMPLERATE, sample_rate),
        (sys::AACENC_PARAM_AACENC_CHANNELMODE, 1),
        (sys::AACENC_PARAM_AACENC_BITRATEMODE, 0),
        (sys::AACENC_PARAM_AACENC_BITRATE, BIT_RATE),
        (sys::AACENC_PARAM_AACENC_TRANSMUX, TRANSMUX_ADTS),
        (sys::AACENC_PARAM_AACENC_AFTERBURNER, 1),
    ];
    for (param, value) in params {
        check(unsafe { sys::aacEncoder_SetParam(enc.0, param, value) }, "configuration")?;
    }
    check(
        unsafe { sys::aacEncEncode(enc.0, ptr::null(), ptr::null(), ptr::null(), ptr::null_mut()) },
        "setup",
    )?;
    let mut info = MaybeUninit::<sys::AACENC_InfoStruct>::uninit();
    check(unsafe { sys::aacEncInfo(enc.0, info.as_mut_ptr()) }, "info")?;
    let max_frame = unsafe { info.assume_init() }.maxOutBufBytes.max(768) as usize;

    let mut frame = vec![0u8; max_frame];
    let mut out =
        Vec::with_capacity(samples.len() * BIT_RATE as usize / sample_rate as usize / 8 + max_frame);
    let mut offset = 0;
    // Each call consumes what fits the encoder's input buffer and writes at most one frame; once
    // the input is used up, `numInSamples = -1` flushes the frames still delayed inside it.
    loop {
        let rest = &samples[offset..];
        let mut in_ptr = rest.as_ptr().cast::<c_void>().cast_mut();
        let mut in_id = sys::AACENC_BufferIdentifier_IN_AUDIO_DATA as c_int;
        let mut in_bytes = (rest.len() * 2) as c_int;
        let mut in_elem = 2 as c_int;
        let in_desc = sys::AACENC_BufDesc {
            numBufs: 1,
            bufs: &mut in_ptr,
            bufferIdentifiers: &mut in_id,
            bufSizes: &mut in_bytes,
            bufElSizes: &mut in_elem,
        };
        let mut out_ptr = frame.as_mut_ptr().cast::<c_void>();
        let mut out_id = sys::AACENC_BufferIdentifier_OUT_BITSTREAM_DATA as c_int;
        let mut out_bytes = frame.len() as c_int;
        let mut out_elem = 1 as c_int;
        let out_desc = sys::AACENC_BufDesc {
            numBufs: 1,
            bufs: &mut out_ptr,
            bufferIdentifiers: &mut out_id,
            bufSizes: &mut out_bytes,
            bufElSizes: &mut out_elem,
        };
        let flushing = rest.is_empty();
        let in_args = sys::AACENC_InArgs {
            numInSamples: if flushing { -1 } else { rest.len() as c_int },
            numAncBytes: 0,
        };
        let mut out_args = MaybeUninit::<sys::AACENC_OutArgs>::zeroed();
        let code = unsafe { sys::aacEncEncode(enc.0, &in_desc, &out_desc, &in_args, out_args.as_mut_ptr()) };
        if code == sys::AACENC_ERROR_AACENC_ENCODE_EOF {
            break;
        }
        check(code, "encoding")?;
        let args = unsafe { out_args.assume_init() };
        offset += (args.numInSamples.max(0) as usize).min(rest.len());
        out.extend_from_slice(&frame[..(args.numOutBytes.max(0) as usize).min(frame.len())]);
        if flushing && args.numOutBytes <= 0 {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::speech::{synthesize, SAMPLE_RATE};
    use std::io::Cursor;
    use symphonia::core::codecs::DecoderOptions;
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;

    /// Decode an ADTS stream with symphonia (pure Rust, independent of FDK): (sample rate, samples).
    fn decode(data: Vec<u8>) -> (u32, Vec<f32>) {
        let mss = MediaSourceStream::new(Box::new(Cursor::new(data)), Default::default());
        let mut hint = Hint::new();
        hint.with_extension("aac");
        let probed = symphonia::default::get_probe()
            .format(&hint, mss, &FormatOptions::default(), &MetadataOptions::default())
            .expect("an ADTS stream");
        let mut format = probed.format;
        let track = format.default_track().unwrap().clone();
        let mut decoder =
            symphonia::default::get_codecs().make(&track.codec_params, &DecoderOptions::default()).unwrap();
        let mut out = Vec::new();
        while let Ok(packet) = format.next_packet() {
            let decoded = decoder.decode(&packet).expect("a valid AAC frame");
            let mut buf =
                symphonia::core::audio::SampleBuffer::<f32>::new(decoded.capacity() as u64, *decoded.spec());
            buf.copy_interleaved_ref(decoded);
            out.extend_from_slice(buf.samples());
        }
        (track.codec_params.sample_rate.unwrap(), out)
    }

    #[test]
    fn speech_round_trips_through_an_independent_decoder() {
        let samples = synthesize("The quick brown fox jumps over the lazy dog.", "alloy", 1.0);
        let file = adts(&samples, SAMPLE_RATE).unwrap();
        assert_eq!(&file[..2], &[0xFF, 0xF1], "an ADTS sync word, MPEG-4, no CRC");
        let (rate, decoded) = decode(file);
        assert_eq!(rate, SAMPLE_RATE);
        let seconds = decoded.len() as f64 / f64::from(rate);
        let expected = samples.len() as f64 / f64::from(SAMPLE_RATE);
        // Whole 1024-sample frames, plus the encoder's priming delay.
        assert!(seconds >= expected && seconds < expected + 0.25, "{seconds} s for {expected} s");
        let rms = (decoded.iter().map(|x| x * x).sum::<f32>() / decoded.len() as f32).sqrt();
        assert!(rms > 0.02, "decoded audio is near silence (rms {rms})");
    }

    #[test]
    fn a_short_clip_still_makes_frames() {
        let file = adts(&synthesize("a", "echo", 1.0), SAMPLE_RATE).unwrap();
        assert!(file.len() > 50);
    }
}
