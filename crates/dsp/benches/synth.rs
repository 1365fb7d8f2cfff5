//! Synthesis speed: one second of 48 kHz audio in 128-sample blocks, with a new control frame
//! every 192 samples (250 frames/s), as the engine drives the blocks.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "support/mod.rs"]
mod support;
use support::thread_cpu_seconds;
use timbre_dsp::harmonic::HarmonicBank;
use timbre_dsp::noise::FilteredNoise;

const RATE: usize = 48_000;
const BLOCK: usize = 128;
const HOP: usize = 192;

/// Runs `render(block_start, block)` over one second in 128-sample blocks.
fn one_second(mut render: impl FnMut(usize, &mut [f32])) {
    let mut out = [0.0f32; BLOCK];
    let mut pos = 0;
    while pos < RATE {
        // Split blocks at frame boundaries so every frame starts where the engine starts it.
        let to_frame = HOP - pos % HOP;
        let n = BLOCK.min(to_frame).min(RATE - pos);
        render(pos, &mut out[..n]);
        black_box(&out);
        pos += n;
    }
}

fn report(name: &str, seconds_per_second: f64) {
    println!("{name}: {:.0}x real-time", 1.0 / seconds_per_second);
}

fn bench(c: &mut Criterion) {
    let amps: Vec<f32> = (0..60).map(|k| 0.3 / (k + 1) as f32).collect();
    let mags: Vec<f32> = (0..65).map(|i| 0.1 / (1 + i) as f32).collect();
    let mut group = c.benchmark_group("synth_1s_48k");
    group.measurement_time(Duration::from_secs(3));
    let mut bank = HarmonicBank::new(RATE as f64);
    group.bench_function("harmonic_60", |b| {
        b.iter(|| {
            one_second(|pos, out| {
                if pos % HOP == 0 {
                    let f0 = 220.0 + (pos / HOP % 7) as f32;
                    bank.set_target(f0, &amps, HOP as u32);
                }
                bank.process(out);
            })
        })
    });
    let mut noise = FilteredNoise::new(RATE as f64, 65, 8_000.0, 1);
    group.bench_function("noise_65", |b| {
        b.iter(|| {
            one_second(|pos, out| {
                if pos % HOP == 0 {
                    noise.set_magnitudes(&mags);
                }
                noise.process(out);
            })
        })
    });
    group.finish();

    // Times real-time, from the thread's CPU time over 20 seconds of audio (robust on a shared
    // machine; wall time where Linux does not tell).
    for (name, f) in [
        ("harmonic bank, 60 harmonics", 0),
        ("filtered noise, 65 bands", 1),
    ] {
        let start = std::time::Instant::now();
        let cpu_start = thread_cpu_seconds();
        for _ in 0..20 {
            one_second(|pos, out| {
                if f == 0 {
                    if pos % HOP == 0 {
                        bank.set_target(220.0, &amps, HOP as u32);
                    }
                    bank.process(out);
                } else {
                    if pos % HOP == 0 {
                        noise.set_magnitudes(&mags);
                    }
                    noise.process(out);
                }
            });
        }
        let seconds = match (cpu_start, thread_cpu_seconds()) {
            (Some(a), Some(b)) => b - a,
            _ => start.elapsed().as_secs_f64(),
        };
        report(name, seconds / 20.0);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
