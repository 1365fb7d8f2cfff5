//! One uniformly partitioned FFT level with its frequency-domain delay line.

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

use super::kernels::Kernels;
use super::{Room, SPREAD_MIN, SPREAD_SLICE};
use crate::real_fft::{RealFft, CHUNK};
use crate::{as_floats, as_floats_mut};

// ---------------------------------------------------------------------------------------------
// One uniformly partitioned level.
// ---------------------------------------------------------------------------------------------

/// Uniformly partitioned overlap-save convolution of one IR segment, with an FDL.
///
/// A level of at least [`SPREAD_MIN`] samples spreads its work over time: every product that
/// only needs past input spectra is summed in slices while the next input block is being
/// collected (in step with the samples), so the block in which the level completes only does
/// its two FFTs and at most one partition's products.
pub(super) struct Level {
    /// Partition size `p` (the FFT size is `2p`).
    pub(super) size: usize,
    /// Number of partitions `K`.
    pub(super) parts: usize,
    /// Blocks of extra delay (the segment's offset is `(delay + 1) · p`).
    pub(super) delay: usize,
    /// Floats per spectrum row in the chunked layout ([`RealFft::row_len`]).
    pub(super) row: usize,
    /// The partition spectra played now, `K` rows: the level's own ([`Level::h_home`]) or a
    /// blend toward another reverb's (see [`Level::set_room`]).
    pub(super) h: Vec<f32>,
    /// Whether each partition of `h` may be non-zero (all-zero partitions are skipped).
    pub(super) h_live: Vec<bool>,
    /// The level's own IR partition spectra, `K` rows, scaled by the inverse FFT's `1 / 2p`.
    pub(super) h_home: Vec<f32>,
    /// Whether each of the level's own IR partitions has any non-zero tap.
    pub(super) live_home: Vec<bool>,
    /// The room `h` holds, or is being moved to (see `moved`).
    pub(super) room: Room,
    /// Chunks of every row of `h` that hold `room` (all of them, `row / CHUNK`, once the move
    /// is done). Spread levels move to a new room chunk by chunk, each range of chunks just
    /// before its products are summed, over one block period.
    pub(super) moved: usize,
    /// FDL: input spectra of the last `K + delay` blocks (a ring of rows).
    pub(super) x: Vec<f32>,
    /// Whether each FDL row's input window had any non-zero sample.
    pub(super) x_live: Vec<bool>,
    /// Row of the newest spectrum in the FDL ring.
    pub(super) newest: usize,
    /// Whether the previous input block had any non-zero sample.
    pub(super) prev_live: bool,
    /// Inverse FFT output, `2p` samples as `p` pairs (see [`Level::output`]).
    output: Vec<Complex<f32>>,
    /// Whether this level spreads its products over the block period (`p ≥ SPREAD_MIN`).
    pub(super) spread: bool,
    /// Spread levels: the sum of the products that need only past spectra, for the block
    /// being collected (one row; empty for other levels).
    pub(super) pre: Vec<f32>,
    /// Spread levels: chunks of `pre` already summed in this block period.
    pub(super) pre_done: usize,
    /// The real FFTs of size `2p`.
    pub(super) fft: RealFft,
}

impl Level {
    /// Builds a level for `segment` (taps from offset `(delay + 1) · size`, at most
    /// `parts · size` of them). Allocates.
    pub(super) fn new(
        segment: &[f32],
        size: usize,
        parts: usize,
        delay: usize,
        planner: &mut FftPlanner<f32>,
    ) -> Self {
        let n = 2 * size;
        let fft = RealFft::new(size, planner);
        let row = fft.row_len();
        let mut h_home = vec![0.0; parts * row];
        let mut live_home = vec![false; parts];
        let mut time = vec![0.0; n];
        let mut pairs = vec![Complex::new(0.0, 0.0); size + 1];
        let mut scratch = vec![Complex::new(0.0, 0.0); fft.scratch_len()];
        // The inverse FFT's 1/n normalization is folded into the IR spectra.
        let scale = 1.0 / n as f32;
        for k in 0..parts {
            let start = (k * size).min(segment.len());
            let end = ((k + 1) * size).min(segment.len());
            let taps = &segment[start..end];
            live_home[k] = taps.iter().any(|&t| t != 0.0);
            if !live_home[k] {
                continue;
            }
            time.fill(0.0);
            time[..taps.len()].copy_from_slice(taps);
            let dst = &mut h_home[k * row..(k + 1) * row];
            fft.forward(&time, &mut pairs, &mut scratch, dst, scale, false);
        }
        let rows = parts + delay;
        let spread = size >= SPREAD_MIN;
        Self {
            size,
            parts,
            delay,
            row,
            h: h_home.clone(),
            h_live: live_home.clone(),
            h_home,
            live_home,
            room: Room::HOME,
            moved: row / CHUNK,
            x: vec![0.0; rows * row],
            x_live: vec![false; rows],
            newest: 0,
            prev_live: false,
            output: vec![Complex::new(0.0, 0.0); size],
            spread,
            pre: if spread { vec![0.0; row] } else { Vec::new() },
            pre_done: 0,
            fft,
        }
    }

