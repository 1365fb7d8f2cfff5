//! The network's shape as plain data: [`Architecture`] and [`NormType`].
//!
//! The training crate reads the same struct, so it holds nothing but numbers and an enum, and
//! serializes with serde into the model file's metadata. [`Architecture::validate`] caps every
//! size, so a hostile file cannot make the loader or the decoder allocate without bound.

use serde::{Deserialize, Serialize};

/// Number of per-frame input features: scaled f0 and scaled loudness.
pub const N_INPUTS: usize = 2;
/// Most channels a model may have.
pub const MAX_CHANNELS: usize = 64;
/// Most harmonics a model may output (the oscillator bank's limit).
pub const MAX_HARMONICS: usize = 100;
/// Most noise bands a model may output.
pub const MAX_NOISE_BANDS: usize = 256;
/// Most residual blocks a model may have.
pub const MAX_LAYERS: usize = 16;
/// Largest dilation of a residual block's conv.
pub const MAX_DILATION: usize = 64;
/// Largest conv kernel size.
pub const MAX_KERNEL_SIZE: usize = 7;
/// Epsilon added to the variance in [`NormType::LayerChannels`] (burn's `LayerNorm` default).
pub const LAYER_NORM_EPSILON: f32 = 1e-5;

/// The per-frame normalization inside each residual block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormType {
    /// No normalization (`"none"`).
    #[default]
    None,
    /// LayerNorm over the channels of one frame, with a learned gain and bias per channel
    /// (`"layer_channels"`): `y = (x − mean) / sqrt(var + ε) · gain + bias`, where mean and the
    /// biased variance run over the `channels` values of the frame and ε is
    /// [`LAYER_NORM_EPSILON`]. It looks at one frame only, so it is causal and streams.
    LayerChannels,
}

/// The shape of DDSP-CNN-Tiny.
///
/// The network, frame by frame (`x` is the residual stream, `C` channels):
/// ```text
/// x = input_conv([f0_scaled, loudness_scaled])            causal, kernel K, dilation 1, 2 → C
/// for each block i with dilation d:
///     x = x + conv_d(relu6(norm_i(x)))                    causal, kernel K, dilation d, C → C
/// y = head(relu6(x))                                      dense, C → 1 + H + B
/// amplitude = exp_sigmoid(y[0])
/// harmonics = exp_sigmoid(y[1 ..= H])                     not normalized
/// noise     = exp_sigmoid(y[H + 1 ..] − 5)
/// ```
/// `norm_i` is the identity for [`NormType::None`]. The final `relu6` bounds the head's input to
/// `[0, 6]` whatever the residual stream grew to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Architecture {
    /// Channels `C` of the residual stream (8 in DDSP-CNN-Tiny, 16 allowed).
    pub channels: usize,
    /// Kernel size `K` of every conv, the input conv included.
    pub kernel_size: usize,
    /// One dilation per residual block.
    pub dilations: Vec<usize>,
    /// Harmonics `H` in the harmonic distribution.
    pub n_harmonics: usize,
    /// Noise bands `B` of the filtered noise.
    pub n_noise_bands: usize,
    /// The normalization inside each block.
    pub norm: NormType,
    /// Whether the model has a learned body response ([`crate::body`]; format 2). Absent in
    /// the metadata means false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_response: bool,
}

impl Default for Architecture {
    /// DDSP-CNN-Tiny: 8 channels, kernel 3, dilations 1, 3, 9, 1, 3, 9, 60 harmonics, 65 noise
    /// bands, no norm.
    fn default() -> Self {
        Self {
            channels: 8,
            kernel_size: 3,
            dilations: vec![1, 3, 9, 1, 3, 9],
            n_harmonics: 60,
            n_noise_bands: 65,
            norm: NormType::None,
            body_response: false,
        }
    }
}

/// A size of an [`Architecture`] outside the range this build supports.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} is {value}, allowed {min}..={max}")]
pub struct SizeOutOfRange {
    /// Which size ("channels", "dilation of block 2", ...).
    pub what: String,
    /// Its value.
    pub value: usize,
    /// The smallest value allowed.
    pub min: usize,
    /// The largest value allowed.
    pub max: usize,
}

