//! Speed of the analysis path: one second of 48 kHz audio through [`Analyzer`] in 128-sample
//! blocks (resample to 16 kHz, then pitch + loudness every 64-sample hop), its parts, and
//! pitch-detection's McLeod detector on the same frames as a baseline.
//!
//! Run: `cargo bench -p timbre-dsp --bench analysis`. After criterion's output, a summary
//! prints the real-time factors (audio seconds per second), from wall-clock medians and from
//! this thread's on-CPU time (`/proc/thread-self/schedstat`), which discounts time spent
//! descheduled on a busy machine. `ANALYSIS_BENCH_SUMMARY_ONLY=1` skips criterion;
//! `ANALYSIS_BENCH_NO_SUMMARY=1` skips the summary (for profiling).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput};
use pitch_detection::detector::mcleod::McLeodDetector;
use pitch_detection::detector::PitchDetector;
use timbre_dsp::analysis::{AnalysisConfig, Analyzer};
use timbre_dsp::loudness::LoudnessMeter;
use timbre_dsp::pitch::PitchTracker;
use timbre_dsp::resample::AnalysisResampler;

const HOST_RATE: f64 = 48_000.0;
const BLOCK: usize = 128;

/// One second of a 220 Hz band-limited sawtooth with 5.5 Hz vibrato and a little noise, at
/// `rate`.
fn test_signal(rate: f64, secs: f64) -> Vec<f32> {
    let n = (rate * secs) as usize;
    let mut phase = 0.0f64;
    let mut seed = 0x1234_5678u32;
    (0..n)
        .map(|i| {
            let t = i as f64 / rate;
            let f0 = 220.0 * 2f64.powf(0.5 / 12.0 * (2.0 * std::f64::consts::PI * 5.5 * t).sin());
            phase += f0 / rate;
            let mut s = 0.0;
            let mut h = 1;
            while (h as f64) * f0 < 7_500.0 {
                s += (2.0 * std::f64::consts::PI * h as f64 * phase).sin() / h as f64;
                h += 1;
            }
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let noise = (seed as f64 / u32::MAX as f64 - 0.5) * 0.01;
            (0.3 * s + noise) as f32
        })
        .collect()
}

/// The analysis-rate frames of `signal16k` at the default config (full windows only).
fn frames(signal16k: &[f32], config: AnalysisConfig) -> Vec<&[f32]> {
    (0..)
        .map(|k| k * config.hop)
        .take_while(|&s| s + config.window <= signal16k.len())
        .map(|s| &signal16k[s..s + config.window])
        .collect()
}

fn run_analyzer(analyzer: &mut Analyzer, input: &[f32]) -> f32 {
    let mut acc = 0.0;
    for block in input.chunks(BLOCK) {
        analyzer.process(block, |_, f| acc += f.f0_hz + f.loudness_db + f.confidence);
    }
    acc
}

/// The signals both the criterion benches and the summary run on.
struct Inputs {
    /// The default analysis configuration.
    config: AnalysisConfig,
    /// 1 s at the host rate.
    input: Vec<f32>,
    /// 1 s plus one window at the analysis rate.
    input16k: Vec<f32>,
    /// The analysis rate in Hz.
    rate: f32,
}

impl Inputs {
    fn new() -> Self {
        let config = AnalysisConfig::default();
        let input = test_signal(HOST_RATE, 1.0);
        let input16k = test_signal(
            config.sample_rate as f64,
            1.0 + config.window as f64 / 16_000.0,
        );
        let rate = config.sample_rate as f32;
        Self {
            config,
            input,
            input16k,
            rate,
        }
    }
}

