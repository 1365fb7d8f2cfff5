//! Stress: 1,000 model swaps while audio runs and a third thread hammers the parameters.
//!
//! The audio thread runs `Engine::process` in a loop, reading the parameters once per block
//! from a lock-free snapshot (one atomic per parameter) that the hammer thread rewrites as
//! fast as it can. The swap thread builds voices (`VoiceFactory::build`) alternating between two
//! models and sends them through the factory, sometimes before the previous crossfade
//! has finished. Checked: zero allocations inside `process`, finite output within the ceiling,
//! and no click: the largest sample-to-sample step is at most twice the largest one of each
//! model playing alone the same input with the same parameters, block for block (the audio
//! thread records the parameters it used and the reference replays them).
//!
//! The two models are the hand-wired one playing only the fundamental and a copy playing only
//! the octave: a swap without a crossfade switches between sinusoids of unrelated phase, a
//! step of up to the sum of both amplitudes, while in steady play a step is at most
//! `2π·f/rate` of the amplitude (under 0.12 of it even at +24 semitones).

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use timbre_engine::params::ALL;
use timbre_engine::{Engine, Params, OUTPUT_CEILING};
use timbre_model::testing::WiredHarmonics;
use timbre_model::ModelFile;
use timbre_testkit::TestRng;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

const RATE: f64 = 48_000.0;
const BLOCK: usize = 256;
const SWAPS: usize = 1_000;
/// Parameters that raise the level, hammered only up to 0 dB (see the hammer thread).
const LEVEL_BOOSTS: [&str; 4] = ["loudness", "harmonic_gain", "noise_gain", "gain"];

/// The wired model, named `name`, playing only harmonic `harmonic` (1 = fundamental).
fn single_harmonic_model(name: &str, harmonic: usize) -> ModelFile {
    let (mut meta, mut weights) =
        timbre_model::testing::wired_model(name, WiredHarmonics::Fundamental).into_parts();
    let n_harmonics = meta.architecture.n_harmonics;
    for h in 0..n_harmonics {
        weights.head.bias[1 + h] = if h + 1 == harmonic { 8.0 } else { -30.0 };
    }
    meta.name = name.to_string();
    ModelFile::new(meta, weights).unwrap()
}

/// The parameters as the hammer thread publishes them: one atomic per spec (f32 bits).
struct SharedParams([AtomicU32; ALL.len()]);

impl SharedParams {
    fn new() -> Self {
        Self(std::array::from_fn(|i| {
            AtomicU32::new(ALL[i].default.to_bits())
        }))
    }
    /// Allocation-free snapshot (audio thread).
    fn read(&self) -> Params {
        let mut p = Params::default();
        for (spec, cell) in ALL.iter().zip(&self.0) {
            p.set(spec.id, f32::from_bits(cell.load(Ordering::Relaxed)));
        }
        p
    }
}

/// What one run measured.
struct Outcome {
    /// Largest |x[n] − x[n−1]| over the run (across block boundaries too).
    max_step: f32,
    /// Largest |x[n]|.
    peak: f32,
    /// Crossfades the audio thread started (model-name changes seen).
    swaps_seen: usize,
    /// Allocations inside `set_params` + `process`, summed.
    allocations: usize,
    /// Blocks processed.
    blocks: u64,
    /// Parameter snapshots the hammer thread published.
    hammered: u64,
    /// The parameters each block used, in order (for [`replay`]).
    params: Vec<Params>,
}

