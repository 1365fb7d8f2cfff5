//! Peak picking on the pitch tracker's lag curves (NSDF and YIN): parabolic interpolation,
//! key maxima and the refinement of a period on the peaks at its multiples.

/// Refines `period` (a peak of `curve` with height `value`) on the peaks at its multiples:
/// the peak near `k·period` locates the period `k` times more precisely, since the
/// interpolation error of a peak does not grow with its lag. `k` doubles while the predicted
/// peak lies inside `curve` and stays clearly present (at least half as high); each step
/// looks within ±1 lag of the prediction, which the previous step's precision guarantees.
#[inline(always)]
pub(super) fn refine_on_multiples(curve: &[f32], period: f32, value: f32) -> f32 {
    let last = curve.len() - 2;
    let mut period = period;
    let mut k = 1usize;
    loop {
        let next = 2 * k;
        let predicted = period * next as f32;
        if predicted.is_nan() || predicted + 1.0 >= last as f32 {
            return period;
        }
        let c = predicted.round() as usize;
        let mut i = c;
        if curve[c - 1] > curve[i] {
            i = c - 1;
        }
        if curve[c + 1] > curve[i] {
            i = c + 1;
        }
        // A true local maximum, and clearly present.
        if i == 0 || i > last || curve[i - 1] > curve[i] || curve[i + 1] > curve[i] {
            return period;
        }
        if curve[i] < 0.5 * value {
            return period;
        }
        let (offset, _) = parabolic_peak(curve[i - 1], curve[i], curve[i + 1]);
        period = (i as f32 + offset) / next as f32;
        k = next;
    }
}

/// Calls `f(lag, offset, value)` for each key maximum of `nsdf` (the highest point of each
/// positive lobe after the first negative-going zero crossing) whose lag lies in `[lo, hi)`
/// and which is a true interior maximum; `offset` and `value` are its parabolic refinement.
/// A NaN is not above 0 (it ends a lobe and is skipped like a negative value).
#[inline(always)]
pub(super) fn for_each_key_max(
    nsdf: &[f32],
    lo: usize,
    hi: usize,
    mut f: impl FnMut(usize, f32, f32),
) {
    // Every index read is at most `hi`: one bounds check here instead of one per read.
    let nsdf = &nsdf[..=hi];
    // Skip the lobe around lag 0.
    let mut t = run_end(nsdf, 1, hi, true);
    loop {
        t = run_end(nsdf, t, hi, false);
        if t >= hi {
            return;
        }
        let start = t;
        t = run_end(nsdf, start, hi, true);
        let peak = start + first_max(&nsdf[start..t]);
        // A lobe cut off at `hi` counts only if its maximum is interior.
        let interior = peak + 1 < hi || nsdf[hi] < nsdf[peak];
        if peak >= lo && interior {
            let (offset, value) = parabolic_peak(nsdf[peak - 1], nsdf[peak], nsdf[peak + 1]);
            f(peak, offset, value);
        }
        if t >= hi {
            return;
        }
    }
}

/// Samples per step of the scans below: a whole step is compared at once (vectorizes), and
/// only the step in which a run ends is walked sample by sample.
const STEP: usize = 8;

/// The first index from `t` on (`hi` at most) whose sample is not above 0 (`positive`), or
/// is above 0 (not `positive`).
#[inline(always)]
fn run_end(curve: &[f32], mut t: usize, hi: usize, positive: bool) -> usize {
    let whole = if positive { STEP } else { 0 };
    while t + STEP <= hi {
        let above = curve[t..t + STEP].iter().filter(|&&v| v > 0.0).count();
        if above != whole {
            break;
        }
        t += STEP;
    }
    while t < hi && (curve[t] > 0.0) == positive {
        t += 1;
    }
    t
}

