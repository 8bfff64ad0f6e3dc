//! A minimal H.264 (AVC) encoder: Constrained Baseline bitstreams with no compression work at all.
//!
//! A picture is a grid of 16x16 macroblocks, and this encoder knows three kinds ([`Block`]):
//!
//! 1. **I_PCM**: the macroblock's raw samples (256 luma, 64 Cb, 64 Cr bytes, 4:2:0), decoded exactly.
//!    The first picture (an IDR) is made of nothing else.
//! 2. **P_Skip**: "same as the previous picture", a few bits per run of such macroblocks.
//! 3. **P_L0_16x16** with a whole-sample motion vector the caller knows and no residual: "the previous
//!    picture's block, moved", a few bits each.
//!
//! A later picture (P) mixes the three, so it costs 384 bytes per macroblock the caller sends anew
//! and almost nothing for the rest. Nothing is searched or transformed: the caller says what each
//! macroblock is. Decoding is exact, so a P picture reproduces the caller's frame bit for bit:
//! I_PCM is lossless, whole-sample motion copies samples, and the deblocking filter is switched off
//! in every slice (see [`Encoder::p`] for the motion a skipped macroblock gets).
//!
//! Each picture is one slice in one NAL unit, written length-prefixed (4 bytes, big-endian) as MP4's
//! `avcC` samples want; the SPS and PPS are returned bare, for the `avcC` box.

/// `log2(MaxFrameNum)`: `frame_num` counts reference pictures modulo 256.
const LOG2_MAX_FRAME_NUM: u32 = 8;
/// `mb_type` of I_PCM in an I slice; in a P slice the intra types follow the 5 inter ones.
const I_PCM: u32 = 25;
const P_INTRA_OFFSET: u32 = 5;
/// `mb_type` of a P macroblock predicted as one 16x16 partition.
const P_L0_16X16: u32 = 0;
/// The largest picture side this encoder writes (a 4096x4096 I_PCM picture is 24 MiB).
pub const MAX_SIDE: u32 = 4096;

/// An RBSP being written, most significant bit first.
#[derive(Default)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// The `nbits` (< 8) bits not yet in `bytes`, in the low bits.
    acc: u64,
    nbits: u32,
}

impl BitWriter {
    pub fn with_capacity(capacity: usize) -> Self {
        Self { bytes: Vec::with_capacity(capacity), acc: 0, nbits: 0 }
    }

    /// `u(n)`: the low `n` (at most 56) bits of `value`.
    pub fn bits(&mut self, n: u32, value: u64) {
        let n = n.min(56);
        if n == 0 {
            return;
        }
        self.acc = (self.acc << n) | (value & ((1u64 << n) - 1));
        self.nbits += n;
        while self.nbits >= 8 {
            self.nbits -= 8;
            self.bytes.push((self.acc >> self.nbits) as u8);
        }
        self.acc &= (1 << self.nbits) - 1;
    }

    pub fn flag(&mut self, bit: bool) {
        self.bits(1, u64::from(bit));
    }

    /// `ue(v)`: unsigned exp-Golomb (`v + 1` in binary after as many zeros as it has bits, less one).
    pub fn ue(&mut self, v: u32) {
        self.exp_golomb(u64::from(v));
    }

    /// `se(v)`: signed exp-Golomb (code number `2v - 1` for positive `v`, `-2v` otherwise).
    pub fn se(&mut self, v: i32) {
        let v = i64::from(v);
        self.exp_golomb(if v > 0 { 2 * v - 1 } else { -2 * v } as u64);
    }

    /// Code number `code` (at most 2^32, so `code + 1` has at most 33 bits).
    fn exp_golomb(&mut self, code: u64) {
        let x = code + 1;
        let len = 64 - x.leading_zeros();
        self.bits(len - 1, 0);
        self.bits(len, x);
    }

    pub fn is_aligned(&self) -> bool {
        self.nbits == 0
    }

    /// Zero bits up to the next byte boundary (`pcm_alignment_zero_bit`, `alignment_zero_bit`).
    pub fn align_zero(&mut self) {
        if self.nbits > 0 {
            self.bits(8 - self.nbits, 0);
        }
    }

    /// `rbsp_trailing_bits()`: a one bit, then zeros up to the byte boundary.
    pub fn trailing(&mut self) {
        self.flag(true);
        self.align_zero();
    }

