//! Models for tests and benchmarks: [`random_model`], [`wired_model`] and
//! [`placeholder_metadata`]. Not for shipping.

use crate::arch::{Architecture, NormType, N_INPUTS};
use crate::file::ModelFile;
use crate::metadata::{
    DatasetStats, FeatureScaling, ModelMetadata, Provenance, WeightPrecision, FORMAT_VERSION,
};
use crate::weights::{Block, Layer, Norm, WeightData, Weights};

/// Metadata with plausible made-up values (16 kHz, 250 frames/s, pitch around middle C,
/// loudness quantiles from −70 to −10 dB) for a model of shape `arch`.
pub fn placeholder_metadata(arch: &Architecture, name: &str) -> ModelMetadata {
    ModelMetadata {
        format_version: FORMAT_VERSION,
        name: name.to_string(),
        instrument: "test".to_string(),
        architecture: arch.clone(),
        sample_rate_hz: 16_000,
        frame_rate_hz: 250,
        features: FeatureScaling::default(),
        dataset: DatasetStats {
            pitch_mean_midi: 60.0,
            pitch_min_midi: 48.0,
            pitch_max_midi: 76.0,
            loudness_quantiles_db: (0..11).map(|i| -70.0 + 6.0 * i as f32).collect(),
        },
        reverb_sample_rate_hz: 16_000,
        weight_precision: WeightPrecision::F32,
        recommended_settings: Default::default(),
        provenance: Provenance {
            notes: "random weights, not trained".to_string(),
            ..Provenance::default()
        },
    }
}

/// A deterministic xorshift64* generator.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform in `[lo, hi)`.
    fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
        lo + (hi - lo) * (bits as f32 / (1u64 << 24) as f32)
    }

    fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }
}

/// A model of shape `arch` with random weights, deterministic per `seed`, scaled so the
/// network behaves like a trained one: the residual stream stays within a few units, relu6
/// neither dies nor saturates everywhere, and the head's logits spread over about ±3 so the
/// outputs vary with the input instead of sitting at 0 or 2. The reverb IR is 0.1 s of
/// decaying noise with `ir[0] = 0` (the wet part only); a body response, if `arch` has one,
/// random within ±12 dB. For tests and benchmarks.
///
/// Panics if `arch` fails [`Architecture::validate`] (a test's own mistake).
pub fn random_model(arch: &Architecture, seed: u64) -> ModelFile {
    let mut rng = Rng::new(seed);
    let (c, k) = (arch.channels, arch.kernel_size);
    // Uniform ±a has variance a²/3; a = s · sqrt(3 / fan_in) gives output variance s² per unit
    // input variance.
    let limit = |fan_in: usize, s: f32| s * (3.0 / fan_in as f32).sqrt();
    let layer = |rng: &mut Rng, out: usize, fan_in: usize, s: f32, bias: (f32, f32)| Layer {
        weight: WeightData::F32(rng.vec(out * fan_in, -limit(fan_in, s), limit(fan_in, s))),
        bias: rng.vec(out, bias.0, bias.1),
    };
    let input = layer(&mut rng, c, N_INPUTS * k, 2.0, (0.0, 1.0));
    let blocks = arch
        .dilations
        .iter()
        .map(|_| Block {
            conv: layer(&mut rng, c, c * k, 0.5, (-0.2, 0.2)),
            norm: (arch.norm == NormType::LayerChannels).then(|| Norm {
                gain: rng.vec(c, 0.8, 1.2),
                bias: rng.vec(c, 0.3, 0.8),
            }),
        })
        .collect();
    let mut head = layer(&mut rng, arch.n_outputs(), c, 1.0, (-1.5, 1.5));
    // Lift the noise logits so the −5 offset leaves them audible rather than at the floor.
    for b in &mut head.bias[1 + arch.n_harmonics..] {
        *b += 4.0;
    }
    let ir_len = 16_000 / 10;
    let reverb_ir = (0..ir_len)
        .map(|i| {
            if i == 0 {
                0.0
            } else {
                0.05 * (-(i as f32) / 400.0).exp() * rng.uniform(-1.0, 1.0)
            }
        })
        .collect();
    // Drawn last, so models without a body keep the weights they always had.
    let body_db = if arch.body_response {
        rng.vec(crate::body::BODY_BINS, -12.0, 12.0)
    } else {
        Vec::new()
    };
    let metadata = placeholder_metadata(arch, &format!("Random test model (seed {seed})"));
    ModelFile::new(
        metadata,
        Weights {
            input,
            blocks,
            head,
            reverb_ir,
            body_db,
        },
    )
    .expect("random_model: invalid architecture")
}

