//! Partitioned FFT convolution reverb with zero added latency.
//!
//! [`ConvolutionReverb`] convolves its input with an impulse response (IR) of any length, up to
//! several seconds at high sample rates (3 s at 192 kHz is 576,000 taps), and adds no latency:
//! the wet signal of an impulse starts with `ir[0]` on the impulse's own sample.
//!
//! # Algorithm: non-uniform partitioned convolution
//!
//! The IR is cut into pieces that grow with their distance from the start (Gardner 1995;
//! Garcia 2002):
//!
//! - **Head**, taps `0..B` (`B` = 32 to 256): a direct-form FIR filter in the time domain. It is
//!   the only part that has to answer within the same sample. It costs `B` multiply-adds per
//!   sample, computed for a whole span of outputs at once with the accumulators in registers.
//! - **Levels** of partition size `p` (powers of two, `B ≤ p ≤ 16384`), each a uniformly
//!   partitioned overlap-save convolution with FFT size `2p` and a frequency-domain delay line
//!   (FDL). When an input block of `p` samples completes, a level takes one forward real FFT
//!   of its last `2p` inputs into the FDL, sums the products of its `K` IR partition spectra
//!   with the matching past input spectra, and takes one inverse FFT: that gives its output
//!   for the next `p` samples. A level's first tap is at an offset `o` that is a multiple of
//!   `p` (so `o ≥ p`), so its output is ready exactly when it is due: no latency. An offset
//!   beyond `p` costs nothing: the level reads older spectra from the FDL.
//!
//! [`ConvolutionReverb::new`] chooses `B` and the levels with a small dynamic program over a
//! cost model measured on the development machine: a direct tap costs about 1/130 of a
//! partition, and a level (two FFTs per block plus bookkeeping) about 20 partitions, almost
//! whatever its size. A 1 s IR at 48 kHz gets a 64-tap head and levels of 64 × 7, 512 × 7
//! and 4096 × 11 (25 partitions instead of 750 uniform ones); IRs shorter than about 250 taps
//! get the direct FIR alone. An IR that begins with silence (a room cut after the instrument's
//! body) needs no head: its first level starts at the last multiple of its size within the
//! silence, so the silence costs nothing (the 1 s IR silent for its first 30 ms gets levels of
//! 1024 × 3 from tap 1,024 and 4096 × 11: two FFT levels instead of three and no direct taps;
//! its partitions grow no larger than they would without the silence, so the slowest block
//! stays as it was).
//!
//! Spectra are stored split into real and imaginary parts, in chunks of 8 bins, so that the
//! multiply-accumulate, which is memory-bound, streams each row once and sums up to four
//! partitions per pass. A real FFT of size `2p` is a complex FFT of size `p` (rustfft) of the
//! sample pairs, joined into the spectrum (and split from it before the inverse) in the same
//! pass that converts to (and from) that layout. On x86-64 CPUs with AVX2 and FMA (detected
//! once, in `new`) the FIR, the multiply-accumulate and those joins run as AVX2/FMA code;
//! elsewhere as portable code. Partitions whose input spectra are all zero are skipped, so
//! silence is cheap.
//!
//! Levels of 4096 samples and more spread their work over time: the products that need only
//! past input spectra (all partitions but the first) are summed in slices while the next input
//! block is being collected, so the block in which such a level completes only does its two
//! FFTs and one partition's products. With a 3 s IR at 192 kHz in 128-sample blocks, the
//! slowest block then takes about a fifth of the block's real-time budget instead of two
//! thirds.

//! # Blended rooms
//!
//! [`ConvolutionReverb::process_toward`] plays the blend `(1 − t) · IR + t · IR_other` of this
//! reverb's IR and another reverb's cut into the same parts (a morph between two models'
//! rooms): each part keeps its own spectra and the active ones, and moves the active ones to
//! the blend when `t` has changed at the start of its block: the head every quantum, a level
//! every partition, a spread level chunk by chunk just before those chunks' products are
//! summed, so no block does the whole move. The input spectra are shared, so a blended room
//! costs what one reverb costs while `t` holds still, plus one pass over the spectra per
//! partition block while it moves.
//!
//! # Real-time safety
//!
//! [`ConvolutionReverb::new`] allocates every buffer and plans every FFT. After that,
//! [`process`](ConvolutionReverb::process), [`process_mix`](ConvolutionReverb::process_mix),
//! [`process_mix_in_place`](ConvolutionReverb::process_mix_in_place) and
//! [`reset`](ConvolutionReverb::reset) allocate nothing, take no lock, log nothing and do no
//! I/O: the FFTs run through rustfft's `process_with_scratch` on preallocated scratch.
//!
//! # Robustness
//!
//! Non-finite input samples are treated as 0, finite ones are clamped to ±[`INPUT_LIMIT`], and
//! samples smaller in magnitude than [`INPUT_FLOOR`] are flushed to 0, so a NaN leaves no trace
//! in the state. IR taps that are non-finite, subnormal, or more than 240 dB below the IR's peak
//! are set to 0 in `new`. With both floors, the products in the filter state stay in the normal
//! range of `f32` for any IR whose peak is above −120 dBFS, so a decaying tail never makes the
//! CPU crawl on subnormal numbers.

