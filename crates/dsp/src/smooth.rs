//! Parameter smoothing and the guard against NaN, Inf and denormals.
//!
//! A knob turned by a musician or automated by a host jumps; applied as is, the jump clicks
//! ("zipper noise"). [`LinearSmoother`] glides to each new target over a fixed time, and
//! [`sanitize`] makes sure no non-finite or denormal value reaches the DSP state or the output.
//! Nothing here allocates.

/// Values smaller than this in magnitude are flushed to zero by [`sanitize`].
pub const DENORMAL_FLOOR: f32 = 1e-30;

/// Returns `x` if it is finite and not tiny, else 0. Used on every input sample and on
/// recursive DSP state, so that NaN and Inf are treated as silence and denormals never slow the
/// CPU down.
#[inline]
pub fn sanitize(x: f32) -> f32 {
    if x.is_finite() && x.abs() >= DENORMAL_FLOOR {
        x
    } else {
        0.0
    }
}

/// Applies [`sanitize`] to every sample of `buf`.
pub fn sanitize_slice(buf: &mut [f32]) {
    for x in buf {
        *x = sanitize(*x);
    }
}

/// A parameter that glides linearly to its target over a fixed number of samples.
#[derive(Clone, Debug)]
pub struct LinearSmoother {
    /// The value now.
    current: f32,
    /// Where the glide ends.
    target: f32,
    /// Change per sample during the glide.
    step: f32,
    /// Samples left in the glide.
    remaining: u32,
    /// Length of a full glide in samples.
    ramp_samples: u32,
}

impl LinearSmoother {
    /// A smoother resting at `value`, gliding over `ramp_samples` on each change.
    pub fn new(value: f32, ramp_samples: u32) -> Self {
        Self {
            current: value,
            target: value,
            step: 0.0,
            remaining: 0,
            ramp_samples,
        }
    }

    /// A smoother resting at `value` whose glides last `ramp_ms` at `sample_rate`.
    pub fn with_time(value: f32, ramp_ms: f32, sample_rate: f64) -> Self {
        Self::new(
            value,
            (ramp_ms as f64 * 1e-3 * sample_rate).round().max(1.0) as u32,
        )
    }

    /// Starts a glide to `target` (non-finite targets are ignored).
    pub fn set_target(&mut self, target: f32) {
        if !target.is_finite() || target == self.target {
            return;
        }
        self.target = target;
        if self.ramp_samples == 0 {
            self.current = target;
            self.remaining = 0;
        } else {
            self.step = (target - self.current) / self.ramp_samples as f32;
            self.remaining = self.ramp_samples;
        }
    }

    /// Jumps to `value` at once, ending any glide.
    pub fn reset(&mut self, value: f32) {
        self.current = value;
        self.target = value;
        self.remaining = 0;
    }

    /// The value now, without advancing.
    pub fn value(&self) -> f32 {
        self.current
    }

    /// The value the smoother is gliding to.
    pub fn target(&self) -> f32 {
        self.target
    }

    /// Whether a glide is under way.
    pub fn is_smoothing(&self) -> bool {
        self.remaining > 0
    }

    /// Advances one sample and returns the new value.
    #[inline]
    pub fn next_value(&mut self) -> f32 {
        if self.remaining > 0 {
            self.remaining -= 1;
            self.current = if self.remaining == 0 {
                self.target
            } else {
                self.current + self.step
            };
        }
        self.current
    }

    /// Writes the next `out.len()` values into `out`: exactly what as many calls of
    /// [`LinearSmoother::next_value`] return, with the samples after the glide (or all, when
    /// resting) filled at once.
    pub fn fill(&mut self, out: &mut [f32]) {
        let gliding = (self.remaining as usize).min(out.len());
        let (glide, rest) = out.split_at_mut(gliding);
        for o in glide {
            *o = self.next_value();
        }
        rest.fill(self.current);
    }

    /// Advances `n` samples at once and returns the new value.
    pub fn skip(&mut self, n: u32) -> f32 {
        if n >= self.remaining {
            self.remaining = 0;
            self.current = self.target;
        } else {
            self.remaining -= n;
            self.current += self.step * n as f32;
        }
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `fill` gives, sample for sample and bit for bit, what `next_value` gives, through
    /// glides that start, end and restart inside and across chunks of every size.
    #[test]
    fn fill_is_next_value_in_bulk() {
        let mut one = LinearSmoother::new(0.25, 37);
        let mut bulk = one.clone();
        let mut targets = [1.0, 1.0, -0.5, 3.0, 3.0, 0.0].iter().cycle();
        for len in [1usize, 5, 36, 37, 38, 80, 3, 128, 0, 64, 200, 7] {
            let target = *targets.next().unwrap();
            one.set_target(target);
            bulk.set_target(target);
            let want: Vec<f32> = (0..len).map(|_| one.next_value()).collect();
            let mut got = vec![f32::NAN; len];
            bulk.fill(&mut got);
            assert!(
                got.iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "chunk of {len}"
            );
            assert_eq!(bulk.value().to_bits(), one.value().to_bits());
        }
    }

    #[test]
    fn sanitize_removes_nan_inf_and_denormals() {
        assert_eq!(sanitize(f32::NAN), 0.0);
        assert_eq!(sanitize(f32::INFINITY), 0.0);
        assert_eq!(sanitize(f32::NEG_INFINITY), 0.0);
        assert_eq!(sanitize(1e-38), 0.0);
        assert_eq!(sanitize(-0.25), -0.25);
    }

    #[test]
    fn glide_reaches_target_in_exactly_ramp_samples() {
        let mut s = LinearSmoother::new(0.0, 100);
        s.set_target(1.0);
        let mut last = 0.0;
        for i in 0..100 {
            let v = s.next_value();
            assert!(v > last, "sample {i}: {v} not above {last}");
            // The glide is linear: sample i is (i + 1) / 100 of the way.
            assert!((v - (i + 1) as f32 / 100.0).abs() < 1e-5);
            last = v;
        }
        assert_eq!(s.value(), 1.0);
        assert!(!s.is_smoothing());
        assert_eq!(s.next_value(), 1.0);
    }

    #[test]
    fn skip_matches_repeated_next() {
        let mut a = LinearSmoother::new(2.0, 64);
        let mut b = a.clone();
        a.set_target(-1.0);
        b.set_target(-1.0);
        for _ in 0..40 {
            a.next_value();
        }
        b.skip(40);
        assert!((a.value() - b.value()).abs() < 1e-5);
        a.skip(1000);
        assert_eq!(a.value(), -1.0);
    }

    #[test]
    fn non_finite_target_is_ignored() {
        let mut s = LinearSmoother::new(0.5, 10);
        s.set_target(f32::NAN);
        assert_eq!(s.next_value(), 0.5);
    }
}
