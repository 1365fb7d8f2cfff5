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
#[inline(always)]
pub(super) fn for_each_key_max(
    nsdf: &[f32],
    lo: usize,
    hi: usize,
    mut f: impl FnMut(usize, f32, f32),
) {
    // Every index read is at most `hi`: one bounds check here instead of one per read.
    let nsdf = &nsdf[..=hi];
    let mut t = 1;
    // Skip the lobe around lag 0.
    while t < hi && nsdf[t] > 0.0 {
        t += 1;
    }
    loop {
        while t < hi && nsdf[t] <= 0.0 {
            t += 1;
        }
        if t >= hi {
            return;
        }
        let mut peak = t;
        while t < hi && nsdf[t] > 0.0 {
            if nsdf[t] > nsdf[peak] {
                peak = t;
            }
            t += 1;
        }
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
