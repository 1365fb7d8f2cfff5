//! Pitch fidelity and loudness tracking: the output's analysed f0 and loudness against the
//! input's, frame by frame (the frames of `timbre_dsp::analysis`, 250 per second).

use timbre_dsp::analysis::Frame;

/// Frames on each side of a frame that must also be voiced for the frame to count: the
/// analysis window (32 ms, 8 hops) must lie inside one voiced stretch, not straddle an onset.
pub const VOICED_MARGIN: usize = 8;
/// Tolerance of the "within" figure, in cents.
pub const WITHIN_CENTS: f32 = 50.0;
/// Frames count in the loudness correlation when the input is louder than this (A-weighted
/// dB): the sounding part of the input, where the output must follow it, and not the silence
/// after it, where the gate's release and the synth's decay are a choice, not an error.
pub const ACTIVE_LOUDNESS_DB: f32 = -60.0;

/// Absolute pitch errors in cents of `output` against the `expected` f0 (Hz, one per frame),
/// over the frames where `voiced` holds for the frame and its [`VOICED_MARGIN`] neighbours.
/// An output frame with no pitch (f0 = 0) counts as an infinite error.
pub fn pitch_errors(expected: &[f32], voiced: &[bool], output: &[Frame]) -> Vec<f32> {
    let n = expected.len().min(voiced.len()).min(output.len());
    (VOICED_MARGIN..n.saturating_sub(VOICED_MARGIN))
        .filter(|&i| {
            voiced[i - VOICED_MARGIN..=i + VOICED_MARGIN]
                .iter()
                .all(|&v| v)
        })
        .map(|i| {
            let got = output[i].f0_hz;
            if got > 0.0 && expected[i] > 0.0 {
                (1200.0 * (got / expected[i]).log2()).abs()
            } else {
                f32::INFINITY
            }
        })
        .collect()
}

/// Summary of pitch errors.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct PitchFidelity {
    /// Median absolute error in cents.
    pub median_cents: f32,
    /// Percentage of voiced frames within [`WITHIN_CENTS`].
    pub within_50_percent: f32,
    /// Frames measured.
    pub frames: usize,
}

/// Median and within-50-cents share of `errors` (cents); `None` when empty.
pub fn summarize(errors: &[f32]) -> Option<PitchFidelity> {
    if errors.is_empty() {
        return None;
    }
    let mut sorted = errors.to_vec();
    sorted.sort_by(f32::total_cmp);
    let mid = sorted.len() / 2;
    let median = if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        0.5 * (sorted[mid - 1] + sorted[mid])
    };
    let within = errors.iter().filter(|&&e| e <= WITHIN_CENTS).count();
    Some(PitchFidelity {
        median_cents: median,
        within_50_percent: 100.0 * within as f32 / errors.len() as f32,
        frames: errors.len(),
    })
}

/// The `(input, output)` loudness pairs (dB) of the frames where the input is above
/// [`ACTIVE_LOUDNESS_DB`]. An output that stays silent there counts (at its −80 dB floor).
pub fn loudness_pairs(input: &[f32], output: &[f32]) -> Vec<(f32, f32)> {
    lagged_loudness_pairs(input, output, 0)
}

/// [`loudness_pairs`] with input frame `i` paired with output frame `i + lag` (frames without a
/// partner are left out).
pub fn lagged_loudness_pairs(input: &[f32], output: &[f32], lag: isize) -> Vec<(f32, f32)> {
    input
        .iter()
        .enumerate()
        .filter(|(_, &i)| i > ACTIVE_LOUDNESS_DB)
        .filter_map(|(n, &i)| {
            let m = n as isize + lag;
            (m >= 0)
                .then(|| output.get(m as usize))
                .flatten()
                .map(|&o| (i, o))
        })
        .collect()
}

