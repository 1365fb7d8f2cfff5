//! Convolution reverb speed: one second of 48 kHz audio in 128-sample blocks, with a 1 s and a
//! 3 s decaying-noise IR. Criterion times it; a short extra measurement at the end prints the
//! real-time factor (seconds of audio processed per second of CPU, from the median run).

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, Criterion};
use timbre_dsp::reverb::ConvolutionReverb;

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

/// Prints the real-time factor for each case from the median of several timed seconds.
fn report_real_time() {
    let input = noise(RATE, 1);
    let mut out = vec![0.0f32; RATE];
    println!();
    println!("real-time factor, 48 kHz, {BLOCK}-sample blocks (median of 31 runs of 1 s):");
    for (name, ir_len) in cases() {
        let ir = decaying_noise_ir(ir_len);
        let mut rev = warmed_up(&ir, &input, &mut out);
        let mut times: Vec<f64> = (0..31)
            .map(|_| {
                let t = Instant::now();
                one_second(&mut rev, &input, &mut out);
                t.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "  {name}: {:.3} ms per second of audio = {:.0}x real-time ({rev:?})",
            median * 1e3,
            1.0 / median
        );
    }
}

criterion_group!(benches, bench_reverb);

fn main() {
    if std::env::var_os("REVERB_EXPLORE").is_some() {
        explore();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
    report_real_time();
}

// TEMP-EXPLORE-BEGIN
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat").unwrap().split_whitespace().next().unwrap().parse().unwrap()
}
fn time_plan(len: usize, head: usize, levels: &[(usize, usize)]) -> (f64, f64) {
    let ir = decaying_noise_ir(len);
    let input = noise(RATE, 1);
    let mut out = vec![0.0f32; RATE];
    let mut rev = ConvolutionReverb::with_partitions(&ir, BLOCK, head, levels);
    for _ in 0..(len / RATE + 2) { one_second(&mut rev, &input, &mut out); }
    let mut w = vec![]; let mut c = vec![];
    for _ in 0..25 {
        let t = Instant::now(); let c0 = cpu_ns();
        one_second(&mut rev, &input, &mut out);
        c.push((cpu_ns() - c0) as f64 * 1e-6); w.push(t.elapsed().as_secs_f64() * 1e3);
    }
    w.sort_by(f64::total_cmp); c.sort_by(f64::total_cmp);
    (w[0], c[0])
}
#[allow(dead_code)]
pub fn explore() {
    if let Ok(spec) = std::env::var("REVERB_PLAN") {
        // "len:head:p1xk1,p2xk2"
        let parts: Vec<&str> = spec.split(':').collect();
        let len: usize = parts[0].parse().unwrap();
        let head: usize = parts[1].parse().unwrap();
        let levels: Vec<(usize, usize)> = parts[2].split(',').filter(|x| !x.is_empty()).map(|l| { let (a, b) = l.split_once('x').unwrap(); (a.parse().unwrap(), b.parse().unwrap()) }).collect();
        let ir = decaying_noise_ir(len);
        let input = noise(RATE, 1);
        let mut out = vec![0.0f32; RATE];
        let mut rev = ConvolutionReverb::with_partitions(&ir, BLOCK, head, &levels);
        let mut times: Vec<f64> = (0..std::env::var("REVERB_SECS").map_or(200, |v| v.parse().unwrap())).map(|_| { let t = Instant::now(); one_second(&mut rev, &input, &mut out); t.elapsed().as_secs_f64() }).collect();
        times.sort_by(f64::total_cmp);
        println!("len {len} head {head} {levels:?}: {:.3} ms (min {:.3})", times[times.len() / 2] * 1e3, times[0] * 1e3);
        return;
    }
    use realfft::RealFftPlanner;
    let mut planner = RealFftPlanner::<f32>::new();
    for lg in 6..=6 {
        let n = 1usize << lg;
        let f = planner.plan_fft_forward(n);
        let i = planner.plan_fft_inverse(n);
        let mut t = f.make_input_vec();
        let mut s = f.make_output_vec();
        let mut sc = f.make_scratch_vec();
        sc.resize(f.get_scratch_len().max(i.get_scratch_len()), Default::default());
        let reps = (1 << 24) / n;
        let st = Instant::now();
        for _ in 0..reps {
            t.iter_mut().for_each(|v| *v = 0.1);
            f.process_with_scratch(&mut t, &mut s, &mut sc).unwrap();
            s[0].im = 0.0;
            let l = s.len() - 1;
            s[l].im = 0.0;
            i.process_with_scratch(&mut s, &mut t, &mut sc).unwrap();
        }
        let per = st.elapsed().as_secs_f64() / reps as f64;
        println!("fft N={n}: fwd+inv {:.2} us, per sample of p=N/2: {:.2} ns, model {:.2}", per * 1e6, per * 1e9 / (n / 2) as f64,
            (2.0 * 0.0020 * n as f64 * (n as f64).log2() + 300.0 + (n/2) as f64) / (n / 2) as f64);
    }
    let input = noise(RATE, 1);
    let mut out = vec![0.0f32; RATE];
    let plans: Vec<(usize, usize, Vec<(usize, usize)>)> = vec![
        (48000, 128, vec![(128, 7)]),
        (48000, 128, vec![(128, 15)]),
        (48000, 128, vec![(128, 31)]),
        (48000, 128, vec![(128, 15), (2048, 1)]),
        (48000, 64, vec![(64, 15), (1024, 7), (8192, 5)]),
        (48000, 64, vec![(64, 31), (2048, 23)]),
        (144000, 128, vec![(128, 7), (1024, 7), (8192, 17)]),
        (144000, 128, vec![(128, 15), (2048, 7), (16384, 8)]),
        (144000, 128, vec![(128, 15), (2048, 70)]),
        (144000, 64, vec![(64, 15), (1024, 15), (16384, 8)]),
        (48000, 128, vec![(128, 7), (1024, 1)]),
        (48000, 128, vec![(128, 7), (1024, 7)]),
        (48000, 128, vec![(128, 7), (1024, 7), (8192, 1)]),
        (48000, 256, vec![(256, 3), (1024, 3), (4096, 3), (16384, 2)]),
        (48000, 128, vec![(128, 7), (1024, 7), (8192, 5)]),
        (48000, 128, vec![(128, 15), (2048, 23)]),
        (48000, 256, vec![(256, 7), (2048, 23)]),
        (48000, 256, vec![(256, 7), (2048, 7), (16384, 2)]),
        (48000, 64, vec![(64, 7), (512, 7), (4096, 11)]),
        (48000, 128, vec![(128, 1)]),
        (48000, 256, vec![(256, 1)]),
        (48000, 64, vec![(64, 1)]),
        (48000, 32, vec![(32, 1)]),
        (48000, 128, vec![(128, 3), (512, 3), (2048, 3), (8192, 5)]),
    ];
    for (len, head, levels) in plans {
        let (w, c) = time_plan(len, head, &levels);
        println!("len {len} head {head} {levels:?}: wall min {w:.3} ms, cpu min {c:.3} ms");
    }
}
// TEMP-EXPLORE-END
