//! The body response: a fixed gain over frequency, learned with the network, that shapes the
//! harmonic distribution in Hz (an instrument body's or a bell's resonances stay where they
//! are when the pitch moves, which the decoder's per-harmonic output cannot hold on its own).
//!
//! The response is [`BODY_BINS`] values in dB on a log-frequency grid from [`BODY_LOW_HZ`],
//! [`BODY_BINS_PER_OCTAVE`] bins per octave (32 Hz to 8,192 Hz), interpolated linearly in dB
//! between bins and held flat beyond the ends. Harmonic `k` of a voiced frame is multiplied by
//! the gain at `k · f0` *before* [`crate::normalize_harmonics`], so the body shapes the
//! distribution and leaves the overall amplitude to the network. A model without a body
//! response (every format-1 file) plays its distribution unchanged. The training crate applies
//! the same definition to its tensors.

/// Frequency of the first bin, in Hz.
pub const BODY_LOW_HZ: f32 = 32.0;
/// Bins per octave.
pub const BODY_BINS_PER_OCTAVE: usize = 8;
/// Number of bins: eight octaves, both ends included (32 Hz to 8,192 Hz).
pub const BODY_BINS: usize = 8 * BODY_BINS_PER_OCTAVE + 1;
/// Largest gain magnitude a file may hold, in dB.
pub const BODY_MAX_DB: f32 = 60.0;

/// Where `freq_hz` lies on the grid: the lower bin and the fraction toward the next, in
/// `0..BODY_BINS - 1` and `[0, 1]` (frequencies outside the grid, and NaN, clamp to its ends).
pub fn body_bin(freq_hz: f32) -> (usize, f32) {
    let top = (BODY_BINS - 1) as f32;
    let pos = if freq_hz > BODY_LOW_HZ {
        ((freq_hz / BODY_LOW_HZ).log2() * BODY_BINS_PER_OCTAVE as f32).min(top)
    } else {
        0.0
    };
    let lower = (pos as usize).min(BODY_BINS - 2);
    (lower, pos - lower as f32)
}

/// The response `body_db` at `freq_hz`, in dB (0 when `body_db` is not [`BODY_BINS`] long).
pub fn body_gain_db(body_db: &[f32], freq_hz: f32) -> f32 {
    if body_db.len() != BODY_BINS {
        return 0.0;
    }
    let (i, w) = body_bin(freq_hz);
    body_db[i] * (1.0 - w) + body_db[i + 1] * w
}

/// Multiplies harmonic `k` (1-based) of the unnormalized distribution `dist` by the linear
/// gain of `body_db` at `k · f0_hz`. Does nothing without a body response or on an unvoiced
/// frame (where a gain common to all harmonics would cancel in the normalization anyway). In
/// place; no allocation.
pub fn apply_body(dist: &mut [f32], f0_hz: f32, body_db: &[f32]) {
    if body_db.len() != BODY_BINS || !(f0_hz > 0.0 && f0_hz.is_finite()) {
        return;
    }
    for (k, d) in dist.iter_mut().enumerate() {
        let db = body_gain_db(body_db, (k + 1) as f32 * f0_hz);
        *d *= (db * (std::f32::consts::LN_10 / 20.0)).exp();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_runs_from_32_hz_to_8192_hz() {
        assert_eq!(body_bin(BODY_LOW_HZ), (0, 0.0));
        assert_eq!(body_bin(64.0), (8, 0.0));
        let (i, w) = body_bin(8192.0);
        assert_eq!((i, w), (BODY_BINS - 2, 1.0));
        assert_eq!(body_bin(10.0), (0, 0.0));
        assert_eq!(body_bin(f32::NAN), (0, 0.0));
        assert_eq!(body_bin(20_000.0), (BODY_BINS - 2, 1.0));
        // Halfway between two bins in log frequency.
        let (i, w) = body_bin(64.0 * 2f32.powf(0.5 / 8.0));
        assert_eq!(i, 8);
        assert!((w - 0.5).abs() < 1e-4, "{w}");
    }

    #[test]
    fn gains_interpolate_in_db_and_shape_only_the_distribution() {
        let mut body = vec![0.0; BODY_BINS];
        body[8] = -6.0; // 64 Hz
        body[16] = 12.0; // 128 Hz
        assert_eq!(body_gain_db(&body, 64.0), -6.0);
        assert_eq!(body_gain_db(&body, 128.0), 12.0);
        assert!((body_gain_db(&body, 64.0 * 2f32.powf(0.5 / 8.0)) + 3.0).abs() < 1e-3);
        assert_eq!(body_gain_db(&[], 128.0), 0.0);
        // f0 = 64 Hz: harmonic 1 at 64 Hz (−6 dB), harmonic 2 at 128 Hz (+12 dB).
        let mut dist = vec![1.0, 1.0, 1.0];
        apply_body(&mut dist, 64.0, &body);
        assert!((dist[0] - 0.501).abs() < 1e-3, "{dist:?}");
        assert!((dist[1] - 3.981).abs() < 1e-3, "{dist:?}");
        // Unvoiced, or no body: unchanged.
        let mut same = vec![1.0, 2.0];
        apply_body(&mut same, 0.0, &body);
        apply_body(&mut same, 100.0, &[]);
        assert_eq!(same, [1.0, 2.0]);
    }
}
