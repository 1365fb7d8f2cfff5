//! [`Decoder`]: DDSP-CNN-Tiny run one frame at a time on the audio thread, plus the batch
//! reference over whole sequences.

use crate::arch::Architecture;
use crate::controls::Controls;
use crate::file::ModelFile;
use crate::kernel::{select, Isa, Packed, StepFn, LANES};
use crate::reference;
use crate::weights::Weights;

/// A runnable model. [`Decoder::new`] allocates everything (do it off the audio thread);
/// [`Decoder::step`] and [`Decoder::reset`] never allocate, lock or panic.
///
/// int8 models are dequantized here, once: the f32 kernels are faster than int8 ones (see the
/// crate docs for the measurement), so an int8 model costs the same per frame as an f32 one
/// and differs from its f32 original only by the quantization of its weights.
#[derive(Clone, Debug)]
pub struct Decoder {
    /// The network's shape.
    arch: Architecture,
    /// The f32 weights, unpadded, for [`Decoder::run_batch`].
    weights: Weights,
    /// Packed weights and streaming state.
    packed: Packed,
    /// The compiled step for this CPU and channel count.
    step_fn: StepFn,
    /// Name of the compiled step, for benchmarks and logs.
    kernel: &'static str,
    /// Steps per model frame (see [`Decoder::interleaved`]).
    stride: usize,
    /// The output of the last step.
    controls: Controls,
}

impl Decoder {
    /// Builds the runtime for `model` with the fastest kernels this CPU supports
    /// ([`Isa::best`]). Allocates.
    pub fn new(model: &ModelFile) -> Self {
        Self::build(model, Isa::best(), 1)
    }

    /// Builds the runtime for steps `stride` times as frequent as the model's frames (a 1 ms
    /// step for a 4 ms frame at stride 4): every causal convolution reaches back whole frames,
    /// `stride` steps per frame, so the output of each step is exactly what the network
    /// computes on the sequence of frames one frame apart that ends at that step. It runs as
    /// `stride` interleaved copies of the trained network, each on its own frame grid, at
    /// `stride` times the cost per second, and answers every step instead of every frame.
    /// Allocates.
    pub fn interleaved(model: &ModelFile, stride: usize) -> Self {
        Self::build(model, Isa::best(), stride)
    }

    /// Builds the runtime with the kernels for `isa`, or `None` if this CPU lacks it. All
    /// instruction sets give bit-identical outputs; this exists for tests and benchmarks.
    /// Allocates.
    pub fn with_isa(model: &ModelFile, isa: Isa) -> Option<Self> {
        isa.is_available().then(|| Self::build(model, isa, 1))
    }

    fn build(model: &ModelFile, isa: Isa, stride: usize) -> Self {
        let stride = stride.max(1);
        let arch = model.architecture().clone();
        let weights = model.weights().to_f32();
        let packed = Packed::new(&arch, &weights, stride);
        let (step_fn, kernel) = select(arch.channels.div_ceil(LANES), isa);
        let controls = Controls::new(&arch);
        Self {
            arch,
            weights,
            packed,
            step_fn,
            kernel,
            stride,
            controls,
        }
    }

    /// Steps per model frame (1 unless built by [`Decoder::interleaved`]).
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Steps of input history that one output depends on: the architecture's receptive
    /// field in frames, each frame `stride` steps apart.
    pub fn receptive_field_steps(&self) -> usize {
        (self.arch.receptive_field() - 1) * self.stride + 1
    }

    /// The network's shape.
    pub fn architecture(&self) -> &Architecture {
        &self.arch
    }

    /// Which compiled kernel runs (e.g. `"avx2, C ≤ 8"`).
    pub fn kernel(&self) -> &'static str {
        self.kernel
    }

    /// Runs one frame: scaled f0 and loudness in ([`crate::scale_f0`],
    /// [`crate::scale_loudness`]), the frame's controls out. Inputs are clamped to
    /// ±[`reference::INPUT_LIMIT`] and NaN/Inf read as 0, so the output is always finite.
    /// No allocation.
    #[inline]
    pub fn step(&mut self, f0_scaled: f32, loudness_scaled: f32) -> &Controls {
        (self.step_fn)(&mut self.packed, f0_scaled, loudness_scaled);
        self.controls
            .fill_from(self.packed.out.as_flattened().as_flattened());
        &self.controls
    }

    /// The controls of the last [`Decoder::step`] (zeros before the first).
    pub fn controls(&self) -> &Controls {
        &self.controls
    }

    /// Forgets all history: the next step behaves like the first after [`Decoder::new`].
    /// No allocation.
    pub fn reset(&mut self) {
        self.packed.reset();
        self.controls.amplitude = 0.0;
        self.controls.harmonics.fill(0.0);
        self.controls.noise.fill(0.0);
    }

    /// The reference forward pass over whole sequences (the first
    /// `min(f0.len(), loudness.len())` frames) from zero history, with plain non-streaming
    /// convolutions. Independent of the streaming state. Allocates.
    pub fn run_batch(&self, f0: &[f32], loudness: &[f32]) -> Vec<Controls> {
        reference::forward(&self.arch, &self.weights, f0, loudness)
    }
}
