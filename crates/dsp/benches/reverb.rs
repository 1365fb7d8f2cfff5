//! Convolution reverb speed: one second of 48 kHz audio in 128-sample blocks, with a 1 s and a
//! 3 s decaying-noise IR. Criterion times it; a short extra measurement at the end prints the
//! real-time factor (seconds of audio processed per second of wall time, from the median run),
//! the slowest single block, and the partition plan.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, Criterion};
use timbre_dsp::reverb::ConvolutionReverb;

#[path = "support/mod.rs"]
mod support;
use support::thread_cpu_seconds;

const RATE: usize = 48_000;
const BLOCK: usize = 128;

/// Deterministic white noise in [-1, 1).
fn noise(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// A room-like IR: noise with an exponential decay of 60 dB over its length, unit energy.
fn decaying_noise_ir(len: usize) -> Vec<f32> {
    let decay = (-6.9 / len as f64).exp();
    let mut env = 1.0f64;
    let mut ir: Vec<f32> = noise(len, 7)
        .into_iter()
        .map(|v| {
            let out = (v as f64 * env) as f32;
            env *= decay;
            out
        })
        .collect();
    let g = 1.0 / ir.iter().map(|&v| v * v).sum::<f32>().sqrt();
    ir.iter_mut().for_each(|v| *v *= g);
    ir
}

/// A reverb that has already heard more than its IR's length of noise, so that every
/// partition is busy (steady state: silence would be skipped and flatter the figures).
fn warmed_up(ir: &[f32], input: &[f32], out: &mut [f32]) -> ConvolutionReverb {
    let mut rev = ConvolutionReverb::new(ir, BLOCK);
    let rounds = ir.len().div_ceil(input.len()) + 1;
    for _ in 0..rounds {
        one_second(&mut rev, input, out);
    }
    rev
}

/// One second of audio through the reverb in `BLOCK`-sample blocks.
fn one_second(rev: &mut ConvolutionReverb, input: &[f32], out: &mut [f32]) {
    for (i, o) in input.chunks(BLOCK).zip(out.chunks_mut(BLOCK)) {
        rev.process(black_box(i), o);
    }
    black_box(&out);
}

fn cases() -> [(&'static str, usize); 2] {
    [("ir_1s_48k", RATE), ("ir_3s_48k", 3 * RATE)]
}

fn bench_reverb(c: &mut Criterion) {
    let input = noise(RATE, 1);
    let mut out = vec![0.0f32; RATE];
    let mut group = c.benchmark_group("reverb_1s_audio_128_blocks");
    group.sample_size(30);
    for (name, ir_len) in cases() {
        let ir = decaying_noise_ir(ir_len);
        let mut rev = warmed_up(&ir, &input, &mut out);
        group.bench_function(name, |b| b.iter(|| one_second(&mut rev, &input, &mut out)));
    }
    group.finish();
}

/// Prints, for the two criterion cases plus the largest IR the reverb is specified for (3 s at
/// 192 kHz): the real-time factor from the median of 31 timed seconds of audio (wall time),
/// the same from the thread's CPU time over many seconds of audio (robust on a shared
/// machine), and the slowest single block (the one in which the largest partitions complete).
fn report_real_time() {
    println!();
    println!("real-time factor, {BLOCK}-sample blocks:");
    let extra = [("ir_3s_192k (192 kHz audio)", 3 * 192_000, 192_000)];
    let all = cases().map(|(name, len)| (name, len, RATE));
    for (name, ir_len, rate) in all.into_iter().chain(extra) {
        let input = noise(rate, 1);
        let mut out = vec![0.0f32; rate];
        let ir = decaying_noise_ir(ir_len);
        let mut rev = warmed_up(&ir, &input, &mut out);
        let mut seconds = Vec::new();
        let mut worst_blocks = Vec::new();
        for _ in 0..31 {
            let mut worst = 0.0f64;
            let start = Instant::now();
            for (i, o) in input.chunks(BLOCK).zip(out.chunks_mut(BLOCK)) {
                let t = Instant::now();
                rev.process(black_box(i), o);
                worst = worst.max(t.elapsed().as_secs_f64());
            }
            seconds.push(start.elapsed().as_secs_f64());
            worst_blocks.push(worst);
        }
        seconds.sort_by(f64::total_cmp);
        worst_blocks.sort_by(f64::total_cmp);
        let median = seconds[seconds.len() / 2];
        let runs = if rate > RATE { 50 } else { 200 };
        let cpu = thread_cpu_seconds().and_then(|before| {
            for _ in 0..runs {
                one_second(&mut rev, &input, &mut out);
            }
            Some((thread_cpu_seconds()? - before) / runs as f64)
        });
        println!("  {name}, plan {rev:?}:");
        println!(
            "    wall: {:.3} ms per second of audio = {:.0}x real-time (median of 31; best {:.0}x)",
            median * 1e3,
            1.0 / median,
            1.0 / seconds[0],
        );
        if let Some(cpu) = cpu {
            println!(
                "    CPU time: {:.3} ms per second of audio = {:.0}x real-time ({runs} s of audio)",
                cpu * 1e3,
                1.0 / cpu
            );
        }
        println!(
            "    slowest block: {:.0} us of a {:.0} us budget (lowest of the 31 runs' maxima: \
             the work itself, not the preemptions of a busy machine)",
            worst_blocks[0] * 1e6,
            BLOCK as f64 / rate as f64 * 1e6,
        );
    }
}

criterion_group!(benches, bench_reverb);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    report_real_time();
}
