//! Symmetric per-output-channel int8 quantization of the layer weights.
//!
//! Each output channel (row of `[out, in, K]` or `[out, in]`) gets its own scale
//! `s = max |w| / 127`, and each weight becomes `q = round(w / s)` in `−127..=127`, so the
//! dequantized weight `q · s` is within `s / 2` of the original. Biases, norm parameters and
//! the IR stay f32: they are a few hundred numbers and carry the offsets that matter most.
//!
//! The decoder dequantizes at load ([`crate::Decoder::new`]) and runs the f32 kernels: the step
//! is bound by multiply-add throughput, so converting int8 weights on the fly only adds work
//! (measured 25% slower for C = 8). See the crate docs for the measurement and for the
//! measured int8-vs-f32 output error.

use crate::file::ModelFile;
use crate::metadata::WeightPrecision;
use crate::weights::WeightData;

/// Quantizes a row-major weight with `rows` output channels. An all-zero row gets scale 0.
pub fn quantize_rows(weights: &[f32], rows: usize) -> WeightData {
    let row_len = weights.len().checked_div(rows).unwrap_or(0);
    let mut values = Vec::with_capacity(weights.len());
    let mut scales = Vec::with_capacity(rows);
    for row in weights.chunks(row_len.max(1)).take(rows) {
        let max = row.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        let scale = max / 127.0;
        let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
        values.extend(
            row.iter()
                .map(|w| (w * inv).round().clamp(-127.0, 127.0) as i8),
        );
        scales.push(scale);
    }
    WeightData::Int8 { values, scales }
}

impl ModelFile {
    /// The same model with every layer weight quantized to int8 (per output channel,
    /// symmetric) and `weight_precision` set to `"int8"`. An int8 model is returned unchanged.
    pub fn quantize_int8(&self) -> ModelFile {
        let (mut metadata, weights) = self.clone().into_parts();
        let quantized = weights.map_weight_data(|data, outputs| match data {
            WeightData::F32(w) => quantize_rows(w, outputs),
            q @ WeightData::Int8 { .. } => q.clone(),
        });
        metadata.weight_precision = WeightPrecision::Int8;
        // Quantizing keeps every check true: same names and shapes, finite scales
        // `max |w| / 127` within the cap for the scales.
        ModelFile::from_valid_parts(metadata, quantized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_get_their_own_scale() {
        // Row 0: max 1.27 → scale 0.01, −0.6 → −60; row 1: max 0.5 → scale 0.5/127,
        // −0.2 → −50.8 → −51, 0.001 → 0.25 → 0.
        let w = [1.27, -0.6, 0.0, 0.5, -0.2, 0.001];
        let WeightData::Int8 { values, scales } = quantize_rows(&w, 2) else {
            panic!()
        };
        assert_eq!(values, vec![127, -60, 0, 127, -51, 0]);
        assert!((scales[0] - 0.01).abs() < 1e-9);
        assert!((scales[1] - 0.5 / 127.0).abs() < 1e-9);
        // Every dequantized weight is within half a step of the original.
        let back = WeightData::Int8 {
            values,
            scales: scales.clone(),
        }
        .to_f32();
        for (i, (a, b)) in w.iter().zip(&back).enumerate() {
            assert!(
                (a - b).abs() <= scales[i / 3] / 2.0 + 1e-9,
                "{i}: {a} vs {b}"
            );
        }
    }

    #[test]
    fn zero_row_has_zero_scale() {
        let WeightData::Int8 { values, scales } = quantize_rows(&[0.0, 0.0], 1) else {
            panic!()
        };
        assert_eq!((values, scales), (vec![0, 0], vec![0.0]));
    }
}
