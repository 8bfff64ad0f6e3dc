//! An MP4 (ISO base media file format) muxer for one H.264 video track. There is no audio track.
//!
//! The index (`moov`) comes before the media (`mdat`), as "faststart" files have it, so a player can
//! start before the whole file arrived. The layout:
//!
//! ```text
//! ftyp                      isom, compatible with isom iso2 avc1 mp41
//! moov
//!   mvhd                    movie timescale 1000 (milliseconds)
//!   trak
//!     tkhd                  track 1, the display size in 16.16 fixed point
//!     mdia
//!       mdhd                media timescale fps * 1000, one frame lasting 1000
//!       hdlr                'vide'
//!       minf
//!         vmhd
//!         dinf / dref / url  the media is in this file
//!         stbl
//!           stsd / avc1 / avcC   the SPS and PPS, 4-byte NAL lengths
//!           stts            every frame the same duration
//!           stss            the sync (IDR) samples
//!           stsc            one sample per chunk
//!           stsz            each sample's size
//!           stco or co64    each chunk's file offset (co64 once one exceeds 4 GiB)
//! mdat                      the samples: length-prefixed NAL units
//! ```

/// What the track holds: the display size, the frame rate and the parameter sets (bare NAL units).
pub struct VideoTrack<'a> {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub sps: &'a [u8],
    pub pps: &'a [u8],
}

/// One frame in `mdat`: its size in bytes and whether decoding can start there (an IDR picture).
#[derive(Clone, Copy)]
pub struct Sample {
    pub size: u32,
    pub sync: bool,
}

/// Movie (`mvhd`, `tkhd`) time in milliseconds; one frame lasts `FRAME_TICKS` of the media timescale.
const MOVIE_TIMESCALE: u64 = 1000;
const FRAME_TICKS: u32 = 1000;
/// The identity transformation matrix of `mvhd` and `tkhd` (16.16 and 2.30 fixed point).
const MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

/// A complete MP4 file of `samples`, whose bytes follow each other in `media`. Durations are written
/// in 32 bits and saturate (more than 4.2 million frames, or 49 days at 1 fps).
pub fn mux(track: &VideoTrack<'_>, samples: &[Sample], media: &[u8]) -> Vec<u8> {
    let mut head = Vec::with_capacity(1024 + samples.len() * 12);
    boxed(&mut head, b"ftyp", |b| {
        b.extend_from_slice(b"isom");
        put32(b, 512); // minor_version
        for brand in [b"isom", b"iso2", b"avc1", b"mp41"] {
            b.extend_from_slice(brand);
        }
    });
    // The moov's size depends on the offsets' width only, so it is built once with placeholder
    // offsets to learn where mdat's payload starts, then again with the real ones.
    let large_mdat = media.len() as u64 + 8 > u64::from(u32::MAX);
    let mdat_header = if large_mdat { 16 } else { 8 };
    let mut co64 = false;
    let mut moov = build_moov(track, samples, &vec![0; samples.len()], co64);
    let mut start = (head.len() + moov.len() + mdat_header) as u64;
    if start + media.len() as u64 > u64::from(u32::MAX) {
        co64 = true;
        moov = build_moov(track, samples, &vec![0; samples.len()], co64);
        start = (head.len() + moov.len() + mdat_header) as u64;
    }
    let offsets: Vec<u64> = samples
        .iter()
        .scan(start, |at, s| {
            let here = *at;
            *at += u64::from(s.size);
            Some(here)
        })
        .collect();
    moov = build_moov(track, samples, &offsets, co64);
    let mut out = Vec::with_capacity(head.len() + moov.len() + mdat_header + media.len());
    out.extend_from_slice(&head);
    out.extend_from_slice(&moov);
    if large_mdat {
        put32(&mut out, 1); // the size follows as 64 bits
        out.extend_from_slice(b"mdat");
        out.extend_from_slice(&(media.len() as u64 + 16).to_be_bytes());
    } else {
        put32(&mut out, media.len() as u32 + 8);
        out.extend_from_slice(b"mdat");
    }
    out.extend_from_slice(media);
    out
}