    /// Whole bytes, after aligning with zero bits.
    pub fn bytes(&mut self, data: &[u8]) {
        self.align_zero();
        self.bytes.extend_from_slice(data);
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.acc = 0;
        self.nbits = 0;
    }

    /// The whole bytes written so far (pending bits are not included until aligned).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Appends `rbsp` to `out` with emulation prevention: a `0x03` after every two zero bytes that are
/// followed by a byte of 3 or less, so the payload never contains a start code (`00 00 01`).
pub fn escape_into(out: &mut Vec<u8>, rbsp: &[u8]) {
    out.reserve(rbsp.len() + rbsp.len() / 256);
    let (mut copied, mut from) = (0, 0);
    while let Some(i) = memchr::memchr(0, &rbsp[from..]).map(|i| from + i) {
        match rbsp.get(i + 1..i + 3) {
            Some(&[0, next]) if next <= 3 => {
                out.extend_from_slice(&rbsp[copied..i + 2]);
                out.push(3);
                copied = i + 2;
                from = i + 2;
            }
            _ => from = i + 1,
        }
    }
    out.extend_from_slice(&rbsp[copied..]);
}

/// A NAL unit: its header byte, then `rbsp` escaped.
pub fn nal_unit(ref_idc: u8, kind: u8, rbsp: &[u8]) -> Vec<u8> {
    let mut out = vec![nal_header(ref_idc, kind)];
    escape_into(&mut out, rbsp);
    out
}

/// Appends a NAL unit to `out` behind its 4-byte big-endian length.
pub fn write_length_prefixed(out: &mut Vec<u8>, ref_idc: u8, kind: u8, rbsp: &[u8]) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    out.push(nal_header(ref_idc, kind));
    escape_into(out, rbsp);
    // A picture is at most MAX_SIDE^2 * 1.5 bytes plus headers: always below 4 GiB.
    let len = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

fn nal_header(ref_idc: u8, kind: u8) -> u8 {
    (ref_idc & 3) << 5 | (kind & 31)
}

/// NAL unit types.
const NAL_SLICE: u8 = 1;
const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

/// Table A-1 for the levels Baseline may use (level 1b left out): `level_idc`, MaxMBPS (macroblocks
/// per second) and MaxFS (macroblocks per frame).
const LEVELS: [(u8, u64, u64); 19] = [
    (10, 1_485, 99),
    (11, 3_000, 396),
    (12, 6_000, 396),
    (13, 11_880, 396),
    (20, 11_880, 396),
    (21, 19_800, 792),
    (22, 20_250, 1_620),
    (30, 40_500, 1_620),
    (31, 108_000, 3_600),
    (32, 216_000, 5_120),
    (40, 245_760, 8_192),
    (41, 245_760, 8_192),
    (42, 522_240, 8_704),
    (50, 589_824, 22_080),
    (51, 983_040, 36_864),
    (52, 2_073_600, 36_864),
    (60, 4_177_920, 139_264),
    (61, 8_355_840, 139_264),
    (62, 16_711_680, 139_264),
];

/// The lowest level whose frame size, macroblock rate and frame sides (each at most
/// `sqrt(8 * MaxFS)` macroblocks, A.3.1) admit the picture; 6.2 when none does. The bit rate is
/// not considered: I_PCM pictures exceed every level's, and decoders do not enforce it.
pub fn level_idc(mbs_wide: u32, mbs_high: u32, fps: u32) -> u8 {
    let (w, h) = (u64::from(mbs_wide), u64::from(mbs_high));
    let frame = w * h;
    LEVELS
        .iter()
        .find(|&&(_, mbps, fs)| frame <= fs && frame * u64::from(fps) <= mbps && w.max(h).pow(2) <= 8 * fs)
        .map_or(62, |l| l.0)
}

/// The samples of one macroblock, rows top to bottom.
pub struct Macroblock {
    pub luma: [u8; 256],
    pub cb: [u8; 64],
    pub cr: [u8; 64],
}

/// `pcm_alignment_zero_bit`s and the samples of `mb`, each clamped to `1..=255` (the first edition
/// of the standard forbids 0 in PCM samples).
fn pcm(w: &mut BitWriter, mb: &mut Macroblock) {
    w.align_zero();
    for v in mb.luma.iter_mut().chain(mb.cb.iter_mut()).chain(mb.cr.iter_mut()) {
        *v = (*v).max(1);
    }
    w.bytes(&mb.luma);
    w.bytes(&mb.cb);
    w.bytes(&mb.cr);
}

/// Writes the pictures of one stream: an IDR first, then P pictures.
pub struct Encoder {
    width: u32,
    height: u32,
    mbs_wide: u32,
    mbs_high: u32,
    fps: u32,
    frame_num: u32,
    rbsp: BitWriter,
    mb: Macroblock,
    /// The motion of each macroblock of the picture being written (`None`: intra).
    motion: Vec<Option<Mv>>,
}

impl Encoder {
    /// A stream of `width` x `height` pictures at `fps`. The sides are clamped to `2..=MAX_SIDE`
    /// and rounded down to even (4:2:0 crops in steps of two), `fps` to at least 1.
    pub fn new(width: u32, height: u32, fps: u32) -> Self {
        let (width, height) = (width.clamp(2, MAX_SIDE) & !1, height.clamp(2, MAX_SIDE) & !1);
        let (mbs_wide, mbs_high) = (width.div_ceil(16), height.div_ceil(16));
        Self {
            width,
            height,
            mbs_wide,
            mbs_high,
            fps: fps.max(1),
            frame_num: 0,
            rbsp: BitWriter::with_capacity(mbs_wide as usize * mbs_high as usize * 390 + 64),
            mb: Macroblock { luma: [0; 256], cb: [0; 64], cr: [0; 64] },
            motion: Vec::new(),
        }
    }

