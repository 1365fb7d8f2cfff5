//! The analysis path: host samples in, one feature frame (f0, confidence, loudness) per hop
//! out.
//!
//! ```text
//! host block ─► AnalysisResampler (rubato sinc, host rate → 16 kHz, one hop per call)
//!            ─► sliding window of the last `window` analysis samples (512)
//!            ─► every hop (64 samples = 4 ms): PitchTracker + LoudnessMeter on that window
//! ```
//!
//! [`Analyzer::process`] calls back once per completed frame with the number of input
//! samples consumed when it completed, so the caller knows the exact host sample at which
//! each frame exists. Because the resampler is always fed exactly the samples each rubato
//! call asks for, frames and their positions are identical whatever block sizes the host
//! uses (tested with blocks of 1, 7, 64, 512, 4096 and random sizes). The window starts out
//! as zeros, so the first frames see a fade-in from silence.
//!
//! In a short window (tracked undecimated, below), the loudness meter reads the spectrum the
//! pitch tracker took of the same samples ([`LoudnessMeter::measure_from_spectrum`]) instead
//! of transforming them again, where the two transform sizes allow it (the default window).
//!
//! The pitch tracker works on a 2× decimated copy of the window. The analyzer brings that copy
//! up to date when a tracker reads it ([`PitchTracker::decimate`] on just the samples that
//! came since), which gives exactly the numbers [`PitchTracker::estimate`] would compute on
//! the whole window, at an eighth of the filtering cost when it is read every hop, and none
//! in the hops that do not read it.
//!
//! # Note changes
//!
//! A frame describes its window's centre, but at a note change the whole window holds both
//! notes: the autocorrelation follows the louder one (a softer new note was reported up to
//! four frames late, a louder one up to two early) or reads too unclear to move the pitch.
//! When the whole window is less than clear (below 0.9), the analyzer also estimates the
//! pitch of each half of it (a second [`PitchTracker`] sized to half the window, on the same
//! decimated samples; notes down to 1.6 periods of the half). A change that has passed the
//! centre leaves the newest half holding one clear note, the new one; a change that has not
//! reached the centre leaves the oldest half holding the last note; a change at the centre
//! leaves both clear, and the clearer wins. A vibrato keeps the two halves within
//! [`NOTE_CHANGE_CENTS`] of each other and is left to the whole window, as are notes below
//! the halves' reach (a half that reads an octave, a twelfth or two octaves above such a note
//! is hearing its overtone). Measured (`tests/analysis.rs`): the first frame to report the new
//! note is the first frame centred after the change or its neighbour, louder, softer or as
//! loud, up or down (a semitone glides over a few frames: its notes' periods are too close to
//! tell apart in one window). The halves cost up to two half-size pitch estimates in frames
//! that are not clear, one in noise.
//!
//! # Short windows
//!
//! A window of at most [`UNDECIMATED_WINDOW_SECONDS`] (lowest notes from 75 Hz; 10 ms at
//! 160 Hz) is tracked undecimated, by a second pair of trackers at the analysis rate: decimated,
//! so short a window leaves the NSDF so few samples that white noise reads voiced now and then
//! (one frame in 500 at the 80 Hz window, one in five at 160 Hz); undecimated its clarity stays
//! under 0.45. The decimated copy of the whole capacity window is brought up to date only
//! when the next section reads it, and the lowest note can move back down at any frame.
//!
//! # Notes below the lowest note
//!
//! A note below the lowest note does not fit the window: the tracker reads it unvoiced, or at
//! the edge of its lags, where it clamps what it reads to the lowest note (a 55 Hz note read
//! 60 Hz at the 60 Hz setting). So when a frame is unvoiced, or reads within a semitone above
//! the lowest note ([`BELOW_REACH_EDGE`]), the analyzer also asks a tracker on the whole
//! capacity window (32 ms, notes from 50 Hz: the window the models were trained with), from
//! the decimated copy. If that one hears a clear note below the lowest note,
//! not at its own edge (where rumble and hum read too), and of which the window holds at
//! least [`BELOW_REACH_PERIODS`] periods (its loudness is read over one of them), the frame
//! takes it: at the 100 Hz default, notes from 81 Hz (E2) on. Such a note's pitch describes the
//! centre of the longer window, so it changes later than its loudness: a step between two
//! such notes is heard up to 14 ms after the reported latency (half the difference of the
//! windows is 8 ms at the default), instead of never. Measured (`tests/analysis.rs`): steady
//! sines, saws and voice-like tones in that range are voiced in every frame, with median
//! errors under a cent, no frame 40 cents off, and their loudness steady within 1.3 dB, at
//! every lowest note from 60 to 160 Hz; white noise stays unvoiced. The lowest note still
//! sets what plays in step: a singer who wants the low notes on time sets it lower.
//!
//! # Loudness over whole periods
//!
//! A Hann window over fewer than [`WHOLE_PERIODS_BELOW`] periods of a note weighs part of a
//! period more than the rest, so a steady note's loudness rises and falls with where the
//! window falls on its waveform (up to 7 dB at 1.6 periods). For a voiced frame whose note has
//! fewer periods than that in the window, the reading is corrected to the mean square over the
//! whole periods centred in the window ([`LoudnessMeter::whole_periods_correction_db`]);
//! steady notes then read within 0.4 dB at every lowest note (tests/analysis.rs).
//!
//! # Latency
//!
//! A frame describes the centre of its window. [`Analyzer::latency_host_samples`] = (the
//! resampler's delay + window/2) in host samples: 812 samples = 16.92 ms at 48 kHz with the
//! default config (0.92 ms resampler + 16 ms half window); 16 ms at 16 kHz. Measured in
//! tests/analysis.rs: the loudness of a tone onset crosses half power 16.94 ms after the
//! onset at 48 kHz (16.002 ms at 16 kHz), and a vibrato is best aligned within 0.2 ms of the
//! reported latency.
//!
//! # Offline use (training)
//!
//! [`analyze_clip`] runs a fresh analyzer over a whole clip and returns one frame per
//! completed hop; at 16 kHz the resampler passes samples through and frame `k` is computed
//! from samples `[(k + 1)·hop − window, (k + 1)·hop)` (zeros before the clip start). It
//! allocates the result and must not be used on the audio thread; training computes its
//! features with it, so they match the plugin's exactly.
//!
//! # Real-time safety
//!
//! [`Analyzer::new`] allocates everything (FFT plans, sinc tables, buffers);
//! [`Analyzer::process`] and [`Analyzer::reset`] allocate nothing, lock nothing and log
//! nothing (tested with a counting global allocator). NaN and ±Inf input samples are treated
//! as 0; frames are always finite.