fn build_moov(track: &VideoTrack<'_>, samples: &[Sample], offsets: &[u64], co64: bool) -> Vec<u8> {
    let frames = samples.len() as u64;
    let fps = u64::from(track.fps.max(1));
    let movie_duration = sat32((frames * MOVIE_TIMESCALE).div_ceil(fps));
    let media_duration = sat32(frames * u64::from(FRAME_TICKS));
    let mut out = Vec::with_capacity(1024 + samples.len() * 12);
    boxed(&mut out, b"moov", |b| {
        full(b, b"mvhd", 0, 0, |b| {
            put32(b, 0); // creation_time
            put32(b, 0); // modification_time
            put32(b, MOVIE_TIMESCALE as u32);
            put32(b, movie_duration);
            put32(b, 0x0001_0000); // rate 1.0
            put16(b, 0x0100); // volume 1.0
            b.extend_from_slice(&[0; 10]); // reserved
            MATRIX.iter().for_each(|&m| put32(b, m));
            b.extend_from_slice(&[0; 24]); // pre_defined
            put32(b, 2); // next_track_ID
        });
        boxed(b, b"trak", |b| {
            full(b, b"tkhd", 0, 3, |b| {
                // flags: enabled, in movie
                put32(b, 0); // creation_time
                put32(b, 0); // modification_time
                put32(b, 1); // track_ID
                put32(b, 0); // reserved
                put32(b, movie_duration);
                b.extend_from_slice(&[0; 8]); // reserved
                put16(b, 0); // layer
                put16(b, 0); // alternate_group
                put16(b, 0); // volume: not an audio track
                put16(b, 0); // reserved
                MATRIX.iter().for_each(|&m| put32(b, m));
                put32(b, track.width << 16);
                put32(b, track.height << 16);
            });
            boxed(b, b"mdia", |b| {
                full(b, b"mdhd", 0, 0, |b| {
                    put32(b, 0); // creation_time
                    put32(b, 0); // modification_time
                    put32(b, sat32(fps * u64::from(FRAME_TICKS)));
                    put32(b, media_duration);
                    put16(b, 0x55C4); // language "und", three 5-bit letters
                    put16(b, 0); // pre_defined
                });
                full(b, b"hdlr", 0, 0, |b| {
                    put32(b, 0); // pre_defined
                    b.extend_from_slice(b"vide");
                    b.extend_from_slice(&[0; 12]); // reserved
                    b.extend_from_slice(b"VideoHandler\0");
                });
                boxed(b, b"minf", |b| {
                    full(b, b"vmhd", 0, 1, |b| b.extend_from_slice(&[0; 8])); // graphicsmode, opcolor
                    boxed(b, b"dinf", |b| {
                        full(b, b"dref", 0, 0, |b| {
                            put32(b, 1); // entry_count
                            full(b, b"url ", 0, 1, |_| {}); // flag 1: in this file
                        })
                    });
                    sample_table(b, track, samples, offsets, co64);
                });
            });
        });
    });
    out
}