    /// The picture size in macroblocks, `(wide, high)`.
    pub fn size_in_mbs(&self) -> (u32, u32) {
        (self.mbs_wide, self.mbs_high)
    }

    /// The sequence parameter set NAL unit (7.3.2.1.1).
    pub fn sps(&self) -> Vec<u8> {
        let mut w = BitWriter::default();
        w.bits(8, 66); // profile_idc: Baseline
        w.bits(8, 0b1100_0000); // constraint_set0 and 1: Constrained Baseline; reserved_zero
        w.bits(8, u64::from(level_idc(self.mbs_wide, self.mbs_high, self.fps)));
        w.ue(0); // seq_parameter_set_id
        w.ue(LOG2_MAX_FRAME_NUM - 4);
        w.ue(2); // pic_order_cnt_type 2: output order is decoding order
        w.ue(1); // max_num_ref_frames
        w.flag(false); // gaps_in_frame_num_value_allowed_flag
        w.ue(self.mbs_wide - 1);
        w.ue(self.mbs_high - 1); // pic_height_in_map_units_minus1
        w.flag(true); // frame_mbs_only_flag
        w.flag(true); // direct_8x8_inference_flag
                      // Cropping counts in units of two samples in 4:2:0 frames (CropUnitX = CropUnitY = 2).
        let (right, bottom) = ((self.mbs_wide * 16 - self.width) / 2, (self.mbs_high * 16 - self.height) / 2);
        w.flag(right > 0 || bottom > 0);
        if right > 0 || bottom > 0 {
            w.ue(0);
            w.ue(right);
            w.ue(0);
            w.ue(bottom);
        }
        w.flag(true); // vui_parameters_present_flag
        self.vui(&mut w);
        w.trailing();
        nal_unit(3, NAL_SPS, w.as_bytes())
    }

    /// VUI (E.1.1): square pixels, BT.601 limited range, the frame rate, and no reordering.
    fn vui(&self, w: &mut BitWriter) {
        w.flag(true); // aspect_ratio_info_present_flag
        w.bits(8, 1); // aspect_ratio_idc 1: 1:1
        w.flag(false); // overscan_info_present_flag
        w.flag(true); // video_signal_type_present_flag
        w.bits(3, 5); // video_format: unspecified
        w.flag(false); // video_full_range_flag: Y in 16..=235
        w.flag(true); // colour_description_present_flag
        for smpte_170m in [6, 6, 6] {
            w.bits(8, smpte_170m); // colour_primaries, transfer_characteristics, matrix_coefficients
        }
        w.flag(false); // chroma_loc_info_present_flag
        w.flag(true); // timing_info_present_flag: a frame lasts two ticks
        w.bits(32, 1); // num_units_in_tick
        w.bits(32, 2 * u64::from(self.fps)); // time_scale
        w.flag(true); // fixed_frame_rate_flag
        w.flag(false); // nal_hrd_parameters_present_flag
        w.flag(false); // vcl_hrd_parameters_present_flag
        w.flag(false); // pic_struct_present_flag
        w.flag(true); // bitstream_restriction_flag
        w.flag(true); // motion_vectors_over_pic_boundaries_flag
        w.ue(0); // max_bytes_per_pic_denom: no limit
        w.ue(0); // max_bits_per_mb_denom: no limit
        w.ue(16); // log2_max_mv_length_horizontal
        w.ue(16); // log2_max_mv_length_vertical
        w.ue(0); // max_num_reorder_frames: each picture is shown as soon as it is decoded
        w.ue(1); // max_dec_frame_buffering
    }