use std::sync::atomic::{AtomicU64, Ordering};

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

mod kernels;
mod level;
mod plan;

use crate::real_fft;
use kernels::Kernels;
use level::{Level, Work};
use plan::Plan;

/// Input samples smaller than this in magnitude (−300 dBFS) are treated as 0, so that the
/// filter state never holds subnormal numbers.
pub const INPUT_FLOOR: f32 = 1e-15;

/// Input samples are clamped to ±`INPUT_LIMIT` (+180 dBFS), so that any IR with finite taps of
/// sane gain gives a finite output.
pub const INPUT_LIMIT: f32 = 1e9;

/// IR taps smaller than the IR's peak magnitude times this (−240 dB) are flushed to 0.
const IR_FLOOR_RELATIVE: f32 = 1e-12;

/// Largest FFT partition size the planner uses.
const MAX_PARTITION: usize = 16384;

/// Levels with partitions at least this large spread their work over time (see [`Level`]).
const SPREAD_MIN: usize = 4096;

/// Smallest slice of a spread level's partial sum computed at once, in chunks of `LANES` bins.
const SPREAD_SLICE: usize = 64;

/// Head sizes (direct FIR length, also the smallest partition) the planner tries.
const HEAD_SIZES: [usize; 4] = [32, 64, 128, 256];

/// An IR at most this long is always convolved by the direct FIR alone (longer ones are too
/// when the cost model says that is cheaper).
const DIRECT_ONLY_MAX: usize = 64;

/// Sanitizes one input sample: non-finite → 0, tiny → 0, huge → clamped.
#[inline(always)]
fn clean_input(x: f32) -> f32 {
    let a = x.abs();
    if (INPUT_FLOOR..=f32::MAX).contains(&a) {
        x.clamp(-INPUT_LIMIT, INPUT_LIMIT)
    } else {
        0.0
    }
}

/// Numbers every reverb, so a room can name the reverb it blends toward.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The room a reverb or one of its parts plays: its own impulse response (`t = 0`), or the
/// blend `(1 − t) · own + t · other` with the IR of the reverb numbered `toward`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Room {
    /// The other reverb's number (0 for the home room).
    toward: u64,
    /// How far toward it, in `(0, 1]` (0 for the home room).
    t: f32,
}

impl Room {
    /// The reverb's own room.
    const HOME: Room = Room { toward: 0, t: 0.0 };

    /// The room `t` of the way toward `other` (`t` clamped to `[0, 1]`, a non-finite `t`
    /// counts as 0); the home room at 0 or without `other`.
    fn toward(other: Option<&ConvolutionReverb>, t: f32) -> Room {
        let t = if t.is_finite() {
            t.clamp(0.0, 1.0)
        } else {
            0.0
        };
        match other {
            Some(o) if t > 0.0 => Room { toward: o.id, t },
            _ => Room::HOME,
        }
    }

    /// Writes this room's version of one part of the response into `dst`: the own values
    /// `own`, or their blend `(1 − t) · own + t · theirs` (exactly `theirs` at `t = 1`, finite
    /// values). Without `theirs` (the other reverb is not at hand) the own values.
    fn place(self, dst: &mut [f32], own: &[f32], theirs: Option<&[f32]>) {
        match theirs {
            Some(theirs) if self.t > 0.0 => {
                let (keep, t) = (1.0 - self.t, self.t);
                for ((d, &a), &b) in dst.iter_mut().zip(own).zip(theirs) {
                    *d = keep * a + t * b;
                }
            }
            _ => dst.copy_from_slice(own),
        }
    }

    /// Whether a part of the blended response may be non-zero, given whether the own and
    /// the other part are (all-zero parts are skipped; at `t = 1` only the other's count).
    fn live(self, own: bool, theirs: bool) -> bool {
        (self.t < 1.0 && own) || (self.t > 0.0 && theirs)
    }
}