fn bench(c: &mut Criterion) {
    let inputs = Inputs::new();
    let (config, input, rate) = (inputs.config, &inputs.input, inputs.rate);
    let frames16k = frames(&inputs.input16k, config);

    let mut group = c.benchmark_group("analysis");
    group.throughput(Throughput::Elements(input.len() as u64));
    group.bench_function("analyzer_48k_1s_block128", |b| {
        let mut analyzer = Analyzer::new(config, HOST_RATE).unwrap();
        b.iter(|| black_box(run_analyzer(&mut analyzer, black_box(input))))
    });
    group.bench_function("resampler_48k_to_16k_1s_block128", |b| {
        let mut r = AnalysisResampler::new(HOST_RATE, rate as f64, config.hop).unwrap();
        b.iter(|| {
            let mut acc = 0.0;
            for block in input.chunks(BLOCK) {
                r.process(black_box(block), |_, hop| acc += hop[0]);
            }
            black_box(acc)
        })
    });
    group.throughput(Throughput::Elements(frames16k.len() as u64));
    group.bench_function("pitch_250_frames", |b| {
        let mut p = PitchTracker::new(rate, config.window);
        b.iter(|| {
            let mut acc = 0.0;
            for f in &frames16k {
                acc += p.estimate(black_box(f)).f0_hz;
            }
            black_box(acc)
        })
    });
    group.bench_function("loudness_250_frames", |b| {
        let mut l = LoudnessMeter::new(rate, config.window);
        b.iter(|| {
            let mut acc = 0.0;
            for f in &frames16k {
                acc += l.measure(black_box(f));
            }
            black_box(acc)
        })
    });
    group.bench_function("baseline_pitch_detection_mcleod_250_frames", |b| {
        b.iter_batched_ref(
            || McLeodDetector::<f32>::new(config.window, config.window),
            |det| {
                let mut acc = 0.0;
                for f in &frames16k {
                    if let Some(p) = det.get_pitch(black_box(f), rate as usize, 0.0, 0.7) {
                        acc += p.frequency;
                    }
                }
                black_box(acc)
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// Nanoseconds this thread has spent on a CPU (Linux `schedstat`), if available. Unlike wall
/// time it does not count time spent descheduled while other processes run.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// (median wall seconds per call, mean on-CPU seconds per call) of `f` over `reps` runs.
fn median_secs(reps: usize, mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..3 {
        f();
    }
    let mut wall = Vec::with_capacity(reps);
    let c0 = thread_cpu_ns();
    for _ in 0..reps {
        let t = Instant::now();
        f();
        wall.push(t.elapsed().as_secs_f64());
    }
    let cpu = match (c0, thread_cpu_ns()) {
        (Some(c0), Some(c1)) if c1 > c0 => (c1 - c0) as f64 * 1e-9 / reps as f64,
        _ => f64::NAN,
    };
    wall.sort_by(f64::total_cmp);
    (wall[reps / 2], cpu)
}

/// Prints real-time factors measured directly (medians of repeated runs).
fn summary() {
    let inputs = Inputs::new();
    let (config, input, rate) = (inputs.config, &inputs.input, inputs.rate);
    let frames16k = frames(&inputs.input16k, config);
    let audio_secs = input.len() as f64 / HOST_RATE;

    let mut analyzer = Analyzer::new(config, HOST_RATE).unwrap();
    let t_analyzer = median_secs(301, || {
        black_box(run_analyzer(&mut analyzer, input));
    });
    let mut resampler = AnalysisResampler::new(HOST_RATE, rate as f64, config.hop).unwrap();
    let t_resampler = median_secs(301, || {
        for block in input.chunks(BLOCK) {
            resampler.process(block, |_, hop| {
                black_box(hop);
            });
        }
    });
    let mut pitch = PitchTracker::new(rate, config.window);
    let t_pitch = median_secs(301, || {
        for f in &frames16k {
            black_box(pitch.estimate(f));
        }
    });
    let mut loudness = LoudnessMeter::new(rate, config.window);
    let t_loudness = median_secs(301, || {
        for f in &frames16k {
            black_box(loudness.measure(f));
        }
    });
    let mut det = McLeodDetector::<f32>::new(config.window, config.window);
    let t_mcleod = median_secs(61, || {
        for f in &frames16k {
            black_box(
                det.get_pitch(f, rate as usize, 0.0, 0.7)
                    .map(|p| p.frequency),
            );
        }
    });
    let nf = frames16k.len() as f64;
    println!(
        "\nSUMMARY (window {}, hop {}, {} frames per audio second, blocks of {BLOCK} at {HOST_RATE} Hz)",
        config.window, config.hop, nf
    );
    println!("  median wall-clock time / mean on-CPU time of this thread (schedstat)");
    println!(
        "  Analyzer, 1 s of audio:   {:7.1} / {:7.1} µs = {:5.0}x / {:5.0}x real-time",
        t_analyzer.0 * 1e6,
        t_analyzer.1 * 1e6,
        audio_secs / t_analyzer.0,
        audio_secs / t_analyzer.1
    );
    println!(
        "    resampler alone:        {:7.1} / {:7.1} µs",
        t_resampler.0 * 1e6,
        t_resampler.1 * 1e6
    );
    println!(
        "    pitch, per frame:       {:7.2} / {:7.2} µs",
        t_pitch.0 * 1e6 / nf,
        t_pitch.1 * 1e6 / nf
    );
    println!(
        "    loudness, per frame:    {:7.2} / {:7.2} µs",
        t_loudness.0 * 1e6 / nf,
        t_loudness.1 * 1e6 / nf
    );
    println!(
        "  pitch-detection McLeod:   {:7.2} / {:7.2} µs per frame = {:.1}x / {:.1}x our pitch time",
        t_mcleod.0 * 1e6 / nf,
        t_mcleod.1 * 1e6 / nf,
        t_mcleod.0 / t_pitch.0,
        t_mcleod.1 / t_pitch.1
    );
}

fn main() {
    if std::env::var_os("ANALYSIS_BENCH_SUMMARY_ONLY").is_some() {
        summary();
        return;
    }
    let mut c = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    bench(&mut c);
    c.final_summary();
    if std::env::var_os("ANALYSIS_BENCH_NO_SUMMARY").is_none() {
        summary();
    }
}
