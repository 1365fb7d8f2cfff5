//! The model's learned reverb impulse response, brought to the host rate.

use timbre_dsp::offline::resample_clip;

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

#[cfg(test)]
mod tests {
    use super::*;

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