/// The index of the first maximum of `run` (not empty; its samples are above 0, so none is
/// NaN): what a walk keeping the first strictly higher sample finds.
#[inline(always)]
fn first_max(run: &[f32]) -> usize {
    let mut lanes = [f32::NEG_INFINITY; STEP];
    let steps = run.chunks_exact(STEP);
    let mut top = steps
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    for step in steps {
        for (m, &v) in lanes.iter_mut().zip(step) {
            *m = m.max(v);
        }
    }
    top = lanes.iter().fold(top, |m, &v| m.max(v));
    let mut from = 0;
    for step in run.chunks_exact(STEP) {
        if step.iter().filter(|&&v| v == top).count() > 0 {
            break;
        }
        from += STEP;
    }
    from + run[from..].iter().position(|&v| v == top).unwrap_or(0)
}

/// Vertex of the parabola through (−1, a), (0, b), (1, c): (offset in [−0.5, 0.5], value).
#[inline(always)]
pub(super) fn parabolic_peak(a: f32, b: f32, c: f32) -> (f32, f32) {
    let curvature = a - 2.0 * b + c;
    if curvature >= 0.0 || !curvature.is_finite() {
        return (0.0, b);
    }
    let offset = (0.5 * (a - c) / curvature).clamp(-0.5, 0.5);
    let value = b - 0.25 * (a - c) * offset;
    (offset, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key maxima as a walk sample by sample finds them (the scan before the steps,
    /// which stopped for good at a NaN; a NaN is not above 0 here, as in the steps).
    fn walked(nsdf: &[f32], lo: usize, hi: usize) -> Vec<(usize, f32, f32)> {
        let above = |v: f32| v > 0.0;
        let mut found = Vec::new();
        let mut t = 1;
        while t < hi && nsdf[t] > 0.0 {
            t += 1;
        }
        loop {
            while t < hi && !above(nsdf[t]) {
                t += 1;
            }
            if t >= hi {
                return found;
            }
            let mut peak = t;
            while t < hi && nsdf[t] > 0.0 {
                if nsdf[t] > nsdf[peak] {
                    peak = t;
                }
                t += 1;
            }
            let interior = peak + 1 < hi || nsdf[hi] < nsdf[peak];
            if peak >= lo && interior {
                let (offset, value) = parabolic_peak(nsdf[peak - 1], nsdf[peak], nsdf[peak + 1]);
                found.push((peak, offset, value));
            }
            if t >= hi {
                return found;
            }
        }
    }

    /// The stepped scan finds exactly the walk's key maxima on curves with lobes of every
    /// length from 1 sample up, flat tops (ties: the first wins), exact zeros and NaNs, at
    /// every end `hi`.
    #[test]
    fn stepped_scan_finds_the_walks_key_maxima() {
        let mut seed = 3u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32
        };
        for case in 0..400 {
            let len = 20 + case % 300;
            let period = 1.0 + 40.0 * next();
            let curve: Vec<f32> = (0..len)
                .map(|i| {
                    let r = next();
                    if r < 0.02 {
                        0.0
                    } else if r < 0.03 && case % 2 == 0 {
                        f32::NAN
                    } else {
                        // Quantized, so that tops are often flat.
                        let v = (i as f32 / period * std::f32::consts::TAU).cos() + 0.3 * next();
                        (v * 8.0).round() / 8.0
                    }
                })
                .collect();
            for hi in [len - 1, len - 2, len / 2 + 1] {
                let lo = case % 7;
                let mut got = Vec::new();
                for_each_key_max(&curve, lo, hi, |i, o, v| got.push((i, o, v)));
                let want = walked(&curve, lo, hi);
                assert_eq!(got.len(), want.len(), "case {case} hi {hi}");
                for (g, w) in got.iter().zip(&want) {
                    assert_eq!(g.0, w.0, "case {case} hi {hi}");
                    assert_eq!(g.1.to_bits(), w.1.to_bits(), "case {case} hi {hi}");
                    assert_eq!(g.2.to_bits(), w.2.to_bits(), "case {case} hi {hi}");
                }
            }
        }
    }
}