fn sample_table(b: &mut Vec<u8>, track: &VideoTrack<'_>, samples: &[Sample], offsets: &[u64], co64: bool) {
    boxed(b, b"stbl", |b| {
        full(b, b"stsd", 0, 0, |b| {
            put32(b, 1); // entry_count
            boxed(b, b"avc1", |b| {
                b.extend_from_slice(&[0; 6]); // reserved
                put16(b, 1); // data_reference_index
                b.extend_from_slice(&[0; 16]); // pre_defined, reserved
                put16(b, track.width.min(0xFFFF) as u16);
                put16(b, track.height.min(0xFFFF) as u16);
                put32(b, 0x0048_0000); // 72 dpi
                put32(b, 0x0048_0000);
                put32(b, 0); // reserved
                put16(b, 1); // frame_count
                let mut name = [0u8; 32]; // compressorname: a length, then the name
                name[0] = 6;
                name[1..7].copy_from_slice(b"fakeai");
                b.extend_from_slice(&name);
                put16(b, 0x0018); // depth: colour, no alpha
                put16(b, 0xFFFF); // pre_defined -1
                boxed(b, b"avcC", |b| {
                    let at = |i: usize| track.sps.get(i).copied().unwrap_or(0);
                    // configurationVersion, profile, compatibility, level; 4-byte NAL lengths; 1 SPS.
                    b.extend_from_slice(&[1, at(1), at(2), at(3), 0xFF, 0xE1]);
                    put16(b, track.sps.len() as u16);
                    b.extend_from_slice(track.sps);
                    b.push(1);
                    put16(b, track.pps.len() as u16);
                    b.extend_from_slice(track.pps);
                });
            });
        });
        full(b, b"stts", 0, 0, |b| {
            put32(b, 1); // entry_count
            put32(b, samples.len() as u32);
            put32(b, FRAME_TICKS);
        });
        let sync: Vec<u32> = (1..).zip(samples).filter(|(_, s)| s.sync).map(|(i, _)| i).collect();
        full(b, b"stss", 0, 0, |b| {
            put32(b, sync.len() as u32);
            sync.iter().for_each(|&i| put32(b, i));
        });
        full(b, b"stsc", 0, 0, |b| {
            put32(b, 1); // entry_count
            put32(b, 1); // first_chunk
            put32(b, 1); // samples_per_chunk
            put32(b, 1); // sample_description_index
        });
        full(b, b"stsz", 0, 0, |b| {
            put32(b, 0); // sample_size: each given
            put32(b, samples.len() as u32);
            samples.iter().for_each(|s| put32(b, s.size));
        });
        if co64 {
            full(b, b"co64", 0, 0, |b| {
                put32(b, offsets.len() as u32);
                offsets.iter().for_each(|&o| b.extend_from_slice(&o.to_be_bytes()));
            });
        } else {
            full(b, b"stco", 0, 0, |b| {
                put32(b, offsets.len() as u32);
                offsets.iter().for_each(|&o| put32(b, o as u32));
            });
        }
    });
}

/// A box: its 32-bit size, its type, and what `body` writes.
fn boxed(out: &mut Vec<u8>, kind: &[u8; 4], body: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(kind);
    body(out);
    let size = (out.len() - at) as u32;
    out[at..at + 4].copy_from_slice(&size.to_be_bytes());
}

