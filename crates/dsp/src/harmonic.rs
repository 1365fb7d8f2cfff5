//! A bank of phase-locked harmonic oscillators at any output rate.
//!
//! The bank plays `k · f0` for `k = 1..=n` with one amplitude per harmonic. f0 and the
//! amplitudes move linearly, sample by sample, from their current values to the targets set by
//! [`HarmonicBank::set_target`], so a control frame every few milliseconds gives a smooth sound.
//!
//! ## How it stays exact and fast
//! - One phase accumulator, in `f64` cycles wrapped to `[-0.5, 0.5)`, drives every harmonic:
//!   harmonic `k` is `sin(k · θ)`, so the harmonics stay phase-locked and the accumulator never
//!   drifts (after an hour at 48 kHz the accumulated rounding is below 1e-8 cycles).
//! - The harmonics of one sample come from Reinsch's modified Chebyshev recurrence
//!   (`u += d·s; s += u` with `d = −4·sin²(θ/2)`), which keeps f32 accurate to about 2e-7 even
//!   for the small angles of low notes at high rates, where the plain `2·cos θ` recurrence
//!   loses three digits. Only `sin(θ/2)` and `cos(θ/2)` are evaluated per sample, with short
//!   polynomials.
//! - Samples are processed in chunks of [`CHUNK`], harmonic by harmonic, so the inner loop is
//!   a straight run over arrays that the compiler vectorises (AVX2 when the CPU has it). An
//!   amplitude ramp `a + da · pos` is summed as `Σ a·sin + pos · Σ da·sin`, so the inner loop
//!   is four multiply-adds per harmonic and sample, with no branch.
//! - Harmonics at or above Nyquist are silent, decided per sample (in a second loop, over the
//!   harmonics that cross Nyquist within the chunk).
//!
//! Every value is a pure function of the position in the ramp and the running phase, so the
//! output is identical however the stream is cut into blocks.
//!
//! [`HarmonicBank::process`] never allocates, locks or logs.

/// The largest number of harmonics the bank can play.
pub const MAX_HARMONICS: usize = 100;

/// Samples processed together in the inner loop.
pub const CHUNK: usize = 64;

/// Samples whose recurrence state stays in registers across the harmonic loop.
const SUB: usize = 16;

/// A harmonic oscillator bank with per-sample linear control interpolation.
#[derive(Clone)]
pub struct HarmonicBank {
    /// 1 / output sample rate.
    inv_sample_rate: f64,
    /// Half the output sample rate, in Hz.
    nyquist_hz: f32,
    /// Phase of the fundamental in cycles, in `[-0.5, 0.5)`.
    phase: f64,
    /// Harmonics up to the last that sounds in the current ramp (its start or its target is
    /// not 0): those above are all silent and are neither ramped nor rendered. A model's
    /// harmonics above its own Nyquist frequency arrive as zeros: at 48 kHz, a 16 kHz model
    /// playing 220 Hz sounds 36 of its 100.
    n_harmonics: usize,
    /// f0 ramp: value at ramp position `n` is `f0_start + f0_step · n` until the ramp ends.
    f0_start: f32,
    f0_step: f32,
    f0_target: f32,
    /// Amplitude ramps, one per harmonic, same convention as f0.
    amp_start: [f32; MAX_HARMONICS],
    amp_step: [f32; MAX_HARMONICS],
    amp_target: [f32; MAX_HARMONICS],
    /// Samples already played of the current ramp.
    ramp_pos: u32,
    /// Length of the current ramp in samples (0: holding the target).
    ramp_len: u32,
    /// Whether the AVX2 kernel can run on this CPU.
    use_avx2: bool,
}