    /// The picture parameter set NAL unit (7.3.2.2): CAVLC, one reference, one slice group, and
    /// slices allowed to switch the deblocking filter off.
    pub fn pps(&self) -> Vec<u8> {
        let mut w = BitWriter::default();
        w.ue(0); // pic_parameter_set_id
        w.ue(0); // seq_parameter_set_id
        w.flag(false); // entropy_coding_mode_flag: CAVLC
        w.flag(false); // bottom_field_pic_order_in_frame_present_flag
        w.ue(0); // num_slice_groups_minus1
        w.ue(0); // num_ref_idx_l0_default_active_minus1
        w.ue(0); // num_ref_idx_l1_default_active_minus1
        w.flag(false); // weighted_pred_flag
        w.bits(2, 0); // weighted_bipred_idc
        w.se(0); // pic_init_qp_minus26
        w.se(0); // pic_init_qs_minus26
        w.se(0); // chroma_qp_index_offset
        w.flag(true); // deblocking_filter_control_present_flag
        w.flag(false); // constrained_intra_pred_flag
        w.flag(false); // redundant_pic_cnt_present_flag
        w.trailing();
        nal_unit(3, NAL_PPS, w.as_bytes())
    }

    /// The slice header (7.3.3) of a whole-picture slice.
    fn slice_header(&mut self, idr: bool) {
        let w = &mut self.rbsp;
        w.ue(0); // first_mb_in_slice
        w.ue(if idr { 7 } else { 5 }); // slice_type: I or P, and every slice of the picture alike
        w.ue(0); // pic_parameter_set_id
        w.bits(LOG2_MAX_FRAME_NUM, u64::from(self.frame_num));
        if idr {
            w.ue(0); // idr_pic_id
        } else {
            w.flag(false); // num_ref_idx_active_override_flag
            w.flag(false); // ref_pic_list_modification_flag_l0
        }
        // dec_ref_pic_marking(): every picture is a reference, kept by the sliding window.
        if idr {
            w.flag(false); // no_output_of_prior_pics_flag
            w.flag(false); // long_term_reference_flag
        } else {
            w.flag(false); // adaptive_ref_pic_marking_mode_flag
        }
        w.se(0); // slice_qp_delta
        w.ue(1); // disable_deblocking_filter_idc 1: off, so decoding is exact
    }

    /// Appends an IDR picture to `out` (length-prefixed), every macroblock I_PCM with the samples
    /// `fill(mb_x, mb_y, mb)` leaves in `mb`, called in raster order.
    pub fn idr(&mut self, out: &mut Vec<u8>, mut fill: impl FnMut(u32, u32, &mut Macroblock)) {
        self.frame_num = 0;
        self.rbsp.clear();
        self.slice_header(true);
        for y in 0..self.mbs_high {
            for x in 0..self.mbs_wide {
                self.rbsp.ue(I_PCM);
                fill(x, y, &mut self.mb);
                pcm(&mut self.rbsp, &mut self.mb);
            }
        }
        self.rbsp.trailing();
        write_length_prefixed(out, 3, NAL_IDR, self.rbsp.as_bytes());
    }