use crate::loudness::LoudnessMeter;
use crate::pitch::{PitchEstimate, PitchTracker, DEFAULT_F0_HZ, VOICED_CONFIDENCE};
use crate::resample::{AnalysisResampler, ResampleError};
use crate::{LOUDNESS_FLOOR_DB, MAX_F0_HZ, MIN_F0_HZ};

/// The analysis rate, hop and window (the model's feature rate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnalysisConfig {
    /// Analysis sample rate in Hz (16,000 by default).
    pub sample_rate: u32,
    /// Analysis samples between frames (64 by default: 250 frames/s at 16 kHz).
    pub hop: usize,
    /// Analysis samples per frame, for both pitch and loudness (512 by default).
    pub window: usize,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        Self {
            sample_rate: 16_000,
            hop: 64,
            window: 512,
        }
    }
}

impl AnalysisConfig {
    /// Frames per second: `sample_rate / hop`.
    pub fn frame_rate(&self) -> f64 {
        self.sample_rate as f64 / self.hop as f64
    }

    /// The shortest window the pitch tracker accepts at this rate.
    pub fn min_window(&self) -> usize {
        PitchTracker::min_window(self.sample_rate as f32)
    }

    /// The analysis window for notes from `lowest_hz` up: [`WINDOW_PERIODS`] periods of that
    /// note, rounded up to a multiple of the pitch tracker's decimation factor, at least what
    /// the tracker needs for that lag and at most `window` (the window the analyzer is built
    /// for, which sets the lowest note it can reach).
    pub fn window_for_lowest_note(&self, lowest_hz: f32) -> usize {
        let rate = self.sample_rate as f32;
        let lowest_hz = if lowest_hz.is_finite() {
            lowest_hz.clamp(MIN_F0_HZ, MAX_F0_HZ)
        } else {
            MIN_F0_HZ
        };
        let d = PitchTracker::decimation_for(rate);
        let wanted = (WINDOW_PERIODS * rate / lowest_hz).ceil() as usize;
        let wanted = wanted.max(PitchTracker::min_window_for(rate, lowest_hz));
        // Keep `window − wanted` a multiple of `d`, so the shorter window's decimated samples
        // are the tail of the full window's (the analyzer decimates once for both).
        let wanted = self.window - (self.window.saturating_sub(wanted) / d) * d;
        wanted.min(self.window)
    }
}

