//! Tests of the zero-latency partitioned convolution reverb against a naive convolution.

mod common;

use common::{allocations_during, random_blocks, TestRng};
use timbre_dsp::reverb::ConvolutionReverb;

#[global_allocator]
static A: common::CountingAllocator = common::CountingAllocator;

/// Naive time-domain convolution with f64 accumulation: `y[t] = Σ_m ir[m] · x[t − m]`,
/// truncated to `x.len()` samples.
fn direct_convolution(x: &[f32], ir: &[f32]) -> Vec<f32> {
    (0..x.len())
        .map(|t| {
            let taps = ir.len().min(t + 1);
            (0..taps)
                .map(|m| ir[m] as f64 * x[t - m] as f64)
                .sum::<f64>() as f32
        })
        .collect()
}

/// A random IR of `len` taps with unit energy (so that a full-scale input gives an output of
/// the order of 1, as a reverb's does) and an exponential decay like a room's.
fn random_ir(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = TestRng::new(seed);
    let decay = (-6.9 / len.max(1) as f64).exp(); // −60 dB over the IR
    let mut env = 1.0f64;
    let mut ir: Vec<f32> = (0..len)
        .map(|_| {
            let v = rng.bipolar() as f64 * env;
            env *= decay;
            v as f32
        })
        .collect();
    let energy: f64 = ir.iter().map(|&v| (v as f64) * (v as f64)).sum();
    if energy > 0.0 {
        let g = (1.0 / energy.sqrt()) as f32;
        ir.iter_mut().for_each(|v| *v *= g);
    }
    ir
}

fn random_signal(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = TestRng::new(seed);
    (0..len).map(|_| rng.bipolar()).collect()
}