    /// Appends a P picture to `out` (length-prefixed). `blocks` lists, by ascending raster address,
    /// the macroblocks that are not [`Block::Same`] (entries out of order or out of range are
    /// ignored); `fill(mb_x, mb_y, mb)` gives the samples of each [`Block::New`] one.
    ///
    /// A skipped macroblock (P_Skip) is not simply a copy: it copies the reference at the motion
    /// vector the decoder infers from its neighbours (8.4.1.1), which is (0, 0) when neighbour A or
    /// B is unavailable, or either is an inter block with reference 0 and motion (0, 0), and
    /// otherwise the median prediction of A, B and C (8.4.1.3), where intra or unavailable
    /// neighbours count as (0, 0) with no reference. With only skips and I_PCM that is always
    /// (0, 0) (by induction in decoding order: every vector is zero); next to a [`Block::Moved`]
    /// neighbour it may not be, so each [`Block::Same`] macroblock is skipped only when the inferred
    /// vector is (0, 0), and is otherwise written as P_L0_16x16 with motion (0, 0). Likewise a moved
    /// block whose vector is the inferred one is skipped.
    pub fn p(
        &mut self,
        out: &mut Vec<u8>,
        blocks: &[(u32, Block)],
        mut fill: impl FnMut(u32, u32, &mut Macroblock),
    ) {
        self.frame_num = (self.frame_num + 1) % (1 << LOG2_MAX_FRAME_NUM);
        self.rbsp.clear();
        self.slice_header(false);
        let (wide, total) = (self.mbs_wide, self.mbs_wide * self.mbs_high);
        self.motion.clear();
        self.motion.resize(total as usize, None);
        let mut listed = blocks.iter().peekable();
        let mut run = 0; // mb_skip_run: skipped macroblocks not yet written
        for addr in 0..total {
            let mut block = Block::Same;
            while let Some(&&(at, b)) = listed.peek() {
                if at > addr {
                    break;
                }
                listed.next();
                if at == addr {
                    block = b;
                    break;
                }
            }
            let mv = match block {
                Block::New => None,
                Block::Same => Some((0, 0)),
                // Quarter samples: the block moved by (dx, dy) comes from (-dx, -dy) in the reference.
                Block::Moved(dx, dy) => {
                    Some((-4 * dx.clamp(-MAX_MOVE.0, MAX_MOVE.0), -4 * dy.clamp(-MAX_MOVE.1, MAX_MOVE.1)))
                }
            };
            let w = &mut self.rbsp;
            match mv {
                None => {
                    w.ue(run);
                    run = 0;
                    w.ue(P_INTRA_OFFSET + I_PCM);
                    fill(addr % wide, addr / wide, &mut self.mb);
                    pcm(w, &mut self.mb);
                }
                Some(mv) if mv == skip_motion(&self.motion, wide, addr) => run += 1,
                Some(mv) => {
                    let p = predict_motion(&self.motion, wide, addr);
                    w.ue(run);
                    run = 0;
                    w.ue(P_L0_16X16);
                    w.se(mv.0 - p.0); // mvd_l0 (ref_idx_l0 is implied: one reference)
                    w.se(mv.1 - p.1);
                    w.ue(0); // coded_block_pattern 0 (inter code number 0): no residual
                }
            }
            self.motion[addr as usize] = mv;
        }
        if run > 0 {
            self.rbsp.ue(run);
        }
        self.rbsp.trailing();
        write_length_prefixed(out, 2, NAL_SLICE, self.rbsp.as_bytes());
    }
}

/// How a P picture codes one macroblock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// As in the previous picture (P_Skip, or P_L0_16x16 with motion (0, 0)).
    Same,
    /// New samples (I_PCM).
    New,
    /// The previous picture's samples moved by `(dx, dy)` whole samples: each sample is the one at
    /// `(x - dx, y - dy)` in the previous picture (P_L0_16x16, no residual). Exact only when that
    /// block lies inside the picture; the move is clamped to [`MAX_MOVE`].
    Moved(i32, i32),
}

/// The longest move `(sideways, up or down)` a [`Block::Moved`] may make, in samples: the motion
/// vector range every level allows (Table A-1: [-2048, 2047.75] and at least [-64, 63.75]).
pub const MAX_MOVE: (i32, i32) = (2047, 63);

/// A motion vector in quarter samples.
type Mv = (i32, i32);

/// The motion of the macroblock `(dx, dy)` macroblocks away from `addr`: `None` when it is not
/// available (outside the picture; all earlier ones are in the same slice), `Some(None)` when it is
/// intra, `Some(Some(mv))` when it is inter with reference 0 (the only one).
fn neighbour(motion: &[Option<Mv>], wide: u32, addr: u32, dx: i64, dy: i64) -> Option<Option<Mv>> {
    let (x, y) = (i64::from(addr % wide) + dx, i64::from(addr / wide) + dy);
    if x < 0 || y < 0 || x >= i64::from(wide) {
        return None;
    }
    motion.get((y * i64::from(wide) + x) as usize).copied()
}

/// The motion vector a P_Skip macroblock at `addr` gets (8.4.1.1).
fn skip_motion(motion: &[Option<Mv>], wide: u32, addr: u32) -> Mv {
    match (neighbour(motion, wide, addr, -1, 0), neighbour(motion, wide, addr, 0, -1)) {
        (None, _) | (_, None) | (Some(Some((0, 0))), _) | (_, Some(Some((0, 0)))) => (0, 0),
        _ => predict_motion(motion, wide, addr),
    }
}

