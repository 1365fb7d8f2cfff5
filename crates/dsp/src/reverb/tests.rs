//! Unit tests of the reverb's planner and kernels.

use super::kernels::*;
use super::*;
use crate::real_fft::{re_index, LANES};

/// Deterministic noise in [-1, 1).
fn noise(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

/// Naive convolution, f64 accumulation.
fn direct(x: &[f32], ir: &[f32]) -> Vec<f32> {
    (0..x.len())
        .map(|t| {
            (0..ir.len().min(t + 1))
                .map(|m| ir[m] as f64 * x[t - m] as f64)
                .sum::<f64>() as f32
        })
        .collect()
}

fn max_err(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// An IR with unit energy and a room-like decay.
fn ir(len: usize, seed: u32) -> Vec<f32> {
    let mut v = noise(len, seed);
    for (i, t) in v.iter_mut().enumerate() {
        *t *= (-6.9 * i as f32 / len as f32).exp();
    }
    let g = 1.0 / v.iter().map(|t| t * t).sum::<f32>().sqrt();
    v.iter_mut().for_each(|t| *t *= g);
    v
}

#[test]
fn plans_cover_the_ir_with_aligned_levels() {
    for len in (1..3000)
        .step_by(37)
        .chain([48_000, 144_000, 576_000, 1 << 20])
    {
        let plan = Plan::choose(0, len);
        assert!(plan.head >= 1);
        assert_eq!(plan.start, plan.head, "{len}: {plan:?}");
        let mut offset = plan.head;
        for &(size, parts) in &plan.levels {
            assert!(
                size.is_power_of_two() && size <= MAX_PARTITION,
                "{len}: {plan:?}"
            );
            assert!(parts >= 1 && offset.is_multiple_of(size), "{len}: {plan:?}");
            assert!(offset < len, "{len}: a level past the IR's end: {plan:?}");
            offset += size * parts;
        }
        assert!(offset >= len, "{len}: plan covers {offset} taps: {plan:?}");
        if let Some(&(first, _)) = plan.levels.first() {
            assert_eq!(first, plan.head, "{len}: {plan:?}");
        }
        let sizes: Vec<usize> = plan.levels.iter().map(|l| l.0).collect();
        assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{len}: {plan:?}");
    }
}

#[test]
fn a_silent_lead_costs_no_head_and_no_small_level() {
    // A room cut after a 40 ms body at 48 kHz: silent for its first 1,441 taps.
    let plain = Plan::choose(0, 48_000);
    let room = Plan::choose(1_441, 48_000);
    assert_eq!(room.head, 1, "{room:?}");
    let first = room.levels[0].0;
    assert!(
        room.start.is_multiple_of(first) && room.start >= first && room.start <= 1_441,
        "{room:?}"
    );
    let mut offset = room.start;
    for &(size, parts) in &room.levels {
        assert!(offset.is_multiple_of(size), "{room:?}");
        offset += size * parts;
    }
    assert!(offset >= 48_000, "{room:?}");
    // No larger partitions than without the lead (the slowest block does the largest's FFTs).
    let largest = |p: &Plan| p.levels.iter().map(|l| l.0).max();
    assert!(
        largest(&room) <= largest(&plain),
        "{room:?} against {plain:?}"
    );
    // Fewer levels and no direct taps: cheaper under the cost model.
    let cost = |p: &Plan| {
        let mut offset = p.start;
        let mut c = plan::cost::FIR_TAP * p.head as f64;
        for &(size, parts) in &p.levels {
            c += plan::cost::level(size) + parts as f64 * plan::cost::partition(size);
            offset += size * parts;
        }
        assert!(offset >= 48_000);
        c
    };
    assert!(
        cost(&room) < 0.8 * cost(&plain),
        "{room:?} against {plain:?}"
    );
    // Too short a lead to skip anything: the plain plan.
    assert_eq!(Plan::choose(20, 48_000), plain);
}

#[test]
fn irs_that_start_with_silence_match_direct_convolution() {
    let x = noise(30_000, 8);
    for lead in [1, 31, 32, 200, 1_441, 5_000] {
        let mut h = ir(9_000, 9);
        h[..lead].fill(0.0);
        let want = direct(&x, &h);
        let mut rev = ConvolutionReverb::new(&h, 256);
        let mut got = vec![0.0; x.len()];
        for (i, o) in x.chunks(100).zip(got.chunks_mut(100)) {
            rev.process(i, o);
        }
        let err = max_err(&got, &want);
        assert!(err < 1e-5, "lead {lead} ({rev:?}): error {err}");
    }
}

#[test]
fn explicit_plans_with_fdl_delays_match_direct_convolution() {
    // Levels that start beyond their own size read older FDL rows (delay > 0).
    assert_eq!(SPREAD_MIN, 4096, "update the last plan");
    let h = ir(9000, 3);
    let x = noise(30_000, 4);
    let want = direct(&x, &h);
    for plan in [
        Plan {
            head: 128,
            start: 128,
            levels: vec![(128, 15), (1024, 2), (4096, 2)],
        },
        Plan {
            head: 64,
            start: 64,
            levels: vec![(64, 3), (128, 2), (512, 1), (1024, 9)],
        },
        Plan {
            head: 256,
            start: 256,
            levels: vec![(256, 3), (512, 4), (1024, 6)],
        },
        // A spread level (p ≥ SPREAD_MIN) with a delay of one block.
        Plan {
            head: 128,
            start: 128,
            levels: vec![(128, 63), (SPREAD_MIN, 1)],
        },
    ] {
        let mut rev = ConvolutionReverb::with_plan(&h, 256, Some(plan.clone()));
        let mut got = vec![0.0; x.len()];
        for (i, o) in x.chunks(333).zip(got.chunks_mut(333)) {
            rev.process(i, o);
        }
        let err = max_err(&got, &want);
        assert!(err < 1e-5, "{plan:?}: error {err}");
    }
}

#[test]
fn portable_kernels_match_the_reference() {
    // The whole reverb on the portable kernels (the AVX2 ones are covered by the
    // integration tests on machines that have AVX2).
    let h = ir(20_000, 5);
    let x = noise(40_000, 6);
    let want = direct(&x, &h);
    let mut rev = ConvolutionReverb::new(&h, 512);
    rev.kernels = Kernels { avx2_fma: false };
    let mut got = vec![0.0; x.len()];
    for (i, o) in x.chunks(100).zip(got.chunks_mut(100)) {
        rev.process(i, o);
    }
    let err = max_err(&got, &want);
    assert!(err < 1e-5, "portable kernels: error {err}");
}

#[test]
fn simd_kernels_agree_with_portable_ones() {
    let k = Kernels::detect();
    if !k.avx2_fma {
        return;
    }
    let p = Kernels { avx2_fma: false };
    // FIR, for span lengths that exercise every tile size.
    for taps_len in [1usize, 5, 64, 129] {
        let taps = noise(taps_len, 7);
        for n in [1usize, 7, 8, 9, 63, 64, 65, 128, 200] {
            let hist = noise(taps_len - 1 + n, 8);
            let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
            k.fir(&taps, &hist, &mut a);
            p.fir(&taps, &hist, &mut b);
            assert!(max_err(&a, &b) < 1e-5, "fir {taps_len} taps, {n} outputs");
        }
    }
    // Multiply-accumulate.
    let bins: usize = 129;
    let row = 2 * bins.next_multiple_of(LANES);
    let x = noise(5 * row, 10);
    let h = noise(5 * row, 11);
    fn at<const G: usize>(rows: [usize; G], row: usize) -> [usize; G] {
        rows.map(|r| r * row)
    }
    let (mut a, mut b) = (noise(row, 12), noise(row, 12));
    k.cmac::<4, false>(&mut a, &x, at([4, 0, 2, 1], row), &h, at([0, 1, 2, 3], row));
    p.cmac::<4, false>(&mut b, &x, at([4, 0, 2, 1], row), &h, at([0, 1, 2, 3], row));
    k.cmac::<3, false>(&mut a, &x, at([3, 3, 1], row), &h, at([4, 2, 0], row));
    p.cmac::<3, false>(&mut b, &x, at([3, 3, 1], row), &h, at([4, 2, 0], row));
    assert!(max_err(&a, &b) < 1e-5);
    k.cmac::<2, true>(&mut a, &x, at([0, 1], row), &h, at([1, 0], row));
    p.cmac::<2, true>(&mut b, &x, at([0, 1], row), &h, at([1, 0], row));
    assert!(max_err(&a, &b) < 1e-5);
    // And the product itself is right: bin 3 of x-row 0 times h-row 1.
    k.cmac::<1, true>(&mut a, &x, [0], &h, [row]);
    let i = re_index(3);
    let xc = Complex::new(x[i], x[i + LANES]);
    let hc = Complex::new(h[row + i], h[row + i + LANES]);
    let want = xc * hc;
    assert!((a[i] - want.re).abs() < 1e-6 && (a[i + LANES] - want.im).abs() < 1e-6);
}

#[test]
fn tiny_and_non_finite_ir_taps_are_cleaned() {
    let mut h = vec![0.0f32; 1000];
    h[0] = 1.0;
    h[10] = f32::NAN;
    h[20] = 1e-20; // −400 dB: flushed
    h[30] = f32::from_bits(5); // subnormal: flushed
    h[500] = 0.5;
    let mut rev = ConvolutionReverb::new(&h, 64);
    let mut x = vec![0.0f32; 1200];
    x[0] = 1.0;
    let mut y = vec![0.0f32; 1200];
    rev.process(&x, &mut y);
    let mut want = vec![0.0f32; 1200];
    want[0] = 1.0;
    want[500] = 0.5;
    assert!(max_err(&y, &want) < 1e-6);
}

/// Runs `reverb` over `x` in blocks of the sizes in `blocks` (cycled), toward `other` at the
/// per-sample `amounts` when given.
fn run_toward(
    reverb: &mut ConvolutionReverb,
    x: &[f32],
    blocks: &[usize],
    toward: Option<(&ConvolutionReverb, &[f32])>,
) -> Vec<f32> {
    let mut out = vec![0.0; x.len()];
    let mut at = 0;
    for &b in blocks.iter().cycle() {
        if at == x.len() {
            break;
        }
        let end = (at + b).min(x.len());
        match toward {
            Some((o, t)) => reverb.process_toward(&x[at..end], &mut out[at..end], o, &t[at..end]),
            None => reverb.process(&x[at..end], &mut out[at..end]),
        }
        at = end;
    }
    out
}

/// Two rooms as the engine has them: 1 s IRs at 48 kHz (levels up to 4096, the largest
/// spreading its work), and a signal of 3 s.
fn two_rooms() -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    (ir(48_000, 1), ir(48_000, 2), noise(144_000, 3))
}

#[test]
fn a_blend_at_zero_is_the_own_room_and_at_one_the_other_room() {
    let (ir_a, ir_b, x) = two_rooms();
    let b = ConvolutionReverb::new(&ir_b, 512);
    assert!(ConvolutionReverb::new(&ir_a, 512).blends_with(&b));
    let blocks = [128, 37, 512, 1, 300];
    // A fresh reverb of room A, blended toward B by a fixed `t`.
    let a_toward_b = |t: f32| {
        let amounts = vec![t; x.len()];
        let mut a = ConvolutionReverb::new(&ir_a, 512);
        run_toward(&mut a, &x, &blocks, Some((&b, &amounts)))
    };
    let own = run_toward(&mut ConvolutionReverb::new(&ir_a, 512), &x, &blocks, None);
    assert!(own == a_toward_b(0.0), "t = 0 differs from the own room");
    let theirs = run_toward(&mut ConvolutionReverb::new(&ir_b, 512), &x, &blocks, None);
    let at_one = a_toward_b(1.0);
    assert!(theirs == at_one, "t = 1 differs from the other room");
    assert!(max_err(&own, &theirs) > 0.1, "the two rooms sound alike");
}

#[test]
fn a_held_blend_is_the_blended_impulse_response() {
    let (ir_a, ir_b, x) = two_rooms();
    let b = ConvolutionReverb::new(&ir_b, 256);
    let t = 0.3f32;
    let mixed: Vec<f32> = ir_a
        .iter()
        .zip(&ir_b)
        .map(|(a, b)| (1.0 - t) * a + t * b)
        .collect();
    let want = run_toward(&mut ConvolutionReverb::new(&mixed, 256), &x, &[256], None);
    let amounts = vec![t; x.len()];
    let got = run_toward(
        &mut ConvolutionReverb::new(&ir_a, 256),
        &x,
        &[256],
        Some((&b, &amounts)),
    );
    let peak = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let err = max_err(&got, &want);
    assert!(err < 1e-5 * peak, "error {err} against peak {peak}");
}

#[test]
fn a_moving_blend_settles_on_the_other_room_whatever_the_blocks() {
    let (ir_a, ir_b, x) = two_rooms();
    let b = ConvolutionReverb::new(&ir_b, 512);
    // 0 → 1 over the first 20,000 samples, then held.
    let ramp = 20_000;
    let amounts: Vec<f32> = (0..x.len())
        .map(|i| (i as f32 / ramp as f32).min(1.0))
        .collect();
    let fixed = run_toward(
        &mut ConvolutionReverb::new(&ir_a, 512),
        &x,
        &[128],
        Some((&b, &amounts)),
    );
    let odd = run_toward(
        &mut ConvolutionReverb::new(&ir_a, 512),
        &x,
        &[1, 129, 512, 64, 7],
        Some((&b, &amounts)),
    );
    assert!(fixed == odd, "the block sizes changed a moving blend");
    // Once every part has taken up t = 1 (a block of the largest partition, 4,096 samples,
    // to take it up and one more to play it), the output is the other room's, tail of the
    // earlier input included.
    let theirs = run_toward(&mut ConvolutionReverb::new(&ir_b, 512), &x, &[128], None);
    let settled = ramp + 3 * 4096;
    assert!(fixed[settled..] == theirs[settled..], "not the other room");
    // Halfway through the ramp, it is neither room.
    let mid = ramp / 2..ramp / 2 + 2_000;
    let own = run_toward(&mut ConvolutionReverb::new(&ir_a, 512), &x, &[128], None);
    assert!(max_err(&fixed[mid.clone()], &own[mid.clone()]) > 1e-3);
    assert!(max_err(&fixed[mid.clone()], &theirs[mid]) > 1e-3);
}

#[test]
fn rooms_cut_differently_do_not_blend() {
    let (ir_a, _, x) = two_rooms();
    let short = ConvolutionReverb::new(&ir(1_000, 4), 128);
    let mut a = ConvolutionReverb::new(&ir_a, 128);
    assert!(!a.blends_with(&short));
    let ones = vec![1.0; x.len()];
    let got = run_toward(
        &mut a,
        &x[..20_000],
        &[128],
        Some((&short, &ones[..20_000])),
    );
    let own = run_toward(
        &mut ConvolutionReverb::new(&ir_a, 128),
        &x[..20_000],
        &[128],
        None,
    );
    assert!(
        got == own,
        "a room that cannot blend must stay the own room"
    );
}
