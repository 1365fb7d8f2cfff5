//! Rendering whole clips: for the CLI, the tests and the evaluation. Allocates.

use timbre_model::ModelFile;

use crate::{Engine, EngineError, Params};

/// Block size used for offline renders (the result does not depend on it).
pub const OFFLINE_BLOCK: usize = 1024;

/// A rendered stereo clip.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// Left channel.
    pub left: Vec<f32>,
    /// Right channel.
    pub right: Vec<f32>,
    /// The engine latency that was compensated, in samples.
    pub latency_samples: u32,
}

/// Renders `channels` (one slice per input channel, all the same length) at `sample_rate`
/// through `model` with `params`. The output has the input's length and is aligned with it:
/// the engine's latency is compensated by feeding that many extra samples of silence and
/// dropping the first `latency` output samples. `progress(done, total)` is called after each
/// block.
pub fn render(
    model: &ModelFile,
    params: &Params,
    channels: &[Vec<f32>],
    sample_rate: f64,
    progress: impl FnMut(usize, usize),
) -> Result<Rendered, EngineError> {
    render_morph(model, None, params, channels, sample_rate, progress)
}

/// [`render`] with a morph: `morph_to` is model B, blended in by `params.morph`
/// (see [`crate::VoiceFactory::send_morph`]). A model B the engine cannot play is a typed
/// error, before anything renders.
pub fn render_morph(
    model: &ModelFile,
    morph_to: Option<&ModelFile>,
    params: &Params,
    channels: &[Vec<f32>],
    sample_rate: f64,
    mut progress: impl FnMut(usize, usize),
) -> Result<Rendered, EngineError> {
    let (mut engine, mut factory) = Engine::prepare(model, sample_rate, OFFLINE_BLOCK)?;
    if let Some(b) = morph_to {
        let voice = factory.build(b)?;
        // The ring of a fresh engine is empty: this cannot come back.
        assert!(factory.send_morph(voice).is_ok(), "fresh swap ring full");
    }
    engine.set_params(params);
    engine.reset();
    let len = channels.iter().map(Vec::len).max().unwrap_or(0);
    let mut left = Vec::with_capacity(len + engine.latency_samples() as usize);
    let mut right = Vec::with_capacity(left.capacity());
    let silence = vec![0.0f32; OFFLINE_BLOCK];
    let mut pos = 0;
    // The latency is read as the render goes: it includes the body of the model that leads
    // a morph, and model B arrives with the first block.
    loop {
        let total = len + engine.latency_samples() as usize;
        if pos >= total {
            break;
        }
        let n = OFFLINE_BLOCK.min(total - pos);
        left.resize(pos + n, 0.0);
        right.resize(pos + n, 0.0);
        let inputs: Vec<&[f32]> = channels
            .iter()
            .map(|c| {
                if pos + n <= c.len() {
                    &c[pos..pos + n]
                } else {
                    &silence[..n]
                }
            })
            .collect();
        // A block that straddles the end of the input: copy the tail and pad with silence.
        let mut straddle: Vec<Vec<f32>> = Vec::new();
        let inputs: Vec<&[f32]> = if pos < len && pos + n > len {
            straddle = channels
                .iter()
                .map(|c| {
                    let mut b = vec![0.0; n];
                    let have = c.len().saturating_sub(pos).min(n);
                    b[..have].copy_from_slice(&c[pos..pos + have]);
                    b
                })
                .collect();
            straddle.iter().map(Vec::as_slice).collect()
        } else {
            inputs
        };
        let (l, r) = (&mut left[pos..pos + n], &mut right[pos..pos + n]);
        engine.process(&inputs, l, r);
        drop(straddle);
        pos += n;
        progress(pos.min(len), len);
    }
    let latency = engine.latency_samples() as usize;
    left.drain(..latency.min(left.len()));
    right.drain(..latency.min(right.len()));
    left.truncate(len);
    right.truncate(len);
    Ok(Rendered {
        left,
        right,
        latency_samples: latency as u32,
    })
}