    /// Clears all state.
    pub(super) fn reset(&mut self) {
        self.x.fill(0.0);
        self.x_live.fill(false);
        self.newest = 0;
        self.prev_live = false;
        self.output.fill(Complex::new(0.0, 0.0));
        self.pre.fill(0.0);
        self.pre_done = 0;
    }

    /// The inverse FFT's output, `2p` samples: its second half is the output for the current
    /// block, computed at the end of the previous one (overlap-save keeps only that half).
    pub(super) fn output(&self) -> &[f32] {
        as_floats(&self.output)
    }

    /// First partition whose product needs only spectra older than the newest one when the
    /// FDL is read `back` blocks early (`back` = 1 while the next block is being collected).
    pub(super) fn first_part(&self, back: usize) -> usize {
        back.saturating_sub(self.delay)
    }

    /// `acc = Σ_k x[age(k)] · h[k]` over the chunks `c0..c0 + acc.len() / CHUNK` of a row, for
    /// partitions `k` in `first..parts`, where `age(k) = delay + k − back` counts blocks back
    /// from the newest FDL row. Silent partitions are skipped; up to 4 partitions per pass.
    /// Returns false (and leaves `acc` untouched) when every product is zero.
    pub(super) fn sum_products(
        &self,
        kernels: Kernels,
        acc: &mut [f32],
        c0: usize,
        first: usize,
        back: usize,
    ) -> bool {
        let rows = self.parts + self.delay;
        let base = c0 * CHUNK;
        let mut assign = true;
        let mut xs = [0usize; 4];
        let mut hs = [0usize; 4];
        let mut g = 0;
        for k in first..self.parts {
            let r = (self.newest + rows + back - self.delay - k) % rows;
            if !self.h_live[k] || !self.x_live[r] {
                continue;
            }
            xs[g] = r * self.row + base;
            hs[g] = k * self.row + base;
            g += 1;
            if g == 4 {
                self.mac(kernels, acc, &xs, &hs, assign);
                assign = false;
                g = 0;
            }
        }
        if g > 0 {
            self.mac(kernels, acc, &xs[..g], &hs[..g], assign);
            assign = false;
        }
        !assign
    }

    /// Spread levels: brings the partial sum for the next block up to date with the phase
    /// `phase` (samples of the block collected so far, `1..=p`), moving the chunks it sums to
    /// the level's room first. `other`: the matching level of the reverb the room blends
    /// toward, when the caller has it.
    pub(super) fn advance(&mut self, kernels: Kernels, phase: usize, other: Option<&Level>) {
        if !self.spread {
            return;
        }
        let chunks = self.row / CHUNK;
        let target = chunks * phase / self.size;
        // Slices of at least SPREAD_SLICE chunks keep the per-call overhead small.
        if target <= self.pre_done || (target < self.pre_done + SPREAD_SLICE && phase < self.size) {
            return;
        }
        self.move_chunks(other, target);
        let mut pre = std::mem::take(&mut self.pre);
        let range = &mut pre[self.pre_done * CHUNK..target * CHUNK];
        if !self.sum_products(kernels, range, self.pre_done, self.first_part(1), 1) {
            range.fill(0.0);
        }
        self.pre = pre;
        self.pre_done = target;
    }