/// Runs `input` through `rev` in the given block sizes.
fn run_blocks(rev: &mut ConvolutionReverb, input: &[f32], blocks: &[usize]) -> Vec<f32> {
    let mut out = vec![0.0; input.len()];
    let mut at = 0;
    for &n in blocks {
        rev.process(&input[at..at + n], &mut out[at..at + n]);
        at += n;
    }
    assert_eq!(at, input.len());
    out
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn matches_direct_convolution_in_random_blocks() {
    let max_block = 256;
    for (i, &len) in [1usize, 17, 129, 300, 1000, 5000, 48_000]
        .iter()
        .enumerate()
    {
        let ir = random_ir(len, 100 + i as u64);
        // Long enough to cover the whole IR and its largest partitions several times.
        let n = (2 * len + 20_000).min(120_000);
        let input = random_signal(n, 200 + i as u64);
        let want = direct_convolution(&input, &ir);
        let mut rev = ConvolutionReverb::new(&ir, max_block);
        // Random sizes from 1 up to 4x max_block, so some blocks exceed max_block.
        let blocks = random_blocks(n, 4 * max_block, 300 + i as u64);
        assert!(blocks.iter().any(|&b| b > max_block));
        let got = run_blocks(&mut rev, &input, &blocks);
        let err = max_abs_diff(&got, &want);
        eprintln!("IR length {len}: max error {err:.2e} ({rev:?})");
        assert!(err < 1e-5, "IR length {len}: max error {err}");
        // The output is not trivially zero.
        assert!(
            got.iter().any(|v| v.abs() > 0.1),
            "IR length {len}: silent output"
        );
    }
}

#[test]
fn block_size_one_matches_direct_convolution() {
    let ir = random_ir(3000, 7);
    let input = random_signal(9000, 8);
    let want = direct_convolution(&input, &ir);
    let mut rev = ConvolutionReverb::new(&ir, 64);
    let got = run_blocks(&mut rev, &input, &vec![1; input.len()]);
    let err = max_abs_diff(&got, &want);
    assert!(err < 1e-5, "max error {err}");
}

#[test]
fn output_does_not_depend_on_block_size() {
    // Long enough for every kind of level, including those that spread their work.
    let ir = random_ir(48_000, 11);
    let input = random_signal(100_000, 12);
    let reference = {
        let mut rev = ConvolutionReverb::new(&ir, 512);
        run_blocks(&mut rev, &input, &vec![1; input.len()])
    };
    for block in [7usize, 64, 512, 4096] {
        let mut rev = ConvolutionReverb::new(&ir, 512);
        let mut blocks = vec![block; input.len() / block];
        blocks.push(input.len() % block);
        blocks.retain(|&b| b > 0);
        let got = run_blocks(&mut rev, &input, &blocks);
        // The result does not depend on the block size at all: same bits.
        let same = got
            .iter()
            .zip(&reference)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(
            same,
            "block {block}: differs from block 1 by {}",
            max_abs_diff(&got, &reference)
        );
    }
}

#[test]
fn reset_reproduces_a_fresh_instance() {
    let ir = random_ir(10_000, 21);
    let first = random_signal(30_000, 22);
    let second = random_signal(25_000, 23);
    let blocks = random_blocks(second.len(), 700, 24);

    let mut fresh = ConvolutionReverb::new(&ir, 512);
    let want = run_blocks(&mut fresh, &second, &blocks);

    let mut used = ConvolutionReverb::new(&ir, 512);
    // Leave it mid-partition with a tail ringing.
    let _ = run_blocks(&mut used, &first, &random_blocks(first.len(), 300, 25));
    used.reset();
    let got = run_blocks(&mut used, &second, &blocks);
    assert!(
        got.iter()
            .zip(&want)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "output after reset differs from a fresh instance's by {}",
        max_abs_diff(&got, &want)
    );
}

#[test]
fn impulse_gives_the_ir_with_zero_latency() {
    for len in [1usize, 100, 5000, 48_000] {
        let ir = random_ir(len, 31 + len as u64);
        let mut rev = ConvolutionReverb::new(&ir, 128);
        assert_eq!(rev.latency_samples(), 0);
        assert_eq!(rev.ir_len(), len);
        let mut input = vec![0.0f32; len + 1000];
        input[0] = 1.0;
        let got = run_blocks(&mut rev, &input, &random_blocks(input.len(), 128, 32));
        assert!(
            (got[0] - ir[0]).abs() < 1e-6,
            "IR length {len}: first sample {} vs ir[0] {}",
            got[0],
            ir[0]
        );
        let err = max_abs_diff(&got[..len], &ir);
        assert!(err < 1e-6, "IR length {len}: impulse response off by {err}");
        let tail = got[len..].iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(tail < 1e-6, "IR length {len}: output after the IR: {tail}");
    }
}

#[test]
fn empty_and_zero_irs_give_silence() {
    let input = random_signal(10_000, 41);
    for ir in [vec![], vec![0.0f32; 1], vec![0.0f32; 30_000]] {
        let mut rev = ConvolutionReverb::new(&ir, 256);
        assert_eq!(rev.ir_len(), ir.len());
        let got = run_blocks(&mut rev, &input, &random_blocks(input.len(), 600, 42));
        assert!(
            got.iter().all(|&v| v == 0.0),
            "IR of {} zeros: not silent",
            ir.len()
        );
    }
}

#[test]
fn processing_allocates_nothing() {
    let ir = random_ir(48_000, 51);
    let input = random_signal(100_000, 52);
    let mut out = vec![0.0f32; input.len()];
    let mut rev = ConvolutionReverb::new(&ir, 512);
    let blocks = random_blocks(input.len(), 2048, 53);
    let count = allocations_during(|| {
        let mut at = 0;
        for &n in &blocks {
            rev.process(&input[at..at + n], &mut out[at..at + n]);
            at += n;
        }
    });
    assert_eq!(count, 0, "process allocated {count} times");
    assert!(out.iter().any(|v| v.abs() > 0.1));

    let mut buf = input.clone();
    let count = allocations_during(|| {
        rev.process_mix(&input[..1000], &mut out[..1000], 0.3);
        rev.process_mix_in_place(&mut buf[..5000], 0.7); // longer than max_block
        rev.reset();
        rev.process(&input[..1], &mut out[..1]);
    });
    assert_eq!(count, 0, "mix/reset allocated {count} times");
}

#[test]
fn non_finite_input_gives_finite_output_and_recovers() {
    let ir = random_ir(5000, 61);
    let mut rev = ConvolutionReverb::new(&ir, 256);
    let mut input = random_signal(20_000, 62);
    for (i, v) in input.iter_mut().enumerate().take(3000) {
        *v = match i % 3 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            _ => f32::NEG_INFINITY,
        };
    }
    input[10_000] = f32::NAN;
    input[12_345] = f32::MAX;
    let mut out = vec![0.0f32; input.len()];
    rev.process(&input, &mut out);
    assert!(out.iter().all(|v| v.is_finite()), "non-finite wet output");

    let mut mixed = vec![0.0f32; input.len()];
    rev.process_mix(&input, &mut mixed, 0.5);
    assert!(
        mixed.iter().all(|v| v.is_finite()),
        "non-finite mixed output"
    );

    // After the bad samples have left the IR's span, the state holds no trace of them.
    let clean = random_signal(20_000, 63);
    let mut polluted = ConvolutionReverb::new(&ir, 256);
    let mut dirty = clean.clone();
    dirty[100] = f32::NAN;
    dirty[101] = f32::INFINITY;
    let mut a = vec![0.0; clean.len()];
    polluted.process(&dirty, &mut a);
    let mut reference = ConvolutionReverb::new(&ir, 256);
    let mut zeroed = clean.clone();
    zeroed[100] = 0.0;
    zeroed[101] = 0.0;
    let mut b = vec![0.0; clean.len()];
    reference.process(&zeroed, &mut b);
    assert!(max_abs_diff(&a, &b) == 0.0, "NaN input is not treated as 0");
}

