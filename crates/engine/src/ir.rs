//! The model's learned reverb impulse response, brought to the host rate.

use timbre_dsp::offline::resample_clip;
use timbre_dsp::rng::NoiseRng;

use crate::error::EngineError;

/// Resamples `ir` from `ir_rate` to `host_rate`, keeping its energy per second (a longer IR
/// at a higher rate would otherwise ring louder: the gain is scaled by `ir_rate / host_rate`).
/// Allocates; runs when a model is loaded, never on the audio thread.
pub fn resample_ir(ir: &[f32], ir_rate: f64, host_rate: f64) -> Result<Vec<f32>, EngineError> {
    if ir.is_empty() || ir_rate == host_rate {
        return Ok(ir.to_vec());
    }
    let mut out = resample_clip(ir, ir_rate, host_rate).map_err(EngineError::ReverbResample)?;
    let gain = (ir_rate / host_rate) as f32;
    for x in &mut out {
        *x *= gain;
    }
    Ok(out)
}

/// Level of the side reverb against the middle one. 0.6 leaves the wet left/right
/// correlation near (1 − 0.36)/(1 + 0.36) ≈ 0.47 for a noise-like tail and raises each
/// channel's wet level by 1.3 dB, while the mono sum stays exactly the plain reverb.
pub const STEREO_WIDTH: f32 = 0.6;
/// Length of the decorrelating velvet-noise filter, in ms.
const DECORRELATOR_MS: f64 = 20.0;
/// Pulses per second of the velvet noise.
const DECORRELATOR_DENSITY_HZ: f64 = 1500.0;
/// Decay time constant of the velvet noise's pulses, in ms.
const DECORRELATOR_DECAY_MS: f64 = 6.0;
/// The side starts silent and fades in over this time, in ms, so the onset of the tail (the
/// room's first answer) stays in the centre.
const SIDE_FADE_IN_MS: f64 = 5.0;
/// The side is high-passed here, in Hz: bass stays centred (no out-of-phase lows).
const SIDE_HIGH_PASS_HZ: f64 = 150.0;
/// Seed of the velvet noise: the same side IR for the same model, every time.
const DECORRELATOR_SEED: u32 = 0x51DE;

/// The side impulse response of the stereo reverb, from the (host-rate) middle one: the IR
/// convolved with a short, decaying velvet noise (random ±1 pulses), which keeps its long-term
/// spectrum and envelope but decorrelates its fine structure; faded in over the first
/// milliseconds, high-passed below [`SIDE_HIGH_PASS_HZ`] and scaled by [`STEREO_WIDTH`].
/// The same length as `mid`. Deterministic. Allocates; runs when a model is loaded.
pub fn side_ir(mid: &[f32], host_rate: f64) -> Vec<f32> {
    let mut side = vec![0.0f32; mid.len()];
    if mid.is_empty() {
        return side;
    }
    // Velvet noise: one pulse of random sign at a random place in each grid cell.
    let cell = (host_rate / DECORRELATOR_DENSITY_HZ).max(1.0);
    let cells = ((DECORRELATOR_MS * 1e-3 * host_rate) / cell)
        .ceil()
        .max(1.0) as usize;
    let mut rng = NoiseRng::new(DECORRELATOR_SEED);
    let mut pulses: Vec<(usize, f32)> = (0..cells)
        .map(|m| {
            let at = ((m as f64 + 0.5 + 0.5 * f64::from(rng.next_bipolar())) * cell) as usize;
            let sign = if rng.next_u32() & 1 == 0 { 1.0 } else { -1.0 };
            let decay = (-(at as f64) / (DECORRELATOR_DECAY_MS * 1e-3 * host_rate)).exp();
            (at, sign * decay as f32)
        })
        .collect();
    let energy: f32 = pulses.iter().map(|(_, g)| g * g).sum();
    for (_, g) in &mut pulses {
        *g /= energy.sqrt();
    }
    for &(at, gain) in &pulses {
        for (s, &x) in side.iter_mut().skip(at).zip(mid) {
            *s += gain * x;
        }
    }
    let fade = (SIDE_FADE_IN_MS * 1e-3 * host_rate).max(1.0);
    for (n, s) in side.iter_mut().enumerate().take(fade as usize) {
        *s *= (0.5 - 0.5 * (std::f64::consts::PI * n as f64 / fade).cos()) as f32;
    }
    // One-pole high-pass (its pole below Nyquist at every host rate).
    let pole = (-2.0 * std::f64::consts::PI * SIDE_HIGH_PASS_HZ / host_rate).exp() as f32;
    let (mut x_prev, mut y_prev) = (0.0f32, 0.0f32);
    for s in &mut side {
        let x = *s;
        let y = pole * (y_prev + x - x_prev);
        (x_prev, y_prev) = (x, y);
        *s = y * STEREO_WIDTH;
    }
    side
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The side IR is a decorrelated copy of the tail: about the same energy (times the
    /// width), little correlation with the middle, and the same every time.
    #[test]
    fn the_side_ir_is_decorrelated_and_deterministic() {
        let rate = 48_000.0;
        let mut rng = NoiseRng::new(9);
        let mid: Vec<f32> = (0..48_000)
            .map(|n| rng.next_bipolar() * (-(n as f32) / 9_000.0).exp() * 0.05)
            .collect();
        let side = side_ir(&mid, rate);
        assert_eq!(side.len(), mid.len());
        assert_eq!(side, side_ir(&mid, rate));
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let (em, es) = (dot(&mid, &mid), dot(&side, &side));
        let ratio = (es / em).sqrt() / STEREO_WIDTH;
        assert!((0.8..1.1).contains(&ratio), "side/mid level {ratio}");
        let corr = dot(&mid, &side) / (em * es).sqrt();
        assert!(corr.abs() < 0.2, "correlation {corr}");
        assert!(
            side[..10].iter().all(|x| x.abs() < 1e-3),
            "the onset stays centred"
        );
    }

    /// A wet signal's level must not depend on the host rate: convolving a low-frequency sine
    /// with the IR at 16 kHz and at 48 kHz gives the same amplitude.
    #[test]
    fn resampled_ir_keeps_the_wet_level() {
        let ir16: Vec<f32> = (0..1600)
            .map(|n| (-(n as f32) / 300.0).exp() * 0.01)
            .collect();
        let ir48 = resample_ir(&ir16, 16_000.0, 48_000.0).unwrap();
        assert_eq!(ir48.len(), 4800);
        // DC gain (sum of taps) is the response to a slow signal.
        let dc16: f32 = ir16.iter().sum();
        let dc48: f32 = ir48.iter().sum();
        assert!((dc16 - dc48).abs() / dc16 < 0.01, "{dc16} vs {dc48}");
    }
}