// ---------------------------------------------------------------------------------------------
// The reverb.
// ---------------------------------------------------------------------------------------------

/// Zero-latency convolution reverb: a direct FIR head plus uniformly partitioned FFT levels of
/// growing size (see the [module docs](self)).
///
/// Build it off the audio thread with [`new`](Self::new) (which allocates); then
/// [`process`](Self::process) and friends never allocate.
pub struct ConvolutionReverb {
    /// This reverb's number (rooms blending toward it name it).
    id: u64,
    /// IR length as given to [`new`](Self::new).
    ir_len: usize,
    /// Largest block [`process_mix_in_place`](Self::process_mix_in_place) handles in one go.
    max_block: usize,
    /// Head taps played now, in order: the reverb's own (`head_home`) or their blend toward
    /// another reverb's.
    head: Vec<f32>,
    /// The reverb's own head taps (`ir[0..head]`).
    head_home: Vec<f32>,
    /// The room `head` holds.
    head_room: Room,
    /// Input history shared by the head and the levels (sanitized samples, oldest first):
    /// `hist[..write]` holds the past, at least `keep` samples of it.
    hist: Vec<f32>,
    /// Where the next input sample goes in `hist`.
    write: usize,
    /// History the head and the levels need: `max(head.len() - 1, 2 · largest level)`.
    keep: usize,
    /// Smallest level size (or a fixed span when there is no level): spans never cross a
    /// multiple of it.
    quantum: usize,
    /// Position in the stream modulo `period`.
    pos: usize,
    /// Largest level size (or `quantum`): all level boundaries repeat with this period.
    period: usize,
    /// FFT levels, smallest first.
    levels: Vec<Level>,
    /// Shared FFT scratch.
    work: Work,
    /// Dry copy for [`process_mix_in_place`](Self::process_mix_in_place), `max_block` long.
    mix_scratch: Vec<f32>,
    /// SIMD build of the kernels.
    kernels: Kernels,
}