/// Periods of the lowest note that the analysis window spans (see
/// [`AnalysisConfig::window_for_lowest_note`]). The pitch tracker needs the lag of one
/// period plus enough overlap to compare; 1.6 periods of 50 Hz is the 32 ms window the models
/// were trained with.
pub const WINDOW_PERIODS: f32 = 1.6;

/// Two notes closer than this (in cents) are the same note to the note-change judgement
/// (see the module docs, "Note changes"): wider than the pitch of a wide, fast vibrato moves
/// between the window's halves at the shortest window (88 cents for ±150 cents at 7 Hz), and
/// narrower than a semitone.
pub const NOTE_CHANGE_CENTS: f32 = 80.0;

/// The clarity (NSDF peak) a half of the window needs to count as holding one note; a half
/// that holds part of the other note, or noise, reads less.
pub const HALF_CLARITY: f32 = 0.9;

/// A whole window at least this clear holds one note (a wide vibrato reads 0.90 to 0.97 at the
/// windows of every lowest note): its halves are not examined.
const ONE_NOTE_CLARITY: f32 = 0.9;

/// A note read within this ratio above the lowest note may be one below it that the window
/// cannot hold (the tracker clamps what it reads at the edge of its lags to the lowest
/// note): the whole capacity window is asked too (see the module docs, "Notes below the
/// lowest note"). A semitone.
const BELOW_REACH_EDGE: f32 = 1.059_463_1;

/// The fewest periods of a note below the lowest note that the window must hold for the
/// note to be taken from the whole capacity window: its loudness is read over one whole
/// period in the window ([`LoudnessMeter::whole_periods_correction_db`]), which reads a
/// steady bright note within 1.3 dB from 1.3 periods on (`tests/analysis.rs`) and swings by
/// 2–4 dB at 1.05–1.25. At the 100 Hz default: notes from 81 Hz (E2).
const BELOW_REACH_PERIODS: f32 = 1.3;

/// One analysis frame.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Frame {
    /// Fundamental frequency in Hz (holds the last voiced value while unvoiced).
    pub f0_hz: f32,
    /// Voicing confidence in [0, 1].
    pub confidence: f32,
    /// A-weighted loudness in dB, floored at [`crate::LOUDNESS_FLOOR_DB`].
    pub loudness_db: f32,
}

/// Why an [`Analyzer`] could not be built.
#[derive(Clone, Debug, PartialEq)]
pub enum AnalysisError {
    /// The host or analysis rate (or the hop) was refused by the resampler.
    Resample(ResampleError),
    /// The hop is 0.
    InvalidHop,
    /// The window is shorter than [`AnalysisConfig::min_window`].
    WindowTooShort {
        /// The window asked for.
        window: usize,
        /// The shortest allowed.
        min: usize,
    },
}

