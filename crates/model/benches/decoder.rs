//! Decoder speed: 1,000 frames streamed one at a time (4 s of audio at 250 frames/s), for
//! C = 8 and 16, f32 and int8 models. Prints times real-time (4 s / time per 1,000 frames).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use timbre_model::{random_model, Architecture, Decoder, ModelFile};

/// Frames per iteration.
const FRAMES: usize = 1_000;
/// Frames per second of the model.
const FRAME_RATE: f64 = 250.0;

/// Deterministic plausible inputs.
fn inputs() -> (Vec<f32>, Vec<f32>) {
    let f0 = (0..FRAMES).map(|i| if i % 200 < 20 { 0.0 } else { 0.45 + 0.1 * (i as f32 * 0.03).sin() }).collect();
    let loud = (0..FRAMES).map(|i| 0.5 + 0.4 * (i as f32 * 0.011).sin()).collect();
    (f0, loud)
}

fn run(dec: &mut Decoder, f0: &[f32], loud: &[f32]) {
    for (&f, &l) in f0.iter().zip(loud) {
        black_box(dec.step(black_box(f), black_box(l)));
    }
}

/// Best of several timed passes, in seconds per 1,000 frames (robust to a busy machine).
fn best_time(dec: &mut Decoder, f0: &[f32], loud: &[f32]) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..200 {
        let start = Instant::now();
        for _ in 0..10 {
            run(dec, f0, loud);
        }
        best = best.min(start.elapsed().as_secs_f64() / 10.0);
    }
    best
}

fn bench(c: &mut Criterion) {
    let (f0, loud) = inputs();
    let mut group = c.benchmark_group("decoder");
    group.measurement_time(Duration::from_secs(3));
    let mut summary = Vec::new();
    for channels in [8, 16] {
        let arch = Architecture { channels, ..Architecture::default() };
        let f32_model = random_model(&arch, 1);
        let int8_model = ModelFile::from_bytes(&f32_model.quantize_int8().to_bytes().unwrap(), "int8").unwrap();
        for (precision, model) in [("f32", &f32_model), ("int8", &int8_model)] {
            let mut dec = Decoder::new(model);
            let name = format!("C{channels}/{precision}/1000 frames");
            group.bench_function(&name, |b| b.iter(|| run(&mut dec, &f0, &loud)));
            let best = best_time(&mut dec, &f0, &loud);
            summary.push((name, dec.kernel(), best));
        }
    }
    group.finish();
    let audio_s = FRAMES as f64 / FRAME_RATE;
    println!("\nDecoder, 1,000 frames = {audio_s} s of audio, best of 200×10 passes:");
    for (name, kernel, t) in summary {
        println!(
            "  {name:<24} {:>8.1} µs  {:>6.1} ns/frame  {:>9.0}x real-time  [{kernel}]",
            t * 1e6,
            t * 1e9 / FRAMES as f64,
            audio_s / t
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