impl HarmonicBank {
    /// A silent bank for the given output rate. Allocates nothing (the state is inline).
    pub fn new(sample_rate: f64) -> Self {
        Self {
            inv_sample_rate: 1.0 / sample_rate,
            nyquist_hz: (sample_rate * 0.5) as f32,
            phase: 0.0,
            n_harmonics: 0,
            f0_start: 0.0,
            f0_step: 0.0,
            f0_target: 0.0,
            amp_start: [0.0; MAX_HARMONICS],
            amp_step: [0.0; MAX_HARMONICS],
            amp_target: [0.0; MAX_HARMONICS],
            ramp_pos: 0,
            ramp_len: 0,
            use_avx2: timbre_simd::has_avx2_fma(),
        }
    }

    /// The output sample rate in Hz.
    pub fn sample_rate(&self) -> f64 {
        1.0 / self.inv_sample_rate
    }

    /// Silences the bank and sets the phase back to zero.
    pub fn reset(&mut self) {
        *self = Self::new(self.sample_rate());
    }

    /// The fundamental's phase in cycles, in `[-0.5, 0.5)`.
    pub fn phase(&self) -> f64 {
        self.phase
    }

    /// Starts a linear ramp from the current values to `f0_hz` and `amplitudes` (one per
    /// harmonic, at most [`MAX_HARMONICS`]; extra values are ignored) over `ramp_samples`
    /// samples. A ramp of 0 samples jumps. Harmonics beyond `amplitudes.len()` fade to silence.
    /// Non-finite values are treated as 0.
    pub fn set_target(&mut self, f0_hz: f32, amplitudes: &[f32], ramp_samples: u32) {
        let n_new = amplitudes[..amplitudes.len().min(MAX_HARMONICS)]
            .iter()
            .rposition(|&a| finite_or_zero(a) != 0.0)
            .map_or(0, |k| k + 1);
        let n = self.n_harmonics.max(n_new);
        let pos = self.ramp_pos as f32;
        let in_ramp = self.ramp_pos < self.ramp_len;
        let current = |start: f32, step: f32, target: f32| {
            if in_ramp {
                start + step * pos
            } else {
                target
            }
        };
        let f0_now = current(self.f0_start, self.f0_step, self.f0_target);
        let f0_target = finite_or_zero(f0_hz).max(0.0);
        let inv_len = if ramp_samples > 0 {
            1.0 / ramp_samples as f32
        } else {
            0.0
        };
        let jump = ramp_samples == 0;
        self.f0_start = if jump { f0_target } else { f0_now };
        self.f0_step = (f0_target - self.f0_start) * inv_len;
        self.f0_target = f0_target;
        let given = amplitudes.len().min(n);
        let targets = amplitudes[..given]
            .iter()
            .map(|&a| finite_or_zero(a))
            .chain(std::iter::repeat(0.0));
        for (((start, step), old_target), target) in self.amp_start[..n]
            .iter_mut()
            .zip(&mut self.amp_step[..n])
            .zip(&mut self.amp_target[..n])
            .zip(targets)
        {
            let now = current(*start, *step, *old_target);
            *start = if jump { target } else { now };
            *step = (target - *start) * inv_len;
            *old_target = target;
        }
        self.n_harmonics = (0..n)
            .rposition(|k| self.amp_start[k] != 0.0 || self.amp_target[k] != 0.0)
            .map_or(0, |k| k + 1);
        self.ramp_pos = 0;
        self.ramp_len = ramp_samples;
    }

    /// Writes the next `out.len()` samples of the bank into `out` (overwriting it).
    pub fn process(&mut self, out: &mut [f32]) {
        let mut done = 0;
        while done < out.len() {
            // A chunk never straddles the end of a ramp, so each chunk has one formula.
            let mut len = (out.len() - done).min(CHUNK);
            if self.ramp_pos < self.ramp_len {
                len = len.min((self.ramp_len - self.ramp_pos) as usize);
            }
            let chunk = &mut out[done..done + len];
            if self.use_avx2 {
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                // SAFETY: `use_avx2` is only true when the CPU reports AVX2 and FMA.
                unsafe {
                    self.render_chunk_avx2(chunk)
                };
            } else {
                self.render_chunk::<Plain>(chunk);
            }
            done += len;
        }
    }

    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn render_chunk_avx2(&mut self, out: &mut [f32]) {
        self.render_chunk::<Fused>(out)
    }

