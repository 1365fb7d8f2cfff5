//! Where a training step's time goes (ignored by default: `cargo test -p timbre-train --test
//! profile -- --ignored --nocapture`).

use std::time::Instant;

use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use timbre_model::Architecture;
use timbre_train::loss::spectral_loss;
use timbre_train::model::DdspModel;
use timbre_train::rng::Rng;
use timbre_train::synth::{harmonic, noise, reverb, SynthConstants};

/// A `[b, l]` batch of `sin(step · i)` over the flattened index `i`.
fn sines(b: usize, l: usize, step: f32, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = (0..b * l).map(|i| (i as f32 * step).sin()).collect();
    Tensor::from_data(TensorData::new(values, [b, l]), device)
}

#[test]
#[ignore]
fn profile_components() {
    let device = Device::flex().autodiff();
    let (b, t) = (8usize, 500usize);
    let l = t * 64;
    let arch = Architecture::default();
    let mut rng = Rng::new(0);
    let model = DdspModel::init(&arch, 16_000, &mut rng, &device);
    let f0_hz: Vec<f32> = (0..b * t).map(|i| 200.0 + (i % 500) as f32).collect();
    let t2 = |v: Vec<f32>, s: [usize; 2]| Tensor::<2>::from_data(TensorData::new(v, s), &device);
    let f0 = t2(vec![0.5; b * t], [b, t]);
    let loud = t2(vec![0.7; b * t], [b, t]);
    let target = t2(
        (0..b * l).map(|i| (i as f32 * 0.01).sin()).collect(),
        [b, l],
    );
    for _ in 0..2 {
        let mut clock = Instant::now();
        let mut lap = |what: &str| {
            eprintln!("{what:>12}: {:6.1} ms", clock.elapsed().as_secs_f64() * 1e3);
            clock = Instant::now();
        };
        let c = SynthConstants::new(&f0_hz, b, t, 60, 65, &mut rng, &device);
        let _ = c.sines.clone().slice([0..1, 0..1, 0..1, 0..1]).into_data();
        lap("constants");
        let controls = model.forward(f0.clone(), loud.clone());
        let _ = controls.amplitude.clone().into_data();
        lap("network");
        let h = harmonic(&controls, &c);
        let _ = h.clone().slice([0..1, 0..1]).into_data();
        lap("harmonic");
        let n = noise(&controls, &c);
        let _ = n.clone().slice([0..1, 0..1]).into_data();
        lap("noise");
        let out = reverb(h + n, model.reverb_ir());
        let _ = out.clone().slice([0..1, 0..1]).into_data();
        lap("reverb");
        let loss = spectral_loss(out, target.clone());
        let _ = loss.clone().into_data();
        lap("loss");
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        lap("backward");
        drop(grads);
    }
}

#[test]
#[ignore]
fn profile_stft() {
    let device = Device::flex();
    let (b, l) = (8usize, 32_000usize);
    let x = sines(b, l, 0.01, &device);
    for n in [2048usize, 256, 64] {
        let mut clock = Instant::now();
        let mut lap = |what: &str| {
            eprintln!(
                "n {n} {what:>12}: {:6.1} ms",
                clock.elapsed().as_secs_f64() * 1e3
            );
            clock = Instant::now();
        };
        let m = timbre_train::loss::stft_magnitude(x.clone(), n);
        let _ = m.into_data();
        lap("magnitude");
        let frames = x.clone().unfold::<3, _>(1, n, n / 4);
        let _ = frames.clone().slice([0..1, 0..1, 0..1]).into_data();
        lap("unfold");
        let rows = frames.dims()[0] * frames.dims()[1];
        let flat = frames.reshape([rows, n]);
        let _ = flat.clone().slice([0..1, 0..1]).into_data();
        lap("reshape");
        let (re, _im) = burn::signal::rfft(flat, 1, Some(n));
        let _ = re.slice([0..1, 0..1]).into_data();
        lap("rfft");
        let padded = x.clone().pad(
            [(0, 0), (n / 2, n / 2)],
            burn::tensor::ops::PadMode::Reflect,
        );
        let _ = padded.clone().slice([0..1, 0..1]).into_data();
        lap("pad");
        let frames = padded.unfold::<3, _>(1, n, n / 4);
        let w = burn::signal::hann_window(n, true, &device).reshape([1, 1, n]);
        let windowed = frames * w;
        let _ = windowed.clone().slice([0..1, 0..1, 0..1]).into_data();
        lap("window");
        let [bb, f, _] = windowed.dims();
        let (re, im) = burn::signal::rfft(windowed.reshape([bb * f, n]), 1, Some(n));
        let _ = re.clone().slice([0..1, 0..1]).into_data();
        lap("rfft2");
        let p = re.square() + im.square();
        let _ = p.clone().slice([0..1, 0..1]).into_data();
        lap("power");
        let m = p.clamp_min(1e-12).sqrt().reshape([bb, f, n / 2 + 1]);
        let _ = m.into_data();
        lap("sqrt");
    }
}

#[test]
#[ignore]
fn profile_loss_backward() {
    let device = Device::flex().autodiff();
    let (b, l) = (8usize, 32_000usize);
    let x = sines(b, l, 0.01, &device).require_grad();
    let y = sines(b, l, 0.013, &device);
    for n in [2048usize, 256, 64] {
        let clock = Instant::now();
        let loss = timbre_train::loss::scale_loss(x.clone(), y.clone(), n);
        let _ = loss.clone().into_data();
        let fwd = clock.elapsed().as_secs_f64() * 1e3;
        let clock = Instant::now();
        let g = loss.backward();
        let _ = x.grad(&g).unwrap().slice([0..1, 0..1]).into_data();
        eprintln!(
            "n {n}: forward {fwd:.1} ms, backward {:.1} ms",
            clock.elapsed().as_secs_f64() * 1e3
        );
    }
}