/// A full box: a box whose body starts with a version byte and 24 bits of flags.
fn full(out: &mut Vec<u8>, kind: &[u8; 4], version: u8, flags: u32, body: impl FnOnce(&mut Vec<u8>)) {
    boxed(out, kind, |b| {
        put32(b, u32::from(version) << 24 | (flags & 0xFF_FFFF));
        body(b);
    });
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn sat32(v: u64) -> u32 {
    v.min(u64::from(u32::MAX)) as u32
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A box found in a file: its type, where its body starts and ends, and its children.
    #[derive(Debug)]
    pub(crate) struct Atom {
        pub(crate) kind: [u8; 4],
        pub(crate) body: std::ops::Range<usize>,
        pub(crate) children: Vec<Atom>,
    }

    impl Atom {
        /// The box at `path` (types separated by '/') below this one.
        pub(crate) fn find(&self, path: &str) -> &Atom {
            path.split('/').fold(self, |atom, kind| {
                atom.children
                    .iter()
                    .find(|c| c.kind == kind.as_bytes())
                    .unwrap_or_else(|| panic!("no {kind} in {:?}", std::str::from_utf8(&atom.kind)))
            })
        }
    }

    /// How many bytes of a box's body come before its child boxes, for the boxes that have any.
    fn children_at(kind: &[u8; 4]) -> Option<usize> {
        match kind {
            b"moov" | b"trak" | b"mdia" | b"minf" | b"dinf" | b"stbl" => Some(0),
            b"stsd" | b"dref" => Some(8), // version, flags, entry_count
            b"avc1" => Some(78),          // the visual sample entry's fields
            _ => None,
        }
    }

    /// Parses the boxes of `data[range]`, checking that their sizes tile it exactly.
    pub(crate) fn parse(data: &[u8], range: std::ops::Range<usize>) -> Vec<Atom> {
        let be32 = |i: usize| u32::from_be_bytes(data[i..i + 4].try_into().unwrap()) as usize;
        let mut atoms = Vec::new();
        let mut at = range.start;
        while at < range.end {
            let (mut size, kind) = (be32(at), data[at + 4..at + 8].try_into().unwrap());
            let mut header = 8;
            if size == 1 {
                size = u64::from_be_bytes(data[at + 8..at + 16].try_into().unwrap()) as usize;
                header = 16;
            }
            assert!(size >= header && at + size <= range.end, "{:?} overflows its parent", kind);
            let body = at + header..at + size;
            let children =
                children_at(&kind).map_or(Vec::new(), |skip| parse(data, body.start + skip..body.end));
            atoms.push(Atom { kind, body, children });
            at += size;
        }
        assert_eq!(at, range.end, "boxes add up to their parent");
        atoms
    }

    pub(crate) fn root(file: &[u8]) -> Atom {
        Atom { kind: *b"root", body: 0..file.len(), children: parse(file, 0..file.len()) }
    }

    /// The 32-bit big-endian words of a full box's body after its version and flags.
    pub(crate) fn words(file: &[u8], atom: &Atom) -> Vec<u32> {
        file[atom.body.start + 4..atom.body.end]
            .chunks(4)
            .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
            .collect()
    }

    fn file(sizes: &[u32]) -> (Vec<u8>, Vec<u8>) {
        let media: Vec<u8> = sizes.iter().enumerate().flat_map(|(i, &n)| vec![i as u8; n as usize]).collect();
        let samples: Vec<Sample> =
            sizes.iter().enumerate().map(|(i, &size)| Sample { size, sync: i % 4 == 0 }).collect();
        let track =
            VideoTrack { width: 854, height: 480, fps: 24, sps: &[0x67, 66, 0xC0, 30, 1], pps: &[0x68, 2] };
        (mux(&track, &samples, &media), media)
    }

    #[test]
    fn box_tree_nests_and_indexes_the_samples() {
        let sizes = [700, 3, 0, 90, 12, 5];
        let (mp4, media) = file(&sizes);
        let root = root(&mp4);
        let kinds: Vec<&[u8; 4]> = root.children.iter().map(|a| &a.kind).collect();
        assert_eq!(kinds, [b"ftyp", b"moov", b"mdat"], "faststart: moov before mdat");
        assert_eq!(&mp4[root.find("ftyp").body.clone()], b"isom\0\0\x02\0isomiso2avc1mp41");
        let stbl = root.find("moov/trak/mdia/minf/stbl");
        assert_eq!(words(&mp4, stbl.find("stsz"))[..2], [0, sizes.len() as u32]);
        assert_eq!(words(&mp4, stbl.find("stsz"))[2..], sizes);
        assert_eq!(words(&mp4, stbl.find("stss")), [2, 1, 5]);
        assert_eq!(words(&mp4, stbl.find("stts")), [1, 6, FRAME_TICKS]);
        assert_eq!(words(&mp4, stbl.find("stsc")), [1, 1, 1, 1]);
        let offsets = &words(&mp4, stbl.find("stco"))[1..];
        let mdat = root.find("mdat").body.clone();
        assert_eq!(&mp4[mdat.clone()], media);
        let mut at = mdat.start;
        for (i, (&o, &n)) in offsets.iter().zip(&sizes).enumerate() {
            assert_eq!(o as usize, at);
            assert!(mp4[at..at + n as usize].iter().all(|&b| b == i as u8));
            at += n as usize;
        }
        let avcc = stbl.find("stsd/avc1/avcC");
        assert_eq!(
            &mp4[avcc.body.clone()],
            b"\x01\x42\xC0\x1E\xFF\xE1\x00\x05\x67\x42\xC0\x1E\x01\x01\x00\x02\x68\x02"
        );
        let tkhd = words(&mp4, root.find("moov/trak/tkhd"));
        assert_eq!(tkhd[tkhd.len() - 2..], [854 << 16, 480 << 16]);
        assert_eq!(words(&mp4, root.find("moov/mvhd"))[2..4], [1000, 250], "6 frames at 24 fps: 250 ms");
        assert_eq!(words(&mp4, root.find("moov/trak/mdia/mdhd"))[2..4], [24_000, 6_000]);
        assert_eq!(&mp4[root.find("moov/trak/mdia/hdlr").body.start + 8..][..4], b"vide");
        root.find("moov/trak/mdia/minf/vmhd");
        root.find("moov/trak/mdia/minf/dinf/dref/url ");
    }

    #[test]
    fn no_samples_is_still_a_well_formed_file() {
        let (mp4, _) = file(&[]);
        let root = root(&mp4);
        assert_eq!(words(&mp4, root.find("moov/trak/mdia/minf/stbl/stco")), [0]);
        assert!(root.find("mdat").body.is_empty());
    }
}
