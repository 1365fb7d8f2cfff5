//! A cheap decorrelator for the stereo reverb: velvet noise as a sparse FIR.
//!
//! Velvet noise (Karjalainen and Järveläinen 2007) is one pulse of random sign at a random
//! place in each grid cell; convolving a signal with a short, decaying stretch of it keeps the
//! signal's long-term spectrum and envelope but scrambles its fine structure, so the output is
//! largely uncorrelated with the input. Here it is 20 ms long with 1,500 pulses per second:
//! about 30 taps, so it costs 30 multiply-adds per sample whatever the rate (a second
//! convolution with a decorrelated copy of a 1 s IR would cost as much as the reverb itself).
//! Two one-pole high-passes at [`HIGH_PASS_HZ`] (12 dB per octave) keep the bass out of it.
//!
//! The reverb's side channel is its wet signal through this filter, so left and right
//! (`mid ± side`) differ while their sum is exactly the plain reverb.
//!
//! [`Decorrelator::new`] allocates; [`Decorrelator::process`] and [`Decorrelator::reset`]
//! never allocate, lock or log. The pulses come from a fixed seed: the same output every time.

use crate::rng::NoiseRng;
use crate::smooth::sanitize;

/// Length of the velvet noise, in ms.
pub const LENGTH_MS: f64 = 20.0;
/// Pulses per second.
pub const DENSITY_HZ: f64 = 1000.0;
/// Decay time constant of the pulses' gains, in ms.
pub const DECAY_MS: f64 = 6.0;
/// The output is high-passed here, in Hz.
pub const HIGH_PASS_HZ: f64 = 150.0;
/// Seed of the pulses.
const SEED: u32 = 0x51DE;

/// A streaming velvet-noise decorrelator with unit energy gain on white noise.
///
/// The input runs through a linear buffer, at least `history` samples of the past followed
/// by new input, so each pulse adds one contiguous, scaled slice of it to the output (a loop
/// the compiler vectorizes) instead of a ring lookup per tap and sample. The past is moved
/// back to the buffer's start only when the buffer is full: at most one copied sample per
/// processed sample, whatever the host's block size.
pub struct Decorrelator {
    /// (delay in samples, gain) of each pulse.
    taps: Vec<(usize, f32)>,
    /// Input samples: `buffer[..write]` is the past (at least `history` samples of it), then
    /// room for new ones.
    buffer: Vec<f32>,
    /// Where the next input sample goes in `buffer`.
    write: usize,
    /// Past samples kept (the longest delay).
    history: usize,
    /// Largest chunk processed at once (the room after the history).
    chunk: usize,
    /// High-pass pole, and the (previous input, previous output) of each of the two stages.
    pole: f32,
    stages: [(f32, f32); 2],
}

impl Decorrelator {
    /// A decorrelator at `sample_rate` Hz. Allocates.
    pub fn new(sample_rate: f64) -> Self {
        let cell = (sample_rate / DENSITY_HZ).max(1.0);
        let cells = ((LENGTH_MS * 1e-3 * sample_rate) / cell).ceil().max(1.0) as usize;
        let mut rng = NoiseRng::new(SEED);
        let mut taps: Vec<(usize, f32)> = (0..cells)
            .map(|m| {
                let at = ((m as f64 + 0.5 + 0.5 * f64::from(rng.next_bipolar())) * cell) as usize;
                let sign = if rng.next_u32() & 1 == 0 { 1.0 } else { -1.0 };
                let decay = (-(at as f64) / (DECAY_MS * 1e-3 * sample_rate)).exp();
                (at, sign * decay as f32)
            })
            .collect();
        let energy: f32 = taps.iter().map(|(_, g)| g * g).sum();
        for (_, g) in &mut taps {
            *g /= energy.sqrt();
        }
        let history = taps.iter().map(|&(at, _)| at).max().unwrap_or(0);
        // Room for at least as many new samples as the history: keeping the history costs at
        // most one copied sample per processed one.
        let chunk = history.max(256);
        Self {
            taps,
            buffer: vec![0.0; history + chunk],
            write: history,
            history,
            chunk,
            pole: (-2.0 * std::f64::consts::PI * HIGH_PASS_HZ / sample_rate).exp() as f32,
            stages: [(0.0, 0.0); 2],
        }
    }

    /// How many samples an input keeps sounding in the output: the longest pulse delay, plus
    /// one (the high-pass's own ringing is far below audibility by then).
    pub fn tail_samples(&self) -> usize {
        self.history + 1
    }

    /// Clears the history. Allocation-free.
    pub fn reset(&mut self) {
        self.buffer.fill(0.0);
        self.write = self.history;
        self.stages = [(0.0, 0.0); 2];
    }