impl Architecture {
    /// Checks every size against its cap; the error says which and why.
    pub fn validate(&self) -> Result<(), SizeOutOfRange> {
        let check = |what: &str, value: usize, min: usize, max: usize| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(SizeOutOfRange {
                    what: what.to_string(),
                    value,
                    min,
                    max,
                })
            }
        };
        check("channels", self.channels, 1, MAX_CHANNELS)?;
        check("kernel_size", self.kernel_size, 1, MAX_KERNEL_SIZE)?;
        check("number of blocks", self.dilations.len(), 0, MAX_LAYERS)?;
        for (i, &d) in self.dilations.iter().enumerate() {
            check(&format!("dilation of block {i}"), d, 1, MAX_DILATION)?;
        }
        check("n_harmonics", self.n_harmonics, 1, MAX_HARMONICS)?;
        check("n_noise_bands", self.n_noise_bands, 1, MAX_NOISE_BANDS)?;
        Ok(())
    }

    /// Outputs of the head per frame: `1 + H + B`.
    pub fn n_outputs(&self) -> usize {
        1 + self.n_harmonics + self.n_noise_bands
    }

    /// How many past frames (the current one included) an output frame depends on:
    /// `1 + (K − 1) · (1 + Σ dilations)`, the input conv counting as dilation 1.
    ///
    /// For the default architecture that is `1 + 2 · (1 + 26) = 55`. (DESIGN.md quotes 54; the
    /// impulse test in `tests/decoder.rs` shows 55 is the real span.)
    pub fn receptive_field(&self) -> usize {
        1 + (self.kernel_size - 1) * (1 + self.dilations.iter().sum::<usize>())
    }

    /// Number of learned parameters (weights, biases, norm gains and biases, the body
    /// response; not the IR).
    pub fn n_params(&self) -> usize {
        let (c, k) = (self.channels, self.kernel_size);
        let norm = match self.norm {
            NormType::None => 0,
            NormType::LayerChannels => 2 * c,
        };
        let input = c * N_INPUTS * k + c;
        let blocks = self.dilations.len() * (c * c * k + c + norm);
        let head = self.n_outputs() * (c + 1);
        let body = if self.body_response {
            crate::body::BODY_BINS
        } else {
            0
        };
        input + blocks + head + body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_ddsp_cnn_tiny() {
        let a = Architecture::default();
        assert!(a.validate().is_ok());
        assert_eq!(a.n_outputs(), 126);
        // 1 + 2·(1 + 1+3+9+1+3+9) = 55.
        assert_eq!(a.receptive_field(), 55);
        // input 8·2·3 + 8 = 56; blocks 6·(8·8·3 + 8) = 1200; head 126·9 = 1134. Total 2390,
        // the "about 2.4k parameters" of the thesis.
        assert_eq!(a.n_params(), 2390);
    }

    #[test]
    fn caps_are_enforced() {
        let base = Architecture::default();
        let bad = [
            Architecture {
                channels: 0,
                ..base.clone()
            },
            Architecture {
                channels: 65,
                ..base.clone()
            },
            Architecture {
                kernel_size: 8,
                ..base.clone()
            },
            Architecture {
                dilations: vec![1; 17],
                ..base.clone()
            },
            Architecture {
                dilations: vec![1, 65],
                ..base.clone()
            },
            Architecture {
                dilations: vec![0],
                ..base.clone()
            },
            Architecture {
                n_harmonics: 101,
                ..base.clone()
            },
            Architecture {
                n_noise_bands: 257,
                ..base.clone()
            },
            Architecture {
                n_noise_bands: 0,
                ..base.clone()
            },
        ];
        for a in bad {
            assert!(a.validate().is_err(), "{a:?} should be rejected");
        }
    }

    #[test]
    fn serde_names_are_stable() {
        let json = serde_json::to_string(&Architecture {
            norm: NormType::LayerChannels,
            ..Architecture::default()
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"channels":8,"kernel_size":3,"dilations":[1,3,9,1,3,9],"n_harmonics":60,"n_noise_bands":65,"norm":"layer_channels"}"#
        );
    }
}