    /// Renders at most [`CHUNK`] samples that lie wholly inside or wholly after the ramp.
    #[inline(always)]
    fn render_chunk<M: MulAdd>(&mut self, out: &mut [f32]) {
        let len = out.len();
        debug_assert!(len <= CHUNK);
        let in_ramp = self.ramp_pos < self.ramp_len;
        // Ramp positions of this chunk's samples (or zero steps when holding).
        let mut pos = [0.0f32; CHUNK];
        let (f0_start, f0_step) = if in_ramp {
            (self.f0_start, self.f0_step)
        } else {
            (self.f0_target, 0.0)
        };
        let mut f0 = [0.0f32; CHUNK];
        // Half-angle sine and cosine of each sample's fundamental phase.
        let mut half_sin = [0.0f32; CHUNK];
        let mut half_cos = [0.0f32; CHUNK];
        let mut phases = [0.0f32; CHUNK];
        let nyquist_hz = self.nyquist_hz;
        let mut f0_min = f32::INFINITY;
        let mut f0_max = 0.0f32;
        for i in 0..len {
            let p = (self.ramp_pos as usize + i) as f32;
            pos[i] = p;
            let f = (f0_start + f0_step * p).clamp(0.0, nyquist_hz);
            f0[i] = f;
            f0_min = f0_min.min(f);
            f0_max = f0_max.max(f);
            phases[i] = self.phase as f32;
            // f0 is clamped to Nyquist, so the increment is at most 0.5 cycle and one exact
            // subtraction of 1.0 (Sterbenz) keeps the phase in [-0.5, 0.5).
            let mut next = self.phase + f as f64 * self.inv_sample_rate;
            if next >= 0.5 {
                next -= 1.0;
            }
            self.phase = next;
        }
        for i in 0..len {
            let x = core::f32::consts::PI * phases[i];
            half_sin[i] = sin_poly(x);
            half_cos[i] = cos_poly(x);
        }
        // Reinsch's recurrence state: s = sin(kθ), u = sin(kθ) − sin((k−1)θ), d = −4 sin²(θ/2).
        let mut s = [0.0f32; CHUNK];
        let mut u = [0.0f32; CHUNK];
        let mut d = [0.0f32; CHUNK];
        for i in 0..len {
            let sin_theta = 2.0 * half_sin[i] * half_cos[i];
            s[i] = sin_theta;
            u[i] = sin_theta;
            d[i] = -4.0 * half_sin[i] * half_sin[i];
        }
        let mut acc = [0.0f32; CHUNK];
        let nyquist = self.nyquist_hz;
        // Harmonics audible for at least one sample of the chunk, and for all of them.
        let n_audible = (0..self.n_harmonics)
            .take_while(|&k| (k + 1) as f32 * f0_min < nyquist)
            .count();
        let n_whole = (0..n_audible)
            .take_while(|&k| (k + 1) as f32 * f0_max < nyquist)
            .count();
        let (amp, step) = if in_ramp {
            (&self.amp_start, &self.amp_step)
        } else {
            (&self.amp_target, &[0.0; MAX_HARMONICS])
        };
        // Sub-blocks of SUB samples keep the recurrence state in registers across the
        // harmonic loop; sub-blocks past `len` are skipped. Harmonic k adds
        // `(a_k + da_k · pos) · sin(kθ)`, summed as `Σ a_k sin(kθ) + pos · Σ da_k sin(kθ)`:
        // the ramp's position multiplies once per sample, not once per harmonic.
        for base in (0..len).step_by(SUB) {
            let mut s_: [f32; SUB] = s[base..base + SUB].try_into().unwrap();
            let mut u_: [f32; SUB] = u[base..base + SUB].try_into().unwrap();
            let d_: [f32; SUB] = d[base..base + SUB].try_into().unwrap();
            let mut level = [0.0f32; SUB];
            let mut slope = [0.0f32; SUB];
            // One pass per harmonic: add it to the sums, then step the recurrence.
            for (&a0, &da) in amp[..n_whole].iter().zip(&step[..n_whole]) {
                for i in 0..SUB {
                    level[i] = M::mul_add(a0, s_[i], level[i]);
                    slope[i] = M::mul_add(da, s_[i], slope[i]);
                    u_[i] = M::mul_add(d_[i], s_[i], u_[i]);
                    s_[i] += u_[i];
                }
            }
            // Harmonics that cross Nyquist within the chunk: silent from the sample on which
            // they reach it.
            let pos_: [f32; SUB] = pos[base..base + SUB].try_into().unwrap();
            let f0_: [f32; SUB] = f0[base..base + SUB].try_into().unwrap();
            for k in n_whole..n_audible {
                let kf = (k + 1) as f32;
                for i in 0..SUB {
                    let audible = if kf * f0_[i] < nyquist { 1.0 } else { 0.0 };
                    let a = M::mul_add(step[k], pos_[i], amp[k]) * audible;
                    level[i] = M::mul_add(a, s_[i], level[i]);
                    u_[i] = M::mul_add(d_[i], s_[i], u_[i]);
                    s_[i] += u_[i];
                }
            }
            for i in 0..SUB {
                acc[base + i] = M::mul_add(pos_[i], slope[i], level[i]);
            }
        }
        out.copy_from_slice(&acc[..len]);
        if in_ramp {
            self.ramp_pos += len as u32;
            if self.ramp_pos >= self.ramp_len {
                self.ramp_len = 0;
                self.ramp_pos = 0;
            }
        }
    }
}

