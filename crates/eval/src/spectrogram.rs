//! Spectrogram pictures for the README: log-magnitude STFTs of 16 kHz clips, stacked as
//! labelled-by-order panels in one PNG (low frequencies at the bottom).

use std::path::Path;

use realfft::RealFftPlanner;

use crate::spectral::hann;
use crate::EvalError;

/// FFT size of the pictures.
pub const FFT: usize = 1024;
/// Hop of the pictures, in samples (16 ms at 16 kHz).
pub const HOP: usize = 256;
/// FFT bins per pixel row (the louder one is drawn).
pub const BINS_PER_ROW: usize = 2;
/// Dynamic range shown, in dB below each panel's peak.
pub const RANGE_DB: f64 = 80.0;
/// Pixels between panels.
const GAP: usize = 6;

/// Log-magnitude spectrogram (dB): `columns × (FFT/2)` values, bins 0 … FFT/2 − 1.
pub fn spectrogram_db(x: &[f32]) -> Vec<Vec<f64>> {
    let window = hann(FFT);
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(FFT);
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let columns = x.len().div_ceil(HOP);
    (0..columns)
        .map(|c| {
            for (j, v) in input.iter_mut().enumerate() {
                let i = (c * HOP + j) as isize - (FFT / 2) as isize;
                let s = if i >= 0 {
                    x.get(i as usize).copied().unwrap_or(0.0)
                } else {
                    0.0
                };
                *v = s as f64 * window[j];
            }
            fft.process(&mut input, &mut spectrum)
                .expect("buffers come from the plan");
            spectrum[..FFT / 2]
                .iter()
                .map(|c| 10.0 * c.norm_sqr().max(1e-20).log10())
                .collect()
        })
        .collect()
}

/// A dark-to-bright colour ramp (black → purple → orange → pale yellow) for `v` in `0..=1`.
pub fn colour(v: f64) -> [u8; 3] {
    const STOPS: [[f64; 3]; 5] = [
        [0.0, 0.0, 0.02],
        [0.25, 0.05, 0.45],
        [0.7, 0.15, 0.4],
        [0.98, 0.55, 0.1],
        [1.0, 0.98, 0.75],
    ];
    let v = v.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (v.floor() as usize).min(STOPS.len() - 2);
    let t = v - i as f64;
    let mut out = [0u8; 3];
    for (c, o) in out.iter_mut().enumerate() {
        *o = ((STOPS[i][c] * (1.0 - t) + STOPS[i + 1][c] * t) * 255.0).round() as u8;
    }
    out
}

/// Writes the spectrograms of `clips` (16 kHz, drawn top to bottom in order, one column per
/// hop, one row per [`BINS_PER_ROW`] bins) as an RGB PNG at `path`.
pub fn write_png(path: &Path, clips: &[&[f32]]) -> Result<(), EvalError> {
    let panels: Vec<Vec<Vec<f64>>> = clips.iter().map(|c| spectrogram_db(c)).collect();
    let width = panels.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let rows = FFT / 2 / BINS_PER_ROW;
    let height = panels.len() * rows + panels.len().saturating_sub(1) * GAP;
    let mut pixels = vec![255u8; width * height * 3];
    for (p, panel) in panels.iter().enumerate() {
        let peak = panel.iter().flatten().copied().fold(f64::MIN, f64::max);
        let top = p * (rows + GAP);
        for (x, column) in panel.iter().enumerate() {
            for (row, bins) in column.chunks(BINS_PER_ROW).enumerate() {
                let db = bins.iter().copied().fold(f64::MIN, f64::max);
                let y = top + rows - 1 - row;
                let rgb = colour(1.0 + (db - peak) / RANGE_DB);
                let at = (y * width + x) * 3;
                pixels[at..at + 3].copy_from_slice(&rgb);
            }
        }
    }
    let io = |e: std::io::Error| EvalError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let png_error = |e: png::EncodingError| EvalError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut writer = encoder.write_header().map_err(png_error)?;
    writer.write_image_data(&pixels).map_err(png_error)?;
    writer.finish().map_err(png_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sine_lights_its_own_bin() {
        let hz = 1000.0;
        let x: Vec<f32> = (0..8000)
            .map(|n| (2.0 * std::f64::consts::PI * hz * n as f64 / 16_000.0).sin() as f32)
            .collect();
        let s = spectrogram_db(&x);
        let column = &s[15];
        let peak = column
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(peak, (hz * FFT as f64 / 16_000.0) as usize);
        assert!(column[peak] - column[peak + 20] > 60.0);
    }

    #[test]
    fn writes_a_png_of_the_stacked_panels() {
        let dir = std::env::temp_dir().join(format!("tt-spectrogram-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.png");
        let a = vec![0.1f32; 1280];
        let b = vec![0.0f32; 640];
        write_png(&path, &[&a, &b]).unwrap();
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!((info.width, info.height), (5, 2 * 256 + GAP as u32));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn colour_ramp_runs_from_dark_to_bright() {
        let lum = |c: [u8; 3]| c.iter().map(|&v| v as u32).sum::<u32>();
        let steps: Vec<u32> = (0..=10).map(|i| lum(colour(i as f64 / 10.0))).collect();
        assert!(steps.windows(2).all(|w| w[1] >= w[0]), "{steps:?}");
        assert!(lum(colour(0.0)) < 20 && lum(colour(1.0)) > 600);
    }
}