/// Which harmonic distribution [`wired_model`] plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WiredHarmonics {
    /// The fundamental alone (the others 100+ dB down): a pure tone whose frequency can be
    /// read from zero crossings.
    Fundamental,
    /// A falling slope over all harmonics, like a bright acoustic tone.
    Slope,
}

/// How the level of [`wired_model_with_level`]'s output follows the input loudness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WiredLevel {
    /// Amplitude logit `6·loudness − 4`: monotonic, but compressed at loud levels (0.26 dB of
    /// output per dB of input at −6 dB; 20 dB of input make about 10 dB of output).
    Compressive,
    /// Amplitude logit `4·loudness − 7`: on the exp-sigmoid head's exponential foot, so the
    /// output follows the input dB for dB (0.96–1.00 dB/dB from −80 to −6 dB), as the trained
    /// models do (0.93–1.09 dB/dB). Quiet in absolute terms (about −80 dBFS for a sawtooth
    /// peaking at −6 dBFS), with the noise bands at the head's floor (1e-7).
    Linear,
}

/// A model wired by hand, for tests that need a known behaviour: the residual blocks are zero
/// (identity), channel 0 carries the scaled loudness and channel 1 the scaled f0 (both at the
/// newest tap); the amplitude logit is `6·loudness − 4` (so the level follows the input
/// loudness monotonically; [`WiredLevel::Compressive`]), the harmonic distribution is
/// `harmonics`, the noise is about 60 dB down, and there is no reverb. Its output pitch is
/// exactly the synth's f0.
pub fn wired_model(name: &str, harmonics: WiredHarmonics) -> ModelFile {
    wired_model_with_level(name, harmonics, WiredLevel::Compressive)
}

/// [`wired_model`] with the level mapping `level`.
pub fn wired_model_with_level(
    name: &str,
    harmonics: WiredHarmonics,
    level: WiredLevel,
) -> ModelFile {
    let arch = Architecture::default();
    let (c, k) = (arch.channels, arch.kernel_size);
    let mut input_w = vec![0.0f32; c * 2 * k];
    // Weights are [out][in][tap]; the newest tap is K − 1.
    let newest = |out: usize, input: usize| (out * N_INPUTS + input) * k + (k - 1);
    input_w[newest(0, 1)] = 1.0;
    input_w[newest(1, 0)] = 1.0;
    let zero_layer = |out: usize, fan_in: usize| Layer {
        weight: WeightData::F32(vec![0.0; out * fan_in]),
        bias: vec![0.0; out],
    };
    let blocks = arch
        .dilations
        .iter()
        .map(|_| Block {
            conv: zero_layer(c, c * k),
            norm: None,
        })
        .collect();
    let mut head_weight = vec![0.0f32; arch.n_outputs() * c];
    // The amplitude row reads channel 0 (the loudness).
    let (amplitude_weight, amplitude_bias, noise_bias) = match level {
        WiredLevel::Compressive => (6.0, -4.0, -4.0),
        // Scaled loudness is dB / 80 + 1, and the head is 2·σ(x)^ln 10 ≈ 2·10^x for x ≪ 0:
        // 4 per unit of scaled loudness is 20 dB of output per 20 dB of input.
        WiredLevel::Linear => (4.0, -7.0, -30.0),
    };
    head_weight[0] = amplitude_weight;
    let mut head_bias = vec![0.0f32; arch.n_outputs()];
    head_bias[0] = amplitude_bias;
    for h in 0..arch.n_harmonics {
        head_bias[1 + h] = match harmonics {
            WiredHarmonics::Fundamental if h == 0 => 8.0,
            WiredHarmonics::Fundamental => -30.0,
            WiredHarmonics::Slope => 1.0 - 0.35 * h as f32,
        };
    }
    for b in 0..arch.n_noise_bands {
        head_bias[1 + arch.n_harmonics + b] = noise_bias;
    }
    let weights = Weights {
        input: Layer {
            weight: WeightData::F32(input_w),
            bias: vec![0.0; c],
        },
        blocks,
        head: Layer {
            weight: WeightData::F32(head_weight),
            bias: head_bias,
        },
        reverb_ir: Vec::new(),
        body_db: Vec::new(),
    };
    ModelFile::new(placeholder_metadata(&arch, name), weights)
        .expect("wired_model: valid by construction")
}