/// The predicted motion vector of a 16x16 partition at `addr` with reference 0 (8.4.1.3).
fn predict_motion(motion: &[Option<Mv>], wide: u32, addr: u32) -> Mv {
    let a = neighbour(motion, wide, addr, -1, 0);
    let b = neighbour(motion, wide, addr, 0, -1);
    let c = neighbour(motion, wide, addr, 1, -1).or_else(|| neighbour(motion, wide, addr, -1, -1));
    let (b, c) = if b.is_none() && c.is_none() && a.is_some() { (a, a) } else { (b, c) };
    match [a, b, c].map(Option::flatten) {
        [Some(m), None, None] | [None, Some(m), None] | [None, None, Some(m)] => m,
        abc => {
            let [a, b, c] = abc.map(|m| m.unwrap_or((0, 0)));
            (median(a.0, b.0, c.0), median(a.1, b.1, c.1))
        }
    }
}

fn median(a: i32, b: i32, c: i32) -> i32 {
    a.max(b).min(a.min(b).max(c))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Reads back what [`BitWriter`] writes.
    pub(crate) struct BitReader<'a> {
        data: &'a [u8],
        pos: usize,
    }

    impl<'a> BitReader<'a> {
        pub(crate) fn new(data: &'a [u8]) -> Self {
            Self { data, pos: 0 }
        }
        pub(crate) fn bit(&mut self) -> u64 {
            let b = (self.data[self.pos / 8] >> (7 - self.pos % 8)) & 1;
            self.pos += 1;
            u64::from(b)
        }
        pub(crate) fn u(&mut self, n: u32) -> u64 {
            (0..n).fold(0, |v, _| v << 1 | self.bit())
        }
        fn code(&mut self) -> u64 {
            let mut zeros = 0;
            while self.bit() == 0 {
                zeros += 1;
            }
            (1u64 << zeros) - 1 + self.u(zeros)
        }
        pub(crate) fn ue(&mut self) -> u32 {
            self.code() as u32
        }
        pub(crate) fn se(&mut self) -> i32 {
            let k = self.code() as i64;
            (if k % 2 == 1 { (k + 1) / 2 } else { -k / 2 }) as i32
        }
        pub(crate) fn align(&mut self) {
            self.pos = self.pos.div_ceil(8) * 8;
        }
        pub(crate) fn bytes(&mut self, n: usize) -> &'a [u8] {
            let at = self.pos / 8;
            self.pos += n * 8;
            &self.data[at..at + n]
        }
        /// Whether the rest is exactly `rbsp_trailing_bits()`.
        pub(crate) fn at_trailing_bits(&self) -> bool {
            let mut r = BitReader { data: self.data, pos: self.pos };
            r.pos < self.data.len() * 8 && r.bit() == 1 && {
                while !r.pos.is_multiple_of(8) {
                    if r.bit() != 0 {
                        return false;
                    }
                }
                r.pos == self.data.len() * 8
            }
        }
    }

    /// The RBSP of a NAL unit's payload (emulation prevention bytes removed).
    pub(crate) fn unescape(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len());
        let mut zeros = 0;
        for &b in payload {
            if zeros >= 2 && b == 3 {
                zeros = 0;
                continue;
            }
            out.push(b);
            zeros = if b == 0 { zeros + 1 } else { 0 };
        }
        out
    }

    /// Emulation prevention the obvious way, byte by byte.
    fn escape_slowly(rbsp: &[u8]) -> Vec<u8> {
        let (mut out, mut zeros) = (Vec::new(), 0);
        for &b in rbsp {
            if zeros >= 2 && b <= 3 {
                out.push(3);
                zeros = 0;
            }
            out.push(b);
            zeros = if b == 0 { zeros + 1 } else { 0 };
        }
        out
    }

    #[test]
    fn exp_golomb_codes() {
        // Table 9-2: the bit strings of code numbers 0..=8.
        let cases =
            [(0, "1"), (1, "010"), (2, "011"), (3, "00100"), (4, "00101"), (7, "0001000"), (8, "0001001")];
        for (v, bits) in cases {
            let mut w = BitWriter::default();
            w.ue(v);
            let n = bits.len() as u32;
            w.bits(8 - n % 8, 0);
            let want = u64::from_str_radix(bits, 2).unwrap() << (8 - n % 8);
            let got = w.as_bytes().iter().fold(0u64, |a, &b| a << 8 | u64::from(b));
            assert_eq!(got, want, "ue({v})");
        }
        let mut w = BitWriter::default();
        let ues = [0, 1, 2, 25, 30, 255, 3599, u32::MAX - 1, u32::MAX];
        let ses = [0, 1, -1, 2, -2, 26, -26, i32::MAX, i32::MIN];
        for (&u, &s) in ues.iter().zip(&ses) {
            w.ue(u);
            w.se(s);
        }
        w.trailing();
        let mut r = BitReader::new(w.as_bytes());
        for (&u, &s) in ues.iter().zip(&ses) {
            assert_eq!((r.ue(), r.se()), (u, s));
        }
        assert!(r.at_trailing_bits());
        // se(v) code numbers: 1 -> 1, -1 -> 2, 2 -> 3.
        let mut w = BitWriter::default();
        w.se(-1);
        w.trailing();
        assert_eq!(w.as_bytes(), [0b0111_0000]);
    }

    #[test]
    fn emulation_prevention() {
        let cases: [(&[u8], &[u8]); 6] = [
            (&[0, 0, 1], &[0, 0, 3, 1]),
            (&[0, 0, 0, 0], &[0, 0, 3, 0, 0]),
            (&[0, 0, 4, 0, 0], &[0, 0, 4, 0, 0]),
            (&[7, 0, 0, 3, 0, 0, 2], &[7, 0, 0, 3, 3, 0, 0, 3, 2]),
            (&[0, 0], &[0, 0]),
            (&[0, 1, 0, 0, 0, 2], &[0, 1, 0, 0, 3, 0, 2]),
        ];
        for (rbsp, want) in cases {
            let mut out = Vec::new();
            escape_into(&mut out, rbsp);
            assert_eq!(out, want, "{rbsp:?}");
            assert_eq!(unescape(&out), rbsp);
        }
        let mut rng = crate::rng::Rng::new(5);
        for _ in 0..200 {
            let rbsp: Vec<u8> =
                (0..rng.below(64)).map(|_| [0, 0, 1, 2, 3, 4, 255][rng.below(7) as usize]).collect();
            let mut out = Vec::new();
            escape_into(&mut out, &rbsp);
            assert_eq!(out, escape_slowly(&rbsp));
            assert!(!out.windows(3).any(|w| w[0] == 0 && w[1] == 0 && w[2] <= 2), "{out:?}");
            assert_eq!(unescape(&out), rbsp);
        }
    }

    /// The fields of an SPS this encoder writes.
    #[derive(Debug, PartialEq)]
    pub(crate) struct Sps {
        pub(crate) profile: u64,
        pub(crate) constraints: u64,
        pub(crate) level: u64,
        pub(crate) coded: (u32, u32),
        pub(crate) size: (u32, u32),
        pub(crate) fps: (u64, u64),
    }

    pub(crate) fn parse_sps(nal: &[u8]) -> Sps {
        assert_eq!(nal[0], 0x67);
        let rbsp = unescape(&nal[1..]);
        let mut r = BitReader::new(&rbsp);
        let (profile, constraints, level) = (r.u(8), r.u(8), r.u(8));
        assert_eq!(r.ue(), 0);
        assert_eq!(r.ue(), LOG2_MAX_FRAME_NUM - 4);
        assert_eq!(r.ue(), 2);
        assert_eq!(r.ue(), 1);
        assert_eq!(r.bit(), 0);
        let coded = ((r.ue() + 1) * 16, (r.ue() + 1) * 16);
        assert_eq!((r.bit(), r.bit()), (1, 1));
        let mut size = coded;
        if r.bit() == 1 {
            let (left, right, top, bottom) = (r.ue(), r.ue(), r.ue(), r.ue());
            size = (coded.0 - 2 * (left + right), coded.1 - 2 * (top + bottom));
        }
        assert_eq!(r.bit(), 1, "vui");
        assert_eq!((r.bit(), r.u(8), r.bit()), (1, 1, 0));
        assert_eq!((r.bit(), r.u(3), r.bit(), r.bit(), r.u(24)), (1, 5, 0, 1, 0x060606));
        assert_eq!((r.bit(), r.bit()), (0, 1));
        let fps = (r.u(32), r.u(32));
        assert_eq!((r.bit(), r.bit(), r.bit(), r.bit(), r.bit(), r.bit()), (1, 0, 0, 0, 1, 1));
        assert_eq!((r.ue(), r.ue(), r.ue(), r.ue(), r.ue(), r.ue()), (0, 0, 16, 16, 0, 1));
        assert!(r.at_trailing_bits());
        Sps { profile, constraints, level, coded, size, fps }
    }

    #[test]
    fn sps_fields_round_trip() {
        let cases = [
            (1280, 720, 24, 31, (1280, 720)),
            (720, 1280, 30, 31, (720, 1280)),
            (1792, 1024, 24, 40, (1792, 1024)),
            (854, 480, 24, 30, (864, 480)),
            (176, 144, 15, 10, (176, 144)),
            (1920, 1080, 60, 42, (1920, 1088)),
            (4096, 2304, 60, 60, (4096, 2304)),
            (4096, 4096, 120, 61, (4096, 4096)),
            (17, 33, 1, 10, (16, 32)),
        ];
        for (w, h, fps, level, coded) in cases {
            let sps = parse_sps(&Encoder::new(w, h, fps).sps());
            let want = Sps {
                profile: 66,
                constraints: 0xC0,
                level,
                coded,
                size: (w & !1, h & !1),
                fps: (1, 2 * fps as u64),
            };
            assert_eq!(sps, want, "{w}x{h}@{fps}");
        }
        assert_eq!(level_idc(1000, 1000, 120), 62, "beyond every level: the highest");
    }

    #[test]
    fn pps_fields() {
        let pps = Encoder::new(64, 64, 24).pps();
        assert_eq!(pps[0], 0x68);
        let rbsp = unescape(&pps[1..]);
        let mut r = BitReader::new(&rbsp);
        assert_eq!((r.ue(), r.ue(), r.bit(), r.bit(), r.ue(), r.ue(), r.ue()), (0, 0, 0, 0, 0, 0, 0));
        assert_eq!((r.bit(), r.u(2), r.se(), r.se(), r.se()), (0, 0, 0, 0, 0));
        assert_eq!((r.bit(), r.bit(), r.bit()), (1, 0, 0), "deblocking control present");
        assert!(r.at_trailing_bits());
    }

    #[test]
    fn a_skip_that_would_move_is_written_as_motion_zero() {
        // 4x3 macroblocks; 1 and 4 moved 2 samples right. Macroblock 5 has both its left (4) and top
        // (1) neighbours moved, so a skip there would infer their motion: it is written as motion 0.
        let mut e = Encoder::new(64, 48, 24);
        let mut out = Vec::new();
        e.p(&mut out, &[(1, Block::Moved(2, 0)), (4, Block::Moved(2, 0))], |_, _, _| unreachable!());
        let rbsp = unescape(&out[5..]);
        let mut r = BitReader::new(&rbsp);
        assert_eq!(
            (r.ue(), r.ue(), r.ue(), r.u(8), r.bit(), r.bit(), r.bit(), r.se(), r.ue()),
            (0, 5, 0, 1, 0, 0, 0, 0, 1)
        );
        let mut read = || (r.ue(), r.ue(), r.se(), r.se(), r.ue()); // skip run, mb_type, mvd x, mvd y, cbp
        assert_eq!(read(), (1, 0, -8, 0, 0), "1: quarter samples, from 2 to the left");
        assert_eq!(read(), (2, 0, -8, 0, 0), "4: predicted (0, 0) (median of 0, 0 and -8)");
        assert_eq!(read(), (0, 0, 8, 0, 0), "5: predicted (-8, 0), so the motion 0 is a difference of 8");
        assert_eq!(r.ue(), 6, "6 to 11 skipped with motion 0");
        assert!(r.at_trailing_bits());
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for (w, h, fps) in [(0, 0, 0), (1, 1, 1), (u32::MAX, u32::MAX, u32::MAX), (3, 100_000, 7)] {
            let mut e = Encoder::new(w, h, fps);
            let (mw, mh) = e.size_in_mbs();
            assert!(mw >= 1 && mh >= 1 && mw * 16 <= MAX_SIDE + 15 && mh * 16 <= MAX_SIDE + 15);
            parse_sps(&e.sps());
            let mut out = Vec::new();
            let blocks = [
                (5, Block::New),
                (3, Block::New),
                (9, Block::Moved(i32::MIN, i32::MAX)),
                (u32::MAX, Block::New),
            ];
            e.p(&mut out, &blocks, |_, _, _| {});
            assert!(out.len() > 5);
        }
    }
}
