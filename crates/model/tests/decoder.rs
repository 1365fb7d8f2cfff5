//! Streaming inference against the batch reference, receptive field, reset, robustness and
//! the no-allocation contract of `Decoder::step`.

mod common;

use common::{
    allocations_during, max_abs_diff, random_inputs, test_architectures, CountingAllocator, TestRng,
};
use timbre_model::{random_model, Architecture, Controls, Decoder, Isa, ModelFile};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Streaming and batch outputs agree to this absolute tolerance (outputs lie in [0, 2]). Both
/// paths perform the same canonical arithmetic, so in fact they agree to the bit; the test
/// prints the worst difference it saw.
const TOLERANCE: f32 = 1e-6;

/// A decoder for every instruction set this CPU runs (portable always; AVX2 and AVX-512 where
/// present), so each compiled kernel is tested, not just the fastest.
fn decoders(model: &ModelFile) -> Vec<Decoder> {
    let all = [Isa::Portable, Isa::Avx2, Isa::Avx512];
    let decs: Vec<Decoder> = all
        .into_iter()
        .filter_map(|isa| Decoder::with_isa(model, isa))
        .collect();
    println!(
        "kernels: {:?}",
        decs.iter().map(Decoder::kernel).collect::<Vec<_>>()
    );
    decs
}

/// Streams `f0`/`loud` through `dec`, resetting before the frames in `resets`, and compares
/// every frame with the batch reference run from the latest reset. Returns the worst
/// difference.
fn stream_vs_batch(dec: &mut Decoder, f0: &[f32], loud: &[f32], resets: &[usize]) -> f32 {
    let mut starts = vec![0];
    starts.extend(resets.iter().copied().filter(|&r| r > 0 && r < f0.len()));
    starts.sort_unstable();
    starts.dedup();
    let mut worst = 0.0f32;
    dec.reset();
    for (s, &start) in starts.iter().enumerate() {
        let end = starts.get(s + 1).copied().unwrap_or(f0.len());
        let batch = dec.run_batch(&f0[start..end], &loud[start..end]);
        assert_eq!(batch.len(), end - start);
        if start > 0 {
            dec.reset();
        }
        let kernel = dec.kernel();
        for (t, expected) in (start..end).zip(&batch) {
            let got = dec.step(f0[t], loud[t]);
            let d = max_abs_diff(got, expected);
            assert!(
                d <= TOLERANCE,
                "{kernel}: frame {t} (segment from {start}) differs by {d:e}\n got {got:?}\n want {expected:?}"
            );
            worst = worst.max(d);
        }
    }
    worst
}

#[test]
fn streaming_equals_batch_for_random_models_and_resets() {
    for (a, arch) in test_architectures().into_iter().enumerate() {
        for seed in 0..3u64 {
            let model = random_model(&arch, 100 * a as u64 + seed);
            let (f0, loud) = random_inputs(700, seed + 7);
            let mut rng = TestRng::new(seed + 99);
            let resets: Vec<usize> = (0..4).map(|_| rng.range(1, 699)).collect();
            for mut dec in decoders(&model) {
                let worst = stream_vs_batch(&mut dec, &f0, &loud, &resets);
                println!(
                    "C={} norm={:?} seed={seed} [{}]: worst {worst:e}",
                    arch.channels,
                    arch.norm,
                    dec.kernel()
                );
            }
        }
    }
}

#[test]
fn outputs_depend_on_the_inputs_and_stay_in_range() {
    // Guards the other tests against a degenerate model whose outputs ignore the input.
    let model = random_model(&Architecture::default(), 3);
    let mut dec = Decoder::new(&model);
    let (f0, loud) = random_inputs(400, 5);
    let mut amp = Vec::new();
    let mut first_harm = Vec::new();
    for (&f, &l) in f0.iter().zip(&loud) {
        let c = dec.step(f, l);
        for &v in c.harmonics.iter().chain(&c.noise).chain([&c.amplitude]) {
            assert!((1e-7..=2.0 + 1e-6).contains(&v), "{v}");
        }
        amp.push(c.amplitude);
        first_harm.push(c.harmonics[0]);
    }
    let spread = |v: &[f32]| {
        v.iter().cloned().fold(f32::MIN, f32::max) - v.iter().cloned().fold(f32::MAX, f32::min)
    };
    assert!(
        spread(&amp) > 0.05,
        "amplitude barely moves: {}",
        spread(&amp)
    );
    assert!(
        spread(&first_harm) > 0.05,
        "harmonic 1 barely moves: {}",
        spread(&first_harm)
    );
}

#[test]
fn reset_reproduces_the_first_run_exactly() {
    for arch in test_architectures() {
        let model = random_model(&arch, 11);
        let (f0, loud) = random_inputs(300, 12);
        let mut dec = Decoder::new(&model);
        let first: Vec<Controls> = f0
            .iter()
            .zip(&loud)
            .map(|(&f, &l)| dec.step(f, l).clone())
            .collect();
        dec.reset();
        for (t, ((&f, &l), want)) in f0.iter().zip(&loud).zip(&first).enumerate() {
            assert_eq!(dec.step(f, l), want, "frame {t} after reset");
        }
        // A fresh decoder agrees too.
        let mut fresh = Decoder::new(&model);
        assert_eq!(fresh.step(f0[0], loud[0]), &first[0]);
    }
}