impl std::fmt::Debug for ConvolutionReverb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConvolutionReverb")
            .field("ir_len", &self.ir_len)
            .field("head", &self.head.len())
            .field(
                "levels",
                &self
                    .levels
                    .iter()
                    .map(|l| (l.size, l.parts))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ConvolutionReverb {
    /// Builds a reverb for `ir` (any length, including 0; an empty or all-zero IR gives a
    /// silent wet signal). `max_block` sizes the scratch of
    /// [`process_mix_in_place`](Self::process_mix_in_place); the other methods take blocks of
    /// any length regardless.
    ///
    /// **Allocates** (all buffers, FFT plans and the IR's partition spectra, about 16 bytes per
    /// IR tap): call it off the audio thread.
    pub fn new(ir: &[f32], max_block: usize) -> Self {
        Self::with_plan(ir, max_block, None)
    }

    /// [`new`](Self::new) with the plan chosen by [`Plan::choose`], or an explicit one.
    fn with_plan(ir: &[f32], max_block: usize, plan: Option<Plan>) -> Self {
        let max_block = max_block.max(1);
        // Clean the IR: non-finite, subnormal and −240 dB taps → 0, trailing zeros cut.
        let peak = ir
            .iter()
            .filter(|t| t.is_finite())
            .fold(0.0f32, |m, t| m.max(t.abs()));
        let floor = peak * IR_FLOOR_RELATIVE;
        let mut taps: Vec<f32> = ir
            .iter()
            .map(|&t| {
                if t.is_finite() && t.abs() >= floor.max(f32::MIN_POSITIVE) {
                    t
                } else {
                    0.0
                }
            })
            .collect();
        let effective = taps.iter().rposition(|&t| t != 0.0).map_or(0, |i| i + 1);
        taps.truncate(effective);

        let lead = taps.iter().position(|&t| t != 0.0).unwrap_or(effective);
        let plan = plan.unwrap_or_else(|| Plan::choose(lead, effective));
        let head_len = plan.head.max(1);
        let mut head = vec![0.0; head_len];
        let n = head_len.min(taps.len());
        head[..n].copy_from_slice(&taps[..n]);

        let mut planner = FftPlanner::<f32>::new();
        let mut levels = Vec::with_capacity(plan.levels.len());
        let mut offset = plan.start;
        for &(size, parts) in &plan.levels {
            assert!(
                size.is_power_of_two() && offset.is_multiple_of(size) && parts > 0,
                "invalid partition plan"
            );
            let start = offset.min(taps.len());
            let end = (offset + size * parts).min(taps.len());
            levels.push(Level::new(
                &taps[start..end],
                size,
                parts,
                offset / size - 1,
                &mut planner,
            ));
            offset += size * parts;
        }

        let quantum = levels.first().map_or(128, |l| l.size);
        let period = levels.last().map_or(quantum, |l| l.size);
        // The history is shifted back to its start when full: with room for at least `keep`
        // more samples, that costs at most one copied sample per processed sample.
        let keep = (head_len - 1).max(if levels.is_empty() { 0 } else { 2 * period });
        let hist_len = keep + keep.max(4096).max(quantum);
        let max_size = period;
        let scratch_len = levels
            .iter()
            .map(|l| l.fft.scratch_len())
            .max()
            .unwrap_or(0);
        let work = Work {
            pairs: vec![Complex::new(0.0, 0.0); max_size + 1],
            spec: vec![Complex::new(0.0, 0.0); max_size],
            fft_scratch: vec![Complex::new(0.0, 0.0); scratch_len],
            acc: vec![0.0; real_fft::row_len(max_size)],
        };
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            ir_len: ir.len(),
            max_block,
            hist: vec![0.0; hist_len],
            write: keep,
            keep,
            head_home: head.clone(),
            head,
            head_room: Room::HOME,
            quantum,
            pos: 0,
            period,
            levels,
            work,
            mix_scratch: vec![0.0; max_block],
            kernels: Kernels::detect(),
        }
    }

    /// Length of the IR given to [`new`](Self::new), in samples.
    pub fn ir_len(&self) -> usize {
        self.ir_len
    }

    /// Latency the reverb adds, in samples: always 0 (the wet signal of an impulse starts with
    /// `ir[0]` on the impulse's own sample).
    pub fn latency_samples(&self) -> usize {
        0
    }

    /// The `max_block` given to [`new`](Self::new) (at least 1).
    pub fn max_block(&self) -> usize {
        self.max_block
    }

    /// Clears all state (input history, delay lines, pending output): what follows sounds
    /// exactly like a fresh instance. Allocates nothing.
    pub fn reset(&mut self) {
        self.hist.fill(0.0);
        self.write = self.keep;
        self.pos = 0;
        for level in &mut self.levels {
            level.reset();
        }
    }

    /// Writes the pure wet signal, `input` convolved with the IR, to `wet_out`.
    ///
    /// Blocks of any length work (1 sample, or more than `max_block`); the result does not
    /// depend on how a signal is cut into blocks. Processes `input.len().min(wet_out.len())`
    /// samples (debug builds assert that the lengths are equal). Allocates nothing, takes no
    /// lock. The cost is uneven: the block in which a large partition completes does its FFTs.
    pub fn process(&mut self, input: &[f32], wet_out: &mut [f32]) {
        self.process_in(input, wet_out, None);
    }

    /// Whether this reverb's room can blend toward `other`'s
    /// ([`process_toward`](Self::process_toward)): both cut their IRs into the same parts,
    /// as two IRs of the same length are.
    pub fn blends_with(&self, other: &ConvolutionReverb) -> bool {
        self.head.len() == other.head.len()
            && self.levels.len() == other.levels.len()
            && self
                .levels
                .iter()
                .zip(&other.levels)
                .all(|(a, b)| (a.size, a.parts, a.delay) == (b.size, b.parts, b.delay))
    }

    /// [`process`](Self::process) in a room blended toward `other`'s: the wet signal is the
    /// input convolved with `(1 − t) · IR + t · other's IR`, where `t` is read from `amounts`
    /// (one per input sample, clamped to `[0, 1]`). The whole response follows `t`, the tail
    /// of earlier input included (a room that changes, not two rooms fed in turn): each part
    /// of the IR takes up the `t` of the first sample of its partition's block, so the first
    /// milliseconds follow within about a millisecond and the late tail within its largest
    /// partition (85 ms at 48 kHz), whatever the block sizes. At `t = 0` this is exactly
    /// [`process`](Self::process); once `t = 1` has reached every part it is exactly
    /// `other`'s output on the same input. `other` is only read (its own state is untouched,
    /// it need not run). When [`blends_with`](Self::blends_with) is false the reverb plays
    /// its own room. Allocates nothing; a change of `t` costs one pass over the partition
    /// spectra, spread over each partition's block.
    pub fn process_toward(
        &mut self,
        input: &[f32],
        wet_out: &mut [f32],
        other: &ConvolutionReverb,
        amounts: &[f32],
    ) {
        debug_assert_eq!(input.len(), amounts.len(), "one amount per sample");
        let other = self.blends_with(other).then_some(other);
        self.process_in(input, wet_out, other.map(|o| (o, amounts)));
    }

    /// [`process`](Self::process), in the room blended toward `toward`'s reverb at the
    /// amounts given per sample, or in the own room.
    fn process_in(
        &mut self,
        input: &[f32],
        wet_out: &mut [f32],
        toward: Option<(&ConvolutionReverb, &[f32])>,
    ) {
        debug_assert_eq!(
            input.len(),
            wet_out.len(),
            "input and output lengths differ"
        );
        let n = input.len().min(wet_out.len());
        let mut done = 0;
        while done < n {
            let phase = self.pos & (self.quantum - 1);
            let span = (self.quantum - phase).min(n - done);
            let range = done..done + span;
            let toward = toward.map(|(o, t)| (o, t.get(range.clone()).unwrap_or(&[])));
            self.process_span(&input[range.clone()], &mut wet_out[range], toward);
            done += span;
        }
    }

    /// Dry/wet mix: `output = (1 − wet) · dry + wet · reverb`, a linear crossfade with `wet`
    /// clamped to `[0, 1]` (a non-finite `wet` counts as 0). The dry signal is sanitized like
    /// the reverb's input, so NaN/Inf never reach `output`. Same length rules as
    /// [`process`](Self::process); allocates nothing.
    pub fn process_mix(&mut self, input: &[f32], output: &mut [f32], wet: f32) {
        self.process(input, output);
        let wet = if wet.is_finite() {
            wet.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let dry = 1.0 - wet;
        for (o, &x) in output.iter_mut().zip(input) {
            *o = dry * clean_input(x) + wet * *o;
        }
    }

    /// [`process_mix`](Self::process_mix) on a buffer in place (the buffer holds the dry
    /// input and receives the mix). Any length works: the dry copy goes through a
    /// preallocated scratch `max_block` long, in pieces. Allocates nothing.
    pub fn process_mix_in_place(&mut self, buffer: &mut [f32], wet: f32) {
        let mut scratch = std::mem::take(&mut self.mix_scratch);
        for chunk in buffer.chunks_mut(self.max_block) {
            let dry = &mut scratch[..chunk.len()];
            dry.copy_from_slice(chunk);
            self.process_mix(dry, chunk, wet);
        }
        self.mix_scratch = scratch;
    }

    /// Processes a span that crosses no multiple of `quantum`, in the room toward `toward`'s
    /// reverb at the span's amounts, or in the own room. The head and each level take up the
    /// room of the first sample of their block (a quantum for the head), so the result does
    /// not depend on how the input is cut into blocks.
    fn process_span(
        &mut self,
        input: &[f32],
        out: &mut [f32],
        toward: Option<(&ConvolutionReverb, &[f32])>,
    ) {
        let n = input.len();
        let other = toward.map(|(o, _)| o);
        let first = toward.and_then(|(_, t)| t.first()).copied().unwrap_or(0.0);
        let room = Room::toward(other, first);
        // The matching level of the reverb a room blends toward, if given.
        let theirs =
            |i: usize, room: Room| other.filter(|o| o.id == room.toward).map(|o| &o.levels[i]);
        if self.pos & (self.quantum - 1) == 0 && room != self.head_room {
            self.head_room = room;
            let theirs = other.map(|o| o.head_home.as_slice());
            room.place(&mut self.head, &self.head_home, theirs);
        }
        if self.write + n > self.hist.len() {
            self.hist.copy_within(self.write - self.keep..self.write, 0);
            self.write = self.keep;
        }
        let w = self.write;
        for (h, &x) in self.hist[w..w + n].iter_mut().zip(input) {
            *h = clean_input(x);
        }
        self.write = w + n;
        let base = self.head.len() - 1;
        self.kernels
            .fir(&self.head, &self.hist[w - base..w + n], out);

        for (i, level) in self.levels.iter_mut().enumerate() {
            let p = level.size;
            let ph = self.pos & (p - 1);
            if ph == 0 {
                level.set_room(room, theirs(i, room));
            }
            for (o, &y) in out.iter_mut().zip(&level.output()[p + ph..p + ph + n]) {
                *o += y;
            }
            level.advance(self.kernels, ph + n, theirs(i, level.room));
        }

        self.pos = (self.pos + n) & (self.period - 1);
        for (i, level) in self.levels.iter_mut().enumerate() {
            if self.pos & (level.size - 1) == 0 {
                let window = &self.hist[w + n - 2 * level.size..w + n];
                level.run(window, &mut self.work, self.kernels, theirs(i, level.room));
            }
        }
    }
}

#[cfg(test)]
mod tests;