impl std::fmt::Display for AnalysisError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Resample(e) => write!(f, "{e}"),
            Self::InvalidHop => write!(f, "the analysis hop must be at least 1 sample"),
            Self::WindowTooShort { window, min } => write!(
                f,
                "analysis window of {window} samples is too short (at least {min})"
            ),
        }
    }
}

impl std::error::Error for AnalysisError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Resample(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ResampleError> for AnalysisError {
    fn from(e: ResampleError) -> Self {
        Self::Resample(e)
    }
}

/// Windows up to this long (in seconds: the window of a 75 Hz lowest note) are tracked
/// undecimated: decimated to 8 kHz, a window this short averages the NSDF over so few samples
/// that white noise reads voiced now and then (at the 80 Hz window, one frame in 500 with a
/// clarity of 0.9); at 16 kHz it stays unvoiced. Longer windows stay decimated (half the FFT
/// cost, and noise already stays well below the voicing threshold there).
pub const UNDECIMATED_WINDOW_SECONDS: f32 = 0.0214;

/// A voiced note with fewer periods than this in the window has its loudness read over whole
/// periods ([`LoudnessMeter::whole_periods_correction_db`]): a Hann window over a period or
/// two reads a steady note up and down with the waveform's position (up to 7 dB at 1.6
/// periods, 0.7 dB at 2.5, under 0.1 dB from 3 on; `tests/analysis.rs`).
const WHOLE_PERIODS_BELOW: f32 = 3.0;

/// A pitch tracker on the whole window and one on either half of it.
#[derive(Debug)]
struct Trackers {
    whole: PitchTracker,
    half: PitchTracker,
}

/// Host samples in, feature frames out.
#[derive(Debug)]
pub struct Analyzer {
    config: AnalysisConfig,
    resampler: AnalysisResampler,
    /// The trackers at the decimated rate (windows longer than
    /// [`UNDECIMATED_WINDOW_SECONDS`]).
    decimated: Trackers,
    /// The trackers at the analysis rate (windows up to [`UNDECIMATED_WINDOW_SECONDS`]).
    short: Trackers,
    /// The tracker on the whole capacity window, for notes below the lowest note (see the
    /// module docs, "Notes below the lowest note").
    deep: PitchTracker,
    /// Whether the window in use is short enough for [`Analyzer::short`].
    use_short: bool,
    /// The f0 of the last voiced frame (what unvoiced frames report).
    last_f0: f32,
    loudness: LoudnessMeter,
    /// The last `config.window` analysis samples, oldest first (the active window is its
    /// tail).
    window_buf: Vec<f32>,
    /// The window in use (at most `config.window`; see [`Analyzer::set_lowest_note`]).
    window: usize,
    /// The decimated view of `window_buf` (the whole capacity window) that the decimated
    /// trackers and `deep` read (empty when the hop is not a multiple of the decimation
    /// factor).
    decimated_buf: Vec<f32>,
    /// Analysis samples pushed into `window_buf` since `decimated_buf` was last brought up to
    /// date (at most the window): the view is brought up to date only when a tracker reads
    /// it, which in the short windows is only when the frame has no note in reach.
    decimated_behind: usize,
}

impl Analyzer {
    /// An analyzer for a host stream at `host_rate` Hz. Allocates (plans FFTs, builds the
    /// resampler); call it off the audio thread.
    pub fn new(config: AnalysisConfig, host_rate: f64) -> Result<Self, AnalysisError> {
        if config.hop == 0 {
            return Err(AnalysisError::InvalidHop);
        }
        let resampler = AnalysisResampler::new(host_rate, config.sample_rate as f64, config.hop)?;
        let min = config.min_window();
        if config.window < min {
            return Err(AnalysisError::WindowTooShort {
                window: config.window,
                min,
            });
        }
        let rate = config.sample_rate as f32;
        let decimated = Trackers {
            whole: PitchTracker::new(rate, config.window),
            half: PitchTracker::new(rate, config.window),
        };
        // The undecimated trackers are built for the whole capacity too (an undecimated
        // tracker needs a longer minimum window), and narrowed by `set_lowest_note`.
        let undecimated_capacity = config
            .window
            .max(PitchTracker::undecimated_min_window(rate));
        let short = Trackers {
            whole: PitchTracker::undecimated(rate, undecimated_capacity),
            half: PitchTracker::undecimated(rate, undecimated_capacity),
        };
        let deep = PitchTracker::new(rate, config.window);
        let d = decimated.whole.decimation();
        let streaming =
            config.hop.is_multiple_of(d) && config.hop / d <= decimated.whole.decimated_len();
        let decimated_buf = if streaming {
            vec![0.0; decimated.whole.decimated_len()]
        } else {
            Vec::new()
        };
        let mut analyzer = Self {
            config,
            resampler,
            decimated,
            short,
            deep,
            use_short: false,
            last_f0: DEFAULT_F0_HZ,
            loudness: LoudnessMeter::new(rate, config.window),
            window_buf: vec![0.0; config.window],
            window: config.window,
            decimated_buf,
            decimated_behind: 0,
        };
        analyzer.fit_halves();
        Ok(analyzer)
    }

    /// Sizes each half-window tracker to half the window in use (a multiple of the
    /// decimation factor, so its decimated samples are the head or the tail of the window's),
    /// for the notes whose [`WINDOW_PERIODS`] periods fit in it.
    fn fit_halves(&mut self) {
        let rate = self.config.sample_rate as f32;
        for trackers in [&mut self.decimated, &mut self.short] {
            let d = trackers.whole.decimation();
            let half = self.window / 2 / d * d;
            trackers
                .half
                .set_range(half, WINDOW_PERIODS * rate / half as f32);
        }
    }

    /// Tracks notes from `lowest_hz` up (clamped to what the analyzer was built for), with
    /// the shortest window that reaches them ([`AnalysisConfig::window_for_lowest_note`]):
    /// the latency follows. Windows up to [`UNDECIMATED_WINDOW_SECONDS`] are tracked
    /// undecimated. Takes effect at the next frame; the history is kept, so the analysis goes
    /// on without a gap. Allocates nothing.
    pub fn set_lowest_note(&mut self, lowest_hz: f32) {
        let window = self.config.window_for_lowest_note(lowest_hz);
        self.decimated.whole.set_range(window, lowest_hz);
        self.window = self.decimated.whole.window();
        let short_max = UNDECIMATED_WINDOW_SECONDS * self.config.sample_rate as f32;
        self.use_short = (self.window as f32) <= short_max;
        self.short.whole.set_range(self.window, lowest_hz);
        self.loudness.set_window(self.window);
        self.fit_halves();
    }

    /// The window in use, in analysis samples.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Whether the window in use is tracked undecimated (see
    /// [`UNDECIMATED_WINDOW_SECONDS`]).
    pub fn undecimated(&self) -> bool {
        self.use_short
    }

    /// The lowest f0 the pitch tracker reports now, in Hz.
    pub fn lowest_note_hz(&self) -> f32 {
        self.decimated.whole.lowest_hz()
    }

    /// The configuration.
    pub fn config(&self) -> AnalysisConfig {
        self.config
    }

    /// The host rate in Hz.
    pub fn host_rate(&self) -> f64 {
        self.resampler.host_rate()
    }

    /// The delay from an input event to the frame that reflects it (centred on it), in host
    /// samples: the resampler's delay plus half the window.
    pub fn latency_host_samples(&self) -> f64 {
        let analysis = self.resampler.delay_analysis_samples() + self.window as f64 / 2.0;
        analysis * self.resampler.host_rate() / self.resampler.analysis_rate()
    }

    /// [`Self::latency_host_samples`] in seconds.
    pub fn latency_seconds(&self) -> f64 {
        self.latency_host_samples() / self.resampler.host_rate()
    }

    /// Clears all state, as if freshly built. Allocates nothing.
    pub fn reset(&mut self) {
        self.resampler.reset();
        for trackers in [&mut self.decimated, &mut self.short] {
            trackers.whole.reset();
            trackers.half.reset();
        }
        self.deep.reset();
        self.last_f0 = DEFAULT_F0_HZ;
        self.window_buf.fill(0.0);
        self.decimated_buf.fill(0.0);
        self.decimated_behind = 0;
    }

    /// Feeds host samples; calls `on_frame(consumed, frame)` for each frame completed, where
    /// `consumed` is the number of samples of `input` taken in when it became complete.
    /// Non-finite samples count as 0. Allocates nothing.
    pub fn process(&mut self, input: &[f32], mut on_frame: impl FnMut(usize, Frame)) {
        let Self {
            resampler,
            decimated,
            short,
            deep,
            use_short,
            last_f0,
            loudness,
            window_buf,
            window,
            decimated_buf,
            decimated_behind,
            ..
        } = self;
        let tail = window_buf.len() - *window;
        let rate = self.config.sample_rate as f32;
        resampler.process(input, |consumed, hop| {
            push_hop(window_buf, hop);
            *decimated_behind = (*decimated_behind + hop.len()).min(window_buf.len());
            let mut p = if *use_short {
                short.estimate(window_buf, None, *window, *last_f0)
            } else {
                let view = decimated_view(deep, window_buf, decimated_buf, decimated_behind);
                decimated.estimate(window_buf, view, *window, *last_f0)
            };
            let lowest_hz = decimated.whole.lowest_hz();
            let at_the_edge = p.f0_hz < lowest_hz * BELOW_REACH_EDGE;
            if (p.confidence < VOICED_CONFIDENCE || at_the_edge) && *window < window_buf.len() {
                // No note in reach, or one at the edge of it: a note below the lowest note
                // may fill the whole capacity window (its pitch arrives later than the
                // loudness; see the module docs).
                let below = match decimated_view(deep, window_buf, decimated_buf, decimated_behind)
                {
                    Some(d) => deep.estimate_decimated(d),
                    None => deep.estimate(window_buf),
                };
                // A reading at the whole window's own edge is as doubtful (rumble and hum
                // read there too).
                let in_reach = below.f0_hz >= deep.lowest_hz() * BELOW_REACH_EDGE;
                // Its loudness is read over one whole period of it in the window, so a
                // period must fit, with room to spare.
                let fits = BELOW_REACH_PERIODS * rate < below.f0_hz * *window as f32;
                if below.confidence >= VOICED_CONFIDENCE
                    && in_reach
                    && fits
                    && below.f0_hz < lowest_hz
                {
                    p = below;
                }
            }
            if p.confidence >= VOICED_CONFIDENCE {
                *last_f0 = p.f0_hz;
            }
            // The short window's whole tracker took this frame's FFT already: the loudness
            // reads it instead of taking its own (the same reading, to float rounding).
            let shared = use_short
                .then(|| short.whole.last_spectrum())
                .flatten()
                .and_then(|frame| loudness.measure_from_spectrum(&frame));
            let mut loudness_db = shared.unwrap_or_else(|| loudness.measure(&window_buf[tail..]));
            let period = rate / p.f0_hz;
            if p.confidence >= VOICED_CONFIDENCE
                && period * WHOLE_PERIODS_BELOW > *window as f32
                && loudness_db > LOUDNESS_FLOOR_DB
            {
                loudness_db += loudness.whole_periods_correction_db(&window_buf[tail..], period);
                loudness_db = loudness_db.max(LOUDNESS_FLOOR_DB);
            }
            on_frame(
                consumed,
                Frame {
                    f0_hz: *last_f0,
                    confidence: p.confidence,
                    loudness_db,
                },
            );
        });
    }
}

impl Trackers {
    /// The pitch of the newest `window` samples of `samples`, judged as the module docs say
    /// ("Note changes"), given the last voiced f0 `last`. `decimated` is the trackers'
    /// decimated view of `samples`, kept by the caller (its tail is the window's), or `None`
    /// to decimate (or not, undecimated) here.
    fn estimate(
        &mut self,
        samples: &[f32],
        decimated: Option<&[f32]>,
        window: usize,
        last: f32,
    ) -> PitchEstimate {
        let Self { whole, half } = self;
        let tail = samples.len() - window;
        let whole_estimate = match decimated {
            // The active window's decimated samples are the tail (see
            // `AnalysisConfig::window_for_lowest_note`).
            Some(d) => whole.estimate_decimated(&d[d.len() - whole.decimated_len()..]),
            None => whole.estimate(&samples[tail..]),
        };
        if whole_estimate.confidence >= ONE_NOTE_CLARITY {
            return whole_estimate;
        }
        let lowest_hz = half.lowest_hz();
        // One half of the active window: the newest or the oldest.
        let mut half_estimate = |newest: bool| match decimated {
            Some(d) => {
                let from = if newest {
                    d.len() - half.decimated_len()
                } else {
                    d.len() - whole.decimated_len()
                };
                half.estimate_decimated(&d[from..from + half.decimated_len()])
            }
            None => {
                let from = if newest {
                    samples.len() - half.window()
                } else {
                    tail
                };
                half.estimate(&samples[from..from + half.window()])
            }
        };
        let newer = half_estimate(true);
        if whole_estimate.confidence < VOICED_CONFIDENCE && newer.confidence < HALF_CLARITY {
            // Unvoiced, and no note in the newest half: the oldest half cannot change that
            // (see `Halves::judge`), so noise costs one half, not two.
            return whole_estimate;
        }
        let halves = Halves {
            older: half_estimate(false),
            newer,
            lowest_hz,
        };
        halves.judge(whole_estimate, last)
    }
}

/// The pitch of the two halves of a window that is not clear enough to hold one note.
struct Halves {
    /// The oldest half's estimate.
    older: PitchEstimate,
    /// The newest half's estimate.
    newer: PitchEstimate,
    /// The lowest note the halves reach.
    lowest_hz: f32,
}

impl Halves {
    /// The frame's pitch, from the whole window's estimate `whole` and the last voiced f0
    /// `last`. The frame describes its window's centre: a note change that has passed the
    /// centre leaves the newest half clear with the new note, one that has not yet reached it
    /// leaves the oldest half clear with the last note, and one at the centre leaves both
    /// clear (the clearer wins). Otherwise (one note, a vibrato, noise) the whole window.
    fn judge(&self, whole: PitchEstimate, last: f32) -> PitchEstimate {
        let clear = |e: PitchEstimate| e.confidence >= HALF_CLARITY;
        let apart = |a: f32, b: f32| cents(a, b).abs() > NOTE_CHANGE_CENTS;
        let (older, newer) = (self.older, self.newer);
        // The oldest half still holds the last note (or, below the halves' reach, its
        // overtone): the last note goes on.
        let holds_last = !apart(older.f0_hz, last) || self.overtone(older, last);
        let last_note = PitchEstimate {
            f0_hz: last,
            confidence: older.confidence,
        };
        match (clear(older), clear(newer)) {
            (true, true) if apart(older.f0_hz, newer.f0_hz) => {
                if newer.confidence >= older.confidence {
                    newer
                } else if holds_last {
                    last_note
                } else {
                    older
                }
            }
            (false, true)
                if !self.overtone(newer, whole.f0_hz)
                    && !self.overtone(newer, last)
                    && (whole.confidence < VOICED_CONFIDENCE
                        || apart(newer.f0_hz, whole.f0_hz)
                        || apart(newer.f0_hz, last)) =>
            {
                newer
            }
            (true, false)
                if holds_last
                    && whole.confidence >= VOICED_CONFIDENCE
                    && apart(whole.f0_hz, last) =>
            {
                last_note
            }
            _ => whole,
        }
    }

    /// Whether `half` may be hearing an overtone of `reference_hz`, a note below the halves'
    /// reach: a whole multiple of it (an octave, a twelfth, two octaves up).
    fn overtone(&self, half: PitchEstimate, reference_hz: f32) -> bool {
        reference_hz < self.lowest_hz
            && [1200.0f32, 1902.0, 2400.0]
                .iter()
                .any(|m| (cents(half.f0_hz, reference_hz) - m).abs() < 60.0)
    }
}

/// The interval from `from_hz` to `to_hz` in cents (positive when `to_hz` is higher).
fn cents(to_hz: f32, from_hz: f32) -> f32 {
    1200.0 * (to_hz / from_hz).log2()
}

/// The decimated view of `window` (`None` when the analyzer keeps none), brought up to date
/// after the `behind` samples pushed into `window` since it last was (a multiple of the
/// decimation factor, at most the window): it shifts and decimates just the new part, which
/// gives exactly the numbers `deep.decimate(window)` would (see [`PitchTracker::decimate`]).
fn decimated_view<'a>(
    deep: &mut PitchTracker,
    window: &[f32],
    decimated: &'a mut [f32],
    behind: &mut usize,
) -> Option<&'a [f32]> {
    if decimated.is_empty() {
        return None;
    }
    if *behind > 0 {
        let d = deep.decimation();
        let new = (*behind / d).min(decimated.len());
        let first = decimated.len() - new;
        decimated.copy_within(new.., 0);
        deep.decimate(&window[d * first..], &mut decimated[first..]);
        *behind = 0;
    }
    Some(decimated)
}