/// Runs the audio loop until `swaps` swaps were seen, with the hammer and swap threads on.
fn run(first: &ModelFile, second: &ModelFile, swaps: usize) -> Outcome {
    let (mut engine, mut factory) = Engine::prepare(first, RATE, BLOCK).unwrap();
    let input = sawtooth(RATE, 1.0, |_| 220.0, |_| 0.6);
    let shared = Arc::new(SharedParams::new());
    let stop = Arc::new(AtomicBool::new(false));
    let blocks_done = Arc::new(AtomicU64::new(0));
    let swaps_seen = Arc::new(AtomicUsize::new(0));

    let hammer = {
        let (shared, stop) = (shared.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut rng = TestRng::new(3);
            let mut published = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for (spec, cell) in ALL.iter().zip(&shared.0) {
                    // Mostly in range; sometimes beyond it (the engine clamps). Level boosts
                    // stop at 0 dB: at +24 dB the output hits the safety ceiling, and clipping
                    // makes steps of its own that would hide a click.
                    let max = if LEVEL_BOOSTS.contains(&spec.id) {
                        0.0
                    } else {
                        spec.max
                    };
                    let u = rng.unit() * 1.2 - 0.1;
                    let v = spec.min + u * (max - spec.min);
                    cell.store(v.to_bits(), Ordering::Relaxed);
                }
                published += 1;
                if published.is_multiple_of(64) {
                    std::thread::yield_now();
                }
            }
            published
        })
    };

    let swapper = {
        let (stop, blocks_done, swaps_seen) =
            (stop.clone(), blocks_done.clone(), swaps_seen.clone());
        let models = [first.clone(), second.clone()];
        std::thread::spawn(move || {
            let mut rng = TestRng::new(4);
            let mut sent = 0;
            while sent < swaps && !stop.load(Ordering::Relaxed) {
                // Alternate: voice k plays model (k + 1) % 2, the first one starts.
                let voice = factory.build(&models[(sent + 1) % 2]).unwrap();
                // Wait 1 to 12 blocks after the previous swap was taken: the crossfade
                // lasts about 4, so many swaps land in the middle of one.
                let gap = rng.range(1, 12) as u64;
                let start = blocks_done.load(Ordering::Acquire);
                while blocks_done.load(Ordering::Acquire) < start + gap
                    && !stop.load(Ordering::Relaxed)
                {
                    std::thread::sleep(Duration::from_micros(20));
                }
                let mut voice = Some(voice);
                while let Some(v) = voice.take() {
                    if let Err(v) = factory.send(v) {
                        voice = Some(v);
                        std::thread::sleep(Duration::from_micros(50));
                    }
                }
                // Each voice is taken before the next is sent, so every one is a swap.
                while factory.in_flight() > 0 && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_micros(20));
                }
                while swaps_seen.load(Ordering::Acquire) <= sent && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_micros(20));
                }
                factory.collect_garbage();
                sent += 1;
            }
            // Keep freeing retired voices until the audio loop ends.
            while !stop.load(Ordering::Relaxed) {
                factory.collect_garbage();
                std::thread::sleep(Duration::from_micros(100));
            }
            factory.collect_garbage();
            sent
        })
    };

    // The audio thread: this one.
    let names = [
        first.metadata().name.as_str(),
        second.metadata().name.as_str(),
    ];
    let mut playing = 0;
    let mut left = vec![0.0f32; BLOCK];
    let mut right = vec![0.0f32; BLOCK];
    let mut previous = 0.0f32;
    let mut max_step = 0.0f32;
    let mut peak = 0.0f32;
    let mut allocations = 0;
    let mut recorded = Vec::with_capacity(1 << 20);
    let mut done = 0u64;
    let mut pos = 0;
    let mut after_last_swap = 0;
    loop {
        let seen = swaps_seen.load(Ordering::Relaxed);
        // After the last swap, play on for its crossfade and a little more.
        if seen >= swaps {
            after_last_swap += 1;
            if after_last_swap > 20 {
                break;
            }
        }
        if pos + BLOCK > input.len() {
            pos = 0;
        }
        let chunk = &input[pos..pos + BLOCK];
        let mut used = Params::default();
        allocations += allocations_during(|| {
            used = shared.read();
            engine.set_params(&used);
            engine.process(&[chunk], &mut left, &mut right);
        });
        recorded.push(used);
        for &x in &left {
            assert!(
                x.is_finite() && x.abs() <= OUTPUT_CEILING,
                "block {done}: sample {x}"
            );
            max_step = max_step.max((x - previous).abs());
            peak = peak.max(x.abs());
            previous = x;
        }
        if engine.model_name() != names[playing] {
            assert_eq!(engine.model_name(), names[1 - playing]);
            playing = 1 - playing;
            swaps_seen.fetch_add(1, Ordering::AcqRel);
        }
        done += 1;
        blocks_done.store(done, Ordering::Release);
        pos += BLOCK;
        assert!(done < 2_000_000, "the swap thread stalled");
    }
    stop.store(true, Ordering::Relaxed);
    let hammered = hammer.join().unwrap();
    assert_eq!(swapper.join().unwrap(), swaps);
    Outcome {
        max_step,
        peak,
        swaps_seen: swaps_seen.load(Ordering::Relaxed),
        allocations,
        blocks: done,
        hammered,
        params: recorded,
    }
}

/// The same input, block for block, through `model` alone with the parameters a run recorded:
/// the steady-play reference for that run. Returns (largest step, peak).
fn replay(model: &ModelFile, params: &[Params]) -> (f32, f32) {
    let (mut engine, _factory) = Engine::prepare(model, RATE, BLOCK).unwrap();
    let input = sawtooth(RATE, 1.0, |_| 220.0, |_| 0.6);
    let (mut left, mut right) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let (mut previous, mut max_step, mut peak) = (0.0f32, 0.0f32, 0.0f32);
    let mut pos = 0;
    for p in params {
        if pos + BLOCK > input.len() {
            pos = 0;
        }
        engine.set_params(p);
        engine.process(&[&input[pos..pos + BLOCK]], &mut left, &mut right);
        for &x in &left {
            max_step = max_step.max((x - previous).abs());
            peak = peak.max(x.abs());
            previous = x;
        }
        pos += BLOCK;
    }
    (max_step, peak)
}