#[test]
fn impulse_affects_exactly_the_receptive_field() {
    for arch in test_architectures() {
        let rf = arch.receptive_field();
        let model = random_model(&arch, 21);
        let n = 3 * rf + 10;
        let (f0, loud) = random_inputs(n, 22);
        let at = rf + 3;
        for input in 0..2 {
            let (mut f0b, mut loudb) = (f0.clone(), loud.clone());
            if input == 0 {
                f0b[at] += 0.25;
            } else {
                loudb[at] += 0.25;
            }
            let mut dec_a = Decoder::new(&model);
            let mut dec_b = Decoder::new(&model);
            for t in 0..n {
                let a = dec_a.step(f0[t], loud[t]).clone();
                let b = dec_b.step(f0b[t], loudb[t]);
                let d = max_abs_diff(&a, b);
                if t < at || t >= at + rf {
                    assert_eq!(
                        d, 0.0,
                        "C={} input {input}: frame {t} changed by an impulse at {at} (RF {rf})",
                        arch.channels
                    );
                } else if t == at || t == at + rf - 1 {
                    // The first and the last frame of the field must see it.
                    assert!(
                        d > 0.0,
                        "C={} input {input}: frame {t} did not see the impulse at {at} (RF {rf})",
                        arch.channels
                    );
                }
            }
        }
    }
}

#[test]
fn default_receptive_field_is_55_frames() {
    assert_eq!(Architecture::default().receptive_field(), 55);
}

#[test]
fn hostile_inputs_give_finite_outputs() {
    for arch in test_architectures() {
        let model = random_model(&arch, 31);
        for mut dec in decoders(&model) {
            let specials = [
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                1e30,
                -1e30,
                f32::MIN_POSITIVE,
                -0.0,
            ];
            for &a in &specials {
                for &b in &specials {
                    let c = dec.step(a, b);
                    assert!(c.amplitude.is_finite());
                    assert!(c.harmonics.iter().chain(&c.noise).all(|v| v.is_finite()));
                }
            }
            // NaN reads as 0: after a NaN-only history, the output equals that of zeros.
            let mut zeros = Decoder::new(&model);
            dec.reset();
            for _ in 0..arch.receptive_field() {
                assert_eq!(dec.step(f32::NAN, f32::NAN), zeros.step(0.0, 0.0));
            }
        }
    }
}

#[test]
fn step_and_reset_do_not_allocate() {
    for arch in test_architectures() {
        let model = random_model(&arch, 41);
        let (f0, loud) = random_inputs(500, 42);
        for mut dec in decoders(&model) {
            // Warm up first, so lazily initialized runtime state (CPU feature detection) is
            // not counted.
            dec.step(0.5, 0.5);
            let n = allocations_during(|| {
                for (&f, &l) in f0.iter().zip(&loud) {
                    std::hint::black_box(dec.step(f, l));
                }
                dec.reset();
                dec.step(0.1, 0.2);
            });
            assert_eq!(n, 0, "{}: {n} allocations", dec.kernel());
        }
    }
}

#[test]
fn all_kernels_give_identical_bits() {
    // Every kernel performs the canonical arithmetic of the reference, so they agree exactly
    // (not just within TOLERANCE).
    for arch in test_architectures() {
        let model = random_model(&arch, 51);
        let (f0, loud) = random_inputs(400, 52);
        let mut decs = decoders(&model);
        for (&f, &l) in f0.iter().zip(&loud) {
            let first = decs[0].step(f, l).clone();
            for dec in &mut decs[1..] {
                let kernel = dec.kernel();
                assert_eq!(dec.step(f, l), &first, "{kernel} differs from portable");
            }
        }
    }
}

#[test]
fn new_picks_the_best_available_kernel() {
    let model = random_model(&Architecture::default(), 1);
    let best = Decoder::with_isa(&model, Isa::best()).unwrap();
    assert_eq!(Decoder::new(&model).kernel(), best.kernel());
    assert!(Decoder::with_isa(&model, Isa::Portable).is_some());
}

/// An interleaved decoder (stride `s`) answers every step with what the batch reference gives
/// on the frames one frame (`s` steps) apart that end at that step: `s` copies of the trained
/// network, each on its own grid. Checked at strides 2, 4 and 5 for every test architecture.
#[test]
fn interleaved_steps_equal_the_batch_reference_on_each_frame_grid() {
    for (a, arch) in test_architectures().into_iter().enumerate() {
        let model = random_model(&arch, 40 + a as u64);
        let (f0, loud) = random_inputs(600, 3 + a as u64);
        for stride in [2usize, 4, 5] {
            let mut dec = Decoder::interleaved(&model, stride);
            assert_eq!(dec.stride(), stride);
            assert_eq!(
                dec.receptive_field_steps(),
                (arch.receptive_field() - 1) * stride + 1
            );
            let streamed: Vec<Controls> = (0..f0.len())
                .map(|t| dec.step(f0[t], loud[t]).clone())
                .collect();
            let mut worst = 0.0f32;
            for phase in 0..stride {
                let grid: Vec<usize> = (phase..f0.len()).step_by(stride).collect();
                let pick = |v: &[f32]| grid.iter().map(|&t| v[t]).collect::<Vec<_>>();
                let batch = dec.run_batch(&pick(&f0), &pick(&loud));
                for (&t, expected) in grid.iter().zip(&batch) {
                    let d = max_abs_diff(&streamed[t], expected);
                    assert!(
                        d <= TOLERANCE,
                        "stride {stride}, step {t}: differs from its grid's reference by {d:e}"
                    );
                    worst = worst.max(d);
                }
            }
            // The grids really are separate: the plain decoder on the same steps differs
            // (unless the network has no history to reach back into).
            if arch.receptive_field() == 1 {
                continue;
            }
            let mut plain = Decoder::new(&model);
            let differs = (0..f0.len())
                .map(|t| max_abs_diff(plain.step(f0[t], loud[t]), &streamed[t]))
                .fold(0.0f32, f32::max);
            assert!(differs > TOLERANCE, "stride {stride}: same as stride 1");
            println!("C={} stride {stride}: worst {worst:e}", arch.channels);
        }
    }
}