/// `a·b + c`, fused where the CPU has FMA, plain elsewhere (a software `fma` call would be
/// far slower than two roundings).
trait MulAdd {
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
}

/// Two roundings: `a * b + c`.
struct Plain;

impl MulAdd for Plain {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

/// One rounding: compiled to `vfmadd` inside the AVX2+FMA kernel.
#[cfg_attr(
    not(any(target_arch = "x86", target_arch = "x86_64")),
    allow(dead_code)
)]
struct Fused;

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

fn finite_or_zero(x: f32) -> f32 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

/// sin(x) for |x| ≤ π/2, Taylor series to x¹³ (truncation error below 1e-9).
#[inline(always)]
pub(crate) fn sin_poly(x: f32) -> f32 {
    let x2 = x * x;
    let p = 1.0 / 6_227_020_800.0;
    let p = p * x2 - 1.0 / 39_916_800.0;
    let p = p * x2 + 1.0 / 362_880.0;
    let p = p * x2 - 1.0 / 5_040.0;
    let p = p * x2 + 1.0 / 120.0;
    let p = p * x2 - 1.0 / 6.0;
    x + x * x2 * p
}

/// cos(x) for |x| ≤ π/2, Taylor series to x¹⁴ (truncation error below 1e-10).
#[inline(always)]
pub(crate) fn cos_poly(x: f32) -> f32 {
    let x2 = x * x;
    let p = -1.0 / 87_178_291_200.0;
    let p = p * x2 + 1.0 / 479_001_600.0;
    let p = p * x2 - 1.0 / 3_628_800.0;
    let p = p * x2 + 1.0 / 40_320.0;
    let p = p * x2 - 1.0 / 720.0;
    let p = p * x2 + 1.0 / 24.0;
    let p = p * x2 - 0.5;
    1.0 + x2 * p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polynomials_match_std_on_half_circle() {
        let mut worst = 0.0f32;
        for i in 0..=10_000 {
            let x = -core::f32::consts::FRAC_PI_2 + core::f32::consts::PI * i as f32 / 10_000.0;
            worst = worst.max((sin_poly(x) - x.sin()).abs());
            worst = worst.max((cos_poly(x) - x.cos()).abs());
        }
        assert!(worst < 3e-7, "worst polynomial error {worst}");
    }
}
