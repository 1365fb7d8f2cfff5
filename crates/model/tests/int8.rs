//! int8 models against their f32 originals: how far quantization moves the outputs.

mod common;

use common::{max_abs_diff, random_inputs, test_architectures};
use timbre_model::{random_model, Decoder, ModelFile, INT8_MAX_ABS_ERROR};

#[test]
fn int8_outputs_stay_within_the_documented_bound_of_f32() {
    let mut overall = 0.0f32;
    for (a, arch) in test_architectures().into_iter().enumerate() {
        let mut worst = 0.0f32;
        let mut sum = 0.0f64;
        let mut count = 0usize;
        for seed in 0..4u64 {
            let model = random_model(&arch, 1000 * a as u64 + seed);
            // Through the file, as the plugin would see it.
            let int8 =
                ModelFile::from_bytes(&model.quantize_int8().to_bytes().unwrap(), "int8").unwrap();
            let (f0, loud) = random_inputs(1000, seed + 50);
            let mut dec_f32 = Decoder::new(&model);
            let mut dec_int8 = Decoder::new(&int8);
            for (&f, &l) in f0.iter().zip(&loud) {
                let d = max_abs_diff(dec_f32.step(f, l), dec_int8.step(f, l));
                worst = worst.max(d);
                sum += d as f64;
                count += 1;
            }
        }
        println!(
            "C={:2} K={} blocks={} norm={:?}: int8 vs f32 max |Δ| = {worst:.2e}, mean per-frame max |Δ| = {:.2e}",
            arch.channels,
            arch.kernel_size,
            arch.dilations.len(),
            arch.norm,
            sum / count as f64
        );
        overall = overall.max(worst);
    }
    println!("overall max |Δ| = {overall:.3e} (documented bound {INT8_MAX_ABS_ERROR:e})");
    assert!(
        overall <= INT8_MAX_ABS_ERROR,
        "int8 error {overall} exceeds the documented bound"
    );
    // The bound is not vacuous: quantization does change the outputs.
    assert!(overall > 1e-5);
}

#[test]
fn quantizing_is_idempotent_and_decodes_on_the_f32_kernels() {
    let model = random_model(&Default::default(), 77);
    let q = model.quantize_int8();
    assert_eq!(q.quantize_int8(), q);
    assert_eq!(
        q.metadata().weight_precision,
        timbre_model::metadata::WeightPrecision::Int8
    );
    // Dequantized at load: both decoders run the same kernel.
    assert_eq!(Decoder::new(&q).kernel(), Decoder::new(&model).kernel());
}