    /// Filters `input` into `output` (the same length; any length). Allocation-free.
    pub fn process(&mut self, input: &[f32], output: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if timbre_simd::has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time just above).
            return unsafe { self.process_avx2(input, output) };
        }
        self.process_impl(input, output)
    }

    /// [`Self::process_impl`] compiled for AVX2 (the same bits: no multiply-add is fused).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn process_avx2(&mut self, input: &[f32], output: &mut [f32]) {
        self.process_impl(input, output)
    }

    /// [`Self::process`], chunk by chunk.
    #[inline(always)]
    fn process_impl(&mut self, input: &[f32], output: &mut [f32]) {
        let n = input.len().min(output.len());
        let mut done = 0;
        while done < n {
            let len = (n - done).min(self.chunk);
            self.process_chunk(&input[done..done + len], &mut output[done..done + len]);
            done += len;
        }
    }

    /// One chunk of at most `self.chunk` samples.
    #[inline(always)]
    fn process_chunk(&mut self, input: &[f32], output: &mut [f32]) {
        let (h, n) = (self.history, input.len());
        if self.write + n > self.buffer.len() {
            // Full: keep the last `h` samples as the past, at the start.
            self.buffer.copy_within(self.write - h..self.write, 0);
            self.write = h;
        }
        let w = self.write;
        for (b, &x) in self.buffer[w..w + n].iter_mut().zip(input) {
            *b = sanitize(x);
        }
        output.fill(0.0);
        for &(delay, gain) in &self.taps {
            let past = &self.buffer[w - delay..w - delay + n];
            for (y, &x) in output.iter_mut().zip(past) {
                *y += gain * x;
            }
        }
        self.write = w + n;
        // Two one-pole high-passes (finite input: the buffer holds sanitized samples).
        let pole = self.pole;
        let [(mut x1, mut y1), (mut x2, mut y2)] = self.stages;
        for y in output.iter_mut() {
            let x = *y;
            // Flushed per sample, so a decaying tail leaves no subnormals, the same way
            // whatever the chunking. The input's difference is taken first, off the chain of
            // dependent operations through each stage's output that sets this loop's time.
            y1 = sanitize(pole * (y1 + (x - x1)));
            x1 = x;
            y2 = sanitize(pole * (y2 + (y1 - x2)));
            x2 = y1;
            *y = y2;
        }
        self.stages = [(x1, y1), (x2, y2)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize) -> Vec<f32> {
        let mut rng = NoiseRng::new(3);
        (0..n).map(|_| rng.next_bipolar()).collect()
    }

    /// White noise keeps its level, loses its correlation with the input, and comes out the
    /// same every time and in any block size.
    #[test]
    fn keeps_the_level_and_decorrelates() {
        let x = noise(48_000);
        let mut a = vec![0.0; x.len()];
        Decorrelator::new(48_000.0).process(&x, &mut a);
        let mut d = Decorrelator::new(48_000.0);
        for block in [1, 77, 128, 1_000, 5_000] {
            let mut d = Decorrelator::new(48_000.0);
            let mut b = vec![0.0; x.len()];
            for (i, o) in x.chunks(block).zip(b.chunks_mut(block)) {
                d.process(i, o);
            }
            assert!(a == b, "blocks of {block} changed the output");
        }
        d.process(&x, &mut vec![0.0; x.len()]);
        let dot = |p: &[f32], q: &[f32]| p.iter().zip(q).map(|(u, v)| u * v).sum::<f32>();
        let ratio = (dot(&a, &a) / dot(&x, &x)).sqrt();
        assert!((0.9..1.05).contains(&ratio), "level ratio {ratio}");
        let corr = dot(&a, &x) / (dot(&a, &a) * dot(&x, &x)).sqrt();
        assert!(corr.abs() < 0.1, "correlation {corr}");
        // A reset starts over.
        d.reset();
        let mut c = vec![0.0; x.len()];
        d.process(&x, &mut c);
        assert!(a == c);
    }

    #[test]
    fn the_vector_build_gives_the_portable_bits() {
        let x = noise(20_000);
        let mut vector = vec![0.0; x.len()];
        Decorrelator::new(48_000.0).process(&x, &mut vector);
        let mut d = Decorrelator::new(48_000.0);
        let mut portable = vec![0.0; x.len()];
        for (i, o) in x.chunks(d.chunk).zip(portable.chunks_mut(d.chunk)) {
            d.process_chunk(i, o);
        }
        assert!(vector == portable);
    }

    /// About 30 taps at any rate, and the bass is cut.
    #[test]
    fn few_taps_and_no_bass() {
        for rate in [1_000.0, 48_000.0, 768_000.0] {
            let d = Decorrelator::new(rate);
            assert!(d.taps.len() <= 21, "{rate}: {} taps", d.taps.len());
        }
        let rate = 48_000.0;
        let bass: Vec<f32> = (0..48_000)
            .map(|n| (2.0 * std::f32::consts::PI * 40.0 * n as f32 / rate as f32).sin())
            .collect();
        let mut out = vec![0.0; bass.len()];
        Decorrelator::new(rate).process(&bass, &mut out);
        let rms = |v: &[f32]| (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32).sqrt();
        let ratio = rms(&out[24_000..]) / rms(&bass[24_000..]);
        assert!(ratio < 0.25, "40 Hz passes at {ratio}");
    }
}
