//! Decoder speed: 1,000 frames streamed one at a time (4 s of audio at 250 frames/s), for
//! C = 8 and 16, f32 and int8 models, on the fastest kernels this CPU runs; then the f32
//! models on every other instruction set the CPU has (AVX2 without AVX-512, portable), for
//! CPUs that lack the fastest one. Prints times real-time: 4 s / time per 1,000 frames.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use timbre_model::{random_model, Architecture, Decoder, Isa, ModelFile};

/// Frames per iteration.
const FRAMES: usize = 1_000;
/// Frames per second of the model.
const FRAME_RATE: f64 = 250.0;

/// Deterministic plausible inputs.
fn inputs() -> (Vec<f32>, Vec<f32>) {
    let f0 = (0..FRAMES)
        .map(|i| {
            if i % 200 < 20 {
                0.0
            } else {
                0.45 + 0.1 * (i as f32 * 0.03).sin()
            }
        })
        .collect();
    let loud = (0..FRAMES)
        .map(|i| 0.5 + 0.4 * (i as f32 * 0.011).sin())
        .collect();
    (f0, loud)
}

fn run(dec: &mut Decoder, f0: &[f32], loud: &[f32]) {
    for (&f, &l) in f0.iter().zip(loud) {
        black_box(dec.step(black_box(f), black_box(l)));
    }
}

/// Timed passes of 1,000 frames.
const PASSES: usize = 3_000;

/// Best and median of many short timed passes, in seconds per 1,000 frames. A pass is far
/// shorter than a scheduler time slice, so on a busy machine the best pass is an
/// uninterrupted one.
fn best_and_median(dec: &mut Decoder, f0: &[f32], loud: &[f32]) -> (f64, f64) {
    let mut times: Vec<f64> = (0..PASSES)
        .map(|_| {
            let start = Instant::now();
            run(dec, f0, loud);
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[0], times[PASSES / 2])
}

fn bench(c: &mut Criterion) {
    let (f0, loud) = inputs();
    let mut group = c.benchmark_group("decoder");
    group.measurement_time(Duration::from_secs(3));
    let mut summary = Vec::new();
    for channels in [8, 16] {
        let arch = Architecture {
            channels,
            ..Architecture::default()
        };
        let f32_model = random_model(&arch, 1);
        let int8_model =
            ModelFile::from_bytes(&f32_model.quantize_int8().to_bytes().unwrap(), "int8").unwrap();
        for (precision, model) in [("f32", &f32_model), ("int8", &int8_model)] {
            let mut dec = Decoder::new(model);
            let name = format!("C{channels}/{precision}/1000 frames");
            group.bench_function(&name, |b| b.iter(|| run(&mut dec, &f0, &loud)));
            let (best, median) = best_and_median(&mut dec, &f0, &loud);
            summary.push((name, dec.kernel(), best, median));
        }
        for isa in [Isa::Avx2, Isa::Portable]
            .into_iter()
            .filter(|&isa| isa != Isa::best())
        {
            if let Some(mut dec) = Decoder::with_isa(&f32_model, isa) {
                let name = format!("C{channels}/f32/{isa:?}");
                let (best, median) = best_and_median(&mut dec, &f0, &loud);
                summary.push((name, dec.kernel(), best, median));
            }
        }
    }
    group.finish();
    let audio_s = FRAMES as f64 / FRAME_RATE;
    println!("\nDecoder, 1,000 frames = {audio_s} s of audio; best (median) of {PASSES} passes:");
    for (name, kernel, best, median) in summary {
        println!(
            "  {name:<24} {:>7.1} µs ({:>7.1})  {:>6.1} ns/frame  {:>7.0}x ({:>7.0}x) real-time  [{kernel}]",
            best * 1e6,
            median * 1e6,
            best * 1e9 / FRAMES as f64,
            audio_s / best,
            audio_s / median,
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