#[test]
fn a_thousand_swaps_under_parameter_hammering_never_allocate_crash_or_click() {
    let a = single_harmonic_model("swap a (fundamental)", 1);
    let b = single_harmonic_model("swap b (octave)", 2);
    let swapped = run(&a, &b, SWAPS);
    assert_eq!(swapped.swaps_seen, SWAPS);
    assert_eq!(swapped.allocations, 0, "process allocated");
    // The hammer really ran concurrently: many snapshots per block.
    assert!(
        swapped.hammered > swapped.blocks,
        "{} parameter sets for {} blocks",
        swapped.hammered,
        swapped.blocks
    );
    // Each model alone, with exactly the parameters the swapping run used, block for block.
    let (steady_a, peak_a) = replay(&a, &swapped.params);
    let (steady_b, peak_b) = replay(&b, &swapped.params);
    let steady = steady_a.max(steady_b);
    let peak = peak_a.max(peak_b).max(swapped.peak);
    // Loud enough to measure, never clipped by the ceiling (which would make steps of its own).
    assert!(peak > 0.05 && peak < 0.9 * OUTPUT_CEILING, "peak {peak}");
    let bound = 2.0 * steady;
    eprintln!(
        "{SWAPS} swaps in {} blocks, {} parameter sets, peak {peak:.3}: max step {:.4} vs {:.4} without swaps (bound {:.4})",
        swapped.blocks, swapped.hammered, swapped.max_step, steady, bound
    );
    assert!(
        swapped.max_step <= bound,
        "max step {} with swaps, {} without",
        swapped.max_step,
        steady
    );
}

/// Largest sample-to-sample step of `x`.
fn max_step(x: &[f32]) -> f32 {
    x.windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0f32, f32::max)
}

/// Swaps arriving faster than the crossfade: every 1 to 3 blocks of 128 (a fade is 960
/// samples), deterministic, single-threaded.
#[test]
fn swaps_during_a_crossfade_do_not_click() {
    let a = single_harmonic_model("swap a (fundamental)", 1);
    let b = single_harmonic_model("swap b (octave)", 2);
    let block = 128;
    let render = |first: &ModelFile, second: &ModelFile, swap_blocks: &[usize]| {
        let (mut engine, mut factory) = Engine::prepare(first, RATE, block).unwrap();
        engine.set_params(&Params {
            reverb_percent: 0.0,
            ..Params::default()
        });
        let input = sawtooth(RATE, 3.0, |_| 220.0, |_| 0.6);
        let mut out = vec![0.0f32; input.len()];
        let mut right = vec![0.0f32; block];
        let mut next = 0;
        let mut playing = first.metadata().name.clone();
        let mut taken = 0;
        for (k, (i, o)) in input.chunks(block).zip(out.chunks_mut(block)).enumerate() {
            if swap_blocks.contains(&k) {
                let model = if next % 2 == 0 { second } else { first };
                // The ring holds 4 waiting voices; when full, this change is dropped (the
                // plugin reports it), the next one comes later.
                if factory.send(factory.build(model).unwrap()).is_ok() {
                    next += 1;
                }
            }
            engine.process(&[i], o, &mut right[..i.len()]);
            factory.collect_garbage();
            if engine.model_name() != playing {
                playing = engine.model_name().to_string();
                taken += 1;
            }
        }
        (out, taken)
    };
    // Each model alone (the octave one has twice the steps of the fundamental one).
    let steady = max_step(&render(&a, &b, &[]).0[RATE as usize / 2..])
        .max(max_step(&render(&b, &a, &[]).0[RATE as usize / 2..]));
    // Swaps every 1, 2 or 3 blocks from 0.5 s to 2 s.
    let mut swaps = Vec::new();
    let mut k = 190;
    let mut rng = TestRng::new(8);
    while k < 750 {
        swaps.push(k);
        k += rng.range(1, 3);
    }
    let (swapped_out, taken) = render(&a, &b, &swaps);
    // Fast changes are coalesced (the newest waiting voice wins), but many are heard.
    assert!(taken >= 15, "only {taken} model changes were heard");
    let swapped = max_step(&swapped_out[RATE as usize / 2..]);
    eprintln!(
        "{} swaps sent 1-3 blocks apart, {taken} taken: max step {swapped:.4} vs {steady:.4} without",
        swaps.len()
    );
    assert!(
        swapped <= 2.0 * steady,
        "max step {swapped} with fast swaps, {steady} without"
    );
}