#[test]
fn subnormal_input_is_treated_as_silence() {
    let ir = random_ir(5000, 71);
    let mut rev = ConvolutionReverb::new(&ir, 256);
    let input: Vec<f32> = (0..20_000)
        .map(|i| f32::from_bits(1 + (i as u32 % 1000)) * if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    assert!(input.iter().all(|v| v.is_subnormal()));
    let mut out = vec![1.0f32; input.len()];
    rev.process(&input, &mut out);
    assert!(out.iter().all(|&v| v == 0.0));
}

#[test]
fn dry_wet_mix_follows_the_documented_law() {
    let ir = random_ir(2000, 81);
    let input = random_signal(8000, 82);
    let mut wet_only = ConvolutionReverb::new(&ir, 512);
    let mut wet = vec![0.0; input.len()];
    wet_only.process(&input, &mut wet);
    for mix in [0.0f32, 0.25, 1.0] {
        let mut rev = ConvolutionReverb::new(&ir, 512);
        let mut out = vec![0.0; input.len()];
        rev.process_mix(&input, &mut out, mix);
        let mut rev2 = ConvolutionReverb::new(&ir, 512);
        let mut in_place = input.clone();
        rev2.process_mix_in_place(&mut in_place, mix);
        for i in 0..input.len() {
            let want = (1.0 - mix) * input[i] + mix * wet[i];
            assert!((out[i] - want).abs() < 1e-6, "mix {mix}, sample {i}");
            assert_eq!(out[i].to_bits(), in_place[i].to_bits(), "in place differs");
        }
    }
}

#[test]
fn three_seconds_at_192_khz() {
    let len = 3 * 192_000;
    let ir = random_ir(len, 91);
    let mut rev = ConvolutionReverb::new(&ir, 1024);
    assert_eq!(rev.ir_len(), len);
    assert_eq!(rev.latency_samples(), 0);
    let mut input = vec![0.0f32; 70_000];
    input[0] = 1.0;
    let mut out = vec![0.0f32; input.len()];
    for (i, o) in input.chunks(1024).zip(out.chunks_mut(1024)) {
        rev.process(i, o);
    }
    assert!(out.iter().all(|v| v.is_finite()));
    let err = max_abs_diff(&out, &ir[..out.len()]);
    assert!(err < 1e-6, "impulse response off by {err}");
}

#[test]
fn reverb_can_be_built_off_and_moved_to_the_audio_thread() {
    fn send_and_sync<T: Send + Sync>(_: &T) {}
    let ir = random_ir(1000, 101);
    let rev = ConvolutionReverb::new(&ir, 256);
    send_and_sync(&rev);
    let out = std::thread::spawn(move || {
        let mut rev = rev;
        let mut out = vec![0.0f32; 300];
        let mut input = vec![0.0f32; 300];
        input[0] = 1.0;
        rev.process(&input, &mut out);
        out
    })
    .join()
    .unwrap();
    assert!((out[0] - ir[0]).abs() < 1e-6 && (out[299] - ir[299]).abs() < 1e-6);
}