    /// Called when a block of `p` inputs is complete, with the last `2p` inputs in `window`
    /// (the previous block, then this one): computes the next `p` outputs. `other` as for
    /// [`Level::advance`].
    pub(super) fn run(
        &mut self,
        window: &[f32],
        work: &mut Work,
        kernels: Kernels,
        other: Option<&Level>,
    ) {
        let p = self.size;
        let row = self.row;
        let rows = self.parts + self.delay;
        let cur_live = window[p..].iter().any(|&v| v != 0.0);
        let live = cur_live || self.prev_live;
        self.prev_live = cur_live;
        // Spread levels: the past products are all summed by now.
        self.advance(kernels, p, other);

        // Push the spectrum of the last 2p inputs into the FDL.
        self.newest = if self.newest + 1 == rows {
            0
        } else {
            self.newest + 1
        };
        self.x_live[self.newest] = live;
        let simd = kernels.avx2_fma;
        if live {
            let dst = &mut self.x[self.newest * row..(self.newest + 1) * row];
            let (pairs, scratch) = (&mut work.pairs, &mut work.fft_scratch);
            self.fft.forward(window, pairs, scratch, dst, 1.0, simd);
        }

        // Sum of input spectra times IR partition spectra, into `pre` (spread levels) or the
        // shared accumulator.
        let mut pre = std::mem::take(&mut self.pre);
        let any = if self.spread {
            // The past products are in `pre`; add the newest spectrum's, if it is used now.
            let past = (self.first_part(1)..self.parts).any(|k| {
                self.h_live[k] && self.x_live[(self.newest + rows - self.delay - k) % rows]
            });
            let now = self.sum_products_now(kernels, &mut pre, !past);
            self.pre_done = 0;
            past || now
        } else {
            self.sum_products(kernels, &mut work.acc[..row], 0, 0, 0)
        };
        if any {
            // Back to the time domain (see [`Level::output`]).
            let summed = if self.spread {
                &mut pre[..]
            } else {
                &mut work.acc[..row]
            };
            let (spec, scratch) = (&mut work.spec, &mut work.fft_scratch);
            self.fft
                .inverse(summed, spec, scratch, &mut self.output, simd);
        } else {
            as_floats_mut(&mut self.output)[p..].fill(0.0);
        }
        self.pre = pre;
    }

    /// Moves the level to `room` for the block that starts now. `other`:
    /// the matching level of the reverb the room blends toward (unused for the home room).
    /// Other levels move at once; spread levels move chunk by chunk while the next block is
    /// collected ([`Level::advance`]), so no block does the whole move.
    pub(super) fn set_room(&mut self, room: Room, other: Option<&Level>) {
        if room == self.room {
            return;
        }
        self.room = room;
        for k in 0..self.parts {
            let theirs = other.is_some_and(|o| o.live_home[k]);
            self.h_live[k] = room.live(self.live_home[k], theirs);
        }
        self.moved = 0;
        if !self.spread {
            self.move_chunks(other, self.row / CHUNK);
        }
    }

    /// Moves chunks `moved..end` of every live partition of `h` to the room: the level's own
    /// spectra, or their blend with `other`'s. Without `other` (the caller lost it, e.g. it
    /// was replaced mid-block) the chunks get the level's own spectra until the next room.
    fn move_chunks(&mut self, other: Option<&Level>, end: usize) {
        if end <= self.moved {
            return;
        }
        let (from, to) = (self.moved * CHUNK, end * CHUNK);
        for k in 0..self.parts {
            if !self.h_live[k] {
                continue;
            }
            let rows = k * self.row + from..k * self.row + to;
            let theirs = other.map(|o| &o.h_home[rows.clone()]);
            self.room
                .place(&mut self.h[rows.clone()], &self.h_home[rows], theirs);
        }
        self.moved = end;
    }

    /// Spread levels at the end of a block: adds (or, with `assign`, writes) the products that
    /// need the newest spectrum (only partition 0 when the level has no extra delay) to `acc`.
    /// Returns whether there were any.
    pub(super) fn sum_products_now(&self, kernels: Kernels, acc: &mut [f32], assign: bool) -> bool {
        let end = self.first_part(1);
        if end == 0 || !self.h_live[0] || !self.x_live[self.newest] {
            return false;
        }
        let (x, h) = ([self.newest * self.row], [0]);
        if assign {
            kernels.cmac::<1, true>(acc, &self.x, x, &self.h, h);
        } else {
            kernels.cmac::<1, false>(acc, &self.x, x, &self.h, h);
        }
        true
    }

    /// `acc (=|+=) Σ_g x[xs[g]..] · h[hs[g]..]` for one group of 1 to 4 partitions.
    pub(super) fn mac(
        &self,
        kernels: Kernels,
        acc: &mut [f32],
        xs: &[usize],
        hs: &[usize],
        assign: bool,
    ) {
        macro_rules! go {
            ($g:literal) => {{
                let xa: [usize; $g] = xs.try_into().unwrap();
                let ha: [usize; $g] = hs.try_into().unwrap();
                if assign {
                    kernels.cmac::<$g, true>(acc, &self.x, xa, &self.h, ha)
                } else {
                    kernels.cmac::<$g, false>(acc, &self.x, xa, &self.h, ha)
                }
            }};
        }
        match xs.len() {
            1 => go!(1),
            2 => go!(2),
            3 => go!(3),
            _ => go!(4),
        }
    }
}

/// Scratch shared by all levels, sized for the largest one.
pub(super) struct Work {
    /// The input window as sample pairs, then in place its FFT (`p + 1`: see
    /// [`RealFft::forward`]).
    pub(super) pairs: Vec<Complex<f32>>,
    /// The inverse FFT's input (`p`).
    pub(super) spec: Vec<Complex<f32>>,
    pub(super) fft_scratch: Vec<Complex<f32>>,
    pub(super) acc: Vec<f32>,
}