/// Slides `hop` into the end of `buf`, dropping the oldest samples.
fn push_hop(buf: &mut [f32], hop: &[f32]) {
    let w = buf.len();
    if hop.len() >= w {
        buf.copy_from_slice(&hop[hop.len() - w..]);
    } else {
        buf.copy_within(hop.len().., 0);
        buf[w - hop.len()..].copy_from_slice(hop);
    }
}

/// Offline helper (training, tests): analyses a whole clip with a fresh [`Analyzer`] and
/// returns one frame per completed hop. Allocates; never call it on the audio thread.
pub fn analyze_clip(
    config: AnalysisConfig,
    host_rate: f64,
    samples: &[f32],
) -> Result<Vec<Frame>, AnalysisError> {
    let mut analyzer = Analyzer::new(config, host_rate)?;
    let expected =
        (samples.len() as f64 * config.sample_rate as f64 / host_rate) as usize / config.hop + 1;
    let mut frames = Vec::with_capacity(expected);
    analyzer.process(samples, |_, frame| frames.push(frame));
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decimated_view_caught_up_late_is_the_whole_window_decimated() {
        // Hops pushed in runs of 1 to 40 (more than the window) between reads: each read
        // equals decimating the whole window at once, bit for bit.
        let rate = 16_000.0;
        let window = 512;
        let hop = 16;
        let mut deep = PitchTracker::new(rate, window);
        let mut buf = vec![0.0; window];
        let mut decimated = vec![0.0; deep.decimated_len()];
        let mut want = vec![0.0; deep.decimated_len()];
        let mut behind = 0;
        let mut t = 0usize;
        for run in [1usize, 3, 1, 7, 40, 2, 33, 1] {
            for _ in 0..run {
                let samples: Vec<f32> = (t..t + hop)
                    .map(|i| (i as f32 * 0.031).sin() + 0.3 * (i as f32 * 0.27).sin())
                    .collect();
                t += hop;
                push_hop(&mut buf, &samples);
                behind = (behind + hop).min(window);
            }
            let got = decimated_view(&mut deep, &buf, &mut decimated, &mut behind)
                .unwrap()
                .to_vec();
            assert_eq!(behind, 0);
            deep.decimate(&buf, &mut want);
            assert_eq!(got, want, "after a run of {run} hops");
        }
        // Without a view, there is nothing to read.
        assert!(decimated_view(&mut deep, &buf, &mut [], &mut behind).is_none());
    }
}