/// Pearson correlation of the pairs; `None` with fewer than two or a constant side.
pub fn correlation(pairs: &[(f32, f32)]) -> Option<f32> {
    if pairs.len() < 2 {
        return None;
    }
    let n = pairs.len() as f64;
    let (ma, mb) = pairs.iter().fold((0.0, 0.0), |(a, b), &(x, y)| {
        (a + x as f64 / n, b + y as f64 / n)
    });
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for &(x, y) in pairs {
        let (da, db) = (x as f64 - ma, y as f64 - mb);
        sab += da * db;
        saa += da * da;
        sbb += db * db;
    }
    (saa > 0.0 && sbb > 0.0).then(|| (sab / (saa * sbb).sqrt()) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(f0_hz: f32, loudness_db: f32) -> Frame {
        Frame {
            f0_hz,
            confidence: 1.0,
            loudness_db,
        }
    }

    #[test]
    fn errors_skip_frames_near_unvoiced_ones_and_count_missing_pitch_as_infinite() {
        let n = 40;
        let expected = vec![440.0; n];
        let mut voiced = vec![true; n];
        voiced[20] = false;
        let mut output: Vec<Frame> = (0..n)
            .map(|_| frame(440.0 * 2f32.powf(1.0 / 12.0), -20.0))
            .collect();
        output[10].f0_hz = 0.0;
        let errors = pitch_errors(&expected, &voiced, &output);
        // Frames 8..=11 and 29..=31: 12..=28 lie within 8 of frame 20, and 0..8 and 32..40
        // have no full margin inside the clip.
        assert_eq!(errors.len(), 7);
        assert!(errors.iter().filter(|e| e.is_infinite()).count() == 1);
        assert!(errors
            .iter()
            .filter(|e| e.is_finite())
            .all(|e| (e - 100.0).abs() < 0.01));
        let s = summarize(&errors).unwrap();
        assert!((s.median_cents - 100.0).abs() < 0.01);
        assert_eq!(s.within_50_percent, 0.0);
    }

    #[test]
    fn summary_counts_the_share_within_50_cents() {
        let s = summarize(&[1.0, 2.0, 3.0, 60.0]).unwrap();
        assert_eq!(s.median_cents, 2.5);
        assert_eq!(s.within_50_percent, 75.0);
        assert!(summarize(&[]).is_none());
    }

    #[test]
    fn correlation_of_a_linear_map_is_one_and_of_a_reversed_one_minus_one() {
        let input: Vec<f32> = (0..50).map(|i| -70.0 + i as f32).collect();
        let up: Vec<f32> = input.iter().map(|l| 2.0 * l + 3.0).collect();
        let down: Vec<f32> = input.iter().map(|l| -l - 100.0).collect();
        let pairs = loudness_pairs(&input, &up);
        assert_eq!(
            pairs.len(),
            39,
            "the 11 input frames at or below -60 dB are left out"
        );
        assert!(pairs.iter().all(|&(i, _)| i > -60.0));
        assert!((correlation(&pairs).unwrap() - 1.0).abs() < 1e-6);
        assert!((correlation(&loudness_pairs(&input, &down)).unwrap() + 1.0).abs() < 1e-6);
        assert!(correlation(&[(1.0, 2.0), (1.0, 3.0)]).is_none());
    }

    #[test]
    fn lagged_pairs_realign_a_delayed_envelope() {
        let input: Vec<f32> = (0..200)
            .map(|i| -30.0 + 10.0 * (i as f32 * 0.1).sin())
            .collect();
        let delayed: Vec<f32> = (0..200).map(|i| input[i.max(3) - 3] - 12.0).collect();
        let pairs = lagged_loudness_pairs(&input, &delayed, 3);
        assert_eq!(pairs.len(), 197);
        assert!((correlation(&pairs).unwrap() - 1.0).abs() < 1e-5);
        let unaligned = correlation(&loudness_pairs(&input, &delayed)).unwrap();
        assert!(unaligned < 0.96, "{unaligned}");
    }
}
